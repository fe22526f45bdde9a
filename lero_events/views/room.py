"""The live room without JavaScript: who this browser is in the room, the participant's page
drawn with the room as it is now, and the plain forms it posts (docs/live-protocol.md section
15). The hosts' forms are in views/hosting.py.

Each form calls the same domain function as its socket event, under the same limits, so what
it changes reaches socket clients as ordinary updates. The private token never reaches a page:
a participant is the registration the session remembers (section 11).
"""

import uuid
from dataclasses import dataclass, replace

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, TextAreaField

from .. import (
    agreement,
    consent,
    contributions,
    moderation,
    presence,
    prompts,
    retention,
    room_limits,
    self_service,
    support,
)
from ..contributions import Author, author_for_guest, author_for_registration
from ..errors import DomainError, NotFound
from ..events import get_event
from ..extensions import db
from ..live import TOO_MANY_MESSAGES
from ..live_pass import registration_remembered
from ..places import holds_place
from ..registrations import STALE_LINK
from ..visibility import sees_room_as_harvest

bp = Blueprint("room", __name__)

# How much of the stream a page without scripts shows: the newest, and every featured one.
STREAM_ON_PAGE = 50
# Seconds between reloads of the "follow the room" page, without scripts.
FOLLOW_REFRESH_SECONDS = 30
EXPIRED_FORM = "The page had expired, so nothing was sent: please try again."
SUPPORT_SENT = "Received. A wellbeing host will reach you quietly; nobody else is told."


class ContributionForm(FlaskForm):
    """The reflection form: live.js sends it over the socket; without scripts it is posted.

    The page makes the client_id, so sending the same form twice saves one reflection.
    `sharing` is the author's choice for the published harvest (consent.py), checked there.
    """

    text = TextAreaField("Your reflection")
    client_id = HiddenField()
    prompt_id = HiddenField()
    anonymous = BooleanField("Post anonymously")
    sharing = StringField()

    def prompt_number(self):
        value = (self.prompt_id.data or "").strip()
        if not value:
            return None
        if not value.isdigit() or len(value) > 18:
            raise DomainError("That prompt is not part of this event.")
        return int(value)


class ContributionButtonForm(FlaskForm):
    """One button about one contribution: resonate, or take one's own down."""

    contribution_id = HiddenField()

    def contribution_number(self):
        return form_number(self.contribution_id.data, contributions.NOT_IN_ROOM)


def form_number(value, missing):
    value = (value or "").strip()
    if not value.isdigit() or len(value) > 18:
        raise NotFound(missing)
    return int(value)


@dataclass(frozen=True)
class RoomPerson:
    """Who this browser is in a room: the author, the page's outbox key, the guest (if one)."""

    author: Author
    person: str
    guest: dict | None = None

    @property
    def role(self):
        return "guest" if self.guest is not None else "participant"


def room_person(event):
    """(RoomPerson, None), or (None, why not). A private link wins over a guest name kept from
    earlier in the same browser."""
    registration, problem = remembered_registration(event)
    if registration is not None:
        return RoomPerson(author_for_registration(registration), f"r{registration.id}"), None
    guest = session.get("live_guests", {}).get(event.slug)
    if guest is not None and event.allow_guests:
        author = author_for_guest(event, guest["name"], guest["key"])
        return RoomPerson(author, f"g{guest['key']}", guest), None
    return None, problem


def joined_person(slug):
    """The event and who this browser is in its room, for the forms its page posts: counted
    under the socket's limits per person and per address, with the address for the
    contribution limit."""
    event = get_event(slug, current_user)
    refuse_after_retention(event)
    person, problem = room_person(event)
    if person is None:
        raise DomainError(problem or "Please join the live room first.", 403)
    address = room_limits.address_key(request.remote_addr)
    within_limits(person.author.key, address)
    return event, replace(person, author=replace(person.author, address_key=address))


def refuse_after_retention(event):
    """Once the event's retention period is over its room lets no participant or guest in
    (retention.passed), and this browser forgets the guest name or registration it kept for
    the event, so the name is not shown again."""
    if retention.passed(event):
        forget_remembered(event, "live_guests")
        forget_remembered(event, "live_registrations")
        raise DomainError(retention.room_closed_message(event), 410)


def forget_remembered(event, kept):
    """Drop what the session keeps under `kept` for this event."""
    remembered = session.get(kept, {})
    if event.slug in remembered:
        session[kept] = {slug: value for slug, value in remembered.items() if slug != event.slug}


def within_limits(person_key, address):
    """A form is one message, as a socket event is (docs/live-protocol.md section 10)."""
    if not room_limits.allow_message(person_key, address):
        raise DomainError(TOO_MANY_MESSAGES, 429)


