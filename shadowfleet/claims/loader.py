"""Claims files: YAML, one file per source (DESIGN.md, "Claims file").

Every problem is a one-line :class:`ais.errors.ClaimsError` of the form
``FILE:LINE: claim 'ID', field 'FIELD': PROBLEM; REMEDY``, so a researcher editing a file
can go straight to the mistake. Unknown keys are errors (a misspelt ``atleast`` must not
silently become "no count"), IMO numbers must pass the IMO check digit (a typo would
otherwise quietly match no ship), and claim ids are unique across all files given.

A claim of kind ``untestable`` (a statement AIS cannot test: a container total, rail
cars, an intelligence judgement) needs a ``reason`` saying why; it takes no ports,
vessels, labels or ``at_least`` (there is nothing for AIS to count), and its ``window``
is optional. ``reason`` belongs to untestable claims only.

Kinds without ports (``dark_periods``, ``encounters``, ``loitering``) count the named
vessels' events anywhere; ``near: PORT`` (with ``radius_nm``) places ``dark_periods`` and
``loitering`` claims, ``min_hours`` belongs to ``dark_periods``, and ``with`` (the other
vessel of each meeting, the same shape as ``vessels``: ``{imo: [...], mmsi: [...],
names: [...]}``) to ``encounters``. Loitering lies at least ``loiter_port_distance_nm``
from every port by definition, so a ``loitering`` claim ``near`` a port needs
``radius_nm``.

The bundled files (``shadowfleet/data/claims/*.yaml``) hold the claims of REFERENCE.md,
the testable and the untestable ones, each in the file of its source.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Iterable

import yaml

from shadowfleet.errors import ClaimsError
from shadowfleet.claims.model import (KINDS, UNTESTABLE, Claim, Vessels, Window,
                                      imo_check_digit_ok)

BUNDLED_DIR = Path(__file__).resolve().parents[1] / "data" / "claims"

_FILE_KEYS = {"source", "published", "url", "claims"}
_CLAIM_KEYS = {"id", "statement", "kind", "ports", "window", "vessels", "at_least", "source",
               "published", "url", "min_hours", "near", "radius_nm", "labels", "note",
               "reason", "with"}
# what an untestable claim cannot have: AIS counts nothing for it
_NOT_FOR_UNTESTABLE = ("ports", "vessels", "labels", "at_least", "min_hours", "near",
                       "radius_nm", "with")
# which kinds take each optional field
_ONLY_FOR = {"min_hours": ("dark_periods",), "near": ("dark_periods", "loitering"),
             "radius_nm": ("dark_periods", "loitering"), "with": ("encounters",)}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class _Map(dict):
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int = 0

    def __init__(self):
        super().__init__()
        self.lines: dict[Any, int] = {}

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    out = _Map()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool, dt.date)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


class _Context:
    """Builds errors that name the file, the claim and the field."""

    def __init__(self, path: Path, claim_id: str | None = None):
        self.path = path
        self.claim_id = claim_id

    def error(self, field: str, problem: str, remedy: str, line: int | None) -> ClaimsError:
        who = f"claim {self.claim_id!r}, " if self.claim_id else ""
        return ClaimsError(self.path, f"{who}field {field!r}: {problem}", remedy, line=line)


def bundled_claim_files() -> list[Path]:
    """The claims files shipped with shadowfleet, sorted by name."""
    return sorted(BUNDLED_DIR.glob("*.yaml"))


def bundled_claims() -> list[Claim]:
    """Every bundled claim, validated."""
    return load_claims(bundled_claim_files())


def load_claims(paths: str | Path | Iterable[str | Path]) -> list[Claim]:
    """Load and validate one or more claims files; ids must be unique across them."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    claims: list[Claim] = []
    seen: dict[str, Claim] = {}
    for path in paths:
        for claim in load_claim_file(path):
            if claim.id in seen:
                first = seen[claim.id]
                raise ClaimsError(claim.file, f"claim {claim.id!r}, field 'id': already used in "
                                  f"{first.file}", "give every claim its own id")
            seen[claim.id] = claim
            claims.append(claim)
    return claims


