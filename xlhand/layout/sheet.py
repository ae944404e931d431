"""The canvas: named blocks made, placed relative to each other (see :mod:`~xlhand.layout.placing`),
then written as one worksheet.

An exercise's layout reads like a description of the picture::

    X = s.given("X")                             # the first block stands at the origin
    Z1 = ops.linear(s, "Z1", "W1", X, b="b1")    # Z1 below X, W1|b1 left of Z1
    A1 = ops.relu(s, "A1", Z1)                   # A1 right of Z1
    Y = s.given("Y")                             # made, then placed
    s.place(Y, below=A1)

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

from xlhand.layout.blocks import NAME_PATTERN, ROLES, Block, ExpectFn, FormulaFn
from xlhand.layout.box import GAP, Box, LayoutError, ShapeError, box
from xlhand.layout.drawing import CHART_COLS, CHART_ROWS, Chart, Glyph, Group
from xlhand.layout.placing import DIRECTIONS, DOWN, EVERYTHING, LEFT, RIGHT, UP, Anchored, Placing, op
from xlhand.layout.style import COLUMN_WIDTH, text_columns  # noqa: F401 - COLUMN_WIDTH: the writer sets every column to it

__all__ = ["DIRECTIONS", "DOWN", "EVERYTHING", "GAP", "LEFT", "MARGIN_COLS", "RIGHT", "SCREEN_ROWS", "UP", "Box",
           "Chart", "Glyph",
           "Group", "LayoutError", "ShapeError", "Sheet", "op"]
MARGIN_COLS = 1
SCREEN_ROWS = 1  # rows on screen only, above the print area
ASIDE_COLUMN = 24  # what is set aside stands at least this far right: past a page's width at 70 %


@dataclass
class Sheet(Placing):
    """A worksheet under construction."""

    title: str
    exercise: str = ""  # the exercise's name: the page footers, and messages
    subtitle: str = ""
    subtitle_room: str = ""  # the longest subtitle of this layout (a worksheet's): its row as tall on the key
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
    units: dict = field(default_factory=dict)  # block name -> the unit an operation laid out around it
    made_groups: list = field(default_factory=list)
    hanging: list = field(default_factory=list)  # blocks that what is placed now stands by (hanging_off)
    arrows_while_beside: list = field(default_factory=list)  # (arrow, the block it leaves, the one it enters)
    adjoined: dict = field(default_factory=dict)  # block name -> the rows made adjoining it (max, Σ, 1s)
    settings: dict = field(default_factory=dict)  # sheet options the shared steps read (stable softmax)
    min_scale: float = 1.0  # how far printing may shrink the sheet to fit the page (1: full size only)
    page_plans: dict = field(default_factory=dict, repr=False, compare=False)  # paper.page_grid, once finished
    aside: list = field(default_factory=list)  # what is kept off paper (see set_aside)

    # --- the header, top down: what the rows above the drawing hold ----------------------
    # row 0 is for the screen only (a worksheet's count of right cells): the print area starts under it
    title_row = SCREEN_ROWS
    subtitle_row = SCREEN_ROWS + 1

    @property
    def legend_row(self) -> int:
        """The row of the colours, under the title, subtitle and source lines."""
        return SCREEN_ROWS + (3 if self.source else 2)

    @property
    def name_row(self) -> int:
        """Under the legend: a worksheet's Name and Date line and its rounding rule."""
        return self.legend_row + 1

    @property
    def steps_row(self) -> int:
        """The row of step [1]; the numbered steps follow, one row each."""
        return self.name_row + 1

    @property
    def note_row(self) -> int:
        """The row after the last step: a worksheet's note on what is not accepted."""
        return self.steps_row + len(self.steps)

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

    def numbered(self, label: str) -> str:
        """A computed block's label as the sheet writes it: ``[n] label`` inside step n."""
        return f"[{self.current_step}] {label}" if self.current_step is not None and label else label

    # --- placing blocks -------------------------------------------------------------------
    def add(
        self,
        name: str,
        shape: tuple[int, int],
        *,
        at: tuple[int, int] | None = None,
        role: str = "computed",
        label: str | None = None,
        values: np.ndarray | None = None,
        formula: FormulaFn | None = None,
        text: list[list[str]] | None = None,
        expect: ExpectFn | None = None,
        named: bool = True,
        side_label: str | tuple[str, ...] = "",
        text_room: int = 0,
    ) -> Block:
        """A block of ``shape``, standing at the origin until it is placed (:meth:`place`); the shared
        steps give ``at``, its top-left cell, relative to the blocks it goes with. ``side_label`` is a
        short word written left of a one-row helper block (Σ, max, mean), or one word a row (x, x, h:
        where the rows of a stacked vector come from); ``text_room``, the columns a
        text in the block needs (a sentence), which stay empty right of it so that it shows whole."""
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
        if formula is not None:
            label = self.numbered(label)
        block = Block(name, role, at[0], at[1], rows, cols, label, values=values, formula=formula,
                      text=text, expect=expect, step=step, named=named, side_label=side_label,
                      text_room=text_room)
        self.blocks[name] = block
        if isinstance(at, Anchored):
            self.adjoined.setdefault(at.anchor.name, []).append(block)
        self._join_groups(block, at.anchor if isinstance(at, Anchored) else None)
        return block

    def given(self, name: str, *, at: tuple[int, int] | None = None, label: str | None = None,
              index: int | None = None, role: str | None = None, down: bool = False,
              text_room: int | None = None) -> Block:
        """Place a given from the params: a number, matrix, text or list of texts (in a row, or
        ``down`` a column with ``text_room`` columns for each, by default the longest's: sentences
        show whole).

        For a stack of matrices (a 3-D given), ``index`` (from 1) picks one: block ``NAME_index``;
        for a ragged stack (``Given.stack``), ``index`` is the item number.
        """
        spec = self.specs[name]
        value = self._given_value(name, index)
        role = role or spec.role
        block_name = name if index is None else f"{name}_{index}"
        if spec.kind == "number":
            matrix = np.atleast_2d(np.asarray(value, dtype=float))
            return self.add(block_name, matrix.shape, at=at, role=role, label=label or block_name, values=matrix)
        if spec.kind == "texts" and down:
            return self.add(block_name, (len(value), 1), at=at, role=role, label=label or block_name,
                            text=[[t] for t in value],
                            text_room=text_room or max(text_columns(t) for t in value))
        if spec.kind == "texts":
            return self.add(block_name, (1, len(value)), at=at, role=role, label=label or block_name,
                            text=[list(value)])
        return self.add(block_name, (1, 1), at=at, role=role, label=label or block_name, text=[[value]])

    def _given_value(self, name: str, index: int | None = None):
        spec, value = self.specs[name], self.params[name]
        if index is not None and getattr(spec, "stack", None) is not None:
            return value[list(spec.items(self.dims)).index(index)]
        return value if index is None else value[index - 1]

    def given_shape(self, name: str, index: int | None = None, down: bool = False) -> tuple[int, int]:
        """The shape of the block :meth:`given` would place (before placing it)."""
        value = self._given_value(name, index)
        if self.specs[name].kind == "number":
            return np.atleast_2d(np.asarray(value, dtype=float)).shape
        if self.specs[name].kind == "texts":
            return (len(value), 1) if down else (1, len(value))
        return (1, 1)

    def operand(self, name: str, *, at: tuple[int, int] | None = None, label: str | None = None, **kw) -> Block:
        """The given ``name``: placed at ``at`` the first time it is asked for, the same block after."""
        if name in self.blocks:
            return self.blocks[name]
        return self.given(name, at=at, label=label, **kw)

    def glyph(self, row: int, col: int, text: str, kind: str = "glyph") -> None:
        glyph = Glyph(row, col, text, kind)
        self.glyphs.append(glyph)
        self._join_groups(glyph)

    def note(self, row: int, col: int, text: str) -> None:
        self.glyph(row, col, text, "note")

    def note_below(self, item: Block | Group, text: str) -> None:
        """A note in the row just under ``item``, at its left edge."""
        self.note(*self.adjoining(item), text)

    def note_right(self, item: Block | Group, text: str, gap: int = GAP) -> None:
        """A note right of ``item`` (after its label), level with its first row of cells; ``gap``
        counts the note's own first (empty) character as one column."""
        self.note(*self.right_of(item, max(gap - 1, 0)), text)

    def arrow(self, source: Block, target: Block, *, while_beside: bool = False) -> None:
        """An arrow in the gap between two neighbouring blocks. With ``while_beside``, the arrow from an
        input to the result an operation made beside it goes when the result is placed elsewhere. An
        arrow asked for where the operation's own still stands is that one (kept, without ``while_beside``)."""
        for entry in self.arrows_while_beside:
            if entry[1] is source and entry[2] is target:
                if not while_beside:
                    self.arrows_while_beside.remove(entry)
                return
        if target.left >= source.right:
            self.glyph(source.top, source.right + (target.left - source.right - 1) // 2, "→")
        elif target.top >= source.bottom:
            self.glyph(source.bottom, source.left, "↓")
        else:
            return
        if while_beside:
            self.arrows_while_beside.append((self.glyphs[-1], source, target))

    def chart(self, title: str, series: list, *, at: tuple[int, int] | None = None, kind: str = "line",
              x_title: str = "", y_title: str = "", rows: int = CHART_ROWS, cols: int = CHART_COLS) -> Chart:
        """A chart (see :class:`Chart`) ``rows`` × ``cols`` cells, at the origin until it is placed (or
        with its top-left cell at ``at``); a smaller one where a page is short."""
        at = at if at is not None else (0, 0)
        chart = Chart(title, list(series), at[0], at[1], kind, x_title, y_title, rows, cols, name=f"chart {title!r}")
        self.charts.append(chart)
        for group in self.open_groups:
            group.add(chart)
        return chart

    # --- finishing ------------------------------------------------------------------------
    def computed_blocks(self) -> list[Block]:
        return [b for b in self.blocks.values() if b.is_computed]

    def answer_names(self) -> list[str]:
        """The blocks a worksheet leaves blank unless told otherwise: every computed block but the
        columns that only draw a chart (an activation curve over fifty x values)."""
        return [b.name for b in self.blocks.values() if b.is_computed and not b.extra.get("drawing")]

    def check_overlaps(self) -> None:
        """Raise if two blocks share a cell, counting each block's label as wide as its text (so no
        label is clipped or runs into another), or a glyph stands on a block or a label."""
        occupied: dict[tuple[int, int], str] = {}
        for b in self.blocks.values():
            for r, c, is_label in b.occupied():
                what = ("the label of " if is_label else "") + f"block {b.name}"
                other = occupied.get((r, c))
                if other is not None:
                    raise LayoutError(f"{self.exercise or self.title}: {what} overlaps {other} at row {r}, col {c}")
                occupied[(r, c)] = what
        for chart in self.charts:
            for r, c, _ in chart.occupied():
                other = occupied.get((r, c))
                if other is not None:
                    raise LayoutError(f"{self.exercise or self.title}: {chart.name} overlaps {other} at row {r}, col {c}")
                occupied[(r, c)] = chart.name
        for g in self.glyphs:
            for c in range(g.col, g.col + g.width()):
                other = occupied.get((g.row, c))
                if other is not None:
                    raise LayoutError(f"{self.exercise or self.title}: text {g.text!r} lies on {other} at row {g.row}, col {c}")
                occupied[(g.row, c)] = f"text {g.text!r}"

    def set_aside(self, item) -> None:
        """Keep ``item`` (a block or a group: a given an option leaves unused, with its note) off
        paper: when the sheet is finished it stands right of the drawing, outside the print area,
        on screen only."""
        self.aside.append(item)

    def printed(self) -> list[Box]:
        """What the pages show: everything but what is set aside."""
        away = [thing for item in self.aside for thing in _members(item)]
        return [thing for thing in self.things() if not any(thing is other for other in away)]

    def finish(self) -> None:
        """Fix positions: header on top, drawing below it, margin column on the left, what is set
        aside right of the drawing."""
        self.check_overlaps()
        self.header_rows = self.note_row + 2  # the note, then an empty row over the drawing
        boxes = [box(thing) for thing in self.printed()] or [box(thing) for thing in self.things()]
        d_row = self.header_rows - min((b.top for b in boxes), default=0)
        d_col = MARGIN_COLS - min((b.left for b in boxes), default=0)
        for thing in self.things():
            thing.move(d_row, d_col)
        # one under the other, right of the drawing and of any page's width (the header spans it)
        right = max([box(thing).right + 2 for thing in self.printed()] + [MARGIN_COLS + ASIDE_COLUMN])
        for item in self.aside:
            item.move(self.header_rows - box(item).top, right - box(item).left)
        for first, second in zip(self.aside, self.aside[1:]):
            second.move(box(first).bottom + 1 - box(second).top, 0)
        for b in self.blocks.values():
            b.final = True


def _members(item) -> list:
    """The things of a block, chart or note, or of a group."""
    return item.blocks + item.charts + item.glyphs if isinstance(item, Group) else [item]
