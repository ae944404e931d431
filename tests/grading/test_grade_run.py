"""The typed results a learning-management export reads: Manifest, StudentResult, GradeRun."""
from __future__ import annotations

import dataclasses
import json

import pytest

from gradekit import fill, make_class, perfect_values
from xlhand.classroom.manifest import Manifest, ManifestStudent
from xlhand.grading.pipeline import grade
from xlhand.grading.report import StepScore, StudentResult


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run")
    manifest_path, manifest, cls = make_class(tmp, "mlp", ids=("zed", "amy", "bob"))
    files = [fill(cls / "zed.xlsx", tmp / "zed.xlsx", perfect_values(manifest, "zed")),
             cls / "bob.xlsx"]  # handed back untouched
    return manifest_path, grade(manifest_path, files, tmp / "grades")


def test_manifest_is_typed_and_frozen(run):
    manifest_path, graded = run
    m = Manifest.load(manifest_path)
    assert graded.manifest == m
    assert [s.id for s in m.students] == ["zed", "amy", "bob"] and isinstance(m.students[0], ManifestStudent)
    assert m.roster["format"] == "csv" and m.roster["id_column"] == "id"  # what the roster reader found
    assert m.blanks and m.tolerance.rtol == 1e-2 and m.sheet == "mlp"
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.exercise = "relu"
    assert m.resolved(m.students[0]).fingerprint() == m.students[0].fingerprint


def test_an_old_manifest_without_a_roster_loads_and_a_roster_entry_is_kept(run, tmp_path):
    manifest_path, _ = run
    data = json.loads(manifest_path.read_text())
    del data["roster"]  # as written before rosters were recorded
    (tmp_path / "old.json").write_text(json.dumps(data))
    assert Manifest.load(tmp_path / "old.json").roster == {}
    data["roster"] = {"format": "moodle", "id_column": "ID number"}
    (tmp_path / "m.json").write_text(json.dumps(data))
    assert Manifest.load(tmp_path / "m.json").roster["format"] == "moodle"


def test_results_follow_the_manifest(run):
    _, graded = run
    assert [r.student_id for r in graded.results] == ["zed", "amy", "bob"]
    zed, amy, bob = graded.results
    assert isinstance(zed, StudentResult) and zed.status == "graded" and zed.score == zed.max_score > 0
    assert zed.file == "zed.xlsx" and all(isinstance(s, StepScore) and s.title for s in zed.steps)
    assert sum(s.max_score for s in zed.steps) == zed.max_score
    assert amy.status == "missing" and amy.file == "" and amy.score == 0
    assert bob.status == "graded" and bob.score == 0 and "empty" in bob.feedback
    assert all(r.feedback.count(".") <= 3 for r in graded.results)
    with pytest.raises(dataclasses.FrozenInstanceError):
        zed.score = 0
