"""Writers for everything in ``--out DIR``: CSV tables, summary.json, map.html, timeline.png."""
