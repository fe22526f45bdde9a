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
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from .events import AGENDA_KINDS, AgendaItemData, EventData
from .messages import AUDIENCES

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
    timezone = StringField(
        "Time zone",
        default="Europe/London",
        validators=[DataRequired(), Length(max=64)],
        description="Where the event happens, e.g. Europe/London. Times below are in this zone.",
    )
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
    remind_day_before = BooleanField(
        "Email confirmed attendees a reminder a day before", default=True
    )
    remind_hour_before = BooleanField(
        "Email confirmed attendees a reminder an hour before, with the video-call link",
        default=True,
    )
    agenda = FieldList(FormField(AgendaItemForm), min_entries=3)

    def to_data(self):
        return EventData(
            title=self.title.data or "",
            slug=self.slug.data or "",
            description=self.description.data or "",
            timezone=(self.timezone.data or "").strip(),
            starts_at=self.starts_at.data,
            ends_at=self.ends_at.data,
            capacity=self.capacity.data,
            video_url=self.video_url.data or "",
            allow_guests=self.allow_guests.data,
            remind_day_before=self.remind_day_before.data,
            remind_hour_before=self.remind_hour_before.data,
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
    email = EmailField("Co-host's email", validators=[DataRequired(), Email(), Length(max=254)])


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
