"""The state directory: generations committed atomically, stale ones removed, the lock;
an explicit, versioned format (JSON, Parquet, NumPy arrays) that is refused in one line,
never a traceback and never code run, when it is not what this version writes."""

import hashlib
import json
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ais.incremental.decoder import IncrementalDecoder
from shadowfleet.alert_book import update_book
from shadowfleet.errors import StateError
from shadowfleet.job_state import (STATE_FORMAT, JobState, LockHeld, commit_state, load_state,
                                   mark_outputs_done, state_lock)
from tests._live_feeds import REPO, cli_env, run_cli, scenario_lines
from tests.test_job_alert_book import make_alerts


def _open_decoder() -> IncrementalDecoder:
    """A decoder with something of every kind of state: a pending line, an open fragment,
    kept copies for dedup."""
    dec = IncrementalDecoder()
    text = "\n".join(scenario_lines(0)[:60]) + "\n"
    first = next(i for i, line in enumerate(text.splitlines()) if ",2,1," in line)
    lines = text.splitlines(keepends=True)
    dec.feed("a.nmea", "".join(lines[:first + 1]).encode() + b"\\c:16940")
    assert dec.assembler.open and dec.deduper.window and dec.framer.states[0].partial
    return dec


def _state_with(n_rows: int) -> JobState:
    state = JobState()
    pos = pd.DataFrame({"mmsi": [273000001] * n_rows,
                        "timestamp": pd.date_range("2023-09-07", periods=n_rows, freq="10min", tz="UTC"),
                        "lat": 42.0, "lon": 131.0, "sog": 10.0, "cog": float("nan"),
                        "heading": float("nan"), "msg_type": 1, "source": "a.nmea",
                        "line": range(1, n_rows + 1)})
    state.positions = pos
    state.decoder = _open_decoder()
    state.book = update_book(None, make_alerts(("A-000000000001", 0, None, "dark for 9 h"),
                                               ("A-000000000002", 1, 2, "a round trip"))).book
    state.processed = {"ab" * 32: {"name": "a.nmea"}}
    state.pending_log = ["line\n"]
    state.log_rows = 1
    return state


def test_fresh_state_is_empty(tmp_path):
    s = load_state(tmp_path / "none")
    assert s.generation == 0 and s.positions.empty and s.processed == {} and s.outputs_done


def test_commit_then_load_round_trips(tmp_path):
    committed = commit_state(tmp_path, _state_with(5))
    assert committed.generation == 1 and not committed.outputs_done
    loaded = load_state(tmp_path)
    assert loaded.generation == 1
    pd.testing.assert_frame_equal(loaded.positions.reset_index(drop=True),
                                  _state_with(5).positions, check_dtype=False)
    assert str(loaded.positions["timestamp"].dtype) == "datetime64[ns, UTC]"
    meta, arrays = loaded.decoder.state()
    want_meta, want_arrays = _state_with(5).decoder.state()
    assert meta == want_meta and set(arrays) == set(want_arrays)
    assert all(np.array_equal(arrays[k], want_arrays[k], equal_nan=arrays[k].dtype.kind == "f")
               for k in arrays)
    pd.testing.assert_frame_equal(loaded.book, _state_with(5).book)
    assert loaded.processed == {"ab" * 32: {"name": "a.nmea"}}
    assert loaded.pending_log == ["line\n"] and loaded.log_rows == 1
    assert not loaded.outputs_done
    mark_outputs_done(tmp_path, 1)
    assert load_state(tmp_path).outputs_done


def test_next_commit_replaces_and_cleans_up(tmp_path):
    commit_state(tmp_path, _state_with(2))
    (tmp_path / ".gen-00000002.tmp-999").mkdir()        # left by a killed run
    second = commit_state(tmp_path, load_state(tmp_path))
    assert second.generation == 2
    assert sorted(p.name for p in tmp_path.iterdir() if "gen" in p.name) == ["gen-00000002"]
    assert json.loads((tmp_path / "CURRENT").read_text())["generation"] == 2


def test_pointer_to_a_missing_generation_is_a_state_error(tmp_path):
    commit_state(tmp_path, _state_with(2))
    current = (tmp_path / "CURRENT").read_text()
    second = load_state(tmp_path)
    second.positions = _state_with(3).positions
    commit_state(tmp_path, second)                      # generation 2, generation 1 removed
    (tmp_path / "CURRENT").write_text(current)          # a pointer to a generation now gone
    with pytest.raises(StateError, match="gen-00000001"):
        load_state(tmp_path)


def test_corrupt_pointer_is_a_state_error(tmp_path):
    (tmp_path / "CURRENT").write_text("{not json")
    with pytest.raises(StateError, match="CURRENT"):
        load_state(tmp_path)


