"""Issue 20: grades an instructor can enter unchecked. A class of three (backprop, seed 0, as in the
issue); each case a regression test, with files written by xlhand, openpyxl and LibreOffice."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from gradekit import blank_cells, consistent_values, fill, key_of, make_class, perfect_values
from xlhand.classroom.manifest import Tolerance
from xlhand.classroom.worksheet import RIGHT
from xlhand.cli import cli
from xlhand.grading.pipeline import grade

SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"
BACKPROP_CELLS = 105  # every blank of a backprop worksheet at size small (the issue counted 106 before
                      # the softmax followed the walkthrough: no max row)


@pytest.fixture(scope="module")
def cls(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("issue20")
    return tmp, make_class(tmp, "backprop", ids=("s01", "s02", "s03"), seed=0)


def cells_of(made, sid):
    return {(r, c): (name, i, j, want) for name, i, j, r, c, want in blank_cells(made.manifest, sid)}


def by_id(run):
    return {s.student_id: s for s in run.files if s.student_id}


# --- 1. an empty cell is empty, whatever wrote it ------------------------------------------------
def test_an_untouched_worksheet_scores_exactly_zero_from_xlhand_and_openpyxl(cls):
    tmp, made = cls
    files = [made.worksheets / "s01.xlsx",  # as xlhand wrote it
             fill(made.worksheets / "s02.xlsx", tmp / "s02-openpyxl.xlsx", {}),  # <c r=".." s=".." t="n"/>
             fill(made.worksheets / "s03.xlsx", tmp / "s03-openpyxl.xlsx", {})]
    run = grade(made.manifest_path, files, tmp / "untouched")
    for s in run.files:
        assert s.status == "graded" and s.max == BACKPROP_CELLS and s.score == 0, (s.student_id, s.score)
        assert all(c.status == "empty" for c in s.cells)
    fb = openpyxl.load_workbook(tmp / "untouched" / "feedback" / "s02-feedback.xlsx")
    assert {fb.worksheets[0].cell(r, c).value for r, c in cells_of(made, "s02")} == {"○"}


@pytest.mark.libreoffice
@pytest.mark.slow
def test_an_untouched_worksheet_saved_by_libreoffice_scores_zero(cls, tmp_path):
    _, made = cls
    saved = libreoffice_save([made.worksheets / "s01.xlsx"], tmp_path)
    run = grade(made.manifest_path, saved, tmp_path / "grades")
    (s,) = [s for s in run.files if s.status == "graded"]
    assert s.score == 0 and all(c.status == "empty" for c in s.cells)


def libreoffice_save(paths, out: Path) -> list[Path]:
    """Open and save each file with LibreOffice (one call for all), as a student using it would."""
    profile = out / "profile"
    out.mkdir(exist_ok=True)
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
                    "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out / "lo"), *map(str, paths)],
                   check=True, capture_output=True, timeout=300)
    saved = [out / "lo" / Path(p).name for p in paths]
    assert all(p.exists() for p in saved)
    return saved


# --- 3, 4, 9: what is scored, and how ---------------------------------------------------------------
@pytest.fixture(scope="module")
def stable_cls(tmp_path_factory):
    """A backprop class whose softmax subtracts each column's max first (the cell G45 of the issue)."""
    tmp = tmp_path_factory.mktemp("issue20-stable")
    return tmp, make_class(tmp, "backprop", ids=("s01", "s02"), seed=0, options={"stable": True})


def test_any_harmless_function_is_accepted_and_a_refused_one_costs_its_cell_only(stable_cls):
    tmp, made = stable_cls
    sheet, _ = key_of(made.manifest, "s01")
    p_max, z3 = sheet.blocks["P_max"], sheet.blocks["Z3"]
    at = (p_max.top + 1, p_max.left + 1)
    values = perfect_values(made.manifest, "s01")
    values[at] = f"=LARGE({z3.range()},1)"
    large = fill(made.worksheets / "s01.xlsx", tmp / "s01-large.xlsx", values)
    values = perfect_values(made.manifest, "s02")
    values.update({(r, c): "=" + sheet.blocks[name].formula(i, j) for (r, c), (name, i, j, _) in
                   cells_of(made, "s02").items() if name in ("P_exp", "P_sum", "P")})  # they read G45
    values[at] = f'=MAX(INDIRECT("{z3.range()}"))'  # right, but through INDIRECT
    refused = fill(made.worksheets / "s02.xlsx", tmp / "s02-indirect.xlsx", values)
    subs = by_id(grade(made.manifest_path, [large, refused], tmp / "functions", feedback=False))
    assert subs["s01"].score == subs["s01"].max == BACKPROP_CELLS + 1  # the max row too
    assert subs["s02"].score == BACKPROP_CELLS and [c.address for c in subs["s02"].cells if c.refused] == [p_max.cell(0, 0)]
    assert any("uses INDIRECT" in f for f in subs["s02"].flags)


