"""Discreet invites: what a shared calendar, a shared phone or a glance at a screen may show.

A calendar entry titled after a recovery event, or an email subject naming it, can out
someone. An event made discreet by its organiser, or a booking ticked discreet by its person,
gets a neutral title (the organiser's chosen name, else "Online meeting") in its calendar
invites and email subjects, a neutral sender name, and no details outside the private link.
"""

from email.utils import formataddr, parseaddr

from flask import current_app

NEUTRAL_TITLE = "Online meeting"
MAX_NEUTRAL_NAME = 120


def is_discreet(event, registration=None):
    """True when the event is discreet for everyone, or this person asked for it."""
    return bool(event.discreet or (registration is not None and registration.discreet))


def neutral_title(event):
    """The name calendars and emails show instead of the event's title."""
    return (event.discreet_name or "").strip() or NEUTRAL_TITLE


def shown_title(event, registration=None):
    """The title a calendar or an email shows this person: neutral when discreet."""
    return neutral_title(event) if is_discreet(event, registration) else event.title


def mail_sender(discreet=False):
    """The From header: MAIL_DEFAULT_SENDER, or a neutral name (same address) when discreet."""
    config = current_app.config
    if not discreet:
        return config["MAIL_DEFAULT_SENDER"]
    if config.get("DISCREET_MAIL_SENDER"):
        return config["DISCREET_MAIL_SENDER"]
    _, address = parseaddr(config["MAIL_DEFAULT_SENDER"])
    return formataddr((config["DISCREET_SENDER_NAME"], address))
