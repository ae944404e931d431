"""Normalisations by hand: softmax over each column (to the right, or down for a narrow sheet; with
the future masked for a decoder), LayerNorm over each column (with or without gain and shift), and
RMSNorm over each row."""
from __future__ import annotations

import math

import numpy as np

from xlhand.errors import XlhandError
from xlhand.layout import fx
from xlhand.layout.blocks import Block
from xlhand.layout.box import GAP
from xlhand.layout.sheet import ShapeError, Sheet, op
from xlhand.layout.ops.reductions import col_sums
from xlhand.layout.ops.shared import Operand, absolute, shape_text, value_of, width_of, with_operands

Position = tuple[int, int]
DIRECTIONS = ("right", "down")
MASKS = (None, "causal")


# --- softmax ---------------------------------------------------------------------------------------
EXP_LIMIT = 1e6  # beyond this an e^x no longer reads (and soon overflows): the max shift is needed

MINUS_INFINITY = "−∞"  # the text a mask done by hand shows where it shuts a score


@op
def softmax(s: Sheet, name: str, Z: Block, *, direction: str = "right", mask: str | None = None,
            mask_cells: Block | None = None, at: Position | None = None, role: str = "computed",
            label: str | None = None, z_label: str | None = None) -> Block:
    """Softmax over each column of Z, as the walkthrough works it: raise each score to ``e^z``, sum
    each column into a total Σ (the row under the exponentials), divide each ``e^z`` by its Σ. The
    exponentials stand right of Z (or at ``at``) and the probabilities right of them, with arrows;
    with ``direction="down"``, for a sheet that must stay narrow, each stands under the one before,
    in Z's columns.

    On a sheet built with the option ``stable`` (``--opt stable=true``), each column's largest entry
    comes first, in the row under Z (marked max), and the exponentials are ``e^(z − max)``: the
    softmax is the same (the shift cancels in the division) and no score overflows. Without it, a
    score whose ``e^z`` is beyond 1e6 is refused, naming that option (``EXP(800)`` is #NUM! in a
    spreadsheet, and a six-digit e^z no longer reads).

    ``mask="causal"`` masks the future, as a decoder attends (Z's row j = key j, column i = query i,
    as :func:`~xlhand.layout.ops.attention.scores` makes them): a key after its query (j > i) gets
    weight 0. The math adds −1e9 to those scores, and e^(−1e9) is exactly 0: the sheet writes the 0
    it becomes (a score of −1e9 does not fit a cell), so the masked triangle is visible. With
    ``mask_cells`` (a block of Z's shape showing 0 or the text −∞, the mask done by hand), each e^ cell
    reads it: ``IF(mask = "−∞", 0, e^z)``. ``z_label`` names Z in the exponentials' label where Z is a
    copy standing for the scores (``e^S`` under a copy of S).
    """
    if direction not in DIRECTIONS or mask not in MASKS:
        raise ShapeError(f"{name}: softmax direction {direction!r}, mask {mask!r}: expected one of "
                         f"{DIRECTIONS} and one of {MASKS}")
    future = np.tri(Z.rows, Z.cols, -1, dtype=bool) if mask else np.zeros(Z.shape, dtype=bool)
    top = _column_max(s, name, Z, future) if s.settings.get("stable") else None
    exps = _exponentials(s, name, Z, top, future, at=s.below(top or Z) if direction == "down" else at, z_label=z_label,
                         masked=mask is not None, mask_cells=mask_cells)
    s.anchor(exps)
    sums = col_sums(s, f"{name}_sum", exps, at=s.adjoining(exps),
                    expect=lambda v: _exp_of(s, Z, future, top is not None, v).sum(axis=0, keepdims=True))
    label = label or f"{name} = softmax({Z.name})" + (", causal" if mask else "")
    probs = s.add(name, Z.shape, at=s.below(sums) if direction == "down" else s.right_of(exps), role=role, label=label,
                  formula=lambda i, j: fx.div(exps.cell(i, j), sums.cell(0, j)))
    if direction == "right":
        s.arrow(exps, probs)
    return with_operands(probs, [exps, sums])  # the page planner keeps the division with e^z and Σ


def _column_max(s: Sheet, name: str, Z: Block, future: np.ndarray) -> Block:
    """Each column's largest allowed entry, in the row under Z (marked max)."""
    def allowed(j: int) -> str:
        last = Z.rows - 1 - int(future[:, j].sum())
        return Z.cell(0, j) if last == 0 else f"{Z.cell(0, j)}:{Z.cell(last, j)}"

    return s.add(f"{name}_max", (1, Z.cols), at=s.adjoining(Z), role="computed", label="", side_label="max",
                 formula=lambda i, j: f"MAX({allowed(j)})",
                 expect=lambda v: np.where(future, -np.inf, value_of(Z)(v)).max(axis=0, keepdims=True))


