"""The errors the application raises, and the whole hierarchy in one place for its users.

The root, :class:`ShadowfleetError`, and the input errors ``ais`` raises live in
``ais.errors`` (the bottom layer); ``PortsError`` lives in ``ports.errors``. The classes
below are raised by the application itself: claims files, watchlists and the state a
scheduled job or a watch carries between runs.
"""

from __future__ import annotations

from ais.errors import ConfigError, InputError, NoReceiveTimeError, ShadowfleetError
from ports.errors import PortsError

__all__ = ["ShadowfleetError", "InputError", "ConfigError", "PortsError", "ClaimsError",
           "WatchlistError", "NoReceiveTimeError", "StateError", "OutputError"]


class ClaimsError(InputError):
    """A claims file that does not validate."""


class WatchlistError(InputError):
    """A watchlist file that cannot be parsed."""


class StateError(ShadowfleetError):
    """Job or watch state that cannot be used (corrupt, from an incompatible version)."""


class OutputError(ShadowfleetError):
    """An output or state path that cannot be written (missing parent that cannot be made,
    no permission, a file where a directory is expected, a full disk).

    ``str()`` gives ``PATH: PROBLEM; REMEDY`` on one line, like ``InputError``.
    """

    def __init__(self, path, problem: str, remedy: str = ""):
        self.path = None if path is None else str(path)
        self.problem, self.remedy = problem, remedy
        text = f"{self.path or '<output>'}: {problem}"
        if remedy:
            text = f"{text}; {remedy}"
        super().__init__(" ".join(text.split()))
