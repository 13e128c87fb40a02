"""`job` with short tails: events straddle run boundaries, positions leave the tails for
the archive, and the alerts still equal one `detect` over all the files."""

import numpy as np
import pandas as pd

from benchmarks.job_kill import comparable
from shadowfleet.job import run_job
from shadowfleet.job_state import load_state, read_archive
from shadowfleet.job_tails import TailParams, pins, tail_mask, event_spans
from tests._live_feeds import scenario_lines, slice_lines, write_feed
from tests.test_job_incremental import analysis, feed, read_alerts_csv, truth  # noqa: F401

SHORT = TailParams(tail_hours=14)       # the least the default thresholds allow


def test_short_tails_over_30_runs_equal_one_detect(tmp_path, truth, analysis):
    inbox, state, out = tmp_path / "inbox", tmp_path / "state", tmp_path / "out"
    inbox.mkdir()
    retired_runs = 0
    for i, part in enumerate(slice_lines(scenario_lines(seed=3), 30)):
        write_feed(inbox / f"part-{i:02d}.nmea", part)
        report = run_job(inbox, state, out, analysis=analysis, tail=SHORT)
        kept = load_state(state)
        assert len(kept.positions) <= report.positions
        retired_runs += len(kept.positions) < report.positions
    assert retired_runs >= 2, "positions must have left the tails"
    archived = read_archive(state, kept.archive)
    assert len(archived) + len(kept.positions) == report.positions == len(truth.positions)
    book = read_alerts_csv(out / "alerts.csv")
    pd.testing.assert_frame_equal(comparable(book[book["status"] != "retracted"]),
                                  comparable(truth.alerts))
    for name, frame in (("port_visits.csv", truth.port_visits),
                        ("dark_periods.csv", truth.dark_periods)):
        got = pd.read_csv(out / name)
        assert len(got) == len(frame), name


def test_an_open_event_pins_the_tail_and_a_settled_one_does_not():
    h = 3_600_000_000_000
    spans = pd.DataFrame({"mmsi": [1, 2, 2], "start": [2 * h, 1 * h, 30 * h],
                          "end": [2**63 - 1, 3 * h, 31 * h]})
    pin = pins(pd.Index([1, 2, 3]).to_numpy(), spans, 40 * h, 7 * h)
    assert pin.to_dict() == {1: 2 * h, 2: 40 * h, 3: 40 * h}   # 2: ended 9 h before
    t = pd.to_datetime([0, h, 2 * h, 29 * h, 41 * h, 5 * h], utc=True)
    pos = pd.DataFrame({"mmsi": [1, 1, 1, 2, 2, 3], "timestamp": t, "lat": 1.0, "lon": 1.0,
                        "spoofed": False})
    keep, cut = tail_mask(pos, pin)
    # vessel 1 from the fix before its open event, 2 from the fix before its pin, and 3
    # (silent since long before the horizon) keeps its last position
    assert keep.tolist() == [False, True, True, True, True, True]
    assert event_spans({}, None).empty


# ------------------------------------------------- many vessels, events across every run

def _synthetic(k0, steps, vessels):
    from benchmarks.job_reanalysis import synthetic_positions
    import benchmarks.job_reanalysis as bench

    bench.STEP_S = 600          # one position every 10 minutes
    # Najin, a point at sea, Dunay: calls N, D, N, ... make round trips, the sea stop
    # loitering, stays and encounters
    saved = bench.STOPS
    bench.STOPS = saved[[0, 2, 1]]
    try:
        return synthetic_positions(k0, steps, vessels)
    finally:
        bench.STOPS = saved


def _statics(frame_times, names):
    """Type 5 reports of vessel 273000001 every 6 hours, renamed halfway (an
    identity change that falls in one run and is reported in the next ones)."""
    import ais.schema as schema

    times = pd.date_range(frame_times.min(), frame_times.max(), freq="6h")
    rows = pd.DataFrame({"mmsi": 273000001, "timestamp": times, "imo": 9179842.0,
                         "name": [names[0] if i < len(times) // 2 else names[1]
                                  for i in range(len(times))],
                         "callsign": "UBCD7", "ship_type": 70.0, "msg_type": 5,
                         "source": "s.nmea", "line": range(1, len(times) + 1)})
    return schema.conform(rows, schema.STATIC_COLUMNS, schema.STATIC_DTYPES)


def _tables(result):
    out = {}
    for name in ("port_visits", "dark_periods", "round_trips", "encounters", "loitering",
                 "stops", "identity", "vessels"):
        frame = getattr(result, name).copy()
        out[name] = frame.sort_values(list(frame.columns[:2])).reset_index(drop=True)
    return out


SYNTHETIC_CLAIMS = """\
source: Test source
claims:
  - id: trips-of-one
    statement: 273000001 made round trips Najin - Dunay in early September 2023
    kind: round_trips
    ports: [Najin, Dunay]
    window: {start: 2023-09-02, end: 2023-09-08}
    vessels: {mmsi: [273000001]}
    at_least: 2
  - id: dark-of-three
    statement: 273000003 went dark in September 2023
    kind: dark_periods
    window: {start: 2023-09-01, end: 2023-09-09}
    vessels: {mmsi: [273000003, 273000007]}
    at_least: 1
  - id: dark-of-any
    statement: ships went dark between 3 and 6 September 2023
    kind: dark_periods
    window: {start: 2023-09-03, end: 2023-09-06}
    at_least: 1
"""


def _no_whole_archive(monkeypatch):
    """Reading the whole archive fails; returns the ``KeptPositions`` made (their rows
    read and scanned)."""
    import shadowfleet.job_state as job_state

    whole, made = job_state.read_archive, []

    def read_archive(state_dir, archive, *, since_ns=None, columns=None, windows=None):
        assert since_ns is not None or windows is not None, "a run read the whole archive"
        return whole(state_dir, archive, since_ns=since_ns, columns=columns, windows=windows)

    init = job_state.KeptPositions.__init__

    def kept(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(job_state, "read_archive", read_archive)
    monkeypatch.setattr(job_state.KeptPositions, "__init__", kept)
    return made


def test_runs_over_tails_give_every_event_of_one_analysis(tmp_path, monkeypatch):
    """20 vessels, 9 days in 27 runs of 8 hours, 14-hour tails: visits open across runs,
    dark periods open across runs, round trips whose legs are in different runs,
    encounters at the stops across run boundaries, an identity change in an early run;
    every event table, the claims' verdicts and caveats (reception caveats of dark
    periods long retired) and the alerts (watchlist hits included) equal one analysis
    over all the data, and no run reads the whole archive. One vessel goes silent for
    good on the second day while the others call where it was: its open dark period's
    others_received grows over the runs as one analysis counts it, and no run reads the
    archive for it (each run adds its new data's vessels to those the state keeps) but
    the one after a state without those vessels (as an older version's)."""
    import dataclasses

    import ais
    from shadowfleet.alert_book import live_alerts
    from shadowfleet.job import Analysis, accumulate, analyse_state
    from shadowfleet.job_state import JobState, commit_state
    from shadowfleet.pipeline import analyse

    (tmp_path / "claims.yaml").write_text(SYNTHETIC_CLAIMS, encoding="utf-8")
    (tmp_path / "list.csv").write_text("list,imo,mmsi,name\nEU,9179842,,\n,,273000005,\n"
                                       "UK,,,VOLGA\n", encoding="utf-8")
    analysis = Analysis.load(pairs=(("Najin", "Dunay"),), claims=[tmp_path / "claims.yaml"],
                             watchlists=[tmp_path / "list.csv"])
    per_run, runs, vessels = 48, 27, 20
    allpos = _synthetic(0, per_run * runs, vessels)
    # one vessel sails alone, far north: nobody else is received near its dark periods,
    # whose reception caveats search the other vessels' positions while they lasted
    allpos.loc[allpos["mmsi"] == 273000003, "lat"] += 8.0
    silent = 273000012
    gone = allpos["timestamp"].min() + pd.Timedelta(hours=30)
    allpos = allpos[(allpos["mmsi"] != silent) | (allpos["timestamp"] < gone)].reset_index(
        drop=True)
    statics = _statics(allpos["timestamp"], ("MARIA", "VOLGA"))
    truth = analyse(ais.Decoded(allpos, statics), registry=analysis.registry,
                    params=analysis.settings, pairs=list(analysis.pairs),
                    claims=list(analysis.claims), watchlists=list(analysis.watchlists))
    assert len(truth.encounters) and len(truth.loitering) and len(truth.round_trips)
    assert (truth.identity["kind"] == "identity_change").any()
    assert truth.alerts["evidence"].str.contains("watchlist").sum() >= 2
    caveats = [r.caveats for r in truth.claims_evaluation.results]
    assert any(c.startswith("Reception: no other vessel") for cs in caveats for c in cs)
    last = truth.dark_periods[truth.dark_periods["mmsi"] == silent].iloc[-1]
    assert last["open"] and last["others_received"] >= 3
    made = _no_whole_archive(monkeypatch)
    import shadowfleet.job_state as job_state

    windows, checked = [], job_state.read_archive

    def read_archive(state_dir, archive, **kwargs):
        windows.append(kwargs.get("windows"))
        return checked(state_dir, archive, **kwargs)

    monkeypatch.setattr(job_state, "read_archive", read_archive)
    # every run's alerts, built with the settled ones of the run before, equal those
    # built from all the events
    import shadowfleet.job_tails as job_tails

    built, reused = job_tails._alerts, []

    def alerts_checked(events, stops, stays, id_alerts, cache, first, **kwargs):
        got = built(events, stops, stays, id_alerts, cache, first, **kwargs)
        want = built(events, stops, stays, id_alerts, None, first, **kwargs)
        for g, w in zip(got[1:3], want[1:3]):
            pd.testing.assert_frame_equal(g.reset_index(drop=True), w.reset_index(drop=True))
        pd.testing.assert_frame_equal(got[3].drop(columns="_until"),
                                      want[3].drop(columns="_until"))
        reused.append(len(job_tails._reusable(cache, first, kwargs["names"], kwargs["imos"],
                                              got[3]["_poi"].iloc[0] if len(got[3]) else "")))
        return got

    monkeypatch.setattr(job_tails, "_alerts", alerts_checked)
    heard, read_from_start = [], []
    start = last["start_utc"].value

    state_dir = tmp_path / "state"
    commit_state(state_dir, JobState())
    from shadowfleet.job_state import load_state

    open_kinds = set()
    for r in range(runs):
        t0 = allpos["timestamp"].min() + pd.Timedelta(hours=8 * r)
        t1 = t0 + pd.Timedelta(hours=8)
        pos = allpos[(allpos["timestamp"] >= t0) & (allpos["timestamp"] < t1)]
        sta = statics[(statics["timestamp"] >= t0) & (statics["timestamp"] < t1)]
        state = accumulate(load_state(state_dir), [ais.Decoded(pos.reset_index(drop=True),
                                                               sta.reset_index(drop=True))])
        result, update, state = analyse_state(state, analysis, state_dir=state_dir, tail=SHORT)
        forget = r == runs - 6         # the state as an older version writes it
        commit_state(state_dir, dataclasses.replace(
            state, book=update.book,
            **({"open_others": None, "settled_alerts": None} if forget else {})))
        assert (load_state(state_dir).settled_alerts is None) == (forget or r == 0)
        # the first run analysed everything: the state learns whom to count at the next
        assert (load_state(state_dir).open_others is None) == (forget or r == 0)
        read_from_start.append(any(w is not None and (np.asarray(w)[:, 0] == start).any()
                                   for w in windows))
        windows.clear()
        open_kinds |= set(update.book.loc[update.book["status"] == "open", "kind"])
        dark = result.dark_periods
        dark = dark[(dark["mmsi"] == silent) & dark["open"]]
        if len(dark):
            assert dark["start_utc"].iloc[0] == last["start_utc"]
            heard.append(int(dark["others_received"].iloc[0]))
            kept_others = load_state(state_dir).open_others
            if not forget:
                assert (kept_others["mmsi"] == silent).sum() == heard[-1]
    # the count grew over several runs, and the archive was read from its start only
    # by the run after the state forgot whom it counted
    assert len(heard) > 20 and heard[-1] == last["others_received"]
    assert len(set(heard)) >= 3
    assert [r for r, read in enumerate(read_from_start) if read] == [runs - 5]
    # settled alerts were reused (the first run analysed everything: one call fewer),
    # none by the run after the state forgot them, most by the last run
    print("settled alerts reused per run:", reused)
    assert len(reused) == runs - 1 and reused[runs - 6] == 0
    assert max(reused[:runs - 6]) > 20
    assert reused[-1] > len(live_alerts(update.book)) / 3
    kept = load_state(state_dir)
    assert len(kept.archive) >= 10 and len(kept.positions) < len(allpos) / 4
    assert "dark_period" in open_kinds
    got, want = _tables(result), _tables(truth)
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], check_dtype=False, obj=name)
    pd.testing.assert_frame_equal(comparable(live_alerts(update.book)),
                                  comparable(truth.alerts))
    pd.testing.assert_frame_equal(result.claims, truth.claims)
    assert [r.caveats for r in result.claims_evaluation.results] == caveats
    # the last run read the claimed and listed vessels' archived rows and the chunks the
    # reception caveats' dark periods overlap, not the archive
    archived = sum(e["rows"] for e in kept.archive)
    assert 0 < made[-1].rows_read["positions"] < archived / 2
    assert 0 < made[-1].rows_scanned < archived / 2


def test_the_bundled_feed_in_ten_runs_equals_one_detect(tmp_path):
    """Two months of the bundled scenario: positions retire to the archive, and a dark
    period with the transponder heard (its own messages are rows without a position,
    which the tails keep) is reported as one detect reports it."""
    import shutil

    from benchmarks.job_kill import FEED, split_feed
    from shadowfleet.job import Analysis
    from shadowfleet.pipeline import detect

    analysis = Analysis.load(pairs=(("Najin", "Dunay"),))
    parts, inbox = tmp_path / "parts", tmp_path / "inbox"
    parts.mkdir()
    inbox.mkdir()
    for path in split_feed(parts, 10):
        shutil.copy(path, inbox / path.name)
        run_job(inbox, tmp_path / "state", tmp_path / "out", analysis=analysis)
    assert load_state(tmp_path / "state").archive
    truth = detect([FEED], pairs=[("Najin", "Dunay")])
    book = read_alerts_csv(tmp_path / "out" / "alerts.csv")
    assert book["summary"].str.contains("positions withheld").any()
    pd.testing.assert_frame_equal(comparable(book[book["status"] != "retracted"]),
                                  comparable(truth.alerts))


def test_the_bundled_feed_with_claims_and_a_watchlist_equals_one_detect(tmp_path, monkeypatch):
    """The bundled scenario in ten runs with the demo's claims (the feed's shuttles
    standing in for the ships they name) and a watchlist: claims.csv and claims.md are
    one detect's over the same files, the alerts (watchlist hits included) too, and no
    run reads the whole archive."""
    import shutil

    from benchmarks.job_kill import split_feed
    from shadowfleet.job import Analysis
    from shadowfleet.pipeline import detect
    from tests.test_scale import _stand_in_claims_and_watchlist

    claims, watchlist = _stand_in_claims_and_watchlist(tmp_path)
    parts, inbox = tmp_path / "parts", tmp_path / "inbox"
    parts.mkdir()
    inbox.mkdir()
    paths = split_feed(parts, 10)
    local = tmp_path / "local"
    detect(paths, pairs=[("Najin", "Dunay")], claims=claims,
           watchlists=[watchlist]).write(local, figures=False)
    assert (local / "alerts.csv").read_text("utf-8").count("watchlist") >= 3
    made = _no_whole_archive(monkeypatch)
    analysis = Analysis.load(pairs=(("Najin", "Dunay"),), claims=claims, watchlists=[watchlist])
    for path in paths:
        shutil.copy(path, inbox / path.name)
        run_job(inbox, tmp_path / "state", tmp_path / "out", analysis=analysis)
    kept = load_state(tmp_path / "state")
    assert kept.archive and made
    for name in ("claims.csv", "claims.md"):
        assert (tmp_path / "out" / name).read_text("utf-8") == (local / name).read_text("utf-8")
    book = read_alerts_csv(tmp_path / "out" / "alerts.csv")
    pd.testing.assert_frame_equal(comparable(book[book["status"] != "retracted"]),
                                  comparable(read_alerts_csv(local / "alerts.csv")))
    # the claimed and listed vessels' archived rows (most of this feed's few ships)
    assert made[-1].rows_read["positions"] > 0


def _kept(tmp_path):
    """An archive of three chunks (the oldest as written before: unsorted, no row groups,
    no trusted entry) and the tails after them, of 4,000 random positions (5 % without a
    position, 10 % spoofed) of 39 vessels over 2,000 minutes from 1 Aug 2023."""
    import dataclasses

    import numpy as np

    import ais.schema as schema
    from shadowfleet.job_state import ARCHIVE, JobState, KeptPositions, _sha256, _write_chunk

    rng = np.random.default_rng(5)
    n = 4_000
    t0 = pd.Timestamp("2023-08-01", tz="UTC")
    grid = rng.integers(0, 40, n)
    frame = pd.DataFrame({
        "mmsi": rng.integers(1, 40, n).astype(np.int64),
        "timestamp": t0 + pd.to_timedelta(np.sort(rng.integers(0, 2_000, n)), unit="min"),
        "lat": 42.0 + (grid % 8) * 0.05, "lon": 130.0 + (grid // 8) * 0.05,
        "sog": 1.0, "cog": 0.0, "heading": np.nan, "msg_type": 1, "source": "x.nmea",
        "line": np.arange(n)})
    frame.loc[rng.random(n) < 0.05, ["lat", "lon"]] = np.nan
    frame = schema.conform(frame, schema.POSITION_COLUMNS, schema.POSITION_DTYPES)
    frame["spoofed"] = rng.random(n) < 0.1
    frame["track"] = np.int64(0)
    cuts = [t0 + pd.Timedelta(minutes=m) for m in (500, 1_000, 1_500)]
    state_dir = tmp_path / "state"
    (state_dir / ARCHIVE).mkdir(parents=True)
    old = frame[frame["timestamp"] < cuts[0]].sample(frac=1.0, random_state=1)
    old.to_parquet(state_dir / ARCHIVE / "chunk-00000001.parquet", index=False)
    f = state_dir / ARCHIVE / "chunk-00000001.parquet"
    archive = [{"name": f.name, "rows": len(old), "tmin": int(old["timestamp"].min().value),
                "tmax": int(old["timestamp"].max().value), "bytes": f.stat().st_size,
                "sha256": _sha256(f)}]
    for g, (a, b) in enumerate(zip(cuts[:-1], cuts[1:]), start=2):
        part = frame[(frame["timestamp"] >= a) & (frame["timestamp"] < b)]
        state = dataclasses.replace(JobState(), archive=archive, retired=part.reset_index(drop=True))
        archive = _write_chunk(state_dir, state, g)
    tails = frame[(frame["timestamp"] >= cuts[-1]) & frame["lat"].notna()].reset_index(drop=True)
    kept = KeptPositions(state_dir, archive, tails)
    whole = schema.sort_by_vessel_time(frame[frame["lat"].notna()].reset_index(drop=True))
    return rng, t0, cuts, state_dir, archive, old, frame, tails, kept, whole


def test_kept_positions_read_as_one_frame_of_archive_and_tails(tmp_path, monkeypatch):
    """``KeptPositions`` over chunks of this version and one written before chunks were
    sorted and had their trusted positions in the manifest: the vessels' rows, the
    reception search in bounded and open windows, the size and end equal one frame of
    every position (archive rows without a position left out, as the cleaning does); the
    old chunk's entry learns its trusted positions."""
    import dataclasses

    import numpy as np

    import ais.schema as schema
    from shadowfleet.claims.caveats import PartitionedReception, ReceptionIndex
    from shadowfleet.job_state import ARCHIVE, JobState, KeptPositions, _sha256, _write_chunk

    rng, t0, cuts, state_dir, archive, old, frame, tails, kept, whole = _kept(tmp_path)
    one = ReceptionIndex(whole)
    split = PartitionedReception(kept.each_partition, size=kept.reception_size)
    assert len(split) == len(one) and split.end == one.end
    assert archive[0]["trusted"] == int(ReceptionIndex(old[old["lat"].notna()]).__len__())
    for _ in range(100):
        own = int(rng.integers(1, 40))
        points = [(42.0 + rng.integers(0, 8) * 0.05, 130.0 + rng.integers(0, 5) * 0.05)]
        a = t0 + pd.Timedelta(minutes=int(rng.integers(0, 2_000)))
        b = a + pd.Timedelta(minutes=int(rng.integers(0, 300)))
        assert split.nearest(own, points, a, b) == one.nearest(own, points, a, b)
    assert split.nearest(3, [(42.1, 130.1)]) == one.nearest(3, [(42.1, 130.1)])
    cols = ["mmsi", "timestamp", "lat", "lon", "spoofed"]
    for wanted in ({3}, {1, 7, 39}, set()):
        got = kept.positions_of(wanted, cols)
        want = whole.loc[whole["mmsi"].isin(wanted), cols].sort_values(
            ["mmsi", "timestamp"], kind="mergesort").reset_index(drop=True)
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
    seen = kept.last_seen().groupby("mmsi")["timestamp"].max()
    assert seen.to_dict() == whole[whole["timestamp"] >= cuts[-1]].groupby("mmsi")["timestamp"].max().to_dict()
    # a dark period's others_received reads the chunks its window overlaps
    from shadowfleet.job_state import read_archive

    archived = read_archive(state_dir, archive)
    t = archived["timestamp"]
    for windows in ([(t0 + pd.Timedelta(minutes=100), t0 + pd.Timedelta(minutes=200)),
                     (t0 + pd.Timedelta(minutes=1_200), None)],
                    [(t0 + pd.Timedelta(minutes=700), t0 + pd.Timedelta(minutes=800))]):
        inside = np.zeros(len(t), dtype=bool)
        spans = []
        for a, b in windows:
            inside |= (t >= a).to_numpy() & ((t <= b).to_numpy() if b is not None else True)
            spans.append((a.value, b.value if b is not None else np.iinfo(np.int64).max))
        got = read_archive(state_dir, archive, windows=spans)
        pd.testing.assert_frame_equal(got, archived[inside].reset_index(drop=True))
    import shadowfleet.job_state as job_state

    opened, table = [], job_state._table

    def counted(f, conform):
        opened.append(f.name)
        return table(f, conform)

    monkeypatch.setattr(job_state, "_table", counted)
    read_archive(state_dir, archive, windows=[(t0.value, t0.value + 10**9)])
    assert opened == ["chunk-00000001.parquet"]


def test_claims_read_only_the_archive_rows_their_windows_need(tmp_path, monkeypatch):
    """``positions_of`` with a claim's window gives exactly the rows of all the data the
    claim consults (those inside the window, each vessel's last trusted fix before it and
    first after it: ``coverage_positions``), for windows inside one chunk, across chunks,
    before and after the data; and a window inside one chunk whose vessels are heard
    either side of it within that chunk opens that chunk alone and reads none of the
    rows of the other chunks or of the tails' time."""
    import numpy as np

    import shadowfleet.job_state as job_state
    from shadowfleet.claims.vessels import coverage_positions

    rng, t0, cuts, state_dir, archive, old, frame, tails, kept, whole = _kept(tmp_path)
    cols = ["mmsi", "timestamp", "lat", "lon", "spoofed"]
    minute = pd.Timedelta(minutes=1)
    windows = [(t0 + int(a) * minute, t0 + int(a + d) * minute)
               for a, d in zip(rng.integers(-300, 2_300, 60), rng.integers(0, 900, 60))]
    windows += [(t0 - 500 * minute, t0 - 100 * minute), (t0 + 3_000 * minute, t0 + 4_000 * minute)]
    for a, b in windows:
        wanted = set(rng.integers(1, 40, int(rng.integers(0, 6))).tolist())
        got = kept.positions_of(wanted, cols, window=(a, b))
        want = coverage_positions(whole.loc[whole["mmsi"].isin(wanted), cols], a, b)
        # vessel and time order; rows of a vessel at one time (the random data has some,
        # the fixes either side may be any one of them) compared as sets
        assert got[["mmsi", "timestamp"]].equals(got.sort_values(
            ["mmsi", "timestamp"], kind="mergesort")[["mmsi", "timestamp"]])
        got, want = (f.sort_values(cols, kind="mergesort").reset_index(drop=True)
                     for f in (got, want))
        pd.testing.assert_frame_equal(got, want, check_dtype=False)
    # a window inside the third chunk ([1,000, 1,500) min): only that chunk is opened
    read, real = [], job_state.KeptPositions._read

    def counted(self, entries, columns, filter_):
        out = real(self, entries, columns, filter_)
        read.append(([e["name"] for e in entries], out))
        return out

    monkeypatch.setattr(job_state.KeptPositions, "_read", counted)
    a, b = t0 + 1_200 * minute, t0 + 1_260 * minute
    trusted = whole[~whole["spoofed"]]
    t = trusted["timestamp"]
    near = set(trusted.loc[(t >= cuts[1]) & (t < a), "mmsi"]) \
        & set(trusted.loc[(t > b) & (t < cuts[2]), "mmsi"])
    wanted = sorted(near)[:5]
    assert len(wanted) == 5
    earlier = kept.rows_read["positions"]
    got = kept.positions_of(wanted, cols, window=(a, b))
    assert {n for names, _ in read for n in names} == {archive[2]["name"]}
    rows = pd.concat([f for _, f in read if f is not None])
    assert rows["mmsi"].isin(wanted).all()
    assert ((rows["timestamp"] >= cuts[1]) & (rows["timestamp"] < cuts[2])).all()
    in_chunk = whole[whole["mmsi"].isin(wanted) & (whole["timestamp"] >= cuts[1])
                     & (whole["timestamp"] < cuts[2])]
    assert 0 < kept.rows_read["positions"] - earlier == int(rows["lat"].notna().sum()) \
        <= len(in_chunk)
    assert got["timestamp"].between(cuts[1], cuts[2]).all()


def test_a_settled_alert_is_reused_only_while_all_it_reads_is_settled():
    """An alert is reused when its vessels' tails start after what it waits for, with the
    names, IMOs and ports of interest it was built with; an open one never is."""
    from detectors.alerts import alert_frame, alert_row
    from shadowfleet.job_tails import _INF, _empty_settled, _reusable, _settled_table

    t = pd.Timestamp("2023-09-07 10:00", tz="UTC")
    alerts = alert_frame([
        alert_row("dark_period", 1, "MARIA", 9179842, t, t + pd.Timedelta(hours=9), 42.1,
                  131.2, 0.61, "dark", ["G-1"]),
        alert_row("encounter", 2, "", None, t, t + pd.Timedelta(hours=2), 42.5, 131.3, 0.4,
                  "met", ["E-1", "G-9"]),
        alert_row("dark_period", 4, "", None, t, None, 42.0, 131.0, 0.3, "dark", ["G-2"])])
    encounters = pd.DataFrame({"encounter_id": ["E-1"], "mmsi_1": [3], "mmsi_2": [2]})
    names, imos = {1: "MARIA"}, {1: 9179842}
    settled = _settled_table(alerts, _empty_settled(), encounters, names=names, imos=imos,
                             poi_key="Dunay|Najin")
    day = pd.Timedelta(hours=24).value
    late = pd.Series({1: _INF, 2: t.value + 27 * 3600 * 10**9, 3: _INF, 4: _INF})

    def reused(first, names=names, imos=imos, poi="Dunay|Najin"):
        return sorted(_reusable(settled, first, names, imos, poi)["_event"])

    # the dark period is reused once its tail starts after its start; the encounter once
    # both ships' tails start more than a day after its end; the open dark period never
    assert reused(late) == ["E-1", "G-1"]
    assert reused(late.replace({t.value + 27 * 3600 * 10**9: t.value + 2 * 3600 * 10**9
                                + day})) == ["G-1"]
    assert reused(pd.Series({1: t.value, 2: _INF, 3: _INF, 4: _INF})) == ["E-1"]
    assert reused(pd.Series({1: _INF, 2: _INF, 3: t.value + day, 4: _INF})) == ["G-1"]
    # a renamed vessel (either ship of an encounter), a new IMO, other ports of interest
    assert reused(late, names={1: "VOLGA"}) == ["E-1"]
    assert reused(late, names={1: "MARIA", 3: "NEW NAME"}) == ["G-1"]
    assert reused(late, imos={}) == ["E-1"]
    # other ports of interest: the encounter's alert does not read them, the dark
    # period's is reused when its proximity to them is the same
    gaps = pd.DataFrame({"gap_id": ["G-1"], "start_port": ["Najin"], "end_port": [""],
                         "possible_port_calls": [""]})
    assert reused(late, poi="Najin|Rajin") == ["E-1"]
    assert sorted(_reusable(settled, late, names, imos, "Najin|Rajin", gaps)["_event"]) == \
        ["E-1", "G-1"]
    assert sorted(_reusable(settled, late, names, imos, "Dunay|Rajin", gaps)["_event"]) == \
        ["E-1"]
    assert set(_reusable(settled, late, names, imos, "Najin|Rajin", gaps)["_poi"]) == \
        {"Najin|Rajin"}


def test_proximity_to_the_ports_of_interest_is_the_alerts():
    from detectors.alerts import _gap_proximity
    from shadowfleet.job_tails import _proximity

    gaps = pd.DataFrame({"start_port": ["Najin", "", None, "Rajin", np.nan, "Dunay"],
                         "end_port": ["", "Dunay", "", None, "", np.nan],
                         "possible_port_calls": ["", "Najin;Rajin", "Rajin; Najin", np.nan,
                                                 "Vostochny", None]})
    for poi in ("", "Najin", "Dunay|Najin", "Rajin|Vostochny"):
        want = [_gap_proximity(g, {p for p in poi.split("|") if p})
                for g in gaps.to_dict("records")]
        assert list(_proximity(gaps, poi)) == want, poi


# ------------------------------------------------------------------ late deliveries

def test_late_deliveries_re_analyse_only_from_their_time(tmp_path, monkeypatch):
    """12 vessels, 7 days in 21 runs of 8 hours, 14-hour tails, and files delivered
    late: one vessel's 4 hours delivered 32 hours late (older than the tails' horizon),
    another's 4 hours 20 hours late (6 hours older than the horizon),
    another's 6 hours delivered 2.5 days late, positions of a vessel silent for good (its
    open dark period) delivered a day late, and a vessel never seen before received
    during another vessel's closed dark period, next to where it went dark (that dark
    period's ``others_received`` grows), two days late. After every run every event
    table, the claims and the alerts equal one analysis of everything delivered so far;
    a late run reads only the chunks holding positions from the late data's time on
    (fewer rows the less late the data), never the whole archive, and no position is
    archived twice or lost."""
    import dataclasses

    import ais
    from shadowfleet.alert_book import live_alerts
    from shadowfleet.job import Analysis, accumulate, analyse_state
    from shadowfleet.job_state import JobState, commit_state, load_state
    from shadowfleet.pipeline import analyse

    (tmp_path / "claims.yaml").write_text(SYNTHETIC_CLAIMS, encoding="utf-8")
    analysis = Analysis.load(pairs=(("Najin", "Dunay"),), claims=[tmp_path / "claims.yaml"])
    per_run, runs, vessels = 48, 21, 12
    allpos = _synthetic(0, per_run * runs, vessels)
    t0 = allpos["timestamp"].min()
    hour = pd.Timedelta(hours=1)
    silent = 273000009
    allpos = allpos[(allpos["mmsi"] != silent) | (allpos["timestamp"] < t0 + 30 * hour)
                    | ((allpos["timestamp"] >= t0 + 46 * hour)
                       & (allpos["timestamp"] < t0 + 48 * hour))].reset_index(drop=True)

    def closed_dark(result, after, before):
        d = result.dark_periods
        d = d[~d["open"] & (d["start_utc"] > t0 + after * hour)
              & (d["end_utc"] < t0 + before * hour) & (d["mmsi"] != silent)]
        return d.iloc[0]

    base = analyse(ais.Decoded(allpos), registry=analysis.registry, params=analysis.settings,
                   pairs=list(analysis.pairs))
    dark = closed_dark(base, 60, 90)
    # a vessel never seen before, received next to where ``dark``'s vessel went dark
    stranger = pd.DataFrame({"mmsi": 273000099, "timestamp": pd.date_range(
        dark["start_utc"] + pd.Timedelta(minutes=30), periods=6, freq="10min"),
        "lat": dark["start_lat"] + 0.01, "lon": dark["start_lon"], "sog": 0.1, "cog": 0.0,
        "heading": np.nan, "msg_type": 1, "source": "late.nmea", "line": range(1, 7)})
    import ais.schema as schema

    stranger = schema.conform(stranger, schema.POSITION_COLUMNS, schema.POSITION_DTYPES)
    allpos = schema.sort_by_vessel_time(pd.concat([allpos, stranger], ignore_index=True))

    def slice_of(mmsi, a, b):
        t = allpos["timestamp"]
        return (allpos["mmsi"] == mmsi) & (t >= t0 + a * hour) & (t < t0 + b * hour)

    # (rows withheld, the run that delivers them)
    late = [(slice_of(273000002, 60, 64), 11),            # 32 hours late
            (slice_of(273000006, 120, 124), 17),          # 20 hours late, 6 h before H
            (slice_of(273000004, 100, 106), 20),          # 2.5 days late
            (slice_of(silent, 46, 48), 8),                # a day late, its dark period open
            (allpos["mmsi"] == 273000099, 12)]            # 2 days late, a new vessel
    withheld = np.zeros(len(allpos), dtype=bool)
    for rows, _ in late:
        withheld |= rows.to_numpy()
    state_dir = tmp_path / "state"
    commit_state(state_dir, JobState())
    made = _no_whole_archive(monkeypatch)
    delivered = np.zeros(len(allpos), dtype=bool)
    read_by_late_run, archived_then = {}, {}
    for r in range(runs):
        a, b = t0 + 8 * r * hour, t0 + 8 * (r + 1) * hour
        now = ((allpos["timestamp"] >= a) & (allpos["timestamp"] < b)).to_numpy() & ~withheld
        for rows, at in late:
            if at == r:
                now |= rows.to_numpy()
        delivered |= now
        before = load_state(state_dir)
        state = accumulate(before, [ais.Decoded(allpos[now].reset_index(drop=True))])
        is_late = (state.horizon_ns is not None
                   and state.new_earliest_ns < state.horizon_ns)
        state_late = state.new_earliest_ns
        first = len(made)
        result, update, state = analyse_state(state, analysis, state_dir=state_dir, tail=SHORT)
        commit_state(state_dir, dataclasses.replace(state, book=update.book))
        kept = load_state(state_dir)
        archived = read_archive(state_dir, kept.archive)
        # every position delivered once: in the archive or in the tails, not both
        assert len(archived) + len(kept.positions) == int(delivered.sum())
        assert not archived.merge(kept.positions, on=["mmsi", "timestamp", "line"]).shape[0]
        if is_late:
            assert before.archive, "a late file with nothing archived yet tests nothing"
            # the archived rows of the vessels the late data can change, from their
            # events' starts: none older than the late data's time minus 60 hours (one
            # stop of 36 hours and the margins), and fewer than the archive holds
            # from then on
            rows = sum(m.rows_read.get("late", 0) for m in made[first:])
            then = read_archive(state_dir, before.archive)
            recent = int((then["timestamp"] >= pd.Timestamp(
                state_late - 60 * 3_600 * 10**9, tz="UTC")).sum())
            assert rows <= recent
            read_by_late_run[r] = rows
            archived_then[r] = len(then)
        if r in (8, 11, 12, 17, 20):
            truth = analyse(ais.Decoded(allpos[delivered].reset_index(drop=True)),
                            registry=analysis.registry, params=analysis.settings,
                            pairs=list(analysis.pairs), claims=list(analysis.claims))
            got, want = _tables(result), _tables(truth)
            for name in want:
                pd.testing.assert_frame_equal(got[name], want[name], check_dtype=False,
                                              obj=f"run {r}: {name}")
            pd.testing.assert_frame_equal(comparable(live_alerts(update.book)),
                                          comparable(truth.alerts))
            pd.testing.assert_frame_equal(result.claims, truth.claims)
    assert sorted(read_by_late_run) == [8, 11, 12, 17, 20]
    # the stranger's positions count in the other vessel's dark period
    final = truth.dark_periods.set_index(["mmsi", "start_utc"])
    key = (dark["mmsi"], dark["start_utc"])
    assert final.loc[key, "others_received"] > dark["others_received"]
    # the silent vessel's late positions split its open dark period
    assert ((truth.dark_periods["mmsi"] == silent) & truth.dark_periods["open"]).sum() == 1
    assert (truth.dark_periods["mmsi"] == silent).sum() >= 2
    # each late run read a part of the archive (the chunks holding positions from the
    # late data's time on that the tails do not hold), the less late the less
    for r, rows in read_by_late_run.items():
        assert rows < archived_then[r], r
    assert 0 < read_by_late_run[11] < archived_then[11] / 4
    assert read_by_late_run[17] < archived_then[17] / 4     # its tails may hold it all
    assert read_by_late_run[20] > 0


def test_watchlist_first_and_last_seen_from_the_chunks_indexes(tmp_path, monkeypatch):
    """``KeptPositions.seen_of`` (what a watchlist match reads of the positions) equals
    the watchlist's own first/last seen and last fix over one frame of every position,
    for vessels in the tails, in the archive only, in neither; the chunk written before
    chunks had an index gets one (once: listed in its entry, read back after); and of
    the rows only the last fixes of vessels the tails hold no position of are read."""
    import ais.schema as schema
    from shadowfleet.job_state import ARCHIVE, KeptPositions, index_name
    from shadowfleet.watchlist import _seen

    rng, t0, cuts, state_dir, archive, old, frame, tails, kept, whole = _kept(tmp_path)
    assert "index_sha256" not in archive[0] and "index_sha256" in archive[1]
    # vessels 40 and 41 only in the archive (in the oldest and the middle chunk), with
    # rows without a position after their last fix
    gone = frame.iloc[:6].copy()
    gone["mmsi"] = [40, 40, 40, 41, 41, 41]
    gone["timestamp"] = [t0 + pd.Timedelta(minutes=m) for m in (10, 20, 30, 700, 710, 720)]
    gone.loc[gone.index[[2, 5]], ["lat", "lon"]] = np.nan
    gone["spoofed"] = False
    from shadowfleet.job_state import write_archive_chunk

    extra = write_archive_chunk(state_dir, "chunk-00000009.parquet", gone.reset_index(drop=True))
    archive = archive + [extra]
    everything = schema.sort_by_vessel_time(pd.concat(
        [whole, gone[gone["lat"].notna()]], ignore_index=True))
    for wanted in ({3}, {1, 7, 39}, {40, 41, 2}, {99}, set(range(1, 42))):
        kept = KeptPositions(state_dir, archive, tails)
        got = kept.seen_of(wanted)
        want = _seen(everything, None, wanted)
        pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), check_dtype=False,
                                      check_index_type=False, check_names=False)
        in_tails = set(tails.loc[tails["lat"].notna(), "mmsi"])
        assert kept.rows_read["positions"] == len((wanted & {40, 41}) - in_tails)
    assert "index_sha256" in archive[0]
    assert (state_dir / ARCHIVE / index_name(archive[0]["name"])).is_file()
