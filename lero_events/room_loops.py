"""The worker's live-room loops: presence, the heartbeat, the harvest's figures.

Each is one background task per app, started with the worker's first live-room connection,
that wakes every so many seconds and runs its job in an app context, for as long as the shared
socketio object serves that app (tests make one app per test, and stop its loops by clearing
`server` before dropping its tables). One job's failure is logged and tried again next time;
it never stops the loop.
"""

import threading

from .extensions import db, socketio

EXTENSION = "live_loops"


class WorkerLoops:
    """One app's loops in this worker, and which Socket.IO server they serve."""

    def __init__(self):
        self.lock = threading.Lock()
        self.server = None
        self.started = set()


def loops_of(app):
    return app.extensions.setdefault(EXTENSION, WorkerLoops())


def serving(app):
    """False once the shared socketio object serves another app, or the loops were stopped."""
    return loops_of(app).server is socketio.server


def start(app, name, seconds_setting, job):
    """Run `job()` every `app.config[seconds_setting]` seconds, once per app and name."""
    loops = loops_of(app)
    with loops.lock:
        if loops.server is not socketio.server:
            loops.server = socketio.server
            loops.started = set()
        if name in loops.started:
            return
        loops.started.add(name)
    socketio.start_background_task(run, app, name, float(app.config[seconds_setting]), job)


def run(app, name, interval, job):
    while serving(app):
        socketio.sleep(interval)
        if not serving(app):  # replaced while asleep: its database may be gone
            return
        with app.app_context():
            try:
                job()
            except Exception:
                db.session.rollback()
                app.logger.exception("live room %s failed; trying again", name)
            db.session.remove()
