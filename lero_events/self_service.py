"""What a person does about their own data from their private link, without asking anyone.

They download everything held about them (and nothing of anyone else), correct their live-room
name and access needs without cancelling, take down one of their reflections, and choose, when
erasing, whether their reflections go too or stay anonymously. Each is written in the
personal-data log hosts read (personal_data.py), as done by the person themselves.
"""

import sqlalchemy as sa

from . import consent, personal_data, presence, registrations, support
from .broadcast import OWN, room_change
from .contributions import (
    contribution_view,
    record_contribution,
    redacted_labels,
    registration_author_key,
    room_contribution,
)
from .errors import DomainError, NotFound
from .extensions import db
from .models import (
    Contribution,
    LiveConnection,
    OutgoingEmail,
    PoemLine,
    Prompt,
    Resonance,
    utcnow,
)
from .registrations import FIELD_LIMITS

ERASE_CHOICES = ("keep", "delete")


def reflections_of(registration):
    """The person's reflections, oldest first, taken-down ones included."""
    return db.session.scalars(
        sa.select(Contribution)
        .where(Contribution.registration_id == registration.id)
        .order_by(Contribution.created_at, Contribution.id)
    ).all()


def iso(moment):
    return moment.isoformat() if moment else None


def personal_data_export(registration):
    """Everything held about the person behind `registration`, as plain data.

    Only their own rows: the booking, the consent they gave, the emails sent to them, their
    reflections (with a host's reason for holding one back, and what hosts removed), what they
    marked as resonating (by id: the words are someone else's), their requests for support
    and their open live-room connections. Downloading it is written in the personal-data log.
    """
    event = registration.event
    prompts = dict(
        db.session.execute(
            sa.select(Prompt.id, Prompt.text).where(Prompt.event_id == event.id)
        ).all()
    )
    emails = db.session.scalars(
        sa.select(OutgoingEmail)
        .where(OutgoingEmail.registration_id == registration.id)
        .order_by(OutgoingEmail.created_at, OutgoingEmail.id)
    ).all()
    resonated = db.session.scalars(
        sa.select(Resonance.contribution_id)
        .join(Contribution, Contribution.id == Resonance.contribution_id)
        .where(
            Contribution.event_id == event.id,
            Resonance.participant_key == registration_author_key(registration),
        )
        .order_by(Resonance.contribution_id)
    ).all()
    data = {
        "exported_at": utcnow().isoformat(),
        "event": {
            "title": event.title,
            "slug": event.slug,
            "starts_at": iso(event.starts_at),
            "ends_at": iso(event.ends_at),
            "timezone": event.timezone,
        },
        "booking": {
            "name": registration.name,
            "email": registration.email,
            "organisation": registration.organisation,
            "display_name": registration.display_name,
            "access_needs": registration.access_needs,
            "status": registration.status,
            "booked_at": iso(registration.created_at),
            "cancelled_at": iso(registration.cancelled_at),
            "attended_at": iso(registration.attended_at),
            "attendance_marked_by_a_host": registration.attendance_marked_by_id is not None,
        },
        "consent": {
            "privacy_notice_version": registration.consent_version,
            "agreed_at": iso(registration.consent_at),
        },
        "emails": [
            {
                "kind": email.kind,
                "to": email.to_address,
                "subject": email.subject,
                "status": email.status,
                "queued_at": iso(email.created_at),
                "sent_at": iso(email.sent_at),
                # Sent emails keep no text (outbox.deliver); queued ones still have it.
                "text": email.body,
            }
            for email in emails
        ],
        "reflections": [
            {
                "id": contribution.id,
                "text": contribution.text,
                "question": prompts.get(contribution.prompt_id, ""),
                "status": contribution.status,
                "anonymous_in_the_room": contribution.anonymous,
                "in_the_harvest": consent.SHARING[contribution.sharing],
                "posted_at": iso(contribution.created_at),
                "taken_down_at": iso(contribution.taken_down_at),
                "held_back_reason": contribution.held_back_reason,
                # What kind of words hosts removed; the words themselves are kept nowhere.
                "removed_by_a_host": redacted_labels(contribution),
            }
            for contribution in reflections_of(registration)
        ],
        "resonated_with": [{"reflection_id": number} for number in resonated],
        "support_requests": [
            {
                "status": request.status,
                "asked_at": iso(request.created_at),
                "handled_at": iso(request.handled_at),
            }
            for request in support.requests_of(registration)
        ],
        "live_room_connections_open_now": [
            {"name_shown": connection.name, "connected_at": iso(connection.connected_at)}
            for connection in db.session.scalars(
                sa.select(LiveConnection)
                .where(
                    LiveConnection.event_id == event.id,
                    LiveConnection.person_key == registration_author_key(registration),
                )
                .order_by(LiveConnection.connected_at)
            )
        ],
    }
    personal_data.record_access(
        event, None, "The attendee downloaded their own data from their private link"
    )
    return data


