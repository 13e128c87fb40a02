"""The command line: one subcommand per job, each a thin layer over the library.

Library errors (``ShadowfleetError``) become one line on stderr and exit code 1, and so
does any ``OSError`` (a path that cannot be read or written, a full disk): the line names
the path and what to do. Usage errors exit 2 (click's convention). Every command checks
the directories it will write (``--out``, ``--state``) before it does any work, and
reports its long phases on stderr (``ais.progress``: a bar on a terminal, a line per
phase otherwise; ``--quiet`` for none). Every command's help ends in an example.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from shadowfleet.errors import ShadowfleetError
from shadowfleet.outputs import MAP_VESSELS_DEFAULT

_CONTEXT = dict(help_option_names=["-h", "--help"], max_content_width=100)


class _Group(click.Group):
    """Turns library errors into a one-line message and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ShadowfleetError as exc:
            click.echo(f"shadowfleet: error: {exc}", err=True)
            sys.exit(1)
        except OSError as exc:
            click.echo(f"shadowfleet: error: {os_error_line(exc)}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("shadowfleet: interrupted", err=True)
            sys.exit(130)


def os_error_line(exc: OSError) -> str:
    """One line for an ``OSError``: the path, what went wrong, what to do."""
    from shadowfleet.outputs.files import os_error_text

    where = exc.filename if exc.filename is not None else "<file>"
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    what, remedy = os_error_text(exc)
    return " ".join(f"{where}: {what}; {remedy}".split())


def _quiet_option(command):
    return click.option("--quiet", is_flag=True,
                        help="No progress on stderr (errors only).")(command)


def _progress(quiet: bool, *, analysis: bool = False, head_start: bool = False):
    """The command's progress, reporting kernels numba compiles (the first run after an
    install) until the command ends. ``analysis``: the command runs the detectors, whose
    kernels a second process compiles meanwhile on that first run
    (:mod:`shadowfleet.warmup`), stopped when the command ends. ``head_start``: the
    command's inputs are the bundled ones (``demo``), so it compiles a share of the second
    process's kernels at once (``warmup.compile_here``); a command given files of its own
    compiles nothing before they are read, so a bad input is one line of error, not
    compile progress and then an error."""
    from ais.progress import Progress

    progress = Progress.for_command(quiet=quiet)
    ctx = click.get_current_context(silent=True)
    warmup = None
    if analysis and ctx is not None:
        from shadowfleet import warmup as _warmup

        warmup = _warmup.start()
        if warmup is not None:
            ctx.call_on_close(warmup.stop)
    if progress.enabled and ctx is not None:
        progress.report_compiling(
            note="a second process compiles the detectors' meanwhile" if warmup else "")
        ctx.call_on_close(progress.end_compiling)
    if warmup is not None and head_start:
        _warmup.compile_here()      # a share of the second process's kernels, here
    return progress


def _writable(path, option: str, *, for_file: bool = False):
    from shadowfleet.outputs.files import writable_dir

    return writable_dir(path, option, for_file=for_file)


def _map_vessels_option(command):
    return click.option(
        "--map-vessels", "map_vessels", type=click.IntRange(min=0), default=MAP_VESSELS_DEFAULT,
        show_default=True, metavar="N",
        help="map.html shows at most N vessels of interest: named in claims, on a watchlist, "
             "with the highest-scoring alerts.")(command)


def _analysis_options(command):
    """The options that set up an analysis (ports, claims, config, pairs, watchlists),
    shared by the commands that run one over and over (job, watch)."""
    for option in reversed([
        click.option("--ports", "ports_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Port polygons (GeoJSON) replacing the bundled registry."),
        click.option("--claims", "claims_files", multiple=True,
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="Claims YAML file (repeatable)."),
        click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="TOML file of thresholds."),
        click.option("--pair", "pairs", multiple=True, metavar="A,B",
                     help="A pair of interest (repeatable)."),
        click.option("--watchlist", "watchlists", multiple=True,
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="Watchlist file (repeatable)."),
    ]):
        command = option(command)
    return command


