"""The command line: one subcommand per job, each a thin layer over the library.

Library errors (``ShadowfleetError``) become one line on stderr and exit code 1;
usage errors exit 2 (click's convention). Every command's help ends in an example.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from shadowfleet.errors import ShadowfleetError

_CONTEXT = dict(help_option_names=["-h", "--help"], max_content_width=100)


class _Group(click.Group):
    """Turns library errors into a one-line message and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ShadowfleetError as exc:
            click.echo(f"shadowfleet: error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("shadowfleet: interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings=_CONTEXT)
@click.version_option(package_name="shadowfleet")
def main() -> None:
    """Turn raw AIS into evidence: port visits, round trips between ports, dark periods,
    alerts and claim-by-claim verdicts.

    \b
    Example:
      shadowfleet demo --out demo-out
    """


@main.command(context_settings=_CONTEXT)
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Directory for positions.parquet, statics.parquet, rejects.csv, summary.json.")
@click.option("--decoder", type=click.Choice(["fast", "pyais"]), default="fast", show_default=True,
              help="fast: the numba bulk decoder (pyais for types it does not cover); pyais: the reference.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def decode(inputs, out_dir, decoder, quiet):
    """Decode AIS (NMEA 0183 plain or .gz, directories, '-' for stdin; decoded CSV or
    Parquet) into columnar positions and statics.

    \b
    Example:
      shadowfleet decode feed.nmea.gz archive/ --out decoded/
    """
    import ais
    from shadowfleet.outputs.decoded import write_decoded

    decoded = ais.read_inputs(list(inputs), decoder=decoder, require_times=False,
                              progress=not quiet)
    write_decoded(decoded, out_dir)
    click.echo(decoded.describe())


@main.command(context_settings=_CONTEXT)
@click.argument("inputs", nargs=-1, required=True)
@click.option("--ports", "ports_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Port polygons (GeoJSON) replacing the bundled registry.")
@click.option("--claims", "claims_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Claims YAML file (repeatable); its ports become pairs of interest.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML file of thresholds (keys named as in DESIGN.md, e.g. gap_hours = 12).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("shadowfleet-out"), show_default=True, help="Output directory.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="dask: decode input files in parallel processes.")
@click.option("--pair", "pairs", multiple=True, metavar="A,B",
              help="A pair of interest (repeatable): round trips through possible port calls are inferred for it.")
@click.option("--watchlist", "watchlists", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Watchlist: OFAC SDN CSV or list,imo,mmsi,name CSV (repeatable).")
@click.option("--export-trajectories", "export_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the tracks as movingpandas trajectories (.gpkg or .geojson).")
@click.option("--decoder", type=click.Choice(["fast", "pyais"]), default="fast", show_default=True,
              help="AIS decoder: the numba fast path or the pyais reference.")
@click.option("--no-figures", is_flag=True, help="Skip map.html and timeline.png.")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary table.")
def detect(inputs, ports_file, claims_files, config_file, out_dir, engine, pairs, watchlists,
           export_path, decoder, no_figures, quiet):
    """Decode AIS and find port visits, round trips, dark periods, possible port calls and
    alerts; evaluate claims. Writes the contract files to --out.

    \b
    Example:
      shadowfleet detect feed.nmea.gz --claims rusi.yaml --pair Najin,Dunay --out evidence/
    """
    from shadowfleet.outputs.console import run_table
    from shadowfleet.pipeline import detect as run_detect

    result = run_detect(list(inputs), ports=ports_file, claims=list(claims_files),
                        config=config_file, pairs=list(pairs), watchlists=list(watchlists),
                        engine=engine, decoder=decoder, progress=not quiet)
    result.write(out_dir, figures=not no_figures)
    if export_path is not None:
        from shadowfleet.trajectories import export_trajectories

        export_trajectories(result.trajectories(), export_path)
    if not quiet:
        click.echo(run_table(result, out_dir))


@main.command(context_settings=_CONTEXT)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("shadowfleet-demo"), show_default=True, help="Output directory.")
def demo(out_dir):
    """Run the whole job on the bundled Najin-Dunay 2023 scenario (a simulated feed: the
    real ships were dark) with the bundled ports and the real public claims, and print
    what it found.

    \b
    Example:
      shadowfleet demo --out demo-out
    """
    from shadowfleet.demo import run_demo

    run_demo(out_dir, echo=click.echo)
