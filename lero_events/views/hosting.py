"""The hosts' live room without JavaScript: what their page shows before its script runs, and
the plain forms it posts (docs/live-protocol.md section 15).

Each form calls the same domain function as its socket event, under the same limits, so what
it changes reaches socket clients as ordinary updates; the host is sent back to their page
with one notice saying what changed or why not (post/redirect/get).
"""

import re
from dataclasses import dataclass

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField, StringField

from .. import contributions, moderation, presence, prompts, room_limits, support
from ..errors import DomainError, Forbidden
from ..events import get_hosted_event
from ..extensions import db
from .room import (
    EXPIRED_FORM,
    STREAM_ON_PAGE,
    ContributionButtonForm,
    form_number,
    within_limits,
)

bp = Blueprint("hosting", __name__)


class ModerationForm(ContributionButtonForm):
    """A host's button or form about one reflection: approve (and feature), hold back,
    redact, withdraw, put back (restore), feature or stop featuring.

    Holding back may carry a reason (a key of moderation.HOLD_BACK_REASONS, or "other" with
    written text); redacting names the words and what they were. The domain checks them all.
    """

    action = HiddenField()
    reason = StringField()
    reason_text = StringField()
    text = StringField()
    label = StringField()


class SupportHandledForm(FlaskForm):
    request_id = HiddenField()


class BulkModerationForm(FlaskForm):
    """The reflections ticked in the queue, and the button pressed (approve or reject)."""

    action = StringField()
    contribution_ids = SelectMultipleField(validate_choice=False)


class HostForm(FlaskForm):
    """The hosts' other forms: the question (typed, prepared or next), pausing, the moderation
    mode, a phrase (captured, corrected, withdrawn or brought back)."""

    action = HiddenField()
    text = StringField()
    attribution = StringField()
    prompt_id = HiddenField()
    phrase_id = HiddenField()
    mode = StringField()


def host_room(event, undo=None):
    """What the hosts' page shows before its script runs, or without one: what a host's
    `state` carries, as it is now, the room's stream, and what it may offer to undo."""
    return {
        "queue": contributions.views_of(contributions.contributions_for(event, status="pending")),
        "held_back": moderation.held_back(event),
        "stream": moderation.room_stream(event, STREAM_ON_PAGE),
        "prompt": prompts.current_prompt(event),
        "prepared": prompts.prepared_views(event),
        "counts": presence.moderation_counts(event.id),
        # Who is here as the page is made; the script keeps it current.
        "here": presence.presence_for(event.id, hosts=True),
        "hold_back_reasons": moderation.hold_back_reasons(),
        "wellbeing": support.is_wellbeing_host(event, current_user),
        "undo": undo_offer(event, undo),
    }


def undo_offer(event, undo):
    """The undo bar after a hold back or withdraw posted without scripts, as host.js offers
    it: `undo` names the reflection ("c<id>") or phrase ("p<id>"), and it is offered only
    while it can still be undone (another host may have done so already)."""
    match = re.fullmatch(r"([cp])(\d{1,18})", undo or "")
    if match is None:
        return None
    kind, number = match.group(1), int(match.group(2))
    try:
        if kind == "p":
            phrase = moderation.room_phrase(event, number)
            if phrase.withdrawn:
                return {"phrase_id": number, "label": "Phrase withdrawn", "text": phrase.text}
            return None
        contribution = contributions.room_contribution(event, number)
    except DomainError:
        return None
    label = {"rejected": "Held back", "withdrawn": "Withdrawn"}.get(contribution.status)
    if label is None:
        return None
    return {"contribution_id": number, "label": label, "text": contribution.text}


def hosted_form(slug, form_class):
    """The event and the form a host's page posted: only for the event's hosts, counted as one
    message under the socket's limits, and with a CSRF token that still holds."""
    g.private_page = True
    event = get_hosted_event(slug, current_user)
    within_limits(f"o:{current_user.id}", room_limits.address_key(request.remote_addr))
    form = form_class()
    if not form.validate_on_submit():
        raise DomainError(EXPIRED_FORM, 400)
    return event, form


@dataclass(frozen=True)
class Done:
    """What a host's form did: the notice for the host, what the page may offer to undo
    (see undo_offer), and what it refused of a batch."""

    notice: str
    undo: str | None = None
    refused: str | None = None


def host_action(event, action, anchor=None):
    """Run `action` (which returns a Done, or just its notice), flash that or the domain's
    refusal, and go back to the hosts' page (post/redirect/get). A cancelled event's room is
    closed to its hosts too, as the socket refuses them at connect."""
    slug = event.slug
    undo = None
    try:
        if event.status == "cancelled":
            raise DomainError(contributions.ROOM_CANCELLED, 410)
        done = action()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        done = done if isinstance(done, Done) else Done(done)
        flash(done.notice, "success")
        if done.refused:
            flash(done.refused, "error")
        undo = done.undo
    return redirect(url_for("live.host", slug=slug, undo=undo, _anchor=anchor), 303)


