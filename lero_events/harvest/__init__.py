"""The harvest: what an event's participants and speakers said, gathered and shared.

- `sharing`: who may see it (hosts, everyone once published, a secret link), and when the page
  follows the live room;
- `gathering`: what the page shows, only as far as each author allowed it;
- `words`: the words that came up most;
- `poem`: the found poem hosts compose from approved contributions and phrases;
- `exports`: Markdown, CSV and JSON downloads.

Sketch notes (image uploads) live in `lero_events.sketches`.
"""
