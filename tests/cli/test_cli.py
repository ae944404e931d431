"""The command line: what works, and every bad input giving one line, exit code 2 and no file."""
from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pytest
from support import REPO
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
    from xlhand.engines import readback

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
    from xlhand.engines import readback

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
    (("build", "backprop", "--size", "huge"), "Invalid value for '--size': 'huge' is not one of"),
    (("build", "backprop", "--size", "lecture"), "unknown size 'lecture' for backprop (sizes: small, medium, large)"),
    (("build", "backprop", "--seed", "-1"), "Invalid value for '--seed': -1 is not in the range x>=0"),
    (("build", "backprop", "--seed", "x"), "Invalid value for '--seed'"),
    (("build", "dft", "--opt", "with_sine=maybe"), "option 'with_sine' must be one of false, true, found 'maybe'"),
    (("build", "dft", "--opt", "with_sinee=true"), "dft has no option 'with_sinee' (options: with_sine)"),
    (("build", "dft", "relu", "--opt", "with_sinee=true"), "--opt with_sinee: no exercise built here has this option"),
    (("build", "relu", "--with-sine"), "relu has no option 'with_sine' (options: none)"),
    (("build", "alphafold-triangle", "--opt", "direction=sideways"),
     "option 'direction' must be one of outgoing, incoming, found 'sideways'"),
    (("build", "dft", "--opt", "with_sine"), "--opt with_sine: expected NAME=VALUE"),
    (("build", "relu", "--nosuch"), "No such option '--nosuch'"),
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


def test_size_help_lists_every_preset_name():
    out = run("build", "--help").output
    assert "--size [small|medium|large|lecture]" in out


def test_an_option_known_to_some_exercises_applies_to_those(tmp_path):
    result = run("build", "dft", "relu", "--opt", "with_sine=true", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    from xlhand.engines import readback

    meta = {n: readback.read_metadata(readback.load(tmp_path / f"{n}.xlsx"), n)["options"] for n in ("dft", "relu")}
    assert meta == {"dft": {"with_sine": True}, "relu": {}}


def test_option_values_as_text(tmp_path):
    result = run("build", "alphafold-triangle", "--opt", "direction=incoming", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    result = run("params", "dft", "--opt", "with_sine=True")
    assert result.exit_code == 0 and "options:\n  with_sine: true\n" in result.output
    result = run("params", "backprop", "--opt", "iters=2")  # a number option, typed as text
    assert result.exit_code == 0 and "options:\n  iters: 2\n" in result.output


def test_values_lists_blocks_in_step_order(tmp_path):
    run("build", "mlp", "--out", tmp_path)
    names = [line[:-1] for line in run("values", tmp_path / "mlp.xlsx").output.splitlines() if not line.startswith(" ")]
    order = [names.index(b) for b in ("X", "W1", "Z1", "A1", "W2", "Z2", "A2", "W3", "Y")]
    assert order == sorted(order) and names.index("Y") == len(names) - 1


def test_one_worksheet_is_one_worksheet(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns1,Ada\n")
    result = run("class", "relu", "--roster", roster, "--out", tmp_path / "class")
    assert result.exit_code == 0, result.output
    assert "wrote 1 worksheet to" in result.output and "wrote 1 key and manifest.json" in result.output


def test_subtitle_says_where_the_numbers_came_from(tmp_path):
    from xlhand.model import catalog
    from xlhand.build import key_sheet
    from xlhand.model.resolve import resolve

    mine = tmp_path / "mine.yaml"
    mine.write_text(run("params", "mlp", "--seed", "4").output)
    part = tmp_path / "part.yaml"
    part.write_text("values:\n  W2: [[1, 0, 1], [0, 1, -1]]\n  b2: [1, -1]\n")
    ex = catalog.get("mlp")
    cases = {
        "template": resolve(ex),
        "seed 4": resolve(ex, seed=4),
        "params file mine.yaml": resolve(ex, params_path=mine),
        "params file part.yaml for W2, b2 + template": resolve(ex, params_path=part),
        "params file part.yaml for W2, b2 + seed 0": resolve(ex, params_path=part, seed=0),
        "seed 0": resolve(ex, size="large"),
    }
    for words, resolved in cases.items():
        assert resolved.numbers_text() == words
        assert f"numbers: {words} ·" in key_sheet(resolved).subtitle


def test_files_honour_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        build_module.write_atomic(tmp_path / "open.xlsx", b"x")
        os.umask(0o077)
        build_module.write_atomic(tmp_path / "private.xlsx", b"x")
    finally:
        os.umask(previous)
    assert (tmp_path / "open.xlsx").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private.xlsx").stat().st_mode & 0o777 == 0o600
    assert files_in(tmp_path) == ["open.xlsx", "private.xlsx"]


def test_describe_tells_math_dims_givens_options_and_steps():
    out = run("describe", "alphafold-triangle").output
    for words in ("triangular multiplicative update", "Dims:", "c_z", "Presets:", "Zp", "fresh numbers:",
                  "direction: outgoing, incoming (default outgoing)", "Steps (at the template's dims", "[1]"):
        assert words in out, words
    assert run("describe").exit_code == 2


@pytest.mark.slow
def test_readme_pages_table_is_up_to_date():
    from xlhand.describe import pages_table

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- pages -->\n", 1)[1].split("<!-- /pages -->", 1)[0]
    assert table == pages_table(), "README's table of pages is out of date: paste  xlhand describe --pages"


def test_docs_exercises_md_is_up_to_date():
    from xlhand.describe import describe_all

    committed = (REPO / "docs" / "exercises.md").read_text(encoding="utf-8")
    assert committed == describe_all(markdown=True), (
        "docs/exercises.md is out of date: run  xlhand describe --all --markdown > docs/exercises.md")


def test_sample_prints_a_labelled_excerpt_at_full_size(tmp_path):
    """``--sample``: a lecture size at 100 %, only its first pages in the print area, and a footer
    that says which steps the excerpt holds; without it the sheet shrinks to keep whole blocks."""
    for sample in (True, False):
        out = tmp_path / ("sample" if sample else "whole")
        result = run("build", "lstm", "--size", "lecture", *(["--sample"] if sample else []),
                     "--out", str(out))
        assert result.exit_code == 0, result.output
        ws = openpyxl.load_workbook(out / "lstm.xlsx")["lstm"]
        footer = ws.oddFooter.left.text or ""
        if sample:
            assert (ws.page_setup.scale or 100) == 100 and "excerpt: " in footer and "rest on screen" in footer
            assert int(str(ws.print_area).rsplit("$", 1)[1]) < ws.max_row  # the first pages only
        else:
            assert ws.page_setup.scale < 100 and "excerpt" not in footer
