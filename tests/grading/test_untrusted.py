"""Untrusted submissions: each kind of bad file becomes a grades.csv row with a clear reason, and
the batch goes on to grade the good ones; a file that stalls costs its own row only; nothing is read
when the sandbox cannot be set up."""
from __future__ import annotations

import csv
import os
import resource
import time
import zipfile

import openpyxl
import pytest

from gradekit import blank_cells, fill, key_formula_values, make_class, perfect_values, rezip
from xlhand.grading import sandbox
from xlhand.grading.pipeline import grade

ENTITY = b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
SHEET = "xl/worksheets/sheet1.xml"


def inject(data: bytes, text: bytes) -> bytes:
    """``text`` right after the XML declaration (where a DOCTYPE belongs)."""
    if data.startswith(b"<?xml"):
        head, _, rest = data.partition(b"?>")
        return head + b"?>" + text + rest
    return text + data


def in_sheet(change):
    return lambda name, data: change(data) if name == SHEET else data


def declaration_length(data: bytes) -> int:
    return len(data.partition(b"?>")[0]) + 2 if data.startswith(b"<?xml") else 0


def declaring(encoding: str):
    """A change giving the part an XML declaration of ``encoding`` (its bytes stay as they are)."""
    return lambda data: f'<?xml version="1.0" encoding="{encoding}"?>'.encode() + data[declaration_length(data):]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    ids = ("good", "renamed", "absurd", "texts", "dup", "deep", "twins", "table")
    manifest_path, manifest, cls = make_class(tmp, "backprop", ids=ids)
    sub = tmp / "sub"
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

    files["XML entity attack"] = rezip(good, sub / "entity.xlsx", in_sheet(lambda d: inject(d, ENTITY)))
    # the DOCTYPE hides behind a long comment
    files["deep entity"] = rezip(good, sub / "deep.xlsx",
                                 in_sheet(lambda d: inject(d, b"<!--" + b" " * 8000 + b"-->" + ENTITY)))
    # padding puts the DOCTYPE across the boundary of two chunks of the scan
    files["padded entity"] = rezip(good, sub / "padded.xlsx", in_sheet(lambda d: inject(
        d, b" " * (sandbox.CHUNK - 4 - declaration_length(d)) + ENTITY)))
    files["utf-16"] = rezip(good, sub / "utf16.xlsx", in_sheet(
        lambda d: inject(declaring("UTF-16")(d), ENTITY).decode("utf-8").encode("utf-16")))
    files["utf-16 without BOM"] = rezip(good, sub / "utf16le.xlsx", in_sheet(
        lambda d: inject(d, ENTITY).decode("utf-8").encode("utf-16-le")))
    files["declared latin-1"] = rezip(good, sub / "latin1.xlsx", in_sheet(declaring("ISO-8859-1")))
    # a data table is a formula IronCalc cannot compute: its saved result must not be used instead
    files["data table"] = rezip(fill(cls / "table.xlsx", sub / "table-plain.xlsx", {}), sub / "table.xlsx", in_sheet(
        lambda d: d.replace(b"</sheetData>", b'<row r="900"><c r="A900"><f t="dataTable" ref="A900:A901" dt2D="0" '
                                             b'dtr="0" r1="B1"/><v>1</v></c></row></sheetData>')))
    files["macros"] = rezip(good, sub / "macro.xlsx", lambda n, d: d if n else {"xl/vbaProject.bin": b"\xd0\xcf"})

    wb = openpyxl.load_workbook(cls / "renamed.xlsx")
    wb.worksheets[0].title = "Sheet1"
    wb.save(sub / "renamed.xlsx")
    files["renamed"] = sub / "renamed.xlsx"
    # the hidden check sheet renamed to the visible sheet's name in capitals (openpyxl would not allow it)
    files["twins"] = rezip(fill(cls / "twins.xlsx", sub / "twins-plain.xlsx", {}), sub / "twins.xlsx",
                           lambda n, d: d.replace(b'name="xlhand_check"', f'name="{manifest["sheet"].upper()}"'.encode())
                           if n == "xl/workbook.xml" else d)
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
    results = grade(manifest_path, list(files.values()), out).files
    rows = list(csv.DictReader((out / "grades.csv").open(encoding="utf-8-sig", newline="")))
    by_file = {r["file"]: r for r in rows if r["file"]}
    return files, by_file, results, manifest_path


