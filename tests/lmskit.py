"""Helpers for the LMS tests: each system's export as it comes (written from its documented format,
cited above each), a reader for the CSVs xlhand writes, and a Gradescope autograder folder laid out."""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
AUTOGRADER = REPO / "autograder"
VISIBILITY = {"visible", "hidden", "after_due_date", "after_published"}

# Canvas Instructor Guide, "How do I export grades in the Gradebook?": Student (sortable name),
# ID, SIS User ID, SIS Login ID, Section, one column per assignment "Name (assignment id)", then the
# read-only score columns; the second row is "Points Possible" (its Student cell indented); Canvas's
# Student View adds the test student "Student, Test" (no SIS ids).
CANVAS = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Matmul by hand (4411),Quiz 1 (4412),Current Score,Final Score\n"
    "    Points Possible,,,,,12.00,10.00,(read only),(read only)\n"
    '"Lovelace, Ada",101,S001,ada,CS 101 A,,8.00,80.00,40.00\n'
    '"Zoë, Brontë",102,S002,zoe,CS 101 A,,9.00,90.00,45.00\n'
    '"Student, Test",199,,a1b2c3,CS 101 A,,,,\n'
)

# Newer Canvas exports add a row under the header naming each assignment's posting policy.
CANVAS_POLICY = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Matmul by hand (4411)\n"
    ",,,,,Manual Posting\n"
    "    Points Possible,,,,,12.00\n"
    '"Lovelace, Ada",101,S001,ada,CS 101 A,\n'
)

# docs.moodle.org "Grade export" (plain text file): First name, Last name, ID number, Institution,
# Department, Email address, one column per grade item, "Last downloaded from this course";
# saved by Excel as "CSV UTF-8" with a byte-order mark and semicolons in a European locale.
MOODLE = (
    "\ufeffFirst name;Last name;ID number;Institution;Department;Email address;"
    "Assignment: Matmul (Real);Last downloaded from this course\n"
    "Ada;Lovelace;M-001;Uni;CS;ada@uni.example;-;1733400000\n"
    "Łukasz;Wójcik;M-002;Uni;CS;lukasz@uni.example;-;1733400000\n"
)
# The same export from a French Moodle (language pack fr: "Prénom", "Nom", "Numéro d'identification",
# "Adresse de courriel"), with the ID number left empty for one student: the email is taken.
MOODLE_FR = (
    "Nom;Prénom;Numéro d'identification;Adresse de courriel\n"
    "Curie;Marie;;marie@univ.example\n"
    "Lovelace;Ada;M-001;ada@univ.example\n"
)

# help.blackboard.com "Work offline with grade data" (Original Grade Center download): tab separated,
# UTF-16 little endian with a byte-order mark, every field quoted; grade columns "Name [Total Pts: N
# Score] |column id".
BLACKBOARD = (
    '"Last Name"\t"First Name"\t"Username"\t"Student ID"\t"Last Access"\t"Availability"\t'
    '"Matmul [Total Pts: 12 Score] |882211"\n'
    '"Lovelace"\t"Ada"\t"alovelace"\t"B001"\t"2026-12-01 10:00:00"\t"Yes"\t""\n'
    '"Hopper"\t"Grace"\t"ghopper"\t"B002"\t"2026-12-01 11:00:00"\t"Yes"\t""\n'
)

# help.gradescope.com "Exporting grades": First Name, Last Name, SID, Email, Sections, then per
# assignment Name, "Name - Max Points", "Name - Submission Time", "Name - Lateness (H:M:S)".
GRADESCOPE = (
    "First Name,Last Name,SID,Email,Sections,Matmul,Matmul - Max Points,Matmul - Submission Time,"
    "Matmul - Lateness (H:M:S)\n"
    "Ada,Lovelace,G001,ada@school.example,A,,12.0,,\n"
    "Grace,Hopper,G002,grace@school.example,A,,12.0,,\n"
)


def read_csv(path, encoding="utf-8", delimiter=","):
    raw = path.read_bytes()
    bom = "\ufeff".encode("utf-16-le") if encoding == "utf-16" else b"\xef\xbb\xbf"
    assert raw.startswith(bom), f"{path.name} has no byte-order mark"
    text = raw.decode("utf-16" if encoding == "utf-16" else "utf-8-sig")
    return text, list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def layout(tmp_path, klass, files: dict[str, bytes | Path] | None = None, user: dict | None = None) -> Path:
    """/autograder, relative: the uploaded autograder in source/, the submission, the metadata."""
    made, _ = klass
    root = tmp_path / "autograder"
    shutil.copytree(AUTOGRADER, root / "source")
    shutil.copytree(made.keys, root / "source" / "keys")
    shutil.copy(AUTOGRADER / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir(parents=True)
    for name, data in (files or {}).items():
        target = root / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, Path):
            shutil.copy(data, target)
        else:
            target.write_bytes(data)
    if user is not None:
        (root / "submission_metadata.json").write_text(json.dumps({"users": [user], "assignment": {"id": 1}}))
    return root


def assert_gradescope_results(data: dict) -> None:
    """The results.json rules of Gradescope's specification."""
    assert isinstance(data["score"], float) and data["score"] >= 0
    assert isinstance(data["output"], str) and data["output"]
    assert data["visibility"] in VISIBILITY and data["stdout_visibility"] in VISIBILITY
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
        assert 0 <= test["score"] <= test["max_score"] and test["visibility"] in VISIBILITY
        assert test["status"] in ("passed", "failed")
    if data["tests"]:
        assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
