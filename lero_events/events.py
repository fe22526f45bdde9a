"""Events and their agendas: creation, editing, publishing and unpublishing, cancelling,
running again, deleting drafts, co-hosts."""

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import sqlalchemy as sa

from . import prompts, registrations, signals, support
from .accounts import find_organiser, normalise_email
from .agreement import clean_agreement
from .discreet import MAX_NEUTRAL_NAME
from .errors import DomainError, Forbidden, NotFound
from .extensions import db
from .models import (
    AgendaItem,
    Contribution,
    Event,
    EventHost,
    Prompt,
    Registration,
    SketchNote,
    utcnow,
)
from .visibility import NO_EVENT, event_visible

AGENDA_KINDS = ("panel", "conversation", "talk", "workshop", "break", "session")
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_CAPACITY = 100_000
MAX_CANCEL_MESSAGE = 2000
MAX_RETENTION_DAYS = 3650


class EventInvalid(DomainError):
    """Field-by-field reasons an event cannot be saved."""

    def __init__(self, errors):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


@dataclass
class AgendaItemData:
    title: str
    kind: str
    starts_at: datetime  # wall-clock time in the event's zone, naive
    ends_at: datetime


@dataclass
class EventData:
    """What an organiser enters: times are wall-clock times in `timezone`."""

    title: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    slug: str = ""
    description: str = ""
    capacity: int | None = None
    video_url: str = ""
    allow_guests: bool = False
    support_contacts: str = ""
    remind_day_before: bool = True
    remind_hour_before: bool = True
    # None: the site's RETENTION_DAYS (retention.py).
    retention_days: int | None = None
    agenda: list[AgendaItemData] = field(default_factory=list)
    is_demo: bool = False
    discreet: bool = False
    discreet_name: str = ""
    room_agreement: str = ""


