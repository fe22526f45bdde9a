"""Publishing a harvest, its secret link, and when it follows the live room.

Who may open it is `lero_events.visibility.harvest_access`.
"""

import secrets
from datetime import timedelta

import sqlalchemy as sa

from ..errors import DomainError, NotFound
from ..extensions import db
from ..models import Event, utcnow


def find_event(slug):
    event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
    if event is None:
        raise NotFound("There is no event at that address.")
    return event


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
