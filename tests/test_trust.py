"""Trust: nothing personal in logs, no 500s when Redis is down or for odd input, sessions that end.

Issue 11's findings 6, 8 (the rate limiter) and 9, each tested through real HTTP, a real
database and, where it matters, a real server process.
"""

import json
import logging
import os
import re
import subprocess
import sys

import pytest
import requests
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from lero_events.config import instance_secret_key
from lero_events.extensions import db
from lero_events.models import Event, Registration

from .conftest import ROOT, create_event, create_organiser, free_port, fresh_app, login, run_tasks
from .live_clients import close_all_clients, contribute, join, make_room, refused_message
from .test_registration import register

PERSONAL = {
    "name": "Priya Personal",
    "email": "priya.personal@example.org",
    "access_needs": "Wheelchair access and a quiet room",
    "display_name": "Priya P",
}


def assert_nothing_personal(text, *extra):
    for value in (*PERSONAL.values(), *extra):
        assert value not in text, f"{value!r} is in the log"


@pytest.fixture
def event(app):
    with app.app_context():
        return create_event(slug="big-conversation", capacity=5).id


@pytest.fixture
def refusing_inserts(app, event):
    """Make the database itself refuse new registrations, as a full disk or a broken
    constraint would: the statement fails with every value the person typed in it."""
    with app.app_context():
        connection = db.session.connection()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON registration "
                "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
            )
        else:
            # PostgreSQL's own message repeats the failing row: name, email, token and all.
            connection.exec_driver_sql(
                "ALTER TABLE registration ADD CONSTRAINT refuse CHECK (length(name) < 0)"
            )
        db.session.commit()
    app.config["PROPAGATE_EXCEPTIONS"] = False


def test_a_database_error_logs_no_name_email_access_needs_or_token(
    app, client, refusing_inserts, caplog
):
    with caplog.at_level(logging.DEBUG):
        response = register(client, **PERSONAL)
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert "Exception on /events/big-conversation/register [POST]" in caplog.text
    assert "parameters hidden due to hide_parameters=True" in caplog.text
    assert_nothing_personal(caplog.text)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 0


def test_an_smtp_server_refusing_the_address_logs_no_address(app, client, event, caplog):
    class RefuseEveryone:
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 5.1.1 No such mailbox here"

    controller = Controller(RefuseEveryone(), hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    logging.getLogger("lero_events.outbox").disabled = False
    try:
        with caplog.at_level(logging.DEBUG):
            assert register(client, **PERSONAL).status_code == 303
            assert run_tasks(app) >= 1
    finally:
        controller.stop()
    # The test's own SMTP server logs what it was sent (logger "mail.log"); the app must not.
    logged = "\n".join(
        caplog.handler.format(record)
        for record in caplog.records
        if not record.name.startswith("mail.")
    )
    assert "Email 1 (confirmed) not sent (attempt 1)" in logged
    assert "SMTPRecipientsRefused: {'[address]': (550" in logged
    with app.app_context():
        token = db.session.scalar(sa.select(Registration.token))
    assert_nothing_personal(logged, token)


def test_with_redis_down_register_log_in_and_exports_still_answer_and_still_limit(
    app, start_server
):
    with app.app_context():
        create_event(slug="big-conversation", capacity=5)
        event = db.session.scalar(sa.select(Event))
        event.harvest_published = True
        db.session.commit()
        db.engine.dispose()
    nothing_listening = f"redis://127.0.0.1:{free_port()}/0"
    server = start_server(REDIS_URL=nothing_listening, LERO_REGISTRATION_RATE_LIMIT="3 per minute")
    browser = requests.Session()

    def form(path):
        page = browser.get(server.url + path, timeout=10)
        assert page.status_code == 200
        return csrf_token_in(page.text)

    logged_in = browser.post(
        server.url + "/login",
        data={"csrf_token": form("/login"), "email": "x@example.org", "password": "wrong"},
        timeout=10,
    )
    assert logged_in.status_code == 400
    assert "That email and password do not match" in logged_in.text
    export = browser.get(server.url + "/events/big-conversation/harvest/export.md", timeout=10)
    assert export.status_code == 200 and export.text.startswith("# A Big Conversation")

    answers = []
    for number in range(4):
        token = form("/events/big-conversation/register")
        answers.append(
            browser.post(
                server.url + "/events/big-conversation/register",
                data={
                    "csrf_token": token,
                    "name": "Robin",
                    "email": f"robin{number}@example.org",
                    "consent": "y",
                },
                allow_redirects=False,
                timeout=10,
            ).status_code
        )
    assert answers == [303, 303, 303, 429], "limits are counted in memory meanwhile"


def csrf_token_in(page):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture
def harvest_event(app):
    with app.app_context():
        create_event(slug="big-conversation", capacity=5)
        event = db.session.scalar(sa.select(Event))
        event.harvest_published = True
        db.session.commit()


HUGE = "9" * 25


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "message"),
    [
        ("get", f"/events/big-conversation/harvest/prompts/{HUGE}", None, 404, "not found"),
        ("get", f"/events/big-conversation/harvest/contributions/{HUGE}", None, 404, "not found"),
        ("get", "/events/big%00conversation", None, 400, "NUL character"),
        ("get", "/?page=%00", None, 400, "NUL character"),
        ("post", "/events/big-conversation/register", {"name": "Rob\x00in"}, 400, "NUL"),
        ("post", "/login", {"email": "a\x00@example.org", "password": "x"}, 400, "NUL"),
    ],
)
def test_huge_numbers_and_nul_characters_get_a_clear_4xx_not_a_500(
    app, client, harvest_event, caplog, method, path, data, status, message
):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    if data is not None:
        data = {"csrf_token": csrf_token_of(client, path), "consent": "y", **data}
        data.setdefault("email", "robin@example.org")
    response = getattr(client, method)(path, data=data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert "Traceback" not in caplog.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Registration)) == 0


