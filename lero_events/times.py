"""How pages and emails write times: one 24-hour UK format everywhere.

The same shapes as the browser's `Intl.DateTimeFormat("en-GB", ...)` in static/js, so a time
written by the server and one written in the viewer's zone by the page's script read alike:
"Thu, 4 Dec 2026, 18:30".
"""


def date_label(moment):
    """ "Thu, 4 Dec 2026" """
    return f"{moment:%a}, {moment.day} {moment:%b %Y}"


def time_label(moment):
    """ "18:30" (always 24-hour)"""
    return f"{moment:%H:%M}"


def date_time_label(moment):
    """ "Thu, 4 Dec 2026, 18:30" """
    return f"{date_label(moment)}, {time_label(moment)}"


def init_app(app):
    app.add_template_filter(date_label)
    app.add_template_filter(time_label)
    app.add_template_filter(date_time_label)
