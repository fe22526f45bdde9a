"""Evidence pages for hosts: per event (exact, with the personal-data access log), a
shareable printable version and downloads (small numbers hidden), and across an organiser's
events. Every per-event address answers anyone but the event's hosts with a 404."""

from flask import Blueprint, Response, current_app, g, render_template
from flask_login import current_user, login_required

from .. import personal_data
from ..events import get_event_for_hosts
from ..evidence import report, summary
from ..extensions import limiter
from ..invites import public_url

bp = Blueprint("evidence", __name__)

MEDIA_TYPES = {"md": "text/markdown; charset=utf-8", "csv": "text/csv; charset=utf-8"}


def hosted_event(slug):
    organiser = current_user if current_user.is_authenticated else None
    event = get_event_for_hosts(slug, organiser)
    g.private_page = True
    return event


def threshold():
    return int(current_app.config["SMALL_NUMBER_THRESHOLD"])


@bp.get("/events/<slug>/evidence")
def event_page(slug):
    event = hosted_event(slug)
    return render_template(
        "evidence/event.html",
        event=event,
        report=report.event_report(event, threshold()),
        access_log=personal_data.access_log(event, limit=50),
    )


@bp.get("/events/<slug>/evidence/shareable")
def shareable_page(slug):
    """The page as it may be printed or shown to others: small numbers hidden, no log."""
    event = hosted_event(slug)
    return render_template(
        "evidence/event.html",
        event=event,
        report=report.event_report(event, threshold(), shared=True),
        access_log=None,
    )


def download(shared, url, filename, extension):
    if extension == "md":
        body = summary.summary_markdown(shared, url)
    else:
        body = summary.summary_csv(shared)
    return Response(
        body,
        content_type=MEDIA_TYPES[extension],
        headers={"Content-Disposition": f'attachment; filename="{filename}.{extension}"'},
    )


@bp.get("/events/<slug>/evidence/summary.<any(md, csv):extension>")
@limiter.limit("30 per minute")
def event_download(slug, extension):
    event = hosted_event(slug)
    shared = report.event_report(event, threshold(), shared=True)
    return download(shared, public_url("public.event", slug=slug), f"{slug}-evidence", extension)


@bp.get("/evidence")
@login_required
def organiser_page():
    g.private_page = True
    return render_template(
        "evidence/organiser.html", report=report.organiser_report(current_user, threshold())
    )


@bp.get("/evidence/shareable")
@login_required
def organiser_shareable_page():
    g.private_page = True
    shared = report.organiser_report(current_user, threshold(), shared=True)
    return render_template("evidence/organiser.html", report=shared)


@bp.get("/evidence/summary.<any(md, csv):extension>")
@login_required
@limiter.limit("30 per minute")
def organiser_download(extension):
    g.private_page = True
    shared = report.organiser_report(current_user, threshold(), shared=True)
    return download(shared, public_url("public.index"), "evidence-across-events", extension)
