"""The Gradescope autograder end to end, in a temporary folder laid out as Gradescope lays out
/autograder (https://gradescope-autograders.readthedocs.io/en/latest/specs/): source/ (the uploaded
zip: setup.sh, run_autograder, keys/manifest.json), submission/, submission_metadata.json, results/."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gradekit import blank_cells, fill, perfect_values
from lmskit import AUTOGRADER, GRADESCOPE, REPO, assert_gradescope_results, layout

from xlhand.classroom.classset import build_class
from xlhand.grading.gradescope import autograde



@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gradescope-class")
    roster = tmp / "gradescope.csv"
    roster.write_text(GRADESCOPE, encoding="utf-8")
    made = build_class("matmul", roster, tmp / "class", size="small", jobs=1)
    return made, json.loads((made.keys / "manifest.json").read_text(encoding="utf-8"))


def run_autograder(root: Path, **env) -> dict:
    environment = {**os.environ, "AUTOGRADER_ROOT": str(root), "XLHAND_PYTHON": sys.executable,
                   "PYTHONPATH": str(REPO), **env}
    done = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=environment, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


def test_run_autograder_grades_the_submission(tmp_path, klass):
    made, manifest = klass
    values = perfect_values(manifest, "G001")
    wrong = dict(values)
    first = next(iter(wrong))
    wrong[first] = wrong[first] + 100  # one cell wrong
    work = fill(made.worksheets / "G001.xlsx", tmp_path / "mine.xlsx", wrong)
    root = layout(tmp_path, klass, {"Matmul.XLSX": work}, {"name": "Ada Lovelace", "email": "ada@school.example",
                                                          "sid": "G001", "id": 7})
    data = run_autograder(root)
    assert_gradescope_results(data)
    cells = len(blank_cells(manifest, "G001"))
    assert data["score"] < cells and sum(t["max_score"] for t in data["tests"]) == cells
    assert [t["status"] for t in data["tests"]].count("failed") >= 1
    assert data["tests"][0]["name"].startswith("Step 1") and "cells right" in data["output"]


def test_identified_by_the_submitter_when_the_workbook_lost_its_metadata(tmp_path, klass):
    from gradekit import without_student_id

    made, manifest = klass
    work = fill(made.worksheets / "G002.xlsx", tmp_path / "hw.xlsx", perfect_values(manifest, "G002"),
                edit=without_student_id)
    root = layout(tmp_path, klass, {"hw.xlsx": work}, {"name": "Grace Hopper", "email": "grace@school.example",
                                                        "sid": "G002"})
    data = autograde(root)
    assert_gradescope_results(data)
    assert data["score"] == len(blank_cells(manifest, "G002"))
    assert json.loads((root / "results" / "results.json").read_text())["score"] == data["score"]


def test_someone_elses_worksheet_is_said(tmp_path, klass):
    made, manifest = klass
    work = fill(made.worksheets / "G002.xlsx", tmp_path / "hw.xlsx", perfect_values(manifest, "G002"))
    root = layout(tmp_path, klass, {"hw.xlsx": work}, {"name": "Ada Lovelace", "sid": "G001"})
    data = autograde(root)
    assert "made for student 'G002', not for you ('G001')" in data["output"]


@pytest.mark.parametrize("files,words", [
    ({}, "no Excel workbook"),
    ({"a.ods": b"PK"}, "OpenDocument"),
    ({"a.xlsx": b"not a zip", "b/c.xlsx": b"x"}, "2 workbooks in your submission"),
    ({"a.xlsx": b"not a zip at all"}, "Not graded"),
])
def test_a_bad_submission_still_writes_results(tmp_path, klass, files, words):
    root = layout(tmp_path, klass, files)
    data = autograde(root)
    assert_gradescope_results(data)
    assert data["score"] == 0 and words in data["output"], data["output"]


def test_no_manifest_is_said_to_the_instructor(tmp_path, klass):
    made, _ = klass
    root = layout(tmp_path, klass, {"a.xlsx": made.worksheets / "G001.xlsx"})
    shutil.rmtree(root / "source" / "keys")
    data = autograde(root)
    assert data["score"] == 0 and "instructor: no manifest.json" in data["output"]


def test_a_broken_python_still_leaves_a_results_json(tmp_path, klass):
    root = layout(tmp_path, klass, {})
    data = run_autograder(root, XLHAND_PYTHON="/bin/false")
    assert data["score"] == 0 and "stopped before grading (exit code 1)" in data["output"]


def test_setup_sh_installs_the_wheel_beside_it(tmp_path):
    source = tmp_path / "autograder" / "source"
    shutil.copytree(AUTOGRADER, source)
    env = {**os.environ, "AUTOGRADER_ROOT": str(tmp_path / "autograder"), "XLHAND_SETUP_DRY_RUN": "1"}
    done = subprocess.run(["bash", str(source / "setup.sh")], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "expected one xlhand-*.whl" in done.stderr
    (source / "xlhand-0.1.0-py3-none-any.whl").write_bytes(b"")
    done = subprocess.run(["bash", str(source / "setup.sh")], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "-m venv" in done.stdout and "pip install --no-cache-dir" in done.stdout
    assert "xlhand-0.1.0-py3-none-any.whl" in done.stdout
    for script in ("setup.sh", "run_autograder"):
        assert os.access(AUTOGRADER / script, os.X_OK), f"{script} must be executable"
        assert subprocess.run(["bash", "-n", str(AUTOGRADER / script)], check=False).returncode == 0


def test_points_and_visibility_from_the_environment(tmp_path, klass):
    made, manifest = klass
    work = fill(made.worksheets / "G001.xlsx", tmp_path / "mine.xlsx", perfect_values(manifest, "G001"))
    root = layout(tmp_path, klass, {"mine.xlsx": work})
    data = run_autograder(root, XLHAND_POINTS="10", XLHAND_VISIBILITY="after_published")
    assert_gradescope_results(data)
    assert data["score"] == pytest.approx(10) and sum(t["max_score"] for t in data["tests"]) == pytest.approx(10)
    assert {t["visibility"] for t in data["tests"]} == {"after_published"} == {data["visibility"]}
