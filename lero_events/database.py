"""The database connection pool: a pooled connection is checked only after it has sat idle.

SQLAlchemy's `pool_pre_ping` pings on every checkout: one more round trip per request, paid
even while a burst of registrations reuses each connection within milliseconds, when it
cannot have died. What kills a pooled connection (a database restart, an idle timeout in a
proxy or firewall) happens while it waits in the pool, so a connection back in the pool for
less than DATABASE_PING_AFTER_IDLE_SECONDS is used as it is, and one idle for longer is
pinged first and replaced if the ping fails. A restart inside that short window fails the
request that meets it; SQLAlchemy then replaces every older connection in the pool.
"""

import time

import sqlalchemy as sa

from .extensions import db


def init_app(app):
    seconds = app.config["DATABASE_PING_AFTER_IDLE_SECONDS"]
    with app.app_context():
        engine = db.engine
    if seconds is None or engine.dialect.name == "sqlite":
        return  # SQLite is a file: there is no server to lose the connection

    @sa.event.listens_for(engine, "checkin")
    def note_idle_since(dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def ping_after_idle(dbapi_connection, record, proxy):
        """Ping a connection that waited long enough to have died; a new one is not pinged."""
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since <= float(seconds):
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise sa.exc.InvalidatePoolError(f"ping after idle failed: {error}") from error
        if not alive:
            raise sa.exc.InvalidatePoolError("ping after idle failed")