def participant_page(event, person, form, error=None, status=200):
    """The participant's page with the room as it is now, so it reads without scripts; the
    room agreement first for someone who has not accepted it yet."""
    author = person.author
    if not agreement.has_accepted(event, author.key):
        return render_template("live/agreement.html", event=event, error=error), status
    prompt = prompts.current_prompt(event)
    ended = contributions.session_ended(event)
    if not form.client_id.data:
        form.client_id.data = str(uuid.uuid4())
        form.prompt_id.data = str(prompt.id) if prompt else ""
    return render_template(
        "live/participant.html",
        event=event,
        name=author.name,
        person=person.person,
        guest=person.guest,
        form=form,
        error=error,
        prompt=prompt,
        # After the session the room shows what the harvest may, as its socket does (section 16).
        stream=moderation.room_stream(
            event, STREAM_ON_PAGE, as_harvest=sees_room_as_harvest(person.role, ended)
        ),
        mine=contributions.views_of(contributions.mine(event, author.key)),
        sharing_choices=consent.ASKED,
        sharing_labels=consent.SHARING,
        counts=presence.moderation_counts(event.id),
        support=support.state_for_person(event, author.key),
        resonated=set(contributions.resonated_by(event, author.key)),
        closed_reason=contributions.contributions_closed_reason(event),
        ended=ended,
        agreement_text=agreement.agreement_text(event),
        following=request.method == "GET" and request.args.get("follow") == "1",
        refresh_seconds=FOLLOW_REFRESH_SECONDS,
    ), status


@bp.post("/events/<slug>/live/agreement")
def accept_agreement(slug):
    g.private_page = True
    event, person = joined_person(slug)
    if not FlaskForm().validate_on_submit():
        raise DomainError(EXPIRED_FORM, 400)
    agreement.accept_agreement(event, person.author)
    return redirect(url_for("live.participant", slug=slug), 303)


@bp.post("/events/<slug>/live/contribute")
def contribute(slug):
    """A reflection posted by the form without scripts: the socket's `contribute` over HTTP."""
    g.private_page = True
    event, person = joined_person(slug)
    form = ContributionForm()
    if not form.validate_on_submit():
        return participant_page(event, person, form, EXPIRED_FORM, 400)
    try:
        contribution, _created, _view = contributions.submit_contribution(
            event,
            person.author,
            form.client_id.data,
            form.text.data,
            prompt_id=form.prompt_number(),
            anonymous=bool(form.anonymous.data),
            sharing=form.sharing.data or None,
        )
    except DomainError as error:
        db.session.rollback()
        # Shown next to the text, which stays in the box with the same client_id.
        return participant_page(event, person, form, error.message, error.status)
    if contribution.status == "approved":
        sent = "Your reflection is shared with the room."
    else:
        sent = "Your reflection is sent: a host reads it before anyone else sees it."
    flash(f"{sent} Where it may appear: {consent.SHARING[contribution.sharing]}.", "success")
    return redirect(url_for("live.participant", slug=slug), 303)


@bp.post("/events/<slug>/live/take-down")
def take_down(slug):
    """The author takes one of their reflections down from the room's page, as from their
    private link (consent.py): out of the room, the harvest and its exports at once."""
    g.private_page = True
    event, person = joined_person(slug)
    form = ContributionButtonForm()
    if not form.validate_on_submit():
        raise DomainError(EXPIRED_FORM, 400)
    self_service.take_down_in_room(event, person.author, form.contribution_number())
    flash("Taken down: it is gone from the room and the harvest.", "success")
    return redirect(url_for("live.participant", slug=slug, _anchor="mine-section"), 303)


@bp.post("/events/<slug>/live/resonate")
def resonate(slug):
    g.private_page = True
    event, person = joined_person(slug)
    form = ContributionButtonForm()
    if not form.validate_on_submit():
        raise DomainError(EXPIRED_FORM, 400)
    contribution_id = form.contribution_number()
    contributions.toggle_resonance(event, person.author.key, contribution_id)
    return redirect(url_for("live.participant", slug=slug, _anchor=f"c{contribution_id}"), 303)


@bp.post("/events/<slug>/live/support")
def request_support(slug):
    """The quiet "I need support" without scripts: the socket's `request_support`."""
    g.private_page = True
    event, person = joined_person(slug)
    if not FlaskForm().validate_on_submit():
        raise DomainError(EXPIRED_FORM, 400)
    try:
        support.request_support(event, person.author)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(SUPPORT_SENT, "success")
    return redirect(url_for("live.participant", slug=slug, _anchor="support-section"), 303)


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
        forget_remembered(event, "live_registrations")
        return None, error.message


def not_confirmed_message(registration):
    if registration.status == "waitlisted":
        return (
            "You are on the waiting list, so you cannot join the live room yet. "
            "We will email you if a place frees up."
        )
    return "This registration is not confirmed, so it cannot join the live room."
