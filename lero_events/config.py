"""Configuration: safe defaults first, then the environment, in one place.

Plain names (SECRET_KEY, DATABASE_URL, REDIS_URL, MAIL_*) are read as operators expect them;
anything else can be set with the LERO_ prefix, e.g. LERO_PORT=8000 or LERO_ASYNC_MODE=eventlet.
"""

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

DEFAULTS = {
    "ASYNC_MODE": "gevent",
    # Who speaks WebSocket under gevent: simple-websocket (maintained), or the opt-in
    # gevent-websocket (unmaintained since 2017). Read by app.py too (serving.py says why).
    "WEBSOCKET_SERVER": "simple-websocket",
    "HOST": "127.0.0.1",
    "PORT": 5000,
    # The embedded default applies migrations at start-up so a new user never runs a step.
    "AUTO_MIGRATE": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    # A pooled connection idle longer than this is pinged before use (database.py says why
    # not every time); None: never.
    "DATABASE_PING_AFTER_IDLE_SECONDS": 2.0,
    # PostgreSQL: a new contribution in one message with a statement prepared once per
    # connection (pg_contribution). False (LERO_DATABASE_PREPARED_STATEMENTS=false) behind a
    # pooler that hands each transaction a different server connection (PgBouncer's
    # transaction mode), where a prepared statement does not follow the connection.
    "DATABASE_PREPARED_STATEMENTS": True,
    # PostgreSQL connections a process keeps, and may open beyond them (pool_options says
    # why); None: 20 and 0 under gevent or eventlet, SQLAlchemy's 5 and 10 otherwise.
    "DATABASE_POOL_SIZE": None,
    "DATABASE_MAX_OVERFLOW": None,
    "SOCKETIO_MESSAGE_QUEUE": None,
    "SOCKETIO_CHANNEL": "lero-events",
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_HTTPONLY": True,
    # One switch for running behind HTTPS: Secure cookies, https links, HSTS.
    "HTTPS": False,
    "HSTS_SECONDS": 365 * 24 * 3600,
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    # Redis down must not turn log-in, registering and exports into 500s: count in this
    # worker's memory until Redis answers again (each worker then limits on its own).
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    # Invites name a real, monitored mailbox as ORGANIZER and From; set it in production.
    "MAIL_DEFAULT_SENDER": "events@lero-events.example.org",
    # Discreet emails go From this display name (same address as MAIL_DEFAULT_SENDER), or
    # from LERO_DISCREET_MAIL_SENDER when set, e.g. "Bookings <bookings@neutral.example>".
    "DISCREET_SENDER_NAME": "Bookings",
    "DISCREET_MAIL_SENDER": None,
    "PUBLIC_BASE_URL": None,
    # The host names we answer to (LERO_TRUSTED_HOSTS='["events.example.org"]'); unset: the
    # public address's host and the one `python app.py` listens on (trusted_hosts below).
    "TRUSTED_HOSTS": None,
    # How long the emailed links for joining as a co-host and resetting a password work.
    "INVITATION_MAX_AGE_SECONDS": 7 * 24 * 3600,
    "PASSWORD_RESET_MAX_AGE_SECONDS": 3600,
    # The task queue (tasks.py): Redis when REDIS_URL is set, else SQLite in instance/.
    "TASK_QUEUE_URL": None,
    "TASK_QUEUE_NAME": "lero-events",
    # Work the queue inside `python app.py`: on for the embedded default (no REDIS_URL).
    "TASK_WORKER_IN_PROCESS": None,
    "PRIVACY_NOTICE_VERSION": "2026-12",
    # Days after an event until its attendees' personal data, its sent-mail log and its live
    # room's replay log are removed (retention.py); each event may set its own.
    "RETENTION_DAYS": 90,
    # The address the privacy pages give for questions about personal data; unset: the
    # MAIL_DEFAULT_SENDER mailbox.
    "PRIVACY_CONTACT": None,
    # The zone a calendar subscription shows by default (X-WR-TIMEZONE).
    "CALENDAR_TIMEZONE": "Europe/London",
    # The harvest page collapses long lists; the figures in bench/harvest_render.py say why.
    "HARVEST_SHOWN_PER_PROMPT": 20,
    "HARVEST_SHOWN_PHRASES": 50,
    "HARVEST_PAGE_SIZE": 200,
    # Counts below this, in anything shared beyond the hosts, read "fewer than N".
    "SMALL_NUMBER_THRESHOLD": 5,
    "SKETCH_MAX_BYTES": 8 * 1024 * 1024,
    "SKETCH_MAX_PIXELS": 25_000_000,
    # Registration: attempts per client, and when the video-call link appears on the private page.
    "REGISTRATION_RATE_LIMIT": "10 per minute",
    "VIDEO_LINK_OPENS_MINUTES_BEFORE": 15,
    # The live room (docs/live-protocol.md): frame size, flood limit, grace after the end.
    "LIVE_MAX_FRAME_BYTES": 16 * 1024,
    "LIVE_RATE_LIMIT_COUNT": 5,
    "LIVE_RATE_LIMIT_SECONDS": 30,
    "LIVE_GRACE_MINUTES": 30,
    # Limits per person and per client address, never per connection (live-protocol.md 10).
    "LIVE_CONNECTIONS_PER_PERSON": 5,
    "LIVE_CONNECTIONS_PER_ADDRESS": 100,
    "LIVE_MESSAGES_PER_PERSON": "60 per 10 seconds",
    "LIVE_MESSAGES_PER_ADDRESS": "600 per 10 seconds",
    "LIVE_CONTRIBUTIONS_PER_ADDRESS": "60 per 30 seconds",
    # A browser's pass into the live room (live_pass.py) works this long; it gets a new one
    # before every connect.
    "LIVE_PASS_SECONDS": 120,
    # New "I need support" requests per person (asking again while one is open is free).
    "LIVE_SUPPORT_LIMIT_COUNT": 3,
    "LIVE_SUPPORT_LIMIT_SECONDS": 600,
    # How often each worker vouches for its live connections (presence across workers).
    "LIVE_HEARTBEAT_SECONDS": 30,
    # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto/-Host (nginx in
    # deploy/ is one), so rate limits key on the real client address. 0: no proxy, trust none.
    "PROXY_COUNT": 0,
    # Updates are sent in one frame per room per tick; presence at most once per interval.
    "LIVE_TICK_SECONDS": 0.025,
    "LIVE_PRESENCE_SECONDS": 1.0,
    # A joining client gets the tail of what it missed up to this many updates, else a snapshot
    # of the room now with this many of the newest contributions and phrases.
    "LIVE_TAIL_LIMIT": 200,
    "LIVE_SNAPSHOT_SIZE": 200,
    # Packets waiting for one client before it is dropped (it reconnects and catches up).
    "LIVE_SEND_QUEUE_LIMIT": 1000,
}