def _exponentials(s: Sheet, name: str, Z: Block, top: Block | None, future: np.ndarray, *,
                  at: Position | None, masked: bool, mask_cells: Block | None = None,
                  z_label: str | None = None) -> Block:
    """``e^z`` (``e^(z − max)`` after a max row ``top``), 0 where the mask shuts a score, right of Z
    (with an arrow) unless ``at`` says."""
    def power(i: int, j: int) -> str:
        return Z.cell(i, j) if top is None else fx.sub(Z.cell(i, j), top.cell(0, j))

    def formula(i: int, j: int) -> str:
        if mask_cells is not None:
            return f'IF({mask_cells.cell(i, j)}="{MINUS_INFINITY}",0,{fx.exp(power(i, j))})'
        return "0" if future[i, j] else fx.exp(power(i, j))

    right = s.right_of(Z)
    z_name = z_label or Z.name  # a copy may stand for the scores it copies (e^S under a copy of S)
    exponent = z_name if top is None else f"({z_name} − max)"
    exps = s.add(f"{name}_exp", Z.shape, at=at or right, role="computed",
                 label=f"e^{exponent}" + (", future 0" if masked else ""),
                 formula=formula, expect=lambda v: _exp_of(s, Z, future, top is not None, v))
    if (at or right) == right:
        s.arrow(Z, exps, while_beside=True)
    return exps


def _exp_of(s: Sheet, Z: Block, future: np.ndarray, shifted: bool, v: dict) -> np.ndarray:
    """NumPy's e^z (or e^(z − max)) of the allowed scores; a score whose e^z is beyond
    :data:`EXP_LIMIT` is refused, naming the option that shifts it."""
    z = np.where(future, -np.inf, value_of(Z)(v))
    if shifted:
        return np.exp(z - z.max(axis=0, keepdims=True))
    largest = float(z.max())
    if largest > math.log(EXP_LIMIT):
        raise XlhandError(f"{s.exercise or s.title}: not written: the softmax of {Z.name} needs e^{largest:g}, beyond "
                          f"{EXP_LIMIT:g} (too large to read, or an overflow); build with --opt stable=true "
                          "to subtract each column's max first")
    return np.exp(z)


# --- LayerNorm -------------------------------------------------------------------------------------
@op
def layernorm(s: Sheet, name: str, X: Block, *, eps: float | Block, gamma: Operand | None = None,
              beta: Operand | None = None, sample: bool = False, eps_on: str = "var",
              at: Position | None = None, role: str = "computed", label: str | None = None,
              direction: str = "right", gap: int = GAP) -> Block:
    """LayerNorm over the rows (features) of each column: ``x̂ = (x − mean)/σ``, and with gain γ and
    shift β (d×1 givens) ``N = γ ⊙ x̂ + β``. ``sample`` divides the variance by n − 1 instead of n;
    ``eps_on`` is ``var`` (σ = √(var + ε), as PyTorch) or ``std`` (σ = √var + ε, as some course
    material); ε is a number written into the formulas or a 1x1 block (a cell to edit).

    Laid out by hand: the mean under X, the centred values right of X with the variance under them,
    x̂ right of those; on a narrow page, ``direction="under"`` puts x̂ under the mean, in X's columns,
    and ``direction="down"`` stacks everything there (mean, X − mean, variance, x̂), ``gap`` rows apart
    (0: each label row is the gap, and no page breaks inside the normalisation). Without γ and β, x̂ is the result (``name``); with them, N stands under x̂ (or
    at ``at``, such as under X, so that a chain of layers goes on in X's columns) with γ | β at its
    left, so row i of N reads γ_i·x̂ + β_i like a linear layer with a diagonal weight. Returns the
    result.
    """
    if direction not in ("right", "under", "down"):
        raise ShapeError(f"{name}: layernorm direction {direction!r}: expected right, under or down")
    if eps_on not in ("var", "std"):
        raise ShapeError(f"{name}: eps_on {eps_on!r}: expected var or std")
    affine = gamma is not None
    divisor = X.rows - 1 if sample else X.rows
    x = value_of(X)

    def centred_of(v):
        return x(v) - x(v).mean(axis=0, keepdims=True)

    def sigma_of(v):
        var = (centred_of(v) ** 2).sum(axis=0, keepdims=True) / divisor
        e = float(np.asarray(v[eps.name]).reshape(-1)[0]) if isinstance(eps, Block) else eps
        return np.sqrt(var + e) if eps_on == "var" else np.sqrt(var) + e

    with s.hanging_off(X):  # the normalisation stands beside X; ``at`` places γ ⊙ x̂ + β
        mean = s.add(f"{name}_mu", (1, X.cols), at=s.adjoining(X), role="computed", label="", side_label="mean",
                     formula=lambda i, j: fx.average(X.col_range(j)), expect=lambda v: x(v).mean(axis=0, keepdims=True))
        beside = direction != "down"  # X − mean right of X (else under the mean)
        centred = s.add(f"{name}_xc", X.shape, at=s.right_of(X) if beside else s.below(mean, gap=gap), role="computed",
                        label=f"{X.name} − mean",
                        formula=lambda i, j: fx.sub(X.cell(i, j), mean.cell(0, j)), expect=centred_of)
        var = s.add(f"{name}_var", (1, X.cols), at=s.adjoining(centred), role="computed", label="", side_label="var",
                    formula=lambda i, j: f"{fx.sumsq(centred.col_range(j))}/{divisor}",
                    expect=lambda v: (centred_of(v) ** 2).sum(axis=0, keepdims=True) / divisor)
        if beside:
            s.arrow(X, centred)
        epsilon = (lambda: absolute(eps)) if isinstance(eps, Block) else (lambda: f"{eps:g}")
        sigma = (lambda j: fx.sqrt(f"{var.cell(0, j)}+{epsilon()}")) if eps_on == "var" else \
            (lambda j: f"{fx.sqrt(var.cell(0, j))}+{epsilon()}")
        if affine:
            hat_name, hat_role = f"{name}_hat", "computed"
            hat_label = "x̂ = ·/√(var + ε)" if eps_on == "var" else "x̂ = ·/(√var + ε)"
        else:
            hat_name, hat_role, hat_label = name, role, label or f"{name} = LayerNorm({X.name})"
        hat_at = {"right": s.right_of(centred), "under": s.below(mean, gap=gap), "down": s.below(var, gap=gap)}[direction]
        hat = s.add(hat_name, X.shape, at=hat_at, role=hat_role, label=hat_label,
                    formula=lambda i, j: fx.div(centred.cell(i, j), sigma(j)),
                    expect=(lambda v: centred_of(v) / sigma_of(v)) if affine else None)
        if direction == "right":
            s.arrow(centred, hat)
    return _gain_and_shift(s, name, hat, gamma, beta, at=at, role=role, label=label) if affine else hat


