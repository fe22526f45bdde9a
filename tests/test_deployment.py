"""deploy/ as docs/deployment.md sets it up: two workers sharing Redis behind the repository's
own nginx site, with the settings its env file gives them, tried with real clients through a
real nginx. (systemd is not needed for that: the workers are the units' `python app.py`.)"""

import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import urllib3

from .conftest import free_port, missing, workers_through_redis
from .live_clients import LiveClient, contribute, host_headers, join, make_room

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "deploy" / "nginx-lero-events.conf"
UPSTREAMS = "    server 127.0.0.1:5001;\n    server 127.0.0.1:5002;\n"


@dataclass
class Address:
    """Where a client reaches the app: a worker, or nginx in front of them."""

    url: str


@pytest.fixture
def workers(start_server):
    """Two workers as `deploy/lero-events@.service` runs them, with the env file's settings
    that matter behind nginx (REDIS_URL, LERO_PROXY_COUNT=1)."""
    settings = {
        **workers_through_redis(),
        "LERO_PROXY_COUNT": 1,
        "LERO_TASK_WORKER_IN_PROCESS": "false",
    }
    return [start_server(**settings), start_server(**settings)]


@pytest.fixture
def nginx(tmp_path, workers):
    """The repository's nginx site, only its ports changed, in an nginx of its own."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        missing("nginx is not installed (apt-get install nginx)")
    site = SITE.read_text()
    assert UPSTREAMS in site and "listen 80;" in site, "the site's upstream block changed"
    port = free_port()
    ports = [re.search(r":(\d+)$", worker.url).group(1) for worker in workers]
    site = site.replace(UPSTREAMS, "".join(f"    server 127.0.0.1:{p};\n" for p in ports))
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for folder in temp.values():
        folder.mkdir()
    config = tmp_path / "nginx.conf"
    errors = tmp_path / "error.log"
    config.write_text(
        f"pid {tmp_path / 'nginx.pid'};\n"
        f"error_log {errors};\n"
        "events {}\n"
        "http {\n"
        f"client_body_temp_path {temp['body']};\n"
        f"proxy_temp_path {temp['proxy']};\n"
        f"fastcgi_temp_path {temp['fastcgi']};\n"
        f"uwsgi_temp_path {temp['uwsgi']};\n"
        f"scgi_temp_path {temp['scgi']};\n"
        f"{site}\n"
        "}\n"
    )
    process = subprocess.Popen(
        [binary, "-e", str(errors), "-p", str(tmp_path), "-c", str(config)]
        + ["-g", "daemon off; master_process off;"],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                pytest.fail(f"nginx did not start: {errors.read_text()}")
            time.sleep(0.1)
    yield Address(f"http://127.0.0.1:{port}")
    process.terminate()
    process.wait(10)


def test_two_workers_behind_the_nginx_site_share_one_room(app, workers, nginx):
    """Through nginx a host over WebSocket (its upgrade headers) and a participant over
    long-polling (sticky by address) run the room; people on each worker directly hear the
    same approved reflection, so frames cross between the workers through Redis."""
    room = make_room(app)
    host = LiveClient(nginx, {"slug": room["slug"], "role": "host"}, host_headers(nginx))
    host.connect()
    alice = LiveClient(nginx, {"slug": room["slug"], "token": room["tokens"]["alice"]})
    alice.transports = ["polling"]
    alice.connect()
    assert alice.sio.transport() == "polling" and host.sio.transport() == "websocket"
    listeners = [
        join(worker, room, name) for worker, name in zip(workers, ("bob", "dee"), strict=True)
    ]

    ack = contribute(alice, "Said through nginx")
    assert ack["ok"] is True and ack["status"] == "pending"
    host.wait_for_update("contribution", lambda data: data["contribution"]["id"] == ack["id"])
    assert host.call("approve", {"contribution_id": ack["id"]})["ok"] is True
    for client in [alice, *listeners]:
        heard = client.wait_for_update(
            "contribution",
            lambda data: (
                data["contribution"]["id"] == ack["id"]
                and data["contribution"]["status"] == "approved"
            ),
        )
        assert heard["data"]["contribution"]["text"] == "Said through nginx"


def login_attempts(nginx, source, count):
    """`count` wrong-password logins to the app through nginx from the loopback address
    `source` (each its own client address to nginx); their HTTP statuses."""
    http = urllib3.PoolManager(source_address=(source, 0), retries=False)
    page = http.request("GET", f"{nginx.url}/login")
    cookie = page.headers["Set-Cookie"].split(";")[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.data.decode()).group(1)
    statuses = []
    for _ in range(count):
        answer = http.request(
            "POST",
            f"{nginx.url}/login",
            fields={"email": "someone@example.org", "password": "wrong", "csrf_token": token},
            encode_multipart=False,
            headers={"Cookie": cookie},
        )
        statuses.append(answer.status)
    http.clear()
    return statuses


def test_behind_nginx_the_rate_limits_count_each_client_not_nginx(nginx):
    """LERO_PROXY_COUNT=1 trusts nginx's X-Forwarded-For: one address that tries too many
    logins is stopped, and another address is not (without it, both are nginx's address)."""
    assert login_attempts(nginx, "127.0.0.2", 11) == [400] * 10 + [429]
    assert login_attempts(nginx, "127.0.0.3", 1) == [400]
