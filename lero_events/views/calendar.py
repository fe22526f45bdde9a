"""Calendar files: the public event, an attendee's own invite, and the subscription feed."""

from flask import Blueprint, Response, g

from .. import discreet, invites
from ..events import get_event
from ..registrations import registration_for_token

bp = Blueprint("calendar", __name__)


@bp.get("/events/<slug>.ics")
def event_invite(slug):
    # Drafts are 404 here even for their hosts: a calendar file is always a public copy.
    event = get_event(slug)
    return calendar_response(invites.render_invite(event, "PUBLISH"), "PUBLISH", event.slug)


@bp.get("/r/<token>/invite.ics")
def attendee_invite(token):
    g.private_page = True
    registration = registration_for_token(token)
    method = invites.attendee_method(registration)
    body = invites.render_invite(registration.event, method, registration)
    return calendar_response(body, method, registration.event.slug)


@bp.get("/calendar.ics")
def feed():
    return calendar_response(invites.render_feed(invites.feed_events()), "PUBLISH", "lero-events")


def calendar_response(body, method, filename):
    return Response(
        body,
        content_type=f"text/calendar; charset=utf-8; method={method}",
        headers={"Content-Disposition": f'attachment; filename="{filename}.ics"'},
    )


# Globals rather than a context processor, so the macros in templates/_calendar_links.html see
# them even when imported without context.
bp.add_app_template_global(invites.google_calendar_url, "google_calendar_url")
bp.add_app_template_global(invites.outlook_calendar_url, "outlook_calendar_url")
bp.add_app_template_global(invites.public_url, "public_url")
bp.add_app_template_global(discreet.is_discreet, "is_discreet")
bp.add_app_template_global(discreet.neutral_title, "neutral_title")
bp.add_app_template_global(discreet.shown_title, "shown_title")
