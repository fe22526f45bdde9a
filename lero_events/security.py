"""Who is logged in, the headers every response carries, and input refused at the door.

Input no database column can take (a NUL character in text: PostgreSQL refuses it; a whole
number beyond 64 bits: SQLite overflows) gets a clear 400 or 404 here, before any query,
instead of a 500 and a traceback in the log.
"""

import hmac
import logging
import pkgutil
import re

import sqlalchemy as sa
from flask import current_app, g, request
from werkzeug.exceptions import SecurityError
from werkzeug.routing import IntegerConverter
from werkzeug.wsgi import get_host

from .errors import DomainError
from .extensions import db, login_manager
from .models import Organiser

LARGEST_STORED_INTEGER = 2**63 - 1
UNSTORABLE_TEXT = (
    "That address or form contains a NUL character (\\0), which we cannot store. "
    "Remove it and try again."
)

# No inline scripts or styles anywhere, so the policy can stay strict; connect-src covers
# Socket.IO's own origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)


@login_manager.user_loader
def load_organiser(user_id):
    """The organiser a session names, if its session key is still theirs: logging out and
    changing the password make a new key, so a copied cookie from before stops working."""
    number, _, session_key = user_id.partition(".")
    if not number.isdigit() or len(number) > 18 or not session_key:
        return None
    organiser = db.session.get(Organiser, int(number))
    if organiser is None or not hmac.compare_digest(
        session_key.encode(), organiser.session_key.encode()
    ):
        return None
    return organiser


# The secret in /r/<token>, /reset-password/<token> and /invitations/<token> links.
PRIVATE_LINK = re.compile(r"/(r|reset-password|invitations)/[^/\s\]\[?#'\"]+")
# The secret in ?key= links: the harvest's secret link and the presenter link.
SECRET_KEY_PARAMETER = re.compile(r"([?&]key=)[^&\s#'\"]+")
EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# PostgreSQL's DETAIL repeats the values: "Key (email)=(...)", "Failing row contains (...)".
DATABASE_DETAIL = re.compile(r"^DETAIL:.*$", re.MULTILINE)


def redact(text):
    """`text` without private links, email addresses or the database's copy of a row."""
    text = PRIVATE_LINK.sub(r"/\1/[redacted]", text)
    text = SECRET_KEY_PARAMETER.sub(r"\1[redacted]", text)
    text = EMAIL_ADDRESS.sub("[address]", text)
    return DATABASE_DETAIL.sub("DETAIL: [redacted]", text)


class RedactPersonalData(logging.Filter):
    """Keep personal data out of log lines and their tracebacks, e.g. Flask's "Exception on
    /r/<token>" or an SMTP error naming the refused address."""

    def filter(self, record):
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatters use exc_text when it is set, instead of formatting exc_info again.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def our_loggers():
    """Every logger that can carry a request's data: ours (one per module, made now, so a
    later logging set-up keeps the filter), the servers' and the libraries' that log errors."""
    import lero_events

    modules = [info.name for info in pkgutil.walk_packages(lero_events.__path__, "lero_events.")]
    return ["lero_events", *modules, "werkzeug", "engineio.server", "socketio.server"]


def whole_number(value):
    """True for a JSON whole number such as an id: Python counts true and false as ints."""
    return isinstance(value, int) and not isinstance(value, bool)


def unstorable(value):
    """True when `value` (text, a number, or lists and dicts of them) holds what no database
    column takes: a NUL character, or a whole number beyond 64 bits."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not -LARGEST_STORED_INTEGER - 1 <= value <= LARGEST_STORED_INTEGER
    if isinstance(value, dict):
        return any(unstorable(key) or unstorable(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(unstorable(item) for item in value)
    return False


class StoredIntegerConverter(IntegerConverter):
    """`<int:...>` in URLs, up to the largest id a database holds: beyond it, a plain 404."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", LARGEST_STORED_INTEGER)
        super().__init__(url_map, *args, **kwargs)


def page_number(text):
    """A ?page= value: a whole number from 1 to a billion, else ValueError (the default)."""
    number = int(text)
    if not 1 <= number <= 1_000_000_000:
        raise ValueError(text)
    return number


def refuse_unstorable_input():
    values = [request.path, *request.args.items(multi=True)]
    if request.method in ("POST", "PUT", "PATCH"):
        values.extend(request.form.items(multi=True))
    if unstorable(values):
        raise DomainError(UNSTORABLE_TEXT)


class LimitPollingPosts:
    """WSGI middleware: a Socket.IO long-polling POST above the frame limit gets 413 at once.

    python-engineio refuses such a POST too, but then closes the session and waits for a
    poll to flush it; with no poll waiting, the POST never gets any answer.
    """

    def __init__(self, wsgi_app, max_bytes, path="/socket.io"):
        self.wsgi_app = wsgi_app
        self.max_bytes = max_bytes
        self.path = path

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO", "").startswith(
            self.path
        ):
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = self.max_bytes + 1
            if length > self.max_bytes:
                start_response(
                    "413 Request Entity Too Large",
                    [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")],
                )
                return [b"That message is larger than the live room takes."]
        return self.wsgi_app(environ, start_response)


class RefuseUnknownHosts:
    """WSGI middleware, outermost: a request naming a host we are not (TRUSTED_HOSTS) gets 400.

    Flask checks TRUSTED_HOSTS for pages too, but Socket.IO answers before Flask sees the
    request; here one check covers both, so a site that points its own name at our address
    (DNS rebinding) reaches neither the pages nor the live room.
    """

    def __init__(self, wsgi_app, config):
        self.wsgi_app = wsgi_app
        self.config = config

    def __call__(self, environ, start_response):
        trusted = self.config["TRUSTED_HOSTS"]
        if trusted:
            try:
                get_host(environ, trusted)
            except SecurityError:
                start_response(
                    "400 Bad Request",
                    [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")],
                )
                return [UNKNOWN_HOST.encode()]
        return self.wsgi_app(environ, start_response)


UNKNOWN_HOST = (
    "This server does not answer to that address. Use the site's own address; its operator "
    "lists the names it answers to in LERO_TRUSTED_HOSTS or LERO_PUBLIC_BASE_URL."
)


def init_url_converters(app):
    """Before any blueprint: the routes' <int:...> parts are compiled when they are added."""
    app.url_map.converters["int"] = StoredIntegerConverter


def overwrite_deleted_data(connection, record):
    """SQLite keeps deleted and overwritten values in the file's free space until reused:
    secure_delete zeroes them, so an erased address is gone from the file too."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


def init_app(app):
    app.before_request(refuse_unstorable_input)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", overwrite_deleted_data)
    redacting = RedactPersonalData()
    for name in our_loggers():
        logging.getLogger(name).addFilter(redacting)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in as an organiser to see that page."

    @app.after_request
    def set_security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Private links carry a token in the path: never leak it to another site.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if current_app.config["HTTPS"]:
            response.headers.setdefault(
                "Strict-Transport-Security", f"max-age={int(current_app.config['HSTS_SECONDS'])}"
            )
        if g.get("private_page"):
            response.headers["Cache-Control"] = "no-store"
        return response
