"""IronCalc as the default engine, and `build` verifying every workbook before it writes it."""
from __future__ import annotations

import numpy as np
import openpyxl
import pytest
import xlsxwriter
from click.testing import CliRunner
from support import build, rejected_build

from xlhand.model import catalog
from xlhand.engines import readback
from xlhand.engines.workbook import Cell, EngineError, Workbook
from xlhand.layout import fx
from xlhand.build import key_sheet
from xlhand.cli import cli
from xlhand.model.exercise import expected_values
from xlhand.classroom.worksheet import CHECK_SHEET
from xlhand.model.resolve import resolve
from xlhand.check import check_file
from xlhand.layout.writer import fast_formulas

NAMES = catalog.names()


# --- build refuses a wrong workbook --------------------------------------------------------
def test_a_planted_layout_bug_is_caught_by_the_in_build_check(tmp_path, monkeypatch):
    """A ReLU written as MIN instead of MAX: the workbook is not written, and the error names a block
    and cell with both values."""
    monkeypatch.setattr(fx, "relu", lambda x: f"MIN(0,{x})")
    message = rejected_build(tmp_path, "mlp")
    assert "not written" in message and "block A1" in message and "NumPy" in message


def test_a_planted_bug_in_a_student_worksheet_is_caught(tmp_path, monkeypatch):
    monkeypatch.setattr(fx, "sigmoid", lambda x: f"1/(1+EXP({x}))")
    message = rejected_build(tmp_path, "lstm", "--student")
    assert "not written" in message and "lstm" in message and "NumPy" in message


def test_a_self_check_that_is_not_empty_on_an_empty_worksheet_is_caught(tmp_path, monkeypatch):
    from xlhand.classroom import worksheet

    right_when_empty = worksheet.check_formula
    monkeypatch.setattr(worksheet, "check_formula",
                        lambda *a: right_when_empty(*a).replace('"",', f'"{worksheet.RIGHT}",', 1))
    message = rejected_build(tmp_path, "backprop", "--student")
    assert "not written" in message and "self-check" in message and "while the cell is empty" in message


def test_tied_decoding_scores_are_refused_naming_the_givens(tmp_path):
    params = {"exercise": "decoding", "values": {"Wo": [[1, 1], [1, 1], [1, 1], [1, 1]]}}
    message = rejected_build(tmp_path, "decoding", params=params)
    assert "tie" in message and "Wo" in message


