"""shadowfleet: turn raw AIS into evidence about sanctioned shipping.

The notebook entry point is :func:`shadowfleet.detect`. Importing the package imports
nothing else (``ShadowfleetError`` is loaded on first use), so that the command can tune
its own process before pandas starts (``shadowfleet.__main__``).
"""

__version__ = "0.1.0"


def detect(inputs, *, ports=None, claims=None, config=None, pairs=(), watchlists=(),
           engine="local", simulated=None, scheduler=None, work=None):
    """Decode ``inputs``, run every detector and judge the claims with these ports and
    this config; see :func:`shadowfleet.pipeline.detect`."""
    from shadowfleet.pipeline import detect as _detect

    return _detect(inputs, ports=ports, claims=claims, config=config, pairs=pairs,
                   watchlists=watchlists, engine=engine, simulated=simulated,
                   scheduler=scheduler, work=work)


def __getattr__(name: str):
    if name == "ShadowfleetError":
        from ais.errors import ShadowfleetError

        return ShadowfleetError
    raise AttributeError(f"module 'shadowfleet' has no attribute {name!r}")


__all__ = ["ShadowfleetError", "detect", "__version__"]
