"""Port polygons: the bundled GeoJSON registry, user files, validation and
point-in-polygon for millions of positions."""