@bp.post("/events/<slug>/live/host/moderate")
@login_required
def moderate(slug):
    """One reflection from the hosts' page without scripts, as the socket events do: approve,
    hold back (with a reason), redact, put back (restore), withdraw, feature or stop
    featuring."""
    event, form = hosted_form(slug, ModerationForm)

    def act():
        contribution_id = form.contribution_number()
        action = MODERATING.get(form.action.data)
        if action is None:
            raise DomainError("Choose approve, hold back, redact, withdraw or feature.")
        return action(event, contribution_id, form)

    return host_action(event, act)


def approve(event, contribution_id, form):
    moderation.approve_contribution(event, current_user, contribution_id)
    return "Approved: the room sees it now."


def approve_and_feature(event, contribution_id, form):
    """Both, as the host view's one button does; the approval stands if featuring is refused."""
    moderation.approve_contribution(event, current_user, contribution_id)
    try:
        moderation.feature_contribution(event, current_user, contribution_id, True)
    except DomainError as error:
        db.session.rollback()
        return Done("Approved: the room sees it now.", refused=error.message)
    return "Approved and featured: the room and the harvest highlight it."


def hold_back(event, contribution_id, form):
    moderation.reject_contribution(
        event,
        current_user,
        contribution_id,
        reason=form.reason.data or None,
        reason_text=form.reason_text.data,
    )
    return Done("Held back: its author sees that it was, and your reason.", f"c{contribution_id}")


def redact(event, contribution_id, form):
    moderation.redact_contribution(
        event, current_user, contribution_id, form.text.data, form.label.data
    )
    return "Redacted: its author is told what was removed."


def restore(event, contribution_id, form):
    """Undo a hold back (back to the queue) or a withdraw (back in the room)."""
    contribution = moderation.restore_contribution(event, current_user, contribution_id)
    if contribution.status == "approved":
        return "Back in the room: everyone sees it again."
    return "Back in the queue: the room sees it once it is approved."


def withdraw(event, contribution_id, form):
    moderation.withdraw_contribution(event, current_user, contribution_id)
    return Done("Withdrawn: it is out of the room and the harvest.", f"c{contribution_id}")


def feature(event, contribution_id, form):
    moderation.feature_contribution(event, current_user, contribution_id, True)
    return "Featured: the room and the harvest highlight it."


def unfeature(event, contribution_id, form):
    moderation.feature_contribution(event, current_user, contribution_id, False)
    return "No longer featured."


# What the moderate form's `action` does, as the socket event of the same purpose.
MODERATING = {
    "approve": approve,
    "approve_feature": approve_and_feature,
    "reject": hold_back,
    "redact": redact,
    "restore": restore,
    "withdraw": withdraw,
    "feature": feature,
    "unfeature": unfeature,
}


@bp.post("/events/<slug>/live/host/moderate-many")
@login_required
def moderate_many(slug):
    """Approve or hold back the reflections ticked in the queue, as `moderate_many` does: one
    that another host was quicker with is left as it is and named in a second notice."""
    event, form = hosted_form(slug, BulkModerationForm)

    def act():
        if form.action.data not in ("approve", "reject"):
            raise DomainError("Choose approve or reject.")
        if not form.contribution_ids.data:
            raise DomainError("Select one or more reflections first.")
        ids = [
            form_number(value, contributions.NOT_IN_ROOM) for value in form.contribution_ids.data
        ]
        changed, skipped = moderation.moderate_many(event, current_user, form.action.data, ids)
        reasons = " ".join(dict.fromkeys(skip["error"] for skip in skipped))
        refused = f"{reflections(len(skipped))} not changed: {reasons}" if skipped else None
        if not changed:
            raise DomainError(refused)
        if form.action.data == "approve":
            notice = f"Approved {reflections(len(changed))}: the room sees them now."
        else:
            notice = f"Held back {reflections(len(changed))}: their authors see that they were."
        return Done(notice, refused=refused)

    return host_action(event, act, "queue-heading")


def reflections(count):
    return f"{count} reflection" if count == 1 else f"{count} reflections"


@bp.post("/events/<slug>/live/host/moderation")
@login_required
def set_moderation(slug):
    """Switch between approving first and showing at once from the hosts' page without
    scripts, as `set_moderation` does: what is already waiting stays waiting."""
    event, form = hosted_form(slug, HostForm)
    done = {
        "pre": "Moderation is now before: hosts approve each reflection first.",
        "post": "Moderation is now after: reflections are shown at once, hosts can take them down.",
    }

    def act():
        if form.mode.data not in done:
            raise DomainError("Choose before or after.")
        moderation.set_moderation_mode(event, current_user, form.mode.data)
        return done[form.mode.data]

    return host_action(event, act, "controls-heading")


