"""Domain errors, and the one place that turns them (and HTTP errors) into pages."""

from flask import render_template


class DomainError(Exception):
    """A request the domain refuses, with a message meant for the person who made it."""

    status = 400

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


TITLES = {
    400: "That request could not be understood",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not allowed here",
    409: "That clashes with something already saved",
    410: "That link has expired",
    413: "That upload is too large",
    429: "Too many requests",
    500: "Something went wrong on our side",
}


def render_error(status, message=None):
    title = TITLES.get(status, "Something went wrong")
    return render_template("error.html", status=status, title=title, message=message), status


def init_app(app):
    @app.errorhandler(DomainError)
    def domain_error(error):
        return render_error(error.status, error.message)

    for status in TITLES:

        @app.errorhandler(status)
        def http_error(error, status=status):
            description = getattr(error, "description", None)
            return render_error(status, description if status != 500 else None)
