"""Who is told what: the domain's signals turned into emails in the outbox.

Each receiver runs inside the transaction of the change (signals.py), renders the email now
and queues it (outbox.py), so the email exists exactly when the change does. Links point at the
site's public address, never at the Host header of the request that caused them. A discreet
booking (discreet.py) gets a neutral subject, sender and title, and no link to the event page.
"""

from flask import current_app

from . import discreet, messages, outbox, signals
from .invites import public_url
from .models import EventMessage, Registration
from .privacy import owner_of
from .registrations import private_token

SUBJECTS = {
    "confirmed": "You are booked: {title}",
    "waitlisted": "You are on the waitlist: {title}",
    "promoted": "A place is yours: {title}",
    "link_again": "Your private link: {title}",
    "booking_cancelled": "Your place is cancelled: {title}",
    "changed": "Changed: {title}",
    "cancelled": "Cancelled: {title}",
    "reminder_day": "Tomorrow: {title}",
    "reminder_hour": "Starting in an hour: {title}",
    "message": "A message about: {title}",
}


def render_attendee_email(registration, kind, message=None, **extra):
    """The text of templates/registration/email/<kind>.txt for one person.

    Rendered by Jinja itself, not flask.render_template: an email is the same whichever
    request or task renders it, so it takes nothing from the request's template context, and
    skipping that saves a tenth of the rendering (two emails for every booking on PostgreSQL)."""
    event = registration.event
    base = outbox.site_url()
    owner = owner_of(event)
    template = current_app.jinja_env.get_template(f"registration/email/{kind}.txt")
    return template.render(
        registration=registration,
        event=event,
        message=message,
        discreet=discreet.is_discreet(event, registration),
        title=discreet.shown_title(event, registration),
        link=public_url("registration.private_page", base, token=private_token(registration)),
        event_link=public_url("public.event", base, slug=event.slug),
        owner=owner,
        privacy_link=(
            public_url("privacy.notice", base, organiser_id=owner.id)
            if owner
            else public_url("privacy.index", base)
        ),
        **extra,
    )


def subject_for(registration, kind, message=None):
    """The subject line; a discreet one names only the neutral title, even for hosts' messages
    (their own subject goes inside the email instead)."""
    title = discreet.shown_title(registration.event, registration)
    if message is not None and not discreet.is_discreet(registration.event, registration):
        return message.subject
    return SUBJECTS[kind].format(title=title)


def attendee_email(registration, kind, invite_method=None, message=None, **extra):
    """One person's email as an outbox row (outbox.email_row), or None once they are erased."""
    if not registration.email:  # erased: there is no one to tell
        return None
    event = registration.event
    return outbox.email_row(
        registration.email,
        subject_for(registration, kind, message),
        render_attendee_email(registration, kind, message=message, **extra),
        kind=kind,
        event=event,
        registration=registration,
        message=message,
        invite_method=invite_method,
        discreet=discreet.is_discreet(event, registration),
    )


def tell_attendees(emails):
    """Queue the rows attendee_email made (None for the erased), in one INSERT."""
    outbox.queue_emails([email for email in emails if email is not None])


def tell_attendee(registration, kind, invite_method=None, message=None, **extra):
    """Render one person's email and queue it."""
    tell_attendees([attendee_email(registration, kind, invite_method, message, **extra)])


def preview_message(event, audience, subject, body):
    """What the first recipient of a host's message would get, and how many would get it.

    Nothing is saved; with nobody in the group yet, an example person stands in.
    """
    people = messages.recipients(event, audience)
    person = people[0] if people else Registration(id=0, token="xxxxxxxx", name="Alex Example")  # noqa: S106 (an example, not a secret)
    person.event = event
    draft = EventMessage(event_id=event.id, audience=audience, subject=subject, body=body)
    return {
        "count": len(people),
        "to": person.name,
        "subject": subject_for(person, "message", draft),
        "body": render_attendee_email(person, "message", message=draft),
    }


@signals.registered.connect
def on_registered(registration, already_registered=False):
    if already_registered:
        method = "REQUEST" if registration.status == "confirmed" else None
        tell_attendee(registration, "link_again", method)
    elif registration.status == "confirmed":
        tell_attendee(registration, "confirmed", "REQUEST")
    else:
        tell_attendee(registration, "waitlisted")


@signals.promoted.connect
def on_promoted(registration):
    tell_attendee(registration, "promoted", "REQUEST")


@signals.registration_cancelled.connect
def on_registration_cancelled(registration, reason=None):
    tell_attendee(registration, "booking_cancelled", "CANCEL", reason=reason)


@signals.registration_erased.connect
def on_registration_erased(registration):
    outbox.forget_registration(registration)


@signals.event_changed.connect
def on_event_changed(event, recipients):
    tell_attendees(attendee_email(person, "changed", "REQUEST") for person in recipients)


@signals.event_cancelled.connect
def on_event_cancelled(event, recipients, message=None):
    """Confirmed attendees get METHOD:CANCEL, so calendars remove it; the waitlist is told too."""
    tell_attendees(
        attendee_email(
            person,
            "cancelled",
            "CANCEL" if person.status == "confirmed" else None,
            note=message,
        )
        for person in recipients
    )


@signals.reminder_due.connect
def on_reminder_due(event, kind, recipients):
    tell_attendees(attendee_email(person, f"reminder_{kind}") for person in recipients)


@signals.message_composed.connect
def on_message_composed(message, recipients):
    tell_attendees(attendee_email(person, "message", message=message) for person in recipients)
