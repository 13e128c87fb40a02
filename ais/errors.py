"""The one exception hierarchy of shadowfleet.

Every error the library raises on purpose derives from :class:`ShadowfleetError`.
It lives in ``ais`` because ``ais`` is the bottom layer: ``ports``, ``detectors`` and
``shadowfleet`` all import it from here (``shadowfleet.errors`` re-exports it).

The command line turns any ``ShadowfleetError`` into one line, ``str(error)``, and exit
code 1. So the message must stand alone: name the file (and line when there is one), say
what is wrong, and say what to do about it.
"""

from __future__ import annotations

from pathlib import Path


class ShadowfleetError(Exception):
    """Root of every deliberate shadowfleet error."""


class InputError(ShadowfleetError):
    """An input file (feed, ports, claims, config, watchlist) that cannot be used.

    ``str()`` gives ``FILE[:LINE]: PROBLEM; REMEDY`` on one line.
    """

    def __init__(self, path: str | Path | None, problem: str, remedy: str = "",
                 line: int | None = None):
        self.path = None if path is None else str(path)
        self.problem = problem
        self.remedy = remedy
        self.line = line
        where = self.path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        text = f"{where}: {problem}"
        if remedy:
            text = f"{text}; {remedy}"
        super().__init__(" ".join(text.split()))


class ConfigError(InputError):
    """A configuration value or key that is not valid."""


class PortsError(InputError):
    """A port polygon file that does not validate."""


class ClaimsError(InputError):
    """A claims file that does not validate."""


class WatchlistError(InputError):
    """A watchlist file that cannot be parsed."""


class NoReceiveTimeError(InputError):
    """A feed with no receive time on any line, given to a command that needs times."""


class StateError(ShadowfleetError):
    """Job state that cannot be used (corrupt, from an incompatible version)."""
