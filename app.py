"""Run LERO Events: `python app.py`.

The async mode is chosen before anything else is imported, because gevent and eventlet must
patch the standard library first. gevent is the default; LERO_ASYNC_MODE=eventlet still works.
`flask --app app ...` commands import this module without patching: they need no green threads.
"""

import os

ASYNC_MODE = os.environ.get("LERO_ASYNC_MODE", "gevent")

if __name__ == "__main__":
    if ASYNC_MODE == "gevent":
        from gevent import monkey

        monkey.patch_all()
    elif ASYNC_MODE == "eventlet":
        import eventlet

        eventlet.monkey_patch()

from lero_events import create_app, tasks  # noqa: E402
from lero_events.serving import check_listening_address, serve  # noqa: E402

app = create_app()

if __name__ == "__main__":
    check_listening_address(app.config)
    host, port = app.config["HOST"], int(app.config["PORT"])
    if app.config["TASK_WORKER_IN_PROCESS"]:
        tasks.start_worker_in_process()
    print(f"LERO Events ({ASYNC_MODE}) on http://{host}:{port}/", flush=True)
    serve(app, host, port, ASYNC_MODE)
