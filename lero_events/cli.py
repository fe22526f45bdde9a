"""Flask commands: organiser accounts, demo data, the worker and the retention purge."""

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from . import accounts, demo, outbox, retention, tasks
from .errors import DomainError


def read_password():
    """A new password from a hidden prompt (typed twice), or the first line of standard input."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\n")


@click.command("create-organiser")
@with_appcontext
@click.argument("email")
@click.option("--name", required=True, help="The organiser's name as attendees will see it.")
def create_organiser_command(email, name):
    """Create an organiser account; the password comes from a prompt or standard input."""
    try:
        organiser = accounts.create_organiser(email, name, read_password())
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created organiser {organiser.name} <{organiser.email}>.")


@click.command("set-password")
@with_appcontext
@click.argument("email")
def set_password_command(email):
    """Give an organiser a new password, from a prompt or standard input."""
    try:
        organiser = accounts.find_organiser(accounts.normalise_email(email))
        if organiser is None:
            raise DomainError(f"No organiser has the email {email.strip()}.")
        accounts.set_password(organiser, read_password())
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"New password set for {organiser.email}.")


@click.command("demo")
@with_appcontext
@click.option("--reset", is_flag=True, help="Delete the demo events and tell the story afresh.")
def demo_command(reset):
    """Load the demo: a past launch with its harvest, a live room now, an event to book.

    Running it again changes nothing; --reset rebuilds it around the current time.
    """
    if reset:
        removed = demo.remove_demo()
        click.echo(f"Removed {removed} demo event{'' if removed == 1 else 's'}.")
    loaded = demo.load_demo()
    if loaded is None:
        click.echo(
            "The demo is already loaded, so nothing changed. "
            "`flask --app app demo --reset` rebuilds it around the current time."
        )
    else:
        click.echo(
            f"Loaded the demo. Its people are made up: the {loaded.emails} emails they were "
            f"sent are in {current_app.config['OUTBOX_DIR']}."
        )
    if loaded is not None and loaded.password:
        click.echo(f"Log in as organiser {demo.ORGANISER_EMAIL} with password: {loaded.password}")
    else:
        click.echo(
            f"Log in as organiser {demo.ORGANISER_EMAIL} (for a new password: "
            f"flask --app app set-password {demo.ORGANISER_EMAIL})."
        )
    base = outbox.site_url().rstrip("/")
    for what, path in demo.tour(demo.demo_events()):
        click.echo(f"  {what}: {base}{path}")


@click.command("worker")
@with_appcontext
@click.option("--workers", default=2, show_default=True, help="Tasks run at the same time.")
def worker_command(workers):
    """Work the task queue (emails, reminders) in this process until stopped (Ctrl-C)."""
    tasks.run_worker(workers)


@click.command("purge")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Say what is due and change nothing.")
def purge_command(dry_run):
    """Remove personal data whose retention period is over (the queue also does this hourly)."""
    report = retention.purge_due(dry_run=dry_run)
    if not report.removed_anything:
        click.echo("Nothing is due for removal.")
        return
    events = f" (events: {', '.join(report.events)})" if report.events else ""
    click.echo(("Would remove" if dry_run else "Removed") + events + ":")
    for line in report.lines():
        click.echo(f"  {line}")


def init_app(app):
    app.cli.add_command(create_organiser_command)
    app.cli.add_command(set_password_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(purge_command)
