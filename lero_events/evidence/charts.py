"""Bar charts drawn on the server as SVG: readable without JavaScript, in print and by screen
readers (each has a <title> and a <desc>, each bar its own <title>), always shown beside a
table of the same numbers.

A count hidden as "fewer than N" (visibility.shared_count) is drawn as a pale bar of that
length, so the picture gives away no more than the words.
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from markupsafe import Markup

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
WIDTH = 640
LABEL_WIDTH = 250
VALUE_WIDTH = 110
ROW_HEIGHT = 28
BAR_HEIGHT = 18
COLUMNS_HEIGHT = 200
AXIS_SPACE = 44
# Labels are cut to fit their column at the stylesheet's 12px; the table has them whole.
LONGEST_LABEL = 32


@dataclass(frozen=True)
class Chart:
    """A chart and its table: `rows` are the table's rows, numbers already as shown."""

    id: str
    title: str
    description: str
    columns: tuple
    rows: list
    svg: Markup


def exact(value):
    return value


def bar_length(value, shown):
    """The length a bar stands for: the count, or the threshold for a hidden one."""
    text = shown(value)
    if isinstance(text, str):
        return int(text.rsplit(" ", 1)[-1]), True
    return value, False


def short(label):
    return label if len(label) <= LONGEST_LABEL else label[: LONGEST_LABEL - 1] + "…"


def svg_root(chart_id, title, description, height):
    root = ET.Element(
        "svg",
        {
            "xmlns": SVG_NAMESPACE,
            "viewBox": f"0 0 {WIDTH} {height}",
            "width": str(WIDTH),
            "height": str(height),
            "role": "img",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
            "class": "chart-svg",
        },
    )
    ET.SubElement(root, "title", {"id": f"{chart_id}-title"}).text = title
    ET.SubElement(root, "desc", {"id": f"{chart_id}-desc"}).text = description
    return root


def describe(what, pairs, shown):
    listed = "; ".join(f"{label}: {shown(value)}" for label, value in pairs)
    return f"{what}. {listed}." if pairs else f"{what}: nothing to show yet."


def bar(parent, x, y, width, height, label, value, shown, hidden):
    group = ET.SubElement(parent, "g", {"class": "chart-bar-group"})
    ET.SubElement(group, "title").text = f"{label}: {shown(value)}"
    ET.SubElement(
        group,
        "rect",
        {
            "x": f"{x:.1f}",
            "y": f"{y:.1f}",
            "width": f"{max(width, 0):.1f}",
            "height": f"{max(height, 0):.1f}",
            "class": "chart-bar chart-bar-hidden" if hidden else "chart-bar",
        },
    )


def text(parent, x, y, content, css_class, anchor="start"):
    ET.SubElement(
        parent,
        "text",
        {"x": f"{x:.1f}", "y": f"{y:.1f}", "class": css_class, "text-anchor": anchor},
    ).text = str(content)


def horizontal_bars(chart_id, title, what, pairs, shown=exact, columns=("", "Number"), rows=None):
    """One bar per (label, value), largest scale the largest value; the table lists `rows`
    (default: the pairs, shown)."""
    height = max(len(pairs), 1) * ROW_HEIGHT + 8
    root = svg_root(chart_id, title, describe(what, pairs, shown), height)
    lengths = [bar_length(value, shown) for _label, value in pairs]
    top = max([length for length, _hidden in lengths] + [1])
    scale = (WIDTH - LABEL_WIDTH - VALUE_WIDTH) / top
    for index, ((label, value), (length, hidden)) in enumerate(zip(pairs, lengths, strict=True)):
        y = 4 + index * ROW_HEIGHT
        text(root, LABEL_WIDTH - 8, y + BAR_HEIGHT - 4, short(label), "chart-label", "end")
        bar(root, LABEL_WIDTH, y, length * scale, BAR_HEIGHT, label, value, shown, hidden)
        end = LABEL_WIDTH + length * scale
        text(root, end + 6, y + BAR_HEIGHT - 4, shown(value), "chart-value")
    return finish(chart_id, title, root, pairs, shown, columns, rows)


def column_bars(chart_id, title, what, pairs, shown=exact, columns=("", "Number"), rows=None):
    """Upright bars in order (a time series), labelled under the first, last and every few."""
    height = COLUMNS_HEIGHT + AXIS_SPACE
    root = svg_root(chart_id, title, describe(what, pairs, shown), height)
    lengths = [bar_length(value, shown) for _label, value in pairs]
    top = max([length for length, _hidden in lengths] + [1])
    left, right = 40, 10
    slot = (WIDTH - left - right) / max(len(pairs), 1)
    scale = (COLUMNS_HEIGHT - 20) / top
    ET.SubElement(
        root,
        "line",
        {
            "x1": str(left),
            "x2": str(WIDTH - right),
            "y1": str(COLUMNS_HEIGHT),
            "y2": str(COLUMNS_HEIGHT),
            "class": "chart-axis",
        },
    )
    text(root, left - 6, 24, top, "chart-value", "end")
    text(root, left - 6, COLUMNS_HEIGHT, 0, "chart-value", "end")
    every = -(-len(pairs) // 6)  # at most six labels under the columns, so none overlap
    for index, ((label, value), (length, hidden)) in enumerate(zip(pairs, lengths, strict=True)):
        x = left + index * slot + slot * 0.15
        tall = length * scale
        bar(root, x, COLUMNS_HEIGHT - tall, slot * 0.7, tall, label, value, shown, hidden)
        if index % every == 0:
            text(root, x + slot * 0.35, COLUMNS_HEIGHT + 18, short(label), "chart-label", "middle")
    return finish(chart_id, title, root, pairs, shown, columns, rows)


def finish(chart_id, title, root, pairs, shown, columns, rows):
    if rows is None:
        rows = [(label, shown(value)) for label, value in pairs]
    # ElementTree escapes every text and attribute it writes, so the markup is safe as it is.
    svg = Markup(ET.tostring(root, encoding="unicode"))  # noqa: S704
    return Chart(chart_id, title, root.find("desc").text, tuple(columns), rows, svg)