def load_claim_file(path: str | Path) -> list[Claim]:
    """Load and validate one claims file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ClaimsError(path, "no such file", "check the path given to --claims") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClaimsError(path, f"cannot be read ({exc})", "give a UTF-8 YAML claims file") from None
    try:
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ClaimsError(path, f"not valid YAML: {problem}", "fix the YAML syntax",
                          line=None if mark is None else mark.line + 1) from None
    ctx = _Context(path)
    if not isinstance(doc, _Map):
        raise ClaimsError(path, "the file must be a mapping with 'source' and 'claims'",
                          "see DESIGN.md, 'Claims file'", line=1)
    _no_unknown(ctx, doc, _FILE_KEYS, "")
    source = _text(ctx, doc, "source", required=True)
    published = _published(ctx, doc, "published")
    url = _url(ctx, doc, "url")
    items = doc.get("claims")
    if not isinstance(items, list) or not items:
        raise ctx.error("claims", "must be a non-empty list of claims",
                        "add at least one claim under 'claims:'", doc.line_of("claims"))
    out = []
    for i, item in enumerate(items):
        out.append(_claim(path, item, i, source=source, published=published, url=url,
                          line=doc.line_of("claims")))
    return out


def check_ports(claims: Iterable[Claim], registry) -> dict[str, tuple[str, ...]]:
    """Map each claim id to its ports (and ``near``) as the registry spells them; a
    ClaimsError naming the file and claim when a port is not in the registry."""
    out = {}
    for claim in claims:
        names = []
        for field, name in [("ports", p) for p in claim.ports] + (
                [("near", claim.near)] if claim.near else []):
            try:
                names.append(registry.names[registry.index(name)])
            except Exception as exc:  # the registry's own InputError lists known names
                known = ", ".join(getattr(registry, "names", ()))
                raise ClaimsError(claim.file, f"claim {claim.id!r}, field {field!r}: port "
                                  f"{name!r} is not in the port registry",
                                  f"use one of: {known}" if known else str(exc)) from None
        out[claim.id] = tuple(names)
    return out


def _claim(path: Path, item: Any, index: int, *, source: str, published: str, url: str,
           line: int) -> Claim:
    if not isinstance(item, _Map):
        raise ClaimsError(path, f"claim #{index + 1}: must be a mapping with id, statement, kind, "
                          "ports, window, at_least", "see DESIGN.md, 'Claims file'", line=line)
    cid = item.get("id")
    if not isinstance(cid, str) or not _ID.match(cid):
        raise ClaimsError(path, f"claim #{index + 1}, field 'id': {cid!r} is not a valid id",
                          "use letters, digits, '.', '_' or '-' (e.g. rusi-wapo-2023)",
                          line=item.line_of("id"))
    ctx = _Context(path, cid)
    _no_unknown(ctx, item, _CLAIM_KEYS, "")
    statement = _text(ctx, item, "statement", required=True)
    kind = item.get("kind")
    if kind not in KINDS:
        raise ctx.error("kind", f"{kind!r} is not a claim kind", f"use one of {', '.join(KINDS)}",
                        item.line_of("kind"))
    if kind == UNTESTABLE:
        return _untestable(ctx, path, item, cid, statement, source=source,
                           published=published, url=url)
    if "reason" in item:
        raise ctx.error("reason", f"applies to untestable claims only, not {kind}",
                        "remove reason (or use kind: untestable for a claim AIS cannot test)",
                        item.line_of("reason"))
    for key, kinds in _ONLY_FOR.items():
        if key in item and kind not in kinds:
            only = " and ".join(kinds)
            raise ctx.error(key, f"applies to {only} claims only, not {kind}",
                            f"remove {key}", item.line_of(key))
    ports = _ports(ctx, item, kind)
    window = _window(ctx, item)
    with_vessels = Vessels()
    if "with" in item:
        with_vessels = _vessel_numbers(ctx, item, "with")
        if not len(with_vessels):
            raise ctx.error("with", "names no vessel",
                            "write with: {imo: [...]} (or mmsi, names), or remove with",
                            item.line_of("with"))
    vessels, labels = _vessels(ctx, item, also=with_vessels)
    at_least = item.get("at_least")
    if isinstance(at_least, bool) or not isinstance(at_least, int) or at_least < 1:
        raise ctx.error("at_least", f"{at_least!r} is not a whole number >= 1",
                        "give the count the source claims, e.g. at_least: 5",
                        item.line_of("at_least"))
    min_hours = _number(ctx, item, "min_hours")
    near = _text(ctx, item, "near", required=False)
    radius = _number(ctx, item, "radius_nm")
    radius_nm = 0.0 if radius is None else radius
    if radius is not None and not near:
        raise ctx.error("radius_nm", "given without 'near'", "add near: PORT or drop radius_nm",
                        item.line_of("radius_nm"))
    if kind == "loitering" and near and not radius_nm:
        raise ctx.error("near", "a loitering claim near a port needs radius_nm > 0 (loitering "
                        "lies at least loiter_port_distance_nm from every port)",
                        "add radius_nm: NM, the distance from the port's polygon",
                        item.line_of("near"))
    return Claim(id=cid, kind=kind, statement=statement, ports=ports, window=window,
                 vessels=vessels, at_least=at_least,
                 source=_text(ctx, item, "source", required=False) or source,
                 published=_published(ctx, item, "published") or published,
                 url=_url(ctx, item, "url") or url, file=str(path), min_hours=min_hours,
                 near=near or "", radius_nm=radius_nm, labels=labels,
                 note=_text(ctx, item, "note", required=False), with_vessels=with_vessels)


def _untestable(ctx: _Context, path: Path, item: _Map, cid: str, statement: str, *,
                source: str, published: str, url: str) -> Claim:
    """A claim AIS cannot test: a reason, an optional window, nothing to count."""
    for key in _NOT_FOR_UNTESTABLE:
        if key in item:
            raise ctx.error(key, "an untestable claim has nothing for AIS to count",
                            f"remove {key} (say it in the statement), or give the claim a "
                            "testable kind", item.line_of(key))
    reason = _text(ctx, item, "reason", required=False)
    if not reason:
        raise ctx.error("reason", "missing: an untestable claim must say why AIS cannot test it",
                        "add reason: ... (e.g. AIS reports where ships are, not what they carry)",
                        item.line_of("reason") if "reason" in item else item.line)
    window = _window(ctx, item) if "window" in item else None
    return Claim(id=cid, kind=UNTESTABLE, statement=statement, ports=(), window=window,
                 vessels=Vessels(), at_least=None,
                 source=_text(ctx, item, "source", required=False) or source,
                 published=_published(ctx, item, "published") or published,
                 url=_url(ctx, item, "url") or url, file=str(path),
                 note=_text(ctx, item, "note", required=False), reason=reason)


def _no_unknown(ctx: _Context, mapping: _Map, allowed: set[str], prefix: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise ctx.error(f"{prefix}{key}", "unknown field",
                            f"known fields: {', '.join(sorted(allowed))}", mapping.line_of(key))


def _text(ctx: _Context, mapping: _Map, key: str, *, required: bool) -> str:
    value = mapping.get(key)
    if value is None:
        if required:
            raise ctx.error(key, "missing", f"add {key}: ...", mapping.line)
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ctx.error(key, f"{value!r} is not a non-empty text", f"give {key} as text",
                        mapping.line_of(key))
    return " ".join(value.split())


def _published(ctx: _Context, mapping: _Map, key: str) -> str:
    value = mapping.get(key)
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and 1000 <= value <= 9999:
        return str(value)
    if isinstance(value, str) and _PARTIAL_DATE.match(value.strip()):
        return value.strip()
    raise ctx.error(key, f"{value!r} is not a date", "write YYYY-MM-DD (or YYYY-MM, YYYY)",
                    mapping.line_of(key))


def _url(ctx: _Context, mapping: _Map, key: str) -> str:
    value = mapping.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or not re.match(r"^https?://\S+$", value.strip()):
        raise ctx.error(key, f"{value!r} is not an http(s) URL", "give the public address or "
                        "leave url out", mapping.line_of(key))
    return value.strip()


def _number(ctx: _Context, mapping: _Map, key: str) -> float | None:
    value = mapping.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 \
            or value == float("inf"):
        raise ctx.error(key, f"{value!r} is not a finite number >= 0", f"give {key} as a number",
                        mapping.line_of(key))
    return float(value)


def _ports(ctx: _Context, item: _Map, kind: str) -> tuple[str, ...]:
    raw = item.get("ports", [])
    line = item.line_of("ports")
    if not isinstance(raw, list) or not all(isinstance(p, str) and p.strip() for p in raw):
        raise ctx.error("ports", f"{raw!r} is not a list of port names",
                        "write ports: [Najin, Dunay]", line)
    ports = tuple(" ".join(p.split()) for p in raw)
    need = {"round_trips": (2, "two ports: ports: [A, B]"),
            "legs": (2, "two ports, from and to: ports: [A, B]"),
            "port_calls": (1, "one port: ports: [A]")}
    if kind in need:
        n, how = need[kind]
        if len(ports) != n:
            raise ctx.error("ports", f"a {kind} claim needs {how}, got {len(ports)}", f"give {how}",
                            line)
        if n == 2 and ports[0].casefold().replace(" ", "") == ports[1].casefold().replace(" ", ""):
            raise ctx.error("ports", "names the same port twice", "give two different ports", line)
    elif ports:
        how = ("use near: PORT (and radius_nm) to place it" if kind != "encounters" else
               "an encounter lies at sea, away from every port: remove ports")
        raise ctx.error("ports", f"a {kind} claim takes no ports", how, line)
    return ports


def _date(ctx: _Context, mapping: _Map, key: str, field: str) -> dt.date:
    value = mapping.get(key)
    if isinstance(value, dt.datetime):
        raise ctx.error(field, f"{value!r} has a time of day", "windows are whole UTC days: "
                        "write YYYY-MM-DD", mapping.line_of(key))
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ctx.error(field, f"{value!r} is not a date", "write YYYY-MM-DD", mapping.line_of(key))


def _window(ctx: _Context, item: _Map) -> Window:
    raw = item.get("window")
    if not isinstance(raw, _Map):
        raise ctx.error("window", "missing or not a mapping",
                        "write window: {start: YYYY-MM-DD, end: YYYY-MM-DD}", item.line_of("window"))
    _no_unknown(ctx, raw, {"start", "end"}, "window.")
    start = _date(ctx, raw, "start", "window.start")
    end = _date(ctx, raw, "end", "window.end")
    if end < start:
        raise ctx.error("window.end", f"{end} is before the start {start}",
                        "swap or correct the dates", raw.line_of("end"))
    return Window(start, end)


def _vessel_numbers(ctx: _Context, item: _Map, field: str) -> Vessels:
    """The ``vessels`` (or ``with``) mapping of a claim: IMO numbers (check digit
    verified), MMSIs and names, each list without repeats."""
    raw = item.get(field)
    if not isinstance(raw, _Map):
        raise ctx.error(field, "not a mapping", f"write {field}: {{imo: [...], mmsi: [], "
                        "names: []}", item.line_of(field))
    _no_unknown(ctx, raw, {"imo", "mmsi", "names"}, f"{field}.")

    def ints(key: str, digits: int) -> tuple[int, ...]:
        values = raw.get(key) or []
        values = values if isinstance(values, list) else [values]
        out = []
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int) or len(str(v)) != digits or v < 0:
                raise ctx.error(f"{field}.{key}", f"{v!r} is not a {digits}-digit number",
                                f"give {key.upper()} numbers as plain digits",
                                raw.line_of(key))
            if key == "imo" and not imo_check_digit_ok(v):
                raise ctx.error(f"{field}.imo", f"IMO {v} fails the IMO check digit",
                                "check the number for a typo", raw.line_of(key))
            if v not in out:
                out.append(v)
        return tuple(out)

    names_raw = raw.get("names") or []
    names_raw = names_raw if isinstance(names_raw, list) else [names_raw]
    if not all(isinstance(n, str) and n.strip() for n in names_raw):
        raise ctx.error(f"{field}.names", f"{names_raw!r} is not a list of names",
                        "write names: [ANGARA]", raw.line_of("names"))
    return Vessels(imo=ints("imo", 7), mmsi=ints("mmsi", 9),
                   names=tuple(dict.fromkeys(" ".join(n.split()) for n in names_raw)))


def _vessels(ctx: _Context, item: _Map, also: Vessels = Vessels()
             ) -> tuple[Vessels, tuple[tuple[int, str], ...]]:
    """The claim's vessels and its labels (which may name those vessels and ``also``
    the ``with`` vessels of an encounters claim)."""
    labels_raw = item.get("labels")
    vessels = Vessels() if item.get("vessels") is None else _vessel_numbers(ctx, item, "vessels")
    labels: list[tuple[int, str]] = []
    if labels_raw is not None:
        if not isinstance(labels_raw, _Map):
            raise ctx.error("labels", "not a mapping", "write labels: {9179842: ANGARA}",
                            item.line_of("labels"))
        for key, name in labels_raw.items():
            if isinstance(key, bool) or not isinstance(key, int) or not isinstance(name, str):
                raise ctx.error("labels", f"{key!r}: {name!r} is not IMO-or-MMSI: name",
                                "write labels: {9179842: ANGARA}", labels_raw.line_of(key))
            if key not in vessels.imo + vessels.mmsi + also.imo + also.mmsi:
                raise ctx.error("labels", f"{key} is not one of the claim's IMO or MMSI numbers",
                                "label only vessels listed under vessels (or with)",
                                labels_raw.line_of(key))
            labels.append((key, " ".join(name.split())))
    return vessels, tuple(labels)
