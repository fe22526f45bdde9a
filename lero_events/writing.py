"""Text people write over several lines: descriptions, a harvest's introduction, a poem.

Browsers send a textarea's line breaks as CRLF, so the text is made plain (LF only) before it
is stored, and pages split it the same way whatever was stored earlier.
"""

import re

BLANK_LINE = re.compile(r"\n[ \t]*\n")


def plain_lines(text):
    """The text with every line ending as LF, trailing spaces and outer blank lines gone."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def paragraphs(text):
    """Paragraphs, split at blank lines; a single line break stays inside its paragraph."""
    return [part.strip() for part in BLANK_LINE.split(plain_lines(text)) if part.strip()]


def stanzas(text):
    """A poem's stanzas (split at blank lines), each a list of its lines as written."""
    return [part.split("\n") for part in paragraphs(text)]


def init_app(app):
    app.add_template_filter(paragraphs)
    app.add_template_filter(stanzas)
