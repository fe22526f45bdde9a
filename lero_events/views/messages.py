"""Hosts write to their registrants and follow each message's delivery."""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from .. import events, messages, notifications, outbox
from ..forms import MessageForm
from ..messages import AUDIENCES, MessageInvalid

bp = Blueprint("messages", __name__)


def hosted(slug):
    """The event, for its hosts only; its pages name people, so they are never cached."""
    event = events.get_event_for_hosts(slug, current_user)
    g.private_page = True
    return event


@bp.route("/events/<slug>/messages", methods=["GET", "POST"])
def compose(slug):
    event = hosted(slug)
    form = MessageForm()
    preview = None
    if request.method == "GET" and request.args.get("template") == "follow-up":
        next_event = next_event_choice(event, request.args.get("next"))
        form.subject.data, form.body.data = messages.follow_up_draft(event, next_event)
        form.audience.data = "confirmed"
    if form.validate_on_submit():
        try:
            if "send" in request.form:
                message = messages.compose_message(
                    event, current_user, form.audience.data, form.subject.data, form.body.data
                )
                flash(f"Your message is on its way to {len(message.emails)} people.", "success")
                return redirect(url_for(".delivery", slug=slug, message_id=message.id), 303)
            preview = notifications.preview_message(
                event, form.audience.data, form.subject.data, form.body.data
            )
        except MessageInvalid as invalid:
            for name, text in invalid.errors.items():
                getattr(form, name).errors = [*getattr(form, name).errors, text]
    return render_template(
        "organiser/messages.html",
        event=event,
        form=form,
        preview=preview,
        counts={audience: len(messages.recipients(event, audience)) for audience in AUDIENCES},
        sent=messages.messages_for(event),
        next_events=other_upcoming_events(event),
        audiences=AUDIENCES,
    ), 400 if form.errors else 200


@bp.get("/events/<slug>/messages/<int:message_id>")
def delivery(slug, message_id):
    event = hosted(slug)
    message = messages.get_message(event, message_id)
    return render_template(
        "organiser/message.html", event=event, message=message, email_statuses=outbox.STATUSES
    )


def other_upcoming_events(event):
    """Events these hosts run next, to point a follow-up at."""
    return [
        other
        for other in events.events_hosted_by(current_user)
        if other.id != event.id and other.status == "published" and other.ends_at > event.ends_at
    ]


def next_event_choice(event, slug):
    return next((e for e in other_upcoming_events(event) if e.slug == slug), None)
