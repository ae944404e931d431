"""backprop: forward and backward through a 3-layer perceptron, then one gradient-descent step.

Forward: Z1 = W1·X + b1, A1 = ReLU(Z1); Z2 = W2·A1 + b2, A2 = ReLU(Z2); Z3 = W3·A2 + b3,
P = softmax(Z3) over each column; L = −Σ Y ⊙ ln P (summed over classes and samples).
Backward, back to front: dZ3 = P − Y (softmax with cross-entropy); dW3 = dZ3·A2ᵀ, db3 = dZ3's row
sums; dA2 = W3ᵀ·dZ3, dZ2 = dA2 ⊙ [Z2 > 0]; dW2 = dZ2·A1ᵀ, db2 = row sums of dZ2; dA1 = W2ᵀ·dZ2,
dZ1 = dA1 ⊙ [Z1 > 0]; dW1 = dZ1·Xᵀ, db1 = row sums of dZ1 (ReLU'(0) = 0).
Gradient descent: W1n = W1 − lr·dW1, b1n = b1 − lr·db1, and likewise for layers 2 and 3.

Option ``iters`` (1 by default): N iterations of gradient descent, each laid out in full. The blocks
of iteration k ≥ 2 carry the suffix ``_k`` (``X_2``, ``Z1_2``, ``dW3_2``, ``L_2``); it starts from
``W1_k`` and ``b1_k``, copies (formulas) of the previous iteration's updates ``W1n`` (k = 2) or
``W1_{k−1}n``, and ends with its own update ``W1_kn`` = W1_k − lr·dW1_k. The loss of every iteration
is gathered in ``losses`` (1×N) and drawn as a line chart.
"""
from __future__ import annotations

from contextlib import nullcontext

import numpy as np

from xlhand.model.npref import descent, has_both_signs, iteration_name, relu, softmax_columns
from xlhand.layout import BIAS, DOWN, EVERYTHING, GRADIENT, OUTPUT, TARGET, WEIGHT, fx, ops
from xlhand.layout.blocks import label_columns
from xlhand.model.exercise import Exercise, Option, Source, STABLE_SOFTMAX
from xlhand.model.givens import Given
from xlhand.model.makers import fixed, one_hot_columns, relu_bias


PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3")
ITERS_MAX = 10


def named(name: str, it: int) -> str:
    return iteration_name(name, it, PARAMS)


def one_iteration(X, Y, W, b, lr) -> dict:
    """The forward pass, the loss, the gradients and the updated weights, for weights W[k], b[k]."""
    Z1 = W[1] @ X + b[1]
    A1 = relu(Z1)
    Z2 = W[2] @ A1 + b[2]
    A2 = relu(Z2)
    Z3 = W[3] @ A2 + b[3]
    P = softmax_columns(Z3)
    L = -np.sum(Y * np.log(P))
    dZ3 = P - Y
    dW3, db3 = dZ3 @ A2.T, dZ3.sum(axis=1, keepdims=True)
    dA2 = W[3].T @ dZ3
    dZ2 = dA2 * (Z2 > 0)
    dW2, db2 = dZ2 @ A1.T, dZ2.sum(axis=1, keepdims=True)
    dA1 = W[2].T @ dZ2
    dZ1 = dA1 * (Z1 > 0)
    dW1, db1 = dZ1 @ X.T, dZ1.sum(axis=1, keepdims=True)
    out = dict(Z1=Z1, A1=A1, Z2=Z2, A2=A2, Z3=Z3, P=P, L=L, dZ3=dZ3, dW3=dW3, db3=db3, dA2=dA2, dZ2=dZ2,
               dW2=dW2, db2=db2, dA1=dA1, dZ1=dZ1, dW1=dW1, db1=db1)
    for k in (1, 2, 3):
        out[f"W{k}n"] = W[k] - lr * out[f"dW{k}"]
        out[f"b{k}n"] = b[k] - lr * out[f"db{k}"]
    return out


