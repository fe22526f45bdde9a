"""Prepared questions: hosts write them before the event, tie them to the agenda, order them.

Asking them happens in the live room (static/js/host.js, docs/live-protocol.md section 8); every
change here reaches the host tabs open there.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import prompts
from ..errors import DomainError
from ..events import get_hosted_event

bp = Blueprint("questions", __name__, url_prefix="/organiser/events/<slug>/questions")


@bp.before_request
@login_required
def require_login():
    """Every page here is for the event's hosts."""


def agenda_item_id():
    value = request.form.get("agenda_item_id", "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise DomainError("Choose an agenda item from the list.")
    return int(value)


def render_page(event, status=200, **typed):
    return render_template(
        "organiser/questions.html",
        event=event,
        questions=prompts.prepared_prompts(event),
        typed=typed,
    ), status


@bp.get("")
def prepare(slug):
    return render_page(get_hosted_event(slug, current_user))


@bp.post("")
def add(slug):
    event = get_hosted_event(slug, current_user)
    text = request.form.get("text", "")
    try:
        prompts.add_prepared_prompt(event, current_user, text, agenda_item_id())
    except DomainError as error:
        # Keep what was typed: the host only has to fix it.
        return render_page(
            event,
            400,
            text=text,
            agenda_item_id=request.form.get("agenda_item_id", ""),
            error=error.message,
        )
    flash("Question added.", "success")
    return redirect(url_for(".prepare", slug=slug) + "#questions")


@bp.post("/<int:prompt_id>")
def edit(slug, prompt_id):
    event = get_hosted_event(slug, current_user)
    try:
        prompts.edit_prepared_prompt(
            event, current_user, prompt_id, request.form.get("text", ""), agenda_item_id()
        )
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash("Question saved.", "success")
    return redirect(url_for(".prepare", slug=slug) + f"#question-{prompt_id}")


@bp.post("/<int:prompt_id>/move")
def move(slug, prompt_id):
    """Up, down, or "next": just before the first question not asked yet."""
    event = get_hosted_event(slug, current_user)
    direction = request.form.get("direction")
    try:
        prompts.move_prepared_prompt(event, current_user, prompt_id, direction)
    except DomainError as error:
        flash(error.message, "error")
    else:
        if direction == "next":
            flash(prompts.MADE_NEXT, "success")
    return redirect(url_for(".prepare", slug=slug) + f"#question-{prompt_id}")


@bp.post("/<int:prompt_id>/delete")
def delete(slug, prompt_id):
    event = get_hosted_event(slug, current_user)
    try:
        prompts.delete_prepared_prompt(event, current_user, prompt_id)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash("Question removed.", "success")
    return redirect(url_for(".prepare", slug=slug) + "#questions")