def test_no_pickle_in_a_state(tmp_path):
    commit_state(tmp_path, _state_with(3))
    gen = tmp_path / "gen-00000001"
    assert sorted(p.name for p in gen.iterdir()) == [
        "alerts.parquet", "decoder.npz", "events-encounters.parquet", "events-gaps.parquet",
        "events-jumps.parquet", "events-loitering.parquet", "events-stays.parquet",
        "events-visits.parquet", "first_fixes.parquet", "manifest.json", "positions.parquet",
        "rejects.parquet", "statics.parquet"]
    with np.load(gen / "decoder.npz", allow_pickle=False) as arrays:
        assert all(arrays[k].dtype != object for k in arrays.files)
    manifest = json.loads((gen / "manifest.json").read_text())
    assert manifest["format"] == STATE_FORMAT and manifest["decoder"]["version"] == 1
    json.dumps(manifest["decoder"], allow_nan=False)            # strict JSON


def test_an_empty_book_and_no_decoder_round_trip(tmp_path):
    commit_state(tmp_path, JobState())
    loaded = load_state(tmp_path)
    assert loaded.decoder is None and loaded.book.empty
    assert list(loaded.book.columns) == list(JobState().book.columns)


# --- state this version did not write: one line naming the file and the remedy ------

def _committed(tmp_path):
    state_dir = tmp_path / "state"
    commit_state(state_dir, _state_with(4))
    return state_dir, state_dir / "gen-00000001"


def _rehash(gen):
    """Make the manifest agree with the files again (someone who means to tamper)."""
    path = gen / "manifest.json"
    manifest = json.loads(path.read_text())
    for name in manifest["files"]:
        data = (gen / name).read_bytes()
        manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    path.write_text(json.dumps(manifest))


def _edit_manifest(gen, change):
    path = gen / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _corrupt_manifest(state_dir, gen):
    (gen / "manifest.json").write_text('{"format": 2, "generation": 1, "proc')


