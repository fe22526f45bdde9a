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


def summary_markdown(report, url):
    """An event's or an organiser's evidence, shared: headline, figures, each chart's table."""
    out = [f"# {markdown_text(report.heading)}", ""]
    out += [
        f"{report.period}. Counts of people below {report.threshold} read "
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
    for heading, text in report.notes():
        out += ["", f"## {markdown_text(heading)}", "", markdown_text(text)]
    out.append("")
    return "\n".join(out)


def summary_csv(report):
    """One row per number: section, item, measure, value, what it counts."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "item", "measure", "value", "what it counts"])
    for f, shown in report.figures():
        writer.writerow(map(csv_cell, ["figures", f.label, "number", shown, f.definition]))
    for section, item, value in report.extra_counts():
        writer.writerow(map(csv_cell, [section, item, "number", value, ""]))
    for chart in report.charts():
        for row in chart.rows:
            item, *values = row
            for measure, value in zip(chart.columns[1:], values, strict=True):
                writer.writerow(map(csv_cell, [chart.title, item, measure, value, ""]))
    return buffer.getvalue()
