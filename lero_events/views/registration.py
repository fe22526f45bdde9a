"""Registering for an event, and the private link: status, cancelling, erasing, and what a
person does about their own data (self_service.py)."""

import json

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length

from .. import consent, places, privacy, registrations, retention, self_service
from ..errors import DomainError, NotFound
from ..events import get_event
from ..extensions import limiter
from ..registrations import FIELD_LIMITS, RegistrationData, RegistrationInvalid

bp = Blueprint("registration", __name__)

TOO_MANY_ATTEMPTS = (
    "You have tried to register many times in a short while. Please wait a minute and try "
    "again; if you are booking for a group, ask the organiser to help."
)


def strip(value):
    """Spaces pasted around an answer are not part of it."""
    return value.strip() if isinstance(value, str) else value


class RegistrationForm(FlaskForm):
    name = StringField(
        "Your name",
        filters=[strip],
        validators=[DataRequired("Tell us your name."), Length(max=FIELD_LIMITS["name"])],
    )
    email = EmailField(
        "Email",
        filters=[strip],
        validators=[
            DataRequired("Give an email address for your link and invite."),
            Length(max=FIELD_LIMITS["email"]),
            Email("That email address does not look right."),
        ],
        description="We send your private link and calendar invite here.",
    )
    organisation = StringField(
        "Organisation (optional)",
        filters=[strip],
        validators=[Length(max=FIELD_LIMITS["organisation"])],
    )
    display_name = StringField(
        "Name to show in the live room (optional)",
        filters=[strip],
        validators=[Length(max=FIELD_LIMITS["display_name"])],
        description="Leave it empty to take part anonymously.",
    )
    access_needs = TextAreaField(
        "Access needs (optional)",
        filters=[strip],
        validators=[Length(max=FIELD_LIMITS["access_needs"])],
        description="Anything that helps you take part: captions, breaks, a quiet word first.",
    )
    discreet = BooleanField(
        "Keep my invites discreet",
        description=(
            'Calendar entries and email subjects say only "Online meeting" (or the name the '
            "organiser chose), from a neutral sender; the details stay behind your private link."
        ),
    )
    consent = BooleanField(
        "I have read the privacy notice above and agree to my details being used this way.",
        validators=[DataRequired("Please tick the box to agree, or we cannot book you.")],
    )

    def to_data(self):
        return RegistrationData(
            name=self.name.data or "",
            email=self.email.data or "",
            organisation=self.organisation.data or "",
            display_name=self.display_name.data or "",
            access_needs=self.access_needs.data or "",
            consent=bool(self.consent.data),
            discreet=bool(self.discreet.data),
        )

    def show_errors(self, errors):
        """Attach the domain's field-by-field reasons to the form's fields."""
        for name, message in errors.items():
            getattr(self, name).errors = [*getattr(self, name).errors, message]


def public_places(event):
    """Places as the public sees them: a band (places.availability), never the exact figure."""
    if event.capacity is None:
        return None
    return places.availability(event.capacity, registrations.seats_left(event))


class DetailsForm(FlaskForm):
    display_name = RegistrationForm.display_name
    access_needs = RegistrationForm.access_needs


@bp.app_template_global()
def registration_summary(event):
    """What the event page says about booking: open or not, and how many places (a band)."""
    problem = registrations.registration_problem(event)
    return {"open": problem is None, "places": public_places(event) if problem is None else None}


@bp.route("/events/<slug>/register", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["REGISTRATION_RATE_LIMIT"],
    methods=["POST"],
    error_message=TOO_MANY_ATTEMPTS,
)
def register(slug):
    if request.method == "POST":
        try:
            # The event is read under its seat lock: a valid post reads it once.
            registrations.register_attendee_at(slug, posted_registration(), current_user)
        except RegistrationInvalid as invalid:
            form = answered_form(invalid)
        else:
            return booked(slug)
    else:
        form = RegistrationForm()
    event = get_event(slug, current_user)
    registrations.check_open(event)
    return render_template(
        "registration/register.html",
        form=form,
        event=event,
        places=public_places(event),
        owner=privacy.owner_of(event),
        retention_days=retention.retention_days(event),
    ), 400 if form.errors else 200


def posted_registration():
    """The posted fields as RegistrationData, read as RegistrationForm reads them. The domain
    checks every field its validators check (validate_registration), so a valid post books
    without building the form (0.2 ms of the 2.8 a booking cost); an invalid one is answered by
    the form (answered_form)."""
    posted = request.form
    return RegistrationData(
        **{name: posted.get(name, "") for name in FIELD_LIMITS},
        consent=ticked(posted, "consent"),
        discreet=ticked(posted, "discreet"),
    )


