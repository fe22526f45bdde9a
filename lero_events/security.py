"""Who is logged in, and the headers every response carries."""

import logging
import pkgutil
import re

from flask import g

from .extensions import db, login_manager
from .models import Organiser

# No inline scripts or styles anywhere, so the policy can stay strict; connect-src covers
# Socket.IO's own origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)


@login_manager.user_loader
def load_organiser(organiser_id):
    return db.session.get(Organiser, int(organiser_id))


PRIVATE_LINK = re.compile(r"/r/[^/\s\]\[?#'\"]+")
EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# PostgreSQL's DETAIL repeats the values: "Key (email)=(...)", "Failing row contains (...)".
DATABASE_DETAIL = re.compile(r"^DETAIL:.*$", re.MULTILINE)


def redact(text):
    """`text` without private links, email addresses or the database's copy of a row."""
    text = PRIVATE_LINK.sub("/r/[redacted]", text)
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


def init_app(app):
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
        if g.get("private_page"):
            response.headers["Cache-Control"] = "no-store"
        return response
