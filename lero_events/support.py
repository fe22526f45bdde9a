"""Support during the session: a quiet "I need support" that only wellbeing hosts hear.

A participant or guest asks from the live room; the event's wellbeing hosts (hosts its owner
marks as such) get the person's name and the contact they booked with, on a chain of their
own (docs/live-protocol.md section 13); a wellbeing host marks it handled. Nothing here ever
reaches the rest of the room, the harvest or an export: only `support_request_count` leaves
this module, as a number.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from .broadcast import room_change
from .errors import DomainError, Forbidden, NotFound
from .extensions import db
from .models import Event, EventHost, PersonalDataAccess, SupportRequest, utcnow
from .naming import registration_name, shown_name
from .personal_data import record_access
from .security import whole_number

MAX_CONTACTS = 1000
NO_WELLBEING_HOST = (
    "This event has no wellbeing host in the live room; please use the contacts below."
)
ASKED_TOO_OFTEN = (
    "You have asked several times in a few minutes: the wellbeing hosts have your request. "
    "If you need help now, please use the contacts below."
)
CONTACTS_SHOWN = "Live-room support requests: the name and contact of {count} (wellbeing hosts)"


def wellbeing_host_ids(event):
    return db.session.scalars(
        sa.select(EventHost.organiser_id)
        .where(EventHost.event_id == event.id, EventHost.wellbeing)
        .order_by(EventHost.organiser_id)
    ).all()


def is_wellbeing_host(event, organiser):
    """Read from the database each time: the owner can take the flag away mid-session."""
    if organiser is None:
        return False
    return (
        db.session.scalar(
            sa.select(EventHost.wellbeing).where(
                EventHost.event_id == event.id, EventHost.organiser_id == organiser.id
            )
        )
        is True
    )


def set_wellbeing_host(event, owner, organiser_id, wellbeing):
    """Mark a host as a wellbeing host, or not. Only the owner decides who may see people's
    requests for support."""
    if not any(h.organiser_id == owner.id and h.role == "owner" for h in event.hosts):
        raise Forbidden("Only the event's owner can choose its wellbeing hosts.")
    host = next((h for h in event.hosts if h.organiser_id == organiser_id), None)
    if host is None:
        raise NotFound("That person does not host this event.")
    host.wellbeing = bool(wellbeing)
    db.session.commit()
    return host


def normalise_contacts(text):
    """The support contacts an organiser wrote for the event: plain text, lines kept."""
    return "\n".join(line.rstrip() for line in (text or "").strip().splitlines())


def person_name(request):
    """Their live-room name, as everyone else in the room knows them."""
    if request.registration is not None:
        return registration_name(request.registration)
    return shown_name(request.guest_name)


def contact_of(request):
    """The name and email the person booked with; none for guests, once erased or once the
    retention period removed them."""
    registration = request.registration
    if registration is None or registration.erased_at or registration.purged_at:
        return None
    return {"name": registration.name, "email": registration.email}


def request_view(request):
    """A request as the wellbeing hosts see it."""
    return {
        "id": request.id,
        "status": request.status,
        "name": person_name(request),
        "guest": request.registration_id is None,
        "contact": contact_of(request),
        "created_at": request.created_at.isoformat(),
        "handled_at": request.handled_at.isoformat() if request.handled_at else None,
        "handled_by": request.handled_by.name if request.handled_by else None,
    }


def mine_view(request):
    """A request as the person who made it sees it."""
    return {
        "id": request.id,
        "status": request.status,
        "created_at": request.created_at.isoformat(),
        "handled_at": request.handled_at.isoformat() if request.handled_at else None,
    }


def latest_request(event, author_key):
    return db.session.scalar(
        sa.select(SupportRequest)
        .where(SupportRequest.event_id == event.id, SupportRequest.author_key == author_key)
        .order_by(SupportRequest.id.desc())
        .limit(1)
    )


def check_rate_limit(event, author):
    """New requests per person, counted in the database as contributions are."""
    count = int(current_app.config["LIVE_SUPPORT_LIMIT_COUNT"])
    seconds = int(current_app.config["LIVE_SUPPORT_LIMIT_SECONDS"])
    recent = db.session.scalar(
        sa.select(sa.func.count(SupportRequest.id)).where(
            SupportRequest.event_id == event.id,
            SupportRequest.author_key == author.key,
            SupportRequest.created_at > utcnow() - timedelta(seconds=seconds),
        )
    )
    if recent >= count:
        raise DomainError(ASKED_TOO_OFTEN, status=429)


def request_support(event, author):
    """Tell the wellbeing hosts that `author` would like support; returns (request, created).

    While their last request is open, asking again returns it and alerts nobody twice.
    """
    with room_change(event) as change:
        latest = latest_request(event, author.key)
        if latest is not None and latest.status == "open":
            return latest, False
        hosts = wellbeing_host_ids(event)
        if not hosts:
            raise DomainError(NO_WELLBEING_HOST, status=409)
        check_rate_limit(event, author)
        request = SupportRequest(
            event_id=event.id,
            author_key=author.key,
            registration_id=author.registration_id,
            guest_name=author.guest_name,
        )
        db.session.add(request)
        db.session.flush()
        request.seq = change.record_wellbeing("support", {"request": request_view(request)}, hosts)
        if request.registration_id is not None:
            for organiser_id in hosts:
                db.session.add(
                    PersonalDataAccess(
                        event_id=event.id,
                        organiser_id=organiser_id,
                        what=CONTACTS_SHOWN.format(count="1 person"),
                    )
                )
    return request, True


def mark_handled(event, host, request_id):
    """A wellbeing host has looked after it; marking it again changes nothing."""
    if not is_wellbeing_host(event, host):
        raise Forbidden("Only this event's wellbeing hosts can do that.")
    if not whole_number(request_id):
        raise DomainError("request_id must be a number.")
    with room_change(event) as change:
        request = db.session.get(SupportRequest, request_id)
        if request is None or request.event_id != event.id:
            raise NotFound("That support request is not in this room.")
        if request.status != "handled":
            request.status = "handled"
            request.handled_at = utcnow()
            request.handled_by_id = host.id
            db.session.flush()
            request.seq = change.record_wellbeing(
                "support", {"request": request_view(request)}, wellbeing_host_ids(event)
            )
    return request


def state_for_person(event, author_key, available=None, ask=True):
    """What `state` tells a participant or guest about support; `available` when the caller
    knows already whether the room has a wellbeing host, `ask=False` when it knows they have
    made no request."""
    latest = latest_request(event, author_key) if ask else None
    if available is None:
        available = bool(wellbeing_host_ids(event))
    return {
        "available": available,
        "contacts": event.support_contacts,
        "request": mine_view(latest) if latest is not None else None,
    }


def state_for_host(event, host, support_seq=0):
    """What `state` tells a host: for wellbeing hosts, the wellbeing chain's head and every
    request changed since their cursor, as it is now (docs/live-protocol.md section 13)."""
    if not is_wellbeing_host(event, host):
        return {"wellbeing": False}
    head = db.session.scalar(sa.select(Event.support_seq).where(Event.id == event.id)) or 0
    changed = db.session.scalars(
        sa.select(SupportRequest)
        .where(
            SupportRequest.event_id == event.id,
            SupportRequest.seq > support_seq,
            SupportRequest.seq <= head,
        )
        .options(selectinload(SupportRequest.registration), selectinload(SupportRequest.handled_by))
        .order_by(SupportRequest.seq)
    ).all()
    contacts = sum(1 for r in changed if r.status == "open" and contact_of(r) is not None)
    if contacts:
        people = "1 person" if contacts == 1 else f"{contacts} people"
        record_access(event, host, CONTACTS_SHOWN.format(count=people))
    updates = [
        {
            "seq": r.seq,
            "chain": "wellbeing",
            "kind": "support",
            "data": {"request": request_view(r)},
        }
        for r in changed
    ]
    return {"wellbeing": True, "support_seq": head, "support_updates": updates}


def requests_of(registration):
    return db.session.scalars(
        sa.select(SupportRequest)
        .where(SupportRequest.registration_id == registration.id)
        .order_by(SupportRequest.id)
    ).all()


def forget_requests_of(registration):
    """Erasure: the wellbeing hosts' screens lose the person's name and contact at once. The
    rows stay, pointing at the anonymous registration, so the evidence's count stays right."""
    requests = requests_of(registration)
    if not requests:
        return
    event = registration.event
    with room_change(event) as change:
        hosts = wellbeing_host_ids(event)
        for request in requests:
            request.seq = change.record_wellbeing(
                "support", {"request": request_view(request)}, hosts
            )


def support_request_count(event):
    """How many times people asked for support: the only thing the evidence may show."""
    return db.session.scalar(
        sa.select(sa.func.count(SupportRequest.id)).where(SupportRequest.event_id == event.id)
    )
