"""The live room with the official Node socket.io-client, as any third-party client would use it."""

import json
import subprocess

from .conftest import JS_DIR, node_with
from .live_clients import join, make_room


def test_a_node_client_contributes_and_hears_the_approval(app, start_server):
    node = node_with("socket.io-client")
    room = make_room(app)
    server = start_server()
    host = join(server, room, "host")
    auth = {"slug": room["slug"], "token": room["tokens"]["alice"], "last_seq": 0}
    participant = subprocess.Popen(
        [node, str(JS_DIR / "live_participant.mjs"), server.url, json.dumps(auth)],
        cwd=JS_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pending = host.wait_for_update(
            "contribution", lambda d: d["contribution"]["status"] == "pending"
        )["data"]["contribution"]
        assert host.call("approve", {"contribution_id": pending["id"]})["ok"] is True
        out, err = participant.communicate(timeout=30)
    finally:
        participant.kill()
    assert participant.returncode == 0, out + err
    said = {line["kind"]: line["data"] for line in map(json.loads, out.splitlines())}

    assert said["state"]["role"] == "participant" and said["state"]["you"]["name"] == "Alice A"
    assert said["ack"]["ok"] is True and said["ack"]["status"] == "pending"
    assert said["ack"]["id"] == pending["id"] and pending["author"] == "Anonymous"
    assert said["approved"]["data"]["contribution"]["id"] == pending["id"]
    assert said["approved"]["seq"] > said["state"]["seq"]
    assert said["resend"]["id"] == pending["id"] and said["resend"]["status"] == "approved"
    assert said["refused"] == {"ok": False, "error": "Please write something before sending."}
