"""The live room's pages: participants (private link or guest), hosts and the shared screen.

With JavaScript, everything live happens over Socket.IO (namespace `/live`, see
docs/live-protocol.md) in static/js/live.js and static/js/host.js. The pages are drawn with
the room as it is now, so they also read without scripts; their plain forms post to
views/room.py (participants) and views/hosting.py (hosts) (docs/live-protocol.md section 15).
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
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from .. import agreement, moderation, presenting, prompts
from ..contributions import ROOM_CANCELLED, author_for_guest
from ..errors import DomainError
from ..events import get_event, get_hosted_event
from ..evidence import counting
from ..live_pass import issue_live_pass, remembered_as
from ..registrations import registration_for_token
from ..visibility import presenter_access
from .hosting import host_room
from .room import (
    ContributionForm,
    confirmed_registration,
    participant_page,
    refuse_after_retention,
    remembered_registration,
    room_person,
)

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
    agree = BooleanField("I have read the room agreement above and accept it")


@bp.app_template_global()
def live_room_open(event):
    """Whether the event page should point people at the live room now."""
    return presenting.is_live(event)


@bp.get("/events/<slug>/live")
def participant(slug):
    g.private_page = True
    event = get_event(slug, current_user)
    # Sessions from before the live pass kept the private token itself.
    session.pop("live_tokens", None)
    refuse_after_retention(event)
    token = request.args.get("token")
    if token is not None:
        # Keep the private token out of the address bar, the history, any shared screen and
        # the session cookie: the session remembers the registration, never the token.
        registration = confirmed_registration(event, registration_for_token(token))
        remembered = session.get("live_registrations", {})
        session["live_registrations"] = {**remembered, slug: remembered_as(registration)}
        return redirect(url_for(".participant", slug=slug))
    if event.status == "cancelled":
        raise DomainError(ROOM_CANCELLED, 410)
    person, problem = room_person(event)
    if person is None:
        form = GuestForm()
        return render_template("live/join.html", event=event, form=form, problem=problem), (
            403 if problem else 200
        )
    return participant_page(event, person, ContributionForm(formdata=None))


@bp.get("/events/<slug>/live/pass")
def browser_live_pass(slug):
    """A fresh live pass for this browser's registration, asked for before every connect."""
    g.private_page = True
    event = get_event(slug, current_user)
    try:
        refuse_after_retention(event)
    except DomainError as error:
        return {"error": error.message}, error.status
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
    refuse_after_retention(event)
    form = GuestForm()
    valid = form.validate_on_submit()
    if agreement.agreement_text(event) and not form.agree.data:
        form.agree.errors = [*form.agree.errors, "Please accept the room agreement to join."]
        valid = False
    if not valid:
        return render_template("live/join.html", event=event, form=form, problem=None), 400
    guests = session.get("live_guests", {})
    name = " ".join(form.name.data.split())
    guests[slug] = {"name": name, "key": secrets.token_urlsafe(24)}
    session["live_guests"] = guests
    agreement.accept_agreement(event, author_for_guest(event, name, guests[slug]["key"]))
    flash(f"Welcome, {name}.", "success")
    return redirect(url_for(".participant", slug=slug))


@bp.get("/events/<slug>/live/host")
@login_required
def host(slug):
    g.private_page = True
    event = get_hosted_event(slug, current_user)
    return render_template(
        "live/host.html",
        event=event,
        voices_heard=counting.DEFINITIONS["voices_heard"],
        **host_room(event, request.args.get("undo")),
        **ways_in(event),
    )


def ways_in(event):
    """The join address with its QR code, and the presenter link, for the hosts' page."""
    address = presenting.join_address(event)
    return {
        "join_address": address,
        "join_qr": presenting.qr_svg(address, "QR code for " + address),
        "presenter_url": presenting.presenter_url(event),
    }


@bp.post("/events/<slug>/live/present/link")
@login_required
def create_presenter_link(slug):
    event = get_hosted_event(slug, current_user)
    presenting.create_presenter_link(event)
    flash("A new presenter link is ready; any earlier one no longer works.", "success")
    return redirect(url_for(".host", slug=slug) + "#share")


@bp.post("/events/<slug>/live/present/link/revoke")
@login_required
def revoke_presenter_link(slug):
    event = get_hosted_event(slug, current_user)
    presenting.revoke_presenter_link(event)
    flash("The presenter link no longer works.", "success")
    return redirect(url_for(".host", slug=slug) + "#share")


# What fits on a shared screen at 720p in large type.
PRESENTER_FEATURED = 2
PRESENTER_NEWEST = 4
PRESENTER_PHRASES = 2


@bp.get("/events/<slug>/live/present")
def present(slug):
    """The room on the shared screen, for hosts and holders of the presenter link."""
    g.private_page = True
    event = get_event(slug, current_user)
    key = request.args.get("key")
    if key is not None:
        # The address is on everyone's screen: keep the key in the session, not in it.
        presenter_access(event, current_user, key)
        session["presenter_keys"] = {**session.get("presenter_keys", {}), slug: key}
        return redirect(url_for(".present", slug=slug))
    key = session.get("presenter_keys", {}).get(slug)
    access = presenter_access(event, current_user, key)
    # A shared screen can be recorded: it shows the room as the harvest may (consent.py), as
    # its live connection (a viewer) does.
    stream = moderation.room_stream(event, 50, as_harvest=True)
    shown = [entry["contribution"] for entry in stream if "contribution" in entry]
    address = presenting.join_address(event)
    return render_template(
        "live/present.html",
        event=event,
        prompt=prompts.current_prompt(event),
        featured=[c for c in shown if c["featured"]][:PRESENTER_FEATURED],
        newest=[c for c in shown if not c["featured"]][:PRESENTER_NEWEST],
        phrases=[entry["phrase"] for entry in stream if "phrase" in entry][:PRESENTER_PHRASES],
        join_address=address,
        join_qr=presenting.qr_svg(address, "QR code to join: " + address),
        presenter_key=key if access == "secret" else "",
        sizes={
            "featured": PRESENTER_FEATURED,
            "newest": PRESENTER_NEWEST,
            "phrases": PRESENTER_PHRASES,
        },
    )
