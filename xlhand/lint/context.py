"""What every rule looks at: the workbook, its blocks sheet by sheet, every formula parsed, and which
cells something reads (formulas on any sheet, array formulas, charts). Conditional formats only
colour cells: what they read is not counted."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from xlhand.lint.blocks import Layout, find_blocks
from xlhand.lint.formulas import Parsed, Ref, parse, reference
from xlhand.lint.reader import Area
from xlhand.lint.workbook import FORMULA, Book, Sheet

BIG_AREA = 10_000  # cells: a larger area read is kept as a rectangle, not cell by cell
NO_READERS: frozenset = frozenset()


@dataclass
class Reads:
    """The cells of one sheet that something reads, and by whom (the reading cells, when cells)."""

    cells: dict[tuple[int, int], set] = field(default_factory=dict)
    areas: set[Area] = field(default_factory=set)

    def add(self, area: Area, reader) -> None:
        if area.top == area.bottom and area.left == area.right:
            self._add((area.top, area.left), reader)
        elif area.size > BIG_AREA:
            self.areas.add(area)
        else:
            for at in area.cells():
                self._add(at, reader)

    def _add(self, at: tuple[int, int], reader) -> None:
        readers = self.cells.get(at)
        if readers is None:
            readers = self.cells[at] = set()
        readers.add(reader)

    def readers(self, at: tuple[int, int]) -> set:
        found = self.cells.get(at, NO_READERS)
        return found | {"range"} if self.areas and any(at in a for a in self.areas) else found


@dataclass
class Context:
    book: Book
    layouts: dict[str, Layout]
    parsed: dict[str, dict[tuple[int, int], Parsed]]  # sheet -> formula cell -> its formula
    reads: dict[str, Reads]
    functions: set[str]  # every function the workbook calls, without prefixes

    def area_of(self, ref: Ref, sheet: Sheet) -> tuple[Sheet | None, Area | None]:
        """The sheet and area ``ref`` (written on ``sheet``) stands for, following a defined name."""
        if ref.external:
            return None, None
        if ref.area is None:
            target = self.book.names.get(ref.text) if ref.name else None
            if not target or "," in target:
                return None, None
            ref = reference(target.lstrip("="))
            if ref.area is None or ref.external:
                return None, None
        if ref.sheet is None:
            return sheet, ref.area
        return self.book.sheet(ref.sheet), ref.area


def build_context(book: Book) -> Context:
    parsed = {s.name: {at: _parse(c.formula) for at, c in s.cells.items() if c.kind == FORMULA}
              for s in book.sheets}
    ctx = Context(book, {s.name: find_blocks(book, s, _skeletons(s, parsed[s.name]), set(parsed[s.name])) for s in book.sheets}, parsed,
                  {s.name: Reads() for s in book.sheets}, set())
    for sheet in book.sheets:
        arrays = {(a.top, a.left): a for a, _ in sheet.arrays}
        for at, formula in parsed[sheet.name].items():
            ctx.functions |= formula.functions
            reader = (sheet.name, arrays.get(at) or Area(*at, *at))
            for ref in formula.refs:
                _mark(ctx, ref, sheet, reader)
    first = book.sheets[0] if book.sheets else None
    for text in book.chart_refs:
        for ref in _parse(text).refs:
            if first is not None:
                _mark(ctx, ref, first, "chart")
    return ctx


def _skeletons(sheet: Sheet, parsed: dict):
    """A cell's formula shape, or its kind for a cell without a formula."""
    return lambda at: parsed[at].skeleton if at in parsed else "#" + sheet.cells[at].kind


def _mark(ctx: Context, ref: Ref, sheet: Sheet, reader) -> None:
    target, area = ctx.area_of(ref, sheet)
    if target is not None and area is not None:
        ctx.reads[target.name].add(area, reader)


@lru_cache(maxsize=100_000)
def _parse(text: str) -> Parsed:
    return parse(text)


def reads_other_cells(ctx: Context, sheet: Sheet, at: tuple[int, int]) -> bool:
    """Whether a formula, chart or format other than the cell itself reads the cell at ``at``."""
    return others_among(ctx.reads[sheet.name].readers(at), sheet, at)


def others_among(readers: set, sheet: Sheet, at: tuple[int, int]) -> bool:
    """Whether ``readers`` of the cell at ``at`` hold any but the cell itself."""
    return any(not (isinstance(r, tuple) and r[0] == sheet.name and at in r[1]) for r in readers)
