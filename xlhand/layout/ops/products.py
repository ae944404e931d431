"""Matrix products by hand: ``C = A·B`` with B above C, A left of C, C where A's rows meet B's
columns; every cell its own written-out dot product. A bias is the last column of the weights,
multiplied by a row of 1s under the input. A left operand may stand as several parts side by side
(``[Wx | Wh | b]``), some of them made in place (an identity, a transpose)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from xlhand.layout import fx
from xlhand.layout.blocks import Block, label_columns
from xlhand.layout.box import GAP
from xlhand.layout.sheet import ShapeError, Sheet, op
from xlhand.layout.ops.copies import carry, copy, transpose
from xlhand.layout.ops.shared import Operand, shape_text, width_of, with_operands

Position = tuple[int, int]


@op
def ones_row(s: Sheet, X: Block, beside: Block | None = None) -> Block:
    """The row of 1s under ``X`` that multiplies a bias column (placed once per input). With ``beside``
    (a second input touching X on its right, of products with the same weights), one row under both,
    labelled once: each product's bias column meets the 1 under its own input."""
    if "ones" not in X.extra:
        width = X.cols + (beside.cols if beside is not None else 0)
        X.extra["ones"] = s.add(f"{X.name}_ones", (1, width), at=s.adjoining(X), role="given", label="",
                                values=np.ones((1, width)), side_label="1s")
        X.extra["ones"].extra["constant"] = True  # part of the by-hand product, not a given to change
        if beside is not None:
            beside.extra["ones"], beside.extra["ones_offset"] = X.extra["ones"], X.cols
    return X.extra["ones"]


@op
def matmul(s: Sheet, name: str, A: Operand, B: Block, *, bias: Operand | None = None,
           at: Position | None = None, role: str = "computed", label: str | None = None,
           expect=None, weights_gap: int = GAP) -> Block:
    """``name = A·B (+ bias)``, each cell a dot product of one row of [A | b] and one column of [B; 1];
    [A | b] ``weights_gap`` columns left of the result (0: touching it, where a page is narrow)."""
    ones = ones_row(s, B) if bias is not None else None
    at = at or s.below(ones or B)
    placed = place_left_of(s, at, [A] + ([bias] if bias is not None else []), gap=weights_gap)
    A, bias = placed[0], (placed[1] if bias is not None else None)
    if A.cols != B.rows:
        raise ShapeError(f"{name} = {A.name}·{B.name}: {A.name} is {shape_text(A)} but {B.name} is "
                         f"{shape_text(B)} ({A.name}'s columns must equal {B.name}'s rows)")
    if bias is not None and bias.shape != (A.rows, 1):
        raise ShapeError(f"{name} = {A.name}·{B.name} + {bias.name}: {bias.name} is {shape_text(bias)}, "
                         f"expected {A.rows}x1")
    result = s.add(name, (A.rows, B.cols), at=at, role=role, label=label, formula=_dots([A], bias, B, ones),
                   expect=expect)
    return with_operands(result, [A, bias, B, ones])


@op
def linear(s: Sheet, name: str, W: Operand, X: Block, b: Operand, **kw) -> Block:
    """``name = W·X + b``: a linear layer, b as the last column of W against a row of 1s."""
    return matmul(s, name, W, X, bias=b, **kw)


def _dots(weights: Sequence[Block], bias: Block | None, X: "Block | Sequence[Block]", ones: Block | None):
    """The formula of a product: cell (i, j) is row i of [W_1 | … | b] times column j of [X; 1] (X
    may be several blocks one under the other: [X_1; X_2; 1])."""
    stack = _stack(X)
    offset = stack[-1].extra.get("ones_offset", 0)  # an input sharing its row of 1s (ones_row beside)

    def cell(i: int, j: int) -> str:
        left = [c for w in weights for c in w.row(i)] + ([bias.cell(i, 0)] if bias is not None else [])
        top = [c for x in stack for c in x.col(j)] + ([ones.cell(0, offset + j)] if ones is not None else [])
        return fx.dot(left, top)

    return cell


def _stack(X: "Block | Sequence[Block]") -> list[Block]:
    return list(X) if isinstance(X, (list, tuple)) else [X]


@dataclass(frozen=True)
class Part:
    """A part of a product's left operand that is made where it must stand, left of the result:
    ``place(at)`` puts it with its top-left cell at ``at``; it is ``width`` columns wide. See
    :func:`identity_part`, :func:`transposed_part` and :func:`matmul_parts`."""

    width: int
    place: Callable[[Position], Block]
    label: str = ""  # the label of a computed part (numbered as the sheet writes it): it may be wider


