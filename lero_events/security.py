"""Who is logged in, and the headers every response carries."""

import logging
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


class RedactPrivateLinks(logging.Filter):
    """Hide the secret in /r/<token>, /reset-password/<token> and /invitations/<token> links
    in log lines, e.g. Flask's "Exception on ..."."""

    pattern = re.compile(r"/(r|reset-password|invitations)/[^/\s\]\[?#]+")

    def filter(self, record):
        message = record.getMessage()
        redacted = self.pattern.sub(r"/\1/[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def init_app(app):
    app.logger.addFilter(RedactPrivateLinks())
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
