"""Who may see what: one place for each rule, used by the live room, the harvest, its exports
and the evidence.

- A draft event is there for its hosts only; anyone else gets NO_EVENT, as for a missing one
  (`event_visible`).
- Hosts see everything of their own event; pages with personal data answer anyone else with
  the same 404 as a missing event (events.get_event_for_hosts).
- A contribution shows in the room once hosts approve it; before that, and once withdrawn,
  only hosts and its author see its text.
- The harvest (page, exports, found poem, words) shows what the room shows, approved
  contributions and phrases not withdrawn, except what authors kept to the room (consent.py).
  The harvest page following the room, and the room itself after the session, show it as
  the harvest does (`sees_room_as_harvest`).
- A question is part of the room (and the harvest) once it is asked: one typed live at once,
  a prepared one when a host asks it.
- Who may open the harvest at all: `harvest_access`; the presenter view: `presenter_access`.
- Counts shared beyond the hosts hide small numbers: `shared_count`.
"""

import hmac

import sqlalchemy as sa

from .errors import NotFound
from .models import Contribution, Phrase, Prompt

NO_EVENT = "There is no event at that address."
APPROVED = "approved"
ROOM_ONLY = "room"
NOT_SHARED = (
    "This harvest has not been shared yet. If a host sent you a link, it may have been "
    "withdrawn: ask them for a new one."
)


def event_visible(event, viewer=None):
    """False for a draft, unless `viewer` hosts it."""
    return event.status != "draft" or event.is_hosted_by(viewer)


def in_room(contribution):
    """True when everyone in the live room may read this contribution."""
    return contribution.status == APPROVED


def room_text_visible(contribution, role, author_key=None):
    """Whether a live-room member with `role` (and `author_key`) may read its text now."""
    return (
        role == "host"
        or in_room(contribution)
        or (author_key is not None and contribution.author_key == author_key)
    )


def shown_in_room():
    """`in_room` as a query condition on Contribution."""
    return Contribution.status == APPROVED


def allowed_in_harvest(contribution):
    """True unless its author kept the contribution to the room during the session."""
    return contribution.sharing != ROOM_ONLY


def shown_in_harvest():
    """The contributions the harvest, its exports, the poem and the word list may show."""
    return sa.and_(Contribution.status == APPROVED, Contribution.sharing != ROOM_ONLY)


def sees_room_as_harvest(role, ended):
    """True when a live-room client sees the room as the harvest shows it: the harvest page
    (viewers) always, everyone but hosts once the session has ended."""
    return role == "viewer" or (role != "host" and ended)


def phrase_shown():
    """The captured phrases the room and the harvest show: those not withdrawn."""
    return Phrase.withdrawn.is_(False)


def prompt_heard(prompt):
    """True when the room has heard this question."""
    return not prompt.prepared or prompt.asked_at is not None


def heard_prompts():
    """`prompt_heard` as a query condition on Prompt."""
    return sa.or_(Prompt.prepared.is_(False), Prompt.asked_at.is_not(None))


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


PRESENTER_LINK_GONE = "That presenter link no longer works: ask a host for the new one."


def presenter_access(event, viewer=None, key=None):
    """How `viewer` may open the presenter view: "host", or "secret" with the event's current
    presenter link while the event is published; NotFound otherwise."""
    if event.is_hosted_by(viewer):
        return "host"
    if (
        event.status == "published"
        and key
        and event.presenter_secret
        and hmac.compare_digest(key.encode(), event.presenter_secret.encode())
    ):
        return "secret"
    raise NotFound(PRESENTER_LINK_GONE)


def shared_count(value, threshold):
    """A count as anything shared beyond the hosts shows it (the harvest, the downloads, the
    printable evidence): below `threshold`, but not nothing, it reads "fewer than N" so no one
    can be picked out."""
    if 0 < value < threshold:
        return f"fewer than {threshold}"
    return value
