"""Evidence as a page, a printable page and downloads show it: figures with their meaning,
a summary sentence and charts with tables. Hosts read exact numbers; anything shared beyond
them (`shared=True`) shows small counts of people as "fewer than N" (visibility.shared_count).
Counts of things (organisations, reflections, phrases) pick no one out and stay exact."""

from dataclasses import dataclass

from ..visibility import shared_count
from . import across, charts, counting

TOP_ORGANISATIONS_CHARTED = 12


@dataclass
class Report:
    """Counts and how they are shown; `shared` hides small numbers."""

    shared: bool
    threshold: int

    def shown(self, value):
        return shared_count(value, self.threshold) if self.shared else value

    def people(self, value):
        shown = self.shown(value)
        return f"{shown} {'person' if shown == 1 else 'people'}"

    def figures_shown(self, figures):
        return [(f, self.shown(f.value) if f.counts_people else f.value) for f in figures]


def things(value, word):
    return f"{value} {word if value == 1 else word + 's'}"


def sentence(text):
    return text[:1].upper() + text[1:]


@dataclass
class EventReport(Report):
    evidence: counting.EventEvidence

    @property
    def event(self):
        return self.evidence.event

    @property
    def heading(self):
        return f"Evidence: {self.event.title}"

    @property
    def period(self):
        return f"{self.event.local_starts_at:%A %d %B %Y}"

    def notes(self):
        return [("Resonance", self.resonance)]

    def extra_counts(self):
        r = self.evidence.resonance
        return [
            ("Resonance", "people who marked a reflection", self.shown(r.people)),
            ("Resonance", "reflections marked", r.reflections),
        ]

    def figures(self):
        return self.figures_shown(self.evidence.people_figures())

    @property
    def summary(self):
        """One plain sentence, e.g. "168 people signed up, 94 took part, 61 shared a
        reflection, from 23 organisations." """
        e = self.evidence
        text = sentence(
            f"{self.people(e.signed_up)} signed up, {self.shown(e.took_part)} took part, "
            f"{self.shown(e.contributed)} shared a reflection, "
            f"from {things(len(e.organisations), 'organisation')}."
        )
        if e.guests:
            guests = self.shown(e.guests)
            guests = f"{guests} {'guest' if guests == 1 else 'guests'}"
            text += " " + sentence(f"{guests} without a booking joined in too.")
        return text

    @property
    def resonance(self):
        r = self.evidence.resonance
        if not r.marks:
            return "Nobody marked a reflection as resonating with them."
        return sentence(
            f"{self.people(r.people)} marked {things(r.reflections, 'reflection')} as "
            f"resonating with them, {things(r.marks, 'time')} in all."
        )

    def organisation_counts(self):
        """(name, places, took part) per organisation, exact; shared, organisations with fewer
        places than the threshold go unnamed, together in one line, so no one is picked out."""
        counts, small = [], []
        for organisation in self.evidence.organisations:
            if self.shared and organisation.places < self.threshold:
                small.append(organisation)
            else:
                counts.append((organisation.name, organisation.places, organisation.came))
        if small:
            name = (
                f"{things(len(small), 'other organisation')}, each with fewer than "
                f"{self.threshold} people"
            )
            counts.append((name, sum(o.places for o in small), sum(o.came for o in small)))
        return counts

    def organisation_rows(self):
        rows = [
            (name, self.shown(places), self.shown(came))
            for name, places, came in self.organisation_counts()
        ]
        not_given = self.evidence.organisation_not_given
        if not_given:
            rows.append(("No organisation given", self.shown(not_given), ""))
        return rows

    def charts(self):
        e = self.evidence
        # Shared, per week: fewer periods hold fewer than the threshold.
        periods, per = counting.periods_of(e.sign_up_days, weekly=self.shared)
        sign_ups = charts.column_bars(
            "chart-sign-ups",
            "Sign-ups over time",
            f"Column chart of new sign-ups per {per}",
            [(period.label, period.new) for period in periods],
            self.shown,
            columns=(per.capitalize(), "New sign-ups", "Total so far"),
            rows=[(p.label, self.shown(p.new), self.shown(p.total)) for p in periods],
        )
        journey = charts.horizontal_bars(
            "chart-journey",
            "From booking to taking part",
            "Bar chart of people at each step, guests on their own",
            [
                ("Signed up", e.signed_up),
                ("Confirmed", e.statuses.get("confirmed", 0)),
                ("Took part", e.took_part),
                ("Contributed", e.contributed),
                ("Guests (no booking)", e.guests),
            ],
            self.shown,
            columns=("Step", "People"),
        )
        questions = charts.horizontal_bars(
            "chart-questions",
            "Reflections per question",
            "Bar chart of reflections posted for each question",
            [(q.text, q.posted) for q in e.questions],
            columns=("Question", "Posted", "Shared in the harvest"),
            rows=[(q.text, q.posted, q.shared) for q in e.questions],
        )
        organisations = charts.horizontal_bars(
            "chart-organisations",
            "Organisations represented",
            "Bar chart of places held per organisation",
            [
                (name, places)
                for name, places, _came in self.organisation_counts()[:TOP_ORGANISATIONS_CHARTED]
            ],
            self.shown,
            columns=("Organisation", "Places", "Took part"),
            rows=self.organisation_rows(),
        )
        return [sign_ups, journey, questions, organisations]


@dataclass
class OrganiserReport(Report):
    evidence: across.OrganiserEvidence
    organiser_name: str = ""

    @property
    def heading(self):
        return f"Evidence across the events of {self.organiser_name}"

    @property
    def period(self):
        lines = self.evidence.lines
        if not lines:
            return "No events yet"
        first, last = lines[0].event.local_starts_at, lines[-1].event.local_starts_at
        return f"Events from {first:%d %B %Y} to {last:%d %B %Y}"

    def notes(self):
        return []

    def extra_counts(self):
        return []

    def figures(self):
        return self.figures_shown(across.organiser_figures(self.evidence))

    @property
    def summary(self):
        e = self.evidence
        return sentence(
            f"{things(e.events_run, 'event')} run, reaching "
            f"{self.people(e.people_reached)} from "
            f"{things(e.organisations_reached, 'organisation')}; "
            f"{self.people(e.returning)} came back for more than one."
        )

    def charts(self):
        lines = self.evidence.lines

        def label(line):
            return f"{line.event.local_starts_at:%d %b %Y}: {line.event.title}"

        reached = charts.column_bars(
            "chart-organisations-over-time",
            "Organisations reached over time",
            "Column chart of the organisations reached so far, after each event",
            [(f"{line.event.local_starts_at:%b %Y}", line.organisations_so_far) for line in lines],
            columns=("Event", "Organisations there", "New to you", "Total so far"),
            rows=[
                (label(line), line.organisations, line.new_organisations, line.organisations_so_far)
                for line in lines
            ],
        )
        people = charts.horizontal_bars(
            "chart-people-per-event",
            "People who took part, per event",
            "Bar chart of people with a booking who took part in each event",
            [(label(line), line.took_part) for line in lines],
            self.shown,
            columns=("Event", "Signed up", "Took part", "Contributed", "Guests"),
            rows=[
                (
                    label(line),
                    self.shown(line.signed_up),
                    self.shown(line.took_part),
                    self.shown(line.contributed),
                    self.shown(line.guests),
                )
                for line in lines
            ],
        )
        return [reached, people]


def event_report(event, threshold, shared=False):
    return EventReport(shared, threshold, counting.event_evidence(event))


def organiser_report(organiser, threshold, shared=False):
    return OrganiserReport(shared, threshold, across.organiser_evidence(organiser), organiser.name)
