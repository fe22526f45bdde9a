"""The live pass: how a participant's browser joins the live room without the private token.

The private token opens a whole booking (cancel, erase, access needs), so the browser never
holds it after the link is opened (docs/live-protocol.md section 11). The session remembers the
registration by id and link fingerprint; before each connect the page asks for a pass, signed
with SECRET_KEY, that works for a couple of minutes and only for joining this event's room.
"""

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .errors import DomainError
from .registrations import link_fingerprint, registration_for_fingerprint

SALT = "live-pass"
NOT_VALID = "Your pass to the live room has expired or is not valid: reload the page."


def serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def remembered_as(registration):
    """What the session keeps for a registration: its id and link fingerprint, no secret."""
    return f"{registration.id}.{link_fingerprint(registration)}"


def registration_remembered(value):
    """The registration a session's `remembered_as` value names, if its link still works."""
    number, _, fingerprint = value.partition(".") if isinstance(value, str) else ("", "", "")
    if not number.isdigit() or len(number) > 18:
        return None
    return registration_for_fingerprint(int(number), fingerprint)


def issue_live_pass(registration):
    return serializer().dumps(
        {"r": registration.id, "f": link_fingerprint(registration), "e": registration.event_id}
    )


def registration_for_live_pass(live_pass, event):
    """The registration a pass was issued for, if it is recent, for `event`, and its link is
    unchanged; DomainError otherwise (whether it is confirmed is the caller's check)."""
    try:
        data = serializer().loads(live_pass, max_age=int(current_app.config["LIVE_PASS_SECONDS"]))
    except BadSignature:
        raise DomainError(NOT_VALID) from None
    if not isinstance(data, dict) or data.get("e") != event.id:
        raise DomainError(NOT_VALID)
    registration = registration_for_fingerprint(data.get("r"), data.get("f"))
    if registration is None:
        raise DomainError(NOT_VALID)
    return registration
