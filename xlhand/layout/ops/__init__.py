"""The steps every exercise shares, each placed the by-hand way.

Matrix product ``C = A·B``: B above C, A left of C, C where A's rows meet B's columns; every cell
its own written-out dot product. A bias is the last column of the weights, multiplied by a row of
1s under the input. Element-wise steps (activations, masks, gates) sit right of their input.

Blocks that only help the eye (a transpose, the exponentials of a softmax, a LayerNorm's mean)
carry their own NumPy expectation, computed from the oracle's values of their inputs; blocks that
an exercise names in exercises.md must come from the exercise's reference.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from xlhand.layout import fx
from xlhand.layout.blocks import Block
from xlhand.layout.sheet import GAP, Sheet, ShapeError
from xlhand.layout.paper import COLUMN_MM, MARGIN_COLUMN_MM, PAPERS, printable_mm

Operand = Block | str  # a placed block, or the name of a given to place where it belongs


def at_(block: Block, i: int, j: int) -> str:
    """Cell (i, j) of ``block``, broadcasting a row, a column or a single cell."""
    return block.cell(i if block.rows > 1 else 0, j if block.cols > 1 else 0)


def absolute(block: Block) -> str:
    """The absolute address of a 1x1 block (a scalar such as a learning rate)."""
    return block.cell(0, 0, absolute=True)


def value_of(block: Block) -> Callable[[dict], np.ndarray]:
    return lambda v: np.atleast_2d(np.asarray(v[block.name], dtype=float))


def level(rows, cols, *, height: int | None = None, align: str = "start") -> tuple[int, int]:
    """Top-left of a block standing in the rows of ``rows`` and the columns of ``cols`` (blocks or
    groups, their cells, not their labels): a product where its left operand's rows meet its input's
    columns, or a block level with its counterpart in a panel beside it that shares its weights (the
    same network without its shortcuts). With ``align="end"``, a block ``height`` rows tall whose last
    row is the last row of ``rows``."""
    blocks = [rows] if isinstance(rows, Block) else rows.blocks
    columns = [cols] if isinstance(cols, Block) else cols.blocks
    if align == "start":
        top = min(b.top for b in blocks)
    elif align == "end" and height is not None:
        top = max(b.bottom for b in blocks) - height
    else:
        raise ShapeError(f"level: align {align!r} (with height for 'end'): expected start, or end with a height")
    return (top, min(b.left for b in columns))



def under(above, cols, gap: int = GAP) -> tuple[int, int]:
    """Top-left of a labelled block under everything in ``above`` (a block or a group, labels
    included) and in the columns of ``cols``: the next stage of a chain that starts again under its
    input's columns after a stage that spread to the right (attention's softmax, one head)."""
    columns = [cols] if isinstance(cols, Block) else cols.blocks
    bottom = above.bottom if isinstance(above, Block) else max(b.bottom for b in above.blocks + above.charts)
    return (bottom + gap + 1, min(b.left for b in columns))


# --- products ------------------------------------------------------------------------------
def ones_row(s: Sheet, X: Block) -> Block:
    """The row of 1s under ``X`` that multiplies a bias column (placed once per input)."""
    if "ones" not in X.extra:
        X.extra["ones"] = s.add(f"{X.name}_ones", (1, X.cols), (X.bottom, X.left), "given", "",
                                values=np.ones((1, X.cols)), side_label="1s")
    return X.extra["ones"]


def matmul(s: Sheet, name: str, A: Operand, B: Block, *, bias: Operand | None = None,
           at: tuple[int, int] | None = None, role: str = "computed", label: str | None = None,
           expect=None) -> Block:
    """``name = A·B (+ bias)``, each cell a dot product of one row of [A | b] and one column of [B; 1]."""
    ones = ones_row(s, B) if bias is not None else None
    at = at or s.below(ones or B)
    A, bias = _place_weights(s, A, bias, at)
    rows = A.rows
    if A.cols != B.rows:
        raise ShapeError(f"{name} = {A.name}·{B.name}: {A.name} is {_shape(A)} but {B.name} is {_shape(B)} "
                         f"({A.name}'s columns must equal {B.name}'s rows)")
    if bias is not None and bias.shape != (rows, 1):
        raise ShapeError(f"{name} = {A.name}·{B.name} + {bias.name}: {bias.name} is {_shape(bias)}, expected {rows}x1")

    def cell(i: int, j: int) -> str:
        left = A.row(i) + ([bias.cell(i, 0)] if bias is not None else [])
        top = B.col(j) + ([ones.cell(0, j)] if ones is not None else [])
        return fx.dot(left, top)

    return s.add(name, (rows, B.cols), at, role, label, formula=cell, expect=expect)


def linear(s: Sheet, name: str, W: Operand, X: Block, b: Operand, **kw) -> Block:
    """``name = W·X + b``: a linear layer, b as the last column of W against a row of 1s."""
    return matmul(s, name, W, X, bias=b, **kw)


def _place_weights(s: Sheet, W: Operand, b: Operand | None, at: tuple[int, int]) -> tuple[Block, Block | None]:
    """Place W (and b right next to it, as W's last column) so W's rows meet the result's rows; a
    given already on the sheet (weights shared by every time step) is used where it stands."""
    w_cols = _width(s, W)
    b_cols = _width(s, b) if b is not None else 0
    left = at[1] - GAP - w_cols - b_cols
    W = s.operand(W, at=(at[0], left)) if isinstance(W, str) else W
    b = s.operand(b, at=(at[0], left + w_cols)) if isinstance(b, str) else b
    return W, b


def _width(s: Sheet, x: Operand) -> int:
    if isinstance(x, Block):
        return x.cols
    if x in s.blocks:
        return s.blocks[x].cols
    value = np.atleast_2d(np.asarray(s.params[x], dtype=float))
    return value.shape[1]


def _shape(block: Block) -> str:
    return f"{block.rows}x{block.cols}"


def linear_parts(s: Sheet, name: str, Ws: Sequence[Operand], X: Block, b: Operand | None = None, *,
                 at: tuple[int, int] | None = None, role: str = "computed", label: str | None = None,
                 expect=None) -> Block:
    """``name = [W_1 | W_2 | …]·X (+ b)``: a product whose left operand stands as several blocks side
    by side, e.g. an RNN's ``[Wx | Wh | b]`` against ``[x_t; h_{t−1}; 1]``.

    Given names are placed left of the result, in order, with b as the last column; X's rows must
    match the parts' columns taken together. Every cell is one written-out dot product.
    """
    ones = ones_row(s, X) if b is not None else None
    at = at or s.below(ones or X)
    parts = list(Ws) + ([b] if b is not None else [])
    left = at[1] - GAP - sum(_width(s, w) for w in parts)
    placed = []
    for w in parts:
        if isinstance(w, str):
            w = s.operand(w, at=(at[0], left))
        placed.append(w)
        left += w.cols
    weights, bias = (placed[:-1], placed[-1]) if b is not None else (placed, None)
    rows = weights[0].rows
    width = sum(w.cols for w in weights)
    if any(w.rows != rows for w in placed) or width != X.rows or (bias is not None and bias.cols != 1):
        shapes = ", ".join(f"{w.name} {_shape(w)}" for w in placed)
        raise ShapeError(f"{name}: the parts [{shapes}] do not fit {X.name} {_shape(X)} (the parts' rows must agree "
                         f"and their columns add up to {X.name}'s rows; a bias is one column)")

    def cell(i: int, j: int) -> str:
        left_terms = [c for w in weights for c in w.row(i)] + ([bias.cell(i, 0)] if bias is not None else [])
        top = X.col(j) + ([ones.cell(0, j)] if ones is not None else [])
        return fx.dot(left_terms, top)

    return s.add(name, (rows, X.cols), at, role, label, formula=cell, expect=expect)


def solve_dot(s: Sheet, name: str, left: Sequence[tuple[Block, int, int]], right: Sequence[tuple[Block, int, int]],
              coef: tuple[Block, int, int], result: tuple[Block, int, int], *, at: tuple[int, int],
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

    return s.add(name, (1, 1), at, role, label, formula=cell, expect=expect)


def transpose(s: Sheet, name: str, src: Block, at: tuple[int, int], label: str | None = None,
              role: str | None = None) -> Block:
    """A transposed copy of ``src``: cell (i, j) reads src (j, i)."""
    return s.add(name, (src.cols, src.rows), at, role or src.role, label or f"{src.name}ᵀ",
                 formula=lambda i, j: src.cell(j, i), expect=lambda v: value_of(src)(v).T)


def stack(s: Sheet, name: str, parts: Sequence[Block], at: tuple[int, int], role: str = "computed",
          label: str | None = None, expect=None) -> Block:
    """Copies of several blocks of equal width, one under the other (``[x_t; h_{t-1}]``)."""
    cols = parts[0].cols
    if any(p.cols != cols for p in parts):
        raise ShapeError(f"{name}: stacked parts of different widths ({', '.join(f'{p.name} {_shape(p)}' for p in parts)})")
    rows = [(p, i) for p in parts for i in range(p.rows)]
    return s.add(name, (len(rows), cols), at, role, label,
                 formula=lambda i, j: rows[i][0].cell(rows[i][1], j), expect=expect)


def column_over_state(s: Sheet, name: str, X: Block, j: int, h_prev: Block, at: tuple[int, int],
                      label: str | None = None) -> Block:
    """``[x_j; h]``: copies of column j of X over the previous hidden state (a recurrent cell's input)."""
    n = X.rows

    def cell(i: int, _: int) -> str:
        return X.cell(i, j) if i < n else h_prev.cell(i - n, 0)

    return s.add(name, (n + h_prev.rows, 1), at, "computed", label or name, formula=cell)


def copy_columns(s: Sheet, name: str, columns: Sequence[Block], at: tuple[int, int] | None = None,
                 role: str = "output", label: str | None = None) -> Block:
    """Gather one-column blocks side by side into one matrix (``H = [h_1 … h_T]``)."""
    rows = columns[0].rows
    if any(c.shape != (rows, 1) for c in columns):
        raise ShapeError(f"{name}: the columns {', '.join(f'{c.name} {_shape(c)}' for c in columns)} "
                         f"are not all {rows}x1")
    return s.add(name, (rows, len(columns)), at, role, label,
                 formula=lambda i, j: columns[j].cell(i, 0))


def linear_from(s: Sheet, name: str, W: Block, X: Block, b: Block, *, names: tuple[str, str],
                at: tuple[int, int] | None = None, role: str = "computed", label: str | None = None,
                expect=None) -> Block:
    """``name = W'·X + b'`` where ``W'`` and ``b'`` (named ``names``) are copies, as formulas, of blocks
    computed elsewhere, such as the previous iteration's updated weights ``W1n`` and ``b1n``.

    The copies stand left of the result exactly where :func:`linear` puts given weights (b' as the
    last column, against the row of 1s under X), so a later iteration of gradient descent starts
    from the weights the one before made, in view, the by-hand way.
    """
    ones = ones_row(s, X)
    at = at or s.below(ones)
    left = at[1] - GAP - W.cols - b.cols
    W_copy = carry(s, names[0], W, at=(at[0], left))
    b_copy = carry(s, names[1], b, at=(at[0], left + W.cols))
    return matmul(s, name, W_copy, X, bias=b_copy, at=at, role=role, label=label, expect=expect)


@dataclass(frozen=True)
class Part:
    """A part of a product's left operand that is made where it must stand, left of the result:
    ``place(at)`` puts it with its top-left cell at ``at``; it is ``width`` columns wide. See
    :func:`identity_part`, :func:`transposed_part` and :func:`matmul_parts`."""

    width: int
    place: Callable[[tuple[int, int]], Block]


def identity_part(s: Sheet, name: str, n: int, label: str = "I") -> Part:
    """An n×n identity matrix as a part of a left operand (a constant: role given, not a named block),
    so that a shortcut x enters a product as one more term ``I·x`` (a residual connection)."""
    return Part(n, lambda at: s.add(name, (n, n), at, "given", label, values=np.eye(n), named=False))


def transposed_part(s: Sheet, name: str, W: Block, label: str | None = None) -> Part:
    """``Wᵀ`` as a part of a left operand: a transposed copy of W (formulas, role computed) where the
    product needs it, as in a backward pass ``dX = Wᵀ·dZ``."""
    return Part(W.rows, lambda at: transpose(s, name, W, at, label=label or f"{W.name}ᵀ", role="computed"))


def matmul_parts(s: Sheet, name: str, parts: Sequence["Operand | Part"], X: Block, b: "Operand | Part | None" = None, *,
                 at: tuple[int, int] | None = None, role: str = "computed", label: str | None = None,
                 expect=None) -> Block:
    """:func:`linear_parts` whose parts may also be :class:`Part`\\ s made in place: ``[I | Wb | b]``
    against ``[x; z; 1]`` (a residual block: the shortcut as a visible identity), ``[I | Waᵀ]``
    against ``[dS; dA]`` (its backward pass). Given names are placed on first use, placed blocks are
    used where they stand, parts are made left of the result in order, b as the last column."""
    ones = ones_row(s, X) if b is not None else None
    at = at or s.below(ones or X)
    everything = list(parts) + ([b] if b is not None else [])
    widths = [p.width if isinstance(p, Part) else _width(s, p) for p in everything]
    left = at[1] - GAP - sum(widths)
    placed = []
    for part, width in zip(everything, widths):
        if isinstance(part, Part):
            part = part.place((at[0], left))
        elif isinstance(part, str):
            part = s.operand(part, at=(at[0], left))
        placed.append(part)
        left += width
    weights, bias = (placed[:-1], placed[-1]) if b is not None else (placed, None)
    return linear_parts(s, name, weights, X, bias, at=at, role=role, label=label, expect=expect)


def given_part(s: Sheet, name: str, index: int, width: int, label: str | None = None) -> Part:
    """Matrix ``index`` (from 1) of the stacked given ``name`` (``Wa_2``: layer 2's weights) as a part
    of a left operand, ``width`` columns wide, placed on first use and used where it stands after."""
    def place(at: tuple[int, int]) -> Block:
        block = s.blocks.get(f"{name}_{index}")
        return block if block is not None else s.given(name, at=at, label=label, index=index)

    return Part(width, place)


def linear_act(s: Sheet, name: str, fn: Callable[[str], str], W: "Operand | Part", X: Block,
               b: "Operand | Part", *, at: tuple[int, int] | None = None, role: str = "computed",
               label: str | None = None, expect=None) -> Block:
    """``name = fn(W·X + b)``: a linear layer whose activation is written around each cell's dot
    product (``MAX(0, …)`` for ReLU), for a step that the math states as one (``Z = ReLU(W·X + b)``)."""
    block = matmul_parts(s, name, [W], X, b, at=at, role=role, label=label, expect=expect)
    dot = block.formula
    block.formula = lambda i, j: fn(dot(i, j))
    return block


def shortcut(s: Sheet, name: str, skip: Block, branch: Block, *, identity: str, copy_name: str,
             role: str = "computed", label: str | None = None, expect=None) -> Block:
    """``name = I·skip + branch``: a residual connection (ResNet's F(x) + x) written as one more
    matrix product. A copy of ``skip`` (``copy_name``) stands under ``branch``, the identity I
    (``identity``, a constant) left of the result under the copy; each cell is the dot product of a row
    of I with a column of the copy, plus the branch's cell. Returns the result."""
    src = carry(s, copy_name, skip, s.below(branch), label=f"{skip.name} (shortcut)",
                role=skip.role if skip.role in ("computed", "output", "gradient") else "computed")
    at = s.below(src)
    eye = identity_part(s, identity, skip.rows).place((at[0], at[1] - GAP - skip.rows))
    if branch.shape != (eye.rows, src.cols):
        raise ShapeError(f"{name} = I·{skip.name} + {branch.name}: {branch.name} is {_shape(branch)}, "
                         f"expected {eye.rows}x{src.cols}")
    block = matmul(s, name, eye, src, at=at, role=role, label=label or f"{name} = I·{skip.name} + {branch.name}",
                   expect=expect)
    dot = block.formula
    block.formula = lambda i, j: f"{dot(i, j)}+{branch.cell(i, j)}"
    return block


def copy_above(s: Sheet, name: str, src: Block, result_at: tuple[int, int], label: str | None = None, *,
               column: int | None = None) -> Block:
    """A copy of ``src`` (cell by cell; with ``column``, of that column only) standing over where a
    product's result will stand, in its columns with a label row between: the right operand of
    ``C = A·B`` brought into view above C when A is a block already on the sheet (``Cq = C·q`` right
    of the memory C, ``y_l = h_l·c_l`` with c_l the column l of C)."""
    if column is None:
        return copy(s, name, src, (result_at[0] - GAP - 1 - src.rows, result_at[1]), label)
    return s.add(name, (src.rows, 1), (result_at[0] - GAP - 1 - src.rows, result_at[1]), src.role,
                 label or f"{src.name}[:, {column + 1}]", formula=lambda i, j: src.cell(i, column),
                 expect=lambda v: value_of(src)(v)[:, column:column + 1])


def copy_left(s: Sheet, name: str, src: Block, result_at: tuple[int, int], label: str | None = None) -> Block:
    """A copy of ``src`` (cell by cell) standing left of where a product's result will stand, in its
    rows: the left operand of ``C = A·B`` brought into view (``O = V·A`` under the attention weights)."""
    return copy(s, name, src, (result_at[0], result_at[1] - GAP - src.cols), label)



def weights_left_of(s: Sheet, at: tuple[int, int], names: Sequence[str], *, index: int | None = None) -> list[Block]:
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
    placed = [s.given(name, at=at, index=index) for name in names]
    left = at[1] - GAP - sum(b.cols for b in placed)
    for block in placed:
        block.move(0, left - block.left)
        left += block.cols
    return placed


def row_under(s: Sheet, name: str, X: Block, value: float, side_label: str) -> Block:
    """A row of one constant right under ``X``, as wide as X, with no label of its own but a short
    ``side_label``: the 0 stacked under each input of a two-class softmax, ``[x; 0]``."""
    return s.add(name, (1, X.cols), (X.bottom, X.left), "given", "", values=np.full((1, X.cols), float(value)),
                 side_label=side_label)


# --- element-wise ---------------------------------------------------------------------------
def elementwise(s: Sheet, name: str, fn: Callable[..., str], inputs: Sequence[Block], *,
                at: tuple[int, int] | None = None, role: str = "computed", label: str | None = None,
                expect=None, arrow: bool = True) -> Block:
    """``name[i, j] = fn(input1[i, j], input2[i, j], …)``, the shape of the largest input; another input
    may be that shape, a 1x1 scalar, a row as wide or a column as tall (broadcast over the other axis).
    Anything else, such as a column against a row, is a :class:`ShapeError` naming both."""
    big = max(inputs, key=lambda b: b.rows * b.cols)
    rows, cols = big.shape
    for b in inputs:
        if b.shape not in ((rows, cols), (1, 1), (1, cols), (rows, 1)):
            raise ShapeError(f"{name}: {b.name} is {_shape(b)} and cannot be broadcast against {big.name} "
                             f"{_shape(big)} (expected {rows}x{cols}, 1x{cols}, {rows}x1 or 1x1)")
    first = inputs[0]
    at = at or s.right_of(first)
    block = s.add(name, (rows, cols), at, role, label,
                  formula=lambda i, j: fn(*(at_(b, i, j) for b in inputs)), expect=expect)
    if arrow and at == s.right_of(first):
        s.arrow(first, block)
    return block


def outer(s: Sheet, name: str, fn: Callable[[str, str], str], col: Block, row: Block, *,
          at: tuple[int, int] | None = None, role: str = "computed", label: str | None = None,
          expect=None) -> Block:
    """``name[i, j] = fn(col[i], row[j])`` for a column and a row: every pairing of the two (z / T_k
    for each score and temperature), said out loud rather than broadcast by accident."""
    if col.cols != 1 or row.rows != 1:
        raise ShapeError(f"{name}: an outer operation takes a column and a row, not {col.name} {_shape(col)} "
                         f"and {row.name} {_shape(row)}")
    return s.add(name, (col.rows, row.cols), at or s.right_of(col), role, label,
                 formula=lambda i, j: fn(col.cell(i, 0), row.cell(0, j)), expect=expect)


def relu(s: Sheet, name: str, Z: Block, **kw) -> Block:
    return elementwise(s, name, fx.relu, [Z], label=kw.pop("label", f"{name} = ReLU({Z.name})"), **kw)


def sigmoid(s: Sheet, name: str, Z: Block, **kw) -> Block:
    return elementwise(s, name, fx.sigmoid, [Z], label=kw.pop("label", f"{name} = σ({Z.name})"), **kw)


def tanh(s: Sheet, name: str, Z: Block, **kw) -> Block:
    return elementwise(s, name, fx.tanh, [Z], label=kw.pop("label", f"{name} = tanh({Z.name})"), **kw)


def gate(s: Sheet, name: str, Z: Block, **kw) -> Block:
    """The ReLU gate ``[Z > 0]``: 1 where the unit passes its input, 0 where it is shut."""
    return elementwise(s, name, lambda z: fx.step_mask(z, "1"), [Z], label=kw.pop("label", f"{name} = [{Z.name} > 0]"),
                       expect=kw.pop("expect", lambda v: (value_of(Z)(v) > 0).astype(float)), **kw)


def leaky_relu(s: Sheet, name: str, Z: Block, alpha: Block, **kw) -> Block:
    """Leaky ReLU: ``z`` where ``z > 0``, else ``α·z``; α is a cell on the sheet (edit it, watch it change)."""
    return elementwise(s, name, lambda z: fx.leaky_relu(z, absolute(alpha)), [Z],
                       label=kw.pop("label", f"{name} = LeakyReLU({Z.name}), α = {alpha.name}"), **kw)


def relu_backward(s: Sheet, name: str, dA: Block, Z: Block, **kw) -> Block:
    """``dZ = dA ⊙ [Z > 0]`` (ReLU'(0) = 0)."""
    return elementwise(s, name, lambda d, z: fx.step_mask(z, d), [dA, Z], role=kw.pop("role", "gradient"),
                       label=kw.pop("label", f"{name} = {dA.name} ⊙ [{Z.name} > 0]"), **kw)


def sgd_step(s: Sheet, name: str, W: Block, dW: Block, lr: Block, **kw) -> Block:
    """One step of gradient descent: ``W − lr·dW``."""
    if W.shape != dW.shape:
        raise ShapeError(f"{name}: {W.name} {_shape(W)} and its gradient {dW.name} {_shape(dW)} differ in shape")
    if kw.get("label") is None:
        kw.pop("label", None)
    return elementwise(s, name, lambda w, g: f"{w}-{absolute(lr)}*{g}", [W, dW], role=kw.pop("role", "output"),
                       label=kw.pop("label", f"{name} = {W.name} − lr·{dW.name}"), arrow=False, **kw)


# --- reductions -----------------------------------------------------------------------------
def row_sums(s: Sheet, name: str, M: Block, *, at: tuple[int, int] | None = None, role: str = "computed",
             label: str | None = None, expect=None) -> Block:
    """``name = M·1``: one SUM per row, right of M."""
    return s.add(name, (M.rows, 1), at or s.right_of(M), role, label,
                 formula=lambda i, j: fx.sum_range(M.row_range(i)), expect=expect)


def col_sums(s: Sheet, name: str, M: Block, *, at: tuple[int, int] | None = None, role: str = "computed",
             label: str | None = None, expect=None) -> Block:
    """One SUM per column, under M (``1ᵀ·M``); without a label, the row is marked Σ at its left."""
    return s.add(name, (1, M.cols), at or (M.bottom, M.left), role, label or "",
                 formula=lambda i, j: fx.sum_range(M.col_range(j)), expect=expect, side_label="" if label else "Σ")


def col_max(s: Sheet, name: str, M: Block, *, at: tuple[int, int] | None = None, role: str = "computed",
            label: str | None = None, expect=None) -> Block:
    """The largest entry of each column, under M (``max_i M[i, j]``); without a label, marked max at its left."""
    return s.add(name, (1, M.cols), at or (M.bottom, M.left), role, label or "", side_label="" if label else "max",
                 formula=lambda i, j: f"MAX({M.col_range(j)})",
                 expect=expect or (lambda v: value_of(M)(v).max(axis=0, keepdims=True)))


def argmax_columns(s: Sheet, name: str, M: Block, *, at: tuple[int, int] | None = None, role: str = "computed",
                   label: str | None = None, expect=None) -> Block:
    """The row number (from 1) of each column's largest entry, the first one on a tie: a greedy choice."""
    return s.add(name, (1, M.cols), at or (M.bottom, M.left), role, label or "", side_label="" if label else "argmax",
                 formula=lambda i, j: f"MATCH(MAX({M.col_range(j)}),{M.col_range(j)},0)",
                 expect=expect or (lambda v: value_of(M)(v).argmax(axis=0)[None, :] + 1.0))


def row_means(s: Sheet, name: str, M: Block, *, at: tuple[int, int] | None = None, role: str = "computed",
              label: str | None = None, expect=None) -> Block:
    """``name = mean of each row of M`` (AVERAGE), right of M: mean pooling over tokens or time steps."""
    label = label if label is not None else f"{name} = mean({M.name})"
    block = s.add(name, (M.rows, 1), at or s.right_of(M), role, label,
                  formula=lambda i, j: fx.average(M.row_range(i)),
                  expect=expect or (lambda v: value_of(M)(v).mean(axis=1, keepdims=True)))
    if at is None:
        s.arrow(M, block)
    return block


# --- softmax, LayerNorm ---------------------------------------------------------------------
def softmax_columns(s: Sheet, name: str, Z: Block, *, at: tuple[int, int] | None = None,
                    role: str = "computed", label: str | None = None) -> Block:
    """Softmax over each column, shown by hand: each column's largest entry under Z, ``e^(Z − max)``,
    its column sums, then ``e^(Z − max) / sum``.

    Subtracting the column's maximum leaves the softmax unchanged (it cancels in the division) and
    keeps EXP from overflowing for any score a user may type (``EXP(800)`` is #NUM! in a spreadsheet).
    """
    top = col_max(s, f"{name}_max", Z, at=(Z.bottom, Z.left))
    shifted = lambda v: value_of(Z)(v) - value_of(Z)(v).max(axis=0, keepdims=True)  # noqa: E731
    exps = elementwise(s, f"{name}_exp", lambda z, m: fx.exp(fx.sub(z, m)), [Z, top], at=at,
                       label=f"e^({Z.name} − max)", expect=lambda v: np.exp(shifted(v)))
    sums = col_sums(s, f"{name}_sum", exps, at=(exps.bottom, exps.left),
                    expect=lambda v: np.exp(shifted(v)).sum(axis=0, keepdims=True))
    probs = s.add(name, Z.shape, s.right_of(exps), role, label or f"{name} = softmax({Z.name})",
                  formula=lambda i, j: fx.div(exps.cell(i, j), sums.cell(0, j)))
    s.arrow(exps, probs)
    return probs


def layernorm_columns(s: Sheet, name: str, X: Block, *, eps: float = 1e-5, at: tuple[int, int] | None = None,
                      role: str = "computed", label: str | None = None) -> Block:
    """LayerNorm over the rows (features) of each column; population variance, no gain or shift.

    Laid out by hand: the mean under X, the centred values right of X with their variance
    underneath, the normalised values right of those.
    """
    n = X.rows
    x = value_of(X)
    mean = s.add(f"{name}_mu", (1, X.cols), (X.bottom, X.left), "computed", "", side_label="mean",
                 formula=lambda i, j: fx.average(X.col_range(j)), expect=lambda v: x(v).mean(axis=0, keepdims=True))
    centred = s.add(f"{name}_xc", X.shape, at or s.right_of(X), "computed", f"{X.name} − mean",
                    formula=lambda i, j: fx.sub(X.cell(i, j), mean.cell(0, j)),
                    expect=lambda v: x(v) - x(v).mean(axis=0, keepdims=True))
    var = s.add(f"{name}_var", (1, X.cols), (centred.bottom, centred.left), "computed", "", side_label="var",
                formula=lambda i, j: f"{fx.sumsq(centred.col_range(j))}/{n}",
                expect=lambda v: x(v).var(axis=0, keepdims=True))
    s.arrow(X, centred)
    out = s.add(name, X.shape, s.right_of(centred), role, label or f"{name} = LayerNorm({X.name})",
                formula=lambda i, j: fx.div(centred.cell(i, j), fx.sqrt(f"{var.cell(0, j)}+{eps:g}")))
    s.arrow(centred, out)
    return out


def layernorm_affine(s: Sheet, name: str, X: Block, gamma: Operand, beta: Operand, eps: Block, *,
                     sample: bool = False, eps_on: str = "var", at: tuple[int, int] | None = None,
                     role: str = "computed", label: str | None = None) -> Block:
    """LayerNorm over the rows (features) of each column, with gain γ and shift β (d×1 givens):
    ``N = γ ⊙ (x − mean)/σ + β``. ``sample`` divides the variance by n − 1 instead of n; ``eps_on``
    is ``var`` (σ = √(var + ε), as PyTorch) or ``std`` (σ = √var + ε, as some course material);
    ε is the 1x1 block ``eps``.

    Laid out by hand: the mean under X, the centred values right of X with the variance under them,
    x̂ = centred/σ right of those, and N under x̂ (or at ``at``, such as under X, so that a chain of
    layers goes on in X's columns) with γ | β at its left, so row i of N reads γ_i·x̂ + β_i like a
    linear layer with a diagonal weight. Returns N.
    """
    if eps_on not in ("var", "std"):
        raise ShapeError(f"{name}: eps_on {eps_on!r}: expected var or std")
    n = X.rows
    divisor = n - 1 if sample else n
    x = value_of(X)

    def centred_of(v):
        return x(v) - x(v).mean(axis=0, keepdims=True)

    def var_of(v):
        return (centred_of(v) ** 2).sum(axis=0, keepdims=True) / divisor

    def sigma_of(v):
        e = float(np.asarray(v[eps.name]).reshape(-1)[0])
        return np.sqrt(var_of(v) + e) if eps_on == "var" else np.sqrt(var_of(v)) + e

    mean = s.add(f"{name}_mu", (1, X.cols), (X.bottom, X.left), "computed", "", side_label="mean",
                 formula=lambda i, j: fx.average(X.col_range(j)), expect=lambda v: x(v).mean(axis=0, keepdims=True))
    centred = s.add(f"{name}_xc", X.shape, s.right_of(X), "computed", f"{X.name} − mean",
                    formula=lambda i, j: fx.sub(X.cell(i, j), mean.cell(0, j)), expect=centred_of)
    var = s.add(f"{name}_var", (1, X.cols), (centred.bottom, centred.left), "computed", "",
                side_label="var",
                formula=lambda i, j: f"{fx.sumsq(centred.col_range(j))}/{divisor}", expect=var_of)
    s.arrow(X, centred)
    sigma = (lambda j: fx.sqrt(f"{var.cell(0, j)}+{absolute(eps)}")) if eps_on == "var" else \
        (lambda j: f"{fx.sqrt(var.cell(0, j))}+{absolute(eps)}")
    hat = s.add(f"{name}_hat", X.shape, s.right_of(centred), "computed",
                "x̂ = ·/√(var + ε)" if eps_on == "var" else "x̂ = ·/(√var + ε)",
                formula=lambda i, j: fx.div(centred.cell(i, j), sigma(j)),
                expect=lambda v: centred_of(v) / sigma_of(v))
    s.arrow(centred, hat)
    at = at or s.below(hat)
    g_cols, b_cols = _width(s, gamma), _width(s, beta)
    g = s.operand(gamma, at=(at[0], at[1] - GAP - g_cols - b_cols), label="γ") if isinstance(gamma, str) else gamma
    b = s.operand(beta, at=(at[0], at[1] - GAP - b_cols), label="β") if isinstance(beta, str) else beta
    if g.shape != (n, 1) or b.shape != (n, 1):
        raise ShapeError(f"{name}: gain {g.name} {_shape(g)} and shift {b.name} {_shape(b)} must both be {n}x1")
    return s.add(name, X.shape, at, role, label or f"{name} = γ ⊙ x̂ + β",
                 formula=lambda i, j: f"{g.cell(i, 0)}*{hat.cell(i, j)}+{b.cell(i, 0)}")



def rmsnorm_rows(s: Sheet, name: str, X: Block, *, eps: float = 1e-6, at: tuple[int, int] | None = None,
                 rms_at: tuple[int, int] | None = None, role: str = "computed",
                 label: str | None = None) -> Block:
    """RMSNorm over the entries of each row, no gain: ``x / sqrt(mean(x²) + eps)`` (a row vector
    such as mHC's flattened streams ``vec(x)`` is one row).

    Laid out by hand: each row's rms, ``SQRT(SUMSQ(row)/n + eps)``, right of X (or at ``rms_at``);
    the normalised rows at ``at`` (default under X).
    """
    n = X.cols
    x = value_of(X)
    rms = s.add(f"{name}_rms", (X.rows, 1), rms_at or s.right_of(X), "computed", "rms",
                formula=lambda i, j: fx.sqrt(f"{fx.sumsq(X.row_range(i))}/{n}+{eps:g}"),
                expect=lambda v: np.sqrt((x(v) ** 2).mean(axis=1, keepdims=True) + eps))
    out = s.add(name, X.shape, at or s.below(X), role, label or f"{name} = RMSNorm({X.name})",
                formula=lambda i, j: fx.div(X.cell(i, j), rms.cell(i, 0)))
    s.arrow(X, out)
    return out


def softmax_columns_down(s: Sheet, name: str, Z: Block, *, role: str = "computed",
                         label: str | None = None) -> Block:
    """:func:`softmax_columns` laid out downwards, for a sheet that must stay narrow: each column's
    largest entry in the row under Z (marked max), ``e^(Z − max)`` under that, its column sums in the
    row under it (Σ), and ``e^(Z − max) / sum`` under those, every block in Z's columns. The helper
    blocks have the same names and values as :func:`softmax_columns`'s."""
    top = col_max(s, f"{name}_max", Z, at=(Z.bottom, Z.left))
    shifted = lambda v: value_of(Z)(v) - value_of(Z)(v).max(axis=0, keepdims=True)  # noqa: E731
    exps = elementwise(s, f"{name}_exp", lambda z, m: fx.exp(fx.sub(z, m)), [Z, top], at=s.below(top),
                       label=f"e^({Z.name} − max)", expect=lambda v: np.exp(shifted(v)))
    sums = col_sums(s, f"{name}_sum", exps, at=(exps.bottom, exps.left),
                    expect=lambda v: np.exp(shifted(v)).sum(axis=0, keepdims=True))
    return s.add(name, Z.shape, s.below(sums), role, label or f"{name} = softmax({Z.name})",
                 formula=lambda i, j: fx.div(exps.cell(i, j), sums.cell(0, j)))


# --- attention --------------------------------------------------------------------------------
def scores(s: Sheet, name: str, K: Block, Q: Block, *, scale: float | None = None,
           at: tuple[int, int] | None = None, label: str | None = None, role: str = "computed") -> Block:
    """``S = Kᵀ·Q (/ √d_k)``: Kᵀ left of S, Q above S; row j = key j, column i = query i."""
    if K.rows != Q.rows:
        raise ShapeError(f"{name} = {K.name}ᵀ·{Q.name}: {K.name} is {_shape(K)} but {Q.name} is {_shape(Q)} "
                         "(keys and queries need the same number of rows)")
    at = at or s.below(Q)
    Kt = transpose(s, f"{name}_Kt", K, at=(at[0], at[1] - GAP - K.rows), label=f"{K.name}ᵀ")
    divisor = "" if scale is None else f"/SQRT({scale:g})"
    return s.add(name, (K.cols, Q.cols), at, role,
                 label or f"{name} = {K.name}ᵀ·{Q.name}" + (f" / √{scale:g}" if scale else ""),
                 formula=lambda i, j: f"({fx.dot(Kt.row(i), Q.col(j))}){divisor}" if divisor
                 else fx.dot(Kt.row(i), Q.col(j)))


def attention(s: Sheet, names: tuple[str, str, str], Q: Block, K: Block, V: Block, *,
              scale: float | None = None, at: tuple[int, int] | None = None,
              steps: tuple[str, str, str] | None = None, role: str = "computed") -> tuple[Block, Block, Block]:
    """Scaled dot-product attention in the column convention: S = Kᵀ·Q/√d, A = softmax over
    each column, F = V·A (V left of F, A above F). With ``steps`` (three descriptions), the
    scores, the softmax and F are numbered steps of their own; ``role`` is F's."""
    s_name, a_name, f_name = names
    described = list(steps) if steps else [None] * 3
    with _step_or_not(s, described[0]):
        S = scores(s, s_name, K, Q, scale=scale, at=at)
    with _step_or_not(s, described[1]):
        A = heat(softmax_columns(s, a_name, S))
    with _step_or_not(s, described[2]):
        F = matmul(s, f_name, _copy_left(s, f"{f_name}_V", V, s.below(A)), A, role=role,
                   label=f"{f_name} = {V.name}·{a_name}")
    return S, A, F


def heat(block: Block) -> Block:
    """Shade ``block`` with a white-to-blue colour scale (an attention matrix: its pattern at a glance)."""
    block.extra["colour_scale"] = True
    return block


def softmax_columns_causal(s: Sheet, name: str, Z: Block, *, at: tuple[int, int] | None = None,
                           role: str = "computed", label: str | None = None) -> Block:
    """Softmax over each column of scores Z (row j = key j, column i = query i, as :func:`scores`)
    with the future masked, as a decoder attends: a key after its query (j > i) gets weight 0. The
    formula adds −1e9 to those scores before the softmax, and e^(−1e9 − max) is exactly 0: the sheet
    writes the 0 it becomes (a score of −1e9 does not fit a cell), so the masked triangle is visible.

    Laid out by hand like :func:`softmax_columns`: each column's largest allowed score under Z,
    e^(Z − max) for the allowed keys and 0 above the diagonal, the column sums, the probabilities."""
    future = np.tri(Z.rows, Z.cols, -1, dtype=bool)  # [j, i]: key j after query i

    def allowed(j: int) -> str:
        last = min(j, Z.rows - 1)
        return Z.cell(0, j) if last == 0 else f"{Z.cell(0, j)}:{Z.cell(last, j)}"

    def shifted(v):
        z = np.where(future, -np.inf, value_of(Z)(v))
        return z - z.max(axis=0, keepdims=True)

    top = s.add(f"{name}_max", (1, Z.cols), (Z.bottom, Z.left), "computed", "", side_label="max",
                formula=lambda i, j: f"MAX({allowed(j)})",
                expect=lambda v: np.where(future, -np.inf, value_of(Z)(v)).max(axis=0, keepdims=True))
    exps = s.add(f"{name}_exp", Z.shape, at or s.right_of(Z), "computed", f"e^({Z.name} − max), future 0",
                 formula=lambda i, j: "0" if future[i, j] else fx.exp(fx.sub(Z.cell(i, j), top.cell(0, j))),
                 expect=lambda v: np.exp(shifted(v)))
    if at is None:
        s.arrow(Z, exps)
    sums = col_sums(s, f"{name}_sum", exps, at=(exps.bottom, exps.left),
                    expect=lambda v: np.exp(shifted(v)).sum(axis=0, keepdims=True))
    probs = s.add(name, Z.shape, s.right_of(exps), role, label or f"{name} = softmax({Z.name}), causal",
                  formula=lambda i, j: fx.div(exps.cell(i, j), sums.cell(0, j)))
    s.arrow(exps, probs)
    return probs


def _step_or_not(s: Sheet, description: str | None):
    return s.step(description) if description else nullcontext()


def copy(s: Sheet, name: str, src: Block, at: tuple[int, int], label: str | None = None) -> Block:
    """A copy of ``src`` (cell by cell) where a step needs it in view, as on paper."""
    return s.add(name, src.shape, at, src.role, label or src.name,
                 formula=lambda i, j: src.cell(i, j), expect=value_of(src))


def copy_rows(s: Sheet, name: str, src: Block, start: int, stop: int, at: tuple[int, int],
              label: str | None = None, role: str | None = None) -> Block:
    """Rows ``start … stop−1`` (0-based) of ``src``, copied cell by cell: one head's slice of Q, K or V."""
    return s.add(name, (stop - start, src.cols), at, role or src.role,
                 label or f"{name} = {src.name}[rows {start + 1}–{stop}]",
                 formula=lambda i, j: src.cell(start + i, j), expect=lambda v: value_of(src)(v)[start:stop])


def _copy_left(s: Sheet, name: str, src: Block, result_at: tuple[int, int]) -> Block:
    """A copy of ``src`` placed left of where a product's result will stand."""
    return copy(s, name, src, (result_at[0], result_at[1] - GAP - src.cols))


def carry(s: Sheet, name: str, src: Block, at: tuple[int, int] | None = None, label: str | None = None,
          role: str = "computed") -> Block:
    """A copy of ``src``, cell by cell, under a new name and with a role of its own (``computed`` by
    default: a copy holds formulas even when ``src`` is a given): what a later iteration starts from
    (its inputs, targets and weights), brought into view where that iteration works."""
    return s.add(name, src.shape, at, role, label or name,
                 formula=lambda i, j: src.cell(i, j), expect=value_of(src))


def projections(s: Sheet, X: Block, E: Block | None = None, *, names: tuple[str, str, str] = ("Q", "K", "V"),
                weights: tuple[Operand, Operand, Operand] = ("Wq", "Wk", "Wv"),
                steps: tuple[str, str, str] | None = None) -> tuple[Block, Block, Block]:
    """The projections of attention, by hand: ``Q = Wq·X``, ``K = Wk·E``, ``V = Wv·E`` (``E = X`` for
    self-attention), each weight left of its product, the products one under the other below their
    input. With a second sequence E (cross-attention), E with K and V under it stands right of X
    with Q under it, or under them when the two would not fit across a landscape page (E is moved
    there, so it may be placed anywhere before). With ``steps`` (three descriptions) each projection
    is a numbered step of its own. Returns (Q, K, V)."""
    described = list(steps) if steps else [None] * 3
    source = X if E is None else E
    products = []
    with s.group() as queries:
        queries.add(X)
        with _step_or_not(s, described[0]):
            products.append(matmul(s, names[0], weights[0], X, label=f"{names[0]} = {_name(weights[0])}·{X.name}"))
    with s.group() as keys:
        keys.add(source)
        for k in (1, 2):
            at = None if E is not None and k == 1 else s.below(products[-1])  # K under E (or Q), V under K
            with _step_or_not(s, described[k]):
                products.append(matmul(s, names[k], weights[k], source, at=at,
                                       label=f"{names[k]} = {_name(weights[k])}·{source.name}"))
    if E is not None:  # side by side when both fit across a landscape page, else E's column under X's
        s.next_to(keys, queries, "right", gap=2)
        if max(queries.right, keys.right) - min(queries.left, keys.left) > _LANDSCAPE_COLUMNS:
            s.next_to(keys, queries, "down")
    Q, K, V = products
    return Q, K, V


# sheet columns across a landscape page, on the narrower of A4 and Letter (see paper.py)
_LANDSCAPE_COLUMNS = min(int((printable_mm(p, True)[0] - MARGIN_COLUMN_MM) / COLUMN_MM) for p in PAPERS)


def _name(x: Operand) -> str:
    return x if isinstance(x, str) else x.name


def attention_steps(d_k: float) -> tuple[str, str, str]:
    """The three numbered steps of scaled dot-product attention in the column convention (for
    :func:`attention`'s ``steps``): the scores, the softmax of each column, the mixing of the values."""
    return (f"Scores S = Kᵀ·Q / √{d_k:g} (row j = key j, column i = query i)",
            "A = softmax of each column of S (each query's weights over the keys sum to 1)",
            "F = V·A (column i mixes the values with query i's weights)")


def attention_under(s: Sheet, names: tuple[str, str, str], Q: Block, K: Block, V: Block, above, **kw
                    ) -> tuple[Block, Block, Block]:
    """:func:`attention` with the scores in Q's columns (Q above S, as a product is written by hand)
    under everything in ``above`` (a block or a group, such as the projections); Kᵀ stands left of S,
    the softmax right of it, F = V·A under A. Takes :func:`attention`'s keywords."""
    return attention(s, names, Q, K, V, at=(s.below(above)[0], Q.left), **kw)


# --- tokens: words, one-hot columns, greedy choice ---------------------------------------------
def one_hot(s: Sheet, name: str, vocab: Block, word: Block, *, at: tuple[int, int],
            role: str = "computed", label: str | None = None, expect=None) -> Block:
    """The one-hot column of ``word`` (a 1x1 text cell) over ``vocab`` (a 1xV row of words):
    row i is ``IF(vocab_i = word, 1, 0)``, so a lookup ``E·onehot`` is a matrix product."""
    return s.add(name, (vocab.cols, 1), at, role, label or f"{name} = onehot({word.name})",
                 formula=lambda i, j: f"IF({vocab.cell(0, i)}={word.cell(0, 0)},1,0)", expect=expect)


def argmax_one_hot(s: Sheet, name: str, scores: Block, *, at: tuple[int, int], role: str = "computed",
                   label: str | None = None, expect=None) -> Block:
    """Greedy choice over a column of scores: row i is ``IF(score_i = MAX(scores), 1, 0)``
    (a tie gives several 1s, so callers should avoid ties in their numbers)."""
    if scores.cols != 1:
        raise ShapeError(f"{name}: {scores.name} is {_shape(scores)}, expected one column")
    return s.add(name, (scores.rows, 1), at, role, label or f"{name} = argmax({scores.name})",
                 formula=lambda i, j: f"IF({scores.cell(i, 0)}=MAX({scores.range()}),1,0)", expect=expect)


def word_of(s: Sheet, name: str, vocab: Block, onehot: Block, *, at: tuple[int, int], role: str = "output",
            label: str | None = None, expect=None) -> Block:
    """The word a one-hot column stands for: ``INDEX(vocab, 1, MATCH(1, onehot, 0))`` (1x1 text)."""
    return s.add(name, (1, 1), at, role, label or name,
                 formula=lambda i, j: f"INDEX({vocab.range()},1,MATCH(1,{onehot.range()},0))", expect=expect)


def _text_of(value) -> str:
    while isinstance(value, (list, tuple)):
        value = value[0]
    return str(value)


def _words_of(value) -> list[str]:
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
        value = value[0]
    return [str(w) for w in value]


def split_words(s: Sheet, name: str, text: Block, n: int, *, at: tuple[int, int], role: str = "computed",
                label: str | None = None) -> Block:
    """Tokenize on spaces, by hand: the ``n`` words of the text in the 1x1 block ``text``, whose words
    are separated by single spaces (the caller checks that it has exactly ``n``).

    A helper row ``NAME_sp`` at ``at`` holds where each word ends: the position of the space after
    word j in ``text & " "`` (``FIND`` from just after the previous one); the words row under it
    takes each word with ``MID``. Returns the words block (1 x n text).
    """
    def ends(v) -> np.ndarray:
        return np.cumsum([len(w) + 1 for w in _text_of(v[text.name]).split(" ")])[None, :].astype(float)

    # addresses are read inside the formulas: they are final only when the sheet is written
    sp = s.add(f"{name}_sp", (1, n), at, "computed", f"{name}: where each word ends (FIND \" \")",
               formula=lambda i, j: fx.find('" "', f'{text.cell(0, 0)}&" "',
                                            None if j == 0 else f"{sp.cell(0, j - 1)}+1"),
               expect=ends)

    def word(i: int, j: int) -> str:
        if j == 0:
            return fx.mid(text.cell(0, 0), "1", f"{sp.cell(0, 0)}-1")
        return fx.mid(text.cell(0, 0), f"{sp.cell(0, j - 1)}+1", f"{sp.cell(0, j)}-{sp.cell(0, j - 1)}-1")

    return s.add(name, (1, n), s.below(sp), role, label or f"{name} = the words of {text.name} (MID)",
                 formula=word, expect=lambda v: [_text_of(v[text.name]).split(" ")])


def one_hot_columns(s: Sheet, name: str, vocab: Block, words: Block, *, at: tuple[int, int],
                    role: str = "computed", label: str | None = None, expect=None) -> Block:
    """One one-hot column per word of ``words`` (a 1xn row of words) over ``vocab`` (a 1xV row):
    cell (i, j) is ``IF(vocab_i = word_j, 1, 0)``, so ``E·OneHot`` looks up every word's embedding
    at once. Spreadsheets compare text ignoring case: keep vocabularies unique ignoring case."""

    def default(v):
        vocab_words, row = _words_of(v[vocab.name]), _words_of(v[words.name])
        return np.array([[1.0 if a == w else 0.0 for w in row] for a in vocab_words])

    return s.add(name, (vocab.cols, words.cols), at, role, label or f"{name} = onehot({words.name})",
                 formula=lambda i, j: f"IF({vocab.cell(0, i)}={words.cell(0, j)},1,0)", expect=expect or default)


# --- losses ---------------------------------------------------------------------------------------
def cross_entropy(s: Sheet, name: str, Y: Block, P: Block, *, at: tuple[int, int] | None = None,
                  label: str | None = None) -> Block:
    """``L = −Σ Y ⊙ ln P`` over every entry (classes and samples): one cell, every term written out."""
    if Y.shape != P.shape:
        raise ShapeError(f"{name}: targets {Y.name} {_shape(Y)} and probabilities {P.name} {_shape(P)} differ in shape")
    terms = lambda: [f"{y}*{fx.ln(q)}" for y, q in zip(Y.cells(), P.cells())]  # noqa: E731 - addresses come last
    return s.add(name, (1, 1), at or s.right_of(Y), "output", label or f"{name} = −Σ {Y.name} ⊙ ln {P.name}",
                 formula=lambda i, j: f"-({fx.total(terms())})")


def mse_loss(s: Sheet, name: str, Y: Block, T: Block, *, at: tuple[int, int] | None = None,
             label: str | None = None) -> tuple[Block, Block]:
    """``N`` (the number of entries, COUNT of T) and ``L = Σ (Y − T)² / N``, side by side.
    Returns (L, N)."""
    if Y.shape != T.shape:
        raise ShapeError(f"{name}: {Y.name} {_shape(Y)} and its target {T.name} {_shape(T)} differ in shape")
    count = s.add(f"{name}_N", (1, 1), at or s.right_of(T), "computed", "N = entries",
                  formula=lambda i, j: f"COUNT({T.range()})", expect=lambda v: float(T.rows * T.cols))
    diff = lambda: f"{Y.range()}-{T.range()}"  # noqa: E731 - addresses come last
    loss = s.add(name, (1, 1), s.right_of(count), "output", label or f"{name} = Σ({Y.name} − {T.name})² / N",
                 formula=lambda i, j: f"{fx.sumproduct(diff(), diff())}/{count.cell()}")
    return loss, count


def gradient_descent(s: Sheet, lr: Operand, pairs: Sequence[tuple[Block, Block]], *,
                     at: tuple[int, int] | None = None, labels: dict[str, str] | None = None) -> dict[str, Block]:
    """One step of gradient descent for every (parameter, gradient) pair: ``Pn = P − lr·dP``, the new
    parameters side by side right of ``lr`` (under everything placed so far unless ``at`` is given).
    Returns the new blocks by name (``W1n``, ``b1n`` …)."""
    lr = s.operand(lr, at=at or s.below_all(), label="lr") if isinstance(lr, str) else lr
    labels = labels or {}
    out: dict[str, Block] = {}
    before: Block = lr
    for param, grad in pairs:
        name = f"{param.name}n"
        before = out[name] = sgd_step(s, name, param, grad, lr, at=s.right_of(before), label=labels.get(name))
    return out


def gradient_descent_by_layer(s: Sheet, lr: Operand, layers: Sequence[tuple[Block, Block, Block, Block]], *,
                              at: tuple[int, int] | None = None) -> dict[str, Block]:
    """:func:`gradient_descent` for a network, one row per layer: ``(W, b, dW, db)`` gives ``Wn | bn``,
    and the rows stand one under the other right of ``lr``, so the panel stays a page wide however many
    layers there are. Returns the new blocks by name (``W1n``, ``b1n`` …)."""
    new = gradient_descent(s, lr, [pair for W, b, dW, db in layers for pair in ((W, dW), (b, db))], at=at)
    s.arrange([s.arrange([new[f"{W.name}n"], new[f"{b.name}n"]]) for W, b, _, _ in layers], "down")
    return new


def iterations(s: Sheet, iters: int, one_iteration: Callable[[int], Block], name: str = "losses") -> list[Block]:
    """``iters`` iterations of gradient descent stacked down the sheet: ``one_iteration(it)`` places
    iteration ``it`` (in its own group) and returns its loss; with several, the row of losses and its
    line chart come last. Returns the losses."""
    groups, losses = [], []
    for it in range(1, iters + 1):
        with s.group() as group:
            losses.append(one_iteration(it))
        if groups:
            s.next_to(group, groups[-1], "down", gap=2)
        groups.append(group)
    if iters > 1:
        with s.step(f"The loss over the {iters} iterations: {name} = [L, L_2, …], drawn as a line"):
            loss_curve(s, name, losses)
    return losses


def loss_curve(s: Sheet, name: str, losses: Sequence[Block], *, at: tuple[int, int] | None = None,
               label: str | None = None, title: str = "Loss over the iterations"):
    """The loss of every iteration of gradient descent (1x1 blocks ``L``, ``L_2`` …) gathered in one
    1xN row ``name`` (formulas reading each), and a native line chart of it under the row (x: the
    iteration, y: the loss), fed by the sheet's own cells so it follows every edit.
    Returns (the row, the chart)."""
    if any(L.shape != (1, 1) for L in losses):
        raise ShapeError(f"{name}: every loss must be 1x1, not {', '.join(f'{L.name} {_shape(L)}' for L in losses)}")
    row = s.add(name, (1, len(losses)), at or s.below_all(), "output",
                label or f"{name}: L of iterations 1…{len(losses)}",
                formula=lambda i, j: losses[j].cell(0, 0))
    chart = s.chart(title, [("loss", row, 0, "row")], at=s.below(row), kind="line",
                    x_title="iteration", y_title="loss")
    return row, chart


# --- curves -------------------------------------------------------------------------------------
def curve_table(s: Sheet, name: str, xs: Sequence[float], curves: Sequence[tuple[str, str, str, Callable[[str], str]]],
                *, at: tuple[int, int] | None = None, title: str, x_title: str = "x", y_title: str = "",
                label: str = "x", chart_below: bool = False):
    """A function drawn by hand: a column of x values (``name``, a given helper block of numbers to
    draw over, not a params given), one column of formulas per curve right of it, and a native
    scatter chart of every curve against x right of the table (under it with ``chart_below``), fed by
    the sheet's own cells (so it follows an edit of a constant the formulas read, such as a leaky
    ReLU's α).

    ``curves`` are ``(block name, label, legend, fn)`` with ``fn(x cell) -> formula``. The table
    stands at ``at`` (under everything so far by default). Returns (x column, curve columns, chart).
    """
    x = s.add(name, (len(xs), 1), at or s.below_all(), "given", label,
              values=np.asarray(xs, dtype=float)[:, None], named=False)  # an axis: neither checked nor graded
    columns: list[Block] = []
    for block_name, block_label, _, fn in curves:
        column = s.add(block_name, x.shape, s.right_of(columns[-1] if columns else x), "computed", block_label,
                       formula=lambda i, j, fn=fn: fn(x.cell(i, 0)))
        column.extra["drawing"] = True  # feeds a chart: not left blank on a worksheet unless its step is chosen
        columns.append(column)
    chart = s.chart(title, [(legend, (x, 0, "col"), (c, 0, "col")) for (_, _, legend, _), c in zip(curves, columns)],
                    at=s.below(x) if chart_below else s.right_of(columns[-1]), kind="scatter",
                    x_title=x_title, y_title=y_title)
    return x, columns, chart


# --- backpropagation -----------------------------------------------------------------------------
def weight_gradient(s: Sheet, dW_name: str, db_name: str | None, dZ: Block, A: Block) -> tuple[Block, Block | None]:
    """``dW = dZ·Aᵀ`` right of dZ (same rows), Aᵀ above dW, and ``db`` = row sums of dZ beside it.

    dW goes right of anything already standing in the rows Aᵀ needs, so the row of dZ still
    meets the column of Aᵀ.
    """
    t_top = dZ.top - GAP - 1 - A.cols
    left = max(dZ.right + GAP, s.rightmost_in_rows(t_top - 1, dZ.bottom) + GAP)
    At = transpose(s, f"{A.name}T", A, at=(t_top, left), role="computed")  # formulas, whatever A is
    dW = matmul(s, dW_name, dZ, At, at=(dZ.top, left), role="gradient",
                label=f"{dW_name} = {dZ.name}·{A.name}ᵀ")
    db = None
    if db_name is not None:
        db = row_sums(s, db_name, dZ, at=s.right_of(dW), role="gradient", label=f"{db_name} = Σ {dZ.name}")
    return dW, db


def input_gradient(s: Sheet, name: str, W: Block, dZ: Block) -> Block:
    """``dA = Wᵀ·dZ``: dA under dZ, Wᵀ left of dA."""
    at = s.below(dZ)
    Wt = transpose(s, f"{W.name}T", W, at=(at[0], at[1] - GAP - W.rows), role="computed")
    return matmul(s, name, Wt, dZ, at=at, role="gradient", label=f"{name} = {W.name}ᵀ·{dZ.name}")


def layer_gradient(s: Sheet, dW_name: str, db_name: str, dZ: Block, A: Block) -> tuple[Block, Block]:
    """:func:`weight_gradient` for a backward pass laid out as a column of ``dZ``, ``dA`` blocks (see
    :func:`relu_backward_below`): ``Aᵀ`` over ``dW = dZ·Aᵀ`` right of dZ's column (labels included),
    level with dZ, and ``db`` (dZ's row sums) left of dZ, where the column of ``Wᵀ`` blocks leaves
    room, so the pass is as narrow as its widest row. Returns (dW, db)."""
    with s.group() as beside:
        dW, db = weight_gradient(s, dW_name, db_name, dZ, A)
    s.next_to(beside, dZ, "right", align="end")
    s.next_to(db, dZ, "left", align="end")
    return dW, db


def relu_backward_below(s: Sheet, dA_name: str, dZ_name: str, W: Block, dZ: Block, Z: Block) -> tuple[Block, Block]:
    """One layer down a backward pass: ``dA = Wᵀ·dZ`` under dZ (:func:`input_gradient`), then
    ``dZ' = dA ⊙ [Z > 0]`` under dA, far enough below for the next :func:`layer_gradient`'s ``Aᵀ``
    (one row per column of dZ, and a label) to stand beside dA. Returns (dA, dZ')."""
    dA = input_gradient(s, dA_name, W, dZ)
    room = max(GAP, dZ.cols + 2 - dA.rows)
    return dA, relu_backward(s, dZ_name, dA, Z, at=s.below(dA, gap=room))


# --- sequences: time steps side by side, in rows a page wide ---------------------------------------
def page_columns(paper_name: str = "a4", landscape: bool = True) -> int:
    """How many sheet columns one printed page holds at full size (as :mod:`xlhand.paper` plans it):
    16 on A4 in landscape, 11 in portrait."""
    from xlhand.layout import paper

    width_mm, _ = paper.printable_mm(paper_name, landscape)
    return int((width_mm - paper.MARGIN_COLUMN_MM) / paper.COLUMN_MM)


def _columns_of(item) -> int:
    """The columns a block, chart or group writes in, labels included."""
    if hasattr(item, "footprint"):  # a block or a chart
        _, left, _, right = item.footprint()
        return right - left
    return item.right - item.left


def flow(s: Sheet, items, *, width: int | None = None, gap: int = GAP, row_gap: int = GAP,
         align: str = "start"):
    """Items left to right like the words of a paragraph: a row takes items while it stays within
    ``width`` columns (labels included), then the next row starts under it, left edges aligned.
    Within a row, items are aligned on their ``align`` edges (``start``: tops, ``end``: bottoms). The
    first item does not move; an item wider than ``width`` has a row of its own. Returns a group of
    them all.

    By default the rows are as wide as the page the sheet will likely print on (:func:`page_columns`),
    so that time steps, heads or iterations print as bands of whole pages instead of one strip many
    pages wide: items that fit in the width of a landscape page stand in one row; more wrap into
    rows as wide as a portrait page, which print whole in either orientation, or as wide as a
    landscape page when one item is wider than a portrait page. On a sheet that already holds a
    block wider than a landscape page (a long sequence), pages will be portrait (more rows to a page
    for as many pages across), so the rows are as wide as a portrait page."""
    items = list(items)
    if width is None:
        widths = [_columns_of(item) for item in items]
        landscape, portrait = page_columns(landscape=True), page_columns(landscape=False)
        if any(_columns_of(block) > landscape for block in s.blocks.values()):
            width = portrait
        elif sum(widths) + gap * (len(items) - 1) <= landscape or max(widths) > portrait:
            width = landscape
        else:
            width = portrait
    rows: list[list] = [[]]
    used = 0
    for item in items:
        columns = _columns_of(item)
        if rows[-1] and used + gap + columns > width:
            rows.append([])
            used = 0
        used += (gap if rows[-1] else 0) + columns
        rows[-1].append(item)
    return s.arrange([s.arrange(row, "right", gap, align) for row in rows], "down", row_gap)


def chain_arrows(s: Sheet, states: Sequence[Block]) -> None:
    """An arrow from each state to the next (h_{t−1} → h_t) wherever the two stand side by side in
    one row (a :func:`flow` of time steps); where a row wraps, the next state's formula says it."""
    for before, after in zip(states, states[1:]):
        if before.top == after.top and after.left > before.right:
            s.arrow(before, after)


def tanh_rnn(s: Sheet, X: Block, h0: str, weights: Sequence[Operand], bias: Operand, *,
             step: Callable[[int], str], h_role: str = "computed") -> tuple[list, list[Block]]:
    """A tanh RNN over the columns of X, one group and one numbered step (described by ``step(t)``)
    per time step t: ``u_t = [x_t; h_{t−1}]`` over its row of 1s, ``z_t = [Wx | Wh | b]·[u_t; 1]``
    under it, ``h_t = tanh(z_t)`` under that. The weights (given names, placed on first use) stand
    left of z_1 and the given ``h0`` left of h_1, with an arrow to it; every later step uses them
    where they stand. The blocks are named ``u_t``, ``z_t``, ``h_t`` and labelled ``u``, ``z``, ``h`` after
    the number of their step, which says the time step: labels one column wide keep a long sequence
    narrow.

    Each group is made under X; lay them out with :func:`flow` and draw the arrows between the
    states with :func:`chain_arrows`. Returns (the groups, [h_1 … h_T])."""
    groups, states = [], []
    h_prev: Block | None = None
    for t in range(1, X.cols + 1):
        with s.group() as g:
            first = s.operand(h0) if h_prev is None else None
            with s.step(step(t)):
                u = column_over_state(s, f"u_{t}", X, t - 1, h_prev or first, s.below(X), label="u")
                z = linear_parts(s, f"z_{t}", list(weights), u, bias, label="z")
                h = tanh(s, f"h_{t}", z, at=s.below(z), role=h_role, label="h")
            if first is not None:
                s.next_to(first, h, "left")
                s.arrow(first, h)
        groups.append(g)
        states.append(h)
        h_prev = h
    return groups, states
