"""The LMS round trip: a course's own gradebook export → class set → hand-ins as the LMS downloads
them → grade → an import file the LMS takes as it is (re-read here with the rules it applies).

Until the class set stores ``Roster.info`` in the manifest itself (the lead's wiring), the test puts
it there as the class set will: ``manifest["roster"] = read_roster(...).info``."""
from __future__ import annotations

import json
import zipfile

import openpyxl
from gradekit import blank_cells, fill, perfect_values
from lmskit import read_csv
from lmskit import CANVAS, MOODLE

from xlhand.classroom.classset import build_class
from xlhand.classroom.roster import read_roster
from xlhand.grading.exports import write_exports
from xlhand.grading.pipeline import grade


def course(tmp_path, export: str, exercise: str = "matmul"):
    roster = tmp_path / "export.csv"
    roster.write_text(export, encoding="utf-8")
    made = build_class(exercise, roster, tmp_path / "class", size="small", jobs=1)
    path = made.keys / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    assert manifest["roster"] == read_roster(roster).info  # the class set keeps what the exports write back
    return path, manifest, made


def test_canvas_course_from_its_export_to_an_importable_file(tmp_path):
    path, manifest, made = course(tmp_path, CANVAS)
    assert [e["id"] for e in manifest["students"]] == ["S001", "S002"]  # no Points Possible row, no test student
    # the printed worksheet carries the student's name and id on the sheet itself
    ws = openpyxl.load_workbook(made.worksheets / manifest["students"][1]["file"]).worksheets[0]
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any("Zoë, Brontë" in t and "S002" in t for t in texts), texts
    # Canvas's "Download submissions": one file per student, named after the student
    inbox = tmp_path / "submissions"
    inbox.mkdir()
    fill(made.worksheets / "S001.xlsx", inbox / "lovelaceada_101_5501_matmul.xlsx", perfect_values(manifest, "S001"))
    half = dict(list(perfect_values(manifest, "S002").items())[:2])
    fill(made.worksheets / "S002.xlsx", inbox / "zoebronte_102_5502_matmul.xlsx", half)
    run = grade(path, [inbox], tmp_path / "grades", feedback=False)
    out = write_exports(run, systems=["canvas"], assignment="Matmul by hand")

    _, rows = read_csv(tmp_path / "grades" / "canvas.csv")
    header, points, *students = rows
    cells = len(blank_cells(manifest, "S001"))
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Matmul by hand (4411)"]
    assert points[0].strip() == "Points Possible" and float(points[-1]) == cells
    exported = {r[1]: r for r in students}  # Canvas matches on its own ID column, as exported
    assert set(exported) == {"101", "102"}
    score = {r.student_id: r.score for r in run.results if r.status == "graded"}
    assert float(exported["101"][-1]) == cells and float(exported["102"][-1]) == score["S002"] < cells
    assert all(0 <= float(r[-1]) <= float(points[-1]) for r in students)
    assert not any("have no grade" in n for n in out.notes)


def test_moodle_course_from_its_export_to_an_importable_file_and_feedback_zip(tmp_path):
    path, manifest, made = course(tmp_path, MOODLE)
    ids = [e["id"] for e in manifest["students"]]
    assert ids == ["M-001", "M-002"]
    # Moodle's "Download all submissions": Full Name_<participant>_assignsubmission_file_/<their file>
    inbox = tmp_path / "download"
    for entry, pid in zip(manifest["students"], ("5501", "5502")):
        folder = inbox / f"{entry['name']}_{pid}_assignsubmission_file_"
        folder.mkdir(parents=True)
        fill(made.worksheets / entry["file"], folder / "matmul.xlsx", perfect_values(manifest, entry["id"]))
    run = grade(path, [inbox], tmp_path / "grades")
    assert [r.status for r in run.results] == ["graded", "graded"]
    out = write_exports(run, systems=["moodle"], assignment="Matmul", feedback_zip=True)

    _, rows = read_csv(tmp_path / "grades" / "moodle.csv")
    header = rows[0]
    assert header[0] == "ID number"  # mapped to useridnumber: the values are the export's own ID numbers
    assert [r[0] for r in rows[1:]] == ["M-001", "M-002"]
    assert all(len(r) == len(header) for r in rows)
    cells = len(blank_cells(manifest, "M-001"))
    assert [float(r[header.index("Matmul")]) for r in rows[1:]] == [cells, cells]
    assert all(r[header.index("Matmul (feedback)")].startswith(f"{cells:g} of {cells:g} points") for r in rows[1:])

    with zipfile.ZipFile(tmp_path / "grades" / "moodle-feedback.zip") as z:
        names = sorted(z.namelist())
        assert names == ["Ada Lovelace_5501_assignsubmission_file_/M-001-feedback.xlsx",
                         "Łukasz Wójcik_5502_assignsubmission_file_/M-002-feedback.xlsx"]
        assert all(z.read(n)[:2] == b"PK" for n in names)
    assert out.files[-1].name == "moodle-feedback.zip"
