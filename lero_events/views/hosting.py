"""The hosts' live room without JavaScript: what their page shows before its script runs, and
the plain forms it posts (docs/live-protocol.md section 15).

Each form calls the same domain function as its socket event, under the same limits, so what
it changes reaches socket clients as ordinary updates; the host is sent back to their page
with one notice saying what changed or why not (post/redirect/get).
"""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField

from .. import contributions, moderation, presence, prompts, room_limits, support
from ..errors import DomainError, Forbidden
from ..events import get_hosted_event
from ..extensions import db
from .room import EXPIRED_FORM, ContributionButtonForm, form_number, within_limits

bp = Blueprint("hosting", __name__)


class ModerationForm(ContributionButtonForm):
    """A host's approve, hold back, redact or back to the queue, about one contribution.

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


class HostForm(FlaskForm):
    """The hosts' other forms: the question (typed, prepared or next), pausing, a phrase."""

    action = HiddenField()
    text = StringField()
    attribution = StringField()
    prompt_id = HiddenField()


def host_room(event):
    """What the hosts' page shows before its script runs, or without one: what a host's
    `state` carries, as it is now."""
    return {
        "queue": contributions.views_of(contributions.contributions_for(event, status="pending")),
        "held_back": moderation.held_back(event),
        "prompt": prompts.current_prompt(event),
        "prepared": prompts.prepared_views(event),
        "counts": presence.moderation_counts(event.id),
        "hold_back_reasons": moderation.hold_back_reasons(),
        "wellbeing": support.is_wellbeing_host(event, current_user),
    }


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


def host_action(slug, action, anchor=None):
    """Run `action` (which returns what to tell the host), flash that or the domain's refusal,
    and go back to the hosts' page (post/redirect/get)."""
    try:
        done = action()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("live.host", slug=slug, _anchor=anchor), 303)


@bp.post("/events/<slug>/live/host/moderate")
@login_required
def moderate(slug):
    """Approve, hold back (with a reason), redact or put back in the queue from the hosts' page
    without scripts, as the socket events do."""
    event, form = hosted_form(slug, ModerationForm)

    def act():
        contribution_id = form.contribution_number()
        if form.action.data == "approve":
            moderation.approve_contribution(event, current_user, contribution_id)
            return "Approved: the room sees it now."
        if form.action.data == "reject":
            moderation.reject_contribution(
                event,
                current_user,
                contribution_id,
                reason=form.reason.data or None,
                reason_text=form.reason_text.data,
            )
            return "Held back: its author sees that it was, and your reason."
        if form.action.data == "redact":
            moderation.redact_contribution(
                event, current_user, contribution_id, form.text.data, form.label.data
            )
            return "Redacted: its author is told what was removed."
        if form.action.data == "restore":
            moderation.restore_contribution(event, current_user, contribution_id)
            return "Back in the queue: the room sees it once it is approved."
        raise DomainError("Choose approve, hold back, redact or back to the queue.")

    return host_action(slug, act)


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

    return host_action(slug, act, "prompt-heading")


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

    return host_action(slug, act, "controls-heading")


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

    return host_action(slug, act, "phrase-heading")


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
