"""Helpers for the student, class and grading tests: build a class, fill in worksheets, plant mistakes."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl

from xlhand.build import key_sheet
from xlhand.exercise import expected_values
from xlhand.grade import _grid
from xlhand.modes import build_class, load_manifest, resolved_for


def make_class(tmp: Path, exercise: str, ids=("s1", "s2", "s3"), size="small", **kw) -> tuple[Path, dict]:
    roster = tmp / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"{i},Student {i}\n" for i in ids))
    out = tmp / "class"
    build_class(exercise, roster, out, size=size, **kw)
    return out / "manifest.json", load_manifest(out / "manifest.json")


def key_of(manifest: dict, sid: str):
    """(sheet with final positions, expected values) of one student's variant."""
    entry = next(e for e in manifest["students"] if e["id"] == sid)
    resolved = resolved_for(manifest, entry)
    sheet = key_sheet(resolved)
    return sheet, expected_values(resolved.exercise, resolved, sheet)


def blank_cells(manifest: dict, sid: str):
    """[(block name, i, j, row 1-based, col 1-based, expected)] in layout order."""
    sheet, expected = key_of(manifest, sid)
    out = []
    for name in manifest["blanks"]:
        b = sheet.blocks[name]
        want = _grid(expected[name])
        out.extend((name, i, j, b.top + i + 1, b.left + j + 1, want[i][j])
                   for i in range(b.rows) for j in range(b.cols))
    return out


def fill(src: Path, dst: Path, values: dict, sheet: str | None = None) -> Path:
    """Copy a worksheet, typing ``values`` ({(row, col) 1-based: value}) into it with openpyxl."""
    wb = openpyxl.load_workbook(src)
    ws = wb[sheet or wb.sheetnames[0]]
    for (r, c), v in values.items():
        cell = ws.cell(r, c)
        cell.value = v
        if isinstance(v, str) and not v.startswith("=") and not v.startswith("#"):
            cell.data_type = "s"
    wb.save(dst)
    return dst


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
