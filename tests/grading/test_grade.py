"""Grading: a perfect submission scores 100%, each planted mistake scores as designed, error carried
forward cannot be gamed, changed givens are flagged, and the reports are written. No LibreOffice:
formulas are recalculated by IronCalc inside the sandboxed reader."""
from __future__ import annotations

import csv
import shutil

import openpyxl
import pytest
from xlsxwriter.utility import xl_rowcol_to_cell

from gradekit import (blank_cells, consistent_values, fill, key_formula_values, key_of, make_class,
                     perfect_values, with_cached)
from xlhand.grading.credit import World
from xlhand.grading.pipeline import grade
from xlhand.grading.score import ECF_CREDIT

EXERCISES = ["backprop", "lstm"]


def first_block_cells(manifest, sid):
    cells = blank_cells(manifest, sid)
    first = cells[0][0]
    return [c for c in cells if c[0] == first], [c for c in cells if c[0] != first]


@pytest.fixture(scope="module", params=EXERCISES)
def graded(request, tmp_path_factory):
    """One class per exercise; every kind of submission graded in one batch."""
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    ids = ("perfect", "empty", "slip", "zeros", "blanks", "honest", "givens", "formulas", "cheat", "byname",
           "honest-formulas")
    manifest_path, manifest, cls = make_class(tmp, name, ids=ids)
    typed = tmp / "typed"
    typed.mkdir()
    subs = {}

    # perfect: the key's values typed as numbers
    subs["perfect"] = fill(cls / "perfect.xlsx", typed / "perfect.xlsx", perfect_values(manifest, "perfect"))
    subs["empty"] = shutil.copy(cls / "empty.xlsx", typed / "empty.xlsx")

    # slip: one wrong cell in the last block, everything else right
    values = perfect_values(manifest, "slip")
    last = blank_cells(manifest, "slip")[-1]
    values[(last[3], last[4])] = last[5] + 5.0
    subs["slip"] = fill(cls / "slip.xlsx", typed / "slip.xlsx", values)

    # honest: an honest mistake in the first block, then everything consistent with it
    # zeros / blanks: the first block zeros or left blank, then everything consistent with that
    for sid, how in (("honest", "shift"), ("zeros", "zero"), ("blanks", "blank")):
        first, _ = first_block_cells(manifest, sid)
        values = consistent_values(manifest, sid, first, how)
        subs[sid] = fill(cls / f"{sid}.xlsx", typed / f"{sid}.xlsx", values)

    # givens: a given changed, answers right for the original numbers
    sheet, _ = key_of(manifest, "givens")
    W = next(b for b in sheet.blocks.values() if b.values is not None and b.role == "weight")
    values = perfect_values(manifest, "givens")
    values[(W.top + 1, W.left + 1)] = float(W.values[0, 0]) + 1
    subs["givens"] = fill(cls / "givens.xlsx", typed / "givens.xlsx", values)

    # formulas: the first block typed as formulas (=number), the rest as numbers, every formula
    # saved with a wrong result: only recalculation gives the marks
    values = perfect_values(manifest, "formulas")
    first = first_block_cells(manifest, "formulas")[0]
    for _, _, _, r, c, want in first:
        values[(r, c)] = f"={want!r}*1"
    plain = fill(cls / "formulas.xlsx", tmp / "formulas-uncached.xlsx", values)
    subs["formulas"] = with_cached(plain, typed / "formulas.xlsx",
                                   {xl_rowcol_to_cell(r - 1, c - 1): want + 99 for *_, r, c, want in first})

    # honest-formulas: an honest mistake in the first block typed as numbers, every later blank
    # the key's own formula: consistent with the mistake, so carried forward
    values = key_formula_values(manifest, "honest-formulas")
    for _, _, _, r, c, want in first_block_cells(manifest, "honest-formulas")[0]:
        values[(r, c)] = want + 1.5
    subs["honest-formulas"] = fill(cls / "honest-formulas.xlsx", typed / "honest-formulas.xlsx", values)

    # cheat: reads the hidden key sheet
    values = {}
    for _, _, _, r, c, _ in blank_cells(manifest, "cheat"):
        values[(r, c)] = f"=xlhand_key!{openpyxl.utils.get_column_letter(c)}{r}"
    subs["cheat"] = fill(cls / "cheat.xlsx", typed / "cheat.xlsx", values)

    # byname: no metadata, found by its file name
    wb = openpyxl.load_workbook(cls / "byname.xlsx")
    wb.custom_doc_props.props = [p for p in wb.custom_doc_props.props if p.name != "xlhand_student_id"]
    for (r, c), v in perfect_values(manifest, "byname").items():
        wb.worksheets[0].cell(r, c).value = v
    wb.save(typed / "byname_final.xlsx")
    subs["byname"] = typed / "byname_final.xlsx"

    out = tmp / "grades"
    results = grade(manifest_path, list(subs.values()), out).files
    return manifest, {s.student_id: s for s in results}, out


