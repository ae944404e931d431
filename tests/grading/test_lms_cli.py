"""The LMS round trip from the command line: `class --id-column`, `grade --export … --feedback-zip`,
and `grade --gradescope ROOT` (the options wire the roster reader, the exports and the autograder)."""
from __future__ import annotations

import json

from click.testing import CliRunner
from gradekit import fill, perfect_values
from lmskit import read_csv
from lmskit import assert_gradescope_results, layout
from lmskit import CANVAS

from xlhand.cli import cli


def run(*args: str):
    result = CliRunner().invoke(cli, list(args))
    return result


def test_class_takes_the_id_column_it_is_told(tmp_path):
    roster = tmp_path / "canvas.csv"
    roster.write_text(CANVAS, encoding="utf-8")
    result = run("class", "matmul", "--roster", str(roster), "--id-column", "SIS Login ID", "--out",
                 str(tmp_path / "class"), "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "id from column 'SIS Login ID'" in result.output
    assert sorted(p.name for p in (tmp_path / "class").iterdir()) == ["ada.xlsx", "zoe.xlsx"]
    refused = run("class", "matmul", "--roster", str(roster), "--id-column", "Matrikel", "--out",
                  str(tmp_path / "other"), "--jobs", "1")
    assert refused.exit_code == 2 and "Matrikel" in refused.output and len(refused.output.strip().splitlines()) == 1
    assert not (tmp_path / "other").exists()


def test_grade_exports_canvas_and_zips_the_feedback(tmp_path):
    roster = tmp_path / "canvas.csv"
    roster.write_text(CANVAS, encoding="utf-8")
    assert run("class", "matmul", "--roster", str(roster), "--out", str(tmp_path / "class"), "--jobs", "1").exit_code == 0
    manifest_path = tmp_path / "class-keys" / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    fill(tmp_path / "class" / "S001.xlsx", inbox / "S001.xlsx", perfect_values(manifest, "S001"))
    result = run("grade", "--manifest", str(manifest_path), str(inbox), "--out", str(tmp_path / "grades"),
                 "--export", "canvas", "--assignment", "Matmul by hand", "--feedback-zip")
    assert result.exit_code == 0, result.output
    _, rows = read_csv(tmp_path / "grades" / "canvas.csv")
    assert rows[0][-1] == "Matmul by hand (4411)"  # the id taken from the roster's own column
    assert (tmp_path / "grades" / "moodle-feedback.zip").exists()
    both = run("grade", "--manifest", str(manifest_path), str(inbox), "--out", str(tmp_path / "g2"),
               "--no-feedback", "--feedback-zip")
    assert both.exit_code == 2 and "--feedback-zip" in both.output


def test_grade_gradescope_writes_results_json(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("id,name\nG001,Ada Lovelace\n", encoding="utf-8")
    assert run("class", "matmul", "--roster", str(roster), "--out", str(tmp_path / "class"), "--jobs", "1").exit_code == 0
    made = type("Made", (), {"keys": tmp_path / "class-keys", "worksheets": tmp_path / "class"})
    manifest = json.loads((made.keys / "manifest.json").read_text(encoding="utf-8"))
    work = fill(made.worksheets / "G001.xlsx", tmp_path / "hw.xlsx", perfect_values(manifest, "G001"))
    root = layout(tmp_path, (made, manifest), {"hw.xlsx": work}, {"name": "Ada Lovelace", "sid": "G001"})
    result = run("grade", "--gradescope", str(root))
    assert result.exit_code == 0, result.output
    data = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    assert_gradescope_results(data)
    assert data["score"] > 0 and data["score"] == sum(t["score"] for t in data["tests"])
