"""The harvest as Markdown, CSV and JSON, with user text made inert in each format."""

import csv
import io
import json
import re

from ..writing import paragraphs, stanzas

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#|~&!])")


def markdown_text(text):
    """User text as inert Markdown: one line, special characters backslash-escaped."""
    text = MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    # A line starting like a list item, heading or rule would change the structure.
    return re.sub(r"^([-+=]|\d+[.)])", r"\\\1", text)


def harvest_as_markdown(harvest, url, sketch_url):
    """`sketch_url(note)`: the absolute address of a sketch note's image."""
    event = harvest.event
    editorial = harvest.editorial
    out = [f"# {markdown_text(event.title)}: the harvest", ""]
    out += [f"{event.local_starts_at:%A %d %B %Y}. Shared from <{url}>.", ""]
    for paragraph in paragraphs(editorial.introduction):
        out += ["  \n".join(markdown_text(line) for line in paragraph.split("\n")), ""]
    if editorial.poem:
        out += [f"## {markdown_text(editorial.poem_title or 'A poem from the session')}", ""]
        for stanza in stanzas(editorial.poem):
            out += [markdown_text(line) + "  " for line in stanza]
            out.append("")
        out += [f"By {markdown_text(editorial.poem_credit)}", ""]
    if harvest.poem:
        out += ["## The found poem", ""]
        for stanza in harvest.poem:
            out += [markdown_text(line.text) + "  " for line in stanza]
            out.append("")
    for section in harvest.sections:
        out += [f"## {markdown_text(section.text)}", ""]
        out += [
            f"- {markdown_text(c.text)} ({markdown_text(c.author)})" for c in section.contributions
        ]
        out.append("")
    if harvest.phrases:
        out += ["## Phrases we heard", ""]
        for phrase in harvest.phrases:
            by = f" ({markdown_text(phrase.attribution)})" if phrase.attribution else ""
            out.append(f"- {markdown_text(phrase.text)}{by}")
        out.append("")
    if harvest.most_resonant:
        out += ["## What resonated most", ""]
        out += [
            f"- {markdown_text(c.text)} ({markdown_text(c.author)}, resonated with {c.resonances})"
            for c in harvest.most_resonant
        ]
        out.append("")
    if harvest.words:
        out += ["## The words that came up most", ""]
        out += [", ".join(f"{markdown_text(w.word)} ({w.count})" for w in harvest.words), ""]
    out += ["## The day in figures", ""]
    out += [
        f"- {label}: {value} ({meaning})" for _key, label, value, meaning in harvest.figures.rows()
    ]
    out.append("")
    if harvest.sketch_notes:
        out += ["## Sketch notes", ""]
        for note in harvest.sketch_notes:
            out += [f"![{markdown_text(note.alt_text)}]({markdown_url(sketch_url(note))})", ""]
    return "\n".join(out)


def markdown_url(url):
    """An address inside Markdown's (...): characters that would end or break it, escaped."""
    return re.sub(r"[()<>\s]", lambda match: f"%{ord(match.group()):02X}", url)


def csv_cell(value):
    """A cell a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def harvest_as_csv(harvest):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "prompt", "text", "author", "resonances", "time", "stanza"])
    editorial = harvest.editorial
    if editorial.introduction:
        writer.writerow(map(csv_cell, ["introduction", "", editorial.introduction, "", "", "", ""]))
    if editorial.poem:
        writer.writerow(
            map(
                csv_cell,
                ["written poem", editorial.poem_title, editorial.poem, editorial.poem_credit]
                + ["", "", ""],
            )
        )
    for stanza_number, stanza in enumerate(harvest.poem, 1):
        for line in stanza:
            writer.writerow(map(csv_cell, ["poem", "", line.text, "", "", "", stanza_number]))
    for section in harvest.sections:
        for c in section.contributions:
            writer.writerow(
                map(
                    csv_cell,
                    [
                        "contribution",
                        section.text,
                        c.text,
                        c.author,
                        c.resonances,
                        c.created_at.isoformat(),
                        "",
                    ],
                )
            )
    for phrase in harvest.phrases:
        writer.writerow(
            map(
                csv_cell,
                [
                    "phrase",
                    "",
                    phrase.text,
                    phrase.attribution,
                    "",
                    phrase.created_at.isoformat(),
                    "",
                ],
            )
        )
    for _key, label, value, _meaning in harvest.figures.rows():
        writer.writerow(map(csv_cell, ["figure", "", label, "", value, "", ""]))
    return buffer.getvalue()


def harvest_as_data(harvest, url, sketch_url):
    def contribution(c):
        return {
            "id": c.id,
            "text": c.text,
            "author": c.author,
            "prompt": c.prompt,
            "resonances": c.resonances,
            "featured": c.featured,
            "created_at": c.created_at.isoformat(),
        }

    event = harvest.event
    return {
        "event": {
            "title": event.title,
            "slug": event.slug,
            "starts_at": event.starts_at.isoformat(),
            "ends_at": event.ends_at.isoformat(),
            "timezone": event.timezone,
            "url": url,
        },
        "introduction": paragraphs(harvest.editorial.introduction),
        "written_poem": written_poem_data(harvest.editorial),
        "poem": [[line.text for line in stanza] for stanza in harvest.poem],
        "prompts": [
            {"text": s.text, "contributions": [contribution(c) for c in s.contributions]}
            for s in harvest.sections
        ],
        "phrases": [
            {"text": p.text, "attribution": p.attribution, "created_at": p.created_at.isoformat()}
            for p in harvest.phrases
        ],
        "most_resonant": [contribution(c) for c in harvest.most_resonant],
        "words": [{"word": w.word, "count": w.count} for w in harvest.words],
        "figures": {key: value for key, _label, value, _meaning in harvest.figures.rows()},
        "sketch_notes": [
            {"alt_text": n.alt_text, "url": sketch_url(n), "width": n.width, "height": n.height}
            for n in harvest.sketch_notes
        ],
    }


def written_poem_data(editorial):
    if not editorial.poem:
        return None
    return {
        "title": editorial.poem_title,
        "stanzas": stanzas(editorial.poem),
        "credit": editorial.poem_credit,
        # "instead": the found poem ("poem") is left out, as on the harvest page.
        "placement": editorial.placement,
    }


def harvest_as_json(harvest, url, sketch_url):
    """JSON with <, > and & escaped as \\u sequences, so no consumer can mistake it for HTML."""
    text = json.dumps(harvest_as_data(harvest, url, sketch_url), ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