ENVIRONMENT_NAMES = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_DEFAULT_SENDER",
)


def load_config(app, overrides=None):
    """Fill app.config from defaults, the environment and explicit overrides, in that order."""
    app.config.update(DEFAULTS)
    for name in ENVIRONMENT_NAMES:
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    app.config.from_prefixed_env("LERO")
    app.config.update(overrides or {})

    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app.config.get("DATABASE_URL"), instance)
    if app.config.get("HTTPS"):
        # Behind HTTPS (LERO_HTTPS=true): cookies only over HTTPS, https links, and HSTS
        # (security.py) so browsers never try plain HTTP again.
        app.config.update(
            SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https"
        )
    # A database error's message would otherwise carry the statement's values: names,
    # email addresses, access needs, private tokens. Set it to False only to debug locally.
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "hide_parameters": True,
        **pool_options(app.config),
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    if app.config.get("REDIS_URL"):
        app.config["SOCKETIO_MESSAGE_QUEUE"] = app.config["REDIS_URL"]
        if app.config["RATELIMIT_STORAGE_URI"] == "memory://":
            app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    if app.config["RATELIMIT_STORAGE_URI"].startswith("redis"):
        # Give up on a Redis that does not answer quickly, so the fallback takes over.
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
        )
    if app.config["TRUSTED_HOSTS"] is None:
        app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config)
    elif not isinstance(app.config["TRUSTED_HOSTS"], list):
        # Not JSON (a shell that ate the quotes, say): every request would be refused.
        raise SystemExit(NOT_A_HOST_LIST.format(value=app.config["TRUSTED_HOSTS"]))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(instance)
    if app.config["TASK_WORKER_IN_PROCESS"] is None:
        app.config["TASK_WORKER_IN_PROCESS"] = not app.config.get("REDIS_URL")
    if app.config["AUTO_MIGRATE"] is None:
        app.config["AUTO_MIGRATE"] = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    app.config.setdefault("OUTBOX_DIR", str(instance / "outbox"))
    app.config.setdefault("UPLOAD_DIR", str(instance / "uploads"))


