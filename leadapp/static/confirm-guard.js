// Loaded in <head> without defer, before the page can be clicked: a <form data-confirm>
// submitted before app.js has run is held here, and app.js asks about it when it starts.
// Without this, a quick click on "Reset pool…" on a slow connection acted unconfirmed.
document.addEventListener(
  "submit",
  function (evt) {
    var form = evt.target;
    if (window.leadapp || !form.dataset || !form.dataset.confirm) return;
    evt.preventDefault();
    window.leadappHeldSubmit = form;
  },
  true
);
