"""The found poem: lines cut from approved contributions and phrases, which stay untouched."""

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..errors import DomainError
from ..extensions import db
from ..models import Contribution, Phrase, PoemLine, Resonance
from .gathering import (
    ShownPhrase,
    approved_contributions,
    event_prompts,
    show_contribution,
    visible_phrases,
)

MAX_POEM_LINE = 500


def normalise(text):
    return " ".join(text.split()).casefold()


def poem_source(event, contribution_id=None, phrase_id=None):
    """The approved contribution or visible phrase a poem line is cut from, and its text."""
    if contribution_id is not None:
        source = db.session.scalar(
            approved_contributions(event).where(Contribution.id == contribution_id)
        )
    elif phrase_id is not None:
        source = db.session.scalar(visible_phrases(event).where(Phrase.id == phrase_id))
    else:
        source = None
    if source is None:
        raise DomainError(
            "Only approved contributions and captured phrases of this event can go in the poem.",
            status=404,
        )
    return source


def check_fragment(fragment, original):
    """A poem line is found, not written: it must be the original's own words, in order.

    Case and spacing may change; anything else must appear in the original as it stands.
    """
    fragment = " ".join((fragment or "").split())
    if not fragment:
        raise DomainError("A poem line cannot be empty: remove it instead.")
    if len(fragment) > MAX_POEM_LINE:
        raise DomainError(f"A poem line can be at most {MAX_POEM_LINE} characters.")
    if normalise(fragment) not in normalise(original):
        raise DomainError(
            f"'{fragment}' is not part of the original words, which stay as they were said: "
            f"trim the line to a fragment of '{original}'."
        )
    return fragment


def add_poem_line(event, contribution_id=None, phrase_id=None, text=None, stanza=None):
    """Add a line cut from a contribution or phrase, at the end of `stanza` (default: last)."""
    source = poem_source(event, contribution_id, phrase_id)
    fragment = check_fragment(source.text if text is None else text, source.text)
    last = db.session.execute(
        sa.select(PoemLine.stanza, PoemLine.position)
        .where(PoemLine.event_id == event.id)
        .order_by(PoemLine.stanza.desc(), PoemLine.position.desc())
        .limit(1)
    ).first()
    if stanza is None:
        stanza = last.stanza if last else 1
    if stanza < 1:
        raise DomainError("Stanzas are numbered from 1.")
    position = (
        db.session.scalar(
            sa.select(sa.func.max(PoemLine.position)).where(
                PoemLine.event_id == event.id, PoemLine.stanza == stanza
            )
        )
        or 0
    ) + 1
    line = PoemLine(
        event_id=event.id,
        stanza=stanza,
        position=position,
        text=fragment,
        contribution_id=contribution_id if phrase_id is None else None,
        phrase_id=phrase_id,
    )
    db.session.add(line)
    db.session.commit()
    return line


def drop_lines_no_longer_in(phrase):
    """After a phrase is corrected, the poem lines cut from it that are not its words any more
    go (in the caller's transaction): the poem may only hold what was said as it stands."""
    lines = db.session.scalars(sa.select(PoemLine).where(PoemLine.phrase_id == phrase.id))
    for line in lines:
        if normalise(line.text) not in normalise(phrase.text):
            db.session.delete(line)


@dataclass
class PoemLineEdit:
    """A host's arrangement of one line: where it goes, its trimmed text, or its removal."""

    line_id: int
    stanza: int
    position: int
    text: str
    remove: bool = False


def arrange_poem(event, edits):
    """Apply a host's order, stanzas, trims and removals to the poem in one go."""
    lines = {
        line.id: line
        for line in db.session.scalars(sa.select(PoemLine).where(PoemLine.event_id == event.id))
    }
    problems = []
    for edit in edits:
        line = lines.get(edit.line_id)
        if line is None:
            raise DomainError("That poem line is no longer there; reload the page.", status=409)
        if edit.remove:
            db.session.delete(line)
            continue
        if edit.stanza < 1 or edit.position < 1:
            problems.append("Stanza and order numbers start at 1.")
            continue
        original = (
            db.session.get(Contribution, line.contribution_id).text
            if line.contribution_id
            else db.session.get(Phrase, line.phrase_id).text
        )
        try:
            line.text = check_fragment(edit.text, original)
        except DomainError as problem:
            problems.append(problem.message)
        line.stanza, line.position = edit.stanza, edit.position
    if problems:
        db.session.rollback()
        raise DomainError(" ".join(problems))
    db.session.commit()
    renumber_poem(event)


def renumber_poem(event):
    """Close gaps so stanzas are 1, 2, 3... and lines 1, 2, 3... within each."""
    lines = db.session.scalars(
        sa.select(PoemLine)
        .where(PoemLine.event_id == event.id)
        .order_by(PoemLine.stanza, PoemLine.position, PoemLine.id)
    ).all()
    stanza_numbers = {
        old: new for new, old in enumerate(sorted({line.stanza for line in lines}), 1)
    }
    positions = Counter()
    for line in lines:
        line.stanza = stanza_numbers[line.stanza]
        positions[line.stanza] += 1
        line.position = positions[line.stanza]
    db.session.commit()


def poem_candidates(event, search="", limit=50):
    """Approved contributions and phrases a host may cut lines from: featured and most
    resonant first, filtered by `search`."""
    prompts = {p.id: p.text for p in event_prompts(event)}
    resonated = (
        sa.select(Resonance.contribution_id, sa.func.count().label("resonances"))
        .group_by(Resonance.contribution_id)
        .subquery()
    )
    contributions = approved_contributions(event)
    phrases = visible_phrases(event)
    if search.strip():
        pattern = (
            "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        contributions = contributions.where(Contribution.text.ilike(pattern, escape="\\"))
        phrases = phrases.where(Phrase.text.ilike(pattern, escape="\\"))
    rows = db.session.execute(
        contributions.add_columns(sa.func.coalesce(resonated.c.resonances, 0))
        .outerjoin(resonated, resonated.c.contribution_id == Contribution.id)
        .options(selectinload(Contribution.registration))
        .order_by(
            Contribution.featured.desc(),
            sa.func.coalesce(resonated.c.resonances, 0).desc(),
            Contribution.created_at,
        )
        .limit(limit)
    ).all()
    shown = [show_contribution(c, prompts, {c.id: count}) for c, count in rows]
    phrase_rows = db.session.scalars(phrases.order_by(Phrase.created_at).limit(limit)).all()
    return shown, [ShownPhrase(p.id, p.text, p.attribution, p.created_at) for p in phrase_rows]
