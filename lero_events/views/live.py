"""The live room's pages: participants (private link or guest) and hosts.

With JavaScript, everything live happens over Socket.IO (namespace `/live`, see
docs/live-protocol.md) in static/js/live.js and static/js/host.js. Without it, the same pages
are rendered with the room as it is now and post plain forms here, which call the same domain
functions as the socket handlers (docs/live-protocol.md section 11).
"""

import secrets
import uuid

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from .. import agreement, contributions, moderation, presence, presenting, prompts
from ..contributions import author_for_guest, author_for_registration
from ..errors import DomainError, NotFound
from ..events import get_event, get_hosted_event
from ..extensions import db
from ..places import holds_place
from ..registrations import registration_for_token
from ..visibility import presenter_access

bp = Blueprint("live", __name__)

# How much of the stream a page without scripts shows: the newest, and every featured one.
STREAM_ON_PAGE = 50
# Seconds between reloads of the "follow the room" page, without scripts.
FOLLOW_REFRESH_SECONDS = 30
EXPIRED_FORM = "The page had expired, so nothing was sent: please try again."


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


class ContributionForm(FlaskForm):
    """The reflection form: live.js sends it over the socket; without scripts it is posted.

    The page makes the client_id, so sending the same form twice saves one reflection.
    """

    text = TextAreaField("Your reflection")
    client_id = HiddenField()
    prompt_id = HiddenField()
    anonymous = BooleanField("Post anonymously")

    def prompt_number(self):
        value = (self.prompt_id.data or "").strip()
        if not value:
            return None
        if not value.isdigit() or len(value) > 18:
            raise DomainError("That prompt is not part of this event.")
        return int(value)


class ContributionButtonForm(FlaskForm):
    """One button about one contribution: resonate, or a host's approve or reject."""

    contribution_id = HiddenField()
    action = HiddenField()

    def contribution_number(self):
        value = (self.contribution_id.data or "").strip()
        if not value.isdigit() or len(value) > 18:
            raise NotFound("That contribution is not in this room.")
        return int(value)


@bp.app_template_global()
def live_room_open(event):
    """Whether the event page should point people at the live room now."""
    return presenting.is_live(event)


@bp.get("/events/<slug>/live")
def participant(slug):
    g.private_page = True
    event = get_event(slug, current_user)
    token = request.args.get("token")
    if token is not None:
        # Keep the private token out of the address bar, the history and any shared screen.
        confirmed_registration(event, token)
        session["live_tokens"] = {**session.get("live_tokens", {}), slug: token}
        return redirect(url_for(".participant", slug=slug))
    if event.status == "cancelled":
        raise DomainError("This event has been cancelled, so its live room is closed.", 410)
    person, problem = room_person(event)
    if person is None:
        form = GuestForm()
        return render_template("live/join.html", event=event, form=form, problem=problem), (
            403 if problem else 200
        )
    return participant_page(event, person, ContributionForm(formdata=None))


@bp.post("/events/<slug>/live/agreement")
def accept_agreement(slug):
    g.private_page = True
    event, person = joined_person(slug)
    if not FlaskForm().validate_on_submit():
        raise DomainError(EXPIRED_FORM, 400)
    agreement.accept_agreement(event, person["author"])
    return redirect(url_for(".participant", slug=slug), 303)


@bp.post("/events/<slug>/live/contribute")
def contribute(slug):
    """A reflection posted by the form without scripts: the socket's `contribute` over HTTP."""
    g.private_page = True
    event, person = joined_person(slug)
    form = ContributionForm()
    if not form.validate_on_submit():
        return participant_page(event, person, form, EXPIRED_FORM, 400)
    try:
        contribution, created = contributions.submit_contribution(
            event,
            person["author"],
            form.client_id.data,
            form.text.data,
            prompt_id=form.prompt_number(),
            anonymous=bool(form.anonymous.data),
        )
    except DomainError as error:
        db.session.rollback()
        # Shown next to the text, which stays in the box with the same client_id.
        return participant_page(event, person, form, error.message, error.status)
    if created:
        presence.changed(event.id)
    if contribution.status == "approved":
        flash("Your reflection is shared with the room.", "success")
    else:
        flash("Your reflection is sent: a host reads it before anyone else sees it.", "success")
    return redirect(url_for(".participant", slug=slug), 303)


@bp.post("/events/<slug>/live/resonate")
def resonate(slug):
    g.private_page = True
    event, person = joined_person(slug)
    form = ContributionButtonForm()
    if not form.validate_on_submit():
        raise DomainError(EXPIRED_FORM, 400)
    contribution_id = form.contribution_number()
    contributions.toggle_resonance(event, person["author"].key, contribution_id)
    return redirect(url_for(".participant", slug=slug, _anchor=f"c{contribution_id}"), 303)


