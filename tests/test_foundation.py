"""Configuration, migrations and the real server process under each async mode."""

import subprocess
import sys
import uuid

import requests
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lero_events import create_app
from lero_events.config import pool_options
from lero_events.extensions import db

from .conftest import POSTGRES_URL, ROOT, create_event, missing, postgres_available


def test_secret_key_is_generated_once_and_kept_in_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = {
        "INSTANCE_PATH": str(tmp_path),
        "AUTO_MIGRATE": False,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "ASYNC_MODE": "threading",
    }
    first = create_app(settings).config["SECRET_KEY"]
    second = create_app(settings).config["SECRET_KEY"]
    assert len(first) >= 64 and first == second
    assert (tmp_path / "secret_key").read_text() == first
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_embedded_default_applies_migrations_matching_the_models(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "ASYNC_MODE": "threading"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'lero_events.sqlite'}"
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"render_as_batch": True})
        assert context.get_current_revision() is not None
        assert compare_metadata(context, db.metadata) == []


def test_postgres_urls_use_psycopg(tmp_path):
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "AUTO_MIGRATE": False,
            "DATABASE_URL": "postgres://u@db/x",
            "ASYNC_MODE": "threading",
        }
    )
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/x"


def test_a_gevent_server_on_postgresql_keeps_a_pool_for_its_crowd(tmp_path):
    def pool(tmp, **settings):
        app = create_app(
            {"INSTANCE_PATH": str(tmp), "DATABASE_URL": "postgres://u@db/x", **settings}
        )
        with app.app_context():
            return db.engine.pool.size(), db.engine.pool._max_overflow

    assert pool(tmp_path / "gevent") == (20, 0)
    eventlet = {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@db/x", "ASYNC_MODE": "eventlet"}
    unset = {"DATABASE_POOL_SIZE": None, "DATABASE_MAX_OVERFLOW": None}
    # Not made: eventlet warns when imported (test_eventlet_mode_... runs it in a server).
    assert pool_options({**eventlet, **unset}) == {
        "pool_use_lifo": True,
        "pool_size": 20,
        "max_overflow": 0,
    }
    assert pool(tmp_path / "threads", ASYNC_MODE="threading") == (5, 10)
    assert pool(tmp_path / "set", DATABASE_POOL_SIZE=8, DATABASE_MAX_OVERFLOW=2) == (8, 2)
    engine_options = {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 3}}
    assert pool(tmp_path / "engine", **engine_options) == (3, 0)


def test_gevent_is_the_default_async_mode_and_prints_no_deprecation(app, start_server):
    with app.app_context():
        create_event(title="Served by gevent")
    server = start_server()
    page = requests.get(server.url + "/", timeout=5).text
    assert "Served by gevent" in page
    server.stop()
    output = server.log.read_text()
    assert "(gevent)" in output
    assert "Deprecat" not in output


def test_eventlet_mode_still_serves_pages_and_sockets(app, start_server):
    with app.app_context():
        create_event(title="Served by eventlet")
    server = start_server(async_mode="eventlet")
    assert "Served by eventlet" in requests.get(server.url + "/", timeout=5).text
    handshake = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=5)
    assert handshake.text.startswith("0{") and '"sid"' in handshake.text
    assert "(eventlet)" in server.log.read_text()


def test_security_headers_keep_tokens_and_scripts_safe(client):
    response = client.get("/")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_pages_use_no_inline_script_and_no_cdn(app, client):
    with app.app_context():
        create_event(slug="csp")
    for path in ["/", "/events/csp", "/login"]:
        page = client.get(path).get_data(as_text=True)
        assert "<script>" not in page and "onclick=" not in page
        assert "https://cdn" not in page and "//fonts.googleapis" not in page


def test_app_module_imports_without_patching_for_flask_commands():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import app, gevent.monkey; print(gevent.monkey.is_module_patched('socket'))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            "LERO_AUTO_MIGRATE": "false",
            "LERO_INSTANCE_PATH": "/tmp/lero-import",
            "PATH": "/usr/bin:/bin",
        },
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_unknown_page_gets_a_friendly_404(client):
    response = client.get("/events/nope")
    assert response.status_code == 404
    assert "There is no event at that address." in response.get_data(as_text=True)


def test_private_links_are_redacted_from_error_logs(app, caplog):
    @app.get("/r/<token>/explode")
    def explode(token):
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level("ERROR"):
        response = app.test_client().get("/r/17.s3cretTokenValue/explode")
    assert response.status_code == 500
    assert "Exception on /r/[redacted]/explode" in caplog.text
    assert "s3cretTokenValue" not in caplog.text


def test_migrations_match_the_models_on_postgresql(tmp_path):
    """The hand-adjusted key between event and prompt must exist on PostgreSQL too."""
    if not postgres_available():
        missing(f"PostgreSQL at {POSTGRES_URL} is not answering")
    name = f"lero_migrations_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
        app = create_app(
            {
                "INSTANCE_PATH": str(tmp_path),
                "ASYNC_MODE": "threading",
                "DATABASE_URL": url,
                "AUTO_MIGRATE": True,
            }
        )
        with app.app_context(), db.engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, db.metadata) == []
            keys = sa.inspect(connection).get_foreign_keys("event")
            assert any(key["name"] == "fk_event_current_prompt" for key in keys)
        with app.app_context():
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
