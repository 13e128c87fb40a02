"""``shadowfleet claims list``: the bundled claims, or those of files given (validated)."""

from click.testing import CliRunner

from shadowfleet.cli import main


def test_claims_list_shows_the_bundled_claims():
    result = CliRunner().invoke(main, ["claims", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "kind", "ports", "window", "at", "least", "verdict",
                                "source"]
    body = "\n".join(lines[2:])
    for cid in ("rusi-wapo-2023", "rusi-kyivpost-2023", "csis-2023-six-trips", "whitehouse-2023",
                "lady-r-2024-03", "lady-r-2024-04"):
        assert cid in body
    assert "Najin <-> Dunay     2023-08-15 .. 2023-10-14  5         by data" in body
    assert "Vostochny -> Najin" in body


def test_claims_list_shows_the_untestable_claims_with_their_verdict():
    result = CliRunner().invoke(main, ["claims", "list"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[2:]}
    for cid in ("whitehouse-2023-containers", "us-state-dept-2024-containers",
                "rok-dia-2024-containers", "rok-dia-2025-containers",
                "csis-2023-tumangang-rail-cars", "uk-mod-2023-munitions"):
        assert rows[cid][1] == "untestable" and "untestable" in rows[cid][2:], cid
    full = CliRunner().invoke(main, ["claims", "list", "--full"]).output
    assert "untestable: A container count is cargo, not movement" in full


def test_claims_list_full_and_user_files(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("source: Me\nclaims:\n  - id: my-claim\n    statement: One call at Najin\n"
                    "    kind: port_calls\n    ports: [Najin]\n"
                    "    window: {start: 2024-01-01, end: 2024-01-31}\n"
                    "    vessels: {mmsi: [273000001]}\n    at_least: 1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["claims", "list", str(path), "--full"])
    assert result.exit_code == 0, result.output
    assert "my-claim  port_calls  Najin" in result.output
    assert "    One call at Najin" in result.output
    assert "    vessels: (MMSI 273000001)" in result.output


def test_claims_list_bad_file_is_one_line_and_exit_1(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("source: Me\nclaims:\n  - id: x\n    statement: s\n    kind: trips\n",
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["claims", "list", str(path)])
    assert result.exit_code == 1
    err = result.stderr if hasattr(result, "stderr") else result.output
    assert f"{path}:5: claim 'x', field 'kind': 'trips' is not a claim kind" in err
    assert len(err.strip().splitlines()) == 1
