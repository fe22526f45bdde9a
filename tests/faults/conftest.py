"""The fault suite's own services: a throwaway Redis and a throwaway PostgreSQL cluster, each
on a free port, that a test may stop and start again. Never the shared services."""

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from ..conftest import free_port, missing


class ThrowawayRedis:
    """`redis-server` on a free port, keeping nothing on disk."""

    def __init__(self, directory):
        self.executable = shutil.which("redis-server")
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.executable, "--port", str(self.port), "--bind", "127.0.0.1"]
                + ["--save", "", "--appendonly", "no", "--dir", str(self.directory)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return self
            except redis.exceptions.ConnectionError:
                assert time.monotonic() < deadline, "the throwaway Redis did not start"
                time.sleep(0.05)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class ThrowawayPostgres:
    """An `initdb` cluster in a temporary directory, on a free port, run by its own server.

    initdb and postgres refuse to run as root, so as root they run as the `postgres` user,
    in a directory that user owns.
    """

    def __init__(self):
        self.bin = newest_postgres_bin()
        self.directory = Path(tempfile.mkdtemp(prefix="lero-faults-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.as_owner = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]

    def run(self, *command):
        subprocess.run([*self.as_owner, *command], check=True, capture_output=True, timeout=60)

    def create(self):
        self.run(
            str(self.bin / "initdb"),
            "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-instructions",
        )  # fmt: skip
        return self

    def start(self):
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            str(self.bin / "pg_ctl"),
            "-D", str(self.data), "-l", str(self.directory / "postgres.log"), "-o", options,
            "-w", "start",
        )  # fmt: skip
        return self

    def stop(self):
        self.run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self):
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def newest_postgres_bin():
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    return found[-1].parent if found else None


@pytest.fixture
def throwaway_redis(tmp_path):
    if shutil.which("redis-server") is None:
        missing("the fault suite needs redis-server (apt-get install redis-server)")
    server = ThrowawayRedis(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def throwaway_postgres():
    if newest_postgres_bin() is None:
        missing("the fault suite needs PostgreSQL's initdb (apt-get install postgresql)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing("the fault suite runs initdb as the postgres user and needs runuser")
    cluster = ThrowawayPostgres().create().start()
    engine = sa.create_engine(cluster.url)
    with engine.connect():
        pass
    engine.dispose()
    yield cluster
    cluster.remove()
