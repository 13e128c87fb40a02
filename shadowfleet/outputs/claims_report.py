"""claims.md: the claims evaluation as a report a researcher can read and cite.

Per claim: the statement and its source, the verdict in one sentence, the vessels as
resolved from the statics, the track coverage (what rules a claim out, or does not),
a table of the evidence with times, and the caveats that apply (reception, identity).
Text from the air (vessel names) is escaped so it cannot break the Markdown.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from shadowfleet.outputs.files import atomic_write_text

_VERDICT_TITLE = {"supported": "supported", "consistent_with_dark_activity":
                  "consistent with dark activity", "not_observed": "not observed",
                  "contradicted": "contradicted"}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")  # only a "<" that could open HTML


def md(text: object) -> str:
    """Escape free text (AIS names, statements) for Markdown, on one line."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    s = " ".join(str(text).split())
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return _TAG_START.sub("&lt;", s)


def _time(ts) -> str:
    if ts is None or pd.isna(ts):
        return ""
    return pd.Timestamp(ts).strftime("%Y-%m-%dT%H:%MZ")


def render_claims_report(evaluation) -> str:
    """The report as Markdown text."""
    results = list(evaluation.results)
    out = ["# Claims: what the AIS shows", ""]
    if not results:
        out += ["No claims were evaluated.", ""]
        return "\n".join(out)
    out += ["Verdicts: *supported* (observed >= claimed), *consistent with dark activity* "
            "(observed + inferred >= claimed), *contradicted* (fewer, and every named vessel "
            "was received throughout the window with no dark period), *not observed* "
            "(fewer, but dark periods or absence from the data leave room).", "",
            "| claim | source | window | ports | claimed | observed | inferred | verdict |",
            "|---|---|---|---|---:|---:|---:|---|"]
    for r in results:
        c = r.claim
        out.append(f"| [{md(c.id)}](#{_anchor(c.id)}) | {md(c.source)} | {c.window} | "
                   f"{md(c.describe_ports())} | {c.at_least} | {r.observed} | {r.inferred} | "
                   f"**{_VERDICT_TITLE[r.verdict]}** |")
    out.append("")
    for r in results:
        out += _claim_section(r)
    return "\n".join(out).rstrip() + "\n"


def _anchor(claim_id: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "", claim_id.lower())


def _claim_section(r) -> list[str]:
    c = r.claim
    lines = [f'<a id="{_anchor(c.id)}"></a>', "", f"## {md(c.id)}: {_VERDICT_TITLE[r.verdict]}",
             "", f"> {md(c.statement)}", ""]
    source = md(c.source)
    if c.published:
        source += f", published {c.published}"
    if c.url:
        source += f", <{c.url}>"
    lines += [f"Source: {source}.  ", f"Claim: {c.kind.replace('_', ' ')} >= {c.at_least} "
              f"({md(c.describe_ports())}), window {c.window} (whole UTC days).", ""]
    if c.note:
        lines += [f"Note: {md(c.note)}", ""]
    lines += [f"**Verdict: {_VERDICT_TITLE[r.verdict]}.** {md(r.sentence)}", ""]
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
    if r.caveats:
        lines += ["Caveats:", ""] + [f"- {md(x)}" for x in r.caveats] + [""]
    return lines


def write_claims_report(evaluation, path: str | Path) -> Path:
    """Write claims.md atomically."""
    atomic_write_text(path, render_claims_report(evaluation))
    return Path(path)
