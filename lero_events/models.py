"""Database models. Times are stored in UTC; an event carries its IANA zone for display."""

import secrets
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow():
    return datetime.now(UTC)


def new_session_key():
    return secrets.token_urlsafe(24)


class UTCDateTime(sa.TypeDecorator):
    """An aware datetime stored as naive UTC, so SQLite and PostgreSQL behave the same."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


class Organiser(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    # Part of every session's user id (get_id); a new one ends every session made before it.
    session_key: Mapped[str] = mapped_column(sa.String(64), default=new_session_key)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    hosting: Mapped[list["EventHost"]] = relationship(back_populates="organiser")

    def get_id(self):
        """What Flask-Login keeps in the session cookie: the id and the current session key."""
        return f"{self.id}.{self.session_key}"


class EventHost(db.Model):
    """An organiser's part in one event: the owner who created it, or a co-host."""

    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), primary_key=True)
    organiser_id: Mapped[int] = mapped_column(sa.ForeignKey("organiser.id"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(16), default="cohost")
    # Sees the live room's support requests (names and contacts); set by the event's owner.
    wellbeing: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    event: Mapped["Event"] = relationship(back_populates="hosts")
    organiser: Mapped[Organiser] = relationship(back_populates="hosting")


class Event(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    timezone: Mapped[str] = mapped_column(sa.String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int | None]
    video_url: Mapped[str] = mapped_column(sa.String(500), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="draft")
    # A calendar UID is made once and stored: regenerating it duplicates invites.
    ical_uid: Mapped[str] = mapped_column(sa.String(255), unique=True)
    ical_sequence: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # The live room.
    allow_guests: Mapped[bool] = mapped_column(default=False)
    moderation: Mapped[str] = mapped_column(sa.String(8), default="pre")
    contributions_open: Mapped[bool] = mapped_column(default=True)
    current_prompt_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("prompt.id", use_alter=True, name="fk_event_current_prompt")
    )
    # The last sequence number handed out for this event's room updates.
    live_seq: Mapped[int] = mapped_column(default=0)
    # Support during the session: what the person asking is shown, and the last number on
    # the wellbeing hosts' own chain (numbered apart from live_seq, so the room's sequence
    # shows no trace of a request).
    support_contacts: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    support_seq: Mapped[int] = mapped_column(default=0, server_default="0")

    # The harvest page.
    harvest_published: Mapped[bool] = mapped_column(default=False)
    harvest_secret: Mapped[str | None] = mapped_column(sa.String(64))
    # What hosts write for the harvest: an introduction, and a poem someone wrote from the
    # session (their own words and line breaks, credited), beside or instead of the found poem.
    harvest_introduction: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    written_poem_title: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    written_poem: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    written_poem_credit: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    # "beside" the found poem, or "instead" of it (harvest/editorial.py).
    written_poem_placement: Mapped[str] = mapped_column(
        sa.String(16), default="beside", server_default="beside"
    )
    # The presenter link for whoever shares the screen (lero_events/presenting.py).
    presenter_secret: Mapped[str | None] = mapped_column(sa.String(64))
    # Made by `flask demo`: every page showing it says so, and `demo --reset` removes it.
    is_demo: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    # Reminder emails to confirmed attendees, a day and an hour before the start.
    remind_day_before: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    remind_hour_before: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Days after the end until attendees' personal data is removed (retention.py); None means
    # the site's RETENTION_DAYS.
    retention_days: Mapped[int | None]

    # Discreet invites for everyone booked: calendars and emails show only `discreet_name`
    # (or "Online meeting"); the details stay behind each person's private link.
    discreet: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    discreet_name: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    # What everyone in the live room agrees to before taking part; empty: nothing to accept.
    room_agreement: Mapped[str] = mapped_column(sa.Text, default="", server_default="")

    hosts: Mapped[list[EventHost]] = relationship(
        back_populates="event", cascade="all, delete-orphan"
    )
    agenda_items: Mapped[list["AgendaItem"]] = relationship(
        back_populates="event",
        cascade="all, delete-orphan",
        order_by="(AgendaItem.starts_at, AgendaItem.id)",
    )

    @property
    def zone(self):
        return ZoneInfo(self.timezone)

    @property
    def local_starts_at(self):
        return self.starts_at.astimezone(self.zone)

    @property
    def local_ends_at(self):
        return self.ends_at.astimezone(self.zone)

    def is_hosted_by(self, organiser):
        return organiser is not None and any(
            host.organiser_id == getattr(organiser, "id", None) for host in self.hosts
        )

    def is_wellbeing_host(self, organiser):
        return organiser is not None and any(
            host.organiser_id == getattr(organiser, "id", None) and host.wellbeing
            for host in self.hosts
        )


class AgendaItem(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20), default="session")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(back_populates="agenda_items")


