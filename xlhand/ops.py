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
from typing import Callable, Sequence

import numpy as np

from . import fx
from .blocks import Block
from .sheet import GAP, Sheet, ShapeError

Operand = Block | str  # a placed block, or the name of a given to place where it belongs


def at_(block: Block, i: int, j: int) -> str:
    """Cell (i, j) of ``block``, broadcasting a row, a column or a single cell."""
    return block.cell(i if block.rows > 1 else 0, j if block.cols > 1 else 0)


def absolute(block: Block) -> str:
    """The absolute address of a 1x1 block (a scalar such as a learning rate)."""
    return block.cell(0, 0, absolute=True)


def value_of(block: Block) -> Callable[[dict], np.ndarray]:
    return lambda v: np.atleast_2d(np.asarray(v[block.name], dtype=float))


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
        A = softmax_columns(s, a_name, S)
    with _step_or_not(s, described[2]):
        F = matmul(s, f_name, _copy_left(s, f"{f_name}_V", V, s.below(A)), A, role=role,
                   label=f"{f_name} = {V.name}·{a_name}")
    return S, A, F


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


# --- backpropagation -----------------------------------------------------------------------------
def weight_gradient(s: Sheet, dW_name: str, db_name: str | None, dZ: Block, A: Block) -> tuple[Block, Block | None]:
    """``dW = dZ·Aᵀ`` right of dZ (same rows), Aᵀ above dW, and ``db`` = row sums of dZ beside it.

    dW goes right of anything already standing in the rows Aᵀ needs, so the row of dZ still
    meets the column of Aᵀ.
    """
    t_top = dZ.top - GAP - 1 - A.cols
    left = max(dZ.right + GAP, s.rightmost_in_rows(t_top - 1, dZ.bottom) + GAP)
    At = transpose(s, f"{A.name}T", A, at=(t_top, left))
    dW = matmul(s, dW_name, dZ, At, at=(dZ.top, left), role="gradient",
                label=f"{dW_name} = {dZ.name}·{A.name}ᵀ")
    db = None
    if db_name is not None:
        db = row_sums(s, db_name, dZ, at=s.right_of(dW), role="gradient", label=f"{db_name} = Σ {dZ.name}")
    return dW, db


def input_gradient(s: Sheet, name: str, W: Block, dZ: Block) -> Block:
    """``dA = Wᵀ·dZ``: dA under dZ, Wᵀ left of dA."""
    at = s.below(dZ)
    Wt = transpose(s, f"{W.name}T", W, at=(at[0], at[1] - GAP - W.rows))
    return matmul(s, name, Wt, dZ, at=at, role="gradient", label=f"{name} = {W.name}ᵀ·{dZ.name}")