@bp.post("/events/<slug>/live/guest")
def join_as_guest(slug):
    g.private_page = True
    event = get_event(slug, current_user)
    if not event.allow_guests or event.status == "cancelled":
        raise DomainError("This live room is only open to registered participants.", 403)
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
        queue=contributions.views_of(contributions.contributions_for(event, status="pending")),
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
    stream = moderation.room_stream(event, 50)
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


@bp.post("/events/<slug>/live/host/moderate")
@login_required
def moderate(slug):
    """Approve or reject from the host's page without scripts, as the socket events do."""
    g.private_page = True
    event = get_hosted_event(slug, current_user)
    form = ContributionButtonForm()
    if not form.validate_on_submit():
        raise DomainError(EXPIRED_FORM, 400)
    actions = {"approve": moderation.approve_contribution, "reject": moderation.reject_contribution}
    if form.action.data not in actions:
        raise DomainError("Choose approve or reject.")
    try:
        actions[form.action.data](event, current_user, form.contribution_number())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash("Approved: the room sees it now." if form.action.data == "approve" else "Rejected.")
    return redirect(url_for(".host", slug=slug), 303)


def joined_person(slug):
    """The event and who this browser is in its room, for the forms its page posts."""
    event = get_event(slug, current_user)
    person, problem = room_person(event)
    if person is None:
        raise DomainError(problem or "Please join the live room first.", 403)
    return event, person


def room_person(event):
    """Who this browser is in the event's room, ({author, token, guest}, None), or (None, why
    not). A private link wins over a guest name kept from earlier in the same browser."""
    registration, problem = remembered_registration(event)
    if registration is not None:
        token = session["live_tokens"][event.slug]
        return {"author": author_for_registration(registration), "token": token, "guest": None}, (
            None
        )
    guest = session.get("live_guests", {}).get(event.slug)
    if guest is not None and event.allow_guests:
        author = author_for_guest(event, guest["name"], guest["key"])
        return {"author": author, "token": "", "guest": guest}, None
    return None, problem


def participant_page(event, person, form, error=None, status=200):
    """The participant's page with the room as it is now, so it reads without scripts; the
    room agreement first for someone who has not accepted it yet."""
    author = person["author"]
    if not agreement.has_accepted(event, author.key):
        return render_template("live/agreement.html", event=event, error=error), status
    prompt = prompts.current_prompt(event)
    if not form.client_id.data:
        form.client_id.data = str(uuid.uuid4())
        form.prompt_id.data = str(prompt.id) if prompt else ""
    return render_template(
        "live/participant.html",
        event=event,
        name=author.name,
        token=person["token"],
        guest=person["guest"],
        form=form,
        button_form=ContributionButtonForm(formdata=None),
        error=error,
        prompt=prompt,
        stream=moderation.room_stream(event, STREAM_ON_PAGE),
        mine=contributions.views_of(
            contributions.contributions_for(event, status="pending", author_key=author.key)
        ),
        resonated=set(contributions.resonated_by(event, author.key)),
        closed_reason=contributions.contributions_closed_reason(event),
        ended=contributions.session_ended(event),
        agreement_text=agreement.agreement_text(event),
        following=request.method == "GET" and request.args.get("follow") == "1",
        refresh_seconds=FOLLOW_REFRESH_SECONDS,
    ), status


def confirmed_registration(event, token):
    """The registration behind `token`, if it is a confirmed place at this very event."""
    registration = registration_for_token(token)
    if registration.event_id != event.id:
        raise NotFound("That private link belongs to another event.")
    if not holds_place(registration):
        raise DomainError(not_confirmed_message(registration), 403)
    return registration


def remembered_registration(event):
    """The confirmed registration this browser joined with, or None and why not."""
    token = session.get("live_tokens", {}).get(event.slug)
    if token is None:
        return None, None
    try:
        return confirmed_registration(event, token), None
    except DomainError as error:
        # Cancelled or erased since: forget the token so the page explains how to join.
        session["live_tokens"] = {
            slug: kept for slug, kept in session["live_tokens"].items() if slug != event.slug
        }
        return None, error.message


def not_confirmed_message(registration):
    if registration.status == "waitlisted":
        return (
            "You are on the waiting list, so you cannot join the live room yet. "
            "We will email you if a place frees up."
        )
    return "This registration is not confirmed, so it cannot join the live room."