class Registration(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), index=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    organisation: Mapped[str] = mapped_column(sa.String(200), default="")
    display_name: Mapped[str] = mapped_column(sa.String(80), default="")
    access_needs: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16))
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_version: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When we first knew they were there: their first live-room join, or a host's mark.
    attended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The host who marked them by hand (they came on the video call only); None when the
    # live room recorded it.
    attendance_marked_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organiser.id", name="fk_registration_attendance_marked_by")
    )
    # When the retention period removed the personal data (retention.py); the row stays.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Ticked when booking: this person's invites and emails are discreet (see Event.discreet).
    discreet: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    event: Mapped[Event] = relationship()
    attendance_marked_by: Mapped[Organiser | None] = relationship()


class Prompt(db.Model):
    """A question put to the live room: typed live by a host, or prepared before the event."""

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), index=True)
    text: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Prepared questions wait, in the hosts' order, until a host asks them.
    prepared: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    position: Mapped[int | None]
    agenda_item_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("agenda_item.id", name="fk_prompt_agenda_item", ondelete="SET NULL")
    )
    # When it was first put to the room; the harvest lists questions in that order.
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agenda_item: Mapped[AgendaItem | None] = relationship()


class Contribution(db.Model):
    __table_args__ = (
        sa.UniqueConstraint("event_id", "client_id"),
        # Each new contribution counts its author's recent ones with the room's row locked
        # (contributions.RECENT_COUNT): without it, a scan of the whole room's.
        sa.Index("ix_contribution_author_recent", "event_id", "author_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), index=True)
    prompt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("prompt.id"))
    registration_id: Mapped[int | None] = mapped_column(sa.ForeignKey("registration.id"))
    guest_name: Mapped[str | None] = mapped_column(sa.String(80))
    # Identifies the author across reconnects: a registration or a guest's session.
    author_key: Mapped[str] = mapped_column(sa.String(64))
    client_id: Mapped[str] = mapped_column(sa.String(36))
    text: Mapped[str] = mapped_column(sa.Text)
    anonymous: Mapped[bool] = mapped_column(default=False)
    # The author's choice for the published harvest (consent.py): "named", "anonymous" or
    # "room" (only in the room during the session).
    sharing: Mapped[str] = mapped_column(
        sa.String(12), default="anonymous", server_default="anonymous"
    )
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    featured: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its author took it down from their private page (status "taken_down").
    taken_down_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why a host held it back, as its author is told (empty: no reason given).
    held_back_reason: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    # What hosts removed from the text, comma-separated labels ("name,place"); the removed
    # words themselves are not kept anywhere.
    redacted: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")

    registration: Mapped[Registration | None] = relationship()
    prompt: Mapped[Prompt | None] = relationship()


class Resonance(db.Model):
    contribution_id: Mapped[int] = mapped_column(sa.ForeignKey("contribution.id"), primary_key=True)
    participant_key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)


