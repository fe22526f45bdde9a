"""What the harvest page shows: only approved contributions their authors let into the harvest
and visible phrases, named only where the author chose it (naming.harvest_name), with the
day's figures and the sketch notes."""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from ..errors import NotFound
from ..evidence import counting
from ..extensions import db
from ..models import (
    Contribution,
    Event,
    Phrase,
    PoemLine,
    Prompt,
    Resonance,
    SketchNote,
)
from ..naming import harvest_name
from ..registrations import registration_problem
from ..visibility import heard_prompts, phrase_shown, shared_count, shown_in_harvest
from .editorial import Editorial, editorial_of
from .words import Word, gather_words

MOST_RESONANT = 5


@dataclass
class ShownContribution:
    """A contribution as the harvest shows it: only what its author allowed."""

    id: int
    text: str
    author: str
    prompt: str
    resonances: int
    featured: bool
    created_at: datetime


@dataclass
class PromptSection:
    id: int | None
    text: str
    contributions: list[ShownContribution]
    total: int

    @property
    def hidden(self):
        return self.total - len(self.contributions)


@dataclass
class ShownPhrase:
    id: int
    text: str
    attribution: str
    created_at: datetime


@dataclass
class ShownPoemLine:
    id: int
    text: str
    stanza: int
    position: int
    contribution_id: int | None
    phrase_id: int | None
    original: str


# Figures a stranger moves by booking a new address and not by booking one already booked:
# while the event takes bookings they would tell who is booked (docs/security.md, finding 1).
BOOKING_FIGURES = {"signed_up", "organisations"}
COUNTED_WHEN_BOOKING_CLOSES = "counted when booking closes"


@dataclass
class Figures:
    """The day in numbers, with the evidence's definitions beside them. The harvest is shared
    beyond the hosts, so counts of people below `threshold` read "fewer than N", and the
    figures that bookings move wait until booking closes."""

    signed_up: int
    took_part: int
    guests: int
    contributions: int
    voices_heard: int
    phrases: int
    organisations: int
    threshold: int
    booking_open: bool = False

    SHOWN = (
        "signed_up",
        "took_part",
        "guests",
        "contributions",
        "voices_heard",
        "phrases",
        "organisations",
    )

    def rows(self):
        """(key, label, value as shown, meaning) for each figure."""
        rows = []
        for key in self.SHOWN:
            f = counting.figure(key, getattr(self, key))
            value = shared_count(f.value, self.threshold) if f.counts_people else f.value
            if self.booking_open and key in BOOKING_FIGURES:
                value = COUNTED_WHEN_BOOKING_CLOSES
            rows.append((key, f.label, value, f.definition))
        return rows

    def shown(self, key):
        return next(value for name, _label, value, _meaning in self.rows() if name == key)


@dataclass
class Harvest:
    event: Event
    sections: list[PromptSection]
    phrases: list[ShownPhrase]
    phrase_total: int
    most_resonant: list[ShownContribution]
    poem: list[list[ShownPoemLine]]
    words: list[Word]
    figures: Figures
    sketch_notes: list[SketchNote] = field(default_factory=list)
    editorial: Editorial = field(default_factory=Editorial)

    @property
    def summary(self):
        """One sentence for link previews and search results."""
        f = self.figures
        return (
            f"{plural(f.contributions, 'contribution')} from "
            f"{plural(f.shown('voices_heard'), 'voice')}, and "
            f"{plural(self.phrase_total, 'phrase')} we heard."
        )

    @property
    def is_empty(self):
        writing = self.editorial.introduction or self.editorial.poem
        return not (self.phrases or self.poem or self.sketch_notes or writing) and not any(
            section.total for section in self.sections
        )


def plural(count, word):
    """`count` words; a hidden count ("fewer than 5") takes the plural."""
    return f"{count} {word if count == 1 else word + 's'}"


def approved_contributions(event):
    return sa.select(Contribution).where(Contribution.event_id == event.id, shown_in_harvest())


def visible_phrases(event):
    return sa.select(Phrase).where(Phrase.event_id == event.id, phrase_shown())


def resonance_counts(event, contribution_ids=None):
    query = (
        sa.select(Resonance.contribution_id, sa.func.count())
        .join(Contribution, Contribution.id == Resonance.contribution_id)
        .where(Contribution.event_id == event.id, shown_in_harvest())
        .group_by(Resonance.contribution_id)
    )
    if contribution_ids is not None:
        query = query.where(Resonance.contribution_id.in_(contribution_ids))
    return dict(db.session.execute(query).all())