def ticked(posted, name):
    """A checkbox as BooleanField reads it."""
    return posted.get(name, "") not in BooleanField.false_values


def answered_form(invalid):
    """The form for a post the domain refused, with the form's own messages as before; the
    domain's reasons where the form found nothing wrong."""
    form = RegistrationForm()
    if form.validate_on_submit():
        form.show_errors(invalid.errors)
    return form


def booked(slug):
    """The same answer whether the address was new or already booked: the private link goes
    only to the address, so nobody learns who is booked or gets their link."""
    return redirect(url_for(".check_email", slug=slug), 303)


@bp.get("/events/<slug>/register/check-email")
def check_email(slug):
    """Where every successful registration lands: the link is in the email, not here."""
    return render_template("registration/check_email.html", event=get_event(slug, current_user))


def registration_from_link(token):
    """The registration behind a private link; the page is never cached or shared."""
    g.private_page = True
    return registrations.registration_for_token(token)


@bp.get("/r/<token>")
def private_page(token):
    registration = registration_from_link(token)
    return render_template(
        "registration/private.html",
        registration=registration,
        event=registration.event,
        token=token,
        show_video=registrations.video_link_visible(registration),
        opens_minutes=current_app.config["VIDEO_LINK_OPENS_MINUTES_BEFORE"],
        reflections=self_service.reflections_of(registration),
        owner=privacy.owner_of(registration.event),
        sharing_labels=consent.SHARING,
    )


@bp.get("/r/<token>/my-data.json")
def my_data(token):
    """Everything held about the person, as a JSON file to keep."""
    registration = registration_from_link(token)
    data = self_service.personal_data_export(registration)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=1),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-data.json"'},
    )


@bp.route("/r/<token>/details", methods=["GET", "POST"])
def details(token):
    """Correct the live-room name and access needs, keeping the place."""
    registration = registration_from_link(token)
    form = DetailsForm(obj=registration if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            changed = self_service.correct_details(
                registration, form.display_name.data, form.access_needs.data
            )
        except RegistrationInvalid as invalid:
            for name, message in invalid.errors.items():
                getattr(form, name).errors = [*getattr(form, name).errors, message]
        else:
            flash(
                "Your details are updated." if changed else "Nothing changed.",
                "success" if changed else "message",
            )
            return redirect(url_for(".private_page", token=token), 303)
    return render_template(
        "registration/details.html",
        form=form,
        registration=registration,
        event=registration.event,
        token=token,
    ), 400 if form.errors else 200


@bp.post("/r/<token>/reflections/<int:contribution_id>/sharing")
def change_sharing(token, contribution_id):
    registration = registration_from_link(token)
    try:
        self_service.change_sharing(registration, contribution_id, request.form.get("sharing"))
    except NotFound:
        raise
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash("Saved: where that reflection may appear has changed.", "success")
    return redirect(url_for(".private_page", token=token, _anchor="reflections"), 303)


@bp.post("/r/<token>/reflections/<int:contribution_id>/take-down")
def take_down(token, contribution_id):
    registration = registration_from_link(token)
    self_service.take_down(registration, contribution_id)
    flash(
        "Your reflection is taken down: it is gone from the harvest and the live room.", "success"
    )
    return redirect(url_for(".private_page", token=token, _anchor="reflections"), 303)


@bp.route("/r/<token>/cancel", methods=["GET", "POST"])
def cancel(token):
    registration = registration_from_link(token)
    if registration.status == "cancelled":
        flash("This registration is already cancelled.")
        return redirect(url_for(".private_page", token=token), 303)
    if request.method == "POST":
        registrations.cancel_registration(registration)
        flash("Your registration is cancelled. Thank you for letting us know.", "success")
        return redirect(url_for(".private_page", token=token), 303)
    return render_template(
        "registration/confirm_cancel.html",
        registration=registration,
        event=registration.event,
        token=token,
    )


@bp.route("/r/<token>/erase", methods=["GET", "POST"])
def erase(token):
    registration = registration_from_link(token)
    if request.method == "POST":
        event = registration.event
        try:
            self_service.erase_person(registration, request.form.get("reflections", "keep"))
        except DomainError as error:
            flash(error.message, "error")
            return redirect(url_for(".erase", token=token), 303)
        flash(
            "Your details are erased and your place is released. The private link no longer works.",
            "success",
        )
        return redirect(url_for("public.event", slug=event.slug), 303)
    return render_template(
        "registration/confirm_erase.html",
        registration=registration,
        event=registration.event,
        token=token,
        has_reflections=any(
            c.status != "taken_down" for c in self_service.reflections_of(registration)
        ),
    )
