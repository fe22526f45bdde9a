"""Flask commands: organiser accounts and demo data."""

import sqlalchemy as sa

from lero_events.accounts import authenticate
from lero_events.extensions import db
from lero_events.models import Event, Organiser


def test_create_organiser_reads_password_from_stdin_and_hashes_it(app, runner):
    result = runner.invoke(
        args=["create-organiser", "Host@Example.org", "--name", "Hana Host"],
        input="correct horse battery\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created organiser Hana Host <host@example.org>" in result.output
    with app.app_context():
        organiser = db.session.scalar(sa.select(Organiser))
        assert organiser.password_hash.startswith("$argon2")
        assert authenticate("host@example.org", "correct horse battery") == organiser

    again = runner.invoke(
        args=["create-organiser", "host@example.org", "--name", "X"],
        input="correct horse battery\n",
    )
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_create_organiser_refuses_short_password(runner):
    result = runner.invoke(
        args=["create-organiser", "a@example.org", "--name", "A"], input="short\n"
    )
    assert result.exit_code == 1
    assert "at least 10 characters" in result.output


def test_demo_is_idempotent_and_publishes_two_future_london_events(app, runner, client):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "demo@example.org with password:" in first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    assert "already exists" in second.output
    with app.app_context():
        events = db.session.scalars(sa.select(Event).order_by(Event.starts_at)).all()
        assert [e.slug for e in events] == ["launch", "big-conversation"]
        assert all(e.status == "published" and e.capacity == 168 for e in events)
        assert all(e.timezone == "Europe/London" for e in events)
        launch, follow_up = events
        assert [item.kind for item in launch.agenda_items][:2] == ["talk", "panel"]
        assert (follow_up.ends_at - follow_up.starts_at).total_seconds() == 90 * 60
        password = first.output.split("password: ")[1].split()[0]
        assert authenticate("demo@example.org", password) is not None
    listing = client.get("/").get_data(as_text=True)
    assert "Recovery Voices Network: launch day" in listing
    assert "The Big Conversation" in listing
