"""Writers for everything in ``--out DIR``: CSV tables, summary.json, map.html, timeline.png."""

# map.html shows at most this many vessels of interest unless --map-vessels says otherwise
# (kept here, not in outputs.map, so that the command line reads it without importing
# the map's dependencies)
MAP_VESSELS_DEFAULT = 50
