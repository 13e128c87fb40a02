"""The files of ``shadowfleet decode``: positions.parquet, statics.parquet, rejects.csv,
summary.json (DESIGN.md, "Output files"). The pipeline reuses ``build_summary`` and adds
its event counts."""

from __future__ import annotations

import json
from pathlib import Path

from ais.schema import POSITION_COLUMNS, REJECT_COLUMNS, STATIC_COLUMNS
from shadowfleet.outputs.files import atomic_write_text
from shadowfleet.outputs.tables import write_csv, write_parquet

SUMMARY_KEYS = ("lines_read", "messages_decoded", "messages_by_type", "duplicates",
                "rejected", "rejected_by_reason", "vessels", "time_span", "inputs")


def build_summary(decoded_stats: dict, events: dict[str, int] | None = None) -> dict:
    """summary.json content from ``Decoded.stats`` (and event counts, when given).

    ``messages_decoded`` counts messages decoded (all types, after dedup and rejects);
    the remaining ``Decoded.stats`` counts follow the contract keys; ``events`` maps an
    event kind (port_visits, round_trips, ...) to its count.
    """
    s = dict(decoded_stats)
    summary = {
        "lines_read": int(s.get("lines_read", 0)),
        "messages_decoded": int(sum(s.get("messages_by_type", {}).values())),
        "messages_by_type": dict(s.get("messages_by_type", {})),
        "duplicates": int(s.get("duplicates", 0)),
        "rejected": int(s.get("rejected", 0)),
        "rejected_by_reason": dict(s.get("rejected_by_reason", {})),
        "vessels": int(s.get("vessels", 0)),
        "time_span": s.get("time_span"),
        "inputs": list(s.get("inputs", [])),
    }
    for k in ("positions", "statics", "sentences", "non_ais_sentences", "messages",
              "tagblock_checksum_errors", "no_receive_time"):
        if k in s:
            summary[k] = int(s[k])
    if events is not None:
        summary["events"] = {k: int(v) for k, v in events.items()}
    return summary


def write_decoded(decoded, out_dir: str | Path) -> dict[str, Path]:
    """Write the four files of a ``Decoded`` into ``out_dir`` (created); return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "positions": write_parquet(decoded.positions[list(POSITION_COLUMNS)], out / "positions.parquet"),
        "statics": write_parquet(decoded.statics[list(STATIC_COLUMNS)], out / "statics.parquet"),
        "rejects": write_csv(decoded.rejects, out / "rejects.csv", REJECT_COLUMNS),
    }
    summary = build_summary(decoded.stats)
    if decoded.warnings:
        summary["warnings"] = list(decoded.warnings)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    paths["summary"] = out / "summary.json"
    return paths