def show_contribution(contribution, prompts, resonances):
    return ShownContribution(
        id=contribution.id,
        text=contribution.text,
        author=harvest_name(contribution),
        prompt=prompts.get(contribution.prompt_id, ""),
        resonances=resonances.get(contribution.id, 0),
        featured=contribution.featured,
        created_at=contribution.created_at,
    )


def event_prompts(event):
    """The questions the room heard, in the order they were first asked; prepared questions
    nobody asked stay out."""
    return db.session.scalars(
        sa.select(Prompt)
        .where(
            Prompt.event_id == event.id,
            heard_prompts(),
        )
        .order_by(sa.func.coalesce(Prompt.asked_at, Prompt.created_at), Prompt.id)
    ).all()


def contributions_in_order(event, prompt_id, limit=None, offset=0):
    """Approved contributions for one prompt (None: posted without a prompt), oldest first."""
    query = (
        approved_contributions(event)
        .where(
            Contribution.prompt_id.is_(None)
            if prompt_id is None
            else Contribution.prompt_id == prompt_id
        )
        .options(selectinload(Contribution.registration))
        .order_by(Contribution.created_at, Contribution.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return db.session.scalars(query).all()


def gather_sections(event, prompts, shown_per_prompt=None):
    """Each prompt with its approved contributions, at most `shown_per_prompt` of each."""
    totals = dict(
        db.session.execute(
            sa.select(Contribution.prompt_id, sa.func.count())
            .where(Contribution.event_id == event.id, shown_in_harvest())
            .group_by(Contribution.prompt_id)
        ).all()
    )
    query = approved_contributions(event).options(selectinload(Contribution.registration))
    if shown_per_prompt is not None:
        ranked = (
            sa.select(
                Contribution.id,
                sa.func.row_number()
                .over(
                    partition_by=Contribution.prompt_id,
                    order_by=(Contribution.created_at, Contribution.id),
                )
                .label("rank"),
            )
            .where(Contribution.event_id == event.id, shown_in_harvest())
            .subquery()
        )
        query = query.join(ranked, ranked.c.id == Contribution.id).where(
            ranked.c.rank <= shown_per_prompt
        )
    contributions = db.session.scalars(
        query.order_by(Contribution.created_at, Contribution.id)
    ).all()
    prompt_texts = {prompt.id: prompt.text for prompt in prompts}
    resonances = resonance_counts(event, [c.id for c in contributions])
    by_prompt = {}
    for contribution in contributions:
        by_prompt.setdefault(contribution.prompt_id, []).append(
            show_contribution(contribution, prompt_texts, resonances)
        )
    sections = [
        PromptSection(
            prompt.id, prompt.text, by_prompt.get(prompt.id, []), totals.get(prompt.id, 0)
        )
        for prompt in prompts
    ]
    if totals.get(None):
        sections.append(
            PromptSection(None, "Other reflections", by_prompt.get(None, []), totals[None])
        )
    return sections


def gather_most_resonant(event, prompts, limit=MOST_RESONANT):
    resonated = (
        sa.select(Resonance.contribution_id, sa.func.count().label("resonances"))
        .join(Contribution, Contribution.id == Resonance.contribution_id)
        .where(Contribution.event_id == event.id)
        .group_by(Resonance.contribution_id)
        .subquery()
    )
    rows = db.session.execute(
        approved_contributions(event)
        .add_columns(resonated.c.resonances)
        .join(resonated, resonated.c.contribution_id == Contribution.id)
        .options(selectinload(Contribution.registration))
        .order_by(resonated.c.resonances.desc(), Contribution.created_at, Contribution.id)
        .limit(limit)
    ).all()
    prompt_texts = {prompt.id: prompt.text for prompt in prompts}
    return [
        show_contribution(contribution, prompt_texts, {contribution.id: count})
        for contribution, count in rows
    ]


def gather_phrases(event, limit=None, offset=0):
    query = visible_phrases(event).order_by(Phrase.created_at, Phrase.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [
        ShownPhrase(phrase.id, phrase.text, phrase.attribution.strip(), phrase.created_at)
        for phrase in db.session.scalars(query)
    ]


def count_phrases(event):
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Phrase)
        .where(Phrase.event_id == event.id, phrase_shown())
    )


def gather_poem(event):
    """The poem's lines grouped into stanzas; lines whose source was withdrawn drop out."""
    rows = db.session.execute(
        sa.select(PoemLine, Contribution.text, Phrase.text)
        .outerjoin(Contribution, Contribution.id == PoemLine.contribution_id)
        .outerjoin(Phrase, Phrase.id == PoemLine.phrase_id)
        .where(
            PoemLine.event_id == event.id,
            sa.or_(
                shown_in_harvest(),
                sa.and_(PoemLine.phrase_id.is_not(None), phrase_shown()),
            ),
        )
        .order_by(PoemLine.stanza, PoemLine.position, PoemLine.id)
    ).all()
    stanzas = {}
    for line, contribution_text, phrase_text in rows:
        stanzas.setdefault(line.stanza, []).append(
            ShownPoemLine(
                id=line.id,
                text=line.text,
                stanza=line.stanza,
                position=line.position,
                contribution_id=line.contribution_id,
                phrase_id=line.phrase_id,
                original=contribution_text if line.contribution_id else phrase_text,
            )
        )
    return [stanzas[number] for number in sorted(stanzas)]


def gather_figures(event):
    """The day's figures, counted as the evidence counts them (lero_events.evidence)."""
    authors = counting.author_keys(event)
    return Figures(
        signed_up=sum(counting.status_counts(event).values()),
        took_part=counting.took_part_count(event),
        guests=counting.guest_count(event, authors),
        contributions=counting.contribution_totals(event)[1],
        voices_heard=counting.voices_heard(event.id),
        phrases=counting.phrase_count(event),
        organisations=len(counting.organisation_keys(event)),
        threshold=int(current_app.config["SMALL_NUMBER_THRESHOLD"]),
        booking_open=registration_problem(event) is None,
    )


def sketch_notes_of(event):
    return db.session.scalars(
        sa.select(SketchNote)
        .where(SketchNote.event_id == event.id)
        .order_by(SketchNote.position, SketchNote.id)
    ).all()


def gather_harvest(event, shown_per_prompt=None, shown_phrases=None):
    """Everything the harvest page shows; None means no limit (the exports take it all)."""
    prompts = event_prompts(event)
    editorial = editorial_of(event)
    return Harvest(
        event=event,
        sections=gather_sections(event, prompts, shown_per_prompt),
        phrases=gather_phrases(event, limit=shown_phrases),
        phrase_total=count_phrases(event),
        most_resonant=gather_most_resonant(event, prompts),
        # A written poem shown instead of the found poem leaves it out of the page and exports.
        poem=[] if editorial.replaces_found_poem else gather_poem(event),
        words=gather_words(event),
        figures=gather_figures(event),
        sketch_notes=sketch_notes_of(event),
        editorial=editorial,
    )


def gather_prompt_page(event, prompt_id, page, per_page):
    """One page of every approved contribution for a prompt (None: no prompt)."""
    prompts = event_prompts(event)
    if prompt_id is None:
        title = "Other reflections"
    else:
        prompt = next((p for p in prompts if p.id == prompt_id), None)
        if prompt is None:
            raise NotFound("That prompt is not part of this event.")
        title = prompt.text
    contributions = contributions_in_order(event, prompt_id, per_page, (page - 1) * per_page)
    resonances = resonance_counts(event, [c.id for c in contributions])
    prompt_texts = {p.id: p.text for p in prompts}
    total = db.session.scalar(
        approved_contributions(event)
        .where(
            Contribution.prompt_id.is_(None)
            if prompt_id is None
            else Contribution.prompt_id == prompt_id
        )
        .with_only_columns(sa.func.count())
    )
    shown = [show_contribution(c, prompt_texts, resonances) for c in contributions]
    return PromptSection(prompt_id, title, shown, total)


def locate_contribution(event, contribution_id, per_page):
    """(prompt_id, page) where an approved contribution appears on its prompt's full list."""
    contribution = db.session.scalar(
        approved_contributions(event).where(Contribution.id == contribution_id)
    )
    if contribution is None:
        raise NotFound("That contribution is not part of this harvest.")
    same_prompt = (
        Contribution.prompt_id.is_(None)
        if contribution.prompt_id is None
        else Contribution.prompt_id == contribution.prompt_id
    )
    before = db.session.scalar(
        approved_contributions(event)
        .where(
            same_prompt,
            sa.or_(
                Contribution.created_at < contribution.created_at,
                sa.and_(
                    Contribution.created_at == contribution.created_at,
                    Contribution.id < contribution.id,
                ),
            ),
        )
        .with_only_columns(sa.func.count())
    )
    return contribution.prompt_id, before // per_page + 1