def test_softmax_of_800_is_refused_naming_stable_and_builds_and_verifies_with_it(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("exercise: softmax\nvalues:\n  z: [800, 1, 2, 3, 4]\n")
    build = ["build", "softmax", "--params", str(path), "--out", str(tmp_path / "o")]
    refused = CliRunner().invoke(cli, build)
    assert refused.exit_code != 0 and "--opt stable=true" in refused.output
    assert len(refused.output.strip().splitlines()) == 1 and not (tmp_path / "o" / "softmax.xlsx").exists()
    result = CliRunner().invoke(cli, build + ["--opt", "stable=true"])
    assert result.exit_code == 0, result.output
    assert check_file(tmp_path / "o" / "softmax.xlsx").ok


def test_an_engine_panic_becomes_one_clear_error(monkeypatch, tmp_path):
    import ironcalc

    def panics(*args):
        ironcalc.test_panic()

    monkeypatch.setattr(ironcalc, "load_from_xlsx", panics)
    with pytest.raises(EngineError, match="IronCalc failed"):
        Workbook(tmp_path / "x.xlsx")


# --- cached results ------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_every_formula_of_a_key_stores_its_result(tmp_path, name):
    """A viewer that does not recalculate (openpyxl data_only here) sees the right numbers."""
    path = build(tmp_path, name, size="medium")
    report = check_file(path, engine="saved")
    assert report.ok, report.mismatches[:5]
    wb = openpyxl.load_workbook(path, data_only=True)
    formulas = openpyxl.load_workbook(path)
    sheet = formulas.worksheets[0]
    empty = [c.coordinate for row in sheet.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith("=")
             and wb.worksheets[0][c.coordinate].value is None]
    assert empty == []


def test_a_student_worksheet_gives_away_no_result(tmp_path):
    """Blanks stay empty, the self-check stores the marks of an empty worksheet (none), and there is
    no key sheet whose cells a formula could read."""
    path = build(tmp_path, "backprop", student=True)
    values = openpyxl.load_workbook(path, data_only=True)
    formulas = openpyxl.load_workbook(path)
    ranges = readback.block_ranges(values)
    for block in key_sheet(resolve(catalog.get("backprop"))).computed_blocks():
        assert all(v is None for row in readback.read_block(values, ranges[block.name]) for v in row)
    check = values[CHECK_SHEET]
    checks = [c.coordinate for row in formulas[CHECK_SHEET].iter_rows() for c in row if c.value is not None]
    assert checks and all(check[a].value in ("", None) for a in checks)
    assert values.sheetnames == ["backprop", CHECK_SHEET]


def test_formulas_left_on_a_partial_worksheet_store_what_they_compute(tmp_path):
    """With only step 2 blank, step 1's formulas show their numbers; later steps show what they
    compute from the empty blanks."""
    from xlhand.build import write_atomic
    from xlhand.classroom.worksheet import student_workbook

    resolved = resolve(catalog.get("mlp"))
    path = tmp_path / "mlp-student.xlsx"
    write_atomic(path, student_workbook(resolved, steps={2}))
    sheet = key_sheet(resolved)
    expected = expected_values(resolved.exercise, resolved, sheet)
    wb = openpyxl.load_workbook(path, data_only=True)
    ranges = readback.block_ranges(wb)
    step1 = [b for b in sheet.computed_blocks() if b.step == 1 and b.named]
    assert step1
    for block in step1:
        got = np.array(readback.read_block(wb, ranges[block.name]), dtype=float)
        np.testing.assert_allclose(got, expected[block.name], rtol=1e-12)


# --- the engine ---------------------------------------------------------------------------------
def test_errors_are_told_from_text_by_the_cell_type(tmp_path):
    path = tmp_path / "e.xlsx"
    book = xlsxwriter.Workbook(path)
    ws = book.add_worksheet("s")
    ws.write_formula("A1", "=1/0")
    ws.write_string("A2", "#DIV/0!")
    ws.write_formula("A3", '="a"&"b"')
    book.close()
    wb = Workbook(path)
    assert wb.cell(0, 1, 1) == Cell("#DIV/0!", error=True)
    assert wb.cell(0, 2, 1) == Cell("#DIV/0!", error=False)
    assert wb.cell(0, 3, 1) == Cell("ab")
    assert wb.cell(0, 9, 9) == Cell(None)


def test_check_uses_ironcalc_by_default_and_checks_every_file(tmp_path):
    good = build(tmp_path, "relu")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a zip")
    result = CliRunner().invoke(cli, ["check", str(good), str(bad), str(good)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].endswith("ironcalc)") and lines[2].endswith("ironcalc)")
    assert "bad.xlsx" in lines[1] and "not" in lines[1]


@pytest.mark.parametrize("engine_name", ["formulas", "ironcalc"])
def test_check_names_a_tampered_cell_in_either_engine(tmp_path, engine_name):
    path = build(tmp_path, "mlp")
    wb = openpyxl.load_workbook(path)
    where = readback.block_ranges(wb)["Z1"]
    wb[where.sheet].cell(where.min_row, where.min_col).value = "=1+1"
    wb.save(path)
    report = check_file(path, engine_name)
    assert report.mismatches[0].block == "Z1" and report.mismatches[0].got == 2


# --- the rules every formula keeps ---------------------------------------------------------------
@pytest.mark.parametrize("formula,problem", [
    ("=SUMPRODUCT(EXP(A1:A3))", "EXP applied to a range inside SUMPRODUCT"),
    ("=SUMPRODUCT(ABS(A1:A3-B1:B3))", "ABS applied to a range inside SUMPRODUCT"),
    ("=COUNT(A1:A3*2)", "COUNT over a computed array"),
    ("=NOW()", "NOW is not a portable function"),
])
def test_rule_problems_finds_what_ironcalc_gets_wrong(formula, problem):
    assert problem in fx.rule_problems(formula)


@pytest.mark.parametrize("formula", ["=SUMPRODUCT((A1:A3-B1)^2)", "=SUMPRODUCT(A1:A3,B1:B3)/COUNT(C1:C4)",
                                     "=EXP(A1)/SUM(A1:A3)", "=SUMPRODUCT(EXP(A1))"])
def test_rule_problems_allows_what_every_engine_gets_right(formula):
    assert fx.rule_problems(formula) == []


def test_no_portable_function_needs_an_xlfn_prefix(tmp_path):
    """The writer's fast path skips XlsxWriter's prefixing for portable functions only: a formula
    with any other function still gets XlsxWriter's treatment."""
    book = xlsxwriter.Workbook(tmp_path / "f.xlsx")
    ws = book.add_worksheet()
    plain = ws._prepare_formula
    fast_formulas(ws)
    for name in fx.PLAIN_FUNCTIONS:
        formula = f"={name}(A1)"
        assert plain(formula) == plain(formula, True) == ws._prepare_formula(formula, True) == formula[1:]
    assert ws._prepare_formula("=XLOOKUP(A1,B1:B3,C1:C3)") == "_xlfn.XLOOKUP(A1,B1:B3,C1:C3)"
    assert ws._prepare_formula("=SUM(A1)+STDEV.P(A1:A3)", True) == "SUM(A1)+_xlfn.STDEV.P(A1:A3)"
    book.close()
