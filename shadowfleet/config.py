"""Thresholds from a TOML file.

Every threshold of every detector is a config key of the same name as its dataclass
field (DESIGN.md: "every threshold is a config key of the same name"). Keys are flat, at
the top level of the file; a key shared by several detectors (``gap_hours``,
``min_dwell_minutes``) sets it in each of them, so the definitions stay consistent
(``gap_hours`` ends a port visit, makes a dark period and ends a stay alike).
``pairs = [["Najin", "Dunay"], ...]`` adds pairs of interest. An unknown key, a value of
the wrong type or one a detector rejects is a one-line ``ConfigError`` naming the file,
the line and the key.

Example ``shadowfleet.toml``::

    gap_hours = 12
    min_dwell_minutes = 90
    reach_speed_kn = 14
    encounter_distance_m = 250       # Skylight's rendezvous distance
    loiter_min_hours = 6
    pairs = [["Najin", "Vostochny"]]
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any, Mapping

from ais.errors import ConfigError, ShadowfleetError


def _param_classes() -> dict[str, type]:
    """Detector parameter dataclasses by the attribute name they get in ``Settings``."""
    from detectors.cleaning import CleaningParams
    from detectors.dark_periods import DarkPeriodParams
    from detectors.encounters import EncounterParams
    from detectors.identity import IdentityParams
    from detectors.identity_tracks import TrackParams
    from detectors.loitering import LoiteringParams
    from detectors.port_visits import PortVisitParams
    from detectors.ranking import RankingParams
    from detectors.round_trips import RoundTripParams
    from detectors.stops import StopParams

    # claims have no thresholds of their own: they read the dark-period detector's
    # (shadowfleet.claims.ClaimParams.of), so a run's claims and events never disagree;
    # max_speed_kn is the cleaning's and the track split's (one speed no ship exceeds)
    return {"cleaning": CleaningParams, "visits": PortVisitParams,
            "gaps": DarkPeriodParams, "trips": RoundTripParams,
            "encounters": EncounterParams, "loitering": LoiteringParams,
            "stops": StopParams, "ranking": RankingParams, "tracks": TrackParams,
            "identity": IdentityParams}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """All thresholds of a run, one frozen dataclass per detector, plus config pairs."""

    cleaning: Any
    visits: Any
    gaps: Any
    trips: Any
    encounters: Any
    loitering: Any
    stops: Any
    ranking: Any
    tracks: Any
    identity: Any
    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def defaults(cls) -> "Settings":
        return cls(**{name: klass() for name, klass in _param_classes().items()})

    def as_dict(self) -> dict[str, Any]:
        """Every threshold by its key (the flat view a config file uses)."""
        out: dict[str, Any] = {}
        for name in _param_classes():
            out.update(dataclasses.asdict(getattr(self, name)))
        return out

    def replace(self, **values: Any) -> "Settings":
        """A copy with thresholds set by key; unknown keys raise ``ConfigError``."""
        return _build(values, path=None, text="", base=self)


def known_keys() -> list[str]:
    keys: set[str] = set()
    for klass in _param_classes().values():
        keys.update(f.name for f in dataclasses.fields(klass))
    return sorted(keys) + ["pairs"]


def load_config(path: str | Path | None = None) -> Settings:
    """Settings from a TOML file (defaults for every key it does not set)."""
    if path is None:
        return Settings.defaults()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "config file not found", "check the path given to --config") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read config file ({exc.__class__.__name__})",
                          "give a UTF-8 TOML file") from None
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        msg = getattr(exc, "msg", str(exc))
        raise ConfigError(path, f"not valid TOML ({msg})", "fix the syntax (see toml.io)",
                          line=line) from None
    return _build(values, path=path, text=text, base=Settings.defaults())


def _line_of(text: str, key: str) -> int | None:
    m = re.search(rf"^[ \t]*{re.escape(key)}[ \t]*=", text, re.M)
    return None if m is None else text.count("\n", 0, m.start()) + 1


def _build(values: Mapping[str, Any], *, path, text: str, base: Settings) -> Settings:
    classes = _param_classes()
    known = known_keys()
    for key, value in values.items():
        if key not in known:
            raise ConfigError(path, f"unknown config key '{key}'",
                              f"known keys: {', '.join(known)}", line=_line_of(text, key))
        if isinstance(value, dict):
            raise ConfigError(path, f"config key '{key}' is a table",
                              "thresholds are plain top-level keys", line=_line_of(text, key))
    pairs = base.pairs
    if "pairs" in values:
        pairs = _parse_pairs(values["pairs"], path, _line_of(text, "pairs"))
    parts: dict[str, Any] = {}
    for name, klass in classes.items():
        current = getattr(base, name)
        fields = {f.name: f for f in dataclasses.fields(klass)}
        changes = {}
        for key, value in values.items():
            if key not in fields:
                continue
            default = getattr(current, key)
            changes[key] = _coerce(key, value, default, path, _line_of(text, key))
        try:
            parts[name] = dataclasses.replace(current, **changes) if changes else current
        except ShadowfleetError as exc:
            # the key the detector complains about (a shared key such as gap_hours may
            # come first among the changes)
            problem = str(getattr(exc, "problem", exc))
            bad = next((k for k in changes if k in problem), next(iter(changes), None))
            raise ConfigError(path, getattr(exc, "problem", str(exc)),
                              getattr(exc, "remedy", ""),
                              line=_line_of(text, bad) if bad else None) from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(path, f"invalid thresholds: {exc}", "fix the values") from None
    return Settings(**parts, pairs=pairs)


def _coerce(key: str, value: Any, default: Any, path, line):
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(path, f"'{key}' must be true or false, not {value!r}", "", line=line)
        return value
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, f"'{key}' must be a number, not {value!r}",
                              "write a plain number", line=line)
        return type(default)(value) if isinstance(default, float) or float(value).is_integer() else value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(path, f"'{key}' must be a string, not {value!r}", "", line=line)
        return value
    return value


def _parse_pairs(value: Any, path, line) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise ConfigError(path, "'pairs' must be a list of [A, B] port-name pairs",
                          'write pairs = [["Najin", "Dunay"]]', line=line)
    out = []
    for item in value:
        if (not isinstance(item, list) or len(item) != 2
                or not all(isinstance(x, str) and x.strip() for x in item)):
            raise ConfigError(path, f"'pairs' entry {item!r} is not a pair of port names",
                              'write pairs = [["Najin", "Dunay"]]', line=line)
        out.append((item[0].strip(), item[1].strip()))
    return tuple(out)
