"""The root of shadowfleet's one exception hierarchy, and the errors ``ais`` raises.

Every error the project raises on purpose derives from :class:`ShadowfleetError`. The
root lives in ``ais`` because ``ais`` is the bottom layer; each other error class lives
in the layer that raises it (``ports.errors.PortsError``; claims, watchlist and job-state
errors in ``shadowfleet.errors``, which also gathers the whole hierarchy for users).

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


class NoReceiveTimeError(InputError):
    """A feed with no receive time on any line, given to a command that needs times."""


class DecoderStateError(ShadowfleetError):
    """A saved ``IncrementalDecoder`` state this version cannot use (not one it wrote:
    corrupt, changed by hand, or of another version)."""

