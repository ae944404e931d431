"""A named rectangle of cells: where it stands, what role it plays, and how to address its cells.

Positions are 0-based (row, col). A block's label sits in the row just above it, so its
*footprint* (what may not overlap another block's) is one row taller than the block itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from xlhand.layout.style import text_columns
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from xlhand.layout.box import Box

ROLES = ("given", "weight", "bias", "target", "computed", "output", "gradient", "blank")
GIVEN, WEIGHT, BIAS, TARGET, COMPUTED, OUTPUT, GRADIENT, BLANK = ROLES

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DEFINED_NAME_PREFIX = "x_"


def defined_name(block_name: str) -> str:
    """The workbook-scoped defined name of a block: ``x_`` + the block name.

    The prefix keeps every name from reading as a cell reference (``W1``, ``dW1``, ``H1`` and
    ``R1C1``-style names all do) and uses only letters, digits and underscores, which Excel,
    LibreOffice and ``formulas`` all accept. Names are case-insensitive in spreadsheets, so the
    canvas refuses two blocks whose names differ only in case.
    """
    return DEFINED_NAME_PREFIX + block_name


def block_name_of(defined: str) -> str | None:
    """Inverse of :func:`defined_name`; ``None`` for names xlhand did not make."""
    if defined.lower().startswith(DEFINED_NAME_PREFIX):
        return defined[len(DEFINED_NAME_PREFIX):]
    return None


@dataclass(frozen=True)
class Scope:
    """The names of one part of a sheet, all starting with ``prefix``: with ``enc = Scope("enc_")``,
    ``enc("Q", 2)`` is ``enc_Q_2`` and ``enc.short(block)`` is that block's name without the prefix
    (what a label inside the part calls it). Names are made from a scope, never taken apart."""

    prefix: str

    def __call__(self, base: str, *index: int) -> str:
        return self.prefix + "_".join([base, *(str(i) for i in index)])

    def short(self, block: "Block") -> str:
        name = block.name
        return name[len(self.prefix):] if self.prefix and name.startswith(self.prefix) else name


FormulaFn = Callable[[int, int], str]
ExpectFn = Callable[[dict], np.ndarray]


@dataclass(eq=False)
class Block(Box):
    """A named matrix of cells. Exactly one of ``values``, ``formula`` or ``text`` fills it."""

    name: str
    role: str
    top: int
    left: int
    rows: int
    cols: int
    label: str = ""
    values: np.ndarray | None = None
    formula: FormulaFn | None = None
    text: list[list[str]] | None = None
    expect: ExpectFn | None = None
    step: int | None = None
    named: bool = True
    side_label: str | tuple[str, ...] = ""  # left of every row, or one a row (where a stacked vector's rows come from)
    text_room: int = 0  # columns a text in the block's cells needs (a sentence): the cells right of it stay empty
    extra: dict = field(default_factory=dict)
    final: bool = False  # set by Sheet.finish(): only then are cell addresses known

    @property
    def is_helper_row(self) -> bool:
        """A one-row helper under a matrix, named by one short side label (Σ, max, mean, 1s)."""
        return self.rows == 1 and isinstance(self.side_label, str) and bool(self.side_label)

    # --- geometry (top, left, rows, cols, bottom, right: see box.Box) ---------------------
    @property
    def is_computed(self) -> bool:
        return self.formula is not None

    def footprint(self) -> Box:
        """Every cell the block writes in: its cells (and the room its texts run on into), the label
        row above them as wide as the label's text, and the cell left of it for a side label."""
        width = max(self.cols, label_columns(self.label)) if self.label else self.cols
        width = max(width, self.cols - 1 + self.text_room)
        top, left = self.top - (1 if self.label else 0), self.left - (1 if self.side_label else 0)
        return Box(top, left, self.bottom - top, self.left + width - left)

    def occupied(self) -> list[tuple[int, int, bool]]:
        """(row, col, is a label cell) of every cell the block writes in: the label row as wide as its
        text, the block's cells, and the side label's cell left of each row."""
        cells = []
        if self.label:
            cells.extend((self.top - 1, self.left + c, True) for c in range(label_columns(self.label)))
        for r in range(self.top, self.bottom):
            cells.extend((r, c, False) for c in range(self.left, self.right))
            cells.extend((r, c, True) for c in range(self.right, self.left + self.cols - 1 + self.text_room))
            if self.side_label:
                cells.append((r, self.left - 1, True))
        return cells

    # --- addresses (valid once the sheet has fixed its positions) --------------------------
    def cell(self, i: int = 0, j: int = 0, absolute: bool = False) -> str:
        if not self.final:
            raise EarlyAddress(f"the address of {self.name}[{i},{j}] was asked for before the layout was final: "
                               "build formulas as functions of (i, j), which the sheet calls when it is written")
        if not (0 <= i < self.rows and 0 <= j < self.cols):
            raise IndexError(f"{self.name}[{i},{j}] outside {self.rows}x{self.cols}")
        return xl_rowcol_to_cell(self.top + i, self.left + j, absolute, absolute)

    def row(self, i: int) -> list[str]:
        return [self.cell(i, j) for j in range(self.cols)]

    def col(self, j: int) -> list[str]:
        return [self.cell(i, j) for i in range(self.rows)]

    def cells(self) -> list[str]:
        return [self.cell(i, j) for i in range(self.rows) for j in range(self.cols)]

    def range(self, absolute: bool = False) -> str:
        first = self.cell(0, 0, absolute)
        last = self.cell(self.rows - 1, self.cols - 1, absolute)
        return first if first == last else f"{first}:{last}"

    def row_range(self, i: int) -> str:
        return _span(self.cell(i, 0), self.cell(i, self.cols - 1))

    def col_range(self, j: int) -> str:
        return _span(self.cell(0, j), self.cell(self.rows - 1, j))

    def column_letter(self, j: int = 0) -> str:
        return xl_col_to_name(self.left + j)


class EarlyAddress(RuntimeError):
    """A cell address asked for while blocks may still move: a bug in an exercise's layout."""


def label_columns(text: str) -> int:
    """How many columns a bold label needs, measured with Excel's character widths (Calibri 11)."""
    return text_columns(text, bold=True)


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first}:{last}"
