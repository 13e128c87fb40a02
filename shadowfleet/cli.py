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
