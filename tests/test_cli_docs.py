"""Every command of the CLI is documented in the README and its help ends in an example."""

import pathlib

import click
import pytest

from shadowfleet.cli import main

README = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group, prefix=""):
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        yield full, cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix=f"{full} ")


@pytest.mark.parametrize("name,cmd", list(_commands(main)), ids=lambda v: v if isinstance(v, str) else "")
def test_command_documented_with_example(name, cmd):
    assert f"shadowfleet {name}" in README, f"README does not mention `shadowfleet {name}`"
    assert "Example" in (cmd.help or ""), f"`shadowfleet {name} --help` has no example"


def test_readme_quick_start_has_the_two_commands():
    assert "pip install . && shadowfleet demo" in README
    assert "pip install '.[test]' && pytest" in README