def place_left_of(s: Sheet, at: Position, parts: Sequence["Operand | Part"], gap: int = GAP) -> list[Block]:
    """Place the parts of a left operand side by side, in order, ending ``gap`` columns left of ``at``
    (the result's top-left cell), in its first row: given names on first use (a given already on the
    sheet, such as weights shared by every time step, is used where it stands), :class:`Part`\\ s
    made there. Returns the parts as blocks."""
    widths = [p.width if isinstance(p, Part) else width_of(s, p) for p in parts]
    for k, part in enumerate(parts):  # a label wider than its part takes the room it needs (the last, the gap too)
        if isinstance(part, Part) and part.label:
            spill = label_columns(s.numbered(part.label)) - (gap if k == len(parts) - 1 else 0)
            widths[k] = max(widths[k], spill)
    placed = []
    for k, part in enumerate(parts):
        spot = s.left_of(at, sum(widths[k:]), gap=gap)
        if isinstance(part, Part):
            part = part.place(spot)
        elif isinstance(part, str):
            part = s.operand(part, at=spot)
        placed.append(part)
    return placed


@op
def linear_parts(s: Sheet, name: str, Ws: Sequence[Operand], X: Block, b: Operand | None = None, *,
                 at: Position | None = None, role: str = "computed", label: str | None = None,
                 expect=None, weights_gap: int = GAP) -> Block:
    """``name = [W_1 | W_2 | …]·X (+ b)``: a product whose left operand stands as several blocks side
    by side, e.g. an RNN's ``[Wx | Wh | b]`` against ``[x_t; h_{t−1}; 1]``.

    Given names are placed left of the result, in order, with b as the last column; X's rows must
    match the parts' columns taken together. Every cell is one written-out dot product.
    """
    return matmul_parts(s, name, Ws, X, b, at=at, role=role, label=label, expect=expect, weights_gap=weights_gap)


@op
def matmul_parts(s: Sheet, name: str, parts: Sequence["Operand | Part"], X: "Block | Sequence[Block]",
                 b: "Operand | Part | None" = None, *,
                 at: Position | None = None, role: str = "computed", label: str | None = None,
                 expect=None, weights_gap: int = GAP, act: Callable[[str], str] | None = None,
                 plus: Block | None = None) -> Block:
    """:func:`linear_parts` whose parts may also be :class:`Part`\\ s made in place: ``[I | Wb | b]``
    against ``[x; z; 1]`` (a residual block: the shortcut as a visible identity), ``[I | Waᵀ]``
    against ``[dS; dA]`` (its backward pass). Given names are placed on first use, placed blocks are
    used where they stand, parts are made left of the result in order, b as the last column,
    ``weights_gap`` columns left of the result; ``act`` is written around each cell's dot product,
    and ``plus``, a block of the result's shape, added to it cell by cell (a residual connection
    ``I·x + F``: the branch F, or the gradient a shortcut hands on).
    ``X`` may be several blocks one under the other, read as one stack (``Wo·[O_1; O_2]``), the row
    of 1s under the last."""
    stack = _stack(X)
    ones = ones_row(s, stack[-1]) if b is not None else None
    at = at or s.below(ones or stack[-1])
    everything = list(parts) + ([b] if b is not None else [])
    placed = place_left_of(s, at, everything, gap=weights_gap)
    weights, bias = (placed[:-1], placed[-1]) if b is not None else (placed, None)
    width = sum(w.cols for w in weights)
    rows, cols = sum(x.rows for x in stack), stack[0].cols
    inputs = "; ".join(f"{x.name} {shape_text(x)}" for x in stack)
    if any(x.cols != cols for x in stack):
        raise ShapeError(f"{name}: the stacked inputs [{inputs}] must have the same columns")
    if any(w.rows != weights[0].rows for w in placed) or width != rows or (bias is not None and bias.cols != 1):
        shapes = ", ".join(f"{w.name} {shape_text(w)}" for w in placed)
        raise ShapeError(f"{name}: the parts [{shapes}] do not fit {inputs} (the parts' rows "
                         f"must agree and their columns add up to the input's rows; a bias is one column)")
    if plus is not None and plus.shape != (weights[0].rows, cols):
        raise ShapeError(f"{name}: {plus.name} {shape_text(plus)} is added to a {weights[0].rows}x{cols} product")
    dots = _dots(weights, bias, X, ones)

    def formula(i: int, j: int) -> str:
        value = dots(i, j) if act is None else act(dots(i, j))
        return value if plus is None else f"{value}+{plus.cell(i, j)}"

    result = s.add(name, (weights[0].rows, cols), at=at, role=role, label=label, formula=formula, expect=expect)
    return with_operands(result, [*weights, bias, *stack, ones])


def identity_part(s: Sheet, name: str, n: int, label: str = "I") -> Part:
    """An n×n identity matrix as a part of a left operand (a constant: role given, not a named block),
    so that a shortcut x enters a product as one more term ``I·x`` (a residual connection)."""
    return Part(n, lambda at: s.add(name, (n, n), at=at, role="given", label=label, values=np.eye(n), named=False))


def transposed_part(s: Sheet, name: str, W: Block, label: str | None = None) -> Part:
    """``Wᵀ`` as a part of a left operand: a transposed copy of W (formulas, role computed) where the
    product needs it, as in a backward pass ``dX = Wᵀ·dZ``."""
    label = label or f"{W.name}ᵀ"
    return Part(W.rows, lambda at: transpose(s, name, W, at, label=label, role="computed"), label)


