"""One log line per event: Flask's handler and the migrations' set-up used to print each twice."""

import re
import time
from pathlib import Path

import requests

from lero_events import create_app
from lero_events.extensions import db

from .conftest import create_event


def test_a_real_server_logs_each_filed_email_once(start_server, tmp_path):
    """`python app.py` on the embedded default: migrations at start-up, no MAIL_SERVER."""
    database = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    server = start_server(DATABASE_URL=database, LERO_AUTO_MIGRATE="true")
    fresh = create_app(
        {
            "DATABASE_URL": database,
            "INSTANCE_PATH": server.env["LERO_INSTANCE_PATH"],
            "AUTO_MIGRATE": False,
            "TASK_QUEUE_URL": "memory://",
        }
    )
    with fresh.app_context():
        create_event(slug="big-conversation")
        db.engine.dispose()
    browser = requests.Session()
    login_page = browser.get(server.url + "/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    response = browser.post(
        server.url + "/events/big-conversation/register",
        data={"csrf_token": token, "name": "Robin", "email": "robin@example.org", "consent": "y"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303
    outbox = Path(server.env["LERO_INSTANCE_PATH"]) / "outbox"
    deadline = time.monotonic() + 15
    while not list(outbox.glob("*.eml")) and time.monotonic() < deadline:
        time.sleep(0.1)
    (path,) = outbox.glob("*.eml")
    time.sleep(0.5)  # a second copy of the line would be written at once
    lines = [line for line in server.log.read_text().splitlines() if str(path) in line]
    assert len(lines) == 1, server.log.read_text()
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WARNING \[lero_events.outbox\] ", lines[0])
