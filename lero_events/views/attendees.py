"""The registrations of an event, for its hosts: the list, the CSV, the access log, and what
hosts do for people. Anyone else, other organisers included, gets a 404: the pages exist
only for the event's hosts."""

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from .. import attendance, attendees, personal_data, places, registrations
from ..errors import DomainError
from ..events import get_event_for_hosts
from ..extensions import limiter
from ..registrations import RegistrationInvalid
from .registration import RegistrationForm

bp = Blueprint("attendees", __name__)
PAGE = "/events/<slug>/registrations"


class PhoneBookingForm(RegistrationForm):
    """The registration form, filled in by a host for someone who booked by phone."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="booking", **kwargs)
        self.name.label.text = "Their name"
        self.email.description = "Their private link and calendar invite go here."
        self.display_name.description = "Leave it empty for “Anonymous”."
        self.access_needs.description = "What they told you they need to take part."
        self.consent.label.text = (
            "They have heard or read the privacy notice and agree to their details being "
            "used this way."
        )


def hosted_event(slug):
    """The event, for its hosts only: everyone else learns nothing, not even that it exists."""
    organiser = current_user if current_user.is_authenticated else None
    event = get_event_for_hosts(slug, organiser)
    g.private_page = True
    return event


def back_to_list(slug, anchor=""):
    return redirect(url_for(".registrations_page", slug=slug) + anchor, 303)


@bp.get(PAGE)
def registrations_page(slug, booking_form=None, status=200):
    event = hosted_event(slug)
    search = request.args.get("q", "").strip()[:200]
    shown_status = request.args.get("status", "")
    if shown_status not in attendees.STATUSES:
        shown_status = ""
    everyone = attendees.all_attendees(event)
    shown = attendees.matching(everyone, search, shown_status)
    what = "viewed the registrations list"
    if search or shown_status:
        what += f" (search: {search!r}, status: {shown_status or 'any'})"
    personal_data.record_access(event, current_user, what)
    return render_template(
        "attendees/registrations.html",
        event=event,
        counts=attendees.count_by_status(everyone),
        attendees=shown,
        total=len(everyone),
        organisations=attendees.organisation_breakdown(everyone),
        search=search,
        shown_status=shown_status,
        statuses=attendees.STATUSES,
        booking_form=booking_form or PhoneBookingForm(formdata=None),
        seats_left=registrations.seats_left(event),
        attendance_of=attendees.attendance_of,
    ), status


@bp.get(PAGE + ".csv")
@limiter.limit("30 per minute")
def registrations_csv(slug):
    event = hosted_event(slug)
    everyone = attendees.all_attendees(event)
    personal_data.record_access(
        event, current_user, f"downloaded the registrations CSV ({len(everyone)} rows)"
    )
    return Response(
        attendees.attendees_as_csv(everyone),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{slug}-registrations.csv"'},
    )


@bp.get(PAGE + "/log")
def access_log(slug):
    event = hosted_event(slug)
    return render_template(
        "attendees/access_log.html", event=event, entries=personal_data.access_log(event)
    )


@bp.post(PAGE)
def book_on_behalf(slug):
    event = hosted_event(slug)
    form = PhoneBookingForm()
    if form.validate_on_submit():
        try:
            outcome = registrations.register_attendee(event, form.to_data())
        except RegistrationInvalid as invalid:
            form.show_errors(invalid.errors)
        except DomainError as error:
            flash(error.message, "error")
            return back_to_list(slug)
        else:
            registration = outcome.registration
            personal_data.record_access(
                event, current_user, f"booked a place on someone's behalf (#{registration.id})"
            )
            if outcome.already_registered:
                flash(
                    f"{registration.email} is already registered ({registration.status}); "
                    "nothing changed, and their private link was emailed to them again.",
                    "warning",
                )
            else:
                flash(
                    f"{registration.name} is {registration.status}; their private link is on "
                    "its way to them by email.",
                    "success",
                )
            return back_to_list(slug)
    return registrations_page(slug, booking_form=form, status=400)


@bp.post(PAGE + "/<int:registration_id>/promote")
def promote(slug, registration_id):
    event = hosted_event(slug)
    registration = attendees.registration_of(event, registration_id)
    try:
        attendees.move_from_waitlist(registration)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(f"{registration.name} has a place now and is being emailed.", "success")
    return back_to_list(slug, f"#registration-{registration.id}")


@bp.route(PAGE + "/<int:registration_id>/cancel", methods=["GET", "POST"])
def cancel(slug, registration_id):
    event = hosted_event(slug)
    registration = attendees.registration_of(event, registration_id)
    if registration.status not in places.ACTIVE:
        flash("That registration is already cancelled.")
        return back_to_list(slug)
    error = None
    reason = request.form.get("reason", "")
    if request.method == "POST":
        try:
            attendees.cancel_for_attendee(registration, reason)
        except DomainError as refused:
            error = refused.message
        else:
            flash(f"{registration.name}'s place is cancelled and they are being told.", "success")
            return back_to_list(slug)
    return render_template(
        "attendees/confirm_cancel.html",
        event=event,
        registration=registration,
        reason=reason,
        error=error,
        max_reason=attendees.MAX_REASON,
    ), 400 if error else 200


@bp.post(PAGE + "/<int:registration_id>/attendance")
def mark_attendance(slug, registration_id):
    event = hosted_event(slug)
    registration = attendees.registration_of(event, registration_id)
    try:
        if request.form.get("attended") == "no":
            attendance.unmark_attended(registration)
        else:
            attendance.mark_attended(registration, current_user)
    except DomainError as error:
        flash(error.message, "error")
    return back_to_list(slug, f"#registration-{registration.id}")