def correct_details(registration, display_name, access_needs):
    """Change the live-room name and access needs, keeping the place as it is."""
    values = {"display_name": display_name, "access_needs": access_needs}
    errors = {}
    for name, value in values.items():
        if not isinstance(value, str):
            value = ""
        values[name] = value.strip()
        if len(values[name]) > FIELD_LIMITS[name]:
            errors[name] = f"Keep this to {FIELD_LIMITS[name]} characters or fewer."
    if errors:
        raise registrations.RegistrationInvalid(errors)
    changed = [
        label
        for name, label in (("display_name", "live-room name"), ("access_needs", "access needs"))
        if getattr(registration, name) != values[name]
    ]
    if not changed:
        return []
    registration.display_name = values["display_name"]
    registration.access_needs = values["access_needs"]
    db.session.commit()
    personal_data.record_access(
        registration.event,
        None,
        f"The attendee corrected their {' and '.join(changed)} from their private link",
    )
    return changed


def own_reflection(registration, contribution_id):
    contribution = db.session.get(Contribution, contribution_id)
    if contribution is None or contribution.registration_id != registration.id:
        raise NotFound("That reflection is not one of yours.")
    return contribution


def change_sharing(registration, contribution_id, sharing):
    """The author changes where one reflection may appear; the room hears it at once, so
    the harvest page following it (and the room after the session) shows the new choice."""
    contribution = own_reflection(registration, contribution_id)
    sharing = consent.clean_sharing(sharing)
    if contribution.status == "taken_down":
        raise DomainError("That reflection is taken down, so it appears nowhere.", status=409)
    if contribution.sharing == sharing:
        return contribution
    with room_change(registration.event) as change:
        contribution.sharing = sharing
        db.session.flush()
        record_contribution(change, contribution)
    personal_data.record_access(
        registration.event,
        None,
        f"The attendee changed where a reflection may appear: {consent.SHARING[sharing]}",
    )
    return contribution


def take_down(registration, contribution_id):
    """The author removes one of their reflections: out of the harvest, its exports and the
    live room at once, its text deleted. Taking it down twice changes nothing."""
    contribution = own_reflection(registration, contribution_id)
    return taken_down(registration.event, contribution, "from their private link")


def take_down_in_room(event, author, contribution_id):
    """`take_down` from the live room's page, by who the room knows the author as: guests
    have no private link, and a registration's page never carries its token."""
    contribution = room_contribution(event, contribution_id, author)
    return taken_down(event, contribution, "in the live room")


def taken_down(event, contribution, where):
    if contribution.status == "taken_down":
        return contribution
    with room_change(event) as change:
        db.session.refresh(contribution)
        if contribution.status == "taken_down":
            return contribution
        remove_reflection(change, contribution)
    personal_data.record_access(event, None, f"The attendee took down a reflection {where}")
    return contribution


def remove_reflection(change, contribution):
    """Take one reflection down inside a room change, and tell whoever could see it."""
    was_public = contribution.status in ("approved", "withdrawn")
    contribution.status = "taken_down"
    contribution.text = ""
    contribution.featured = False
    # A host's reason and what hosts removed were about the text, which is gone.
    contribution.held_back_reason = ""
    contribution.redacted = ""
    contribution.taken_down_at = utcnow()
    db.session.execute(sa.delete(PoemLine).where(PoemLine.contribution_id == contribution.id))
    db.session.flush()
    data = {"contribution": contribution_view(contribution, with_text=False)}
    stored = {"contribution": {"id": contribution.id}}
    if was_public:
        change.record("contribution", data, stored=stored)
    else:
        change.record(
            "contribution", data, audience=OWN, author_key=contribution.author_key, stored=stored
        )
    # The waiting and held-back counts everyone sees may have changed.
    presence.changed(contribution.event_id)


def erase_person(registration, reflections="keep"):
    """Erase the booking; `reflections` says whether they stay, anonymously, or go too."""
    if reflections not in ERASE_CHOICES:
        raise DomainError("Choose whether to keep your reflections anonymously or delete them.")
    event = registration.event
    if reflections == "delete":
        mine = [c for c in reflections_of(registration) if c.status != "taken_down"]
        if mine:
            with room_change(event) as change:
                for contribution in mine:
                    remove_reflection(change, contribution)
    promoted = registrations.erase_registration(registration)
    what = "deleted their reflections" if reflections == "delete" else "kept them anonymously"
    personal_data.record_access(
        event, None, f"The attendee erased their data from their private link and {what}"
    )
    return promoted