def reference(d, p, iters=1):
    W = {k: p[f"W{k}"] for k in (1, 2, 3)}
    b = {k: p[f"b{k}"] for k in (1, 2, 3)}
    return descent(lambda W_, b_: one_iteration(p.X, p.Y, W_, b_, p.lr), W, b, iters, PARAMS)


def layout(s, d, p, iters=1):
    X = s.given("X", label="X (inputs)")
    weights = {k: (f"W{k}", f"b{k}") for k in (1, 2, 3)}  # iteration 1 starts from the givens

    def iteration(it):
        nonlocal weights
        L, weights = _iteration(s, d, it, X, weights)
        return L

    ops.iterations(s, iters, iteration)


def _iteration(s, d, it, X, weights):
    """One iteration: the forward pass and the loss (one column, weights to its left), under it the
    backward pass (dZ and dA down the middle, Wᵀ and db left, Aᵀ over dW right), and the update:
    where the page has the columns (:func:`_beside`), in the columns right of the forward pass, each
    layer's Wn and bn in that layer's rows (so that a small sheet prints on two pages), else a panel
    of its own under the backward pass. A later iteration is laid out as the first, its blocks
    labelled with their names (``Z1_2``: the formulas are the first iteration's, in its step): as
    narrow as the first, so that each iteration takes the pages the first one takes. ``weights``
    are the givens' names in the first iteration, the last one's updates after. Returns the loss and
    this iteration's updates."""
    n = lambda name: named(name, it)  # noqa: E731
    later = it > 1

    def lab(text: str, name: str) -> str:
        """A block's label: its formula in the first iteration, its name in a later one."""
        return name if later else text

    step = (lambda text: nullcontext()) if later else s.step
    beside = _beside(d)
    with s.group() as forward:
        if later:  # a copy of X opens the iteration, its label says which
            X = s.place(ops.carry(s, n("X"), X, label=f"{n('X')} (iteration {it})"), below=EVERYTHING)
        A, Z, used, outs = X, {}, {}, {}
        for k in (1, 2, 3):
            what = f"Z{k} = W{k}·{'X' if k == 1 else f'A{k - 1}'} + b{k}, " + (
                f"A{k} = ReLU(Z{k})" if k < 3 else "P = softmax(Z3) by column")
            with step(f"Layer {k}: {what}"):
                W, b = weights[k]
                label = lab(f"{n(f'Z{k}')} = {n(f'W{k}')}·{A.name} + {n(f'b{k}')}", n(f"Z{k}"))
                if later:
                    Z[k] = ops.linear_from(s, n(f"Z{k}"), W, A, b, names=(n(f"W{k}"), n(f"b{k}")),
                                           label=label)
                else:
                    Z[k] = ops.linear(s, n(f"Z{k}"), W, A, b, label=label)
                if beside:  # its label right under the row of 1s: a row less per layer
                    s.place(Z[k], below=ops.ones_row(s, A), gap=0)
                used[k] = (s.blocks[n(f"W{k}")], s.blocks[n(f"b{k}")])
                if k < 3:
                    A = outs[k] = ops.relu(s, n(f"A{k}"), Z[k], label=lab(f"{n(f'A{k}')} = ReLU({Z[k].name})",
                                                                         n(f"A{k}")))
                    s.place(A, below=Z[k])
                else:
                    # e^Z3 under W3 (past Z3's max row, with a stable softmax), so that P, right
                    # of it, stands under Z3: the column stays narrow
                    P = ops.softmax(s, n("P"), Z[k], role=OUTPUT, label=lab(f"{n('P')} = softmax({Z[k].name})",
                                                                              n("P")))
                    s.place(P, below=Z[k], in_columns_of=used[k][0], gap=0 if beside else 1)
        with step("Loss: L = −Σ Y ⊙ ln P (cross-entropy, all samples)"):
            if later:
                Y = ops.carry(s, n("Y"), s.blocks["Y"], label=n("Y"))
            else:
                Y = s.given("Y", label="Y (targets)")
            loss = lab(f"{n('L')} = −Σ {Y.name} ⊙ ln {P.name}", n("L"))
            if not beside:  # L under Y: right of it, a later iteration's longer label ran off the page
                s.place(Y, right_of=P)
                L = s.place(ops.cross_entropy(s, n("L"), Y, P, label=loss), below=Y)
            else:  # under P, L right of it: right of P stand the updates of layer 3 (see _updates_beside)
                s.place(Y, below=P, gap=0)
                L = ops.cross_entropy(s, n("L"), Y, P, label=loss)
    with s.group() as backward:
        with step("dZ3 = P − Y: the gradient of softmax + cross-entropy"):
            dZ = ops.elementwise(s, n("dZ3"), fx.sub, [P, Y], role=GRADIENT,
                                 label=lab(f"{n('dZ3')} = {P.name} − {Y.name}", n("dZ3")))
            s.place(dZ, below=EVERYTHING)
        grads = {}
        for k in (3, 2, 1):
            source = s.blocks[n(f"A{k - 1}")] if k > 1 else X
            with step(f"dW{k} = dZ{k}·{'X' if k == 1 else f'A{k - 1}'}ᵀ, db{k} = row sums of dZ{k}"):
                grads[k] = ops.layer_gradient(s, n(f"dW{k}"), n(f"db{k}"), dZ, source, named=later)
            if k > 2 or (k == 2 and beside):  # Aᵀ of the next dW beside dA
                with step(f"dA{k - 1} = W{k}ᵀ·dZ{k}, dZ{k - 1} = dA{k - 1} ⊙ [Z{k - 1} > 0]"):
                    dA, dZ = ops.relu_backward_below(s, n(f"dA{k - 1}"), n(f"dZ{k - 1}"), used[k][0], dZ,
                                                     Z[k - 1], named=later)
            elif k == 2:  # the last layer's Xᵀ, dZ1, dW1 under dA1, not beside it: a page may end there
                with step("dA1 = W2ᵀ·dZ2, dZ1 = dA1 ⊙ [Z1 > 0]"):
                    dA = ops.input_gradient(s, n("dA1"), used[k][0], dZ, named=later)
                    dZ = ops.relu_backward(s, n("dZ1"), dA, Z[1], label=lab(
                        f"{n('dZ1')} = {dA.name} ⊙ [{Z[1].name} > 0]", n("dZ1")))
                    s.place(dZ, below=dA, gap=X.cols + 3)  # a gap, Xᵀ's label and rows, a gap
    s.next_to(backward, forward, DOWN, gap=0 if beside else 1)
    with step("Gradient descent: Wn = W − lr·dW, bn = b − lr·db"):
        if not beside:  # a panel of its own under the backward pass, one row per layer
            with s.group() as update:
                new = ops.gradient_descent_by_layer(s, "lr", [used[k] + grads[k] for k in (1, 2, 3)], named=later)
            s.next_to(update, backward, DOWN, gap=1)
        else:  # each update right of its layer (Wn level with Z, bn with A or P), in the columns
            # the forward pass leaves free: no band of its own under the backward pass
            new = _updates_beside(s, X, Z, outs, P, used, grads, later)
    return L, {k: (new[f"{W.name}n"], new[f"{b.name}n"]) for k, (W, b) in used.items()}


