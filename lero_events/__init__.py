"""LERO Events: bookings, live rooms and harvests for lived experience recovery organisations."""

import os
from pathlib import Path

from flask import Flask

from .config import load_config
from .extensions import csrf, db, limiter, login_manager, migrate, socketio

ROOT = Path(__file__).resolve().parent.parent


def create_app(config=None):
    """Build an app; `config` overrides the defaults and the environment (tests use it)."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("LERO_INSTANCE_PATH")
    if instance_path:
        app.instance_path = instance_path
    load_config(app, config)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    # The live room's connect and disconnect register on the shared socketio object before
    # init_app, for every app (its other events on each app's server: live.serve_events);
    # notifications subscribes to the domain's signals.
    from . import (  # noqa: F401
        cli,
        database,
        errors,
        live,
        logs,
        notifications,
        security,
        tasks,
        times,
        views,
        writing,
    )
    from .serving import client_manager

    logs.init_app(app)
    database.init_app(app)
    times.init_app(app)
    writing.init_app(app)
    tasks.init_app(app)
    security.init_url_converters(app)
    views.register_blueprints(app)
    errors.init_app(app)
    security.init_app(app)
    cli.init_app(app)

    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        client_manager=client_manager(app.config),
        max_http_buffer_size=int(app.config["LIVE_MAX_FRAME_BYTES"]),
        # A connection's messages are answered one after another, in the order it sent them,
        # without a green thread each (docs/performance.md).
        async_handlers=False,
    )
    live.serve_events(app)
    app.wsgi_app = security.LimitPollingPosts(app.wsgi_app, int(app.config["LIVE_MAX_FRAME_BYTES"]))
    app.wsgi_app = security.RefuseUnknownHosts(app.wsgi_app, app.config)
    proxies = int(app.config["PROXY_COUNT"])
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Outside the Socket.IO middleware, so live connections see the real client address
        # too (the live room's limits per address), not only the pages.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    if app.config["AUTO_MIGRATE"]:
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
    return app