def given_part(s: Sheet, name: str, index: int, width: int | None = None, label: str | None = None) -> Part:
    """Matrix ``index`` (from 1) of the stacked given ``name`` (``Wa_2``: layer 2's weights) as a part
    of a left operand, ``width`` columns wide (its own width by default), placed on first use and
    used where it stands after."""
    def place(at: Position) -> Block:
        block = s.blocks.get(f"{name}_{index}")
        return block if block is not None else s.given(name, at=at, label=label, index=index)

    return Part(width if width is not None else s.given_shape(name, index)[1], place)


def copied_part(s: Sheet, name: str, src: Block, label: str | None = None) -> Part:
    """A copy of ``src`` (formulas) as a part of a left operand: weights computed elsewhere, or
    weights needed again where the original is out of reach (another page), labelled ``label``
    (its name by default)."""
    return Part(src.cols, lambda at: carry(s, name, src, at=at, label=label), label or name)


def copy_part(s: Sheet, name: str, src: Block, label: str | None = None) -> Part:
    """A copy of ``src`` (cell by cell, its role kept) made left of a product's result, in its rows:
    the left operand of ``C = A·B`` brought into view (``F = V·A`` under the attention weights)."""
    return Part(src.cols, lambda at: copy(s, name, src, at=at, label=label))


@op
def linear_from(s: Sheet, name: str, W: Block, X: Block, b: Block, *, names: tuple[str, str],
                at: Position | None = None, role: str = "computed", label: str | None = None,
                expect=None) -> Block:
    """``name = W'·X + b'`` where ``W'`` and ``b'`` (named ``names``) are copies, as formulas, of blocks
    computed elsewhere, such as the previous iteration's updated weights ``W1n`` and ``b1n``.

    The copies stand left of the result exactly where :func:`linear` puts given weights (b' as the
    last column, against the row of 1s under X), so a later iteration of gradient descent starts
    from the weights the one before made, in view, the by-hand way.
    """
    ones = ones_row(s, X)
    at = at or s.below(ones)
    W_copy, b_copy = place_left_of(s, at, [copied_part(s, names[0], W), copied_part(s, names[1], b)])
    return matmul(s, name, W_copy, X, bias=b_copy, at=at, role=role, label=label, expect=expect)


@op
def linear_act(s: Sheet, name: str, fn: Callable[[str], str], W: "Operand | Part", X: Block,
               b: "Operand | Part", *, at: Position | None = None, role: str = "computed",
               label: str | None = None, expect=None, weights_gap: int = GAP) -> Block:
    """``name = fn(W·X + b)``: a linear layer whose activation is written around each cell's dot
    product (``MAX(0, …)`` for ReLU), for a step that the math states as one (``Z = ReLU(W·X + b)``)."""
    return matmul_parts(s, name, [W], X, b, at=at, role=role, label=label, expect=expect,
                        weights_gap=weights_gap, act=fn)


def weights_left_of(s: Sheet, at: Position, names: Sequence[str], *, index: int | None = None) -> list[Block]:
    """The givens ``names`` side by side in that order, ending one gap left of ``at`` (the top-left
    cell of a product's result, which they multiply), in its first row, as :func:`matmul` places
    its weights. With ``index``, matrix ``index`` (from 1) of each stacked given (blocks ``NAME_index``,
    such as one head's weights). Each is placed the first time it is asked for and is the same block
    after, wherever that is (weights shared by every MSA row)."""
    keys = [name if index is None else f"{name}_{index}" for name in names]
    if all(key in s.blocks for key in keys):
        return [s.blocks[key] for key in keys]
    if any(key in s.blocks for key in keys):
        raise ValueError(f"{', '.join(keys)}: some are placed already and some not; place them together")
    widths = [s.given_shape(name, index)[1] for name in names]
    return [s.given(name, at=s.left_of(at, sum(widths[k:])), index=index) for k, name in enumerate(names)]


@op
def solve_dot(s: Sheet, name: str, left: Sequence[tuple[Block, int, int]], right: Sequence[tuple[Block, int, int]],
              coef: tuple[Block, int, int], result: tuple[Block, int, int], *, at: Position | None = None,
              role: str = "computed", label: str | None = None, expect=None) -> Block:
    """The missing entry x of a dot product whose result is given (an inverse drill).

    ``result = Σ left_l·right_l + coef·x``, so ``x = (result − Σ left_l·right_l) / coef``: one 1x1
    block whose formula reads the given result, the known pairs and the coefficient (cells named
    as ``(block, i, j)``). The caller makes sure the coefficient is not zero.
    """
    if len(left) != len(right):
        raise ShapeError(f"{name}: {len(left)} known left entries but {len(right)} right entries")

    def cell(i: int, j: int) -> str:
        r = result[0].cell(result[1], result[2])
        c = coef[0].cell(coef[1], coef[2])
        known = fx.dot([b.cell(p, q) for b, p, q in left], [b.cell(p, q) for b, p, q in right])
        return fx.div(f"{r}-({known})" if known else r, c)

    return s.add(name, (1, 1), at=at, role=role, label=label, formula=cell, expect=expect)
