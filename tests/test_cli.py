"""Flask commands: organiser accounts and demo data."""

import sqlalchemy as sa

from lero_events.accounts import authenticate
from lero_events.extensions import db
from lero_events.models import Organiser


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


def test_set_password_reads_standard_input_and_replaces_the_old_one(app, runner):
    create = runner.invoke(
        args=["create-organiser", "host@example.org", "--name", "Hana"],
        input="the first password\n",
    )
    assert create.exit_code == 0, create.output
    result = runner.invoke(args=["set-password", "Host@Example.org"], input="a brand new one\n")
    assert result.exit_code == 0, result.output
    assert "New password set for host@example.org." in result.output
    with app.app_context():
        assert authenticate("host@example.org", "a brand new one") is not None
        assert authenticate("host@example.org", "the first password") is None


def test_set_password_refuses_unknown_organisers_and_short_passwords(app, runner):
    runner.invoke(
        args=["create-organiser", "host@example.org", "--name", "Hana"],
        input="the first password\n",
    )
    unknown = runner.invoke(args=["set-password", "nobody@example.org"], input="long enough!\n")
    assert unknown.exit_code == 1
    assert "No organiser has the email nobody@example.org." in unknown.output
    short = runner.invoke(args=["set-password", "host@example.org"], input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    with app.app_context():
        assert authenticate("host@example.org", "the first password") is not None