def test_a_huge_page_number_shows_the_first_page(app, client, harvest_event):
    response = client.get(f"/events/big-conversation/harvest/other-reflections?page={HUGE}")
    assert response.status_code == 200


def csrf_token_of(client, path):
    page = client.get(path).get_data(as_text=True)
    return csrf_token_in(page)


@pytest.fixture
def room(app):
    room = make_room(app)
    yield room
    close_all_clients()


def test_live_room_refuses_nul_characters_and_huge_numbers_without_a_traceback(
    app, room, start_server
):
    server = start_server()
    refused = refused_message(server, {"slug": room["slug"] + "\x00", "last_seq": 0})
    assert refused == "The live room could not understand how you are joining."
    alice = join(server, room, "alice")
    for event_name, payload in [
        ("contribute", {"client_id": "c1", "text": "Hello\x00there", "prompt_id": None}),
        ("contribute", {"client_id": "c2", "text": "Hello", "prompt_id": 2**64}),
        ("resonate", {"contribution_id": 2**70}),
    ]:
        assert alice.call(event_name, payload) == {
            "ok": False,
            "error": "The live room could not understand that message.",
        }
    assert contribute(alice, "Still here.")["ok"] is True
    log = server.log.read_text()
    assert "Traceback" not in log, log


def test_an_oversized_polling_post_gets_an_answer(app, start_server):
    server = start_server()
    polling = f"{server.url}/socket.io/?EIO=4&transport=polling"
    opened = requests.get(polling, timeout=10)
    sid = json.loads(opened.text[1:])["sid"]
    too_big = "4" + "x" * (app.config["LIVE_MAX_FRAME_BYTES"] + 1)
    response = requests.post(f"{polling}&sid={sid}", data=too_big, timeout=10)
    assert response.status_code == 413
    assert response.text == "That message is larger than the live room takes."


def test_one_https_switch_makes_cookies_secure_and_sends_hsts(tmp_path, database_url):
    with fresh_app(tmp_path, database_url, HTTPS=True) as app:
        client = app.test_client()
        response = client.get("/login", base_url="https://localhost")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert "; Secure" in response.headers["Set-Cookie"]
        assert app.config["PREFERRED_URL_SCHEME"] == "https"
    with fresh_app(tmp_path, database_url) as app:
        response = app.test_client().get("/login")
        assert "Strict-Transport-Security" not in response.headers
        assert "; Secure" not in response.headers["Set-Cookie"]


