"""What a formula's ranges take in.

* ``empty-or-text``: arithmetic over an empty cell or a label. ``SUM(E2:E5)`` over a softmax's three
  exponentials and the empty cell under them gives the right number today and a wrong one once
  something is typed there; a product whose range starts on the label row quietly skips it. An empty
  cell left open for typing in (unlocked on a protected sheet: a student's blank) is an input, not a
  mistake. Functions that test or count (ISBLANK, COUNT, IF, …) and text formulas (``&``) are skipped.
* ``partial-range``: a range that covers part of a block and spills past its edge (shifted by one,
  into the next block or the empty cells around it); MMULT of two ranges whose inner sizes differ (a
  product whose range drops a column). A range that drops a column in one cell of a block of one
  shape is the ``shape`` rule's.
"""
from __future__ import annotations

from xlhand.lint.blocks import Block
from xlhand.lint.context import BIG_AREA, Context
from xlhand.lint.findings import Hit
from xlhand.lint.formulas import Parsed, Ref
from xlhand.lint.reader import Area
from xlhand.lint.workbook import EMPTY, TEXT, Sheet

NOT_ARITHMETIC = set("""ISBLANK ISNUMBER ISTEXT ISNONTEXT ISERROR ISERR ISNA ISLOGICAL ISREF ISFORMULA COUNT
COUNTA COUNTBLANK COUNTIF COUNTIFS INDEX MATCH XMATCH VLOOKUP HLOOKUP LOOKUP XLOOKUP ROW ROWS COLUMN COLUMNS
IFERROR IFNA IF IFS AND OR NOT XOR SWITCH CHOOSE CONCATENATE CONCAT TEXTJOIN TEXT LEN LEFT RIGHT MID FIND
SEARCH UPPER LOWER TRIM SUBSTITUTE REPT EXACT OFFSET INDIRECT N T TYPE CELL HYPERLINK VALUE""".split())


def check(ctx: Context, sheet: Sheet) -> list[Hit]:
    hits = []
    layout = ctx.layouts[sheet.name]
    ranges = _Ranges(ctx)
    for at, formula in ctx.parsed[sheet.name].items():
        block = layout.block_of.get(at)
        group = id(block) if block is not None else at
        for ref in formula.refs:
            target, area = ctx.area_of(ref, sheet)
            if target is None or area is None or area.size > BIG_AREA:
                continue
            why = ranges.partial(target, area) if ref.function not in NOT_ARITHMETIC else None
            if why:
                hits.append(Hit(sheet.name, at, "partial-range", f"{_show(ref)} {why}", group=(group, "partial")))
            elif not (formula.concatenates or ref.compared or ref.function in NOT_ARITHMETIC or
                      formula.skeleton == "@"):  # (=B2 copies a cell: no arithmetic)
                why = ranges.empty_or_text(target, area)
                if why:
                    hits.append(Hit(sheet.name, at, "empty-or-text", f"{_show(ref)} takes in {why}",
                                    group=(group, "empty")))
        why = _mmult_sizes(ctx, sheet, formula)
        if why:
            hits.append(Hit(sheet.name, at, "partial-range", why, group=(group, "mmult")))
    return hits


class _Ranges:
    """What the ranges formulas read take in, each range looked at once however many cells read it
    (a column summed in every cell beside it)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.partials: dict[tuple[int, Area], str | None] = {}  # (id of the sheet, area) -> why
        self.empties: dict[tuple[int, Area], str | None] = {}

    def partial(self, sheet: Sheet, area: Area) -> str | None:
        if area.size < 2:
            return None
        key = (id(sheet), area)
        if key not in self.partials:
            self.partials[key] = _partial(self.ctx, sheet, area)
        return self.partials[key]

    def empty_or_text(self, sheet: Sheet, area: Area) -> str | None:
        if area.size == 1:  # (quicker to look at than to look up)
            return _empty_or_text_at(sheet, self.ctx, (area.top, area.left))
        key = (id(sheet), area)
        if key not in self.empties:
            self.empties[key] = _empty_or_text(sheet, self.ctx, area)
        return self.empties[key]


def _show(ref: Ref) -> str:
    return f"{ref.function}({ref.text})" if ref.function else ref.text


def _empty_or_text(sheet: Sheet, ctx: Context, area: Area) -> str | None:
    for at in area.cells():
        why = _empty_or_text_at(sheet, ctx, at)
        if why:
            return why
    return None


def _empty_or_text_at(sheet: Sheet, ctx: Context, at: tuple[int, int]) -> str | None:
    cell = sheet.cells.get(at)
    if cell is None or cell.kind == EMPTY:
        style = ctx.book.style(cell.style) if cell is not None else None
        if sheet.protected and style is not None and not style.locked:
            return None  # a cell left open to type into
        return f"{_address(at)}, which is empty"
    if cell.kind == TEXT:
        return f"{_address(at)}, the label '{str(cell.value)[:30]}'"
    return None


def _partial(ctx: Context, sheet: Sheet, area: Area) -> str | None:
    """Why ``area`` (a range of ``sheet``, two cells or more) covers a block badly, or None."""
    layout = ctx.layouts[sheet.name]
    touched: dict[int, Block] = {}
    outside = 0
    for at in area.cells():
        block = layout.block_of.get(at)
        if block is None:
            outside += 1
        else:
            touched[id(block)] = block
    for block in touched.values():
        inside = _intersect(block.area, area)
        if inside == block.area or inside.size == area.size:
            continue  # the whole block, or a part of it (a row, a column) and nothing more
        along_rows = area.left == area.right or (inside.left, inside.right) == (block.area.left, block.area.right)
        along_cols = area.top == area.bottom or (inside.top, inside.bottom) == (block.area.top, block.area.bottom)
        if not (along_rows and along_cols) or len(touched) > 1:
            return f"covers part of {block.describe()} and spills past its edge"
    return None  # (a whole row or column and an empty cell or a label beside it: see empty-or-text)


def _intersect(a: Area, b: Area) -> Area:
    return Area(max(a.top, b.top), max(a.left, b.left), min(a.bottom, b.bottom), min(a.right, b.right))


def _mmult_sizes(ctx: Context, sheet: Sheet, formula: Parsed) -> str | None:
    if "MMULT" not in formula.functions:
        return None
    args = [r for r in formula.refs if r.function == "MMULT"]
    if len(args) != 2:
        return None
    (_, a), (_, b) = ctx.area_of(args[0], sheet), ctx.area_of(args[1], sheet)
    if a is None or b is None:
        return None
    inner_a, inner_b = a.right - a.left + 1, b.bottom - b.top + 1
    if inner_a == inner_b:
        return None
    return (f"MMULT({args[0].text},{args[1].text}) multiplies {a.bottom - a.top + 1}×{inner_a} by "
            f"{inner_b}×{b.right - b.left + 1}: the inner sizes differ")


def _address(at: tuple[int, int]) -> str:
    return str(Area(*at, *at))
