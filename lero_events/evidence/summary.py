"""The anonymous evidence summary, as Markdown and CSV, ready to paste into a funding bid.

Only counts, question texts and organisation names: nothing about any person. Always built
from a shared report, so small numbers read "fewer than N".
"""

import csv
import io

from ..harvest.exports import csv_cell, markdown_text


def markdown_table(columns, rows):
    lines = [
        "| " + " | ".join(markdown_text(str(c)) for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    lines += ["| " + " | ".join(markdown_text(str(v)) for v in row) + " |" for row in rows]
    return lines


def event_summary_markdown(report, url):
    event = report.event
    out = [f"# Evidence: {markdown_text(event.title)}", ""]
    out += [
        f"{event.local_starts_at:%A %d %B %Y}. Counts of people below {report.threshold} read "
        f'"fewer than {report.threshold}", so no one can be picked out. From <{url}>.',
        "",
        markdown_text(report.summary),
        "",
        "## In figures",
        "",
    ]
    out += markdown_table(
        ("Figure", "Number", "What it counts"),
        [(f.label, shown, f.definition) for f, shown in report.figures()],
    )
    for chart in report.charts():
        out += ["", f"## {markdown_text(chart.title)}", ""]
        out += markdown_table(chart.columns, chart.rows) if chart.rows else ["Nothing yet."]
    out += ["", "## Resonance", "", markdown_text(report.resonance), ""]
    return "\n".join(out)


def event_summary_csv(report):
    """One row per number: section, item, value, what it counts."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "item", "measure", "value", "what it counts"])
    for f, shown in report.figures():
        writer.writerow(map(csv_cell, ["figures", f.label, "number", shown, f.definition]))
    resonance = report.evidence.resonance
    for item, value in (
        ("people who marked a reflection", report.shown(resonance.people)),
        ("reflections marked", resonance.reflections),
    ):
        writer.writerow(map(csv_cell, ["resonance", item, "number", value, ""]))
    for chart in report.charts():
        for row in chart.rows:
            item, *values = row
            for measure, value in zip(chart.columns[1:], values, strict=True):
                writer.writerow(map(csv_cell, [chart.title, item, measure, value, ""]))
    return buffer.getvalue()
