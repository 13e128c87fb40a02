"""Hostile input: one bad byte, a fifth of junk lines or a binary file lose nothing else.

A feed is refused as "not AIS" only when its head holds no NMEA-looking line (a PDF, an
image, pure binary); NUL bytes and junk lines are rejects with a reason, and every valid
line decodes, on both decoders, plain and gzip, in ``decode``, ``detect``, ``job`` and
``watch``.
"""

from __future__ import annotations

import gzip
import json
import random

import pandas as pd
import pytest

import ais
from ais import reasons
from ais.reading import sources
from ais.assembly.fragments import AssemblyParams
from tests._hostile import KINDS, feed_lines, spliced
from tests._live_feeds import run_cli

N_LINES = 4000
KEY = [c for c in ais.POSITION_COLUMNS if c != "line"]      # line numbers move


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    lines = feed_lines(N_LINES)
    clean = base / "clean.nmea"
    clean.write_bytes(b"\n".join(lines) + b"\n")
    bad_lines, where, junk = spliced(lines, random.Random(15))
    text = b"\n".join(bad_lines) + b"\n"
    plain = base / "hostile.nmea"
    plain.write_bytes(text)
    gz = base / "hostile.nmea.gz"
    gz.write_bytes(gzip.compress(text))
    return {"clean": clean, "plain": plain, "gz": gz, "where": where, "junk": junk,
            "base": base}


@pytest.fixture(scope="module")
def clean_decoded(feeds):
    return ais.read_inputs([feeds["clean"]], decoder="pyais")


def rows(frame: pd.DataFrame, cols=KEY) -> pd.DataFrame:
    return frame[cols].sort_values(cols, kind="mergesort").reset_index(drop=True)


def expected_reject_lines(feeds, clean_decoded) -> set[int]:
    """The hostile feed's reject lines: the clean feed's own, moved, and every junk line."""
    moved = {feeds["where"][n - 1] for n in clean_decoded.rejects["line"]}
    return moved | set(feeds["junk"])


def test_the_hostile_feed_has_every_kind_of_junk_and_a_nul_in_its_head(feeds):
    lines = feeds["plain"].read_bytes().split(b"\n")
    assert set(feeds["junk"].values()) == set(KINDS)
    assert len(feeds["junk"]) >= len(lines) // 5 - 1
    assert b"\x00" in feeds["plain"].read_bytes()[:65536]


@pytest.mark.parametrize("decoder", ["fast", "pyais"])
@pytest.mark.parametrize("kind", ["plain", "gz"])
def test_every_valid_line_decodes_and_every_bad_one_is_a_reject(feeds, clean_decoded,
                                                                decoder, kind):
    d = ais.read_inputs([feeds[kind]], decoder=decoder)
    pd.testing.assert_frame_equal(rows(d.positions), rows(clean_decoded.positions))
    assert len(d.statics) == len(clean_decoded.statics)
    assert set(d.rejects["line"]) == expected_reject_lines(feeds, clean_decoded)
    assert set(d.rejects["reason"]) <= set(reasons.ALL_REASONS)
    assert d.stats["duplicates"] == clean_decoded.stats["duplicates"]
    by_line = dict(zip(d.rejects["line"], d.rejects["reason"]))
    want = {"cut": {reasons.TRUNCATED},
            "bit_flip": {reasons.BAD_CHECKSUM, reasons.CONTROL_BYTES},   # a flip to a control byte
            "bad_checksum": {reasons.BAD_CHECKSUM}, "huge": {reasons.LINE_TOO_LONG},
            "orphan": {reasons.ORPHAN_FRAGMENT}, "nul_only": {reasons.NOT_NMEA},
            "binary": {reasons.NOT_NMEA, reasons.INVALID_UTF8}}
    for line, kind_ in feeds["junk"].items():
        assert by_line[line] in want[kind_], (line, kind_, by_line[line])


def test_both_decoders_give_the_same_rejects(feeds):
    a = ais.read_inputs([feeds["gz"]], decoder="fast")
    b = ais.read_inputs([feeds["gz"]], decoder="pyais")
    cols = ["line", "reason", "text"]
    pd.testing.assert_frame_equal(rows(a.rejects, cols), rows(b.rejects, cols))


def test_nul_bytes_inside_a_sentence_are_control_bytes_rejects(tmp_path):
    good = [ln for ln in feed_lines(40) if b"!AIVDM,1,1," in ln][:5]
    damaged = good[1][:40] + b"\x00\x00" + good[1][40:]
    path = tmp_path / "capture.nmea"
    path.write_bytes(b"\x00" * 100 + b"\n" + b"\n".join([good[0], damaged, *good[2:]]) + b"\n")
    for decoder in ("fast", "pyais"):
        d = ais.read_inputs([path], decoder=decoder)
        by_line = dict(zip(d.rejects["line"], d.rejects["reason"]))
        assert by_line == {1: reasons.NOT_NMEA, 3: reasons.CONTROL_BYTES}


def test_decode_command_writes_every_bad_line_to_rejects_csv(feeds, clean_decoded):
    out = feeds["base"] / "decoded"
    res = run_cli("decode", feeds["gz"], "--out", out, "--quiet")
    assert res.returncode == 0, res.stderr
    rejects = pd.read_csv(out / "rejects.csv")
    assert set(rejects["line"]) == expected_reject_lines(feeds, clean_decoded)
    assert rejects["reason"].notna().all()
    assert len(pd.read_parquet(out / "positions.parquet")) == len(clean_decoded.positions)


