"""The canvas: named blocks placed relative to each other, then written as one worksheet.

An exercise's layout reads like a description of the picture::

    X = s.given("X", at=(0, 0))
    Z1 = ops.linear(s, "Z1", "W1", X, b="b1")    # Z1 below X, W1|b1 left of Z1
    A1 = ops.relu(s, "A1", Z1)                   # A1 right of Z1

Coordinates are free integers while the layout is built (they may be negative); when the sheet
is written, everything is shifted below the header (title, legend, list of steps) and right of
a narrow margin column. Formulas are produced only then, so they always point at final cells.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from . import style
from .blocks import NAME_PATTERN, ROLES, Block, ExpectFn, FormulaFn, defined_name

GAP = 1  # empty rows/columns between blocks
MARGIN_COLS = 1
COLUMN_WIDTH = 7.5


@dataclass
class Glyph:
    """A piece of free text on the sheet: an arrow, an operator, a note."""

    row: int
    col: int
    text: str
    kind: str = "glyph"  # glyph | note | label


@dataclass
class LineChart:
    title: str
    series: list[tuple[str, Block, int]]  # (legend name, block, row index)
    row: int
    col: int
    x_title: str = ""
    y_title: str = ""


@dataclass
class Sheet:
    """A worksheet under construction."""

    title: str
    subtitle: str = ""
    blocks: dict[str, Block] = field(default_factory=dict)
    glyphs: list[Glyph] = field(default_factory=list)
    charts: list[LineChart] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    current_step: int | None = None
    header_rows: int = 0
    params: dict = field(default_factory=dict)
    specs: dict = field(default_factory=dict)  # given name -> params.Given
    dims: dict = field(default_factory=dict)

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
        at: tuple[int, int],
        role: str = "computed",
        label: str | None = None,
        *,
        values: np.ndarray | None = None,
        formula: FormulaFn | None = None,
        text: list[list[str]] | None = None,
        expect: ExpectFn | None = None,
        array_formula: bool = False,
        named: bool = True,
    ) -> Block:
        if not NAME_PATTERN.match(name):
            raise ValueError(f"block name {name!r} must be letters, digits and underscores")
        if name.lower() in {n.lower() for n in self.blocks}:
            raise ValueError(f"block name {name!r} is already used on this sheet (names ignore case)")
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        if sum(x is not None for x in (values, formula, text)) != 1:
            raise ValueError(f"block {name}: give exactly one of values, formula, text")
        rows, cols = shape
        if values is not None:
            values = np.asarray(values, dtype=float).reshape(rows, cols)
        step = self.current_step
        if label is None:
            label = name
        if step is not None and formula is not None and label:
            label = f"[{step}] {label}"
        block = Block(name, role, at[0], at[1], rows, cols, label, values=values, formula=formula,
                      text=text, expect=expect, step=step, array_formula=array_formula, named=named)
        self.blocks[name] = block
        return block

    def given(self, name: str, at: tuple[int, int], label: str | None = None, *, index: int | None = None,
              role: str | None = None) -> Block:
        """Place a given from the params: a number, matrix, text or list of texts.

        For a stack of matrices (a 3-D given), ``index`` (from 1) picks one: block ``NAME_index``;
        for a ragged stack (``Given.stack``), ``index`` is the item number.
        """
        spec = self.specs[name]
        value = self.params[name]
        role = role or spec.role
        block_name = name if index is None else f"{name}_{index}"
        if index is not None and getattr(spec, "stack", None) is not None:
            value = value[list(spec.items(self.dims)).index(index)]
        elif index is not None:
            value = value[index - 1]
        if spec.kind == "number":
            matrix = np.atleast_2d(np.asarray(value, dtype=float))
            return self.add(block_name, matrix.shape, at, role, label or block_name, values=matrix)
        if spec.kind == "texts":
            return self.add(block_name, (1, len(value)), at, role, label or block_name, text=[list(value)])
        return self.add(block_name, (1, 1), at, role, label or block_name, text=[[value]])

    def glyph(self, row: int, col: int, text: str, kind: str = "glyph") -> None:
        self.glyphs.append(Glyph(row, col, text, kind))

    def note(self, row: int, col: int, text: str) -> None:
        self.glyph(row, col, text, "note")

    def arrow(self, source: Block, target: Block) -> None:
        """An arrow in the gap between two neighbouring blocks."""
        if target.left >= source.right:
            self.glyph(source.top, source.right + (target.left - source.right - 1) // 2, "→")
        elif target.top >= source.bottom:
            self.glyph(source.bottom, source.left, "↓")

    def line_chart(self, title: str, series: list[tuple[str, Block, int]], at: tuple[int, int],
                   x_title: str = "", y_title: str = "") -> None:
        self.charts.append(LineChart(title, series, at[0], at[1], x_title, y_title))

    # --- relative positions ---------------------------------------------------------------
    @staticmethod
    def below(block: Block, gap: int = GAP) -> tuple[int, int]:
        """Top-left of a block under ``block`` (leaving a gap and a label row)."""
        return (block.bottom + gap + 1, block.left)

    @staticmethod
    def right_of(block: Block, gap: int = GAP) -> tuple[int, int]:
        return (block.top, block.right + gap)

    @staticmethod
    def left_of(block: Block, width: int, gap: int = GAP) -> tuple[int, int]:
        return (block.top, block.left - gap - width)

    @staticmethod
    def above(block: Block, height: int, gap: int = GAP) -> tuple[int, int]:
        return (block.top - gap - 1 - height, block.left)

    def lowest_row(self) -> int:
        """First row under everything placed so far."""
        rows = [b.bottom for b in self.blocks.values()] + [g.row + 1 for g in self.glyphs]
        return max(rows, default=0)

    def rightmost_in_rows(self, top: int, bottom: int) -> int:
        """First column right of every block (with its label) that touches rows [top, bottom)."""
        rights = [b.right for b in self.blocks.values()
                  if b.footprint()[0] < bottom and b.bottom > top]
        return max(rights, default=self.leftmost_col())

    def rightmost_col(self) -> int:
        return max((b.right for b in self.blocks.values()), default=0)

    def leftmost_col(self) -> int:
        return min((b.left for b in self.blocks.values()), default=0)

    # --- finishing ------------------------------------------------------------------------
    def computed_blocks(self) -> list[Block]:
        return [b for b in self.blocks.values() if b.is_computed]

    def check_overlaps(self) -> None:
        """Raise if two blocks (with their label rows) or a glyph and a block share a cell."""
        occupied: dict[tuple[int, int], str] = {}
        for b in self.blocks.values():
            top, left, bottom, right = b.footprint()
            for r in range(top, bottom):
                for c in range(left, right):
                    label_row = bool(b.label) and r == top
                    key = (r, c)
                    other = occupied.get(key)
                    if other is not None and not (label_row and other.endswith(" label")):
                        raise LayoutError(f"{self.title}: block {b.name} overlaps {other.split()[0]}")
                    occupied[key] = f"{b.name} label" if label_row else b.name
        for g in self.glyphs:
            other = occupied.get((g.row, g.col))
            if other is not None and not other.endswith(" label"):
                raise LayoutError(f"{self.title}: text {g.text!r} lies on block {other}")

    def finish(self) -> None:
        """Fix positions: header on top, drawing below it, margin column on the left."""
        self.check_overlaps()
        self.header_rows = 3 + max(len(self.steps), len(style.PALETTE)) + 1
        tops = [b.footprint()[0] for b in self.blocks.values()] + [g.row for g in self.glyphs]
        lefts = [b.left for b in self.blocks.values()] + [g.col for g in self.glyphs]
        d_row = self.header_rows - min(tops, default=0)
        d_col = MARGIN_COLS - min(lefts, default=0)
        for b in self.blocks.values():
            b.move(d_row, d_col)
        for g in self.glyphs:
            g.row += d_row
            g.col += d_col
        for c in self.charts:
            c.row += d_row
            c.col += d_col


class LayoutError(RuntimeError):
    """Two things were placed on the same cell: a bug in an exercise's layout."""


def values_are_integers(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def block_defined_names(sheet: Sheet) -> dict[str, str]:
    """defined name -> absolute range, for every named block."""
    return {defined_name(b.name): b.range(absolute=True) for b in sheet.blocks.values() if b.named}
