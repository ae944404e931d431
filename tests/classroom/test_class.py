"""Class sets: one worksheet per roster row with its own numbers, names always text, a manifest
that rebuilds every key, and roster errors that name the row."""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from xlhand.build import key_workbook
from xlhand.cli import cli
from xlhand.classroom.classset import default_keys_dir, student_seed
from xlhand.classroom.manifest import Manifest, ManifestStudent
from xlhand.classroom.csvfiles import csv_safe

NASTY = '=HYPERLINK("http://x","y")'


def run_class(tmp_path, roster_text, *extra, seed=("--seed", "5")):
    roster = tmp_path / "roster.csv"
    roster.write_text(roster_text)
    out = tmp_path / "class"
    return CliRunner().invoke(cli, ["class", "mlp", "--roster", str(roster), "--size", "small",
                                    *seed, "--out", str(out), *extra]), out


def test_class_set(tmp_path):
    roster = f'id,name,section\ns1,Ada,A\ns2,"{NASTY.replace(chr(34), chr(34) * 2)}",B\ns/3,+1-2,A\n'
    result, out = run_class(tmp_path, roster)
    assert result.exit_code == 0, result.output
    keys = tmp_path / "class-keys"
    manifest = json.loads((keys / "manifest.json").read_text())
    students = {e["id"]: e for e in manifest["students"]}
    assert set(students) == {"s1", "s2", "s/3"}
    assert students["s2"]["name"] == NASTY and students["s1"]["extra"] == {"section": "A"}
    assert len({e["fingerprint"] for e in manifest["students"]}) == 3  # own numbers each
    assert students["s1"]["seed"] == student_seed(5, "s1")
    for e in manifest["students"]:
        # the manifest rebuilds each key exactly
        assert (keys / e["key_file"]).read_bytes() == key_workbook(Manifest.from_dict(manifest).resolved(ManifestStudent.from_dict(e)))
        wb = openpyxl.load_workbook(out / e["file"])
        meta = {p.name: p.value for p in wb.custom_doc_props.props}
        assert meta["xlhand_student_id"] == e["id"] and meta["xlhand_student_name"] == e["name"]
        texts = [c for row in wb.worksheets[0].iter_rows() for c in row if isinstance(c.value, str)]
        who = [c for c in texts if c.value.startswith(("Name: ", "Student id"))]  # the Name line
        assert who and e["name"] in who[0].value and who[0].data_type == "s"
    # same seed, same ids -> same files
    again, out2 = run_class(tmp_path / "x" if (tmp_path / "x").mkdir() is None else None, roster)
    assert (out2 / "s1.xlsx").read_bytes() == (out / "s1.xlsx").read_bytes()


def test_roster_errors_name_the_row(tmp_path):
    result, out = run_class(tmp_path, "id,name\na,A\nb,B\na,C\n")
    assert result.exit_code == 2 and "row 4" in result.output and "'a'" in result.output
    assert not out.exists()
    result, out = run_class(tmp_path, "id,name\na,A\n,B\n")
    assert result.exit_code == 2 and "row 3" in result.output and "empty id" in result.output
    result, out = run_class(tmp_path, "ident,name\na,A\n")
    assert result.exit_code == 2 and "no id column" in result.output


def test_csv_safe():
    assert csv_safe(NASTY) == "'" + NASTY
    assert csv_safe("+1-2") == "'+1-2" and csv_safe("-3") == "'-3" and csv_safe("@x") == "'@x"
    assert csv_safe("Ada") == "Ada"


def test_keys_and_manifest_stay_out_of_the_handout_folder(tmp_path):
    result, out = run_class(tmp_path, "id,name\ns1,Ada\ns2,Bo\n")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.rglob("*")) == ["s1.xlsx", "s2.xlsx"]  # no key, no manifest
    keys = tmp_path / "class-keys"
    assert sorted(p.name for p in keys.iterdir()) == ["manifest.json", "s1-key.xlsx", "s2-key.xlsx"]
    assert f"to {out} (hand these out)" in result.output and f"to {keys} (keep these" in result.output
    assert f"--manifest {keys / 'manifest.json'}" in result.output
    chosen = tmp_path / "vault"
    result, _ = run_class(tmp_path, "id,name\ns1,Ada\n", "--keys", str(chosen))
    assert result.exit_code == 0 and (chosen / "manifest.json").is_file()


def test_keys_inside_the_handout_folder_are_refused(tmp_path):
    for keys in ("class", "class/keys"):
        result, out = run_class(tmp_path, "id,name\ns1,Ada\n", "--keys", str(tmp_path / keys))
        assert result.exit_code == 2 and "lies inside --out" in result.output
        assert len(result.output.strip().splitlines()) == 1 and not out.exists()


def test_default_keys_folder_is_a_sibling():
    assert default_keys_dir(Path("class")) == Path("class-keys")
    assert default_keys_dir(Path("term/exam/")) == Path("term/exam-keys")
    assert default_keys_dir(Path(".")) == Path.cwd().with_name(Path.cwd().name + "-keys")


def test_one_fixed_version_from_a_params_file(tmp_path):
    exam = tmp_path / "exam.yaml"
    exam.write_text(CliRunner().invoke(cli, ["params", "mlp", "--size", "small", "--seed", "9"]).output)
    result, out = run_class(tmp_path, "id,name\ns1,Ada\ns2,Bo\ns3,Cy\n", "--params", str(exam), seed=())
    assert result.exit_code == 0, result.output
    keys = tmp_path / "class-keys"
    manifest = json.loads((keys / "manifest.json").read_text())
    assert manifest["class_seed"] is None and manifest["params_file"] == str(exam)
    assert len({e["fingerprint"] for e in manifest["students"]}) == 1  # the same numbers for all
    for e in manifest["students"]:
        assert e["numbers"] == "params file exam.yaml"
        assert (keys / e["key_file"]).read_bytes() == key_workbook(Manifest.from_dict(manifest).resolved(ManifestStudent.from_dict(e)))
        meta = {p.name: p.value for p in openpyxl.load_workbook(out / e["file"]).custom_doc_props.props}
        assert meta["xlhand_student_id"] == e["id"]  # each worksheet still its student's
    assert len({(out / e["file"]).read_bytes() for e in manifest["students"]}) == 3