def _updates_beside(s, X, Z, A, P, used, grads, later=False) -> dict:
    """The updates in the columns right of the forward pass, each in the band of its layer (the rows
    a page break may not cross anyway): Wn = W − lr·dW right of Z, bn = b − lr·db right of the layer's
    output (A, or P for the last layer); lr right of X when it is not on the sheet yet (a later
    iteration uses it where it stands, and labels its updates with their names)."""
    lr = s.blocks["lr"] if "lr" in s.blocks else s.place(s.given("lr", label="lr"), right_of=X)
    new = {}
    for k, (W, b) in used.items():
        dW, db = grads[k]
        names = {"label": f"{W.name}n"} if later else {}
        new[f"{W.name}n"] = s.place(ops.sgd_step(s, f"{W.name}n", W, dW, lr, **names), right_of=Z[k], gap=0)
        out = A.get(k, P)
        names = {"label": f"{b.name}n"} if later else {}
        # right of P a gap, but with a stable softmax (e^(Z3 − max) and its wider label left of P)
        new[f"{b.name}n"] = s.place(ops.sgd_step(s, f"{b.name}n", b, db, lr, **names), right_of=out,
                                    gap=0 if out is not P or s.settings.get("stable") else 1)
    return new


def _beside(d) -> bool:
    """Whether the updates stand right of the forward pass (see :func:`_updates_beside`) on the page
    the sheet prints on: [W | b], the 1s' side label, Z (or its label), Wn (or its label), at most."""
    widest = max(d.n_in, d.h1, d.h2)
    row = widest + 2 + max(d.batch, label_columns("[1] Z1 = W1·X + b1")) \
        + max(widest, label_columns("[11] W1n = W1 − lr·dW1"))
    return row <= ops.page_columns("letter", landscape=_landscape(d))


