"""Who may see a harvest, publishing it, its secret link, and when it follows the live room."""

import hmac
import secrets
from datetime import timedelta

import sqlalchemy as sa

from ..errors import DomainError, NotFound
from ..extensions import db
from ..models import Event, utcnow

NOT_SHARED = (
    "This harvest has not been shared yet. If a host sent you a link, it may have been "
    "withdrawn: ask them for a new one."
)


def find_event(slug):
    event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
    if event is None:
        raise NotFound("There is no event at that address.")
    return event


def harvest_access(event, viewer=None, key=None):
    """How `viewer` may see the harvest: "host", "public" or "secret"; NotFound otherwise.

    Hosts see it from the start; everyone once it is published; holders of the secret link
    until a host revokes it. A draft event's harvest is for its hosts only.
    """
    if event.is_hosted_by(viewer):
        return "host"
    if event.status != "draft":
        if event.harvest_published:
            return "public"
        if (
            key
            and event.harvest_secret
            and hmac.compare_digest(key.encode(), event.harvest_secret.encode())
        ):
            return "secret"
    raise NotFound(NOT_SHARED)


# The page follows the live room from an hour before the start until two hours after the end,
# while hosts finish moderating.
LIVE_BEFORE = timedelta(hours=1)
LIVE_AFTER = timedelta(hours=2)


def is_live(event, now=None):
    now = now or utcnow()
    return (
        event.status == "published"
        and event.starts_at - LIVE_BEFORE <= now <= event.ends_at + LIVE_AFTER
    )


def publish_harvest(event):
    if event.status == "draft":
        raise DomainError("Publish the event itself before sharing its harvest.", status=409)
    event.harvest_published = True
    db.session.commit()
    return event


def unpublish_harvest(event):
    event.harvest_published = False
    db.session.commit()
    return event


def create_secret_link(event):
    """A new unlisted key (256 random bits); any earlier link stops working."""
    event.harvest_secret = secrets.token_urlsafe(32)
    db.session.commit()
    return event.harvest_secret


def revoke_secret_link(event):
    event.harvest_secret = None
    db.session.commit()
