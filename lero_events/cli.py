"""Flask commands: organiser accounts and demo data."""

import secrets
import sys
from datetime import datetime, time, timedelta

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from . import accounts, events, tasks
from .errors import DomainError
from .extensions import db
from .models import Event


@click.command("create-organiser")
@with_appcontext
@click.argument("email")
@click.option("--name", required=True, help="The organiser's name as attendees will see it.")
def create_organiser_command(email, name):
    """Create an organiser account; the password comes from a prompt or standard input."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        organiser = accounts.create_organiser(email, name, password)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created organiser {organiser.name} <{organiser.email}>.")


def next_weekday(after, weekday):
    """The first date after `after` that falls on `weekday` (Monday is 0)."""
    return after + timedelta(days=(weekday - after.weekday() - 1) % 7 + 1)


def demo_events(today):
    """The demo network's launch day and its Big Conversation follow-up, both in the future."""
    launch_day = next_weekday(today + timedelta(days=13), 3)
    follow_up = next_weekday(launch_day + timedelta(days=13), 2)

    def at(day, hour, minute=0):
        return datetime.combine(day, time(hour, minute))

    launch = events.EventData(
        title="Recovery Voices Network: launch day",
        slug="launch",
        timezone="Europe/London",
        starts_at=at(launch_day, 10),
        ends_at=at(launch_day, 16),
        capacity=168,
        video_url="https://meet.example.org/recovery-voices-launch",
        allow_guests=True,
        description=(
            "The launch of a network of lived experience recovery organisations. A morning "
            "panel of people in recovery and the groups they built, then three hours of "
            "facilitated conversation: what recovery communities need, in our own words."
        ),
        agenda=[
            events.AgendaItemData(
                "Welcome and why we are here", "talk", at(launch_day, 10), at(launch_day, 10, 30)
            ),
            events.AgendaItemData(
                "Panel: recovery built by people in recovery",
                "panel",
                at(launch_day, 10, 30),
                at(launch_day, 12),
            ),
            events.AgendaItemData("Lunch", "break", at(launch_day, 12), at(launch_day, 13)),
            events.AgendaItemData(
                "Facilitated conversation", "conversation", at(launch_day, 13), at(launch_day, 16)
            ),
        ],
    )
    big_conversation = events.EventData(
        title="The Big Conversation: what helps recovery last?",
        slug="big-conversation",
        timezone="Europe/London",
        starts_at=at(follow_up, 18, 30),
        ends_at=at(follow_up, 20),
        capacity=168,
        video_url="https://meet.example.org/big-conversation",
        description=(
            "Ninety minutes to carry on where the launch left off. Share a reflection, hear "
            "others, and help shape the network's next year."
        ),
        agenda=[
            events.AgendaItemData("Welcome", "talk", at(follow_up, 18, 30), at(follow_up, 18, 40)),
            events.AgendaItemData(
                "The Big Conversation", "conversation", at(follow_up, 18, 40), at(follow_up, 19, 50)
            ),
            events.AgendaItemData(
                "What happens next", "talk", at(follow_up, 19, 50), at(follow_up, 20)
            ),
        ],
    )
    return [launch, big_conversation]


@click.command("demo")
@with_appcontext
def demo_command():
    """Load demo data; running it again changes nothing already there."""
    organiser = accounts.find_organiser("demo@example.org")
    if organiser is None:
        password = secrets.token_urlsafe(12)
        organiser = accounts.create_organiser("demo@example.org", "Demo Organiser", password)
        click.echo(f"Created organiser demo@example.org with password: {password}")
    else:
        click.echo("Organiser demo@example.org already exists (password unchanged).")
    for data in demo_events(datetime.now().date()):
        if db.session.scalar(sa.select(Event).where(Event.slug == data.slug)):
            click.echo(f"Event '{data.slug}' already exists.")
            continue
        event = events.publish_event(events.create_event(organiser, data))
        click.echo(f"Created and published '{event.title}' at /events/{event.slug}.")


@click.command("worker")
@with_appcontext
@click.option("--workers", default=2, show_default=True, help="Tasks run at the same time.")
def worker_command(workers):
    """Work the task queue (emails, reminders) in this process until stopped (Ctrl-C)."""
    tasks.run_worker(workers)


def init_app(app):
    app.cli.add_command(create_organiser_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(worker_command)
