"""HTTP views, one blueprint per feature, each called `bp`."""


def register_blueprints(app):
    from . import (
        attendees,
        auth,
        calendar,
        evidence,
        harvest,
        hosting,
        live,
        messages,
        organiser,
        privacy,
        public,
        questions,
        registration,
        room,
    )

    app.register_blueprint(public.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(organiser.bp)
    app.register_blueprint(calendar.bp)
    app.register_blueprint(registration.bp)
    app.register_blueprint(harvest.bp)
    app.register_blueprint(live.bp)
    app.register_blueprint(room.bp)
    app.register_blueprint(hosting.bp)
    app.register_blueprint(attendees.bp)
    app.register_blueprint(messages.bp)
    app.register_blueprint(privacy.bp)
    app.register_blueprint(evidence.bp)
    app.register_blueprint(questions.bp)