def _landscape(d) -> bool:
    """Whether the backward pass (Wᵀ | dZ, dA | Aᵀ over dW, a gap between, dZ's labels three columns
    wide) is wider than a portrait page, so that the sheet prints in landscape."""
    return max(d.n_out, d.h2) + max(d.batch, 3) + max(d.h2, d.h1, d.n_in) + 2 > ops.page_columns(landscape=False)


def instructive(d, p, iters=1) -> bool:
    """Random numbers must show what each step is for: each ReLU layer of two or more units zeroes
    some entries and passes others, and a softmax that is not one-hot, whose every e^z reads (at most
    1e6: the softmax is worked without shifting by the max)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ref = reference(d, p, iters)
    if any(v.max() > np.log(1e6) for k, v in ref.items() if k == "Z3" or k.startswith("Z3_")):
        return False
    for z in (ref["Z1"], ref["Z2"]):
        if z.shape[0] >= 2 and not has_both_signs(z):
            return False
    return bool((d.n_out < 2 or ref["P"].max() < 0.999) and np.isfinite(ref["L"]))


EXERCISE = Exercise(
    name="backprop",
    title="Backpropagation through a 3-layer perceptron",
    source=Source(
        paper="Rumelhart, Hinton & Williams (1986), Learning representations by back-propagating errors, Nature 323",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Backpropagation"),
    dims={"n_in": "input features", "h1": "hidden units, layer 1", "h2": "hidden units, layer 2",
          "n_out": "classes", "batch": "samples (columns)"},
    presets={
        "small": dict(n_in=2, h1=3, h2=2, n_out=3, batch=1),
        "medium": dict(n_in=4, h1=3, h2=4, n_out=3, batch=2),
        "large": dict(n_in=8, h1=6, h2=6, n_out=4, batch=4),
    },
    # Fresh numbers: each weight row's absolute sum is bounded whatever the width, and each ReLU
    # layer's bias centres its units on both sides of 0 (relu_bias): no layer dies or blows up.
    givens=[
        Given("X", ("n_in", "batch"), low=-2, high=3),
        Given("Y", ("n_out", "batch"), role=TARGET, make=one_hot_columns),
        Given("W1", ("h1", "n_in"), role=WEIGHT, low=-2, high=2, row_sum=3),
        Given("b1", ("h1", 1), role=BIAS, derive=relu_bias(1)),
        Given("W2", ("h2", "h1"), role=WEIGHT, low=-1, high=1, row_sum=2),
        Given("b2", ("h2", 1), role=BIAS, derive=relu_bias(2)),
        Given("W3", ("n_out", "h2"), role=WEIGHT, low=-1, high=1, row_sum=2),
        Given("b3", ("n_out", 1), role=BIAS, low=-1, high=1),
        Given("lr", (), make=fixed(0.1)),
    ],
    reference=reference,
    layout=layout,
    options=[Option("iters", 1, tuple(range(1, ITERS_MAX + 1)),
                    describe="iterations of gradient descent, each laid out in full, and a chart of the loss"),
             STABLE_SOFTMAX],
    accept=instructive,
)
