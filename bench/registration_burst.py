"""How many registrations a second `python app.py` takes in a burst, against a bare Flask form.

Both servers run under gevent on the same PostgreSQL database and take the same lock
(SELECT ... FOR UPDATE on the event row), count the confirmed seats and insert the same
registration row. The bare one is a Flask-WTF form and SQLAlchemy Core and nothing else, so
the ratio says what the rest of ours costs (validation, the limiter, the ORM, the email).

Each of `--count` people first opens the form (for its CSRF token and session cookie, not
timed), then all post it at once through `--concurrency` connections, over loopback. The
rate is registrations over the time from the first post to the last answer. Afterwards it
checks that exactly `capacity` people were confirmed and the rest waitlisted.

The database is emptied and its tables made again: give it a database of its own.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python bench/registration_burst.py [--count 300] [--concurrency 300]
        [--smtp] [--worker-apart] [--profile DIR] [--in-process]

--smtp sends the emails through a real SMTP server on loopback (aiosmtpd) instead of the
outbox folder. --worker-apart runs the task queue's worker as its own process (`flask --app
app worker`, as in production) instead of inside `python app.py` (the embedded default), so
the server's CPU per registration leaves out delivering the emails; like the deployed unit,
it runs at niceness 10. --profile DIR samples
our server with py-spy during the burst (while it holds the GIL, so CPU rather than waiting),
writes DIR/ours.txt (collapsed stacks) and prints the functions where most time went.
--in-process measures instead the CPU of each post alone: both apps in this process, posted
one after another through Flask's test client (no server, no socket, no concurrency).
"""

import sys

if __name__ == "__main__" and "--serve-bare" in sys.argv:
    # The bare server patches like app.py does: before anything else is imported.
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402
import collections  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# deploy/lero-events-worker.service's Nice=.
WORKER_NICENESS = 10
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# The bare app: run in its own process as `registration_burst.py --serve-bare PORT`.


def bare_app(database_url):
    """A Flask form that takes the event lock, counts seats and inserts one row. No more."""
    import secrets

    import sqlalchemy as sa
    from flask import Flask, redirect, render_template_string
    from flask_wtf import FlaskForm
    from wtforms import EmailField, StringField

    from lero_events.config import database_uri
    from lero_events.models import Event, Registration

    engine = sa.create_engine(database_uri(database_url, Path(".")), pool_pre_ping=True)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secrets.token_hex(16)

    class Form(FlaskForm):
        name = StringField()
        email = EmailField()

    page = (
        '<form method="post">{{ form.hidden_tag() }}{{ form.name() }}{{ form.email() }}'
        "<button>Register</button></form>"
    )
    events = Event.__table__
    registrations = Registration.__table__

    @app.route("/events/<slug>/register", methods=["GET", "POST"])
    def register(slug):
        form = Form()
        if form.validate_on_submit():
            with engine.begin() as connection:
                event = connection.execute(
                    sa.select(events.c.id, events.c.capacity)
                    .where(events.c.slug == slug)
                    .with_for_update()
                ).one()
                confirmed = connection.scalar(
                    sa.select(sa.func.count())
                    .select_from(registrations)
                    .where(
                        registrations.c.event_id == event.id,
                        registrations.c.status == "confirmed",
                    )
                )
                now = datetime.now(UTC)
                connection.execute(
                    registrations.insert().values(
                        event_id=event.id,
                        token=secrets.token_urlsafe(32),
                        name=form.name.data,
                        email=form.email.data.lower(),
                        organisation="",
                        display_name="",
                        access_needs="",
                        status="waitlisted" if confirmed >= event.capacity else "confirmed",
                        consent_at=now,
                        consent_version="bench",
                        created_at=now,
                    )
                )
            return redirect(f"/events/{slug}/register/check-email", 303)
        return render_template_string(page, form=form), 400 if form.errors else 200

    return app


def serve_bare(port, database_url):
    """bare_app under gevent's WSGI server, as ours runs."""
    from gevent.pywsgi import WSGIServer

    print(f"bare Flask form on http://127.0.0.1:{port}/", flush=True)
    WSGIServer(("127.0.0.1", port), bare_app(database_url), log=None).serve_forever()


# The burst.


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url, process, log, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited early:\n{log.read_text()}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise SystemExit(f"server did not start in {timeout}s:\n{log.read_text()}")


def start(command, env, log, url):
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    wait_until_up(url, process, log)
    return process


def stop(process):
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def open_forms(base_url, slug, count):
    """`count` people open the form: a session cookie and a CSRF token each (not timed)."""
    form_url = f"{base_url}/events/{slug}/register"

    def open_form(number):
        session = requests.Session()
        page = session.get(form_url, timeout=30).text
        data = {
            "csrf_token": CSRF_FIELD.search(page).group(1),
            "name": f"Person {number}",
            "email": f"person{number}@example.org",
            "consent": "y",
        }
        return session, data

    with ThreadPoolExecutor(min(count, 50)) as pool:
        return list(pool.map(open_form, range(count)))


