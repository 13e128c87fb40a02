"""The state directory: generations committed atomically, stale ones removed, the lock."""

import json
import subprocess
import sys
import time

import pandas as pd
import pytest

from shadowfleet.errors import StateError
from shadowfleet.job_state import (JobState, LockHeld, commit_state, load_state,
                                   mark_outputs_done, state_lock)
from tests._live_feeds import REPO, cli_env, run_cli


def _state_with(n_rows: int) -> JobState:
    state = JobState()
    pos = pd.DataFrame({"mmsi": [273000001] * n_rows,
                        "timestamp": pd.date_range("2023-09-07", periods=n_rows, freq="10min", tz="UTC"),
                        "lat": 42.0, "lon": 131.0, "sog": 10.0, "cog": float("nan"),
                        "heading": float("nan"), "msg_type": 1, "source": "a.nmea",
                        "line": range(1, n_rows + 1)})
    state.positions = pos
    state.decoder = {"fragments": {("r1", "3"): [b"x"]}}
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
    assert loaded.decoder == {"fragments": {("r1", "3"): [b"x"]}}
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
