"""Port polygons: the bundled GeoJSON registry, user files, validation and
point-in-polygon for millions of positions."""

__all__ = ["BUNDLED_PORTS", "PortRegistry", "load_ports"]


def __getattr__(name: str):
    # loaded on first use (PEP 562): ``ports.errors``, which the command line's error
    # handling imports, then costs no shapely, numpy or numba
    if name in __all__:
        from ports import registry

        value = getattr(registry, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ports' has no attribute {name!r}")