@click.group(cls=_Group, context_settings=_CONTEXT)
@click.version_option(package_name="shadowfleet")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Turn raw AIS into evidence: port visits, round trips between ports, dark periods,
    alerts and claim-by-claim verdicts.

    The command tunes glibc's memory allocator for its own process: one heap for all
    threads, and for decode, detect and demo, freed memory kept for the next piece of
    the read (the library sets nothing in a process that imports it).

    \b
    Example:
      shadowfleet demo --out demo-out
    """
    from shadowfleet import tuning

    tuning.command_chosen(ctx.invoked_subcommand)


@main.command(context_settings=_CONTEXT)
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              required=True, help="Directory for positions.parquet, statics.parquet, rejects.csv, summary.json.")
@click.option("--decoder", type=click.Choice(["fast", "pyais"]), default="fast", show_default=True,
              help="fast: the numba bulk decoder (pyais for types it does not cover); pyais: the reference.")
@_quiet_option
def decode(inputs, out_dir, decoder, quiet):
    """Decode AIS (NMEA 0183 plain or .gz, directories, '-' for stdin; decoded CSV or
    Parquet) into columnar positions and statics.

    \b
    Example:
      shadowfleet decode feed.nmea.gz archive/ --out decoded/
    """
    from ais.reading.read import InputsRead, iter_inputs
    from shadowfleet.outputs.decoded import write_decoded_stream

    _writable(out_dir, "--out")
    progress = _progress(quiet)
    read = InputsRead()      # pieces go to disk as they are read: memory stays bounded
    pieces = iter_inputs(list(inputs), decoder=decoder, require_times=False,
                         progress=progress, read=read)
    _, decoded = write_decoded_stream(pieces, read, out_dir, progress=progress)
    click.echo(decoded.describe())


@main.command(context_settings=_CONTEXT)
@click.argument("inputs", nargs=-1, required=True)
@click.option("--ports", "ports_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Port polygons (GeoJSON) replacing the bundled registry.")
@click.option("--claims", "claims_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Claims YAML file (repeatable); its ports become pairs of interest.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML file of thresholds (keys named as in DESIGN.md, e.g. gap_hours = 12).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              default=Path("shadowfleet-out"), show_default=True, help="Output directory.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="dask: run on a Dask cluster (a local one unless --scheduler is given).")
@click.option("--scheduler", metavar="ADDRESS",
              help="With --engine dask: the Dask scheduler's address (e.g. tcp://host:8786); "
                   "default: a LocalCluster of this machine's cores.")
@click.option("--work", "work_dir", type=click.Path(file_okay=False, path_type=Path),
              help="With --engine dask: directory for the partitions (on storage every "
                   "worker reaches); default: a temporary directory, removed at the end.")
@click.option("--partitions", type=click.IntRange(min=1), metavar="N",
              help="With --engine dask: how many partitions the vessels are split into "
                   "(by hashed MMSI); default: one per 128 MB of input, a multiple of the "
                   "workers. More partitions, less memory per task.")
@click.option("--pair", "pairs", multiple=True, metavar="A,B",
              help="A pair of interest (repeatable): round trips through possible port calls are inferred for it.")
@click.option("--watchlist", "watchlists", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Watchlist: OFAC SDN CSV or list,imo,mmsi,name CSV (repeatable).")
@click.option("--export-trajectories", "export_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the tracks as movingpandas trajectories (.gpkg or .geojson).")
@click.option("--decoder", type=click.Choice(["fast", "pyais"]), default="fast", show_default=True,
              help="AIS decoder: the numba fast path or the pyais reference.")
@click.option("--no-figures", is_flag=True, help="Skip map.html and timeline.png.")
@_map_vessels_option
@click.option("--quiet", is_flag=True, help="No progress on stderr and no summary table.")
def detect(inputs, ports_file, claims_files, config_file, out_dir, engine, scheduler, work_dir,
           partitions, pairs, watchlists, export_path, decoder, no_figures, map_vessels, quiet):
    """Decode AIS and find port visits, round trips, dark periods, possible port calls and
    alerts; evaluate claims. Writes the contract files to --out.

    \b
    Example:
      shadowfleet detect feed.nmea.gz --claims rusi.yaml --pair Najin,Dunay --out evidence/
    """
    from shadowfleet.outputs.console import run_table
    from shadowfleet.pipeline import detect as run_detect

    _writable(out_dir, "--out")
    if export_path is not None:
        _writable(Path(export_path).parent, "--export-trajectories", for_file=True)
    progress = _progress(quiet, analysis=True)
    result = run_detect(list(inputs), ports=ports_file, claims=list(claims_files),
                        config=config_file, pairs=list(pairs), watchlists=list(watchlists),
                        engine=engine, decoder=decoder, progress=progress,
                        scheduler=scheduler, work=work_dir, partitions=partitions,
                        # the trajectories hold every position: without them (and without
                        # claims or watchlists) the Dask engine gathers no positions into
                        # this process; the figures read only the vessels they draw
                        keep_frames=export_path is not None, figures=not no_figures)
    result.write(out_dir, figures=not no_figures, map_vessels=map_vessels, progress=progress)
    if export_path is not None:
        from shadowfleet.trajectories import export_trajectories

        with progress.phase("trajectories"):
            export_trajectories(result.trajectories(), export_path)
    if not quiet:
        click.echo(run_table(result, out_dir))


@main.command(context_settings=_CONTEXT)
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              default=Path("shadowfleet-demo"), show_default=True, help="Output directory.")
@_map_vessels_option
@click.option("--quiet", is_flag=True, help="No progress on stderr and no summary table.")
def demo(out_dir, map_vessels, quiet):
    """Run the whole job on the bundled Najin-Dunay 2023 scenario (a simulated feed: the
    real ships were dark) with the bundled ports and the real public claims, and print
    what it found; then run the same feed with Dunay taken out of the port registry
    (outputs in OUT/without-dunay/) and show the pier found from the ships' stays.

    \b
    Example:
      shadowfleet demo --out demo-out
    """
    from shadowfleet.demo import run_demo

    _writable(out_dir, "--out")
    run_demo(out_dir, echo=(lambda _: None) if quiet else click.echo, map_vessels=map_vessels,
             progress=_progress(quiet, analysis=True, head_start=True))


@main.command(context_settings=_CONTEXT)
@click.option("--inbox", type=click.Path(path_type=Path), required=True,
              help="Directory the feed delivers files to (plain or .gz NMEA); hidden, .part and .tmp files are ignored.")
@click.option("--state", "state_dir", type=click.Path(path_type=Path), required=True,
              help="Directory the job keeps its state in between runs (created when missing).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Output directory: the contract files, alerts.csv with status and version, alerts_log.csv.")
@_analysis_options
@click.option("--figures", is_flag=True, help="Also write map.html and timeline.png on every run.")
@_map_vessels_option
@click.option("--max-rejects", "max_rejects", type=click.IntRange(min=1), default=100_000,
              show_default=True,
              help="Rejected lines kept for rejects.csv (the most recent; summary.json counts all).")
@click.option("--quiet", is_flag=True,
              help="No progress on stderr; print only what needs acting on (refused or "
                   "unreadable files, warnings).")
def job(inbox, state_dir, out_dir, ports_file, claims_files, config_file, pairs, watchlists, figures,
        map_vessels, max_rejects, quiet):
    """One scheduled, incremental run: process the inbox files not processed yet (by
    content hash, in receive-time order), detect over the vessels' tails kept in --state
    (each vessel's last day and open events) plus the new data, and update --out: alerts.csv holds one row per alert id (status open/closed/retracted,
    version), alerts_log.csv gets every new version appended. Safe to kill at any moment;
    a run that finds another one holding the lock exits 0.

    \b
    Example:
      */5 * * * *  shadowfleet job --inbox /srv/ais/inbox --state /srv/ais/state --out /srv/ais/out
    """
    from shadowfleet.job import inbox_files, run_job

    inbox_files(inbox)          # an inbox that cannot be listed fails before any work
    _writable(state_dir, "--state")     # (--out: checked once the run holds the lock)
    report = run_job(inbox, state_dir, out_dir, ports=ports_file, config=config_file,
                     claims=list(claims_files), pairs=list(pairs), watchlists=list(watchlists),
                     figures=figures, map_vessels=map_vessels,
                     progress=_progress(quiet, analysis=True),
                     max_rejects_kept=max_rejects)
    if not quiet:
        click.echo(report.describe())
    elif report.failed or report.warnings:
        click.echo(report.describe_problems())
    if report.failed:
        sys.exit(1)


@main.command(context_settings=_CONTEXT)
@click.argument("feed", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--speed", type=float, default=1.0, show_default=True,
              help="Pacing divisor: 60 plays an hour in a minute; 0 sends as fast as possible.")
@click.option("--udp", "udp", metavar="HOST:PORT", help="Send the lines as UDP datagrams to HOST:PORT.")
@click.option("--stdout", "to_stdout", is_flag=True, help="Write the lines to standard output.")
@click.option("--quiet", is_flag=True, help="No closing line on stderr.")
def replay(feed, speed, udp, to_stdout, quiet):
    """Re-emit a recorded feed (plain or .gz) byte for byte, in its original order, paced by
    its receive times divided by --speed; tag blocks and receive-time lines are kept.

    \b
    Example:
      shadowfleet replay feed.nmea.gz --speed 60 --udp 127.0.0.1:10110
    """
    from shadowfleet.replay import parse_address, replay as run_replay

    if (udp is None) == (not to_stdout):
        raise click.UsageError("give exactly one of --udp HOST:PORT and --stdout")
    if speed < 0:
        raise click.UsageError("--speed must be 0 (as fast as possible) or more")
    address = parse_address(udp, "--udp") if udp else None
    try:
        sent = run_replay(feed, speed=speed, udp=address)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    if udp and not quiet:
        click.echo(f"replayed {sent} lines to {udp}", err=True)


@main.command(context_settings=_CONTEXT)
@click.argument("stdin_source", required=False, metavar="[-]")
@click.option("--udp", "udp", metavar="HOST:PORT", help="Listen for UDP datagrams on HOST:PORT (port 0: any free one).")
@click.option("--tcp", "tcp", metavar="HOST:PORT", help="Connect to a TCP feed at HOST:PORT (reconnects with back-off).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Output directory (alerts.csv, alerts_log.csv and the other contract files).")
@click.option("--state", "state_dir", type=click.Path(path_type=Path),
              help="State directory, shared with `shadowfleet job` [default: OUT/state].")
@click.option("--every", "every_seconds", type=float, default=10.0, show_default=True,
              help="Seconds between analyses while data arrives.")
@click.option("--max-rejects", "max_rejects", type=int, default=100_000, show_default=True,
              help="Rejected lines kept for rejects.csv (the most recent; summary.json counts all).")
@_analysis_options
@click.option("--quiet", is_flag=True,
              help="Only warnings and errors on stderr (no start, connection and closing lines).")
def watch(stdin_source, udp, tcp, out_dir, state_dir, every_seconds, max_rejects, ports_file,
          claims_files, config_file, pairs, watchlists, quiet):
    """Decode and detect a live feed as it arrives (UDP, TCP or '-' for standard input),
    appending new alert versions to --out/alerts_log.csv as they fire. Stops cleanly on
    Ctrl-C or SIGTERM after a last analysis.

    \b
    Example:
      shadowfleet watch --udp 0.0.0.0:10110 --out live/
    """
    from shadowfleet.job import Analysis
    from shadowfleet.replay import parse_address
    from shadowfleet.watch import WatchLimits, watch as run_watch

    given = [x for x in (udp, tcp, stdin_source) if x]
    if len(given) != 1 or (stdin_source and stdin_source != "-"):
        raise click.UsageError("give exactly one source: --udp HOST:PORT, --tcp HOST:PORT or -")
    if udp:
        kind, address = "udp", parse_address(udp, "--udp")
    elif tcp:
        kind, address = "tcp", parse_address(tcp, "--tcp")
    else:
        kind, address = "stdin", None
    _writable(out_dir, "--out")
    _writable(out_dir / "state" if state_dir is None else state_dir, "--state")
    analysis = Analysis.load(ports=ports_file, config=config_file, claims=list(claims_files),
                             pairs=list(pairs), watchlists=list(watchlists))
    report = run_watch(kind, address, out_dir, state_dir=state_dir, analysis=analysis,
                       limits=WatchLimits(every_seconds=every_seconds,
                                          max_rejects_kept=max_rejects), quiet=quiet)
    if not quiet:
        click.echo(report.describe(), err=True)


@main.command(context_settings=_CONTEXT)
@click.option("--scenario", type=click.Choice(["najin-dunay-2023", "control"]), required=True,
              help="najin-dunay-2023: two ships shuttle Najin <-> Dunay, mostly dark; "
                   "control: the same ships trade Vladivostok <-> Nakhodka.")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True,
              help="Everything in the feed derives from it.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Feed to write (NMEA with tag blocks; gzip when it ends in .gz).")
@click.option("--truth", "truth_path", type=click.Path(dir_okay=False, path_type=Path),
              required=True,
              help="Truth JSON: what the ships did (port calls, voyages, AIS switch-offs, "
                   "coverage outages) and the round trips a correct run reports.")
@click.option("--quiet", is_flag=True, help="No progress on stderr and no description of the feed.")
def simulate(scenario, seed, out_path, truth_path, quiet):
    """Write a simulated AIS feed (fictional vessels, MMSIs and IMOs) and the truth of
    what its ships did.

    \b
    Example:
      shadowfleet simulate --scenario najin-dunay-2023 --seed 7 --out feed.nmea.gz --truth truth.json
    """
    from shadowfleet.simulator.run import describe, run_simulation

    _writable(Path(out_path).parent, "--out", for_file=True)
    _writable(Path(truth_path).parent, "--truth", for_file=True)
    with _progress(quiet).phase("simulating"):
        truth = run_simulation(scenario, seed, out_path, truth_path)
    if not quiet:
        click.echo(describe(truth))


@main.group(cls=_Group, context_settings=_CONTEXT)
def claims() -> None:
    """Claims files: the public claims shadowfleet tests against AIS.

    \b
    Example:
      shadowfleet claims list
    """


@claims.command("list", context_settings=_CONTEXT)
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--full", is_flag=True, help="Also print each claim's statement, vessels and URL.")
def claims_list(files, full):
    """List the bundled claims (or those of FILES, validating them): id, kind, ports,
    window, claimed count and source.

    \b
    Example:
      shadowfleet claims list
      shadowfleet claims list my-claims.yaml --full
    """
    from shadowfleet.claims import bundled_claim_files, load_claims
    from shadowfleet.claims.listing import describe_claims

    paths = list(files) or bundled_claim_files()
    click.echo(describe_claims(load_claims(paths), full=full))
