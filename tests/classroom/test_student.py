"""Student worksheets: blanks empty and unlocked, sheet and structure protected, the key hidden,
and the live self-check right after LibreOffice recalculates."""
from __future__ import annotations

import re
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from gradekit import blank_cells, fill, make_class
from xlhand.model import catalog
from xlhand.engines import libreoffice
from xlhand.build import key_sheet, key_workbook
from xlhand.cli import cli
from xlhand.classroom.worksheet import CHECK_SHEET, RIGHT, WRONG, blank_names, parse_steps, student_workbook
from xlhand.model.resolve import resolve
from xlhand.check import check_file

EXERCISES = ["backprop", "lstm"]


@pytest.mark.parametrize("name", EXERCISES)
def test_student_workbook_structure(tmp_path, name):
    resolved = resolve(catalog.get(name))
    data = student_workbook(resolved)
    assert data == student_workbook(resolved)  # reproducible
    path = tmp_path / "s.xlsx"
    path.write_bytes(data)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [name, CHECK_SHEET]
    assert [ws.sheet_state for ws in wb.worksheets] == ["visible", "veryHidden"]
    assert wb.security.lockStructure
    ws = wb[name]
    # in OOXML, insertRows="1" means inserting rows is forbidden
    assert ws.protection.sheet and ws.protection.insertRows and ws.protection.deleteRows
    sheet = key_sheet(resolved)
    blanks = blank_names(sheet)
    assert set(blanks) == {b.name for b in sheet.blocks.values() if b.is_computed}
    for b in blanks:
        block = sheet.blocks[b]
        for i in range(block.rows):
            for j in range(block.cols):
                cell = ws.cell(block.top + i + 1, block.left + j + 1)
                assert cell.value is None and cell.protection.locked is False
    givens = [b for b in sheet.blocks.values() if b.values is not None]
    assert all(ws.cell(b.top + 1, b.left + 1).protection.locked for b in givens)
    checked = [cf for cf in ws.conditional_formatting if any(CHECK_SHEET in r.formula[0] for r in cf.rules)]
    assert len(checked) == 1 and len(checked[0].rules) == 2  # green and red, over every blank
    covered = {c for rng in checked[0].sqref.ranges for c in rng.cells}
    assert all((sheet.blocks[b].top + 1 + i, sheet.blocks[b].left + 1 + j) in covered for b in blanks
               for i in range(sheet.blocks[b].rows) for j in range(sheet.blocks[b].cols))
    meta = {p.name: p.value for p in wb.custom_doc_props.props}
    assert meta["xlhand_mode"] == "student"
    assert check_file(path).ok  # every self-check expects the reference value


def test_key_is_unchanged_and_matches(tmp_path):
    resolved = resolve(catalog.get("backprop"), seed=7)
    result = CliRunner().invoke(cli, ["build", "backprop", "--seed", "7", "--out", str(tmp_path)])
    assert result.exit_code == 0
    assert (tmp_path / "backprop.xlsx").read_bytes() == key_workbook(resolved)