@bp.post("/events/<slug>/live/host/prompt")
@login_required
def ask_question(slug):
    """Set the question from the hosts' page without scripts: typed now, a prepared one, or
    the next prepared one, as `set_prompt`, `ask_prompt` and `next_prompt` do."""
    event, form = hosted_form(slug, HostForm)

    def act():
        if form.action.data == "set":
            prompt = moderation.set_prompt(event, current_user, form.text.data)
        elif form.action.data == "ask":
            prompt_id = form_number(form.prompt_id.data, prompts.NOT_PREPARED)
            prompt = prompts.ask_prompt(event, current_user, prompt_id)
        elif form.action.data == "next":
            prompt = prompts.ask_next_prompt(event, current_user)
        else:
            raise DomainError("Type a question, or choose a prepared one.")
        return f"The question is now: {prompt.text}"

    return host_action(event, act, "prompt-heading")


class PreparedMoveForm(FlaskForm):
    """Move a prepared question from the hosts' page: up, down, or to be asked next."""

    prompt_id = HiddenField()
    to = HiddenField()


@bp.post("/events/<slug>/live/host/prepared/move")
@login_required
def move_question(slug):
    """Reorder the prepared questions from the hosts' page without scripts, as `move_prompt`
    does."""
    event, form = hosted_form(slug, PreparedMoveForm)
    moved = {"up": "Moved up.", "down": "Moved down.", "next": prompts.MADE_NEXT}

    def act():
        prompt_id = form_number(form.prompt_id.data, prompts.NOT_PREPARED)
        prompts.move_prepared_prompt(event, current_user, prompt_id, form.to.data)
        return moved[form.to.data]

    return host_action(event, act, "prepared-heading")


@bp.post("/events/<slug>/live/host/pause")
@login_required
def pause_reflections(slug):
    """Pause or reopen reflections from the hosts' page without scripts, as
    `set_contributions_open` does."""
    event, form = hosted_form(slug, HostForm)
    done = {
        "pause": "Reflections are paused: new ones wait on participants' devices.",
        "reopen": "Reflections are open again.",
    }

    def act():
        if form.action.data not in done:
            raise DomainError("Choose pause or reopen.")
        moderation.set_contributions_open(event, current_user, form.action.data == "reopen")
        return done[form.action.data]

    return host_action(event, act, "controls-heading")


@bp.post("/events/<slug>/live/host/phrase")
@login_required
def capture_phrase(slug):
    """Capture a speaker's phrase from the hosts' page without scripts, as `capture_phrase`
    does."""
    event, form = hosted_form(slug, HostForm)

    def act():
        phrase = moderation.capture_phrase(
            event, current_user, form.text.data, form.attribution.data
        )
        return f"Captured for the harvest: “{phrase.text}”"

    return host_action(event, act, "phrase-heading")


@bp.post("/events/<slug>/live/host/phrase/change")
@login_required
def change_phrase(slug):
    """Correct, withdraw or bring back a captured phrase from the hosts' page without scripts,
    as `edit_phrase`, `withdraw_phrase` and `restore_phrase` do."""
    event, form = hosted_form(slug, HostForm)

    def act():
        phrase_id = form_number(form.phrase_id.data, "That phrase is not in this room.")
        if form.action.data == "edit":
            phrase = moderation.edit_phrase(
                event, current_user, phrase_id, form.text.data, form.attribution.data
            )
            return f"Phrase corrected: “{phrase.text}”"
        if form.action.data == "withdraw":
            moderation.withdraw_phrase(event, current_user, phrase_id)
            return Done("Phrase withdrawn: it is out of the room and the harvest.", f"p{phrase_id}")
        if form.action.data == "restore":
            moderation.restore_phrase(event, current_user, phrase_id)
            return "Phrase back in the room and the harvest."
        raise DomainError("Choose edit, withdraw or bring back.")

    return host_action(event, act, "stream-heading")


@bp.get("/events/<slug>/live/host/support")
@login_required
def support_requests(slug):
    """The wellbeing hosts' support requests, for a host page without scripts."""
    g.private_page = True
    event = get_hosted_event(slug, current_user)
    if not support.is_wellbeing_host(event, current_user):
        raise Forbidden("Only this event's wellbeing hosts can do that.")
    # Every request as it is now; seeing open ones' contacts is written to the access log.
    updates = support.state_for_host(event, current_user)["support_updates"]
    requests = sorted((update["data"]["request"] for update in updates), key=lambda r: -r["id"])
    return render_template(
        "live/support.html",
        event=event,
        open_requests=[r for r in requests if r["status"] == "open"],
        handled=[r for r in requests if r["status"] == "handled"],
    )


@bp.post("/events/<slug>/live/host/support/handled")
@login_required
def support_handled(slug):
    event, form = hosted_form(slug, SupportHandledForm)
    number = form_number(form.request_id.data, "That support request is not in this room.")
    support.mark_handled(event, current_user, number)
    flash("Marked handled.", "success")
    return redirect(url_for(".support_requests", slug=slug), 303)
