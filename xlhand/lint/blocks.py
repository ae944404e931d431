"""Finding the blocks of a sheet, with or without xlhand's metadata.

A block is what a by-hand sheet draws as one matrix: a rectangle of numbers or formulas with one
look (fill colour), usually with a label above it. Where a workbook names its blocks (xlhand's
``x_W1`` defined names, or anyone's names for a rectangle), each named rectangle is a block; the
remaining cells are grouped into blocks as the neighbouring (left, right, above, below) non-text cells
that share a fill. Text cells are labels, never part of a block.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from xlhand.lint.formulas import reference
from xlhand.lint.reader import Area
from xlhand.lint.workbook import ARRAY_MEMBER, EMPTY, TEXT, Book, Sheet

MAX_NAMED_CELLS = 100_000


@dataclass
class Block:
    area: Area  # the bounding rectangle
    cells: list[tuple[int, int]] = field(default_factory=list)
    name: str = ""  # the defined name, or the label above, or ""
    computed: list[tuple[int, int]] = field(default_factory=list)  # its cells holding a formula or an array's part

    def describe(self) -> str:
        return f"block '{self.name}' ({self.area})" if self.name else f"block {self.area}"


@dataclass
class Layout:
    """The blocks of one sheet and, for each cell in one, its block."""

    blocks: list[Block]
    block_of: dict[tuple[int, int], Block]


def find_blocks(book: Book, sheet: Sheet, skeleton_of: Callable[[tuple[int, int]], str],
                formulas: set[tuple[int, int]]) -> Layout:
    """The blocks of ``sheet``; ``formulas`` are its formula cells, ``skeleton_of(cell)`` tells their
    shapes apart (see :func:`_peel`)."""
    members = _members(book, sheet)
    block_of: dict[tuple[int, int], Block] = {}
    blocks = []
    for name, area in _named_rectangles(book, sheet):
        block = Block(area, sorted(at for at in area.cells() if at in members and at not in block_of), name)
        if block.cells:
            blocks.append(_fit(block))
            block_of.update(dict.fromkeys(block.cells, block))
    free = {at: fill for at, fill in members.items() if at not in block_of} if block_of else members
    for whole in _components(free):
        for block in _peel(whole, skeleton_of) if formulas.intersection(whole.cells) else [whole]:
            block.name = _label(sheet, block.area)
            block_of.update(dict.fromkeys(block.cells, block))
            blocks.append(block)
    computed = formulas | _array_parts(sheet)
    for block in blocks:
        if not computed.isdisjoint(block.cells):  # (a block of numbers alone is not walked again)
            block.computed = [at for at in block.cells if at in computed]
    return Layout(blocks, block_of)


def _array_parts(sheet: Sheet) -> set[tuple[int, int]]:
    """The cells an array formula fills, other than its first."""
    return {at for area, _ in sheet.arrays for at in area.cells()
            if at in sheet.cells and sheet.cells[at].kind == ARRAY_MEMBER}


def _members(book: Book, sheet: Sheet) -> dict[tuple[int, int], int]:
    """The cells that belong to a block, with their fill. Text cells are labels; an empty cell
    belongs to a block by its look: filled, or left open to type in."""
    looks = {number: book.style(number) for number in {cell.style for cell in sheet.cells.values()}}
    out = {}
    for at, cell in sheet.cells.items():
        if cell.kind == TEXT:
            continue
        style = looks[cell.style]
        if cell.kind != EMPTY or style.fill > 1 or (sheet.protected and not style.locked):
            out[at] = style.fill
    return out


def _named_rectangles(book: Book, sheet: Sheet) -> list[tuple[str, Area]]:
    """Defined names that stand for one rectangle of this sheet, smallest first."""
    names_of = {sheet.name.casefold()}
    out = []
    for name, text in book.names.items():
        if "," in text or "(" in text:
            continue
        ref = reference(text.lstrip("="))
        if ref.area is not None and not ref.external and ref.sheet is not None and \
                ref.sheet.casefold() in names_of and ref.area.size <= MAX_NAMED_CELLS:
            out.append((name[2:] if name.startswith("x_") else name, ref.area))
    return sorted(out, key=lambda item: (item[1].size, item[0]))


def _components(fills: dict[tuple[int, int], int]) -> list[Block]:
    """The groups of neighbouring cells (left, right, above, below) that share a fill, found as runs
    along each row joined to the overlapping runs of the row above (union-find over runs); each a
    block of its cells in order."""
    runs: list[list] = []  # [row, first col, last col, fill, its cells]
    run: list = [0, 0, 0, None, []]
    for at, fill in sorted(fills.items()):
        r, c = at
        if run[0] == r and run[2] == c - 1 and run[3] == fill:
            run[2] = c
            run[4].append(at)
        else:
            run = [r, c, c, fill, [at]]
            runs.append(run)
    parent = list(range(len(runs)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    above_start = above_end = 0  # the runs of the previous row: runs[above_start:above_end]
    for k, (r, c1, c2, fill, _) in enumerate(runs):
        if k == 0 or runs[k - 1][0] != r:
            above_start, above_end = (above_end, k) if k and runs[k - 1][0] == r - 1 else (k, k)
        while above_start < above_end and runs[above_start][2] < c1:
            above_start += 1  # (it ends left of this run, so left of the rest of the row too)
        for j in range(above_start, above_end):
            _, d1, _, other, _ = runs[j]
            if d1 > c2:
                break
            if other == fill:
                parent[root(j)] = root(k)
    groups: dict[int, list] = {}  # root -> [top, left, bottom, right, cells]
    for k, (r, c1, c2, _, cells) in enumerate(runs):
        group = groups.get(root(k))
        if group is None:
            groups[root(k)] = [r, c1, r, c2, list(cells)]
        else:
            group[1], group[2], group[3] = min(group[1], c1), r, max(group[3], c2)
            group[4].extend(cells)
    return [Block(Area(*bounds), cells) for *bounds, cells in groups.values()]


def _peel(block: Block, skeleton_of) -> list[Block]:
    """Split off an edge row or column whose formulas share no shape with the rest of the block: the
    row of sums under a softmax's exponentials, a row of maxima above it, a row of 1s under a block."""
    shapes = {at: skeleton_of(at) for at in block.cells}
    if len(set(shapes.values())) == 1:
        return [block]
    out = []
    while True:
        for edge in _edges(block):
            rest = [at for at in block.cells if at not in edge]
            if rest and edge and not {shapes[at] for at in edge} & {shapes[at] for at in rest}:
                out.append(_fit(Block(block.area, sorted(edge))))
                block = _fit(Block(block.area, rest))
                break
        else:
            return out + [block]


def _edges(block: Block) -> list[set]:
    a = block.area
    return [{at for at in block.cells if at[0] == a.bottom}, {at for at in block.cells if at[0] == a.top},
            {at for at in block.cells if at[1] == a.right}, {at for at in block.cells if at[1] == a.left}]


def _fit(block: Block) -> Block:
    rows = [r for r, _ in block.cells]
    cols = [c for _, c in block.cells]
    block.area = Area(min(rows), min(cols), max(rows), max(cols))
    return block


def _label(sheet: Sheet, area: Area) -> str:
    """The text just above the block (within two rows), or just left of its first cell."""
    for row in (area.top - 1, area.top - 2):
        for col in range(area.left, area.right + 1):
            cell = sheet.cells.get((row, col))
            if cell is not None and cell.kind == TEXT and str(cell.value).strip():
                return str(cell.value).strip()[:40]
    cell = sheet.cells.get((area.top, area.left - 1))
    if cell is not None and cell.kind == TEXT and str(cell.value).strip():
        return str(cell.value).strip()[:40]
    return ""
