"""The canvas: named blocks placed relative to each other, then written as one worksheet.

An exercise's layout reads like a description of the picture::

    X = s.given("X")                             # the first block stands at the origin
    Z1 = ops.linear(s, "Z1", "W1", X, b="b1")    # Z1 below X, W1|b1 left of Z1
    A1 = ops.relu(s, "A1", Z1)                   # A1 right of Z1

and groups of blocks are arranged the way manim arranges objects::

    steps = []
    for t in range(1, T + 1):
        with s.group() as step:                  # everything placed inside moves together
            ...
        steps.append(step)
    s.arrange(steps, "right")                    # one column of blocks per time step

Coordinates are free integers while the layout is built (they may be negative, and groups move
them); when the sheet is written, everything is shifted below the header (title, legend, list of
steps) and right of a narrow margin column. Cell addresses exist only then: a block's ``cell()``
raises before :meth:`Sheet.finish`, so formulas are functions of (i, j) that the writer calls.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from xlhand.layout import style
from xlhand.layout.blocks import NAME_PATTERN, ROLES, Block, ExpectFn, FormulaFn
from xlhand.layout.box import GAP, Box, LayoutError, ShapeError, box, placed
from xlhand.layout.drawing import Chart, Glyph, Group
from xlhand.layout.style import COLUMN_WIDTH  # noqa: F401 - the writer sets every column to it

__all__ = ["GAP", "MARGIN_COLS", "Box", "Chart", "Glyph", "Group", "LayoutError", "ShapeError", "Sheet"]
MARGIN_COLS = 1
DIRECTIONS = ("right", "left", "down", "up")


@dataclass
class Sheet:
    """A worksheet under construction."""

    title: str
    subtitle: str = ""
    source: str = ""  # one line under the subtitle: where to read further
    blocks: dict[str, Block] = field(default_factory=dict)
    glyphs: list[Glyph] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    current_step: int | None = None
    header_rows: int = 0
    params: dict = field(default_factory=dict)
    specs: dict = field(default_factory=dict)  # given name -> params.Given
    dims: dict = field(default_factory=dict)
    open_groups: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)  # sheet options the shared steps read (stable softmax)

    @property
    def legend_row(self) -> int:
        """The header row of "Colours" and "Steps": under the title, subtitle and source lines."""
        return 3 if self.source else 2

    # --- steps ----------------------------------------------------------------------------
    @contextmanager
    def step(self, description: str) -> Iterator[int]:
        """Blocks placed inside belong to the next numbered step ``[n] description``."""
        self.steps.append(description)
        previous, self.current_step = self.current_step, len(self.steps)
        try:
            yield self.current_step
        finally:
            self.current_step = previous

    # --- placing blocks -------------------------------------------------------------------
    def add(
        self,
        name: str,
        shape: tuple[int, int],
        at: tuple[int, int] | None = None,
        role: str = "computed",
        label: str | None = None,
        *,
        values: np.ndarray | None = None,
        formula: FormulaFn | None = None,
        text: list[list[str]] | None = None,
        expect: ExpectFn | None = None,
        named: bool = True,
        side_label: str = "",
    ) -> Block:
        """Place a block of ``shape`` with its top-left cell at ``at`` (the origin, (0, 0), when not
        given). ``side_label`` is a short word written left of a one-row helper block (Σ, max, mean)."""
        if not NAME_PATTERN.match(name):
            raise ValueError(f"block name {name!r} must be letters, digits and underscores")
        if name.lower() in {n.lower() for n in self.blocks}:
            raise ValueError(f"block name {name!r} is already used on this sheet (names ignore case)")
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        if sum(x is not None for x in (values, formula, text)) != 1:
            raise ValueError(f"block {name}: give exactly one of values, formula, text")
        rows, cols = shape
        if rows < 1 or cols < 1:
            raise ShapeError(f"block {name}: shape {rows}x{cols} has no cells")
        at = at if at is not None else (0, 0)
        if values is not None:
            values = np.asarray(values, dtype=float).reshape(rows, cols)
        step = self.current_step
        if label is None:
            label = name
        if step is not None and formula is not None and label:
            label = f"[{step}] {label}"
        block = Block(name, role, at[0], at[1], rows, cols, label, values=values, formula=formula,
                      text=text, expect=expect, step=step, named=named, side_label=side_label)
        self.blocks[name] = block
        for group in self.open_groups:
            group.add(block)
        return block

    def given(self, name: str, at: tuple[int, int] | None = None, label: str | None = None, *,
              index: int | None = None, role: str | None = None) -> Block:
        """Place a given from the params: a number, matrix, text or list of texts.

        For a stack of matrices (a 3-D given), ``index`` (from 1) picks one: block ``NAME_index``;
        for a ragged stack (``Given.stack``), ``index`` is the item number.
        """
        spec = self.specs[name]
        value = self._given_value(name, index)
        role = role or spec.role
        block_name = name if index is None else f"{name}_{index}"
        if spec.kind == "number":
            matrix = np.atleast_2d(np.asarray(value, dtype=float))
            return self.add(block_name, matrix.shape, at, role, label or block_name, values=matrix)
        if spec.kind == "texts":
            return self.add(block_name, (1, len(value)), at, role, label or block_name, text=[list(value)])
        return self.add(block_name, (1, 1), at, role, label or block_name, text=[[value]])

    def _given_value(self, name: str, index: int | None = None):
        spec, value = self.specs[name], self.params[name]
        if index is not None and getattr(spec, "stack", None) is not None:
            return value[list(spec.items(self.dims)).index(index)]
        return value if index is None else value[index - 1]

    def given_shape(self, name: str, index: int | None = None) -> tuple[int, int]:
        """The shape of the block :meth:`given` would place (before placing it)."""
        value = self._given_value(name, index)
        if self.specs[name].kind == "number":
            return np.atleast_2d(np.asarray(value, dtype=float)).shape
        return (1, len(value)) if self.specs[name].kind == "texts" else (1, 1)

    def operand(self, name: str, at: tuple[int, int] | None = None, label: str | None = None, **kw) -> Block:
        """The given ``name``: placed at ``at`` the first time it is asked for, the same block after."""
        if name in self.blocks:
            return self.blocks[name]
        return self.given(name, at=at, label=label, **kw)

    def glyph(self, row: int, col: int, text: str, kind: str = "glyph") -> None:
        glyph = Glyph(row, col, text, kind)
        self.glyphs.append(glyph)
        for group in self.open_groups:
            group.add(glyph)

    def note(self, row: int, col: int, text: str) -> None:
        self.glyph(row, col, text, "note")

    def note_below(self, item: Block | Group, text: str) -> None:
        """A note in the row just under ``item``, at its left edge."""
        self.note(*self.adjoining(item), text)

    def note_right(self, item: Block | Group, text: str, gap: int = GAP) -> None:
        """A note right of ``item`` (after its label), level with its first row of cells; ``gap``
        counts the note's own first (empty) character as one column."""
        self.note(*self.right_of(item, max(gap - 1, 0)), text)

    def arrow(self, source: Block, target: Block) -> None:
        """An arrow in the gap between two neighbouring blocks."""
        if target.left >= source.right:
            self.glyph(source.top, source.right + (target.left - source.right - 1) // 2, "→")
        elif target.top >= source.bottom:
            self.glyph(source.bottom, source.left, "↓")

    def chart(self, title: str, series: list, at: tuple[int, int] | None = None, *, kind: str = "line",
              x_title: str = "", y_title: str = "") -> Chart:
        """Place a chart (see :class:`Chart`) with its top-left cell at ``at``."""
        at = at if at is not None else (0, 0)
        chart = Chart(title, list(series), at[0], at[1], kind, x_title, y_title, name=f"chart {title!r}")
        self.charts.append(chart)
        for group in self.open_groups:
            group.add(chart)
        return chart

    # --- relative positions ---------------------------------------------------------------
    # ``item`` is a block, a chart, a group, or the (row, col) where a labelled block will stand.
    @staticmethod
    def below(item, gap: int = GAP, in_columns_of=None) -> tuple[int, int]:
        """Top-left of a labelled block under ``item`` (leaving a gap and a label row), at its left
        edge or at that of ``in_columns_of`` (under a group, in the columns of one of its blocks)."""
        return (box(item).bottom + gap + 1, placed(in_columns_of or item).left)

    @staticmethod
    def adjoining(item) -> tuple[int, int]:
        """Top-left of an unlabelled row touching ``item`` from below, in its columns: the row of 1s
        under an input, a Σ, max or mean row under a matrix."""
        item = placed(item)
        return (box(item).bottom, item.left)

    @staticmethod
    def right_of(item, gap: int = GAP) -> tuple[int, int]:
        """Top-left of a block right of ``item``, its cells level with the item's first row of cells."""
        item = placed(item)
        return (item.first_row, box(item).right + gap)

    @staticmethod
    def left_of(item, width: int, gap: int = GAP) -> tuple[int, int]:
        """Top-left of a block ``width`` columns wide ending ``gap`` columns left of ``item``, level
        with its first row of cells: the weights of a product left of where its result stands."""
        item = placed(item)
        return (item.first_row, box(item).left - gap - width)

    @staticmethod
    def above(item, height: int, gap: int = GAP) -> tuple[int, int]:
        """Top-left of a block ``height`` rows tall over ``item`` (and its label), in its columns."""
        item = placed(item)
        return (box(item).top - gap - height, item.left)

    def clear_right(self, item: Block, above: int, gap: int = GAP) -> tuple[int, int]:
        """Top-left of a block level with ``item``, right of every block that stands in item's rows or
        in the rows over them where a labelled block ``above`` rows tall will stand (a gap and a label
        row over the item): a product ``dW = dZ·Aᵀ`` beside dZ, with room for Aᵀ above it."""
        top = item.first_row - gap - 1 - above - 1
        rights = [b.right for b in self.blocks.values() if b.spans_rows(top, item.bottom)]
        return (item.first_row, max(rights, default=self.leftmost_col()) + gap)

    def below_all(self, gap: int = 2) -> tuple[int, int]:
        """Top-left of a labelled block under everything placed so far, at the leftmost column."""
        return (self.lowest_row() + gap + 1, self.leftmost_col())

    # --- groups and arrangement -----------------------------------------------------------
    @contextmanager
    def group(self) -> Iterator[Group]:
        """Everything placed inside (blocks, weights placed on first use, arrows, notes) joins the group."""
        group = Group()
        self.open_groups.append(group)
        try:
            yield group
        finally:
            self.open_groups.remove(group)
            for outer in self.open_groups:
                outer.add(group)

    def next_to(self, item: Block | Group, anchor: Block | Group, direction: str = "right", gap: int = GAP,
                align: str = "start") -> Block | Group:
        """Move ``item`` so that it stands ``direction`` of ``anchor`` with ``gap`` empty rows or columns
        between everything they write (labels included), aligned on their ``start`` edges (top for
        right/left, left for down/up), their ``end`` edges, or ``center``."""
        if direction not in DIRECTIONS:
            raise LayoutError(f"direction {direction!r}: expected one of {', '.join(DIRECTIONS)}")
        it, an = box(item).edges(), box(anchor).edges()
        if direction in ("right", "left"):
            d_col = an[3] + gap - it[1] if direction == "right" else an[1] - gap - it[3]
            d_row = _aligned(it[0], it[2], an[0], an[2], align)
        else:
            d_row = an[2] + gap - it[0] if direction == "down" else an[0] - gap - it[2]
            d_col = _aligned(it[1], it[3], an[1], an[3], align)
        item.move(d_row, d_col)
        return item

    def arrange(self, items, direction: str = "right", gap: int = GAP, align: str = "start") -> Group:
        """Stand ``items`` one after the other ``direction`` of the first (which does not move); returns
        a group of them all."""
        items = list(items)
        for before, item in zip(items, items[1:]):
            self.next_to(item, before, direction, gap, align)
        return self.together(items)

    def grid(self, items, columns: int, gap: int = GAP, row_gap: int | None = None) -> Group:
        """Items in rows of ``columns``, left to right, rows top to bottom, each row under the tallest
        item of the row before; the first item does not move."""
        items = list(items)
        rows = [self.arrange(items[k:k + columns], "right", gap) for k in range(0, len(items), columns)]
        firsts = [items[k] for k in range(0, len(items), columns)]
        for above, row, first in zip(rows, rows[1:], firsts[1:]):
            d_row = above.bottom + (gap if row_gap is None else row_gap) - row.top
            d_col = box(firsts[0]).left - box(first).left
            row.move(d_row, d_col)
        return self.together(items)

    def together(self, items) -> Group:
        """A group of ``items`` (blocks, charts, groups), which stay where they are."""
        group = Group()
        for item in items:
            group.add(item)
        return group

    def things(self) -> list[Box]:
        """Everything on the sheet: blocks, charts, text."""
        return [*self.blocks.values(), *self.charts, *self.glyphs]

    def lowest_row(self) -> int:
        """First row under everything placed so far."""
        return max((thing.bottom for thing in self.things()), default=0)

    def rightmost_col(self) -> int:
        return max((b.right for b in self.blocks.values()), default=0)

    def leftmost_col(self) -> int:
        return min((b.left for b in self.blocks.values()), default=0)

    # --- finishing ------------------------------------------------------------------------
    def computed_blocks(self) -> list[Block]:
        return [b for b in self.blocks.values() if b.is_computed]

    def check_overlaps(self) -> None:
        """Raise if two blocks share a cell, counting each block's label as wide as its text (so no
        label is clipped or runs into another), or a glyph stands on a block or a label."""
        occupied: dict[tuple[int, int], str] = {}
        for b in self.blocks.values():
            for r, c, is_label in b.occupied():
                what = ("the label of " if is_label else "") + f"block {b.name}"
                other = occupied.get((r, c))
                if other is not None:
                    raise LayoutError(f"{self.title}: {what} overlaps {other} at row {r}, col {c}")
                occupied[(r, c)] = what
        for chart in self.charts:
            for r, c, _ in chart.occupied():
                other = occupied.get((r, c))
                if other is not None:
                    raise LayoutError(f"{self.title}: {chart.name} overlaps {other} at row {r}, col {c}")
                occupied[(r, c)] = chart.name
        for g in self.glyphs:
            for c in range(g.col, g.col + g.width()):
                other = occupied.get((g.row, c))
                if other is not None:
                    raise LayoutError(f"{self.title}: text {g.text!r} lies on {other} at row {g.row}, col {c}")
                occupied[(g.row, c)] = f"text {g.text!r}"

    def finish(self) -> None:
        """Fix positions: header on top, drawing below it, margin column on the left."""
        self.check_overlaps()
        self.header_rows = self.legend_row + 1 + max(len(self.steps), len(style.PALETTE)) + 1
        boxes = [box(thing) for thing in self.things()]
        d_row = self.header_rows - min((b.top for b in boxes), default=0)
        d_col = MARGIN_COLS - min((b.left for b in boxes), default=0)
        for thing in self.things():
            thing.move(d_row, d_col)
        for b in self.blocks.values():
            b.final = True


def _aligned(start: int, end: int, a_start: int, a_end: int, align: str) -> int:
    if align == "start":
        return a_start - start
    if align == "end":
        return a_end - end
    if align == "center":
        return (a_start + a_end) // 2 - (start + end) // 2
    raise LayoutError(f"align {align!r}: expected start, end or center")
