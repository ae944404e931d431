"""Each LMS export re-read with the rules its system applies on import.

The manifest and results are small local stand-ins with the fields of
``xlhand.classroom.manifest.Manifest``/``ManifestStudent`` and ``xlhand.grading.report.StudentResult``/
``StepScore`` (the grading engineer's interface; those modules are not on this branch yet)."""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field

import pytest
from lmskit import BLACKBOARD, CANVAS, GRADESCOPE, MOODLE, read_csv

from xlhand.classroom.roster import read_roster
from xlhand.errors import XlhandError
from xlhand.classroom.csvfiles import csv_bytes
from xlhand.grading.exports import feedback_text, write_exports
from xlhand.grading.report import StepScore, StudentResult


# The manifest's students and the manifest as the exports read them (the real Manifest needs a class set)
@dataclass(frozen=True)
class ManifestStudent:
    id: str
    name: str
    extra: dict
    seed: int = 0
    numbers: str = ""
    fingerprint: str = ""
    file: str = ""
    key_file: str = ""
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    exercise: str
    students: tuple
    roster: dict
    dims: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    sheet: str = "matmul"
    blanks: tuple = ()
    blank_steps: str = "all"
    tolerance: dict = field(default_factory=dict)
    self_check: bool = True


def class_from(tmp_path, text: str, encoding: str = "utf-8") -> Manifest:
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode(encoding))
    roster = read_roster(path)
    students = tuple(ManifestStudent(s.id, s.name, s.extra, file=f"{s.id}.xlsx") for s in roster.students)
    return Manifest("matmul", students, roster.info)


def graded(st, score=9.0, status="graded", file=None):
    steps = (StepScore(1, "C = A·B", score - 3, 8.0), StepScore(2, "ReLU", 3.0, 4.0)) if status == "graded" else ()
    return StudentResult(st.id, st.name, file or st.file, status, "" if status == "graded" else "not a workbook",
                         score if status == "graded" else 0.0, 12.0 if status == "graded" else 0.0, steps,
                         ("changed givens: A B1",) if status == "graded" else ())


def test_canvas_import_rules(tmp_path):
    m = class_from(tmp_path, CANVAS)
    ada, zoe = m.students
    out = write_exports([graded(ada), graded(zoe, status="rejected")], m, tmp_path / "grades", ["canvas"],
                        assignment="Matmul by hand")
    text, rows = read_csv(tmp_path / "grades" / "canvas.csv")
    header, points, *students = rows
    # Canvas: the identity columns it exported, then "Name (assignment id)" (taken from the export)
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Matmul by hand (4411)"]
    assert points[0].strip() == "Points Possible" and float(points[5]) == 12
    canvas_ids = {r[1] for r in students}
    assert canvas_ids == {"101", "102"}  # Canvas's own user ids, as exported: every row matches a student
    assert students[0] == ["Lovelace, Ada", "101", "S001", "ada", "CS 101 A", "9"]
    assert students[1][5] == ""  # not graded: empty, the import leaves the grade alone
    assert all(len(r) == len(header) for r in rows)
    assert "\r\n" in text
    _, detail = read_csv(tmp_path / "grades" / "canvas-feedback.csv")
    assert detail[0][-3:] == ["Step 1", "Step 2", "Feedback"] and detail[1][-3:-1] == ["6", "3"]
    assert "9 of 12 cells right" in detail[1][-1] and "Not graded: not a workbook" in detail[2][-1]
    assert any("1 students have no grade" in n for n in out.notes)
    assert [p.name for p in out.files] == ["canvas.csv", "canvas-feedback.csv"]


def test_canvas_warns_about_final_and_missing_ids(tmp_path):
    m = class_from(tmp_path, "id,name\ns1,Ada\n")
    out = write_exports([graded(m.students[0])], m, tmp_path, ["canvas"], assignment="Final exam")
    assert any("contains 'final'" in n for n in out.notes)
    assert any("creates a new assignment" in n for n in out.notes)
    assert any("not a Canvas export" in n for n in out.notes)
    _, rows = read_csv(tmp_path / "canvas.csv")
    assert rows[0][-1] == "Final exam" and rows[2][:3] == ["Ada", "", "s1"]
    write_exports([graded(m.students[0])], m, tmp_path, ["canvas"], assignment="HW", assignment_id=77)
    assert read_csv(tmp_path / "canvas.csv")[1][0][-1] == "HW (77)"


def test_moodle_import_rules(tmp_path):
    m = class_from(tmp_path, MOODLE)
    ada, lukasz = m.students
    out = write_exports([graded(ada), graded(lukasz, 12.0)], m, tmp_path, ["moodle"], assignment="Matmul")
    _, rows = read_csv(tmp_path / "moodle.csv")
    header = rows[0]
    # the identifier column the roster had, mapped by Moodle to useridnumber
    assert header[:5] == ["ID number", "First name", "Last name", "Matmul", "Matmul (feedback)"]
    assert [r[0] for r in rows[1:]] == ["M-001", "M-002"]
    assert rows[2][1:4] == ["Łukasz", "Wójcik", "12"]
    # Moodle's CSV import refuses a row with another number of columns than the header
    assert all(len(r) == len(header) for r in rows)
    assert any("'ID number' to useridnumber" in n for n in out.notes)


def test_moodle_email_identifier(tmp_path):
    m = class_from(tmp_path, "Nom;Prénom;Numéro d'identification;Adresse de courriel\nCurie;Marie;;m@u.example\n")
    out = write_exports([graded(m.students[0])], m, tmp_path, ["moodle"])
    _, rows = read_csv(tmp_path / "moodle.csv")
    assert rows[0][:3] == ["Adresse de courriel", "Prénom", "Nom"] and rows[1][:3] == ["m@u.example", "Marie", "Curie"]
    assert any("to useremail" in n for n in out.notes)


