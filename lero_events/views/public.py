"""Public pages: upcoming events and one event."""

from flask import Blueprint, render_template
from flask_login import current_user

from ..events import get_event, upcoming_events

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    return render_template("index.html", events=upcoming_events())


@bp.get("/events/<slug>")
def event(slug):
    return render_template("events/event.html", event=get_event(slug, current_user))
