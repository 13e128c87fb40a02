"""Every public exception of every package derives from the one root, and each error
class lives in the lowest layer that raises it."""

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

from ais.errors import ShadowfleetError

PACKAGES = ["ais", "ports", "detectors", "shadowfleet"]      # layers, lowest first
REPO = Path(__file__).resolve().parents[1]


def _modules():
    """Every module of every package, private ones included (``__main__`` excepted:
    importing it runs the command)."""
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        yield pkg
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{name}."):
            if info.name.endswith(".__main__"):
                continue
            yield importlib.import_module(info.name)


def _project_exceptions() -> dict[str, type]:
    found = {}
    for module in _modules():
        for attr, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, BaseException)
                    and obj.__module__.split(".")[0] in PACKAGES):
                found[obj.__name__] = obj
    return found


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


def _constructed_by_layer() -> dict[str, set[str]]:
    """Class name -> the packages whose code calls it (``raise X(...)``, ``return X(...)``)."""
    out: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call):
                    f = node.func
                    name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                    if name:
                        out.setdefault(name, set()).add(package)
    return out


def test_each_error_lives_in_the_lowest_layer_that_raises_it():
    rank = {p: k for k, p in enumerate(PACKAGES)}
    used = _constructed_by_layer()
    misplaced = []
    for name, cls in _project_exceptions().items():
        if cls is ShadowfleetError or name not in used:
            continue
        home = cls.__module__.split(".")[0]
        lowest = min(used[name], key=rank.get)
        if home != lowest:
            misplaced.append(f"{cls.__module__}.{name} (raised from {sorted(used[name])})")
    assert not misplaced, f"errors not in the lowest layer that raises them: {misplaced}"


def test_the_whole_hierarchy_is_importable_from_shadowfleet_errors():
    import shadowfleet.errors as errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), ShadowfleetError), name


def test_input_error_is_one_line_naming_file_line_and_remedy():
    from ais.errors import InputError

    err = InputError("feed.nmea", "no receive time on any line\n", "add tag blocks", line=12)
    text = str(err)
    assert "\n" not in text
    assert text.startswith("feed.nmea:12: ")
    assert "add tag blocks" in text

