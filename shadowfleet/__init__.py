"""shadowfleet: turn raw AIS into evidence about sanctioned shipping.

The notebook entry point is :func:`shadowfleet.detect`.
"""

from shadowfleet.errors import ShadowfleetError

__version__ = "0.1.0"


def detect(inputs, *, ports=None, claims=None, config=None, pairs=(), watchlists=(),
           engine="local", simulated=None):
    """Decode ``inputs``, run every detector and judge the claims with these ports and
    this config; see :func:`shadowfleet.pipeline.detect`."""
    from shadowfleet.pipeline import detect as _detect

    return _detect(inputs, ports=ports, claims=claims, config=config, pairs=pairs,
                   watchlists=watchlists, engine=engine, simulated=simulated)


__all__ = ["ShadowfleetError", "detect", "__version__"]
