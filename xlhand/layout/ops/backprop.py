"""Backpropagation by hand: the gradients of a linear layer (``dW = dZ·Aᵀ``, ``db = Σ dZ``,
``dA = Wᵀ·dZ``), through a ReLU, and gradient descent (one step, by layer, iterations stacked down)."""
from __future__ import annotations

from contextlib import ExitStack
from typing import Callable, Sequence

from xlhand.layout.blocks import Block
from xlhand.layout.sheet import GAP, Sheet, op
from xlhand.layout.ops.copies import transpose
from xlhand.layout.ops.curves import loss_curve
from xlhand.layout.ops.elementwise import relu_backward, sgd_step
from xlhand.layout.ops.products import matmul
from xlhand.layout.ops.reductions import row_sums
from xlhand.layout.ops.shared import Operand

Position = tuple[int, int]


@op
def weight_gradient(s: Sheet, dW_name: str, db_name: str | None, dZ: Block, A: Block, *,
                    named: bool = False) -> tuple[Block, Block | None]:
    """``dW = dZ·Aᵀ`` right of dZ (same rows), Aᵀ above dW, and ``db`` = row sums of dZ beside it.

    dW goes right of anything already standing in the rows Aᵀ needs, so the row of dZ still
    meets the column of Aᵀ. ``named``: each labelled with its name only (a later iteration of
    gradient descent, whose formulas stand over the first one's).
    """
    at = s.clear_right(dZ, above=A.cols)
    At = transpose(s, f"{A.name}T", A, at=s.above(at, A.cols), role="computed")  # formulas, whatever A is
    dW = matmul(s, dW_name, dZ, At, at=at, role="gradient",
                label=dW_name if named else f"{dW_name} = {dZ.name}·{A.name}ᵀ")
    db = None
    if db_name is not None:
        db = row_sums(s, db_name, dZ, at=s.right_of(dW), role="gradient",
                      label=db_name if named else f"{db_name} = Σ {dZ.name}")
    return dW, db


@op
def input_gradient(s: Sheet, name: str, W: Block, dZ: Block, *, named: bool = False) -> Block:
    """``dA = Wᵀ·dZ``: dA under dZ, Wᵀ left of dA (``named``: labelled with its name only)."""
    at = s.below(dZ)
    Wt = transpose(s, f"{W.name}T", W, at=s.left_of(at, W.rows), role="computed")
    return matmul(s, name, Wt, dZ, at=at, role="gradient", label=name if named else f"{name} = {W.name}ᵀ·{dZ.name}")


@op
def layer_gradient(s: Sheet, dW_name: str, db_name: str, dZ: Block, A: Block, *,
                   named: bool = False) -> tuple[Block, Block]:
    """:func:`weight_gradient` for a backward pass laid out as a column of ``dZ``, ``dA`` blocks (see
    :func:`relu_backward_below`): ``Aᵀ`` over ``dW = dZ·Aᵀ`` right of dZ's column (labels included),
    level with dZ, and ``db`` (dZ's row sums) left of dZ, where the column of ``Wᵀ`` blocks leaves
    room, so the pass is as narrow as its widest row. Returns (dW, db)."""
    with s.group() as beside:
        dW, db = weight_gradient(s, dW_name, db_name, dZ, A, named=named)
    s.next_to(beside, dZ, "right", align="end")
    s.next_to(db, dZ, "left", align="end")
    return dW, db


@op
def relu_backward_below(s: Sheet, dA_name: str, dZ_name: str, W: Block, dZ: Block, Z: Block, *,
                        named: bool = False) -> tuple[Block, Block]:
    """One layer down a backward pass: ``dA = Wᵀ·dZ`` under dZ (:func:`input_gradient`), then
    ``dZ' = dA ⊙ [Z > 0]`` under dA, far enough below for the next :func:`layer_gradient`'s ``Aᵀ``
    (one row per column of dZ, and a label) to stand beside dA. Returns (dA, dZ')."""
    dA = input_gradient(s, dA_name, W, dZ, named=named)
    room = dZ.cols + 2 - dA.rows  # rows beside dA that the next Aᵀ and its label need
    return dA, relu_backward(s, dZ_name, dA, Z, at=s.below(dA, gap=max(GAP, room)),
                             **({"label": dZ_name} if named else {}))