def test_perfect_scores_full_marks(graded):
    _, subs, _ = graded
    s = subs["perfect"]
    assert s.status == "graded" and s.identified_by == "metadata"
    assert s.score == s.max > 0, [(c.address, c.got, c.expected) for c in s.cells if c.status != "right"][:5]
    assert all(score == mx for score, mx in s.steps.values())


def test_empty_scores_zero(graded):
    s = graded[1]["empty"]
    assert s.score == 0 and all(c.status == "empty" for c in s.cells)


def test_one_slip_costs_one_cell(graded):
    s = graded[1]["slip"]
    assert s.max - s.score == 1
    assert [c.status for c in s.cells].count("wrong") == 1


def test_error_carried_forward_gives_partial_credit(graded):
    s = graded[1]["honest"]
    statuses = [c.status for c in s.cells]
    assert statuses.count("ecf") > 0
    assert s.score < s.max
    assert all(c.points == ECF_CREDIT for c in s.cells if c.status == "ecf")


def test_zeros_or_blanks_upstream_never_beat_an_honest_attempt(graded):
    subs = graded[1]

    def carried(sid):
        return sum(c.points for c in subs[sid].cells if c.status == "ecf")
    # (a later cell may still be right on its own: an LSTM forgets a wrong start)
    assert carried("zeros") <= carried("honest") and carried("blanks") <= carried("honest")
    assert subs["perfect"].score > subs["honest"].score
    # nothing is carried from a planted zero or blank: the cells that read them earn nothing
    manifest = graded[0]
    for sid in ("zeros", "blanks"):
        sheet, _ = key_of(manifest, sid)
        first, _ = first_block_cells(manifest, sid)
        planted = {sheet.blocks[name].cell(i, j) for name, i, j, _, _, want in first if want != 0}
        world = World(sheet, {})
        readers = [c for c in subs[sid].cells if set(world.precedents[c.address]) & planted]
        assert readers and not any(c.status == "ecf" for c in readers)


def test_changed_givens_are_flagged(graded):
    s = graded[1]["givens"]
    assert any("changed givens" in f for f in s.flags)
    assert any("steps using changed givens" in f for f in s.flags)
    assert s.score == s.max  # graded against the key


def test_formulas_are_recalculated(graded):
    s = graded[1]["formulas"]
    assert s.score == s.max, [(c.address, c.got, c.expected) for c in s.cells if c.status != "right"][:5]
    assert not s.flags


def test_formulas_consistent_with_an_earlier_mistake_are_carried_forward(graded):
    s = graded[1]["honest-formulas"]
    assert [c.status for c in s.cells].count("ecf") > 0
    assert s.score < s.max and not s.flags


def test_reading_the_hidden_key_scores_nothing(graded):
    s = graded[1]["cheat"]
    assert s.score == 0
    assert any("formula reads another sheet 'xlhand_key'" in f for f in s.flags)


def test_identified_by_file_name(graded):
    s = graded[1]["byname"]
    assert s.identified_by == "file name" and s.score == s.max


def test_reports(graded):
    manifest, subs, out = graded
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8-sig", newline="")))
    assert {r["student_id"] for r in rows} == {e["id"] for e in manifest["students"]}
    perfect = next(r for r in rows if r["student_id"] == "perfect")
    assert perfect["percent"] == "100.0" and perfect["status"] == "graded"
    assert any(k.startswith("step_") for k in perfect)
    fb = openpyxl.load_workbook(subs["honest"].feedback)
    assert fb.sheetnames == [manifest["sheet"], "summary"]
    ws = fb[manifest["sheet"]]
    ecf = next(c for c in subs["honest"].cells if c.status == "ecf")
    cell = ws.cell(ecf.row + 1, ecf.col + 1)
    assert "carried forward" in cell.comment.text and "Expected" in cell.comment.text
    assert cell.fill.fgColor.rgb.endswith("FFE699") and "≈" in cell.number_format
    right = next(c for c in subs["honest"].cells if c.status == "right")
    assert ws.cell(right.row + 1, right.col + 1).comment is None  # notes only where a cell was not right
    assert "✓" in ws.cell(right.row + 1, right.col + 1).number_format
    legend = [c.value for row in ws.iter_rows(max_row=30) for c in row if c.value in ("✓", "≈", "✗", "○")]
    assert legend[:4] == ["✓", "≈", "✗", "○"]
    summary = [c.value for row in fb["summary"].iter_rows() for c in row if isinstance(c.value, str)]
    assert len([v for v in summary if v.startswith("recalculated")]) <= 1  # a repeated flag is listed once