def slugify(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


def is_known_timezone(name):
    return name in available_timezones()


@cache
def timezone_names():
    """The zones offered to organisers: Area/City names and UTC, alphabetically. (Etc/GMT+1
    and friends are left out: their signs are the reverse of what people expect.)"""
    names = available_timezones()
    return sorted(n for n in names if "/" in n and not n.startswith("Etc/")) + ["UTC"]


def local_to_utc(local, zone):
    """Convert a wall-clock time to UTC, refusing times the clocks skip over."""
    aware = local.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local:
        raise ValueError(f"{local:%H:%M on %d %b %Y} does not exist in {zone.key}")
    return aware.astimezone(UTC)


def validate_event(data, event=None):
    """Check everything an organiser entered; returns UTC times or raises EventInvalid."""
    errors = {}
    data.title = data.title.strip()
    data.slug = (data.slug.strip().lower() or slugify(data.title))[:80]
    if not data.title:
        errors["title"] = "Give the event a title."
    if not SLUG_PATTERN.match(data.slug):
        errors["slug"] = "Use lower-case letters, digits and single hyphens in the web address."
    else:
        clash = db.session.scalar(sa.select(Event.id).where(Event.slug == data.slug))
        if clash is not None and (event is None or clash != event.id):
            errors["slug"] = f"The web address '{data.slug}' is taken by another event."
    if data.capacity is not None and not 1 <= data.capacity <= MAX_CAPACITY:
        errors["capacity"] = f"Capacity must be between 1 and {MAX_CAPACITY}, or left empty."
    if data.retention_days is not None and not 0 <= data.retention_days <= MAX_RETENTION_DAYS:
        errors["retention_days"] = (
            f"Keep personal data between 0 and {MAX_RETENTION_DAYS} days, or leave it empty."
        )
    data.discreet_name = " ".join((data.discreet_name or "").split())
    if len(data.discreet_name) > MAX_NEUTRAL_NAME:
        errors["discreet_name"] = f"Keep the neutral name to {MAX_NEUTRAL_NAME} characters."
    try:
        data.room_agreement = clean_agreement(data.room_agreement)
    except DomainError as error:
        errors["room_agreement"] = error.message
    data.support_contacts = support.normalise_contacts(data.support_contacts)
    if len(data.support_contacts) > support.MAX_CONTACTS:
        errors["support_contacts"] = (
            f"Keep the support contacts under {support.MAX_CONTACTS} characters."
        )
    if data.video_url and not re.match(r"^https://\S+$", data.video_url):
        errors["video_url"] = "The video-call link must start with https://."
    try:
        zone = ZoneInfo(data.timezone)
        if not is_known_timezone(data.timezone):
            raise ZoneInfoNotFoundError(data.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = f"'{data.timezone}' is not a time zone we know (try Europe/London)."
        raise EventInvalid(errors) from None

    times = {}
    for name in ("starts_at", "ends_at"):
        try:
            times[name] = local_to_utc(getattr(data, name), zone)
        except ValueError as error:
            errors[name] = f"{error}: the clocks change then."
    if len(times) == 2 and times["ends_at"] <= times["starts_at"]:
        errors["ends_at"] = "The event must end after it starts."

    agenda = []
    for number, item in enumerate(data.agenda, start=1):
        problem = None
        try:
            start, end = local_to_utc(item.starts_at, zone), local_to_utc(item.ends_at, zone)
        except ValueError as error:
            problem = str(error)
        else:
            if not item.title.strip():
                problem = "give it a title"
            elif item.kind not in AGENDA_KINDS:
                problem = f"choose a kind from {', '.join(AGENDA_KINDS)}"
            elif end <= start:
                problem = "it must end after it starts"
            elif len(times) == 2 and (start < times["starts_at"] or end > times["ends_at"]):
                problem = "it must sit inside the event's start and end"
        if problem:
            errors.setdefault("agenda", f"Agenda item {number}: {problem}.")
        else:
            agenda.append(
                AgendaItem(title=item.title.strip(), kind=item.kind, starts_at=start, ends_at=end)
            )
    if errors:
        raise EventInvalid(errors)
    return times["starts_at"], times["ends_at"], agenda


def create_event(owner, data):
    starts_at, ends_at, agenda = validate_event(data)
    event = Event(
        slug=data.slug,
        title=data.title,
        description=data.description.strip(),
        timezone=data.timezone,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=data.capacity,
        video_url=data.video_url.strip(),
        allow_guests=data.allow_guests,
        support_contacts=data.support_contacts,
        is_demo=data.is_demo,
        remind_day_before=data.remind_day_before,
        remind_hour_before=data.remind_hour_before,
        retention_days=data.retention_days,
        discreet=data.discreet,
        discreet_name=data.discreet_name,
        room_agreement=data.room_agreement,
        status="draft",
        ical_uid=f"{uuid.uuid4()}@lero-events",
        agenda_items=agenda,
    )
    event.hosts.append(EventHost(organiser=owner, role="owner"))
    db.session.add(event)
    db.session.commit()
    return event


def update_event(event, data):
    """Save an organiser's edits; a new time, place or discretion raises the calendar SEQUENCE."""
    if event.status == "cancelled":
        raise DomainError("A cancelled event can no longer be edited.", status=409)
    starts_at, ends_at, agenda = validate_event(data, event)
    moved = (starts_at, ends_at, data.video_url.strip()) != (
        event.starts_at,
        event.ends_at,
        event.video_url,
    )
    # Invites already in calendars must turn neutral (or back) too: send them again.
    moved = moved or (data.discreet, data.discreet_name) != (event.discreet, event.discreet_name)
    event.slug = data.slug
    event.title = data.title
    event.description = data.description.strip()
    event.timezone = data.timezone
    event.starts_at, event.ends_at = starts_at, ends_at
    event.capacity = data.capacity
    event.video_url = data.video_url.strip()
    event.allow_guests = data.allow_guests
    event.support_contacts = data.support_contacts
    event.remind_day_before = data.remind_day_before
    event.remind_hour_before = data.remind_hour_before
    event.retention_days = data.retention_days
    event.discreet = data.discreet
    event.discreet_name = data.discreet_name
    event.room_agreement = data.room_agreement
    keep_agenda_items(event, agenda)
    if moved:
        # Confirmed attendees get the invite again, with the higher SEQUENCE.
        event.ical_sequence += 1
        signals.event_changed.send(event, recipients=registrations.confirmed_attendees(event))
    db.session.commit()
    registrations.promote_into_free_seats(event)
    return event


def keep_agenda_items(event, agenda):
    """Save the edited agenda, keeping each item whose title stays (prepared questions are tied
    to it); questions tied to an item that goes are tied to none."""
    kept = {item.title: item for item in event.agenda_items}
    items = []
    for edited in agenda:
        item = kept.pop(edited.title, None)
        if item is None:
            items.append(edited)
        else:
            item.kind, item.starts_at, item.ends_at = edited.kind, edited.starts_at, edited.ends_at
            items.append(item)
    gone = [item.id for item in event.agenda_items if item not in items]
    if gone:
        db.session.execute(
            sa.update(Prompt).where(Prompt.agenda_item_id.in_(gone)).values(agenda_item_id=None)
        )
    event.agenda_items = items


def publish_event(event):
    if event.status == "cancelled":
        raise DomainError("A cancelled event cannot be published again.", status=409)
    if event.status != "published":
        event.status = "published"
        db.session.commit()
    return event


def unpublish_event(event):
    """Back to a draft, while nobody has registered: after that, people hold a booking."""
    if event.status != "published":
        raise DomainError("Only a published event can go back to being a draft.", status=409)
    if has_registrations(event):
        raise DomainError(
            "People have registered, so it cannot go back to being a draft; cancel it instead.",
            status=409,
        )
    event.status = "draft"
    db.session.commit()
    return event


def has_registrations(event):
    """Anyone at all, even cancelled or erased: their booking and its emails happened."""
    return db.session.scalar(sa.select(sa.exists().where(Registration.event_id == event.id)))


def cancel_event(event, message=None):
    """Cancel for everyone; confirmed and waitlisted people are told, with the hosts' message
    (optional)."""
    message = (message or "").strip()
    if len(message) > MAX_CANCEL_MESSAGE:
        raise DomainError(f"Keep the message to {MAX_CANCEL_MESSAGE} characters or fewer.")
    if event.status != "cancelled":
        event.status = "cancelled"
        event.ical_sequence += 1
        recipients = registrations.confirmed_attendees(event) + registrations.waitlisted_people(
            event
        )
        signals.event_cancelled.send(event, recipients=recipients, message=message or None)
        db.session.commit()
    return event


def duplicate_event(event, organiser, starts_at, title=None):
    """Run it again: a draft copy starting at `starts_at` (wall-clock time in the event's
    zone), the end and agenda moved with it by wall-clock time, so 18:30 stays 18:30 across
    a change of the clocks. The same team hosts it; whoever copies it owns the copy."""
    shift = starts_at - event.local_starts_at.replace(tzinfo=None)

    def moved(moment):
        return moment.astimezone(event.zone).replace(tzinfo=None) + shift

    title = (title or event.title).strip()
    data = EventData(
        title=title,
        slug=free_slug(f"{slugify(title)[:69]}-{starts_at:%Y-%m-%d}"),
        timezone=event.timezone,
        starts_at=starts_at,
        ends_at=moved(event.ends_at),
        description=event.description,
        capacity=event.capacity,
        video_url=event.video_url,
        allow_guests=event.allow_guests,
        retention_days=event.retention_days,
        discreet=event.discreet,
        discreet_name=event.discreet_name,
        room_agreement=event.room_agreement,
        support_contacts=event.support_contacts,
        agenda=[
            AgendaItemData(item.title, item.kind, moved(item.starts_at), moved(item.ends_at))
            for item in event.agenda_items
        ],
    )
    copy = create_event(organiser, data)
    copy.moderation = event.moderation
    copy.remind_day_before = event.remind_day_before
    copy.remind_hour_before = event.remind_hour_before
    for host in event.hosts:
        if host.organiser_id != organiser.id:
            copy.hosts.append(
                EventHost(organiser_id=host.organiser_id, role="cohost", wellbeing=host.wellbeing)
            )
    for host in copy.hosts:
        if host.organiser_id == organiser.id:
            host.wellbeing = event.is_wellbeing_host(organiser)
    db.session.commit()
    prompts.copy_prepared_prompts(event, copy)
    return copy


def free_slug(wanted):
    """`wanted`, or `wanted-2`, `wanted-3`... whichever no event has yet."""
    taken = set(db.session.scalars(sa.select(Event.slug).where(Event.slug.startswith(wanted[:70]))))
    slug, number = wanted, 1
    while slug in taken:
        number += 1
        slug = f"{wanted[:75]}-{number}"
    return slug


def delete_draft(event, upload_dir):
    """Delete a draft and everything that belongs to it (agenda, hosts, prompts, phrases,
    sketch notes and their files...): every table with an `event_id`, dependents first."""
    if event.status != "draft":
        raise DomainError("Only a draft can be deleted; cancel a published event instead.", 409)
    if has_registrations(event) or db.session.scalar(
        sa.select(sa.exists().where(Contribution.event_id == event.id))
    ):
        raise DomainError("People took part in this event, so it cannot be deleted.", 409)
    sketch_files = db.session.scalars(
        sa.select(SketchNote.filename).where(SketchNote.event_id == event.id)
    ).all()
    event.current_prompt_id = None
    db.session.flush()
    for table in reversed(db.metadata.sorted_tables):
        if "event_id" in table.c:
            db.session.execute(sa.delete(table).where(table.c.event_id == event.id))
    db.session.expire(event)  # its hosts and agenda are gone already
    db.session.delete(event)
    db.session.commit()
    for filename in sketch_files:
        (Path(upload_dir) / filename).unlink(missing_ok=True)


def add_cohost(event, email):
    organiser = find_organiser(normalise_email(email))
    if organiser is None:
        raise DomainError(
            f"No organiser has the email {email.strip()}; create their account first.",
            status=404,
        )
    if event.is_hosted_by(organiser):
        raise DomainError(f"{organiser.name} already hosts this event.", status=409)
    event.hosts.append(EventHost(organiser=organiser, role="cohost"))
    db.session.commit()
    return organiser


def remove_cohost(event, organiser_id):
    host = next((h for h in event.hosts if h.organiser_id == organiser_id), None)
    if host is None or host.role == "owner":
        raise DomainError("Only co-hosts can be removed; the owner stays.", status=409)
    event.hosts.remove(host)
    db.session.commit()


# Built once: building the statement and its cache key cost a tenth of a live-room join.
EVENT_BY_SLUG = sa.select(Event).where(Event.slug == sa.bindparam("slug", type_=sa.String))


def get_event(slug, viewer=None):
    """The event at `slug` as `viewer` may see it: drafts only for their hosts."""
    event = db.session.scalar(EVENT_BY_SLUG, {"slug": slug})
    if event is None or not event_visible(event, viewer):
        raise NotFound(NO_EVENT)
    return event


def get_event_for_hosts(slug, organiser):
    """The event at `slug` for its hosts; anyone else gets the same 404 as a missing event, so
    pages with personal data do not even show that they exist."""
    event = get_event(slug, organiser)
    if not event.is_hosted_by(organiser):
        raise NotFound(NO_EVENT)
    return event


def get_hosted_event(slug, organiser):
    event = get_event(slug, organiser)
    if not event.is_hosted_by(organiser):
        raise Forbidden("Only this event's hosts can do that.")
    return event


def upcoming_events(now=None):
    now = now or utcnow()
    return db.session.scalars(
        sa.select(Event)
        .where(Event.status == "published", Event.ends_at >= now)
        .order_by(Event.starts_at)
    ).all()


def events_hosted_by(organiser):
    return db.session.scalars(
        sa.select(Event)
        .join(EventHost)
        .where(EventHost.organiser_id == organiser.id)
        .order_by(Event.starts_at.desc())
    ).all()
