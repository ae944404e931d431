"""Untrusted submissions: each kind of bad file becomes a grades.csv row with a clear reason, and
the batch goes on to grade the good ones."""
from __future__ import annotations

import csv
import os
import zipfile

import openpyxl
import pytest

from gradekit import blank_cells, fill, make_class, perfect_values, rezip
from xlhand import untrusted
from xlhand.grade import grade

ENTITY = b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    ids = ("good", "renamed", "absurd", "texts", "dup", "deep")
    manifest_path, manifest = make_class(tmp, "backprop", ids=ids)
    cls, sub = manifest_path.parent, tmp / "sub"
    sub.mkdir()
    good = fill(cls / "good.xlsx", sub / "good.xlsx", perfect_values(manifest, "good"))
    files = {"good": good}

    data = good.read_bytes()
    (sub / "corrupt.xlsx").write_bytes(data[: len(data) // 2])
    files["corrupt zip"] = sub / "corrupt.xlsx"
    (sub / "notes.xlsx").write_text("id,score\n1,2\n")
    files["not an xlsx"] = sub / "notes.xlsx"
    with zipfile.ZipFile(sub / "large.xlsx", "w", zipfile.ZIP_STORED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/media/photo.bin", os.urandom(11 * 1024 * 1024))
    files["too large"] = sub / "large.xlsx"
    files["zip bomb"] = rezip(good, sub / "bomb.xlsx",
                              lambda n, d: d if n else {"xl/media/pad.bin": b"\0" * (30 * 1024 * 1024)})

    def inject(d: bytes, text: bytes) -> bytes:
        if d.startswith(b"<?xml"):
            head, _, rest = d.partition(b"?>")
            return head + b"?>" + text + rest
        return text + d

    def entity(name, d):
        if name and name.endswith("worksheets/sheet1.xml"):
            return inject(d, ENTITY)
        return d
    files["XML entity attack"] = rezip(good, sub / "entity.xlsx", entity)

    def deep(name, d):  # the DOCTYPE hides behind a long comment: defusedxml must catch it
        if name and name.endswith("worksheets/sheet1.xml"):
            return inject(d, b"<!--" + b" " * 8000 + b"-->" + ENTITY)
        return d
    files["deep entity"] = rezip(good, sub / "deep.xlsx", deep)
    files["macros"] = rezip(good, sub / "macro.xlsx", lambda n, d: d if n else {"xl/vbaProject.bin": b"\xd0\xcf"})

    wb = openpyxl.load_workbook(cls / "renamed.xlsx")
    wb.worksheets[0].title = "Sheet1"
    wb.save(sub / "renamed.xlsx")
    files["renamed"] = sub / "renamed.xlsx"
    wb = openpyxl.load_workbook(cls / "absurd.xlsx")
    wb.worksheets[0].protection.sheet = False
    wb.worksheets[0]["XFD1048576"] = 1
    wb.save(sub / "absurd.xlsx")
    files["absurd"] = sub / "absurd.xlsx"

    values = perfect_values(manifest, "texts")
    cells = blank_cells(manifest, "texts")
    values[(cells[0][3], cells[0][4])] = "0,5"
    values[(cells[1][3], cells[1][4])] = "#DIV/0!"
    values[(cells[2][3], cells[2][4])] = "about two"
    files["texts"] = fill(cls / "texts.xlsx", sub / "texts.xlsx", values)
    files["dup1"] = fill(cls / "dup.xlsx", sub / "dup.xlsx", {})
    files["dup2"] = fill(cls / "dup.xlsx", sub / "dup-again.xlsx", {})
    files["stranger"] = fill(cls / "good.xlsx", sub / "stranger.xlsx", {})
    wb = openpyxl.load_workbook(files["stranger"])
    wb.custom_doc_props.props = [p for p in wb.custom_doc_props.props if p.name != "xlhand_student_id"]
    wb.save(files["stranger"])

    out = tmp / "grades"
    results = grade(manifest_path, list(files.values()), out)
    rows = list(csv.DictReader((out / "grades.csv").open()))
    by_file = {r["file"]: r for r in rows if r["file"]}
    return files, by_file, results


@pytest.mark.parametrize("kind, words", [
    ("corrupt zip", "corrupt zip"), ("not an xlsx", "not an xlsx"), ("too large", "too large"),
    ("zip bomb", "zip bomb"), ("XML entity attack", "XML entity attack"), ("deep entity", "defusedxml"),
    ("macros", "macros"), ("renamed", "renamed or missing"), ("absurd", "absurd sheet dimensions"),
    ("dup1", "2 submissions"), ("dup2", "2 submissions"), ("stranger", "matches no student"),
])
def test_bad_file_is_a_row_with_a_reason(batch, kind, words):
    files, rows, _ = batch
    row = rows[files[kind].name]
    assert row["status"] == "rejected"
    assert words in row["reason"], row["reason"]


def test_batch_completes_and_grades_the_good_ones(batch):
    files, rows, _ = batch
    good = rows[files["good"].name]
    assert good["status"] == "graded" and good["percent"] == "100.0"


def test_text_errors_and_localized_decimals_are_flagged(batch):
    files, rows, _ = batch
    row = rows[files["texts"].name]
    assert row["status"] == "graded"
    assert "localized decimals" in row["flags"] and "'0,5'" in row["flags"]
    assert "error values" in row["flags"] and "text in number cells" in row["flags"]
    assert float(row["score"]) == float(row["max"]) - 3


def test_precheck_accepts_a_clean_worksheet(tmp_path):
    _, manifest = make_class(tmp_path, "lstm", ids=("a",))
    assert untrusted.precheck(tmp_path / "class" / "a.xlsx") == []


def test_child_time_limit(tmp_path, monkeypatch):
    import time
    monkeypatch.setattr(untrusted, "_extract", lambda *a: time.sleep(30))
    out = untrusted.extract_many([untrusted.Job(0, tmp_path / "x.xlsx", "s", 5, 5)], timeout=1)
    assert isinstance(out[0], untrusted.Rejected) and "too long" in out[0].reason


def test_child_memory_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(untrusted, "_extract", lambda *a: bytearray(3 * 1024 ** 3))
    out = untrusted.extract_many([untrusted.Job(0, tmp_path / "x.xlsx", "s", 5, 5)], memory=256 * 1024 ** 2)
    assert isinstance(out[0], untrusted.Rejected) and "memory" in out[0].reason


def test_defusedxml_is_active():
    assert openpyxl.DEFUSEDXML
