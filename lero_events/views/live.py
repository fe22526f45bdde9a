"""The live room's pages: participants (private link or guest) and hosts.

The pages only say who the browser is; everything live happens over Socket.IO (namespace
`/live`, see docs/live-protocol.md) in static/js/live.js and static/js/host.js.
"""

import secrets

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..errors import DomainError, NotFound
from ..events import get_event, get_hosted_event
from ..live_pass import issue_live_pass, registration_remembered, remembered_as
from ..naming import registration_name
from ..places import holds_place
from ..registrations import STALE_LINK, registration_for_token

NO_PLACE_REMEMBERED = (
    "This browser has not opened a private link for this event: open the link in your email."
)

bp = Blueprint("live", __name__)


class GuestForm(FlaskForm):
    name = StringField(
        "Your name",
        validators=[
            DataRequired("Tell us the name to show next to what you write."),
            Length(max=80),
        ],
        description="Shown next to what you write, unless you choose to post anonymously.",
    )


@bp.get("/events/<slug>/live")
def participant(slug):
    g.private_page = True
    event = get_event(slug, current_user)
    # Sessions from before the live pass kept the private token itself.
    session.pop("live_tokens", None)
    token = request.args.get("token")
    if token is not None:
        # Keep the private token out of the address bar, the history, any shared screen and
        # the session cookie: the session remembers the registration, never the token.
        registration = confirmed_registration(event, registration_for_token(token))
        remembered = session.get("live_registrations", {})
        session["live_registrations"] = {**remembered, slug: remembered_as(registration)}
        return redirect(url_for(".participant", slug=slug))
    if event.status == "cancelled":
        raise DomainError("This event has been cancelled, so its live room is closed.", 410)

    registration, problem = remembered_registration(event)
    if registration is not None:
        # A private link wins over a guest name kept from earlier in the same browser.
        return render_template(
            "live/participant.html",
            event=event,
            name=registration_name(registration),
            person=f"r{registration.id}",
            guest=None,
        )
    guest = session.get("live_guests", {}).get(slug)
    if guest is not None and event.allow_guests:
        return render_template(
            "live/participant.html",
            event=event,
            name=guest["name"],
            person=f"g{guest['key']}",
            guest=guest,
        )
    form = GuestForm()
    return render_template("live/join.html", event=event, form=form, problem=problem), (
        403 if problem else 200
    )


@bp.get("/events/<slug>/live/pass")
def browser_live_pass(slug):
    """A fresh live pass for this browser's registration, asked for before every connect."""
    g.private_page = True
    event = get_event(slug, current_user)
    registration, problem = remembered_registration(event)
    if registration is None:
        return {"error": problem or NO_PLACE_REMEMBERED}, 403
    seconds = int(current_app.config["LIVE_PASS_SECONDS"])
    return {"live_pass": issue_live_pass(registration), "expires_in": seconds}


@bp.post("/events/<slug>/live/guest")
def join_as_guest(slug):
    g.private_page = True
    event = get_event(slug, current_user)
    if not event.allow_guests or event.status == "cancelled":
        raise DomainError("This live room is only open to registered participants.", 403)
    form = GuestForm()
    if not form.validate_on_submit():
        return render_template("live/join.html", event=event, form=form, problem=None), 400
    guests = session.get("live_guests", {})
    name = " ".join(form.name.data.split())
    guests[slug] = {"name": name, "key": secrets.token_urlsafe(24)}
    session["live_guests"] = guests
    flash(f"Welcome, {name}.", "success")
    return redirect(url_for(".participant", slug=slug))


@bp.get("/events/<slug>/live/host")
@login_required
def host(slug):
    g.private_page = True
    event = get_hosted_event(slug, current_user)
    return render_template("live/host.html", event=event)


def confirmed_registration(event, registration):
    """`registration`, if it is a confirmed place at this very event."""
    if registration.event_id != event.id:
        raise NotFound("That private link belongs to another event.")
    if not holds_place(registration):
        raise DomainError(not_confirmed_message(registration), 403)
    return registration


def remembered_registration(event):
    """The confirmed registration this browser joined with, or None and why not."""
    remembered = session.get("live_registrations", {})
    if event.slug not in remembered:
        return None, None
    registration = registration_remembered(remembered[event.slug])
    try:
        if registration is None:
            raise NotFound(STALE_LINK)
        return confirmed_registration(event, registration), None
    except DomainError as error:
        # Cancelled or erased since: forget it so the page explains how to join.
        session["live_registrations"] = {
            slug: kept for slug, kept in remembered.items() if slug != event.slug
        }
        return None, error.message


def not_confirmed_message(registration):
    if registration.status == "waitlisted":
        return (
            "You are on the waiting list, so you cannot join the live room yet. "
            "We will email you if a place frees up."
        )
    return "This registration is not confirmed, so it cannot join the live room."
