"""Every public exception of every package derives from the one root."""

import importlib
import inspect
import pkgutil

import pytest

from ais.errors import ShadowfleetError

PACKAGES = ["ais", "ports", "detectors", "shadowfleet"]


def _modules():
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        yield pkg
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{name}."):
            if info.name.rsplit(".", 1)[-1].startswith("_"):
                continue
            yield importlib.import_module(info.name)


def test_every_public_exception_derives_from_root():
    strays = []
    for module in _modules():
        for attr, obj in vars(module).items():
            if attr.startswith("_") or not inspect.isclass(obj):
                continue
            if not issubclass(obj, BaseException):
                continue
            if obj.__module__.split(".")[0] not in PACKAGES:
                continue  # re-exported builtins / third-party
            if not issubclass(obj, ShadowfleetError):
                strays.append(f"{module.__name__}.{attr}")
    assert not strays, f"exceptions outside ShadowfleetError: {strays}"


def test_input_error_is_one_line_naming_file_line_and_remedy():
    from ais.errors import InputError

    err = InputError("feed.nmea", "no receive time on any line\n", "add tag blocks", line=12)
    text = str(err)
    assert "\n" not in text
    assert text.startswith("feed.nmea:12: ")
    assert "add tag blocks" in text