def _truncated_parquet(state_dir, gen):
    data = (gen / "positions.parquet").read_bytes()
    (gen / "positions.parquet").write_bytes(data[:len(data) // 2])


def _future_format(state_dir, gen):
    (state_dir / "CURRENT").write_text(json.dumps({"format": STATE_FORMAT + 1, "generation": 1}))


def _previous_format(state_dir, gen, marker=None):
    """A state as shadowfleet 0.1 wrote it (format 1): the decoder and the book in
    ``carry.pkl``, here a pickle that would create ``marker`` if it were ever loaded."""
    for f in gen.iterdir():
        f.unlink()

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (gen / "carry.pkl").write_bytes(pickle.dumps({"decoder": Exploit(), "book": None,
                                                  "pending_log": []}))
    (gen / "manifest.json").write_text(json.dumps({"generation": 1, "processed": {},
                                                   "log_rows": 0, "stats": {}}))
    (state_dir / "CURRENT").write_text(json.dumps({"format": 1, "generation": 1}))


def _tampered_decoder_arrays(state_dir, gen):
    """An object array (a pickle inside the .npz) with a manifest that agrees with it."""
    with np.load(gen / "decoder.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["partial_buf"] = np.array([{"x": 1}], dtype=object)
    with open(gen / "decoder.npz", "wb") as fh:
        np.savez(fh, **arrays)
    _rehash(gen)


def _tampered_decoder_meta(state_dir, gen):
    _edit_manifest(gen, lambda m: m["decoder"]["sources"][0].update(line_no="many"))


def _missing_generation(state_dir, gen):
    (state_dir / "CURRENT").write_text(json.dumps({"format": STATE_FORMAT, "generation": 7}))


def _offsets_past_the_bytes(state_dir, gen):
    with np.load(gen / "decoder.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["window_off"] = arrays["window_off"] + 10**9
    with open(gen / "decoder.npz", "wb") as fh:
        np.savez(fh, **arrays)
    _rehash(gen)


def _book_without_columns(state_dir, gen):
    pd.DataFrame({"alert_id": ["A-1"]}).to_parquet(gen / "alerts.parquet")
    _rehash(gen)


BAD_STATES = [
    pytest.param(_corrupt_manifest, "manifest.json", "unreadable", id="corrupt-manifest"),
    pytest.param(_truncated_parquet, "positions.parquet", "does not match the manifest",
                 id="truncated-parquet"),
    pytest.param(_future_format, "CURRENT", "is newer than this version reads", id="future-format"),
    pytest.param(_previous_format, "CURRENT", "state format 1", id="previous-format-pickle"),
    pytest.param(_tampered_decoder_arrays, "decoder.npz", "unreadable", id="object-array-in-npz"),
    pytest.param(_tampered_decoder_meta, "decoder.npz", "'line_no' is not int",
                 id="decoder-meta-wrong-type"),
    pytest.param(_offsets_past_the_bytes, "decoder.npz", "do not fit", id="decoder-offsets"),
    pytest.param(_book_without_columns, "alerts.parquet", "lacks", id="book-columns"),
    pytest.param(_missing_generation, "gen-00000007", "missing", id="missing-generation"),
]


@pytest.mark.parametrize("damage, names, says", BAD_STATES)
def test_state_not_written_by_this_version_is_a_one_line_state_error(tmp_path, damage, names,
                                                                     says):
    state_dir, gen = _committed(tmp_path)
    damage(state_dir, gen)
    with pytest.raises(StateError) as err:
        load_state(state_dir)
    text = str(err.value)
    assert "\n" not in text and names in text and says in text, text
    assert "start over with a new --state" in text or "upgrade shadowfleet" in text


@pytest.mark.parametrize("damage, names", [pytest.param(*p.values[:2], id=p.id) for p in BAD_STATES
                                            if p.id in ("corrupt-manifest", "truncated-parquet",
                                                        "future-format", "previous-format-pickle")])
@pytest.mark.parametrize("command", ["job", "watch"])
def test_the_commands_refuse_it_in_one_line_with_exit_1(tmp_path, damage, names, command):
    state_dir, gen = _committed(tmp_path)
    marker = tmp_path / "pickle-was-loaded"
    if damage is _previous_format:
        damage(state_dir, gen, marker)
    else:
        damage(state_dir, gen)
    (tmp_path / "inbox").mkdir()
    if command == "job":
        done = run_cli("job", "--inbox", tmp_path / "inbox", "--state", state_dir,
                       "--out", tmp_path / "out", timeout=120)
    else:
        done = run_cli("watch", "-", "--out", tmp_path / "out", "--state", state_dir,
                       input=b"", timeout=120)
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err.count("\n") == 1 and err.startswith("shadowfleet: error: ") and names in err, err
    assert "Traceback" not in err and not marker.exists()


def test_lock_is_exclusive_within_a_process(tmp_path):
    with state_lock(tmp_path):
        with pytest.raises(LockHeld, match="another run"):
            with state_lock(tmp_path):
                pass
    with state_lock(tmp_path):
        pass


def test_job_exits_0_when_another_process_holds_the_lock(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom shadowfleet.job_state import state_lock\n"
         f"with state_lock({str(tmp_path / 'state')!r}):\n"
         "    print('held', flush=True)\n    time.sleep(60)\n"],
        cwd=REPO, env=cli_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        (tmp_path / "inbox").mkdir()
        done = run_cli("job", "--inbox", tmp_path / "inbox", "--state", tmp_path / "state",
                       "--out", tmp_path / "out", timeout=60)
        assert done.returncode == 0, done.stderr
        assert b"another run" in done.stdout and str(holder.pid).encode() in done.stdout
        assert not (tmp_path / "out").exists()
    finally:
        holder.kill()
        holder.wait()
    # the kernel released the lock of the killed holder
    with state_lock(tmp_path / "state"):
        pass


def test_a_format_2_state_is_migrated_by_one_analysis_of_everything(tmp_path):
    """Format 2 kept every position in positions.parquet and no events: it is read as a
    state without tails, so the next run analyses everything once and commits the current format."""
    from shadowfleet.job_tails import _INF  # noqa: F401  (the module loads)

    commit_state(tmp_path, _state_with(5))
    gen = tmp_path / "gen-00000001"
    manifest = json.loads((gen / "manifest.json").read_text())
    for name in [n for n in manifest["files"] if n.startswith("events-") or n.startswith("first_")]:
        (gen / name).unlink()
        del manifest["files"][name]
    for key in ("archive", "horizon_ns", "complete_ns"):
        manifest.pop(key)
    manifest["format"] = 2
    (gen / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "CURRENT").write_text(json.dumps({"format": 2, "generation": 1}))
    loaded = load_state(tmp_path)
    assert loaded.events is None and loaded.horizon_ns is None and len(loaded.positions) == 5
    committed = commit_state(tmp_path, loaded)
    again = load_state(tmp_path)
    assert json.loads((tmp_path / "CURRENT").read_text())["format"] == STATE_FORMAT
    assert again.generation == committed.generation and len(again.positions) == 5


def test_open_dark_periods_others_round_trip_and_are_checked(tmp_path):
    """The other vessels each open dark period counted: written with the generation and
    listed with their sha256; an empty table stays a known (empty) table, a state
    without it loads as not known (the next run reads the archive), and a changed file
    is refused in one line."""
    from shadowfleet.job_state import OPEN_OTHERS_COLUMNS

    others = pd.DataFrame({"mmsi": [273000001, 273000001], "track": [0, 0],
                           "start_utc": pd.Timestamp("2023-09-07 10:00", tz="UTC"),
                           "other_mmsi": [273000002, 273000005], "other_track": [0, 3]})
    others["start_utc"] = others["start_utc"].astype("datetime64[ns, UTC]")
    _optional_table_is_kept_and_checked(tmp_path, "open_others", "open-gap-others.parquet",
                                        others, others[list(OPEN_OTHERS_COLUMNS)])


def _optional_table_is_kept_and_checked(tmp_path, field: str, name: str, table, expected):
    """An optional table of the state (``JobState.<field>``, the generation's ``name``):
    committed and loaded back as ``expected``, listed in the manifest; an empty table
    stays a known (empty) one, None stays not known, and a file cut short is refused in
    one line naming it."""
    import dataclasses

    commit_state(tmp_path, dataclasses.replace(_state_with(3), **{field: table}))
    loaded = load_state(tmp_path)
    pd.testing.assert_frame_equal(getattr(loaded, field), expected)
    manifest = json.loads((tmp_path / "gen-00000001" / "manifest.json").read_text())
    assert name in manifest["files"]
    commit_state(tmp_path, dataclasses.replace(loaded, **{field: table.iloc[:0]}))
    assert getattr(load_state(tmp_path), field).empty
    commit_state(tmp_path, dataclasses.replace(loaded, generation=2, **{field: None}))
    assert getattr(load_state(tmp_path), field) is None
    commit_state(tmp_path, dataclasses.replace(loaded, generation=3, **{field: table}))
    f = tmp_path / "gen-00000004" / name
    f.write_bytes(f.read_bytes()[:-8])
    with pytest.raises(StateError, match=f"{name}: does not match"):
        load_state(tmp_path)
    return loaded


def test_settled_alerts_round_trip_and_are_checked(tmp_path):
    """The settled alerts a run reuses: written with the generation and listed with their
    sha256, read back as built (an IMO or none, times, the vessels and the time they
    wait for); an empty table stays a known one, a state without it loads as not known
    (the next run builds every alert), and a changed file is refused in one line."""
    from detectors.alerts import alert_frame, alert_row
    from shadowfleet.job_tails import _settled_table

    t = pd.Timestamp("2023-09-07 10:00", tz="UTC")
    alerts = alert_frame([
        alert_row("dark_period", 273000001, "MARIA", 9179842, t, t + pd.Timedelta(hours=9),
                  42.1, 131.2, 0.61, "MARIA (MMSI 273000001) not received for 9.0 h",
                  ["G-000000000001"]),
        alert_row("encounter", 273000002, "", None, t, t + pd.Timedelta(hours=2), 42.5, 131.3,
                  0.4, "MMSI 273000002 met MMSI 273000003", ["E-000000000001"]),
        alert_row("dark_period", 273000004, "", None, t, None, 42.0, 131.0, 0.3,
                  "still dark", ["G-000000000002"])])
    encounters = pd.DataFrame({"encounter_id": ["E-000000000001"], "mmsi_1": [273000002],
                               "mmsi_2": [273000003]})
    settled = _settled_table(alerts, _settled_table(alerts.iloc[:0], alerts.iloc[:0], None,
                                                    names={}, imos={}, poi_key="Dunay|Najin"),
                             encounters, names={273000001: "MARIA"}, imos={273000001: 9179842},
                             poi_key="Dunay|Najin")
    assert list(settled["_v2"]) == [-1, 273000003, -1]
    assert settled["_until"].iloc[2] == np.iinfo(np.int64).max      # open: never reused
    loaded = _optional_table_is_kept_and_checked(tmp_path, "settled_alerts",
                                                 "settled-alerts.parquet", settled, settled)
    assert loaded.settled_alerts["imo"].tolist() == [9179842, None, None]


def test_a_format_3_state_is_read_as_it_is_and_committed_as_the_current_format(tmp_path):
    """Format 3 had tails, events and an archive, but no chunk indexes and no superseded
    rows: it is read with its tails (nothing re-analysed), and the next commit is the
    current format, which a format-3 reader refuses (it would count superseded rows
    twice)."""
    commit_state(tmp_path, _state_with(5))
    gen = tmp_path / "gen-00000001"
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["format"] = 3
    (gen / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "CURRENT").write_text(json.dumps({"format": 3, "generation": 1}))
    loaded = load_state(tmp_path)
    assert STATE_FORMAT == 4
    assert loaded.events is not None and loaded.horizon_ns == manifest["horizon_ns"]
    assert len(loaded.positions) == 5
    commit_state(tmp_path, loaded)
    assert json.loads((tmp_path / "CURRENT").read_text())["format"] == STATE_FORMAT
    assert len(load_state(tmp_path).positions) == 5