def test_cli_student_options(tmp_path):
    r = CliRunner().invoke(cli, ["build", "lstm", "--student", "--blank", "2", "--password", "pw",
                                 "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(tmp_path / "lstm-student.xlsx")
    assert wb["lstm"].protection.password
    r = CliRunner().invoke(cli, ["build", "lstm", "--student", "--no-self-check", "--out", str(tmp_path)])
    assert r.exit_code == 0
    assert openpyxl.load_workbook(tmp_path / "lstm-student.xlsx").sheetnames == ["lstm"]
    for bad in (["--blank", "99"], ["--blank", "x"], ["--blank", "3-1"]):
        r = CliRunner().invoke(cli, ["build", "lstm", "--student", *bad, "--out", str(tmp_path / "no")])
        assert r.exit_code == 2 and "--blank" in r.output and not (tmp_path / "no").exists()
    r = CliRunner().invoke(cli, ["build", "lstm", "--blank", "1", "--out", str(tmp_path / "no")])
    assert r.exit_code == 2 and "need --student" in r.output


def test_parse_steps():
    assert parse_steps("1,3-5") == {1, 3, 4, 5}
    assert parse_steps(None) is None and parse_steps("all") is None


def test_no_expected_value_on_the_visible_sheet(tmp_path):
    path = tmp_path / "s.xlsx"
    path.write_bytes(student_workbook(resolve(catalog.get("backprop"))))
    with zipfile.ZipFile(path) as z:
        visible = z.read("xl/worksheets/sheet1.xml").decode()
    assert "xlhand_key" not in visible and "xlhand_check" in visible  # the visible sheet only reads the check sheet
    assert "<f>" not in visible.replace("<f>COUNTIF", "")  # no formulas but the progress count


@pytest.mark.skipif(libreoffice.soffice() is None, reason="LibreOffice is not installed")
@pytest.mark.parametrize("name", EXERCISES)
def test_self_check_after_libreoffice(tmp_path, name):
    _, manifest, worksheets = make_class(tmp_path, name, ids=("a",))
    cells = blank_cells(manifest, "a")
    right = cells[: len(cells) // 2]
    wrong, text = cells[-1], cells[-2]
    values = {(r, c): want for _, _, _, r, c, want in right}
    values[(wrong[3], wrong[4])] = wrong[5] + 1
    values[(text[3], text[4])] = "hello"
    first = right[0]
    values[(first[3], first[4])] = f"={first[5]!r}+0"  # a formula, right
    src = fill(worksheets / "a.xlsx", tmp_path / "filled.xlsx", values)
    out = libreoffice.recalculate([src], tmp_path / "lo")[src]
    wb = openpyxl.load_workbook(out, data_only=True)
    check = wb[CHECK_SHEET]
    got = {(r, c): check.cell(r, c).value for _, _, _, r, c, _ in cells}
    for _, _, _, r, c, _ in right:
        assert got[(r, c)] == RIGHT
    assert got[(wrong[3], wrong[4])] == WRONG and got[(text[3], text[4])] == WRONG
    empty = [x for x in cells if x not in right and x not in (wrong, text)]
    assert all(got[(r, c)] in ("", None) for _, _, _, r, c, _ in empty)
    progress = wb[name].cell(1, 2).value  # the screen row, above the print area
    assert progress == f"{len(right)} of {len(cells)} cells right"


def test_the_workbook_structure_is_locked():
    """No unhiding, renaming, inserting or deleting sheets in the application."""
    import io

    from xlhand.model import catalog
    from xlhand.model.resolve import resolve

    book = openpyxl.load_workbook(io.BytesIO(student_workbook(resolve(catalog.get("relu"), size="small", seed=1))))
    assert book.security is not None and book.security.lockStructure
    assert [ws.sheet_state for ws in book.worksheets] == ["visible", "veryHidden"]


def test_check_reads_the_expected_values_of_the_self_check(tmp_path):
    """`xlhand check` on a worksheet compares each check formula's expected value with NumPy: one
    changed answer is found; a worksheet of older xlhand (a hidden key sheet) has its givens checked."""
    path = tmp_path / "s.xlsx"
    path.write_bytes(student_workbook(resolve(catalog.get("backprop"))))
    assert check_file(path).ok
    wb = openpyxl.load_workbook(path)
    check = wb[CHECK_SHEET]
    cell = next(c for row in check.iter_rows() for c in row if c.value)
    cell.value = re.sub(r"ABS\((-?[0-9.]+)", lambda m: f"ABS({float(m[1]) + 7:g}", cell.value, count=1)
    wb.save(tmp_path / "doctored.xlsx")
    report = check_file(tmp_path / "doctored.xlsx")
    assert not report.ok and [m.cell for m in report.mismatches] == [cell.coordinate]
    assert report.mismatches[0].got == report.mismatches[0].expected + 7
    wb.create_sheet("xlhand_key")
    wb.save(tmp_path / "older.xlsx")
    report = check_file(tmp_path / "older.xlsx")
    assert report.ok and any("older student workbook" in n for n in report.notes)
