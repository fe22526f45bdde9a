"""The live room on a shared screen, and the ways into it: the presenter link, the join
address, its QR code, and when the room is live enough to point people at it. Who may open
the presenter view is a rule of lero_events.visibility (`presenter_access`)."""

import secrets
from datetime import timedelta

import segno
from flask import current_app
from markupsafe import Markup

from .extensions import db
from .invites import public_url
from .models import utcnow


def create_presenter_link(event):
    """A new presenter key (256 random bits); the previous link stops working."""
    event.presenter_secret = secrets.token_urlsafe(32)
    db.session.commit()
    return event.presenter_secret


def revoke_presenter_link(event):
    event.presenter_secret = None
    db.session.commit()


def presenter_url(event):
    if not event.presenter_secret:
        return None
    return public_url("live.present", slug=event.slug, key=event.presenter_secret)


def is_live(event, now=None):
    """The live window: from when the video-call link opens before the start until
    contributions stop after the end. The event page points at the live room then."""
    now = now or utcnow()
    config = current_app.config
    opens = timedelta(minutes=int(config["VIDEO_LINK_OPENS_MINUTES_BEFORE"]))
    closes = timedelta(minutes=int(config["LIVE_GRACE_MINUTES"]))
    return event.status == "published" and event.starts_at - opens <= now <= event.ends_at + closes


def join_address(event):
    """Where a newcomer joins: the live room itself when guests may join, else the event page,
    which points registered people to their private link."""
    if event.allow_guests:
        return public_url("live.participant", slug=event.slug)
    return public_url("public.event", slug=event.slug)


def qr_svg(text, title):
    """`text` as a QR code: inline SVG (no CDN, no image request) that scales with its box,
    named by `title` for screen readers. Medium error correction survives a blurry call."""
    svg = segno.make(text, error="m").svg_inline(
        title=title, omitsize=True, border=4, dark="#000", light="#fff", svgclass="qr-code"
    )
    # Safe markup: segno writes only paths, and escapes the title (tests/test_presenter.py).
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704
