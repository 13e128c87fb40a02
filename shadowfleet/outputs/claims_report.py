"""claims.md: the claims evaluation as a report a researcher can read and cite.

Per claim: the statement and its source, the verdict in one sentence, the vessels as
resolved from the statics, the track coverage (what rules a claim out, or does not),
a table of the evidence with times, the identity anomalies of its vessels in the window
(``identity.csv``: a shared MMSI, a change of name or IMO, an invalid number), and the
caveats that apply (reception, identity).
Claims AIS cannot test are listed with the verdict *untestable* and their reason, so
every claim of a source is on record. A report made from simulated data opens with a
banner saying so (and naming the stand-ins of a demo). Text from the air (vessel names)
and from claims files (statements, URLs) is escaped so it cannot break the Markdown or
inject HTML.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path
from typing import Iterable

import pandas as pd

from shadowfleet.outputs.files import atomic_write_text

_VERDICT_TITLE = {"supported": "supported", "consistent_with_dark_activity":
                  "consistent with dark activity", "not_observed": "not observed",
                  "contradicted": "contradicted", "untestable": "untestable"}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")  # only a "<" that could open HTML


def md(text: object) -> str:
    """Escape free text (AIS names, statements) for Markdown, on one line."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    s = " ".join(str(text).split())
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return _TAG_START.sub("&lt;", s)


# RFC 3986 characters a URL may keep; any other (``<``, ``>``, ``"``, backtick, ``\\``,
# ``|``, spaces, braces...) is percent-encoded, so the autolink ``<URL>`` cannot be closed
# early or carry markup
_URL_SAFE = ":/?#[]@!$&'()*+,;=%-._~"


def url(text: str) -> str:
    """A claims file's URL as a Markdown autolink that cannot break out of itself; ""
    for anything but http(s)."""
    text = str(text or "").strip()
    if not re.match(r"^https?://", text, re.I):
        return ""
    return "<" + urllib.parse.quote(text, safe=_URL_SAFE) + ">"


def _time(ts) -> str:
    if ts is None or pd.isna(ts):
        return ""
    return pd.Timestamp(ts).strftime("%Y-%m-%dT%H:%MZ")


def banner(note: str, stand_ins: Iterable[dict] = ()) -> list[str]:
    """The lines claims.md opens with when its data are simulated."""
    lines = ["> **SIMULATED DATA.** These results come from a simulated AIS feed: every "
             "vessel, MMSI and IMO in it is fictional. The verdicts below say nothing about "
             "real ships; they show what shadowfleet makes of simulated voyages."]
    stand = list(stand_ins)
    if stand:
        pairs = "; ".join(f"{md(s['stand_in_name'])} (IMO {int(s['stand_in_imo'])}) for "
                          f"{md(s['real_name'])} (IMO {int(s['real_imo'])})" for s in stand)
        lines += [">", "> The claims are real, published ones, tested here on simulated ships "
                  f"standing in for the ships they name: {pairs}. A verdict below is about "
                  "the stand-ins, never about the real ships."]
    lines += [">", f"> Feed note: {md(note)}", ""]
    return lines


def render_claims_report(evaluation, *, simulated: str | None = None,
                         stand_ins: Iterable[dict] = ()) -> str:
    """The report as Markdown text; ``simulated``: the note of simulated data (a banner
    opens the report), ``stand_ins``: the demo's stand-in ships, named in the banner."""
    results = list(evaluation.results)
    out = banner(simulated, stand_ins) if simulated else []
    out += ["# Claims: what the AIS shows", ""]
    if not results:
        out += ["No claims were evaluated.", ""]
        return "\n".join(out)
    out += ["Verdicts: *supported* (observed >= claimed), *consistent with dark activity* "
            "(observed + inferred >= claimed), *contradicted* (fewer, and every named vessel "
            "was received throughout the window with no dark period), *not observed* "
            "(fewer, but dark periods or absence from the data leave room), *untestable* "
            "(a claim AIS cannot test, on record with its reason).", "",
            "| claim | source | window | ports | claimed | observed | inferred | verdict"
            + (" (SIMULATED DATA)" if simulated else "") + " |",
            "|---|---|---|---|---:|---:|---:|---|"]
    for r in results:
        c = r.claim
        out.append(f"| [{md(c.id)}](#{_anchor(c.id)}) | {md(c.source)} | {c.window or ''} | "
                   f"{md(c.describe_ports())} | {_n(c.at_least)} | {_n(r.observed)} | "
                   f"{_n(r.inferred)} | **{_VERDICT_TITLE[r.verdict]}** |")
    out.append("")
    for r in results:
        out += _claim_section(r, simulated=bool(simulated))
    return "\n".join(out).rstrip() + "\n"