def burst(base_url, slug, prepared, concurrency):
    """Post every prepared form at once; returns (seconds, status counts)."""
    form_url = f"{base_url}/events/{slug}/register"
    count = len(prepared)
    ready = threading.Barrier(min(count, concurrency) + 1)

    def post(item):
        session, data = item
        return session.post(form_url, data=data, allow_redirects=False, timeout=120).status_code

    def first_then_post(item):
        ready.wait()
        return post(item)

    with ThreadPoolExecutor(concurrency) as pool:
        # The first `concurrency` posts wait for each other, so they really leave together.
        futures = [
            pool.submit(first_then_post if number < concurrency else post, item)
            for number, item in enumerate(prepared)
        ]
        ready.wait()
        started = time.perf_counter()
        statuses = [future.result() for future in futures]
        seconds = time.perf_counter() - started
    for session, _ in prepared:
        session.close()
    return seconds, collections.Counter(statuses)


def seat_counts(app, slug):
    import sqlalchemy as sa

    from lero_events.extensions import db
    from lero_events.models import Event, Registration

    with app.app_context():
        rows = db.session.execute(
            sa.select(Registration.status, sa.func.count())
            .join(Event, Event.id == Registration.event_id)
            .where(Event.slug == slug)
            .group_by(Registration.status)
        ).all()
        db.session.remove()
    return dict(rows)