# Names for this very computer: no other site can make a browser send them to us, so a
# forged Host cannot be one of them (DNS rebinding needs the attacker's own name).
LOOPBACK_NAMES = ["localhost", "127.0.0.1"]


def is_loopback(host):
    """True when `host` (what LERO_HOST binds) is reachable from this computer only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_every_address(host):
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


NOT_A_HOST_LIST = (
    "LERO_TRUSTED_HOSTS={value} is not a JSON list of host names: write it "
    """LERO_TRUSTED_HOSTS='["events.example.org"]', quotes included."""
)


def trusted_hosts(config):
    """The Host headers we answer to by default: the public address's host, the host we
    listen on (unless it is every address, 0.0.0.0, or IPv6, which Werkzeug cannot match)
    and this computer's own names."""
    hosts = []
    if config.get("PUBLIC_BASE_URL"):
        hosts.append(urlsplit(config["PUBLIC_BASE_URL"]).hostname)
    host = str(config["HOST"])
    if host and ":" not in host and not is_every_address(host):
        hosts.append(host)
    return list(dict.fromkeys([*hosts, *LOOPBACK_NAMES]))


def database_uri(url, instance):
    """Turn DATABASE_URL into a SQLAlchemy URI; SQLite in instance/ when it is unset."""
    if not url:
        return f"sqlite:///{instance / 'lero_events.sqlite'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def pool_options(config):
    """The PostgreSQL pool's size. A gevent or eventlet process serves many requests at once:
    with SQLAlchemy's default (5 kept, up to 10 more opened and closed again) a crowd joining
    the live room keeps reconnecting. 20 kept and none beyond, so that N workers hold at most
    20 N of PostgreSQL's default 100 connections, with room left for the mail worker, psql
    and other servers on the same database.

    Last in, first out: a quiet room's requests reuse the connection used last, whose
    prepared statements and cached plans are warm (pg_contribution), rather than going round
    every connection in the pool in turn."""
    if not config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return {}  # SQLite: no server connections to keep
    cooperative = config["ASYNC_MODE"] in ("gevent", "eventlet")
    options = {"pool_use_lifo": True}
    for option, setting, default in (
        ("pool_size", "DATABASE_POOL_SIZE", 20),
        ("max_overflow", "DATABASE_MAX_OVERFLOW", 0),
    ):
        value = config[setting]
        if value is None and cooperative:
            value = default
        if value is not None:
            options[option] = int(value)
    return options


def instance_secret_key(instance):
    """A random key made once and kept in instance/, so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        # Readable by us only from the moment it exists; a worker starting at the same
        # moment that made it first wins, and both read the same key.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_hex(32))
    return path.read_text().strip()
