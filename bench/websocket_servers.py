"""gevent-websocket (no release since 2017) against simple-websocket: same app, same load.

    .venv/bin/python bench/websocket_servers.py [--clients 300] [--rates 5,10,25] [--rounds 2]

Both servers are our app under gevent's pywsgi with TCP_NODELAY, on one SQLite file; the only
difference is which library speaks WebSocket: gevent-websocket's handler (what `python app.py`
used), or plain pywsgi with python-engineio's simple-websocket driver (engineio picks
gevent-websocket whenever it can be imported, so the simple server hides it first). The load
is bench/live_room.py's: N Node socket.io-client participants join one post-moderated room,
posters send at rising rates; printed per server: join time, idle ack, delivery latency,
delivered fraction, CPU and RSS. Rounds alternate the servers, so a busy machine hurts both.
"""

import sys

if __name__ == "__main__" and "--serve" in sys.argv:
    from gevent import monkey

    monkey.patch_all()
    KIND = sys.argv[sys.argv.index("--serve") + 1]
    if KIND == "simple-websocket":
        # python-engineio uses gevent-websocket whenever it imports; hide it.
        sys.modules["geventwebsocket"] = None

import argparse  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

KINDS = ("gevent-websocket", "simple-websocket")


def serve(kind, port):
    from gevent import pywsgi

    from lero_events import create_app
    from lero_events.serving import no_delay, serve

    app = create_app()
    if kind == "gevent-websocket":
        serve(app, "127.0.0.1", port, "gevent")
        return

    class NoDelayHandler(pywsgi.WSGIHandler):
        def handle(self):
            no_delay(self.socket)
            super().handle()

    server = pywsgi.WSGIServer(("127.0.0.1", port), app, handler_class=NoDelayHandler, log=None)
    server.serve_forever()


def start(kind, database_uri, instance):
    import live_room

    port = live_room.free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_uri,
        "LERO_INSTANCE_PATH": str(instance),
        "LERO_AUTO_MIGRATE": "false",
        "LERO_LIVE_RATE_LIMIT_COUNT": "1000000",
        "SECRET_KEY": "bench-secret",
    }
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    live_room.wait_for_port(port, process)
    return process, f"http://127.0.0.1:{port}"


def main():
    import live_room

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--rates", default="5,10,25")
    parser.add_argument("--seconds", type=float, default=5, help="posting window per rate")
    parser.add_argument("--drain", type=float, default=3, help="wait after each window")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    args.rates = [float(rate) for rate in args.rates.split(",")]

    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder)
        for round_number in range(1, args.rounds + 1):
            for kind in KINDS:
                # A fresh room per run, so each starts from the same empty history.
                database_uri, slug = live_room.make_room(
                    f"sqlite:///{instance / f'{kind}-{round_number}.sqlite'}", instance
                )
                process, url = start(kind, database_uri, instance)
                try:
                    result = live_room.measure(
                        [process],
                        lambda url=url, slug=slug, run=f"{kind}-{round_number}": live_room.run_load(
                            [url], slug, args, run
                        ),
                    )
                finally:
                    live_room.stop([process])
                live_room.report(f"{kind}, round {round_number}", result)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve(KIND, int(sys.argv[sys.argv.index("--serve") + 2]))
    else:
        main()
