"""Class sets: one worksheet per roster row with its own numbers, names always text, a manifest
that rebuilds every key, and roster errors that name the row."""
from __future__ import annotations

import json

import openpyxl
from click.testing import CliRunner

from xlhand.build import key_workbook
from xlhand.cli import cli
from xlhand.modes import csv_safe, resolved_for, student_seed

NASTY = '=HYPERLINK("http://x","y")'


def run_class(tmp_path, roster_text, *extra):
    roster = tmp_path / "roster.csv"
    roster.write_text(roster_text)
    out = tmp_path / "class"
    return CliRunner().invoke(cli, ["class", "backprop", "--roster", str(roster), "--size", "small",
                                    "--seed", "5", "--out", str(out), *extra]), out


def test_class_set(tmp_path):
    roster = f'id,name,section\ns1,Ada,A\ns2,"{NASTY.replace(chr(34), chr(34) * 2)}",B\ns/3,+1-2,A\n'
    result, out = run_class(tmp_path, roster)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    students = {e["id"]: e for e in manifest["students"]}
    assert set(students) == {"s1", "s2", "s/3"}
    assert students["s2"]["name"] == NASTY and students["s1"]["extra"] == {"section": "A"}
    assert len({e["fingerprint"] for e in manifest["students"]}) == 3  # own numbers each
    assert students["s1"]["seed"] == student_seed(5, "s1")
    for e in manifest["students"]:
        # the manifest rebuilds each key exactly
        assert (out / e["key_file"]).read_bytes() == key_workbook(resolved_for(manifest, e))
        wb = openpyxl.load_workbook(out / e["file"])
        meta = {p.name: p.value for p in wb.custom_doc_props.props}
        assert meta["xlhand_student_id"] == e["id"] and meta["xlhand_student_name"] == e["name"]
        texts = [c for row in wb.worksheets[0].iter_rows() for c in row if isinstance(c.value, str)]
        who = [c for c in texts if c.value.startswith("Student")]
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
    assert result.exit_code == 2 and "'id'" in result.output


def test_csv_safe():
    assert csv_safe(NASTY) == "'" + NASTY
    assert csv_safe("+1-2") == "'+1-2" and csv_safe("-3") == "'-3" and csv_safe("@x") == "'@x"
    assert csv_safe("Ada") == "Ada"
