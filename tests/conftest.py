"""Fixtures: a fresh app per test, real HTTP, real server processes, a real browser."""

import email
import email.policy
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
import requests
import sqlalchemy as sa

from lero_events import accounts, create_app, events, tasks
from lero_events.extensions import db
from lero_events.models import Registration

ROOT = Path(__file__).resolve().parent.parent
# CI sets this so a missing service or browser fails the run instead of skipping.
REQUIRE_SERVICES = os.environ.get("LERO_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get(
    "LERO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("LERO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CHROMIUM = os.environ.get("LERO_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "a long test password"
# Live-room clients a test opened (tests/live_clients.py adds each), closed after every test.
OPEN_CLIENTS = []


def wait_until(condition, timeout=15):
    """Poll `condition` until it holds; fails the test if it does not within `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def missing(reason):
    """Skip on a laptop without the service; fail in CI, where it must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (LERO_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def require_redis():
    """Redis at REDIS_URL answers, or the test skips (fails in CI) saying so."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        missing(f"Redis at {REDIS_URL} is not answering")


def workers_through_redis():
    """Settings for server processes sharing Redis on a channel and rate-limit keys of their
    own, so no other test's workers hear them."""
    require_redis()
    channel = f"lero-test-{uuid.uuid4()}"
    return {
        "REDIS_URL": REDIS_URL,
        "LERO_SOCKETIO_CHANNEL": channel,
        "LERO_RATELIMIT_KEY_PREFIX": channel,
    }


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_available(url=POSTGRES_URL):
    try:
        engine = sa.create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except sa.exc.OperationalError:
        return False


@pytest.fixture
def database_url(tmp_path):
    """DATABASE_URL from the environment (e.g. PostgreSQL in CI), else a fresh SQLite file."""
    url = os.environ.get("DATABASE_URL")
    if (
        url
        and "postgres" in url
        and not postgres_available(url.replace("postgresql://", "postgresql+psycopg://"))
    ):
        missing(f"PostgreSQL at {url} is not answering")
    return url or f"sqlite:///{tmp_path / 'test.sqlite'}"


@contextmanager
def fresh_app(tmp_path, database_url, **settings):
    """A test app on `database_url` with empty tables, dropped again afterwards."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test secret key",
            "AUTO_MIGRATE": False,
            "ASYNC_MODE": "threading",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "SERVER_NAME": "localhost",
            "PUBLIC_BASE_URL": "http://localhost",
            # Tasks wait in memory until the test runs them (run_tasks) as the worker would.
            "TASK_QUEUE_URL": "memory://",
            **settings,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    stop_live_loops(app)
    with app.app_context():
        db.session.remove()
        drop_tables()
        db.engine.dispose()


def stop_live_loops(app):
    """The live-room loops of `app` (lero_events.room_loops) end at their next tick, so none
    starts a query on the tables about to go."""
    loops = app.extensions.get("live_loops")
    if loops is not None:
        loops.server = None


def drop_tables(attempts=5):
    """drop_all, again if PostgreSQL chose it as a deadlock's victim: a loop's last query may
    still hold a table the DROP needs (it finishes within a tick, then the loop stops)."""
    for attempt in range(attempts):
        try:
            db.drop_all()
            return
        except sa.exc.OperationalError:
            db.session.rollback()
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@pytest.fixture(autouse=True)
def close_live_clients():
    """No live-room socket outlives its test."""
    yield
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


@pytest.fixture
def app(tmp_path, database_url):
    with fresh_app(tmp_path, database_url) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


def run_tasks(app):
    """Work the task queue as the worker process would, until it is empty; returns the count."""
    with app.app_context():
        return tasks.run_pending()


class SMTPServer:
    """A real SMTP server (aiosmtpd) on loopback; it can be stopped and started on its port."""

    def __init__(self, app):
        self.app = app
        self.port = free_port()
        self.received = []
        self.controller = None

    def start(self):
        from aiosmtpd.controller import Controller

        received = self.received

        class Keep:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                received.append(message)
                return "250 Message accepted"

        self.controller = Controller(Keep(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def messages(self):
        """Run the queued tasks, then every message that arrived, parsed, in order."""
        run_tasks(self.app)
        return list(self.received)


@pytest.fixture
def smtp_server(app):
    """The app sends through a real SMTP server; `smtp_server.messages()` lists what arrived."""
    server = SMTPServer(app).start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    yield server
    server.stop()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token(client, path="/login"):
    """The CSRF token a real form on `path` carries."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, email="organiser@example.org", password=PASSWORD):
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}
    )


def create_organiser(email="organiser@example.org", name="Olive Organiser"):
    return accounts.create_organiser(email, name, PASSWORD)


def create_event(owner=None, publish=True, **fields):
    """A published event a week ahead in Europe/London, unless told otherwise."""
    owner = owner or accounts.find_organiser("organiser@example.org") or create_organiser()
    start = fields.pop(
        "starts_at", datetime.now().replace(second=0, microsecond=0, minute=0) + timedelta(days=7)
    )
    data = events.EventData(
        title=fields.pop("title", "A Big Conversation"),
        timezone=fields.pop("timezone", "Europe/London"),
        starts_at=start,
        ends_at=fields.pop("ends_at", start + timedelta(minutes=90)),
        **fields,
    )
    event = events.create_event(owner, data)
    return events.publish_event(event) if publish else event


def create_registration(event, name=None, email=None, status="confirmed", **fields):
    """A registration row as the registration pages leave it, without sending any email."""
    suffix = uuid.uuid4().hex[:8]
    registration = Registration(
        event_id=event.id,
        token=secrets.token_urlsafe(32),
        name=name or f"Real Name {suffix}",
        email=email or f"{suffix}@example.org",
        status=status,
        consent_at=datetime.now(UTC),
        consent_version="2026-11",
        **fields,
    )
    db.session.add(registration)
    db.session.commit()
    return registration


class ServerProcess:
    """`python app.py` in its own process, as a user runs it, on a free port."""

    def __init__(self, env):
        self.env = env
        self.port = int(env["LERO_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.log = Path(env["LERO_INSTANCE_PATH"]) / f"server-{self.port}.log"

    def start(self, timeout=20):
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "app.py")],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()}")
            try:
                requests.get(self.url + "/", timeout=1)
                return self
            except (requests.ConnectionError, requests.Timeout):
                # Not listening yet, or (on a loaded machine) too slow with its first page.
                time.sleep(0.1)
        raise RuntimeError(f"server did not start in {timeout}s:\n{self.log.read_text()}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self):
        """SIGKILL: no clean shutdown, as when a machine dies."""
        self.process.kill()
        self.process.wait()


@contextmanager
def statements_run(app):
    """The SQL SQLAlchemy sends while the block runs: what pg_direct sends through psycopg
    itself goes around it, so an empty list says the one-message path ran."""
    statements = []

    def record(connection, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def start_server(app, tmp_path):
    """Start real server processes sharing the test's database; all stopped afterwards."""
    servers = []

    def start(async_mode="gevent", **settings):
        env = {
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "LERO_PORT": str(settings.pop("port", None) or free_port()),
            "LERO_ASYNC_MODE": async_mode,
            "LERO_AUTO_MIGRATE": "false",
            "LERO_INSTANCE_PATH": str(tmp_path / "instance"),
            "LERO_TASK_QUEUE_NAME": f"lero-test-{uuid.uuid4()}",
            "PYTHONUNBUFFERED": "1",
        }
        env.update({key: str(value) for key, value in settings.items()})
        server = ServerProcess(env).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(start_server):
    return start_server()


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright; Playwright's own browser download is not used."""
    if not Path(CHROMIUM).exists():
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


JS_DIR = ROOT / "tests" / "js"
AXE = JS_DIR / "node_modules" / "axe-core" / "axe.min.js"
NODE_MISSING = "Node.js is missing: apt-get install nodejs npm (the tests then run npm ci)"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "database: runs on the database DATABASE_URL names, and no browser drives it (given "
        "by pytest_collection_modifyitems; CI's PostgreSQL run is `pytest -m database`)",
    )


def pytest_collection_modifyitems(items):
    """Mark `database` the tests whose outcome the database can change: those on the
    `database_url` fixture that drive no browser. The rest run the same on any database (a
    browser's pages are one HTML whatever stores them; their database work is tested without
    a browser too), so a second database's run can leave them out."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "database_url" in fixtures and "chromium" not in fixtures:
            item.add_marker(pytest.mark.database)


def pytest_sessionstart(session):
    """The README's test command needs no extra step: tests/js gets its npm packages here,
    once, when they are missing and npm is installed."""
    if not (JS_DIR / "node_modules").is_dir() and shutil.which("npm"):
        print("Installing the test tools in tests/js: npm ci", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=False)


def node_with(package):
    """The node executable, with `package` installed in tests/js; skips saying what to run."""
    node = shutil.which("node")
    if node is None:
        missing(NODE_MISSING)
    if not (JS_DIR / "node_modules" / package).is_dir():
        missing(f"tests/js/node_modules has no {package}: run `npm ci` in tests/js")
    return node


@pytest.fixture
def accessibility_problems():
    """axe-core's serious and critical violations on a page.

    Injecting axe is an inline script, which the pages' CSP rightly blocks: use it in a
    context made with bypass_csp=True, and only for the axe run.
    """
    node_with("axe-core")

    def check(page):
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document)")
        return [
            f"{violation['id']}: {violation['help']} ({len(violation['nodes'])} nodes)"
            for violation in result["violations"]
            if violation["impact"] in ("serious", "critical")
        ]

    return check


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    yield page
    context.close()
