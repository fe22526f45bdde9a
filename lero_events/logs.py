"""Logging: one handler, on the root logger, so every line is printed once.

Flask gives app.logger a handler of its own, and Alembic's logging set-up (the migrations run
at start-up) gave the root logger another, so the app's lines used to come out twice.
"""

import logging

from flask.logging import default_handler

FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


def init_app(app):
    """Let app.logger's lines reach the root logger's one handler, made here if there is none."""
    app.logger.removeHandler(default_handler)
    root = logging.getLogger()
    if not root.handlers:  # under pytest, its capturing handlers are already there
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT, "%Y-%m-%d %H:%M:%S"))
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
