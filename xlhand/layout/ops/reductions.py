"""Reductions: sums, means, maxima and argmaxima of each row or column, beside or under the matrix
they reduce (an unlabelled helper row under it is marked Σ, max or argmax at its left)."""
from __future__ import annotations

from xlhand.layout import fx
from xlhand.layout.blocks import Block
from xlhand.layout.sheet import Sheet, op
from xlhand.layout.ops.shared import value_of

Position = tuple[int, int]


@op
def row_sums(s: Sheet, name: str, M: Block, *, at: Position | None = None, role: str = "computed",
             label: str | None = None, expect=None) -> Block:
    """``name = M·1``: one SUM per row, right of M."""
    return s.add(name, (M.rows, 1), at=at or s.right_of(M), role=role, label=label,
                 formula=lambda i, j: fx.sum_range(M.row_range(i)), expect=expect)


@op
def col_sums(s: Sheet, name: str, M: Block, *, at: Position | None = None, role: str = "computed",
             label: str | None = None, expect=None) -> Block:
    """One SUM per column, under M (``1ᵀ·M``); without a label, the row is marked Σ at its left."""
    return s.add(name, (1, M.cols), at=at or s.adjoining(M), role=role, label=label or "",
                 formula=lambda i, j: fx.sum_range(M.col_range(j)), expect=expect, side_label="" if label else "Σ")


@op
def col_max(s: Sheet, name: str, M: Block, *, at: Position | None = None, role: str = "computed",
            label: str | None = None, expect=None) -> Block:
    """The largest entry of each column, under M (``max_i M[i, j]``); without a label, marked max at its left."""
    return s.add(name, (1, M.cols), at=at or s.adjoining(M), role=role, label=label or "",
                 side_label="" if label else "max",
                 formula=lambda i, j: f"MAX({M.col_range(j)})",
                 expect=expect or (lambda v: value_of(M)(v).max(axis=0, keepdims=True)))


@op
def argmax_columns(s: Sheet, name: str, M: Block, *, at: Position | None = None, role: str = "computed",
                   label: str | None = None, expect=None) -> Block:
    """The row number (from 1) of each column's largest entry, the first one on a tie: a greedy choice."""
    return s.add(name, (1, M.cols), at=at or s.adjoining(M), role=role, label=label or "",
                 side_label="" if label else "argmax",
                 formula=lambda i, j: f"MATCH(MAX({M.col_range(j)}),{M.col_range(j)},0)",
                 expect=expect or (lambda v: value_of(M)(v).argmax(axis=0)[None, :] + 1.0))


@op
def row_means(s: Sheet, name: str, M: Block, *, at: Position | None = None, role: str = "computed",
              label: str | None = None, expect=None) -> Block:
    """``name = mean of each row of M`` (AVERAGE), right of M: mean pooling over tokens or time steps."""
    label = label if label is not None else f"{name} = mean({M.name})"
    block = s.add(name, (M.rows, 1), at=at or s.right_of(M), role=role, label=label,
                  formula=lambda i, j: fx.average(M.row_range(i)),
                  expect=expect or (lambda v: value_of(M)(v).mean(axis=1, keepdims=True)))
    if at is None:
        s.arrow(M, block, while_beside=True)
    return block
