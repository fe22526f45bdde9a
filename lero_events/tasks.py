"""The task queue (Huey): email delivery, the outbox sweep, reminders and the retention purge,
off the request path.

Storage follows the deployment: Redis when REDIS_URL is set (every worker process shares it),
else a SQLite file in instance/ (the embedded default, one process). TASK_QUEUE_URL=memory://
keeps tasks in memory (tests run them with `run_pending`). The embedded default runs a worker
inside `python app.py` (TASK_WORKER_IN_PROCESS); beyond one machine `flask --app app worker`
runs one as its own process. Tasks carry only ids: the database holds what they act on.
"""

import functools
import logging
from pathlib import Path

import sqlalchemy as sa
from huey import MemoryHuey, crontab
from huey.consumer import Consumer
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy.orm import Session

from . import outbox, reminders, retention
from .extensions import db

# Bound to real storage and to the app by init_app; tasks are registered on it at import.
huey = MemoryHuey("lero-events", utc=True)
logger = logging.getLogger(__name__)


def init_app(app):
    """Point the queue at this app's storage; tasks run inside this app's context."""
    huey.storage = queue_storage(app)
    huey.flask_app = app


def queue_storage(app):
    name = app.config["TASK_QUEUE_NAME"]
    url = app.config.get("TASK_QUEUE_URL") or app.config.get("REDIS_URL")
    if url == "memory://":
        return MemoryStorage(name)
    if url:
        return RedisStorage(name, url=url)
    return QueueFile(name, filename=str(Path(app.instance_path) / "tasks.sqlite"))


class QueueFile(SqliteStorage):
    """Huey's SQLite storage with `synchronous=NORMAL` instead of FULL.

    FULL fsyncs on every enqueue: 3-4 ms with the whole gevent loop blocked, paid inside every
    request that writes an email. In WAL mode NORMAL keeps the file safe from corruption; a
    power cut may lose the last few wake-up tasks, and the outbox sweep sends those emails,
    because the outbox rows (in the app's database) are what holds them.
    """

    def _create_connection(self):
        connection = super()._create_connection()
        connection.execute("pragma synchronous=NORMAL")
        return connection


@sa.event.listens_for(Session, "after_commit")
def enqueue_committed_emails(session):
    """Once emails are committed, one task delivers them; if the queue cannot take it, the
    outbox sweep finds the rows a minute later."""
    ids = outbox.committed_email_ids(session)
    if ids:
        try:
            deliver_emails(ids)
        except Exception:  # Redis down, a locked SQLite file: the rows wait for the sweep.
            logger.warning("Could not queue %s email(s); the outbox sweep will send them", len(ids))


def in_app_context(function):
    """Run a task body inside the bound app's context, with a clean session afterwards."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        with huey.flask_app.app_context():
            try:
                return function(*args, **kwargs)
            finally:
                db.session.remove()

    return run


@huey.task()
@in_app_context
def deliver_emails(email_ids):
    """Send the emails one commit wrote."""
    for email_id in email_ids:
        outbox.deliver(email_id)


@huey.periodic_task(crontab(minute="*"))
@in_app_context
def sweep_outbox():
    """Retries that are due, and emails whose task was lost."""
    outbox.deliver_due()


@huey.periodic_task(crontab(minute="*"))
@in_app_context
def send_reminders():
    """Reminders whose time has come (each goes out once: reminders.py says how)."""
    reminders.send_due_reminders()


@huey.periodic_task(crontab(minute="7"))
@in_app_context
def purge_personal_data():
    """Personal data past its retention period (retention.py), once an hour."""
    report = retention.purge_due()
    if report.removed_anything:
        logger.info("Retention purge: removed %s", "; ".join(report.lines()))


def run_pending():
    """Run every task waiting in the queue now, in this thread; returns how many ran."""
    count = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        count += 1
    return count


class InProcessConsumer(Consumer):
    """Huey's consumer inside the web server's process: the server keeps its own signal
    handlers (Ctrl-C and SIGTERM stop the server, and the consumer's daemon threads with it)."""

    def _set_signal_handlers(self):
        """Leave the server's handlers alone."""


def start_worker_in_process():
    """The embedded default: one process serves the site and works the queue."""
    consumer = InProcessConsumer(huey, workers=2, periodic=True, check_worker_health=False)
    consumer.start()
    return consumer


def run_worker(workers):
    """`flask --app app worker`: a worker process of its own (with Redis, beside the servers)."""
    huey.create_consumer(workers=workers, periodic=True).run()