@op
def gradient_descent(s: Sheet, lr: Operand, pairs: Sequence[tuple[Block, Block]], *,
                     at: Position | None = None, labels: dict[str, str] | None = None) -> dict[str, Block]:
    """One step of gradient descent for every (parameter, gradient) pair: ``Pn = P − lr·dP``, the new
    parameters side by side right of ``lr`` (under everything placed so far unless ``at`` is given).
    Returns the new blocks by name (``W1n``, ``b1n`` …)."""
    if isinstance(lr, str) and lr not in s.blocks:
        s.anchor(lr := s.given(lr, at=at or s.below_all(), label="lr"))
    lr = s.blocks[lr] if isinstance(lr, str) else lr
    labels = labels or {}
    out: dict[str, Block] = {}
    before: Block = lr
    for param, grad in pairs:
        name = f"{param.name}n"
        before = out[name] = sgd_step(s, name, param, grad, lr, at=s.right_of(before), label=labels.get(name))
    return out


@op
def gradient_descent_by_layer(s: Sheet, lr: Operand, layers: Sequence[tuple[Block, Block, Block, Block]], *,
                              at: Position | None = None, named: bool = False) -> dict[str, Block]:
    """:func:`gradient_descent` for a network, one row per layer: ``(W, b, dW, db)`` gives ``Wn | bn``,
    and the rows stand one under the other right of ``lr``, so the panel stays a page wide however many
    layers there are. Returns the new blocks by name (``W1n``, ``b1n`` …)."""
    pairs = [pair for W, b, dW, db in layers for pair in ((W, dW), (b, db))]
    names = {f"{p.name}n": f"{p.name}n" for p, _ in pairs} if named else None
    new = gradient_descent(s, lr, pairs, at=at, labels=names)
    s.arrange([s.arrange([new[f"{W.name}n"], new[f"{b.name}n"]]) for W, b, _, _ in layers], "down")
    return new


def iterations(s: Sheet, iters: int, one_iteration: Callable[[int], Block], name: str = "losses") -> list[Block]:
    """``iters`` iterations of gradient descent stacked down the sheet: ``one_iteration(it)`` places
    iteration ``it`` (in its own group) and returns its loss. Iterations 2 to ``iters`` share one step
    (the header stays as short as it can), which names the steps of the first one they repeat. With
    several, the row of losses and its line chart come last. Returns the losses."""
    groups, losses, first = [], [], range(0)
    with ExitStack() as later:
        for it in range(1, iters + 1):
            before = len(s.steps)
            if it == 2:
                later.enter_context(s.step(later_iterations_text(iters, first)))
            with s.group() as group:
                losses.append(one_iteration(it))
            if it == 1:
                first = range(before + 1, len(s.steps) + 1)
            if groups:
                s.next_to(group, groups[-1], "down", gap=2)
            groups.append(group)
    if iters > 1:
        with s.step(f"The loss over the {iters} iterations: {name} = [L, L_2, …], drawn as a line"):
            loss_curve(s, name, losses)
    return losses


def later_iterations_text(iters: int, first: range) -> str:
    """The one step iterations 2 to ``iters`` take together, each from the one before's updates: one
    line on a portrait page."""
    steps = f"as in steps {first.start}–{first.stop - 1}"
    if iters == 2:
        return f"Iteration 2 (W1_2 = W1n …): forward pass, loss L_2, gradients, update, {steps}"
    return f"Iterations 2–{iters}, each from the last one's updates (W1_3 = W1_2n …), {steps}"
