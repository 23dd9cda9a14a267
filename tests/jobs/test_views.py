"""The progress widget polls itself while its job runs and stops once the job ends."""

from leadapp.extensions import db
from leadapp.models import BackgroundJob
from leadapp.services import jobs as job_rows

HX = {"HX-Request": "true"}


def _job(app, status="running", progress=30):
    with app.app_context():
        from leadapp.models import User

        admin = db.session.query(User).filter_by(email="admin@acme.test").one()
        job = BackgroundJob(
            account_id=admin.account_id,
            kind="x",
            title="Recount",
            status=status,
            progress=progress,
            message="Counting pools.",
        )
        db.session.add(job)
        db.session.commit()
        return job.id


def test_running_job_partial_keeps_polling(app, admin_client):
    job_id = _job(app)
    response = admin_client.get(f"/jobs/{job_id}/progress", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html  # the partial alone
    assert 'hx-trigger="every 1s"' in html and f"/jobs/{job_id}/progress" in html
    assert 'aria-valuenow="30"' in html and "Counting pools." in html


def test_finished_job_partial_stops_polling(app, admin_client):
    job_id = _job(app)
    with app.app_context():
        job_rows.mark_completed(db.session.get(BackgroundJob, job_id), {"pools": 1})
        db.session.commit()
    html = admin_client.get(f"/jobs/{job_id}/progress", headers=HX).get_data(as_text=True)
    assert "hx-trigger" not in html
    assert 'aria-valuenow="100"' in html and 'data-status="completed"' in html


def test_failed_job_shows_its_error_and_stops(app, admin_client):
    job_id = _job(app)
    with app.app_context():
        job_rows.mark_failed(db.session.get(BackgroundJob, job_id), "ValueError: <b>bad</b>")
        db.session.commit()
    html = admin_client.get(f"/jobs/{job_id}/progress", headers=HX).get_data(as_text=True)
    assert "hx-trigger" not in html
    assert "ValueError: &lt;b&gt;bad&lt;/b&gt;" in html


def test_job_page_includes_the_same_partial(app, admin_client):
    job_id = _job(app)
    page = admin_client.get(f"/jobs/{job_id}").get_data(as_text=True)
    partial = admin_client.get(f"/jobs/{job_id}/progress", headers=HX).get_data(as_text=True)
    assert "<html" in page
    assert partial.strip() in page
