"""A web process works on at most WEB_REQUESTS_AT_ONCE requests at once; the others wait
their turn and are answered, none refused."""

from __future__ import annotations

import threading
import time
import urllib.request

from werkzeug.serving import make_server

from leadapp import create_app


def test_requests_past_the_limit_wait_their_turn_and_are_all_answered(app_environ):
    app = create_app("testing", environ=app_environ, WEB_REQUESTS_AT_ONCE=2)
    lock = threading.Lock()
    busy = {"now": 0, "most": 0}

    def slow():
        with lock:
            busy["now"] += 1
            busy["most"] = max(busy["most"], busy["now"])
        time.sleep(0.3)
        with lock:
            busy["now"] -= 1
        return "done"

    app.add_url_rule("/slow-for-the-test", "slow_for_the_test", slow)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    answers: list[int] = []

    def ask():
        url = f"http://127.0.0.1:{server.server_port}/slow-for-the-test"
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (loopback)
            answers.append(answer.status)

    try:
        askers = [threading.Thread(target=ask) for _ in range(6)]
        for asker in askers:
            asker.start()
        for asker in askers:
            asker.join(30)
    finally:
        server.shutdown()
    assert answers == [200] * 6
    assert busy["most"] == 2


def test_testing_and_zero_turn_the_limit_off(app_environ):
    from leadapp.admission import Admission

    assert not isinstance(create_app("testing", environ=app_environ).wsgi_app, Admission)
    assert isinstance(
        create_app("development", environ={**app_environ, "LEADAPP_ENV": "development"}).wsgi_app,
        Admission,
    )
    off = create_app("development", environ={**app_environ, "WEB_REQUESTS_AT_ONCE": "0"})
    assert not isinstance(off.wsgi_app, Admission)