def test_a_genuine_zero_carries_credit(cls):
    tmp, made = cls
    cells = blank_cells(made.manifest, "s03")
    slip = next(c for c in cells if c[0] == "Z1" and c[5] > 0.5)  # ReLU(−x) = 0 where the key is x > 0
    values = consistent_values(made.manifest, "s03", [slip], "negate")
    subs = by_id(grade(made.manifest_path, [fill(made.worksheets / "s03.xlsx", tmp / "s03-slip.xlsx", values)],
                       tmp / "slip", feedback=False))
    s = subs["s03"]
    statuses = [c.status for c in s.cells]
    assert statuses.count("wrong") == 1, [(c.address, c.got, c.expected) for c in s.cells if c.status == "wrong"]
    relu = next(c for c in s.cells if c.address == key_of(made.manifest, "s03")[0].blocks["A1"].cell(slip[1], slip[2]))
    assert relu.got == 0 and relu.status == "ecf"
    assert s.score == BACKPROP_CELLS - 1 - 0.5 * statuses.count("ecf")


def test_zero_never_passes_for_an_answer_printed_non_zero():
    tol = Tolerance()
    assert not tol.close(0.0, 0.008) and not tol.close(0.0, -0.018) and not tol.close(0.0, 0.0006)
    assert tol.close(0.008, 0.008) and tol.close(0.0075, 0.008) and tol.close(0.0, 0.0003)
    assert tol.close(1.004, 1.0) and not tol.close(1.2, 1.0)


# --- 2: a constant guess --------------------------------------------------------------------------
@pytest.mark.parametrize("guess", [0.0, 1.0])
def test_a_constant_guess_carries_nothing(cls, guess):
    tmp, made = cls
    typed = {rc: guess for rc in cells_of(made, "s01")}
    s = by_id(grade(made.manifest_path, [fill(made.worksheets / "s01.xlsx", tmp / f"s01-{guess:g}.xlsx", typed)],
                    tmp / f"guess-{guess:g}", feedback=False))["s01"]
    assert not any(c.status == "ecf" for c in s.cells)
    assert all(c.status == "wrong" or abs(c.expected - guess) < 0.01 for c in s.cells)


# --- 5, 6: whose worksheet ---------------------------------------------------------------------------
def test_a_key_handed_in_scores_zero_even_with_its_mode_edited(cls):
    tmp, made = cls
    keys = made.manifest_path.parent

    def as_student(wb):
        for p in wb.custom_doc_props.props:
            if p.name == "xlhand_mode":
                p.value = "student"
    os.makedirs(tmp / "keys-in", exist_ok=True)
    disguised = fill(keys / "s02-key.xlsx", tmp / "keys-in" / "s02.xlsx", {}, edit=as_student)
    plain = shutil.copy(keys / "s01-key.xlsx", tmp / "keys-in" / "s01.xlsx")
    subs = by_id(grade(made.manifest_path, [plain, disguised], tmp / "keys", feedback=False))
    assert subs["s01"].status == "rejected" and subs["s01"].score == 0 and "answer key" in subs["s01"].reason
    assert subs["s02"].status == "rejected" and subs["s02"].score == 0 and "not the worksheet handed out" in \
        subs["s02"].reason


