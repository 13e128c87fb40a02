"""``shadowfleet claims list``: the claims of some files as a plain-text table."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Sequence

from shadowfleet.claims.model import Claim


def _vessels(claim: Claim) -> str:
    if claim.vessels.any:
        return "any vessel"
    parts = [f"{claim.label(i) + ' ' if claim.label(i) else ''}(IMO {i})" for i in claim.vessels.imo]
    parts += [f"{claim.label(m) + ' ' if claim.label(m) else ''}(MMSI {m})"
              for m in claim.vessels.mmsi]
    parts += [f"{n} (name)" for n in claim.vessels.names]
    return ", ".join(parts)


def describe_claims(claims: Sequence[Claim], *, full: bool = False) -> str:
    """One line per claim (id, kind, ports, window, at least, verdict, source); with
    ``full`` the statement, vessels (or why AIS cannot test it), URL and file follow each
    line. The verdict of a claim AIS can test comes from a run over data ("by data"); a
    claim it cannot test is ``untestable`` whatever the data."""
    if not claims:
        return "no claims"
    head = ("id", "kind", "ports", "window", "at least", "verdict", "source")
    rows = [(c.id, c.kind, c.describe_ports() or "-", str(c.window) if c.window else "-",
             str(c.at_least) if c.at_least is not None else "-",
             "by data" if c.testable else "untestable",
             c.source + (f" ({c.published})" if c.published else "")) for c in claims]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]

    def line(cells) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    out = [line(head), line("-" * w for w in widths)]
    for claim, row in zip(claims, rows):
        out.append(line(row))
        if full:
            wrap = textwrap.TextWrapper(width=96, initial_indent="    ", subsequent_indent="    ")
            out.append(wrap.fill(claim.statement))
            if claim.testable:
                out.append(f"    vessels: {_vessels(claim)}")
            else:
                out.append(wrap.fill(f"untestable: {claim.reason}"))
            if claim.url:
                out.append(f"    url: {claim.url}")
            if claim.note:
                out.append(wrap.fill(f"note: {claim.note}"))
            out.append(f"    file: {Path(claim.file).name}")
    return "\n".join(out)
