"""Every workbook is recalculated before it is written: ``build`` never writes a wrong one.

The bytes XlsxWriter produced are loaded into IronCalc in memory and evaluated; every block of the
checked sheets is compared with what the NumPy reference expects. On any difference (a wrong
number, or an error value such as #NUM! or #DIV/0!) nothing is written and the error names the
block, the cell, both values, and the givens the cell depends on, so that a user whose numbers
cause it (a tie, an overflow) knows what to change.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from xlhand.layout.blocks import Block
from xlhand.engines.compare import Mismatch, as_grid, compare_grid, show
from xlhand.engines.workbook import Workbook
from xlhand.errors import XlhandError
from xlhand.layout.sheet import Sheet

CELL_REF = re.compile(r"(?<![A-Za-z_!'])\$?([A-Z]{1,3})\$?([0-9]+)(?::\$?([A-Z]{1,3})\$?([0-9]+))?(?![A-Za-z0-9_(])")


class BuildRefused(XlhandError):
    """The workbook just built disagrees with the NumPy reference: it is not written."""


@dataclass
class SheetCheck:
    """One sheet of a workbook to check: its name in the file, its layout and the blocks to compare."""

    name: str
    sheet: Sheet
    blocks: list[Block]


def verify_built(data: bytes, label: str, checks: list[SheetCheck], expected: dict) -> Workbook:
    """Recalculate ``data`` in memory and compare the chosen blocks with ``expected``; raise
    :class:`BuildRefused` on the first sheet that disagrees. Returns the evaluated workbook."""
    wb = Workbook.from_bytes(data, label)
    for check in checks:
        index = wb.sheet_index(check.name)
        mismatches: list[Mismatch] = []
        for block in check.blocks:
            got = [[wb.value(index, block.top + i + 1, block.left + j + 1) for j in range(block.cols)]
                   for i in range(block.rows)]
            addresses = [block.row(i) for i in range(block.rows)]
            mismatches.extend(compare_grid(block.name, expected[block.name], got, addresses))
        if mismatches:
            raise BuildRefused(_message(label, check.sheet, mismatches))
    return wb


def _message(label: str, sheet: Sheet, mismatches: list[Mismatch]) -> str:
    first = mismatches[0]
    more = f" ({len(mismatches) - 1} more cells differ)" if len(mismatches) > 1 else ""
    givens = givens_behind(sheet, first.cell)
    hint = (f"; it depends on the givens {', '.join(givens)}: if your numbers cause this (a tie, an overflow), "
            f"change them") if givens else ""
    return (f"{label}: not written: block {first.block} cell {first.cell}: the sheet gives {show(first.got)}, "
            f"NumPy {show(first.expected)}{more}{hint}")


def givens_behind(sheet: Sheet, address: str) -> list[str]:
    """The given blocks a cell's formula reads, directly or through other cells, in layout order."""
    where = {}
    for block in sheet.blocks.values():
        for i in range(block.rows):
            for j in range(block.cols):
                where[block.cell(i, j)] = (block, i, j)
    seen, todo, found = {address}, [address], set()
    while todo:
        spot = where.get(todo.pop())
        if spot is None:
            continue
        block, i, j = spot
        if block.formula is None:
            if block.values is not None and block.role != "computed" and not block.extra.get("constant"):
                found.add(block.name)
            elif block.text is not None:
                found.add(block.name)
            continue
        for ref in _references(block.formula(i, j)):
            if ref not in seen:
                seen.add(ref)
                todo.append(ref)
    return [name for name in sheet.blocks if name in found]


def _references(formula: str) -> list[str]:
    from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell

    out = []
    for m in CELL_REF.finditer(formula.replace("$", "")):
        r1, c1 = xl_cell_to_rowcol(m[1] + m[2])
        r2, c2 = xl_cell_to_rowcol(m[3] + m[4]) if m[3] else (r1, c1)
        out.extend(xl_rowcol_to_cell(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1))
    return out


def reference_values(resolved, sheet: Sheet) -> dict:
    """Every block's expected value, computed with floating-point overflow treated as an error.

    A spreadsheet shows #NUM! where NumPy quietly gives inf (``EXP(800)``), and IronCalc does not
    carry every such error through a division (``1/(1+EXP(800))`` gives 0): so numbers whose math
    overflows are refused here, naming the given of largest size, before any engine runs."""
    from xlhand.model.exercise import expected_values

    try:
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            return expected_values(resolved.exercise, resolved, sheet)
    except FloatingPointError as e:
        raise BuildRefused(f"{resolved.exercise.name}: not written: the numbers overflow the math ({e}); "
                           f"use smaller numbers{_largest_given(resolved)}") from None


def _largest_given(resolved) -> str:
    sizes = {}
    for given in resolved.exercise.givens:
        if given.kind == "number":
            value = resolved.params[given.name]
            values = np.concatenate([np.ravel(m) for m in value]) if isinstance(value, list) else np.ravel(value)
            if values.size:
                sizes[given.name] = float(values[np.argmax(np.abs(values))])
    if not sizes:
        return ""
    name = max(sizes, key=lambda k: abs(sizes[k]))
    return f" (the largest given is {name} = {sizes[name]:g})"


def cached_values(expected: dict):
    """A cached-value lookup for the writer: block (i, j) -> the reference's value there."""
    grids: dict[str, list] = {}

    def value(block: Block, i: int, j: int):
        grid = grids.get(block.name)
        if grid is None:
            grid = grids[block.name] = as_grid(expected[block.name])
        return grid[i][j]

    return value
