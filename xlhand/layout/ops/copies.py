"""Blocks brought into view where a step needs them, as on paper: copies (whole, some rows, one
column), transposes, stacks, and constant rows."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from xlhand.layout.blocks import Block
from xlhand.layout.sheet import ShapeError, Sheet, op
from xlhand.layout.ops.shared import shape_text, value_of

Position = tuple[int, int]


@op
def copy(s: Sheet, name: str, src: Block, at: Position | None = None, label: str | None = None, *,
         column: int | None = None, marked: bool = False) -> Block:
    """A copy of ``src`` (cell by cell; with ``column``, of that column only) where a step needs it in
    view, as on paper: an operand brought next to a product (``y_l = h_l·c_l`` with c_l the column l
    of C, placed above y_l). ``marked``: no label row, its label at the left of its first row (a copy
    as tall as the product it stands against)."""
    if marked:
        return s.add(name, src.shape, at=at, role=src.role, label="",
                     side_label=(label or src.name,) + ("",) * (src.rows - 1),
                     formula=lambda i, j: src.cell(i, j), expect=value_of(src))
    if column is None:
        return s.add(name, src.shape, at=at, role=src.role, label=label or src.name,
                     formula=lambda i, j: src.cell(i, j), expect=value_of(src))
    return s.add(name, (src.rows, 1), at=at, role=src.role, label=label or f"{src.name}[:, {column + 1}]",
                 formula=lambda i, j: src.cell(i, column), expect=lambda v: value_of(src)(v)[:, column:column + 1])


@op
def carry(s: Sheet, name: str, src: Block, at: Position | None = None, label: str | None = None,
          role: str = "computed") -> Block:
    """A copy of ``src``, cell by cell, under a new name and with a role of its own (``computed`` by
    default: a copy holds formulas even when ``src`` is a given): what a later iteration starts from
    (its inputs, targets and weights), brought into view where that iteration works."""
    return s.add(name, src.shape, at=at, role=role, label=label or name,
                 formula=lambda i, j: src.cell(i, j), expect=value_of(src))


@op
def copy_rows(s: Sheet, name: str, src: Block, start: int, stop: int, at: Position | None = None,
              label: str | None = None, role: str | None = None) -> Block:
    """Rows ``start … stop−1`` (0-based) of ``src``, copied cell by cell: one head's slice of Q, K or V."""
    return s.add(name, (stop - start, src.cols), at=at, role=role or src.role,
                 label=label or f"{name} = {src.name}[rows {start + 1}–{stop}]",
                 formula=lambda i, j: src.cell(start + i, j), expect=lambda v: value_of(src)(v)[start:stop])


@op
def transpose(s: Sheet, name: str, src: Block, at: Position | None = None, label: str | None = None,
              role: str | None = None) -> Block:
    """A transposed copy of ``src``: cell (i, j) reads src (j, i)."""
    return s.add(name, (src.cols, src.rows), at=at, role=role or src.role, label=label or f"{src.name}ᵀ",
                 formula=lambda i, j: src.cell(j, i), expect=lambda v: value_of(src)(v).T)


@op
def stack(s: Sheet, name: str, parts: Sequence[Block], at: Position | None = None, role: str = "computed",
          label: str | None = None, expect=None) -> Block:
    """Copies of several blocks of equal width, one under the other (``[x_t; h_{t-1}]``)."""
    cols = parts[0].cols
    if any(p.cols != cols for p in parts):
        shapes = ", ".join(f"{p.name} {shape_text(p)}" for p in parts)
        raise ShapeError(f"{name}: stacked parts of different widths ({shapes})")
    rows = [(p, i) for p in parts for i in range(p.rows)]
    return s.add(name, (len(rows), cols), at=at, role=role, label=label,
                 formula=lambda i, j: rows[i][0].cell(rows[i][1], j), expect=expect)


@op
def column_over_state(s: Sheet, name: str, X: Block, j: int, h_prev: Block, at: Position | None = None,
                      label: str | None = None, row_labels: tuple[str, str] = ("x", "h")) -> Block:
    """``[x_j; h]``: copies of column j of X over the previous hidden state (a recurrent cell's input),
    each row marked with where it comes from (``row_labels``)."""
    n = X.rows

    def cell(i: int, _: int) -> str:
        return X.cell(i, j) if i < n else h_prev.cell(i - n, 0)

    return s.add(name, (n + h_prev.rows, 1), at=at, role="computed", label=label or name, formula=cell,
                 side_label=(row_labels[0],) * n + (row_labels[1],) * h_prev.rows)


@op
def copy_columns(s: Sheet, name: str, columns: Sequence[Block], at: Position | None = None,
                 role: str = "output", label: str | None = None) -> Block:
    """Gather one-column blocks side by side into one matrix (``H = [h_1 … h_T]``)."""
    rows = columns[0].rows
    if any(c.shape != (rows, 1) for c in columns):
        raise ShapeError(f"{name}: the columns {', '.join(f'{c.name} {shape_text(c)}' for c in columns)} "
                         f"are not all {rows}x1")
    return s.add(name, (rows, len(columns)), at=at, role=role, label=label,
                 formula=lambda i, j: columns[j].cell(i, 0))


@op
def row_under(s: Sheet, name: str, X: Block, value: float, side_label: str) -> Block:
    """A row of one constant right under ``X``, as wide as X, with no label of its own but a short
    ``side_label``: the 0 stacked under each input of a two-class softmax, ``[x; 0]``."""
    row = s.add(name, (1, X.cols), at=s.adjoining(X), role="given", label="", values=np.full((1, X.cols), float(value)),
                side_label=side_label)
    row.extra["constant"] = True  # part of the layout, not a given to change
    return row
