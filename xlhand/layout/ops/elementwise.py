"""Element-wise steps: ``name[i, j] = fn(inputs[i, j] …)`` right of the first input (broadcasting a
row, a column or a scalar), activations, masks, and one step of gradient descent."""
from __future__ import annotations

from typing import Callable, Sequence

from xlhand.layout import fx
from xlhand.layout.blocks import Block
from xlhand.layout.sheet import ShapeError, Sheet, op
from xlhand.layout.ops.shared import absolute, at_, shape_text, value_of

Position = tuple[int, int]


@op
def elementwise(s: Sheet, name: str, fn: Callable[..., str], inputs: Sequence[Block], *,
                at: Position | None = None, role: str = "computed", label: str | None = None,
                expect=None, arrow: bool = True) -> Block:
    """``name[i, j] = fn(input1[i, j], input2[i, j], …)``, the shape of the largest input; another input
    may be that shape, a 1x1 scalar, a row as wide or a column as tall (broadcast over the other axis).
    Anything else, such as a column against a row, is a :class:`ShapeError` naming both."""
    big = max(inputs, key=lambda b: b.rows * b.cols)
    rows, cols = big.shape
    for b in inputs:
        if b.shape not in ((rows, cols), (1, 1), (1, cols), (rows, 1)):
            raise ShapeError(f"{name}: {b.name} is {shape_text(b)} and cannot be broadcast against {big.name} "
                             f"{shape_text(big)} (expected {rows}x{cols}, 1x{cols}, {rows}x1 or 1x1)")
    first = inputs[0]
    at = at or s.right_of(first)
    block = s.add(name, (rows, cols), at=at, role=role, label=label,
                  formula=lambda i, j: fn(*(at_(b, i, j) for b in inputs)), expect=expect)
    if arrow and at == s.right_of(first):
        s.arrow(first, block, while_beside=True)
    return block


@op
def outer(s: Sheet, name: str, fn: Callable[[str, str], str], col: Block, row: Block, *,
          at: Position | None = None, role: str = "computed", label: str | None = None,
          expect=None) -> Block:
    """``name[i, j] = fn(col[i], row[j])`` for a column and a row: every pairing of the two (z / T_k
    for each score and temperature), said out loud rather than broadcast by accident."""
    if col.cols != 1 or row.rows != 1:
        raise ShapeError(f"{name}: an outer operation takes a column and a row, not {col.name} {shape_text(col)} "
                         f"and {row.name} {shape_text(row)}")
    return s.add(name, (col.rows, row.cols), at=at or s.right_of(col), role=role, label=label,
                 formula=lambda i, j: fn(col.cell(i, 0), row.cell(0, j)), expect=expect)


@op
def relu(s: Sheet, name: str, Z: Block, **kw) -> Block:
    return elementwise(s, name, fx.relu, [Z], label=kw.pop("label", f"{name} = ReLU({Z.name})"), **kw)


@op
def sigmoid(s: Sheet, name: str, Z: Block, **kw) -> Block:
    return elementwise(s, name, fx.sigmoid, [Z], label=kw.pop("label", f"{name} = σ({Z.name})"), **kw)


@op
def tanh(s: Sheet, name: str, Z: Block, **kw) -> Block:
    return elementwise(s, name, fx.tanh, [Z], label=kw.pop("label", f"{name} = tanh({Z.name})"), **kw)


@op
def gate(s: Sheet, name: str, Z: Block, **kw) -> Block:
    """The ReLU gate ``[Z > 0]``: 1 where the unit passes its input, 0 where it is shut."""
    return elementwise(s, name, lambda z: fx.step_mask(z, "1"), [Z], label=kw.pop("label", f"{name} = [{Z.name} > 0]"),
                       expect=kw.pop("expect", lambda v: (value_of(Z)(v) > 0).astype(float)), **kw)


@op
def leaky_relu(s: Sheet, name: str, Z: Block, alpha: Block, **kw) -> Block:
    """Leaky ReLU: ``z`` where ``z > 0``, else ``α·z``; α is a cell on the sheet (edit it, watch it change)."""
    return elementwise(s, name, lambda z: fx.leaky_relu(z, absolute(alpha)), [Z],
                       label=kw.pop("label", f"{name} = LeakyReLU({Z.name}), α = {alpha.name}"), **kw)


@op
def relu_backward(s: Sheet, name: str, dA: Block, Z: Block, **kw) -> Block:
    """``dZ = dA ⊙ [Z > 0]`` (ReLU'(0) = 0)."""
    return elementwise(s, name, lambda d, z: fx.step_mask(z, d), [dA, Z], role=kw.pop("role", "gradient"),
                       label=kw.pop("label", f"{name} = {dA.name} ⊙ [{Z.name} > 0]"), **kw)


@op
def sgd_step(s: Sheet, name: str, W: Block, dW: Block, lr: Block, **kw) -> Block:
    """One step of gradient descent: ``W − lr·dW``."""
    if W.shape != dW.shape:
        raise ShapeError(f"{name}: {W.name} {shape_text(W)} and its gradient {dW.name} {shape_text(dW)} "
                         "differ in shape")
    if kw.get("label") is None:
        kw.pop("label", None)
    return elementwise(s, name, lambda w, g: f"{w}-{absolute(lr)}*{g}", [W, dW], role=kw.pop("role", "output"),
                       label=kw.pop("label", f"{name} = {W.name} − lr·{dW.name}"), arrow=False, **kw)
