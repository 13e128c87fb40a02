"""Port polygons: the bundled GeoJSON registry, user files, validation and
point-in-polygon for millions of positions."""

from ports.registry import BUNDLED_PORTS, PortRegistry, load_ports

__all__ = ["BUNDLED_PORTS", "PortRegistry", "load_ports"]