@pytest.mark.parametrize("kind, words", [
    ("corrupt zip", "corrupt zip"), ("not an xlsx", "not an xlsx"), ("too large", "too large"),
    ("zip bomb", "zip bomb"), ("XML entity attack", "XML entity attack"), ("deep entity", "XML entity attack"),
    ("padded entity", "XML entity attack: xl/worksheets/sheet1.xml declares a DOCTYPE/ENTITY"),
    ("utf-16", "not UTF-8: xl/worksheets/sheet1.xml is UTF-16 XML"),
    ("utf-16 without BOM", "not UTF-8: xl/worksheets/sheet1.xml is UTF-16 XML"),
    ("declared latin-1", "not UTF-8: xl/worksheets/sheet1.xml declares encoding 'ISO-8859-1'"),
    ("data table", "could not be recalculated"), ("twins", "two sheets with the same name"),
    ("macros", "macros"), ("renamed", "renamed or missing"), ("absurd", "absurd sheet dimensions"),
    ("dup1", "2 submissions"), ("dup2", "2 submissions"), ("stranger", "matches no student"),
])
def test_bad_file_is_a_row_with_a_reason(batch, kind, words):
    files, rows, *_ = batch
    row = rows[files[kind].name]
    assert row["status"] == "rejected"
    assert words in row["reason"], row["reason"]


def test_batch_completes_and_grades_the_good_ones(batch):
    files, rows, *_ = batch
    good = rows[files["good"].name]
    assert good["status"] == "graded" and good["percent"] == "100.0"


def test_text_errors_and_localized_decimals_are_flagged(batch):
    files, rows, *_ = batch
    row = rows[files["texts"].name]
    assert row["status"] == "graded"
    assert "localized decimals" in row["flags"] and "'0,5'" in row["flags"]
    assert "error values" in row["flags"] and "text in number cells" in row["flags"]
    assert float(row["score"]) == float(row["max"]) - 3


def test_precheck_accepts_a_clean_worksheet(tmp_path):
    _, _, worksheets = make_class(tmp_path, "lstm", ids=("a",))
    assert sandbox.precheck(worksheets / "a.xlsx") == []


def test_child_time_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "_extract", lambda *a: time.sleep(30))
    out = sandbox.extract_many([sandbox.Job(0, tmp_path / "x.xlsx", "s", 5, 5)], timeout=1)
    assert isinstance(out[0], sandbox.Rejected) and "too long" in out[0].reason


def test_child_memory_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "_extract", lambda *a: bytearray(3 * 1024 ** 3))
    out = sandbox.extract_many([sandbox.Job(0, tmp_path / "x.xlsx", "s", 5, 5)], memory=256 * 1024 ** 2)
    assert isinstance(out[0], sandbox.Rejected) and "memory" in out[0].reason


def test_defusedxml_is_active():
    assert openpyxl.DEFUSEDXML


@pytest.mark.slow  # waits out a time limit; test_child_time_limit is its fast representative
def test_a_stalling_file_costs_only_its_own_row(tmp_path, monkeypatch):
    manifest_path, manifest, cls = make_class(tmp_path, "backprop", ids=("slow", "quick", "later"))
    files = [fill(cls / f"{sid}.xlsx", tmp_path / f"{sid}.xlsx", key_formula_values(manifest, sid))
             for sid in ("slow", "quick", "later")]
    read = sandbox._extract

    def stalling(job):
        if job.path.name == "slow.xlsx":
            time.sleep(60)
        return read(job)
    monkeypatch.setattr(sandbox, "_extract", stalling)
    subs = {s.student_id: s for s in grade(manifest_path, files, tmp_path / "grades", timeout=3, workers=1).files}
    assert subs["slow"].status == "rejected" and "took too long" in subs["slow"].reason
    for sid in ("quick", "later"):
        assert subs[sid].status == "graded" and subs[sid].score == subs[sid].max > 0, subs[sid].reason


def test_no_grading_when_the_sandbox_cannot_be_set_up(batch, tmp_path, monkeypatch):
    files, _, _, manifest_path = batch

    def refuse(*args):
        raise OSError(1, "Operation not permitted")
    monkeypatch.setattr(resource, "setrlimit", refuse)
    with pytest.raises(sandbox.SandboxError, match="cannot grade safely: the limits for reading submissions "
                                                     "could not be set"):
        grade(manifest_path, [files["good"]], tmp_path / "grades")
    assert not (tmp_path / "grades" / "grades.csv").exists()


def test_an_existing_stricter_limit_is_kept(monkeypatch):
    calls = []
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1000, 2000))
    monkeypatch.setattr(resource, "setrlimit", lambda which, limits: calls.append(limits))
    sandbox._lower_limit(resource.RLIMIT_CPU, 5000, 6000)
    assert calls == [(2000, 2000)]