def _n(value) -> str:
    return "" if value is None else str(value)


def _anchor(claim_id: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "", claim_id.lower())


def _claim_section(r, *, simulated: bool = False) -> list[str]:
    c = r.claim
    mark = " (SIMULATED DATA)" if simulated else ""
    lines = [f'<a id="{_anchor(c.id)}"></a>', "",
             f"## {md(c.id)}: {_VERDICT_TITLE[r.verdict]}{mark}",
             "", f"> {md(c.statement)}", ""]
    source = md(c.source)
    if c.published:
        source += f", published {md(c.published)}"
    if url(c.url):
        source += f", {url(c.url)}"
    if c.testable:
        what = (f"Claim: {c.kind.replace('_', ' ')} >= {c.at_least} "
                f"({md(c.describe_ports())}), window {c.window} (whole UTC days).")
    else:
        what = ("Claim: not testable with AIS"
                + (f", window {c.window}." if c.window else "."))
    lines += [f"Source: {source}.  ", what, ""]
    if c.note:
        lines += [f"Note: {md(c.note)}", ""]
    lines += [f"**Verdict{mark}: {_VERDICT_TITLE[r.verdict]}.** {md(r.sentence)}", ""]
    if not c.testable:
        return lines
    if r.matches:
        lines += ["Vessels:", ""] + [f"- {md(m.describe())}" for m in r.matches] + [""]
    else:
        lines += ["Vessels: none named; every vessel in the data counts.", ""]
    if r.coverages:
        lines += ["Track coverage in the window:", ""]
        lines += [f"- {md(cv.describe())}" for cv in r.coverages] + [""]
    ev = r.evidence
    if len(ev):
        lines += [f"Evidence ({r.observed} observed, {r.inferred} inferred):", "",
                  "| id | event | status | vessel | from | to | route | rests on |",
                  "|---|---|---|---|---|---|---|---|"]
        labels = {m: v.label for v in r.matches for m in v.mmsis if v.label}
        for e in ev.to_dict("records"):
            name = e["name"] or labels.get(int(e["mmsi"]), "")
            vessel = f"{md(name)} ({e['mmsi']})" if name else str(e["mmsi"])
            rests = ", ".join(i for i in str(e["ids"]).split(";") if i and i != e["evidence_id"])
            if e.get("others_received") == 0:
                rests += " (no other vessel received nearby)"
            elif e.get("note"):
                rests += f" ({md(e['note'])})"
            lines.append(f"| {md(e['evidence_id'])} | {e['what']} | {e['status']} | {vessel} | "
                         f"{_time(e['start_utc'])} | {_time(e['end_utc'])} | {md(e['route'])} | "
                         f"{md(rests)} |")
        lines.append("")
    else:
        lines += ["Evidence: no event of this kind in the window.", ""]
    lines += _identity_section(r)
    if r.caveats:
        lines += ["Caveats:", ""] + [f"- {md(x)}" for x in r.caveats] + [""]
    return lines


def _identity_section(r) -> list[str]:
    """The identity anomalies of the claim's vessels in its window, as a table (ids of
    ``identity.csv``); nothing when there are none."""
    from detectors.identity_alerts import summary

    identity = getattr(r, "identity", None)
    if identity is None or not len(identity):
        return []
    labels = {m: v.label for v in r.matches for m in v.mmsis if v.label}
    lines = [f"Identity anomalies of these vessels in the window ({len(identity)}, not "
             "counted as events):", "",
             "| id | anomaly | MMSI | from | to | what |", "|---|---|---|---|---|---|"]
    for row in identity.to_dict("records"):
        lines.append(f"| {md(row['identity_id'])} | {md(row['kind'])} | {row['mmsi']} | "
                     f"{_time(row['start_utc'])} | {_time(row['end_utc'])} | "
                     f"{md(summary(row, labels.get(int(row['mmsi']), '')))} |")
    return lines + [""]


def write_claims_report(evaluation, path: str | Path, *, simulated: str | None = None,
                        stand_ins: Iterable[dict] = ()) -> Path:
    """Write claims.md atomically (see :func:`render_claims_report`)."""
    atomic_write_text(path, render_claims_report(evaluation, simulated=simulated,
                                                 stand_ins=stand_ins))
    return Path(path)