def test_another_students_worksheet_in_disguise_scores_zero(cls):
    """s02's worksheet made to look like s01's (metadata, givens, student line): its self-check still
    tests s02's answers, so it is not the worksheet handed out to s01."""
    tmp, made = cls
    mine = openpyxl.load_workbook(made.worksheets / "s01.xlsx")

    def as_s01(wb):
        for p in wb.custom_doc_props.props:
            p.value = next(q.value for q in mine.custom_doc_props.props if q.name == p.name)
        ws, own = wb.worksheets[0], mine.worksheets[0]
        for row in own.iter_rows():
            for cell in row:
                if cell.value is not None and not str(cell.value).startswith("="):
                    ws[cell.coordinate].value = cell.value
    os.makedirs(tmp / "disguise", exist_ok=True)
    disguised = fill(made.worksheets / "s02.xlsx", tmp / "disguise" / "s01.xlsx", perfect_values(made.manifest, "s01"),
                     edit=as_s01)
    s = by_id(grade(made.manifest_path, [disguised], tmp / "disguised", feedback=False))["s01"]
    assert s.status == "rejected" and s.score == 0 and "its self-check of" in s.reason, s.reason


def test_a_class_set_from_before_the_checks_held_answers_is_still_graded(cls, tmp_path):
    """A manifest written when worksheets carried a hidden key: its hand-ins' checks read that key, so
    only the check sheet's presence is asked of them (the same file is refused under a newer manifest)."""
    tmp, made = cls
    key_reading = '=IF(ISBLANK(backprop!{a}),0,IF(ABS(backprop!{a}-xlhand_key!{a})<=0.01,1,-1))'

    def older_checks(wb):
        for row in wb["xlhand_check"].iter_rows():
            for cell in row:
                if cell.value is not None:
                    cell.value = key_reading.format(a=cell.coordinate)
    older = fill(made.worksheets / "s03.xlsx", tmp_path / "s03.xlsx", perfect_values(made.manifest, "s03"),
                 edit=older_checks)
    data = json.loads(made.manifest_path.read_text(encoding="utf-8"))
    assert data.pop("check_holds_expected") is True
    (tmp_path / "keys").mkdir()
    for f in made.manifest_path.parent.iterdir():
        shutil.copy(f, tmp_path / "keys" / f.name)
    (tmp_path / "keys" / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    s = by_id(grade(tmp_path / "keys" / "manifest.json", [older], tmp_path / "old", feedback=False))["s03"]
    assert s.status == "graded" and s.score == BACKPROP_CELLS
    s = by_id(grade(made.manifest_path, [older], tmp_path / "new", feedback=False))["s03"]
    assert s.status == "rejected" and "not a self-check xlhand writes" in s.reason, s.reason


def test_another_students_worksheet_and_a_disagreeing_folder_are_said(cls):
    tmp, made = cls
    (tmp / "inbox" / "s02").mkdir(parents=True)
    inside = fill(made.worksheets / "s01.xlsx", tmp / "inbox" / "s02" / "s01.xlsx",
                  perfect_values(made.manifest, "s01"))
    run = grade(made.manifest_path, [tmp / "inbox"], tmp / "identity", feedback=False)
    s = by_id(run)["s01"]
    assert s.status == "graded" and s.score == BACKPROP_CELLS
    assert any("identity disagrees" in f and "'s02'" in f for f in s.flags), s.flags
    assert by_id(run)["s02"].status == "missing"
    del inside


# --- 7, 8: the run as a whole -------------------------------------------------------------------------
def test_a_run_that_matches_nothing_writes_nothing_and_old_feedback_goes(cls):
    tmp, made = cls
    out = tmp / "whole"
    files = [fill(made.worksheets / f"{sid}.xlsx", tmp / f"{sid}-w.xlsx", perfect_values(made.manifest, sid))
             for sid in ("s01", "s02")]
    grade(made.manifest_path, files, out)
    before = (out / "grades.csv").read_bytes()
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["s01-feedback.xlsx", "s02-feedback.xlsx"]
    for args in (["no-such-folder"], [str(tmp / "empty-folder")]):
        (tmp / "empty-folder").mkdir(exist_ok=True)
        result = CliRunner().invoke(cli, ["grade", "--manifest", str(made.manifest_path), *args, "--out", str(out)])
        assert result.exit_code == 2 and "nothing written" in result.output, result.output
        assert (out / "grades.csv").read_bytes() == before
    grade(made.manifest_path, files[:1], out)
    assert [p.name for p in (out / "feedback").iterdir()] == ["s01-feedback.xlsx"]
    (tmp / "mine").mkdir()
    (tmp / "mine" / "notes.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["grade", "--manifest", str(made.manifest_path), str(files[0]),
                                      "--out", str(tmp / "mine")])
    assert result.exit_code == 2 and "not grades" in result.output and (tmp / "mine" / "notes.txt").exists()


