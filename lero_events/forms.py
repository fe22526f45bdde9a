"""Forms for the organiser pages: field-level checks; the domain checks the rest."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length, NumberRange, Optional

from .accounts import MIN_PASSWORD_LENGTH
from .agreement import DEFAULT_AGREEMENT, MAX_AGREEMENT
from .discreet import MAX_NEUTRAL_NAME, NEUTRAL_TITLE
from .events import (
    AGENDA_KINDS,
    MAX_CANCEL_MESSAGE,
    MAX_RETENTION_DAYS,
    AgendaItemData,
    EventData,
    timezone_names,
)
from .messages import AUDIENCES
from .writing import plain_lines

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=500)])


class AgendaItemForm(Form):
    title = StringField("Title", validators=[Optional(), Length(max=200)])
    # Blank rows send no kind; the domain checks the kind of rows that are filled in.
    kind = SelectField(
        "Kind",
        choices=[SelectChoice(k, k.capitalize()) for k in AGENDA_KINDS],
        default="session",
        validate_choice=False,
    )
    starts_at = DateTimeLocalField("Starts", format=DATETIME_FORMATS, validators=[Optional()])
    ends_at = DateTimeLocalField("Ends", format=DATETIME_FORMATS, validators=[Optional()])

    def is_blank(self):
        return not (self.title.data or "").strip() and not self.starts_at.data


class EventForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        "Web address",
        validators=[Optional(), Length(max=80)],
        description="The part after /events/; made from the title when left empty.",
    )
    description = TextAreaField("Description", validators=[Length(max=20_000)])
    # A <datalist> of every zone: the browser filters it as the organiser types ("lond").
    timezone = StringField(
        "Time zone",
        default="Europe/London",
        validators=[DataRequired(), Length(max=64)],
        description=(
            "Where the event happens: type part of a city, e.g. London, and pick from the list. "
            "Times below are in this zone."
        ),
        render_kw={"list": "timezone-names", "autocomplete": "off", "spellcheck": "false"},
    )
    timezone_names = timezone_names()
    starts_at = DateTimeLocalField("Starts", format=DATETIME_FORMATS, validators=[DataRequired()])
    ends_at = DateTimeLocalField("Ends", format=DATETIME_FORMATS, validators=[DataRequired()])
    capacity = IntegerField(
        "Capacity",
        validators=[Optional(), NumberRange(min=1)],
        description="Leave empty for no limit; when full, people join a waitlist.",
    )
    video_url = URLField(
        "Video-call link",
        validators=[Optional(), Length(max=500)],
        description="Shown only to confirmed attendees, shortly before the start.",
    )
    allow_guests = BooleanField("Let people join the live room as named guests")
    support_contacts = TextAreaField(
        "Support contacts for the live room",
        validators=[Length(max=1000)],
        description=(
            "Shown to anyone who asks for support in the live room, e.g. "
            "“Samaritans: call 116 123, free, day or night”. One per line."
        ),
        render_kw={"rows": 3},
    )
    remind_day_before = BooleanField(
        "Email confirmed attendees a reminder a day before", default=True
    )
    remind_hour_before = BooleanField(
        "Email confirmed attendees a reminder an hour before, with the video-call link",
        default=True,
    )
    retention_days = IntegerField(
        "Keep attendees' personal data for (days after the event)",
        validators=[Optional(), NumberRange(min=0, max=MAX_RETENTION_DAYS)],
        description=(
            "Then names, email addresses, live-room names and access needs are removed, and so "
            "are the emails sent and the live room's log; the numbers stay. Leave empty for "
            "the site's default."
        ),
    )
    discreet = BooleanField(
        "Discreet invites for everyone booked",
        description=(
            "Calendar invites and email subjects show only the neutral name below, from a "
            "neutral sender; the details stay behind each person's private link, and the "
            "event is left out of the calendar feed. People can also ask for this themselves "
            "when they book."
        ),
    )
    discreet_name = StringField(
        "Neutral name",
        validators=[Length(max=MAX_NEUTRAL_NAME)],
        description=f'What discreet invites and emails call the event; empty: "{NEUTRAL_TITLE}".',
    )
    room_agreement = TextAreaField(
        "Room agreement",
        default=DEFAULT_AGREEMENT,
        validators=[Length(max=MAX_AGREEMENT)],
        description=(
            "Shown before anyone joins the live room; each participant accepts it once. "
            "Leave it empty to ask for nothing."
        ),
    )
    agenda = FieldList(FormField(AgendaItemForm), min_entries=3)

    def to_data(self):
        return EventData(
            title=self.title.data or "",
            slug=self.slug.data or "",
            description=plain_lines(self.description.data),
            timezone=(self.timezone.data or "").strip(),
            starts_at=self.starts_at.data,
            ends_at=self.ends_at.data,
            capacity=self.capacity.data,
            video_url=self.video_url.data or "",
            allow_guests=self.allow_guests.data,
            support_contacts=self.support_contacts.data or "",
            remind_day_before=self.remind_day_before.data,
            remind_hour_before=self.remind_hour_before.data,
            retention_days=self.retention_days.data,
            discreet=self.discreet.data,
            discreet_name=self.discreet_name.data or "",
            room_agreement=self.room_agreement.data or "",
            agenda=[
                AgendaItemData(
                    title=row.form.title.data or "",
                    kind=row.form.kind.data,
                    starts_at=row.form.starts_at.data,
                    ends_at=row.form.ends_at.data,
                )
                for row in self.agenda
                if not row.form.is_blank()
            ],
        )

    def validate_agenda(self, field):
        for number, row in enumerate(field, start=1):
            if not row.form.is_blank() and not (row.form.starts_at.data and row.form.ends_at.data):
                raise ValueError(f"Agenda item {number}: give both a start and an end.")

    def show_errors(self, errors):
        """Attach the domain's field-by-field reasons to the form's fields."""
        for name, message in errors.items():
            getattr(self, name).errors = [*getattr(self, name).errors, message]


class CohostForm(FlaskForm):
    email = EmailField(
        "Co-host's email",
        validators=[DataRequired(), Email(), Length(max=254)],
        description="Someone without an account yet gets an emailed invitation to make one.",
    )


class CancelEventForm(FlaskForm):
    message = TextAreaField(
        "A message for everyone booked (optional)",
        validators=[Length(max=MAX_CANCEL_MESSAGE)],
        description="It goes into the cancellation email, e.g. why, or when you hope to run it.",
    )


class DuplicateEventForm(FlaskForm):
    title = StringField("Title of the new event", validators=[DataRequired(), Length(max=200)])
    starts_at = DateTimeLocalField(
        "Starts",
        format=DATETIME_FORMATS,
        validators=[DataRequired("Choose when the new event starts.")],
        description="In the event's time zone; the end and the agenda move with it.",
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Your email", validators=[DataRequired(), Email("That email address does not look right.")]
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=500,
                message=f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.",
            ),
        ],
        description=f"At least {MIN_PASSWORD_LENGTH} characters; a few words you remember is fine.",
    )
    confirm = PasswordField(
        "The same password again",
        validators=[DataRequired(), EqualTo("password", "The two passwords are not the same.")],
    )


class AcceptInvitationForm(NewPasswordForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])


class MessageForm(FlaskForm):
    audience = RadioField(
        "Send to",
        choices=[SelectChoice(value, label) for value, label in AUDIENCES.items()],
        default="confirmed",
    )
    subject = StringField("Subject", validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(
        "Message",
        validators=[DataRequired(), Length(max=10_000)],
        description="Each person's email starts 'Hello' and their name, and ends with the "
        "event's details and their private link.",
    )
