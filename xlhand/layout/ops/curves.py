"""Curves drawn from the sheet's own cells: a function tabulated over x with its scatter chart, and
the loss over the iterations of gradient descent with its line chart."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from xlhand.layout.blocks import Block
from xlhand.layout.sheet import ShapeError, Sheet, op
from xlhand.layout.ops.shared import shape_text

Position = tuple[int, int]


@op
def curve_table(s: Sheet, name: str, xs: Sequence[float], curves: Sequence[tuple[str, str, str, Callable[[str], str]]],
                *, at: Position | None = None, title: str, x_title: str = "x", y_title: str = "",
                label: str = "x", chart_below: bool = False):
    """A function drawn by hand: a column of x values (``name``, a given helper block of numbers to
    draw over, not a params given), one column of formulas per curve right of it, and a native
    scatter chart of every curve against x right of the table (under it with ``chart_below``), fed by
    the sheet's own cells (so it follows an edit of a constant the formulas read, such as a leaky
    ReLU's α).

    ``curves`` are ``(block name, label, legend, fn)`` with ``fn(x cell) -> formula``. The table
    stands at ``at`` (under everything so far by default). Returns (x column, curve columns, chart).
    """
    x = s.add(name, (len(xs), 1), at=at or s.below_all(), role="given", label=label,
              values=np.asarray(xs, dtype=float)[:, None], named=False)  # an axis: neither checked nor graded
    columns: list[Block] = []
    for block_name, block_label, _, fn in curves:
        column = s.add(block_name, x.shape, at=s.right_of(columns[-1] if columns else x), role="computed",
                       label=block_label,
                       formula=lambda i, j, fn=fn: fn(x.cell(i, 0)))
        column.extra["drawing"] = True  # feeds a chart: not left blank on a worksheet unless its step is chosen
        columns.append(column)
    chart = s.chart(title, [(legend, (x, 0, "col"), (c, 0, "col")) for (_, _, legend, _), c in zip(curves, columns)],
                    at=s.below(x) if chart_below else s.right_of(columns[-1]), kind="scatter",
                    x_title=x_title, y_title=y_title)
    return x, columns, chart


@op
def loss_curve(s: Sheet, name: str, losses: Sequence[Block], *, at: Position | None = None,
               label: str | None = None, title: str = "Loss over the iterations"):
    """The loss of every iteration of gradient descent (1x1 blocks ``L``, ``L_2`` …) gathered in one
    1xN row ``name`` (formulas reading each), and a native line chart of it under the row (x: the
    iteration, y: the loss), fed by the sheet's own cells so it follows every edit.
    Returns (the row, the chart)."""
    if any(L.shape != (1, 1) for L in losses):
        shapes = ", ".join(f"{L.name} {shape_text(L)}" for L in losses)
        raise ShapeError(f"{name}: every loss must be 1x1, not {shapes}")
    row = s.add(name, (1, len(losses)), at=at or s.below_all(), role="output",
                label=label or f"{name}: L of iterations 1…{len(losses)}",
                formula=lambda i, j: losses[j].cell(0, 0))
    chart = s.chart(title, [("loss", row, 0, "row")], at=s.below(row), kind="line",
                    x_title="iteration", y_title="loss")
    return row, chart