def _gain_and_shift(s: Sheet, name: str, hat: Block, gamma: Operand, beta: Operand, *, at: Position | None,
                    role: str, label: str | None) -> Block:
    """``N = γ ⊙ x̂ + β`` under x̂ (or at ``at``), γ | β at its left."""
    at = at or s.below(hat)
    g_cols, b_cols = width_of(s, gamma), width_of(s, beta)
    g = s.operand(gamma, at=s.left_of(at, g_cols + b_cols), label="γ") if isinstance(gamma, str) else gamma
    b = s.operand(beta, at=s.left_of(at, b_cols), label="β") if isinstance(beta, str) else beta
    n = hat.rows
    if g.shape != (n, 1) or b.shape != (n, 1):
        raise ShapeError(f"{name}: gain {g.name} {shape_text(g)} and shift {b.name} {shape_text(b)} "
                         f"must both be {n}x1")
    N = s.add(name, hat.shape, at=at, role=role, label=label or f"{name} = γ ⊙ x̂ + β",
              formula=lambda i, j: f"{g.cell(i, 0)}*{hat.cell(i, j)}+{b.cell(i, 0)}")
    return with_operands(N, [g, b, hat])  # the page planner keeps N with x̂ and γ | β where it can


# --- RMSNorm ---------------------------------------------------------------------------------------
@op
def rmsnorm_rows(s: Sheet, name: str, X: Block, *, eps: float = 1e-6, at: Position | None = None,
                 rms_at: Position | None = None, role: str = "computed",
                 label: str | None = None) -> Block:
    """RMSNorm over the entries of each row, no gain: ``x / sqrt(mean(x²) + eps)`` (a row vector
    such as mHC's flattened streams ``vec(x)`` is one row).

    Laid out by hand: each row's rms, ``SQRT(SUMSQ(row)/n + eps)``, right of X (or at ``rms_at``);
    the normalised rows at ``at`` (default under X).
    """
    n = X.cols
    x = value_of(X)
    rms = s.add(f"{name}_rms", (X.rows, 1), at=rms_at or s.right_of(X), role="computed", label="rms",
                formula=lambda i, j: fx.sqrt(f"{fx.sumsq(X.row_range(i))}/{n}+{eps:g}"),
                expect=lambda v: np.sqrt((x(v) ** 2).mean(axis=1, keepdims=True) + eps))
    out = s.add(name, X.shape, at=at or s.below(X), role=role, label=label or f"{name} = RMSNorm({X.name})",
                formula=lambda i, j: fx.div(X.cell(i, j), rms.cell(i, 0)))
    s.arrow(X, out)
    return out
