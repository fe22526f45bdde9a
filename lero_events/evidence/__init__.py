"""Evidence for commissioners: what an event (and an organiser's events together) achieved.

- `counting`: the figures, each with its definition, counted only from fields that erasure and
  the retention purge keep (status, timestamps, attendance, organisation, contribution rows), so
  they stay right afterwards; the harvest's "day in figures" uses the same definitions;
- `charts`: bar charts drawn on the server as SVG, each with a title, a description and a table;
- `summary`: the anonymous Markdown and CSV downloads, small numbers hidden.
"""
