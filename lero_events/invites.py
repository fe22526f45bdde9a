"""Calendar invites (RFC 5545): one event as PUBLISH, REQUEST or CANCEL, the feed, add-to links.

icalendar does the folding, escaping and VTIMEZONE generation; this module decides what goes
in. Times are written in the event's own zone with a VTIMEZONE, so clients show the right
instant wherever the reader is, and a UID that is stored once makes updates replace the old copy.
"""

from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlencode

import icalendar
import sqlalchemy as sa
from flask import current_app, has_request_context, request

from . import discreet
from .extensions import db
from .models import Event, utcnow
from .places import holds_place
from .registrations import private_token

PRODID = "-//LERO Events//Calendar invites 1.0//EN"
METHODS = ("PUBLISH", "REQUEST", "CANCEL")
REMINDER_BEFORE = timedelta(hours=1)
FEED_REFRESH = timedelta(hours=1)
# Subscribers keep recent events in their calendar; older ones drop out of the feed.
FEED_KEEPS_PAST = timedelta(days=90)
PARTSTAT_FOR_REGISTRATION = {"confirmed": "ACCEPTED", "waitlisted": "TENTATIVE"}


def public_url(endpoint, base_url=None, **values):
    """An absolute URL for links that leave the site (invites, emails, calendar links).

    PUBLIC_BASE_URL wins when set (behind a proxy the request's host can be an internal
    name); otherwise the current request's root, otherwise Flask's SERVER_NAME.
    """
    base = base_url or current_app.config.get("PUBLIC_BASE_URL")
    if not base and has_request_context():
        base = request.url_root
    adapter = current_app.url_map.bind(current_app.config.get("SERVER_NAME") or "localhost")
    if not base:
        return adapter.build(endpoint, values, force_external=True)
    return base.rstrip("/") + adapter.build(endpoint, values)


def organizer_address(event, is_discreet=False):
    """ORGANIZER: the app's own monitored mailbox, named after the event's owner.

    Replies and declines from calendar clients go to this address, so it must be a real
    mailbox of the organisation, never an organiser's personal address. A discreet invite
    names the discreet sender instead (the owner's name could say what the event is).
    """
    name, sender = parseaddr(discreet.mail_sender(is_discreet))
    owner = next((host.organiser for host in event.hosts if host.role == "owner"), None)
    address = icalendar.vCalAddress(f"mailto:{sender}")
    if is_discreet:
        address.params["CN"] = icalendar.vText(name or current_app.config["DISCREET_SENDER_NAME"])
    else:
        address.params["CN"] = icalendar.vText(owner.name if owner else "LERO Events")
    return address


def attendee_method(registration):
    """REQUEST while the booking stands; CANCEL once the event or the booking is cancelled."""
    if registration.event.status == "cancelled" or registration.status == "cancelled":
        return "CANCEL"
    return "REQUEST"


def render_invite(event, method, registration=None, base_url=None) -> bytes:
    """One event as an .ics file.

    PUBLISH is the public copy (no attendee, no video link); REQUEST is an attendee's own copy
    (their ATTENDEE line, and the video link once confirmed); CANCEL removes it from their
    calendar. The SEQUENCE is the event's, raised by the domain when time, place or status change.
    """
    if method not in METHODS:
        raise ValueError(f"unknown iTIP method {method!r}")
    if method == "REQUEST" and registration is None:
        raise ValueError("a REQUEST is addressed to an attendee: pass their registration")
    calendar = new_calendar(method)
    calendar.add_component(calendar_event(event, method, registration, base_url))
    add_timezones(calendar, [event])
    return calendar.to_ical()


def render_feed(events, base_url=None, name="LERO Events") -> bytes:
    """A subscription feed (webcal://) of public events, refreshed by clients every hour.

    Discreet events are never in it (feed_events leaves them out): a subscribed shared
    calendar would show them to everyone who reads it.
    """
    calendar = new_calendar("PUBLISH")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-caldesc", "Events from LERO Events: bookings at the event pages.")
    calendar.add("x-wr-timezone", current_app.config["CALENDAR_TIMEZONE"])
    calendar.add("refresh-interval", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(FEED_REFRESH))
    for event in events:
        calendar.add_component(calendar_event(event, "PUBLISH", None, base_url, reminder=False))
    add_timezones(calendar, events)
    return calendar.to_ical()


def feed_events(now=None):
    """Published events for the feed, discreet ones left out: everything ahead, and what ended
    in the last 90 days."""
    since = (now or utcnow()) - FEED_KEEPS_PAST
    return db.session.scalars(
        sa.select(Event)
        .where(Event.status == "published", Event.ends_at >= since, Event.discreet.is_(False))
        .order_by(Event.starts_at)
    ).all()


def new_calendar(method):
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar


def calendar_event(event, method, registration, base_url, reminder=True):
    """One VEVENT. Discreet (the event's or the person's choice): a neutral title, location and
    organiser name, and a description that only points at the private page."""
    cancelled = method == "CANCEL" or event.status == "cancelled"
    is_discreet = discreet.is_discreet(event, registration)
    # The call link is for confirmed attendees only: never in public copies, feeds or links.
    with_video = (
        bool(event.video_url)
        and not cancelled
        and registration is not None
        and holds_place(registration)
    )
    page = public_url("public.event", base_url, slug=event.slug)
    vevent = icalendar.Event()
    vevent.add("uid", event.ical_uid)
    vevent.add("dtstamp", datetime.now(UTC))
    vevent.add("created", event.created_at)
    vevent.add("last-modified", event.updated_at)
    vevent.add("sequence", event.ical_sequence)
    vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    vevent.add("dtstart", written_time(event.starts_at, event))
    vevent.add("dtend", written_time(event.ends_at, event))
    title = discreet.shown_title(event, registration)
    vevent.add("summary", title)
    booking = private_link(registration, base_url) if method == "REQUEST" else None
    if is_discreet:
        vevent.add("description", discreet_description(booking))
        if booking:
            vevent.add("url", booking)
        vevent.add("location", "Online")
    else:
        vevent.add("description", invite_description(event, page, with_video, booking))
        vevent.add("url", page)
        vevent.add("location", event.video_url if with_video else page)
    vevent.add("organizer", organizer_address(event, is_discreet))
    vevent.add("transp", "OPAQUE")
    if registration is not None and method != "PUBLISH":
        vevent.add("attendee", attendee_address(registration))
    if reminder and not cancelled:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Reminder: {title}")
        alarm.add("trigger", -REMINDER_BEFORE)
        vevent.add_component(alarm)
    return vevent


def written_time(moment, event):
    """The moment in the event's zone, or in UTC when that wall-clock time happens twice.

    On the night the clocks go back, 01:30 in Europe/London happens twice. RFC 5545 says a
    local time there means the first occurrence, but parsers differ (ical.js takes the
    second), so such a moment is written in UTC, which every reader takes the same way.
    """
    local = moment.astimezone(event.zone)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return moment.astimezone(UTC)
    return local


def attendee_address(registration):
    address = icalendar.vCalAddress(f"mailto:{registration.email}")
    address.params["CN"] = icalendar.vText(registration.name)
    address.params["CUTYPE"] = "INDIVIDUAL"
    address.params["ROLE"] = "REQ-PARTICIPANT"
    address.params["PARTSTAT"] = PARTSTAT_FOR_REGISTRATION.get(registration.status, "DECLINED")
    address.params["RSVP"] = "FALSE"
    return address


def private_link(registration, base_url):
    """The attendee's private page, so the calendar entry itself says where to cancel."""
    # Imported here: registrations sends mail, and mail renders invites.
    return public_url("registration.private_page", base_url, token=private_token(registration))


def invite_description(event, page, with_video, booking=None):
    """The description, the agenda in the event's zone, and where to find the event."""
    parts = [event.description] if event.description else []
    if event.agenda_items:
        lines = [f"Agenda (times in {event.timezone}):"]
        for item in event.agenda_items:
            start, end = item.starts_at.astimezone(event.zone), item.ends_at.astimezone(event.zone)
            lines.append(f"{start:%H:%M}–{end:%H:%M} {end.tzname()}: {item.title} ({item.kind})")
        parts.append("\n".join(lines))
    if with_video:
        parts.append(f"Video call: {event.video_url}")
    parts.append(f"Event page: {page}")
    if booking:
        parts.append(f"Your booking (to cancel, or if your plans change): {booking}")
    return "\n\n".join(parts)


def discreet_description(booking=None):
    """A discreet invite's description: where the details are, and nothing of them."""
    if booking:
        return f"The details and the call link are on your private page: {booking}"
    return "The details are on your private booking page."


def add_timezones(calendar, events):
    """A VTIMEZONE for every zone used, covering whole years around the events' dates."""
    if not events:
        return
    first = date(min(event.starts_at.year for event in events) - 1, 1, 1)
    last = date(max(event.ends_at.year for event in events) + 2, 1, 1)
    calendar.add_missing_timezones(first, last)


def link_text(event, registration, base_url):
    """Title, details and location for the add-to links: public, so never a private link."""
    if discreet.is_discreet(event, registration):
        return discreet.neutral_title(event), discreet_description(), "Online"
    page = public_url("public.event", base_url, slug=event.slug)
    return event.title, invite_description(event, page, with_video=False), page


def google_calendar_url(event, base_url=None, registration=None):
    """Google Calendar's "add event" template: UTC instants, shown in the event's zone."""
    title, details, location = link_text(event, registration, base_url)
    query = {
        "action": "TEMPLATE",
        "text": title,
        "dates": f"{google_time(event.starts_at)}/{google_time(event.ends_at)}",
        "details": details,
        "location": location,
        "ctz": event.timezone,
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(query)


def outlook_calendar_url(event, base_url=None, registration=None):
    """Outlook.com's compose deep link: ISO 8601 instants in UTC."""
    title, details, location = link_text(event, registration, base_url)
    query = {
        "subject": title,
        "startdt": outlook_time(event.starts_at),
        "enddt": outlook_time(event.ends_at),
        "body": details,
        "location": location,
    }
    return "https://outlook.live.com/calendar/0/action/compose?" + urlencode(query)


def google_time(moment):
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def outlook_time(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
