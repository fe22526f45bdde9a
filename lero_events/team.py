"""A team without the command line: co-host invitations and password resets by email.

Both links are signed with the app's SECRET_KEY (itsdangerous, as Flask signs its session)
and carry the time they were made, so they expire. Each works once: an invitation's row is
stamped when accepted; a reset link carries a fingerprint of the password hash it was made
for, so it dies the moment the password changes.
"""

import hashlib
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, render_template
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from . import outbox
from .accounts import create_organiser, find_organiser, normalise_email
from .errors import DomainError, NotFound
from .events import add_cohost
from .extensions import db
from .invites import public_url
from .models import CohostInvitation, EventHost, Organiser, utcnow

INVITATION_SALT = "cohost-invitation"
RESET_SALT = "password-reset"
BROKEN_LINK = "This link does not work: it may be cut short or mistyped. Check the email."


class LinkExpired(DomainError):
    status = 410


def signer(salt):
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def read_link(token, salt, max_age, expired_message):
    """What a signed link carries, or a clear refusal: expired (410) or broken (404)."""
    try:
        return signer(salt).loads(token, max_age=int(max_age))
    except SignatureExpired:
        raise LinkExpired(expired_message) from None
    except BadSignature:
        raise NotFound(BROKEN_LINK) from None


def queue_account_email(to, subject, kind, event=None, **context):
    """Queue templates/auth/email/<kind>.txt; the caller's commit writes it."""
    privacy_link = public_url("privacy.index", outbox.site_url())
    body = render_template(
        f"auth/email/{kind}.txt", event=event, privacy_link=privacy_link, **context
    )
    outbox.queue_email(to, subject, body, kind=kind, event=event)


def link_to(endpoint, token):
    """Links in emails point at the site's public address, never at a request's Host."""
    return public_url(endpoint, outbox.site_url(), token=token)


# Co-host invitations


def invite_cohost(event, inviter, email):
    """Make `email` a co-host of `event`: at once when they have an account, else by an
    emailed invitation to make one. Returns the Organiser added, or the CohostInvitation."""
    email = normalise_email(email)
    organiser = find_organiser(email)
    if organiser is not None:
        return add_cohost(event, email)
    invitation = CohostInvitation(event_id=event.id, email=email, invited_by_id=inviter.id)
    db.session.add(invitation)
    db.session.flush()
    queue_account_email(
        email,
        f"Co-host {event.title} with {inviter.name}",
        "invitation",
        event=event,
        inviter=inviter,
        link=link_to("auth.accept_invitation", signer(INVITATION_SALT).dumps(invitation.id)),
        days=int(current_app.config["INVITATION_MAX_AGE_SECONDS"]) // 86400,
    )
    db.session.commit()
    return invitation


def pending_invitations(event, now=None):
    """Invitations not yet accepted, each marked `expired` once its link no longer works."""
    invitations = db.session.scalars(
        sa.select(CohostInvitation)
        .where(CohostInvitation.event_id == event.id, CohostInvitation.accepted_at.is_(None))
        .order_by(CohostInvitation.created_at)
    ).all()
    oldest_valid = (now or utcnow()) - timedelta(
        seconds=int(current_app.config["INVITATION_MAX_AGE_SECONDS"])
    )
    for invitation in invitations:
        invitation.expired = invitation.created_at < oldest_valid
    return invitations


def withdraw_invitation(event, invitation_id):
    """Delete a pending invitation, so its emailed link stops working at once."""
    invitation = db.session.get(CohostInvitation, invitation_id)
    if invitation is None or invitation.event_id != event.id or invitation.accepted_at:
        raise NotFound("That invitation is not pending for this event.")
    db.session.delete(invitation)
    db.session.commit()
    return invitation


def invitation_for_token(token):
    """The invitation behind a link, while it is unused and in date."""
    invitation_id = read_link(
        token,
        INVITATION_SALT,
        current_app.config["INVITATION_MAX_AGE_SECONDS"],
        "This invitation has expired. Ask the organiser who invited you to send a new one.",
    )
    invitation = db.session.get(CohostInvitation, invitation_id)
    if invitation is None:
        raise NotFound(BROKEN_LINK)
    if invitation.accepted_at is not None:
        raise LinkExpired("This invitation has been used already. Log in with the account it made.")
    return invitation


def accept_invitation(invitation, name, password):
    """Make the invited person's account and add them to the event's hosts, once."""
    if find_organiser(invitation.email) is not None:
        # They made an account through another invitation meanwhile.
        raise DomainError(
            f"{invitation.email} has an account now: log in, and ask to be added again.", 409
        )
    organiser = create_organiser(invitation.email, name, password)
    invitation.accepted_at = utcnow()
    invitation.event.hosts.append(EventHost(organiser=organiser, role="cohost"))
    db.session.commit()
    return organiser


# Password resets


def password_fingerprint(organiser):
    """Changes whenever the password does, so a used reset link stops working."""
    return hashlib.sha256(organiser.password_hash.encode()).hexdigest()[:20]


def request_password_reset(email):
    """Email a reset link if `email` has an account; the caller says the same either way."""
    try:
        organiser = find_organiser(normalise_email(email))
    except DomainError:
        organiser = None
    if organiser is None:
        return
    token = signer(RESET_SALT).dumps({"id": organiser.id, "pw": password_fingerprint(organiser)})
    queue_account_email(
        organiser.email,
        "Choose a new password for LERO Events",
        "password_reset",
        organiser=organiser,
        link=link_to("auth.reset_password", token),
        minutes=int(current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"]) // 60,
    )
    db.session.commit()


def organiser_for_reset_token(token):
    data = read_link(
        token,
        RESET_SALT,
        current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"],
        "This link has expired. Ask for a new one below.",
    )
    organiser = db.session.get(Organiser, data.get("id")) if isinstance(data, dict) else None
    if organiser is None or data.get("pw") != password_fingerprint(organiser):
        raise LinkExpired(
            "This link has been used already, or the password changed since it was sent. "
            "Ask for a new one below."
        )
    return organiser