def test_two_files_of_one_student_keep_refuse_newest_first_best(cls):
    tmp, made = cls
    box = tmp / "twice"
    box.mkdir()
    good = fill(made.worksheets / "s01.xlsx", box / "s01-a.xlsx", perfect_values(made.manifest, "s01"))
    fill(made.worksheets / "s01.xlsx", box / "s01-b.xlsx", {})
    os.utime(good, (time.time() - 100, time.time() - 100))
    refused = by_id(grade(made.manifest_path, [box], tmp / "k0", feedback=False))
    assert refused["s01"].status == "rejected" and "--keep newest|first|best" in refused["s01"].reason
    results = {keep: [s for s in grade(made.manifest_path, [box], tmp / f"k-{keep}", feedback=False, keep=keep).files
                      if s.student_id == "s01"] for keep in ("newest", "first", "best")}
    graded = {keep: [s.file for s in rows if s.status == "graded"] for keep, rows in results.items()}
    assert graded == {"newest": ["s01-b.xlsx"], "first": ["s01-a.xlsx"], "best": ["s01-a.xlsx"]}
    assert all(len(rows) == 2 and any("--keep" in s.reason for s in rows) for rows in results.values())


# --- the self-check and the grader agree, cell for cell (LibreOffice recalculates) -----------------
@pytest.mark.libreoffice
@pytest.mark.slow
def test_the_self_check_and_the_grader_agree_cell_for_cell(tmp_path):
    from xlhand.engines.libreoffice import recalculate

    ids = ("honest", "slip", "large", "cheat", "marks", "formulas", "untouched")
    made = make_class(tmp_path, "backprop", ids=ids, seed=0, options={"stable": True})  # G45: the max row
    sheet, _ = key_of(made.manifest, "large")
    typed = {sid: perfect_values(made.manifest, sid) for sid in ids}
    first = next(iter(typed["slip"]))
    typed["slip"][first] += 2.0
    p_max, z3 = sheet.blocks["P_max"], sheet.blocks["Z3"]
    typed["large"][(p_max.top + 1, p_max.left + 1)] = f"=LARGE({z3.range()},1)"
    typed["cheat"] = {(r, c): f"=xlhand_key!{openpyxl.utils.get_column_letter(c)}{r}" for r, c in typed["cheat"]}
    typed["marks"] = {(r, c): f"=xlhand_check!{openpyxl.utils.get_column_letter(c)}{r}" for r, c in typed["marks"]}
    typed["formulas"] = {(r, c): "=" + sheet.blocks[name].formula(i, j)
                         for (r, c), (name, i, j, _) in cells_of(made, "formulas").items()}
    typed["untouched"] = {}
    filled = [fill(made.worksheets / f"{sid}.xlsx", tmp_path / "typed" / f"{sid}.xlsx", typed[sid])
              for sid in ids if (tmp_path / "typed").mkdir(exist_ok=True) is None]
    saved = recalculate(filled, tmp_path / "lo")
    assert all(saved.values()), saved
    run = grade(made.manifest_path, list(saved.values()), tmp_path / "grades", feedback=False)
    subs = by_id(run)
    for sid in ids:
        check = openpyxl.load_workbook(saved[tmp_path / "typed" / f"{sid}.xlsx"], data_only=True)["xlhand_check"]
        green = {(r, c) for r, c in cells_of(made, sid) if check.cell(r, c).value == RIGHT}
        s = subs[sid]
        assert s.status == "graded", (sid, s.reason)
        right = {(c.row + 1, c.col + 1) for c in s.cells if c.status == "right"}
        assert green == right, (sid, sorted(green ^ right)[:5])
    assert subs["honest"].score == subs["large"].score == subs["formulas"].score == BACKPROP_CELLS + 1
    assert subs["slip"].score == BACKPROP_CELLS and subs["untouched"].score == 0 and subs["cheat"].score == 0
    assert subs["marks"].score == 0
