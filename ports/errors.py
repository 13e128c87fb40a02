"""The errors ``ports`` raises (the root of the hierarchy is ``ais.errors``)."""

from __future__ import annotations

from ais.errors import InputError

__all__ = ["PortsError"]


class PortsError(InputError):
    """A port polygon file that does not validate."""
