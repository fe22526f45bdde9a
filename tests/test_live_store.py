"""The browser pages' shared room store (static/js/live-common.js), unit-tested under Node."""

import shutil
import subprocess
from pathlib import Path

from .conftest import missing

JS_DIR = Path(__file__).resolve().parent / "js"


def test_the_room_store_keeps_every_chain_in_order_and_catches_up_on_a_gap():
    node = shutil.which("node")
    if node is None:
        missing("node is not installed")
    result = subprocess.run(
        [node, "--test", str(JS_DIR / "room_store.test.mjs")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout
