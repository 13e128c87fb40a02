"""`replay` and `watch` as real processes over real loopback sockets (127.0.0.1 only)."""

import json
import re
import signal
import socket
import subprocess
import threading
import time

import pandas as pd
import pytest
from click.testing import CliRunner

from shadowfleet.cli import main
from shadowfleet.pipeline import detect
from tests._live_feeds import (REPO, _checksum, cli_command, cli_env, run_cli, scenario_lines,
                               tagged, write_feed)
from tests.test_job_incremental import PAIRS, comparable, read_alerts_csv


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    path = tmp_path_factory.mktemp("feed") / "feed.nmea"
    write_feed(path, scenario_lines(seed=5))
    return path


@pytest.fixture(scope="module")
def truth(feed):
    return detect([feed], pairs=list(PAIRS))


def start_watch(*args, stdin=None):
    proc = subprocess.Popen(cli_command("watch", *args, "--pair", "Najin,Dunay"), cwd=REPO,
                            env=cli_env(), stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    lines = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stderr.readline().decode()
        lines.append(line)
        if "watching" in line or not line:
            break
    assert "watching" in lines[-1], "".join(lines)
    return proc, lines[-1]


def stop_watch(proc, sig=signal.SIGTERM, timeout=90):
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out.decode(), err.decode()


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return int(re.search(r"VmHWM:\s+(\d+) kB", fh.read()).group(1))


def wait_for_lines(out_dir, n, timeout=60):
    """Wait until the watch has committed ``n`` lines (its state counts them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for manifest in (out_dir / "state").glob("gen-*/manifest.json"):
            try:
                if json.loads(manifest.read_text())["stats"].get("watch_lines", 0) >= n:
                    return True
            except (ValueError, OSError):
                pass
        time.sleep(0.2)
    return False


def test_replay_stdout_is_the_feed_byte_for_byte(feed):
    done = run_cli("replay", feed, "--speed", "0", "--stdout")
    assert done.returncode == 0, done.stderr
    assert done.stdout == feed.read_bytes()


def test_replay_paces_by_receive_time(tmp_path):
    lines = scenario_lines(seed=5)[:40]                 # about 0.7 h of receive time
    path = tmp_path / "short.nmea"
    write_feed(path, lines)
    span = float(re.search(r"c:(\d+)", lines[-1]).group(1)) - float(re.search(r"c:(\d+)", lines[0]).group(1))
    started = time.monotonic()
    done = run_cli("replay", path, "--speed", str(span / 1.5), "--stdout")
    elapsed = time.monotonic() - started
    assert done.returncode == 0 and done.stdout == path.read_bytes()
    assert elapsed >= 1.5


def test_replay_usage_errors(feed):
    runner = CliRunner()
    assert runner.invoke(main, ["replay", str(feed), "--speed", "0"]).exit_code == 2
    assert runner.invoke(main, ["replay", str(feed), "--speed", "-1", "--stdout"]).exit_code == 2
    bad = runner.invoke(main, ["replay", str(feed), "--speed", "0", "--udp", "nowhere"])
    assert bad.exit_code == 1 and "HOST:PORT" in bad.output


def test_watch_fed_by_replay_over_udp_equals_detect(tmp_path, feed, truth):
    out = tmp_path / "live"
    proc, ready = start_watch("--udp", "127.0.0.1:0", "--out", out, "--every", "1")
    port = int(re.search(r"127\.0\.0\.1:(\d+)", ready).group(1))
    try:
        sent = run_cli("replay", feed, "--speed", "0", "--udp", f"127.0.0.1:{port}")
        assert sent.returncode == 0, sent.stderr
        n_lines = len(feed.read_bytes().splitlines())
        assert wait_for_lines(out, n_lines), "the watch did not receive every line"
    finally:
        code, _, err = stop_watch(proc)
    assert code == 0, err
    assert "watch stopped" in err
    book = read_alerts_csv(out / "alerts.csv")
    assert book["alert_id"].is_unique
    pd.testing.assert_frame_equal(comparable(book[book["status"] != "retracted"]),
                                  comparable(truth.alerts))
    log = pd.read_csv(out / "alerts_log.csv", keep_default_na=False)
    assert not log.duplicated(["alert_id", "version"]).any()


class _FlakyServer:
    """A TCP feed server on 127.0.0.1 that drops the connection after every chunk."""

    def __init__(self, data: bytes, chunks: int):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(60)
        self.port = self.sock.getsockname()[1]
        lines = data.splitlines(keepends=True)
        step = -(-len(lines) // chunks)
        self.chunks = [b"".join(lines[i:i + step]) for i in range(0, len(lines), step)]
        self.served = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        for chunk in self.chunks:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(chunk)
                self.served += 1
            time.sleep(0.1)                 # nobody listens for a moment: refused, back-off


def test_watch_over_tcp_survives_dropped_connections(tmp_path, feed, truth):
    server = _FlakyServer(feed.read_bytes(), chunks=4)
    out = tmp_path / "live"
    proc, _ = start_watch("--tcp", f"127.0.0.1:{server.port}", "--out", out, "--every", "1")
    try:
        server.thread.join(60)
        assert server.served == 4
        assert wait_for_lines(out, len(feed.read_bytes().splitlines()))
    finally:
        code, _, err = stop_watch(proc, signal.SIGINT)
        server.sock.close()
    assert code == 0, err
    assert err.count("connected to") >= 4
    book = read_alerts_csv(out / "alerts.csv")
    pd.testing.assert_frame_equal(comparable(book[book["status"] != "retracted"]),
                                  comparable(truth.alerts))


def test_watch_stdin_ends_at_eof_and_a_restart_carries_on(tmp_path, feed, truth):
    data = feed.read_bytes().splitlines(keepends=True)
    half = len(data) // 2
    out = tmp_path / "live"
    for part in (data[:half], data[half:]):
        done = run_cli("watch", "-", "--out", out, "--pair", "Najin,Dunay", input=b"".join(part))
        assert done.returncode == 0, done.stderr
    book = read_alerts_csv(out / "alerts.csv")
    pd.testing.assert_frame_equal(comparable(book[book["status"] != "retracted"]),
                                  comparable(truth.alerts))


def _endless_fragments(n: int, t0: int) -> bytes:
    """``n`` first fragments of 9-part messages that never get their other parts."""
    out = []
    for i in range(n):
        body = "AIVDM,9,1,%d,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0" % (i % 10)
        out.append(tagged("!%s*%s" % (body, _checksum(body)), t0 + i).encode() + b"\n")
    return b"".join(out)


def test_watch_memory_is_bounded_against_a_hostile_feed(tmp_path, feed):
    """After a warm-up that runs every code path once (imports, numba, a commit, the
    rejects cap reached), 256 MB of lines without boundaries and 30,000 fragments that
    never complete barely move the watch's peak memory."""
    out = tmp_path / "live"
    proc, _ = start_watch("-", "--out", out, "--every", "1", "--max-rejects", "5000",
                          stdin=subprocess.PIPE)
    try:
        benign = feed.read_bytes().splitlines(keepends=True)[:300]
        proc.stdin.write(b"".join(benign) + _endless_fragments(10_000, 1694200000)
                         + b"B" * 100_000 + b"\n")
        proc.stdin.flush()
        warm = len(benign) + 10_001
        assert wait_for_lines(out, warm)
        baseline = peak_rss_kib(proc.pid)
        block = b"A" * (1 << 20)
        for _ in range(4):
            for _ in range(64):
                proc.stdin.write(block)
            proc.stdin.write(b"\n")
        proc.stdin.write(_endless_fragments(30_000, 1694300000))
        proc.stdin.flush()
        assert wait_for_lines(out, warm + 30_004, timeout=120)
        grown = peak_rss_kib(proc.pid) - baseline
    finally:
        proc.stdin.close()
        proc.stdin = None
        code, _, err = stop_watch(proc)
    assert code == 0, err
    print(f"peak memory grew by {grown} KiB after 256 MB of hostile input")
    assert grown < 32 * 1024, f"peak memory grew by {grown} KiB"
    rejects = pd.read_csv(out / "rejects.csv", keep_default_na=False)
    assert len(rejects) == 5000, "the most recent rejects are kept, up to --max-rejects"
    assert (rejects["reason"] == "orphan_fragment").sum() >= 4990
    summary = json.loads((out / "summary.json").read_text())
    by_reason = summary["rejected_by_reason"]
    assert by_reason.get("line_too_long") == 5, summary
    assert by_reason.get("orphan_fragment", 0) >= 39_000


def test_watch_on_a_port_in_use_is_a_one_line_error(tmp_path):
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    try:
        done = run_cli("watch", "--udp", "127.0.0.1:%d" % busy.getsockname()[1],
                       "--out", tmp_path / "live")
    finally:
        busy.close()
    assert done.returncode == 1
    assert done.stderr.decode().count("\n") == 1 and b"cannot watch udp" in done.stderr


def test_watch_usage_errors(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["watch", "--out", str(tmp_path)]).exit_code == 2
    both = runner.invoke(main, ["watch", "-", "--udp", "127.0.0.1:0", "--out", str(tmp_path)])
    assert both.exit_code == 2