def test_detect_job_and_watch_find_what_the_clean_feed_gives(feeds, clean_decoded, tmp_path):
    clean_out, out = tmp_path / "clean", tmp_path / "detect"
    assert run_cli("detect", feeds["clean"], "--out", clean_out, "--quiet",
                   "--no-figures").returncode == 0
    res = run_cli("detect", feeds["gz"], "--out", out, "--quiet", "--no-figures")
    assert res.returncode == 0, res.stderr
    want = pd.read_csv(clean_out / "alerts.csv")["alert_id"].tolist()
    assert pd.read_csv(out / "alerts.csv")["alert_id"].tolist() == want
    assert len(want) > 0

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "feed.nmea.gz").write_bytes(feeds["gz"].read_bytes())
    res = run_cli("job", "--inbox", inbox, "--state", tmp_path / "state", "--out",
                  tmp_path / "job", "--quiet")
    assert res.returncode == 0, res.stderr
    assert sorted(pd.read_csv(tmp_path / "job" / "alerts.csv")["alert_id"]) == sorted(want)
    # the job's decoder keeps the last open fragments for the next file: not rejects yet
    # (a message stays open until its next part, or for max_gap_sentences sentences)
    got = set(pd.read_csv(tmp_path / "job" / "rejects.csv")["line"])
    expected = expected_reject_lines(feeds, clean_decoded)
    waiting = expected - got
    n_lines = len(feeds["plain"].read_bytes().split(b"\n")) - 1
    gap = AssemblyParams().max_gap_sentences
    assert got <= expected and 0 < len(waiting) <= gap
    assert all(feeds["junk"].get(n) == "orphan" for n in waiting)
    assert min(waiting) > n_lines - 2 * gap
    summary = json.loads((tmp_path / "job" / "summary.json").read_text())
    assert summary["rejected"] == len(got)

    with open(feeds["plain"], "rb") as stdin:
        res = run_cli("watch", "-", "--out", tmp_path / "watch", "--quiet", stdin=stdin)
    assert res.returncode == 0, res.stderr
    positions = pd.read_parquet(tmp_path / "watch" / "positions.parquet")
    assert len(positions) == len(clean_decoded.positions)


@pytest.mark.parametrize("name, head", [
    ("report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nstream\n"),
    ("chart.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"),
    ("noise.bin", b""),
])
def test_a_file_with_no_nmea_line_is_refused_in_one_line_exit_1(tmp_path, name, head):
    path = tmp_path / name
    rng = random.Random(3)
    path.write_bytes(head + bytes(rng.randrange(256) for _ in range(70_000)))
    for command in (["decode", path, "--out", tmp_path / "d"],
                    ["detect", path, "--out", tmp_path / "o", "--no-figures"]):
        res = run_cli(*command, "--quiet")
        err = res.stderr.decode()
        assert res.returncode == 1 and err.count("\n") == 1, err
        assert str(path) in err and "binary" in err and "Traceback" not in err


def test_a_gzip_bomb_is_inflated_a_piece_at_a_time(tmp_path, monkeypatch):
    """One line repeated: the reader never holds more than a piece of the inflated text."""
    monkeypatch.setattr(sources, "CHUNK_BYTES", 1 << 20)
    line = feed_lines(4)[3] + b"\n"
    path = tmp_path / "bomb.nmea.gz"
    member = gzip.compress(line * (40_000_000 // len(line)), compresslevel=9)
    path.write_bytes(member + gzip.compress(line * 3))        # two members
    assert len(member) < 200_000
    src = sources._Source(str(path))
    sizes, total = [], 0
    while piece := src.read():
        sizes.append(len(piece))
        total += len(piece)
    src.close()
    assert total == len(line) * (40_000_000 // len(line) + 3) and not src.truncated
    assert max(sizes) <= (1 << 20) + len(line)


def test_a_piece_holds_at_most_piece_lines_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "PIECE_LINES", 1000)
    lines = feed_lines(5000)
    path = tmp_path / "feed.nmea"
    path.write_bytes(b"x\n" * 3500 + b"\n".join(lines) + b"\n")
    for decoder in ("fast", "pyais"):
        got = list(ais.iter_inputs([path], decoder=decoder))
        assert max(p.stats["lines_read"] for p in got) <= 1000
        whole = ais.read_inputs([path], decoder=decoder)
        monkeypatch.setattr(sources, "PIECE_LINES", 10**9)
        ref = ais.read_inputs([path], decoder=decoder)
        monkeypatch.setattr(sources, "PIECE_LINES", 1000)
        pd.testing.assert_frame_equal(rows(whole.positions), rows(ref.positions))
        assert whole.stats["rejected_by_reason"] == ref.stats["rejected_by_reason"]
        assert whole.stats["rejected_by_reason"]["not_nmea"] == 3500


def test_corrupt_gzip_is_one_input_error(tmp_path):
    data = gzip.compress(b"\n".join(feed_lines(2000)))
    path = tmp_path / "bad.nmea.gz"
    path.write_bytes(data[:200] + bytes(b ^ 0x55 for b in data[200:400]) + data[400:])
    with pytest.raises(ais.InputError) as info:
        ais.read_inputs([path])
    assert "corrupt gzip" in str(info.value) and str(path) in str(info.value)
