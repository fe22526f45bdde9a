"""Organiser pages: their events, creating and editing, publishing, unpublishing, cancelling,
running again, deleting drafts, co-hosts."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import events, registrations, support, team
from ..errors import DomainError
from ..events import EventInvalid
from ..forms import CancelEventForm, CohostForm, DuplicateEventForm, EventForm
from ..models import CohostInvitation

bp = Blueprint("organiser", __name__, url_prefix="/organiser")


@bp.before_request
@login_required
def require_login():
    """Every page here is for logged-in organisers only."""


@bp.get("/")
def dashboard():
    return render_template("organiser/dashboard.html", events=events.events_hosted_by(current_user))


@bp.route("/events/new", methods=["GET", "POST"])
def new_event():
    form = EventForm()
    if form.validate_on_submit():
        try:
            event = events.create_event(current_user, form.to_data())
        except EventInvalid as invalid:
            form.show_errors(invalid.errors)
        else:
            flash(f"'{event.title}' is saved as a draft. Publish it when it is ready.", "success")
            return redirect(url_for(".edit_event", slug=event.slug))
    status = 400 if form.errors else 200
    return render_template("organiser/event_form.html", form=form, event=None), status


@bp.route("/events/<slug>/edit", methods=["GET", "POST"])
def edit_event(slug):
    event = events.get_hosted_event(slug, current_user)
    form = EventForm(data=None if request.method == "POST" else event_form_data(event))
    if form.validate_on_submit():
        try:
            events.update_event(event, form.to_data())
        except EventInvalid as invalid:
            form.show_errors(invalid.errors)
        else:
            flash("Your changes are saved.", "success")
            return redirect(url_for(".edit_event", slug=event.slug))
    status = 400 if form.errors else 200
    return render_template(
        "organiser/event_form.html",
        form=form,
        event=event,
        cohost_form=CohostForm(),
        invitations=team.pending_invitations(event),
    ), status


@bp.post("/events/<slug>/publish")
def publish(slug):
    event = events.publish_event(events.get_hosted_event(slug, current_user))
    flash(f"'{event.title}' is published and open for bookings.", "success")
    return redirect(url_for(".edit_event", slug=slug))


@bp.post("/events/<slug>/unpublish")
def unpublish(slug):
    event = events.get_hosted_event(slug, current_user)
    try:
        events.unpublish_event(event)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(f"'{event.title}' is a draft again: only its hosts can see it.", "success")
    return redirect(url_for(".edit_event", slug=slug))


@bp.route("/events/<slug>/cancel", methods=["GET", "POST"])
def cancel(slug):
    event = events.get_hosted_event(slug, current_user)
    form = CancelEventForm()
    if event.status != "cancelled" and form.validate_on_submit():
        events.cancel_event(event, form.message.data)
        flash(f"'{event.title}' is cancelled and everyone booked is being told.", "success")
        return redirect(url_for(".edit_event", slug=slug))
    booked = len(registrations.confirmed_attendees(event) + registrations.waitlisted_people(event))
    return render_template(
        "organiser/confirm_cancel.html", event=event, form=form, booked=booked
    ), 400 if form.errors else 200


@bp.route("/events/<slug>/duplicate", methods=["GET", "POST"])
def duplicate(slug):
    event = events.get_hosted_event(slug, current_user)
    form = DuplicateEventForm(data={"title": event.title})
    if form.validate_on_submit():
        try:
            copy = events.duplicate_event(event, current_user, form.starts_at.data, form.title.data)
        except EventInvalid as invalid:
            for name, message in invalid.errors.items():
                (form.title if name == "title" else form.starts_at).errors.append(message)
        else:
            flash(f"'{copy.title}' is saved as a draft: check it, then publish it.", "success")
            return redirect(url_for(".edit_event", slug=copy.slug))
    return render_template("organiser/duplicate.html", event=event, form=form), (
        400 if form.errors else 200
    )


@bp.route("/events/<slug>/delete", methods=["GET", "POST"])
def delete(slug):
    event = events.get_hosted_event(slug, current_user)
    if request.method == "POST":
        try:
            events.delete_draft(event, current_app.config["UPLOAD_DIR"])
        except DomainError as error:
            flash(error.message, "error")
            return redirect(url_for(".edit_event", slug=slug))
        flash(f"'{event.title}' is deleted.", "success")
        return redirect(url_for(".dashboard"))
    return render_template("organiser/confirm_delete.html", event=event)


@bp.post("/events/<slug>/cohosts")
def add_cohost(slug):
    event = events.get_hosted_event(slug, current_user)
    form = CohostForm()
    if form.validate_on_submit():
        try:
            added = team.invite_cohost(event, current_user, form.email.data)
        except DomainError as error:
            flash(error.message, "error")
        else:
            if isinstance(added, CohostInvitation):
                flash(
                    f"{added.email} has no account yet, so an invitation to make one is on its "
                    "way to them.",
                    "success",
                )
            else:
                flash(f"{added.name} now co-hosts this event.", "success")
    else:
        flash("Enter the co-host's email address.", "error")
    return redirect(url_for(".edit_event", slug=slug))


@bp.post("/events/<slug>/invitations/<int:invitation_id>/withdraw")
def withdraw_invitation(slug, invitation_id):
    event = events.get_hosted_event(slug, current_user)
    invitation = team.withdraw_invitation(event, invitation_id)
    flash(
        f"The invitation to {invitation.email} is withdrawn: its link no longer works.", "success"
    )
    return redirect(url_for(".edit_event", slug=slug))


@bp.post("/events/<slug>/cohosts/<int:organiser_id>/remove")
def remove_cohost(slug, organiser_id):
    event = events.get_hosted_event(slug, current_user)
    events.remove_cohost(event, organiser_id)
    flash("Co-host removed.", "success")
    return redirect(url_for(".edit_event", slug=slug))


@bp.post("/events/<slug>/hosts/<int:organiser_id>/wellbeing")
def set_wellbeing_host(slug, organiser_id):
    event = events.get_hosted_event(slug, current_user)
    wellbeing = request.form.get("wellbeing") == "1"
    try:
        host = support.set_wellbeing_host(event, current_user, organiser_id, wellbeing)
    except DomainError as error:
        flash(error.message, "error")
    else:
        if host.wellbeing:
            flash(
                f"{host.organiser.name} is a wellbeing host: they see support requests.", "success"
            )
        else:
            flash(f"{host.organiser.name} no longer sees support requests.", "success")
    return redirect(url_for(".edit_event", slug=slug) + "#hosts")


def event_form_data(event):
    """The event as the form shows it: wall-clock times in the event's own zone."""

    def local(moment):
        return moment.astimezone(event.zone).replace(tzinfo=None)

    return {
        "title": event.title,
        "slug": event.slug,
        "description": event.description,
        "timezone": event.timezone,
        "starts_at": local(event.starts_at),
        "ends_at": local(event.ends_at),
        "capacity": event.capacity,
        "video_url": event.video_url,
        "allow_guests": event.allow_guests,
        "support_contacts": event.support_contacts,
        "remind_day_before": event.remind_day_before,
        "remind_hour_before": event.remind_hour_before,
        "retention_days": event.retention_days,
        "discreet": event.discreet,
        "discreet_name": event.discreet_name,
        "room_agreement": event.room_agreement,
        "agenda": [
            {
                "title": item.title,
                "kind": item.kind,
                "starts_at": local(item.starts_at),
                "ends_at": local(item.ends_at),
            }
            for item in event.agenda_items
        ]
        + [{}] * 2,
    }
