"""The ``shadowfleet`` command (and ``python -m shadowfleet``).

The command's process tunes glibc's allocator for itself before it imports anything
else (``shadowfleet.tuning``), then runs the command line (``shadowfleet.cli``).
"""


def main() -> None:
    from shadowfleet import tuning

    tuning.command_started()        # before pandas (and pyarrow's thread) is imported
    from shadowfleet.cli import main as cli

    cli(prog_name="shadowfleet")


if __name__ == "__main__":
    main()
