"""Hand-ins as they really arrive: an LMS bulk download (one folder per student, named after them,
accents and all, holding whatever the student called the file), capital extensions, and stray files.
Every hand-in is found, identified by its metadata first, and every file skipped is listed with why."""
from __future__ import annotations

import csv
import unicodedata

import pytest
from click.testing import CliRunner

from gradekit import fill, make_class, perfect_values, without_student_id
from xlhand.cli import cli
from xlhand.grading.intake import collect
from xlhand.grading.pipeline import grade
from xlhand.classroom.csvfiles import csv_safe

EXERCISE = "mlp"
NAMES = {"S001": "José Álvarez", "S002": "Zoë Ng", "S003": "Łukasz Wąs", "S004": "Ann Lee"}
SKIPPED = {
    "Zoë Ng_456_assignsubmission_file_/~$Hausaufgabe.XLSX": "an Office lock file",
    "Zoë Ng_456_assignsubmission_file_/.DS_Store": "a system file",
    "Łukasz Wąs_789_assignsubmission_file_/praca.ods": "an OpenDocument spreadsheet (.ods): save it as Excel Workbook",
    "Łukasz Wąs_789_assignsubmission_file_/praca.pdf": "a PDF, not a workbook",
    "__MACOSX/José Álvarez_123_assignsubmission_file_/._lstm homework.xlsx": "macOS archive metadata",
    "macro.xlsm": "a macro-enabled workbook (.xlsm)",
    "notes.txt": "not an Excel workbook (.txt)",
    "=HYPERLINK(1).pdf": "a PDF, not a workbook",
}


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inbox")
    manifest_path, manifest, cls = make_class(tmp, EXERCISE, ids=(*NAMES, "ab", "ab-c"), names=NAMES)
    box = tmp / "inbox"

    def put(relative: str, sid: str, metadata: bool = True):
        path = box / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        fill(cls / f"{sid}.xlsx", path, perfect_values(manifest, sid), edit=None if metadata else without_student_id)

    put("José Álvarez_123_assignsubmission_file_/lstm homework.xlsx", "S001")
    # macOS unzips names decomposed (NFD): the folder must still match the roster's Zoë
    put(unicodedata.normalize("NFD", "Zoë Ng_456_assignsubmission_file_") + "/Hausaufgabe.XLSX", "S002",
        metadata=False)
    put("S004.XLSX", "S004", metadata=False)
    put("ab.xlsx", "ab", metadata=False)
    put("ab-c.xlsx", "ab-c", metadata=False)
    (box / "@SUM(1).xlsx").write_bytes(b"not a workbook")  # a hand-in that cannot be read
    for relative in SKIPPED:
        path = box / unicodedata.normalize("NFD", relative) if relative.startswith("Zoë") else box / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"PK\x03\x04 not really")
    return manifest_path, manifest, box, tmp


def test_every_file_is_found_recursively_in_any_letter_case(inbox):
    *_, box, _ = inbox
    found = collect([box])
    hand_ins = {unicodedata.normalize("NFC", f.label) for f in found if not f.skipped}
    assert hand_ins == {"José Álvarez_123_assignsubmission_file_/lstm homework.xlsx", "S004.XLSX", "ab-c.xlsx",
                        "ab.xlsx", "Zoë Ng_456_assignsubmission_file_/Hausaufgabe.XLSX", "@SUM(1).xlsx"}
    assert {unicodedata.normalize("NFC", f.label) for f in found if f.skipped} == set(SKIPPED)


def test_lms_download_is_graded_and_skipped_files_are_listed(inbox):
    manifest_path, manifest, box, tmp = inbox
    out = tmp / "grades"
    result = CliRunner().invoke(cli, ["grade", "--manifest", str(manifest_path), str(box), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = {r["student_id"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8-sig", newline=""))}
    expected = {"S001": "metadata", "S002": "folder name", "S004": "file name", "ab": "file name", "ab-c": "file name"}
    for sid, how in expected.items():
        assert rows[sid]["status"] == "graded" and rows[sid]["percent"] == "100.0", rows[sid]
        assert rows[sid]["identified_by"] == how
    assert rows["S003"]["status"] == "missing"
    assert unicodedata.normalize("NFC", rows["S001"]["file"]) == \
        "José Álvarez_123_assignsubmission_file_/lstm homework.xlsx"

    skipped = {unicodedata.normalize("NFC", r["file"]): r["reason"]
               for r in csv.DictReader((out / "skipped.csv").open(encoding="utf-8-sig", newline=""))}
    assert set(skipped) == {csv_safe(relative) for relative in SKIPPED}
    output = unicodedata.normalize("NFC", result.output)
    for relative, reason in SKIPPED.items():
        assert reason in skipped[csv_safe(relative)]
        assert f"{relative}: skipped: {skipped[csv_safe(relative)]}" in output
    assert f"5 graded, 1 not graded, 1 missing, {len(SKIPPED)} files skipped" in output


def test_reports_stay_formula_safe(inbox):
    manifest_path, manifest, box, tmp = inbox
    out = tmp / "safe"
    grade(manifest_path, [box], out, feedback=False)
    files = [r["file"] for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8-sig", newline=""))]
    skipped = [r["file"] for r in csv.DictReader((out / "skipped.csv").open(encoding="utf-8-sig", newline=""))]
    assert "'@SUM(1).xlsx" in files and "'=HYPERLINK(1).pdf" in skipped
    assert not any(f.startswith(("=", "+", "-", "@")) for f in files + skipped)


def test_file_names_match_the_longest_id(inbox):
    manifest_path, manifest, box, tmp = inbox
    subs = grade(manifest_path, [box / "ab.xlsx", box / "ab-c.xlsx"], tmp / "by-name", feedback=False).files
    by_file = {s.file: s for s in subs if s.file}
    assert by_file["ab.xlsx"].student_id == "ab" and by_file["ab-c.xlsx"].student_id == "ab-c"
    assert all(s.status == "graded" for s in by_file.values())


def test_a_folder_with_nothing_to_grade_says_so(inbox):
    manifest_path, manifest, box, tmp = inbox
    empty = tmp / "empty-inbox"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "report.pdf").write_bytes(b"%PDF-1.4")
    result = CliRunner().invoke(cli, ["grade", "--manifest", str(manifest_path), str(empty),
                                      "--out", str(tmp / "none")])
    # (issue 20, 7) a run that matches no submission is an error, and writes nothing
    assert result.exit_code == 2
    assert "sub/report.pdf: a PDF, not a workbook" in result.output and "nothing written" in result.output
    assert not (tmp / "none").exists()
