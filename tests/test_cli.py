"""The command line: what works, and every bad input giving one line, exit code 2 and no file."""
from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xlhand import build as build_module
from xlhand.cli import cli


def run(*args, cwd: Path | None = None):
    runner = CliRunner()
    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def files_in(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_list_names_each_exercise_with_its_sizes():
    out = run("list").output
    assert "backprop" in out and "lstm" in out and "small" in out


def test_build_writes_and_check_passes(tmp_path):
    result = run("build", "backprop", "lstm", "--size", "small", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    result = run("check", tmp_path / "backprop.xlsx", tmp_path / "lstm.xlsx")
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok") == 2


def test_params_round_trip(tmp_path):
    text = run("params", "lstm", "--seed", "5", "--set", "T=2").output
    path = tmp_path / "p.yaml"
    path.write_text(text)
    assert run("build", "lstm", "--params", path, "--out", tmp_path / "a").exit_code == 0
    assert run("build", "lstm", "--seed", "5", "--set", "T=2", "--out", tmp_path / "b").exit_code == 0
    assert (tmp_path / "a/lstm.xlsx").read_bytes() != b""
    from xlhand import readback

    fingerprints = [readback.read_metadata(readback.load(tmp_path / d / "lstm.xlsx"), d)["params_fingerprint"]
                    for d in ("a", "b")]
    assert fingerprints[0] == fingerprints[1]


def test_missing_blocks_are_filled_from_the_template(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("exercise: backprop\nvalues:\n  lr: 0.5\n")
    assert run("build", "backprop", "--params", path, "--out", tmp_path).exit_code == 0
    assert run("check", tmp_path / "backprop.xlsx").exit_code == 0


def test_check_reports_a_tampered_cell(tmp_path):
    run("build", "backprop", "--out", tmp_path)
    path = tmp_path / "backprop.xlsx"
    wb = openpyxl.load_workbook(path)
    from xlhand import readback

    where = readback.block_ranges(wb)["Z1"]
    wb[where.sheet].cell(where.min_row, where.min_col).value = "=1+1"
    wb.save(path)
    result = run("check", path)
    assert result.exit_code == 1
    assert "Z1" in result.output and "mismatches" in result.output


BAD_PARAMS = {
    "not_yaml.yaml": ("exercise: backprop\nvalues: [1, 2\n", "not valid YAML"),
    "other.yaml": ("exercise: lstm\nvalues: {}\n", "is for exercise 'lstm'"),
    "shape.yaml": ("exercise: backprop\nvalues:\n  W1: [[1, 2], [3, 4]]\n", "block 'W1': expected shape 3x2"),
    "text.yaml": ("exercise: backprop\nvalues:\n  X: [[1], [two]]\n", "is not a number"),
    "unknown.yaml": ("exercise: backprop\nvalues:\n  W9: [[1]]\n", "unknown block 'W9'"),
    "baddim.yaml": ("exercise: backprop\ndims: {n_in: 0}\n", "dim 'n_in' must be a positive"),
}


@pytest.mark.parametrize("args,message", [
    (("build", "nosuch"), "unknown exercise 'nosuch'"),
    (("build", "backprop", "--size", "huge"), "unknown size 'huge'"),
    (("build", "backprop", "--set", "zz=3"), "unknown dim 'zz'"),
    (("build", "backprop", "--set", "h1=0"), "dim 'h1' must be a positive"),
    (("build", "backprop", "--set", "h1=-2"), "dim 'h1' must be a positive"),
    (("build", "backprop", "--set", "h1=x"), "is not a whole number"),
    (("build", "backprop", "--params", "missing.yaml"), "no such file"),
    (("build",), "name an exercise"),
])
def test_bad_arguments(tmp_path, args, message):
    out = tmp_path / "out"
    result = run(*args, "--out", out)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert files_in(out) == []


@pytest.mark.parametrize("filename", sorted(BAD_PARAMS))
def test_bad_params_files(tmp_path, filename):
    text, message = BAD_PARAMS[filename]
    path = tmp_path / filename
    path.write_text(text)
    out = tmp_path / "out"
    out.mkdir()
    (out / "backprop.xlsx").write_bytes(b"earlier")
    result = run("build", "backprop", "--params", path, "--out", out)
    assert result.exit_code == 2, result.output
    assert message in result.output and str(path) in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert (out / "backprop.xlsx").read_bytes() == b"earlier"  # nothing overwritten
    assert files_in(out) == ["backprop.xlsx"]


def test_one_bad_exercise_writes_nothing_for_the_others(tmp_path):
    result = run("build", "backprop", "lstm", "--set", "d_h=0", "--out", tmp_path)
    assert result.exit_code == 2
    assert files_in(tmp_path) == []


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run("build", "backprop", "--out", blocker / "sub")
    assert result.exit_code == 2
    assert "output directory" in result.output and "cannot be written" in result.output


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "backprop.xlsx"
    target.write_bytes(b"earlier")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_module.write_atomic(target, b"new contents")
    assert target.read_bytes() == b"earlier"
    assert files_in(tmp_path) == ["backprop.xlsx"]


def test_values_lists_blocks_and_rejects_unknown(tmp_path):
    run("build", "backprop", "--out", tmp_path)
    result = run("values", tmp_path / "backprop.xlsx", "--block", "W1", "--json")
    assert result.exit_code == 0 and '"W1"' in result.output
    result = run("values", tmp_path / "backprop.xlsx", "--block", "nope")
    assert result.exit_code == 2 and "no block 'nope'" in result.output
