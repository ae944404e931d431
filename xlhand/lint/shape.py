"""The shape of a block of formulas, and the cells that break it.

In a by-hand block every cell holds one formula shape: the same tokens, with references that move
with the cell. R1C1 notation says "moves with the cell" for a relative reference (``RC[-1]``) and
"stays" for an absolute one; a written-out dot product goes further (``B20*G14+C20*G15`` in G20,
``B20*H14+C20*H15`` in H20: the W side moves down with the row, the X side right with the column,
with or without ``$``). So the shape is learnt from the block itself: every edge (top, left, bottom,
right) of every reference is fitted as ``offset + a·row + b·column`` of the cell's place in the block,
with the fit most cells agree with. A cell that has another skeleton (a term dropped, another
function) or a reference off the fit (off by one, a shifted or partial range, the neighbouring
block) breaks the shape; the fit gives the formula its neighbours suggest.

Rules here: ``shape`` and ``typed-number`` (a number typed amid a block of formulas).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from openpyxl.utils import get_column_letter

from xlhand.lint.context import Context
from xlhand.lint.findings import Hit
from xlhand.lint.formulas import Parsed, Ref, split_sheet
from xlhand.lint.patterns import by_design
from xlhand.lint.workbook import ARRAY_MEMBER, FORMULA, NUMBER, Sheet

MIN_CELLS = 3  # a shape needs at least this many formulas
MAX_BREAKS = 0.4  # more cells off the fit than this share: the block has no single shape
PREFERRED = (0, 1, -1)  # coefficients tried first: fixed, moving with the cell, moving against it


@dataclass
class Fit:
    """The shape of one block: a cell of it that follows the shape, and for each reference (slot) and
    each edge, (offset, per row, per column)."""

    top: int
    left: int
    example: tuple[int, int]
    skeleton: str
    edges: list[list[tuple[int, int, int]]]  # [slot][edge] -> (offset, a, b)
    formula: Parsed  # the example cell's formula

    def predict(self, at: tuple[int, int]) -> list[tuple[int, int, int, int]]:
        i, j = at[0] - self.top, at[1] - self.left
        return [tuple(o + a * i + b * j for o, a, b in slot) for slot in self.edges]


def check(ctx: Context, sheet: Sheet) -> list[Hit]:
    hits: list[Hit] = []
    parsed = ctx.parsed[sheet.name]
    singles = {(a.top, a.left) for a, _ in sheet.arrays if a.size > 1}
    for block in ctx.layouts[sheet.name].blocks:
        formulas = [at for at in block.computed if at in parsed and at not in singles and
                    not any(r.external for r in parsed[at].refs)]
        if len(formulas) < MIN_CELLS:
            fit = None
        else:
            fit, breaks = fit_block(block.area.top, block.area.left, {at: parsed[at] for at in formulas})
            if by_design(set(breaks), formulas, block.area) or _gathers(block, parsed, formulas, ctx.layouts[sheet.name]):
                breaks = []
            breaks = [at for at in breaks if not (fit and parsed[at].skeleton != fit.skeleton and
                                                  _starts_recurrence(fit, at, block, sheet))]
            for at in breaks:
                hits.append(Hit(sheet.name, at, "shape", _why(parsed[at], block.describe(), fit, at),
                                group=(id(block), "shape")))
        hits += _typed_numbers(sheet, block, parsed, fit)
    return hits


def fit_block(top: int, left: int, formulas: dict[tuple[int, int], Parsed]) -> tuple[Fit | None, list]:
    """The shape most of ``formulas`` share and the cells that break it (none when there is no
    clear shape)."""
    skeletons = Counter(p.skeleton for p in formulas.values())
    skeleton, count = skeletons.most_common(1)[0]
    if count < 2 or not formulas[next(iter(formulas))].readable and count < len(formulas):
        return None, []
    same = {at: p for at, p in formulas.items() if p.skeleton == skeleton}
    broken = {at for at in formulas if at not in same}
    slots = len(next(iter(same.values())).refs)
    edges = []
    for k in range(slots):
        refs = {at: p.refs[k] for at, p in same.items()}
        sheet, _ = Counter(r.sheet for r in refs.values()).most_common(1)[0]
        broken |= {at for at, r in refs.items() if r.sheet != sheet or r.area is None}
        slot, off = _fit_slot(top, left, refs)
        edges.append(slot)
        broken |= off
    if len(broken) > MAX_BREAKS * len(formulas) or len(formulas) - len(broken) < 2:
        return None, []
    example = min(at for at in same if at not in broken)
    return Fit(top, left, example, skeleton, edges, same[example]), sorted(broken)


def _gathers(block, parsed: dict, formulas: list, layout) -> bool:
    """A row or a column that collects one cell from each of several other blocks (a decoded sequence,
    every time step's output): each formula a lone reference into a block of its own, so where it
    reads follows where those blocks stand, not a shape."""
    if block.area.top != block.area.bottom and block.area.left != block.area.right:
        return False
    sources = []
    for at in formulas:
        p = parsed[at]
        if p.skeleton != "@" or p.refs[0].sheet is not None or p.refs[0].area is None or p.refs[0].area.size != 1:
            return False
        cell = (p.refs[0].area.top, p.refs[0].area.left)
        source = layout.block_of.get(cell)
        if source is block:
            return False
        sources.append(id(source) if source is not None else cell)  # a cell in no block: a source of its own
    return len(set(sources)) == len(sources)


def _starts_recurrence(fit: Fit | None, at: tuple[int, int], block, sheet: Sheet) -> bool:
    """The first cell of a recurrence (each cell reads the one before: a running sum, a scan, a time
    step): the shape would have it read the empty cell before the start, so it is written another way."""
    if fit is None:
        return False
    for mine, example in zip(fit.predict(at), fit.predict(fit.example)):
        if mine[:2] == mine[2:] and example[:2] == example[2:] and _holds_value(sheet, example[:2]) \
                and not _holds_value(sheet, mine[:2]):
            return True
    return False


def _holds_value(sheet: Sheet, at: tuple[int, int]) -> bool:
    cell = sheet.cells.get(at)
    return cell is not None and cell.kind in (FORMULA, ARRAY_MEMBER, NUMBER)


def _fit_slot(top: int, left: int, refs: dict) -> tuple[list[tuple[int, int, int]], set]:
    """The fit of each edge of one reference (see :func:`_fit_edge`), and the cells off it."""
    areas = {at: r.area for at, r in refs.items() if r.area is not None}
    lines = _straight(top, left, areas)
    if lines is not None:
        return lines, set()
    slot, off = [], set()
    for edge in range(4):
        model, wrong = _fit_edge(top, left, {at: _edge(r, edge) for at, r in refs.items() if r.area is not None},
                                 _prior(refs.values(), edge))
        slot.append(model)
        off |= wrong
    return slot, off


def _straight(top: int, left: int, areas: dict) -> list[tuple[int, int, int]] | None:
    """The usual case, decided in one pass: every edge of every area on one line through the
    block's cells (offset + a·row + b·column, steps read off any two neighbouring cells), as
    :func:`_fit_edge` would find it; None when some cell is off it."""
    if not areas:
        return [(0, 0, 0)] * 4
    (r0, c0), first = next(iter(areas.items()))
    down = _step(areas, 1, 0)
    across = _step(areas, 0, 1)
    for (r, c), area in areas.items():
        i, j = r - r0, c - c0
        if area.top != first.top + down[0] * i + across[0] * j or \
                area.left != first.left + down[1] * i + across[1] * j or \
                area.bottom != first.bottom + down[2] * i + across[2] * j or \
                area.right != first.right + down[3] * i + across[3] * j:
            return None
    start = (first.top, first.left, first.bottom, first.right)
    return [(start[e] - down[e] * (r0 - top) - across[e] * (c0 - left), down[e], across[e]) for e in range(4)]


def _step(areas: dict, rows: int, cols: int) -> tuple[int, int, int, int]:
    """How each edge changes from a cell to its neighbour ``rows`` down and ``cols`` across, for
    the first such pair of cells; no change when there is none."""
    for (r, c), area in areas.items():
        there = areas.get((r + rows, c + cols))
        if there is not None:
            return (there.top - area.top, there.left - area.left, there.bottom - area.bottom,
                    there.right - area.right)
    return (0, 0, 0, 0)


def _edge(ref: Ref, edge: int) -> int:
    a = ref.area
    return (a.top, a.left, a.bottom, a.right)[edge]


def _prior(refs, edge: int) -> tuple[int, int]:
    """The steps (per row, per column) filling a formula by dragging gives this edge: a relative
    row moves with the row, a relative column with the column, an absolute one ($) stays."""
    fixed = Counter(r.absolute[edge] for r in refs).most_common(1)[0][0]
    moves = 0 if fixed else 1
    return (moves, 0) if edge in (0, 2) else (0, moves)


def _fit_edge(top: int, left: int, values: dict, prior: tuple[int, int]) -> tuple[tuple[int, int, int], set]:
    """(offset, per row, per column) that most cells follow, and the cells off it; among fits as
    good as each other, the one dragging the formula would give (``prior``)."""
    down = Counter(values[(r + 1, c)] - v for (r, c), v in values.items() if (r + 1, c) in values)
    across = Counter(values[(r, c + 1)] - v for (r, c), v in values.items() if (r, c + 1) in values)
    a = down.most_common(1)[0][0] if down else 0
    b = across.most_common(1)[0][0] if across else 0
    offsets = {v - a * (r - top) - b * (c - left) for (r, c), v in values.items()}
    if len(offsets) <= 1:  # every cell follows the commonest steps: the usual case, decided at once
        return (offsets.pop() if offsets else 0, a, b), set()
    best, best_fits = (0, 0, 0), -1
    for a in _candidates(down, prior[0]):
        for b in _candidates(across, prior[1]):
            offsets = Counter(v - a * (r - top) - b * (c - left) for (r, c), v in values.items())
            offset, fits = offsets.most_common(1)[0] if offsets else (0, 0)
            if fits > best_fits:
                best, best_fits = (offset, a, b), fits
    offset, a, b = best
    return best, {(r, c) for (r, c), v in values.items() if v != offset + a * (r - top) + b * (c - left)}


def _candidates(steps: Counter, prior: int) -> list[int]:
    return list(dict.fromkeys([prior, *[d for d, _ in steps.most_common(3)], *PREFERRED]))


def suggest(fit: Fit, at: tuple[int, int]) -> str:
    """The formula the block's shape gives the cell at ``at``, written like the example cell's."""
    predicted = fit.predict(at)
    out, k = [], 0
    for kind, subtype, value in fit.formula.tokens():
        if kind == "OPERAND" and subtype == "RANGE":
            out.append(_render(fit.formula.refs[k], predicted[k]))
            k += 1
        else:
            out.append(value)
    return "=" + "".join(out)


def _render(ref: Ref, edges: tuple[int, int, int, int]) -> str:
    sheet, rest = split_sheet(ref.text)
    prefix = ref.text[:len(ref.text) - len(rest)]
    top, left, bottom, right = edges
    abs_top, abs_left, abs_bottom, abs_right = ref.absolute
    first = _corner(top, left, abs_top, abs_left)
    if ":" not in rest:
        return prefix + first
    return prefix + first + ":" + _corner(bottom, right, abs_bottom, abs_right)


def _corner(row: int, col: int, abs_row: bool, abs_col: bool) -> str:
    if row < 1 or col < 1:
        return "#REF!"
    return f"{'$' if abs_col else ''}{get_column_letter(col)}{'$' if abs_row else ''}{row}"


def _why(parsed: Parsed, block: str, fit: Fit | None, at) -> str:
    text = f"{parsed.text} breaks the shape of {block}"
    return text if fit is None else f"{text}: its neighbours suggest {suggest(fit, at)}"


def _typed_numbers(sheet: Sheet, block, parsed: dict, fit: Fit | None) -> list[Hit]:
    """Numbers typed into a block of formulas: their row and their column in the block are otherwise
    formulas (so a row of 1s under a block, or a bias column beside it, is not one)."""
    cells = sheet.cells
    if len(block.computed) < 2:
        return []
    numbers = [at for at in block.cells if cells[at].kind == NUMBER]
    if not numbers or len(block.computed) < len(numbers):
        return []
    rows, cols = defaultdict(list), defaultdict(list)
    for at in block.cells:
        rows[at[0]].append(at)
        cols[at[1]].append(at)
    hits = []
    for at in numbers:
        row = [cells[x].kind for x in rows[at[0]] if x != at]
        col = [cells[x].kind for x in cols[at[1]] if x != at]
        row_ok = bool(row) and all(k in (FORMULA, ARRAY_MEMBER) for k in row)
        col_ok = bool(col) and all(k in (FORMULA, ARRAY_MEMBER) for k in col)
        if (row_ok and (col_ok or not col)) or (col_ok and not row):
            why = f"the number {cells[at].value:g} is typed amid the formulas of {block.describe()}"
            if fit is not None:
                why += f": its neighbours suggest {suggest(fit, at)}"
            hits.append(Hit(sheet.name, at, "typed-number", why, group=(id(block), "typed")))
    return hits