def test_blackboard_import_rules(tmp_path):
    m = class_from(tmp_path, "\ufeff" + BLACKBOARD, encoding="utf-16-le")
    write_exports([graded(s) for s in m.students], m, tmp_path, ["blackboard"], assignment="Matmul")
    text, rows = read_csv(tmp_path / "blackboard.xls", encoding="utf-16", delimiter="\t")
    for line in text.splitlines():  # every field quoted, tab separated
        assert all(f.startswith('"') and f.endswith('"') for f in line.split("\t")), line
    header = rows[0]
    assert "Username" in header and header[header.index("Username") + 2] == "Matmul [Total Pts: 12 Score] |882211"
    assert [r[header.index("Username")] for r in rows[1:]] == ["alovelace", "ghopper"]
    assert header[-2:] == ["Feedback to Learner", "Feedback Format"] and "Step 1: C = A·B: 6/8" in rows[1][-2]


def test_gradescope_scores(tmp_path):
    m = class_from(tmp_path, GRADESCOPE)
    write_exports([graded(s) for s in m.students], m, tmp_path, ["gradescope"], assignment="Matmul")
    _, rows = read_csv(tmp_path / "gradescope.csv")
    assert rows[0] == ["First Name", "Last Name", "SID", "Email", "Matmul", "Step 1", "Step 2", "Feedback"]
    assert rows[1][:5] == ["Ada", "Lovelace", "G001", "ada@school.example", "9"]


def test_formula_text_is_escaped_and_numbers_are_not():
    data = csv_bytes([["=HYPERLINK(\"x\")", "-3", -3.5, 12.0, None]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig") == "'=HYPERLINK(\"\"x\"\")\",'-3,-3.5,12,\r\n".replace("'=", "\"'=")


def test_unknown_system_is_refused(tmp_path):
    m = class_from(tmp_path, "id,name\ns1,Ada\n")
    with pytest.raises(XlhandError, match="--export sakai: not a system"):
        write_exports([], m, tmp_path, ["sakai"])


def test_moodle_feedback_zip(tmp_path):
    m = class_from(tmp_path, "Identifier,Full name,Email address,Status,Grade\n"
                             "Participant 5501,Ada Lovelace,ada@x.example,Submitted,\n"
                             "Participant 5502,Jean_Luc Picard,jl@x.example,Submitted,\n"
                             "Participant 5503,Bo Li,bo@x.example,Submitted,\n")
    ada, jl, bo = m.students
    (tmp_path / "feedback").mkdir()
    for st in m.students:
        (tmp_path / "feedback" / f"{st.id}-feedback.xlsx").write_bytes(b"PK fake " + st.id.encode())
    results = [graded(ada), graded(jl, file="Jean Luc Picard_5502_assignsubmission_file_/mine.xlsx"),
               graded(bo, status="missing")]
    out = write_exports(results, m, tmp_path, [], feedback_zip=True)
    with zipfile.ZipFile(tmp_path / "moodle-feedback.zip") as z:
        names = z.namelist()
    assert names == ["Ada Lovelace_5501_assignsubmission_file/ada@x.example-feedback.xlsx",
                     "Jean Luc Picard_5502_assignsubmission_file_/jl@x.example-feedback.xlsx"]
    # Moodle (assignfeedback_file_zip_importer) splits each folder name on "_" into at least 4 parts and needs
    # the participant id second: a name never holds "_" (Moodle's download writes it as a space too), and a
    # folder from Moodle's own download (trailing "_") is kept as it was
    for name in names:
        parts = name.split("/")[0].split("_", 4)
        assert len(parts) >= 4 and parts[1].isdigit() and parts[2:4] == ["assignsubmission", "file"]
    assert out.files[-1].name == "moodle-feedback.zip"


def test_feedback_text_is_short_and_complete(tmp_path):
    m = class_from(tmp_path, "id,name\ns1,Ada\n")
    text = feedback_text(graded(m.students[0]))
    assert text == ("9 of 12 cells right. Step 1: C = A·B: 6/8. Step 2: ReLU: 3/4. "
                    "Note: changed givens: A B1.")


def test_points_scale_the_scores(tmp_path):
    m = class_from(tmp_path, CANVAS)
    write_exports([graded(s) for s in m.students], m, tmp_path, ["canvas"], assignment_id=4411, points=10)
    _, rows = read_csv(tmp_path / "canvas.csv")
    assert rows[1][-1] == "10" and rows[2][-1] == "7.5"  # 9 of 12 cells on a 10-point assignment


def test_an_old_manifest_without_roster_info(tmp_path):
    old = Manifest("matmul", (ManifestStudent("s1", "Ada", {"section": "A"}, file="s1.xlsx"),), {})
    run = [StudentResult("s1", "Ada", "s1.xlsx", "graded", "", 3.0, 4.0)]
    out = write_exports(run, old, tmp_path, ["canvas", "moodle", "blackboard", "gradescope"])
    assert [p.name for p in out.files] == ["canvas.csv", "canvas-feedback.csv", "moodle.csv", "blackboard.xls",
                                           "gradescope.csv"]
    assert read_csv(tmp_path / "moodle.csv")[1][1][:3] == ["s1", "Ada", "3"]
    assert read_csv(tmp_path / "gradescope.csv")[1][1][:4] == ["Ada", "s1", "", "3"]
