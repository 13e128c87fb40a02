"""The short table ``detect`` and ``demo`` print when they finish."""

from __future__ import annotations

from pathlib import Path


def run_table(result, out_dir: Path | None = None) -> str:
    c = result.counts()
    rows = [
        ("vessels", c["vessels"]),
        ("port visits", c["port_visits"]),
        ("round trips observed", c["round_trips_observed"]),
        ("round trips inferred", c["round_trips_inferred"]),
        ("dark periods", c["dark_periods"]),
        ("possible port calls", c["possible_port_calls"]),
        ("spoofing jumps", c["spoofing_jumps"]),
        ("encounters", c.get("encounters", 0)),
        ("loitering", c.get("loitering", 0)),
        ("unlisted stops", c.get("unlisted_stops", 0)),
    ]
    for kind, n in sorted(c["alerts_by_kind"].items()):
        rows.append((f"alerts: {kind}", n))
    rejected = sum(result.summary.get("rejected_by_reason", {}).values()) \
        if isinstance(result.summary.get("rejected_by_reason"), dict) else 0
    rows.append(("rejected lines", rejected))
    width = max(len(k) for k, _ in rows)
    lines = [f"  {k:<{width}}  {v:>7}" for k, v in rows]
    if len(result.claims):
        lines.append("")
        lines.append("  claims:" + ("  (SIMULATED DATA: fictional ships)"
                                    if getattr(result, "data", "") == "simulated" else ""))
        cw = max(len(str(x)) for x in result.claims["claim_id"])
        for _, r in result.claims.iterrows():
            if r["verdict"] == "untestable":
                lines.append(f"  {str(r['claim_id']):<{cw}}  untestable with AIS")
                continue
            lines.append(f"  {str(r['claim_id']):<{cw}}  {str(r['verdict']):<30} "
                         f"observed {r['observed']}, inferred {r['inferred']}, "
                         f"claimed >= {r['expected']}")
    if out_dir is not None:
        lines.append("")
        lines.append(f"  outputs in {out_dir}/")
    return "\n".join(lines)