def prepare_database(database_url, instance, capacity):
    """Empty tables, an organiser and two published events (ours, bare) of `capacity` seats."""
    from lero_events import accounts, create_app, events
    from lero_events.extensions import db

    app = create_app(
        {"DATABASE_URL": database_url, "INSTANCE_PATH": str(instance), "AUTO_MIGRATE": False}
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        organiser = accounts.create_organiser(
            "bench@example.org", "Bench Organiser", "a long bench password"
        )
        start_at = datetime.now().replace(second=0, microsecond=0) + timedelta(days=7)
        for slug in ("ours", "bare"):
            data = events.EventData(
                title=f"Burst {slug}",
                slug=slug,
                timezone="Europe/London",
                starts_at=start_at,
                ends_at=start_at + timedelta(hours=2),
                capacity=capacity,
            )
            events.publish_event(events.create_event(organiser, data))
        db.session.remove()
        db.engine.dispose()
    return app


def start_smtp():
    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 Message accepted"

    controller = Controller(Discard(), hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


def cpu_seconds(pid):
    """User + system CPU time of a process so far: unlike the rate, it barely moves when other
    work shares the machine, so it is the steadier figure to compare on a busy machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hottest(collapsed, top=25):
    """The functions on the most sampled stacks (self and total), from py-spy's raw format."""
    own, total = collections.Counter(), collections.Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        count = int(count)
        frames = stack.split(";")
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    print(f"\n{samples} samples; functions on the most stacks (total %, own %):")
    for frame, count in total.most_common(top):
        print(f"  {100 * count / samples:5.1f} {100 * own[frame] / samples:5.1f}  {frame}")


def checked_database_url(args):
    database_url = args.database_url
    if not database_url or "postgres" not in database_url:
        raise SystemExit("Give a PostgreSQL database: DATABASE_URL=postgresql://... or --database")
    return database_url


def load_average():
    """The machine's load average over 1, 5 and 15 minutes: how much else was running."""
    return "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def measure(args):
    print(f"load average at the start: {load_average()}", flush=True)
    database_url = checked_database_url(args)
    capacity = args.count // 2
    instance = Path(tempfile.mkdtemp(prefix="registration-burst-"))
    app = prepare_database(database_url, instance, capacity)
    smtp = start_smtp() if args.smtp else None
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench secret key",
        "LERO_AUTO_MIGRATE": "false",
        "LERO_INSTANCE_PATH": str(instance),
        # Every post comes from 127.0.0.1: the limiter still runs, it just never says no.
        "LERO_REGISTRATION_RATE_LIMIT": "1000000 per minute",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    if smtp:
        env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port))
    ours_port, bare_port = free_port(), free_port()
    results = {}
    worker = None
    if args.worker_apart:
        env["LERO_TASK_WORKER_IN_PROCESS"] = "false"
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "flask"), "--app", "app", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # As deploy/lero-events-worker.service runs it: behind the web server for the CPU.
            preexec_fn=lambda: os.nice(WORKER_NICENESS),
        )
    try:
        for name, command, port in (
            ("ours", [sys.executable, "app.py"], ours_port),
            (
                "bare",
                [sys.executable, __file__, "--serve-bare", str(bare_port)],
                bare_port,
            ),
        ):
            url = f"http://127.0.0.1:{port}"
            log = instance / f"{name}.log"
            process = start(command, {**env, "LERO_PORT": str(port)}, log, url + "/")
            profiler = None
            try:
                prepared = open_forms(url, name, args.count)
                if args.profile and name == "ours":
                    Path(args.profile).mkdir(parents=True, exist_ok=True)
                    profiler = subprocess.Popen(
                        [
                            str(Path(sys.executable).parent / "py-spy"),
                            "record",
                            # Samples only while our server holds the GIL (runs Python),
                            # without stopping it to take them.
                            "--gil",
                            "--nonblocking",
                            "--pid",
                            str(process.pid),
                            "--format",
                            "raw",
                            "--rate",
                            "1000",
                            "-o",
                            str(Path(args.profile) / "ours.txt"),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    time.sleep(1)
                cpu_before = cpu_seconds(process.pid)
                seconds, statuses = burst(url, name, prepared, args.concurrency)
                cpu_ms = 1000 * (cpu_seconds(process.pid) - cpu_before) / args.count
                if profiler:
                    profiler.send_signal(signal.SIGINT)
                    profiler.wait(30)
            finally:
                stop(process)
            seats = seat_counts(app, name)
            results[name] = args.count / seconds
            print(
                f"{name:>4}: {args.count} registrations in {seconds:.2f} s = "
                f"{results[name]:.0f}/s, server CPU {cpu_ms:.1f} ms each; "
                f"answers {dict(statuses)}; seats {seats}",
                flush=True,
            )
            expected = {"confirmed": capacity, "waitlisted": args.count - capacity}
            if statuses != {303: args.count} or seats != expected:
                print(f"      WRONG: expected {args.count} x 303 and {expected}; see {log}")
    finally:
        if worker:
            stop(worker)
        if smtp:
            smtp.stop()
    print(f"ours / bare = {results['ours'] / results['bare']:.2f}")
    print(f"load average at the end: {load_average()}")
    if args.profile:
        hottest(Path(args.profile) / "ours.txt")


# Posts before the in-process figure starts: templates compiled, statements prepared.
WARM_UP = 20


def in_process(args):
    """--in-process: each app's posts one after another through Flask's test client, in this
    process, and the CPU each took (time.process_time). No WSGI server, socket or concurrency:
    the request alone, the steadiest figure on a shared machine."""
    import statistics

    from lero_events import create_app

    database_url = checked_database_url(args)
    os.environ.pop("REDIS_URL", None)
    capacity = args.count // 2
    instance = Path(tempfile.mkdtemp(prefix="registration-cpu-"))
    prepare_database(database_url, instance, capacity)
    ours = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_PATH": str(instance),
            "AUTO_MIGRATE": False,
            "SECRET_KEY": "bench secret key",
            "REGISTRATION_RATE_LIMIT": "1000000 per minute",
            "TASK_WORKER_IN_PROCESS": False,
        }
    )
    results = {}
    for name, app in (("ours", ours), ("bare", bare_app(database_url))):
        client = app.test_client()
        form_url = f"/events/{name}/register"
        token = CSRF_FIELD.search(client.get(form_url).get_data(as_text=True)).group(1)
        statuses, cpu = collections.Counter(), []
        for number in range(args.count):
            data = {
                "csrf_token": token,
                "name": f"Person {number}",
                "email": f"person{number}@example.org",
                "consent": "y",
            }
            started = time.process_time()
            statuses[client.post(form_url, data=data).status_code] += 1
            cpu.append(time.process_time() - started)
        seats = seat_counts(ours, name)
        measured = cpu[WARM_UP:]
        results[name] = statistics.mean(measured)
        print(
            f"{name:>4}: {args.count} posts one after another in this process, CPU "
            f"{1000 * results[name]:.2f} ms each (median {1000 * statistics.median(measured):.2f})"
            f" after the first {WARM_UP}; answers {dict(statuses)}; seats {seats}",
            flush=True,
        )
        expected = {"confirmed": capacity, "waitlisted": args.count - capacity}
        if statuses != {303: args.count} or seats != expected:
            print(f"      WRONG: expected {args.count} x 303 and {expected}")
    print(f"ours / bare (CPU) = {results['ours'] / results['bare']:.2f}")
    print(f"load average at the end: {load_average()}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=300)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--smtp", action="store_true", help="send email through SMTP")
    parser.add_argument(
        "--worker-apart", action="store_true", help="run the task worker as its own process"
    )
    parser.add_argument("--profile", metavar="DIR", help="sample our server with py-spy")
    parser.add_argument(
        "--in-process", action="store_true", help="CPU per post, one at a time, in this process"
    )
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.database_url)
    elif args.in_process:
        print(f"load average at the start: {load_average()}", flush=True)
        in_process(args)
    else:
        measure(args)


if __name__ == "__main__":
    main()
