"""Losses: cross-entropy and mean squared error, every term written out in one cell."""
from __future__ import annotations

from xlhand.layout import fx
from xlhand.layout.blocks import Block
from xlhand.layout.sheet import ShapeError, Sheet, op
from xlhand.layout.ops.shared import shape_text

Position = tuple[int, int]


@op
def cross_entropy(s: Sheet, name: str, Y: Block, P: Block, *, at: Position | None = None,
                  label: str | None = None) -> Block:
    """``L = −Σ Y ⊙ ln P`` over every entry (classes and samples): one cell, every term written out."""
    if Y.shape != P.shape:
        raise ShapeError(f"{name}: targets {Y.name} {shape_text(Y)} and probabilities {P.name} {shape_text(P)} "
                         "differ in shape")
    terms = lambda: [f"{y}*{fx.ln(q)}" for y, q in zip(Y.cells(), P.cells())]  # noqa: E731 - addresses come last
    return s.add(name, (1, 1), at=at or s.right_of(Y), role="output",
                 label=label or f"{name} = −Σ {Y.name} ⊙ ln {P.name}",
                 formula=lambda i, j: f"-({fx.total(terms())})")


@op
def mse_loss(s: Sheet, name: str, Y: Block, T: Block, *, at: Position | None = None,
             label: str | None = None) -> tuple[Block, Block]:
    """``N`` (the number of entries, COUNT of T) and ``L = Σ (Y − T)² / N``, side by side.
    Returns (L, N)."""
    if Y.shape != T.shape:
        raise ShapeError(f"{name}: {Y.name} {shape_text(Y)} and its target {T.name} {shape_text(T)} differ in shape")
    count = s.add(f"{name}_N", (1, 1), at=at or s.right_of(T), role="computed", label="N = entries",
                  formula=lambda i, j: f"COUNT({T.range()})", expect=lambda v: float(T.rows * T.cols))
    s.anchor(count)
    diff = lambda: f"{Y.range()}-{T.range()}"  # noqa: E731 - addresses come last
    loss = s.add(name, (1, 1), at=s.right_of(count), role="output",
                 label=label or f"{name} = Σ({Y.name} − {T.name})² / N",
                 formula=lambda i, j: f"{fx.sumproduct(diff(), diff())}/{count.cell()}")
    return loss, count