def copy_of_session(app, client):
    """Another browser holding a copy of `client`'s session cookie, as a thief would."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value, domain="localhost")
    return thief


def test_logging_out_ends_a_copied_session_cookie_too(app, client):
    with app.app_context():
        create_organiser()
    assert login(client).status_code == 302
    thief = copy_of_session(app, client)
    assert "Your events" in thief.get("/organiser/").get_data(as_text=True)

    page = client.get("/organiser/").get_data(as_text=True)
    logged_out = client.post("/logout", data={"csrf_token": csrf_token_in(page)})
    assert logged_out.status_code == 302

    stolen = thief.get("/organiser/")
    assert stolen.status_code == 302
    assert stolen.headers["Location"].startswith("/login")
    # Logging in again makes a session that works, and the old copy still does not.
    assert login(client).status_code == 302
    assert client.get("/organiser/").status_code == 200
    assert thief.get("/organiser/").status_code == 302


def test_a_new_password_ends_every_session_made_with_the_old_one(app, client, runner):
    with app.app_context():
        create_organiser()
    assert login(client).status_code == 302
    thief = copy_of_session(app, client)
    assert thief.get("/organiser/").status_code == 200

    result = runner.invoke(
        args=["set-password", "organiser@example.org"],
        input="a brand new password\na brand new password\n",
    )
    assert result.exit_code == 0, result.output
    for browser in (client, thief):
        refused = browser.get("/organiser/")
        assert refused.status_code == 302
        assert refused.headers["Location"].startswith("/login")
    assert login(app.test_client(), password="a brand new password").status_code == 302


def test_a_session_cookie_from_before_session_keys_is_refused(app, client):
    """Cookies made before the upgrade named the organiser by id alone."""
    with app.app_context():
        organiser_id = create_organiser().id
    with client.session_transaction() as session:
        session["_user_id"] = str(organiser_id)
        session["_fresh"] = True
    assert client.get("/organiser/").status_code == 302


def test_only_our_own_host_names_are_answered_pages_and_live_room(tmp_path, database_url):
    """Without LERO_PUBLIC_BASE_URL: the host `python app.py` listens on, and loopback names."""
    with fresh_app(
        tmp_path, database_url, PUBLIC_BASE_URL=None, SERVER_NAME=None, HOST="10.1.2.3"
    ) as app:
        client = app.test_client()
        for address in ("http://10.1.2.3:5000", "http://localhost:5000", "http://127.0.0.1"):
            assert "Log in" in client.get("/login", base_url=address).get_data(as_text=True)
        for address in ("http://evil.example", "http://10.1.2.3.evil.example:5000"):
            for path in ("/login", "/socket.io/?EIO=4&transport=polling"):
                refused = client.get(path, base_url=address)
                assert refused.status_code == 400
                assert "does not answer to that address" in refused.get_data(as_text=True)


def test_a_real_server_refuses_a_forged_host_and_answers_its_own(app, start_server):
    server = start_server()
    for path in ("/", "/socket.io/?EIO=4&transport=polling"):
        forged = requests.get(server.url + path, headers={"Host": "evil.example"}, timeout=10)
        assert forged.status_code == 400
        assert "does not answer to that address" in forged.text
    opened = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=10)
    assert opened.status_code == 200 and '"sid"' in opened.text


def test_the_public_address_and_listed_hosts_are_answered(tmp_path, database_url):
    with fresh_app(
        tmp_path, database_url, PUBLIC_BASE_URL="https://events.example.org", SERVER_NAME=None
    ) as app:
        client = app.test_client()
        assert client.get("/login", base_url="https://events.example.org").status_code == 200
        assert client.get("/login", base_url="https://other.example.org").status_code == 400
    with fresh_app(tmp_path, database_url, TRUSTED_HOSTS=["other.example.org"]) as app:
        client = app.test_client()
        assert client.get("/login", base_url="https://other.example.org").status_code == 200
        assert client.get("/login", base_url="https://events.example.org").status_code == 400


def refused_start(tmp_path, **settings):
    """`python app.py` with `settings` in its environment, expected to stop at once; its
    stderr, which must say why without a traceback."""
    environment = {
        **os.environ,
        "LERO_PORT": str(free_port()),
        "LERO_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'refused.sqlite'}",
        **settings,
    }
    environment.pop("LERO_PUBLIC_BASE_URL", None)
    started = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 1
    assert "Traceback" not in started.stderr
    return started.stderr


def test_listening_beyond_this_computer_needs_the_public_address(tmp_path):
    said = refused_start(tmp_path, LERO_HOST="0.0.0.0")  # noqa: S104 (the start is refused)
    assert "LERO_HOST=0.0.0.0 lets other computers reach this server" in said
    assert "set LERO_PUBLIC_BASE_URL" in said


def test_a_host_list_a_shell_stripped_of_its_quotes_stops_the_start_with_what_to_write(
    tmp_path,
):
    """`. /etc/lero-events.env` turns LERO_TRUSTED_HOSTS=["x"] into [x], which is no JSON: the
    server would refuse every request, so it does not start, and says how to write it."""
    said = refused_start(tmp_path, LERO_TRUSTED_HOSTS="[events.example.org]")
    assert "LERO_TRUSTED_HOSTS=[events.example.org] is not a JSON list" in said
    assert """LERO_TRUSTED_HOSTS='["events.example.org"]'""" in said


CHMODS = []


def record_chmods(event, args):
    if event == "os.chmod":
        CHMODS.append(str(args[0]))


sys.addaudithook(record_chmods)


def test_outbox_files_and_the_secret_key_are_private_from_their_first_byte(
    app, client, event, tmp_path
):
    """Created with mode 0600, never created open and chmod-ed afterwards: even with a umask
    that lets everyone read new files."""
    previous = os.umask(0)
    try:
        assert register(client, **PERSONAL).status_code == 303
        run_tasks(app)
        key_folder = tmp_path / "keys"
        key_folder.mkdir()
        instance_secret_key(key_folder)
    finally:
        os.umask(previous)
    [eml] = (tmp_path / "instance" / "outbox").glob("*.eml")
    for path in (eml, key_folder / "secret_key"):
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        assert str(path) not in CHMODS