class RoomAgreementAcceptance(db.Model):
    """A participant or guest (by their author key) accepted the event's room agreement."""

    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), primary_key=True)
    person_key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Phrase(db.Model):
    """A phrase a host heard a speaker say, captured straight into the harvest."""

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), index=True)
    text: Mapped[str] = mapped_column(sa.String(500))
    attribution: Mapped[str] = mapped_column(sa.String(120), default="")
    withdrawn: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoomUpdate(db.Model):
    """Every update broadcast to a live room, kept so a reconnecting client can catch up."""

    # Finds the head of an audience chain (the previous update each new one names).
    __table_args__ = (
        sa.Index("ix_room_update_chain", "event_id", "audience", "author_key", "seq"),
    )

    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(sa.String(32))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    # "all", or "hosts": then only hosts and the author named by author_key may see it.
    audience: Mapped[str] = mapped_column(sa.String(8), default="all")
    author_key: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SupportRequest(db.Model):
    """A quiet "I need support" from the live room, seen only by the event's wellbeing hosts.

    `seq` is the number of its latest change on the wellbeing chain (Event.support_seq): a
    reconnecting wellbeing host gets every request whose seq is past its cursor, as it is now.
    """

    # Finds what changed after a wellbeing host's cursor (and serves lookups by event).
    __table_args__ = (sa.Index("ix_support_request_chain", "event_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"))
    author_key: Mapped[str] = mapped_column(sa.String(64))
    registration_id: Mapped[int | None] = mapped_column(sa.ForeignKey("registration.id"))
    guest_name: Mapped[str | None] = mapped_column(sa.String(80))
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    seq: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organiser.id", name="fk_support_request_handled_by")
    )

    registration: Mapped[Registration | None] = relationship()
    handled_by: Mapped[Organiser | None] = relationship()


class LiveConnection(db.Model):
    """One open Socket.IO connection to a live room, shared by every worker to count presence."""

    sid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), index=True)
    # host:port of the worker holding it, so a restarted worker can drop what it left behind.
    worker: Mapped[str] = mapped_column(sa.String(120), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    # The person (registration, guest key or organiser) and the client address (a keyed hash,
    # room_limits.address_key), each capped in open connections over every worker.
    person_key: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    address_key: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    name: Mapped[str] = mapped_column(sa.String(80), default="")
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Refreshed by the worker's heartbeat; rows of a worker that stopped beating are dropped.
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PoemLine(db.Model):
    """One line of the found poem, cut from a contribution or phrase that stays untouched."""

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), index=True)
    stanza: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(sa.String(500))
    contribution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contribution.id"))
    phrase_id: Mapped[int | None] = mapped_column(sa.ForeignKey("phrase.id"))


class SketchNote(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(100))
    alt_text: Mapped[str] = mapped_column(sa.String(500))
    width: Mapped[int]
    height: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonalDataAccess(db.Model):
    """One look at attendees' personal data, or one change to it: who, when and what, shown to
    the hosts. No organiser: the person themselves (from their private link) or the retention
    purge."""

    __tablename__ = "personal_data_access"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), index=True)
    organiser_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organiser.id"))
    accessed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    what: Mapped[str] = mapped_column(sa.String(300))

    organiser: Mapped[Organiser | None] = relationship()


class CohostInvitation(db.Model):
    """An invitation to co-host an event, sent to an address with no account yet.

    The emailed link signs this row's id; accepting it stamps accepted_at, so it works once.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("organiser.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    invited_by: Mapped[Organiser] = relationship()


class OutgoingEmail(db.Model):
    """One email on its way out: written in the transaction that causes it, sent by the worker.

    The text is rendered when it is queued; a calendar invite (`invite_method`) is rendered when
    it is sent, from the registration as it is then. `status`: queued, sending, sent, filed (no
    MAIL_SERVER: written to OUTBOX_DIR), failed (gave up, `last_error` says why) or dropped (its
    person was erased before it went).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    # REQUEST or CANCEL: the registration's invite goes with it, as text/calendar.
    invite_method: Mapped[str | None] = mapped_column(sa.String(8))
    # Sent under the neutral sender name (lero_events.discreet), its invite neutral too.
    discreet: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("event.id"), index=True)
    registration_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("registration.id"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("event_message.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # While one worker sends it, others leave it alone; a crashed worker's claim runs out.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    file_path: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    registration: Mapped[Registration | None] = relationship()
    event: Mapped[Event | None] = relationship()


class EventMessage(db.Model):
    """A message hosts wrote to an event's registrants; one OutgoingEmail per recipient."""

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organiser.id"))
    audience: Mapped[str] = mapped_column(sa.String(16))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[Organiser | None] = relationship()
    emails: Mapped[list[OutgoingEmail]] = relationship(order_by="OutgoingEmail.id")


class ReminderRun(db.Model):
    """A reminder that went out, one row per event, kind and start time: the unique key is what
    makes it go out once, whatever restarts or several workers do. A moved start is a new key."""

    __table_args__ = (sa.UniqueConstraint("event_id", "kind", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("event.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
