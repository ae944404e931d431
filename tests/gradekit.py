"""Helpers for the student, class and grading tests: build a class, fill in worksheets, plant mistakes."""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Callable, NamedTuple

import openpyxl

from xlhand.build import key_sheet
from xlhand.model.exercise import expected_values
from xlhand.engines.compare import as_grid
from xlhand.grading.credit import World
from xlhand.classroom.classset import build_class
from xlhand.classroom.manifest import Manifest, ManifestStudent


class ClassFiles(NamedTuple):
    manifest_path: Path
    manifest: dict
    worksheets: Path  # the folder handed out: one <id>.xlsx per student


def make_class(tmp: Path, exercise: str, ids=("s1", "s2", "s3"), size="small", names: dict | None = None,
               **kw) -> ClassFiles:
    """A class of ``ids`` (named ``names``, default "Student <id>"): worksheets in tmp/class, keys and
    manifest in tmp/class-keys."""
    roster = tmp / "roster.csv"
    names = names or {}
    roster.write_text("id,name\n" + "".join(f"{i},{names.get(i, f'Student {i}')}\n" for i in ids), encoding="utf-8")
    made = build_class(exercise, roster, tmp / "class", size=size, **kw)
    manifest_path = made.keys / "manifest.json"
    return ClassFiles(manifest_path, json.loads(manifest_path.read_text(encoding="utf-8")), made.worksheets)


def key_of(manifest: dict, sid: str):
    """(sheet with final positions, expected values) of one student's variant."""
    entry = next(e for e in manifest["students"] if e["id"] == sid)
    resolved = Manifest.from_dict(manifest).resolved(ManifestStudent.from_dict(entry))
    sheet = key_sheet(resolved)
    return sheet, expected_values(resolved.exercise, resolved, sheet)


def blank_cells(manifest: dict, sid: str):
    """[(block name, i, j, row 1-based, col 1-based, expected)] in layout order."""
    sheet, expected = key_of(manifest, sid)
    out = []
    for name in manifest["blanks"]:
        b = sheet.blocks[name]
        want = as_grid(expected[name])
        out.extend((name, i, j, b.top + i + 1, b.left + j + 1, want[i][j])
                   for i in range(b.rows) for j in range(b.cols))
    return out


def fill(src: Path, dst: Path, values: dict, sheet: str | None = None,
         edit: Callable[[openpyxl.Workbook], None] | None = None) -> Path:
    """Copy a worksheet, typing ``values`` ({(row, col) 1-based: value}) into it with openpyxl
    (which ignores sheet protection, as a student's own tools may); ``edit`` may change more."""
    wb = openpyxl.load_workbook(src)
    ws = wb[sheet or wb.sheetnames[0]]
    for (r, c), v in values.items():
        cell = ws.cell(r, c)
        cell.value = v
        if isinstance(v, str) and not v.startswith("=") and not v.startswith("#"):
            cell.data_type = "s"
    if edit is not None:
        edit(wb)
    wb.save(dst)
    return dst


def without_student_id(wb: openpyxl.Workbook) -> None:
    """An ``edit`` for :func:`fill`: drop the student id from the metadata (as some tools do)."""
    wb.custom_doc_props.props = [p for p in wb.custom_doc_props.props if p.name != "xlhand_student_id"]


def key_formula_values(manifest: dict, sid: str) -> dict:
    """{(row, col): "=formula"} of every blank: the key's own formulas, as an honest student types them."""
    sheet, _ = key_of(manifest, sid)
    return {(r, c): "=" + sheet.blocks[name].formula(i, j) for name, i, j, r, c, _ in blank_cells(manifest, sid)}


def with_cached(src: Path, dst: Path, cached: dict[str, float]) -> Path:
    """Copy a workbook, storing ``cached`` ({"H18": value}) as the saved result of those formula
    cells of the first sheet: what a spreadsheet shows until it recalculates."""
    def change(name, data):
        if name != "xl/worksheets/sheet1.xml":
            return data
        text = data.decode("utf-8")
        for address, value in cached.items():
            text, n = re.subn(rf'(<c r="{address}"[^>]*>\s*<f>[^<]*</f>)\s*(?:<v\s*/>|<v>[^<]*</v>)?',
                              rf"\g<1><v>{value!r}</v>", text)
            assert n == 1, f"no formula cell {address} in {src}"
        return text.encode("utf-8")
    return rezip(src, dst, change)


def perfect_values(manifest: dict, sid: str) -> dict:
    return {(r, c): want for _, _, _, r, c, want in blank_cells(manifest, sid)}


def rezip(src: Path, dst: Path, change) -> Path:
    """Copy an xlsx, letting ``change(name, data)`` return new bytes (or None to drop the entry);
    ``change`` may also return a dict of extra entries under the key ``'+'`` when name is None."""
    zin = zipfile.ZipFile(src)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info.filename, data)
        for name, data in (change(None, None) or {}).items():
            zout.writestr(name, data)
    dst.write_bytes(buf.getvalue())
    return dst


def consistent_values(manifest, sid, cells, how):
    """Values for every blank: ``cells`` (rows of :func:`blank_cells`) planted (shift / zero / blank),
    the rest computed by the key's formulas from those planted values (what a careful student would get)."""
    sheet, _ = key_of(manifest, sid)
    planted = {}
    for name, i, j, r, c, want in cells:
        address = sheet.blocks[name].cell(i, j)
        planted[address] = {"shift": want + 1.5, "zero": 0.0, "blank": None, "negate": -want}[how]
    # zeros are real numbers here (the grader refuses to carry from them; a student computes on)
    world = World(sheet, planted)
    values = {}
    for name, i, j, r, c, want in blank_cells(manifest, sid):
        address = sheet.blocks[name].cell(i, j)
        if address in planted:
            if planted[address] is not None:
                values[(r, c)] = planted[address]
            continue
        v = world.value(address)
        if v is not None:
            values[(r, c)] = v
    return values
