"""A layout as text: every block of a sheet with its range, role, step, label and first formula.

The test suite keeps one listing per exercise (at size small) in ``tests/snapshots/`` and compares
it with the layout the code makes now, the way XlsxWriter compares its output with files Excel
made: a block that moves, loses its label, changes role or stops being a formula shows up as a
diff in review. ``xlhand layout --all --write tests/snapshots`` writes them anew.
"""
from __future__ import annotations

from xlhand.build import key_sheet
from xlhand.model.resolve import Resolved
from xlhand.layout.sheet import Sheet

SNAPSHOT_SIZE = "small"


def listing(sheet: Sheet) -> str:
    """One line per block in layout order: ``name  range  role  step  label  | first cell``."""
    lines = [f"# {sheet.exercise}: {sheet.title}", "# block | range | role | step | label | first cell"]
    for block in sheet.blocks.values():
        if block.formula is not None:
            first = "=" + block.formula(0, 0)
        elif block.text is not None:
            first = f"text {block.text[0][0]!r}"
        else:
            first = "number"
        step = "-" if block.step is None else str(block.step)
        lines.append(" | ".join([block.name, block.range(), block.role, step, block.label or "-", first]))
    for glyph in sheet.glyphs:
        lines.append(f"text {glyph.kind} at {_cell(glyph.row, glyph.col)}: {glyph.text}")
    return "\n".join(lines) + "\n"


def layout_text(resolved: Resolved) -> str:
    return listing(key_sheet(resolved, "key"))


def _cell(row: int, col: int) -> str:
    from xlsxwriter.utility import xl_rowcol_to_cell

    return xl_rowcol_to_cell(row, col)
