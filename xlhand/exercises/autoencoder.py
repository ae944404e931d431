"""autoencoder: encode, decode, and learn from the reconstruction error.

A1 = ReLU(W1·X + b1), Code = ReLU(W2·A1 + b2), A3 = ReLU(W3·Code + b3), Y = W4·A3 + b4 (linear);
L = mean((Y − X)²) over all d·batch entries; dY = 2(Y − X)/(d·batch), then backpropagation through
the four layers (ReLU masks) and one gradient-descent step. Each layer carries a note with its
PyTorch equivalent: nn.Linear(in, out) and nn.ReLU().

Option ``iters`` (1 by default): N iterations of gradient descent, each laid out in full. The blocks
of iteration k ≥ 2 carry the suffix ``_k`` (``X_2``, ``Z1_2``, ``Code_2``, ``dW4_2``, ``L_2``); it
starts from ``W1_k`` and ``b1_k``, copies (formulas) of the previous iteration's updates ``W1n``
(k = 2) or ``W1_{k−1}n``, and ends with its own update ``W1_kn`` = W1_k − lr·dW1_k. The loss of every
iteration is gathered in ``losses`` (1×N) and drawn as a line chart.
"""
from __future__ import annotations

from contextlib import ExitStack, nullcontext

import numpy as np

from xlhand.model.npref import descent, has_both_signs, iteration_name, relu
from xlhand.layout import BIAS, DOWN, EVERYTHING, GRADIENT, LEFT, RIGHT, UP, WEIGHT, ops
from xlhand.layout.blocks import label_columns
from xlhand.model.exercise import Exercise, Option, Source
from xlhand.model.givens import Given
from xlhand.model.makers import fixed, relu_bias

LAYERS = (  # (k, weights, bias, pre-activation, activation or None, input dim, output dim)
    (1, "W1", "b1", "Z1", "A1", "d", "h"),
    (2, "W2", "b2", "Z2", "Code", "h", "k"),
    (3, "W3", "b3", "Z3", "A3", "k", "h"),
    (4, "W4", "b4", "Y", None, "h", "d"),
)


PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4")
ITERS_MAX = 10


def named(name: str, it: int) -> str:
    return iteration_name(name, it, PARAMS)


def one_iteration(X, W, b, lr) -> dict:
    """The forward pass, the loss, the gradients and the updated weights, for weights W[k], b[k]."""
    Z1 = W[1] @ X + b[1]
    A1 = relu(Z1)
    Z2 = W[2] @ A1 + b[2]
    Code = relu(Z2)
    Z3 = W[3] @ Code + b[3]
    A3 = relu(Z3)
    Y = W[4] @ A3 + b[4]
    N = X.size
    L = np.sum((Y - X) ** 2) / N
    dY = 2 * (Y - X) / N
    dW4, db4 = dY @ A3.T, dY.sum(axis=1, keepdims=True)
    dA3 = W[4].T @ dY
    dZ3 = dA3 * (Z3 > 0)
    dW3, db3 = dZ3 @ Code.T, dZ3.sum(axis=1, keepdims=True)
    dCode = W[3].T @ dZ3
    dZ2 = dCode * (Z2 > 0)
    dW2, db2 = dZ2 @ A1.T, dZ2.sum(axis=1, keepdims=True)
    dA1 = W[2].T @ dZ2
    dZ1 = dA1 * (Z1 > 0)
    dW1, db1 = dZ1 @ X.T, dZ1.sum(axis=1, keepdims=True)
    out = dict(Z1=Z1, A1=A1, Z2=Z2, Code=Code, Z3=Z3, A3=A3, Y=Y, L=L, dY=dY, dW4=dW4, db4=db4, dA3=dA3,
               dZ3=dZ3, dW3=dW3, db3=db3, dCode=dCode, dZ2=dZ2, dW2=dW2, db2=db2, dA1=dA1, dZ1=dZ1,
               dW1=dW1, db1=db1)
    for k in range(1, 5):
        out[f"W{k}n"] = W[k] - lr * out[f"dW{k}"]
        out[f"b{k}n"] = b[k] - lr * out[f"db{k}"]
    return out


def reference(d, p, iters=1):
    W = {k: p[f"W{k}"] for k in range(1, 5)}
    b = {k: p[f"b{k}"] for k in range(1, 5)}
    return descent(lambda W_, b_: one_iteration(p.X, W_, b_, p.lr), W, b, iters, PARAMS)


def layout(s, d, p, iters=1):
    X = s.given("X", label="X (inputs)")
    weights = {k: (W, b) for k, W, b, *_ in LAYERS}  # iteration 1 starts from the givens

    def iteration(it):
        nonlocal weights
        L, weights = _iteration(s, d, it, X, weights, several=iters > 1)
        return L

    ops.iterations(s, iters, iteration)


ENCODER, DECODER = 1, 3  # the first layer of each half
PHASES = {  # the forward pass in two steps, one a half of the network
    ENCODER: "Encoder: Z1 = W1·X + b1, A1 = ReLU(Z1); Z2 = W2·A1 + b2, Code = ReLU(Z2)",
    DECODER: "Decoder: Z3 = W3·Code + b3, A3 = ReLU(Z3); Y = W4·A3 + b4 (linear: the reconstruction)",
}
LOSS_STEP = "Loss: L = mean((Y − X)²) over the N = d·batch entries, the target X itself; dY = 2(Y − X)/N"
UPDATE_STEP = "Gradient descent: Wn = W − lr·dW, bn = b − lr·db"
BACKWARD_STEP = "Backward, layer 4 to 1: dW = dZ·Aᵀ, db = Σ dZ; dA = Wᵀ·dZ, dZ = dA ⊙ [Z > 0] (dZ4 = dY)"


def _iteration(s, d, it, X, weights, several=False):
    """One iteration, a portrait page wide (11 columns): the forward pass (one column, weights to its
    left), then the loss and the backward pass, then the updates. Where the sizes allow it (the
    template's, :func:`_tight`), two pages hold it all: the forward pass without a gap row (each
    PyTorch note right of its block), each update Wn, bn over its W, b (in the rows of the layer's
    input, which leave that room), and under Y the loss and the backward pass in one column
    (:func:`_backward_tight`). Else each update stands under its W (in the rows of the layer's
    activation), and the backward pass either in one column (:func:`_layer_back_compact`) or a band a
    layer (:func:`_layer_back`). ``weights`` are the givens' names in the first iteration, the last
    one's updates after. A later iteration is laid out as the first, its blocks labelled with their
    names (``Z1_2``: the formulas are the first iteration's, in its steps), no wider than the first's:
    each iteration takes the pages the first one takes. With ``several`` iterations, the first one's
    backward pass is one step (the header, a row a step, is longer: page 1 still holds the encoder).
    Returns the loss and this iteration's updates."""
    n = lambda name: named(name, it)  # noqa: E731
    later = it > 1

    def lab(text: str, name: str) -> str:
        """A block's label: its formula in the first iteration, its name in a later one."""
        return name if later else text

    step = (lambda text: nullcontext()) if later else s.step
    tight = _tight(d)
    with s.group() as forward:
        if later:  # a copy of X opens the iteration, its label says which
            X = s.place(ops.carry(s, n("X"), X, label=f"{n('X')} (iteration {it})"), below=EVERYTHING)
        A, Z, used, acts, inputs = X, {}, {}, {}, {}
        with ExitStack() as phase:
            for k, W, b, z, a, n_in, n_out in LAYERS:
                if k in PHASES:
                    phase.close()
                    phase.enter_context(step(PHASES[k]))
                label = lab(f"{n(z)} = {n(W)}·{A.name} + {n(b)}", n(z))
                if later:
                    Z[z] = ops.linear_from(s, n(z), weights[k][0], A, weights[k][1], names=(n(W), n(b)),
                                           label=label)
                else:
                    Z[z] = ops.linear(s, n(z), W, A, b, label=label)
                s.place(Z[z], below=ops.ones_row(s, A), gap=0)  # its label row is the gap
                used[k], inputs[k] = (s.blocks[n(W)], s.blocks[n(b)]), A
                linear = f"nn.Linear({d[n_in]}, {d[n_out]})"
                prev = LAYERS[k - 2][4] if k > 1 else "X"
                if tight:  # right of the layer's blocks: no gap row under its weights
                    s.note_right(Z[z], linear, gap=_note_gap(later, Z[z], f"[9] {z} = {W}·{prev} + {b}"))
                else:
                    s.note_below(used[k][0], f"PyTorch: {linear}" + (" + nn.ReLU()" if a else ""))
                if a:
                    # tight: a gap row only where the decoder starts (where the page may break)
                    A = s.place(ops.relu(s, n(a), Z[z], label=lab(f"{n(a)} = ReLU({n(z)})", n(a))), below=Z[z],
                                gap=None if not tight or k == DECODER else 0)
                    acts[k] = A
                    if tight:
                        s.note_right(A, "nn.ReLU()", gap=_note_gap(later, A, f"[9] {a} = ReLU({z})"))
                else:
                    A = Z[z]
        Y = A
    if tight:
        grads, L, column, first_pair = _backward_tight(s, n, lab, step, d, X, Y, Z, used, coarse=several)
        # the loss right under Y at the page's left edge, the gradients' column under it, and the
        # output layer's Aᵀ over dW beside Y
        s.next_to(column, s.together([used[1][0], Y]), DOWN, gap=0, align="start")
        # (a later iteration's dY, labelled with its name, is narrower: Aᵀ clears Y as in the first)
        s.next_to(*first_pair, RIGHT, gap=_dw_gap(d, first_pair) + max(
            0, label_columns("[9] dY = 2(Y − X)/N") - label_columns(first_pair[1].label)), align="end")
    else:
        grads, L, backward = _backward(s, n, lab, step, X, Y, Z, used, forward, later)
    with step(UPDATE_STEP):
        with s.group() as update:
            new, beside = _update(s, used, grads, inputs if tight else acts, over=tight)
    if not tight:
        # the backward pass at the page's left edge, under the forward pass (and W4n)
        s.next_to(backward, s.together([forward, update]) if beside else forward, DOWN, align="start")
        if not beside:
            s.next_to(update, backward, DOWN)
    return L, {k: (new[f"{W.name}n"], new[f"{b.name}n"]) for k, (W, b) in used.items()}


def _backward(s, n, lab, step, X, Y, Z, used, forward, later):
    """The loss and the backward pass under a copy of X as the target (:func:`_layer_back_compact` or
    :func:`_layer_back`). Returns the gradients, the loss and the group of it all."""
    with s.group() as backward:
        # the target and the loss open the output layer's band, the target over dY
        with step(LOSS_STEP):
            target = ops.carry(s, n("Xtarget"), X, label="X (target)")
            s.place(target, below=Y)
            L, count = ops.mse_loss(s, n("L"), Y, target, label=lab(f"{n('L')} = Σ({Y.name} − X)² / N", n("L")))
            dZ = ops.elementwise(s, n("dY"), lambda y, x: f"2*({y}-{x})/{ops.absolute(count)}", [Y, target],
                                 role=GRADIENT, label=lab(f"{n('dY')} = 2({Y.name} − X)/N", n("dY")))
            s.place(dZ, below=target)
        grads, above, gap = {}, forward, 1
        compact, done = _compact(n, used, dZ, X, later), []
        for k in reversed(range(1, len(LAYERS) + 1)):
            if compact:
                dZ = _layer_back_compact(s, n, lab, step, k, dZ, grads, used, Z, X, [target, count, L], done)
            else:
                dZ, above, gap = _layer_back(s, n, lab, step, k, dZ, grads, used, Z, X, above, gap,
                                             (target, count, L))
        s.note_below(L, "PyTorch: nn.MSELoss()")  # where the bands put L
    return grads, L, backward


def _backward_tight(s, n, lab, step, d, X, Y, Z, used, coarse=False):
    """The loss and the backward pass in one column (see :func:`_tight`): [N | L] over dY, then for
    each layer [db | dZ | dW] with Aᵀ over dW (beside the dA above), and [Wᵀ | dA] under dZ, Wᵀ
    touching dA, the next dZ under dA with no gap row but where the next Aᵀ needs one. The target
    is X itself (its copy would cost a band). Returns the gradients, the loss, the column (to place
    under Y) and the output layer's (Aᵀ over dW, dY), which stands beside Y once the column is
    placed."""
    with step(LOSS_STEP):
        with s.group() as loss:
            L, count = ops.mse_loss(s, n("L"), Y, X, label=lab(f"{n('L')} = Σ({Y.name} − X)² / N", n("L")))
            s.next_to(L, count, RIGHT, gap=0)  # N's label is the gap
            s.note_right(L, "PyTorch: nn.MSELoss()", gap=_note_gap(lab("", L.name), L, "[9] L = Σ(Y − X)² / N"))
        dY = dZ = ops.elementwise(s, n("dY"), lambda y, x: f"2*({y}-{x})/{ops.absolute(count)}", [Y, X],
                                  role=GRADIENT, label=lab(f"{n('dY')} = 2({Y.name} − X)/N", n("dY")), arrow=False)
    grads, column, first_pair = {}, [loss, dZ], None
    backward = ExitStack()
    if coarse:  # one step for the four layers: a sheet of several iterations has a longer header
        backward.enter_context(step(BACKWARD_STEP))
        step = lambda text: nullcontext()  # noqa: E731
    for k in reversed(range(1, len(LAYERS) + 1)):
        _, W, b, _, _, _, _ = LAYERS[k - 1]
        prev = LAYERS[k - 2][4] if k > 1 else "X"  # the layer's input
        prev_z = LAYERS[k - 2][3] if k > 1 else None
        back = f"; d{prev} = {W}ᵀ·{dZ.name}, d{prev_z} = d{prev} ⊙ [{prev_z} > 0]" if k > 1 else ""
        with step(f"d{W} = {dZ.name}·{prev}ᵀ, d{b} = Σ {dZ.name}{back}"):  # one step a layer
            grads[k] = _gradients(s, lab, n(f"d{W}"), n(f"d{b}"), dZ, s.blocks[n(prev)] if k > 1 else X)
            At = s.blocks[f"{n(prev)}T"]
            s.next_to(grads[k][1], dZ, LEFT, gap=0, align="end")  # db's label is its gap
            s.next_to(At, grads[k][0], UP, gap=0)  # dW's label is the gap
            pair = (s.together([At, grads[k][0]]), dZ)
            s.next_to(*pair, RIGHT, gap=_dw_gap(d, pair), align="end")
            if first_pair is None:
                first_pair = pair
            else:
                column.append(pair[0])
            column.append(grads[k][1])
            if k == 1:
                break
            weights = used[k][0]
            dA = ops.matmul_parts(s, n(f"d{prev}"), [ops.transposed_part(s, f"{weights.name}T", weights)], dZ,
                                  role=GRADIENT, label=lab(f"{n(f'd{prev}')} = {weights.name}ᵀ·{dZ.name}",
                                                           n(f"d{prev}")), weights_gap=0)
            s.place(dA, below=dZ, gap=0)
            dZ = ops.relu_backward(s, n(f"d{prev_z}"), dA, Z[prev_z],
                                   label=lab(_mask_label(n(f"d{prev_z}"), dA.name, Z[prev_z].name), n(f"d{prev_z}")))
            # the next Aᵀ (a row per sample, a label) stands beside dA and its label
            s.place(dZ, below=dA, gap=max(0, d.batch - dA.rows))
            column += [dA, s.blocks[f"{weights.name}T"], dZ]
    backward.close()
    # [N | L] right over the column, from its left edge (the widest Wᵀ)
    s.next_to(loss, s.together([dY, grads[len(LAYERS)][1], s.blocks[f"{used[len(LAYERS)][0].name}T"]]), UP,
              gap=0, align="start")
    return grads, L, s.together(column), first_pair


def _note_gap(later, block, first_label: str) -> int:
    """The gap before a note right of ``block``: a column more in a later iteration, whose label (a
    name) is narrower than the first iteration's (``first_label``), so that the note stands where
    the first iteration's does, clear of the cells."""
    return 2 if later and block.cols < label_columns(first_label) else 1


def _gradients(s, lab, dW_name, db_name, dZ, A):
    """:func:`ops.layer_gradient`, its blocks labelled with their names in a later iteration (``lab``)."""
    return ops.layer_gradient(s, dW_name, db_name, dZ, A, named=bool(lab("", dW_name)))


def _dw_gap(d, pair) -> int:
    """The columns between dZ's label and [Aᵀ over dW]: one where the page has room, else none."""
    (beside, dZ), left = pair, _column_left(d)
    dW = beside.blocks[-1]
    wide = max(dW.cols, label_columns(dW.label), beside.blocks[0].cols, label_columns(beside.blocks[0].label))
    return 1 if left + max(dZ.cols, label_columns(dZ.label)) + 1 + wide <= PAGE else 0


def _column_left(d) -> int:
    """Columns left of the backward pass's column: the widest Wᵀ (W4ᵀ is h × d) or db's label."""
    return max(d.d, d.h, d.k, label_columns("[9] db4 = Σ dZ3"))


PAGE = ops.page_columns("letter", landscape=False)  # a portrait page's columns (A4's as many)


def _tight(d) -> bool:
    """Whether an iteration fits the tight layout: the PyTorch notes right of the forward pass's
    blocks, each update over its W in the rows of the layer's input (X, A1, Code, A3 with its 1s
    row), lr left of W4n, and the backward pass in one column whose widest row (the widest Wᵀ or db's
    label, dZ's label, [Aᵀ over dW] touching it) is a portrait page wide, its labels numbered as the
    first iteration's."""
    rows = {"X": d.d, "A1": d.h, "Code": d.k, "A3": d.h}
    widest = max(d[n_in] for *_, n_in, _ in LAYERS) + 1  # [W | b]
    z_col = widest + 1  # the 1s row's side label between
    for k, W, b, z, a, n_in, n_out in LAYERS:
        prev = LAYERS[k - 2][4] if k > 1 else "X"
        texts = [f"[9] {z} = {W}·{prev} + {b}"] + ([f"[9] {a} = ReLU({z})"] if a else [])
        if z_col + max(d.batch, *map(label_columns, texts)) + label_columns(f"nn.Linear({d.d}, {d.d})") > PAGE:
            return False  # a note would run off the page
        if d[n_out] > rows[prev] + 1 or label_columns(f"[9] {W}n") > d[n_in]:
            return False  # Wn taller than the rows of the layer's input, or its label wider than it
    if d.h + 1 >= widest:
        return False  # no room for lr left of W4n
    left = _column_left(d)
    if any(rows_ < label_columns(f"[9] W{k}ᵀ") for k, rows_ in ((2, d.k), (3, d.h), (4, d.d))):
        return False  # a Wᵀ narrower than its label
    loss = label_columns("[9] N = entries") + label_columns("[9] L = Σ(Y − X)² / N") \
        + label_columns("PyTorch: nn.MSELoss()")
    dy = label_columns("[9] dY = 2(Y − X)/N")
    dw4 = max(d.h, label_columns("[9] dW4 = dY·A3ᵀ"), d.batch)
    if loss > left + dy + (1 if left + dy + 1 + dw4 <= PAGE else 0):
        return False  # the loss's note would reach A3ᵀ
    for k, W, b, z, a, n_in, n_out in LAYERS:
        prev = LAYERS[k - 2][4] if k > 1 else "X"
        dz = dy if k == len(LAYERS) else label_columns(_mask_label(f"[9] d{z}", f"d{a}", z))
        dw = max(d[n_in], label_columns(f"[9] d{W} = d{z}·{prev}ᵀ"), d.batch)
        if left + max(d.batch, dz) + dw > PAGE:
            return False
    return True


def _back_names(k, dZ):
    """Layer k's weights, its input and that input's pre-activation (None for X), and the text of its
    backward step: one step a layer, a short header."""
    _, W, b, _, _, _, _ = LAYERS[k - 1]
    prev = LAYERS[k - 2][4] if k > 1 else "X"  # the layer's input
    prev_z = LAYERS[k - 2][3] if k > 1 else None
    back = f"; d{prev} = {W}ᵀ·{dZ.name}, d{prev_z} = d{prev} ⊙ [{prev_z} > 0]" if k > 1 else ""
    return W, b, prev, prev_z, f"d{W} = {dZ.name}·{prev}ᵀ, d{b} = Σ {dZ.name}{back}"


def _layer_back_compact(s, n, lab, step, k, dZ, grads, used, Z, X, loss, done):
    """Layer k of the backward pass, one step, where [Wᵀ | dA] fits under dZ with dW right of dZ on a
    portrait page (see :func:`_compact`): the gradients dZ, dA, dZ' … stand one under the other in one
    column, each [db | dZ | dW] with Aᵀ over dW beside the dA above it, each [Wᵀ | dA] under its dZ,
    Wᵀ touching dA; layer 1's band, [db | dZ | dW] with Xᵀ over dW, under the rest at the pass's left
    edge (dW1 is the widest). Returns the next dZ (None after layer 1)."""
    W, b, prev, prev_z, text = _back_names(k, dZ)
    with step(text):
        if k == len(LAYERS):  # N left of the target, L out of the way of Aᵀ until it stands over it
            target, count, L = loss
            s.next_to(count, target, LEFT, gap=0, align="start")
            s.next_to(L, target, UP)
        grads[k] = _gradients(s, lab, n(f"d{W}"), n(f"d{b}"), dZ, s.blocks[n(prev)] if k > 1 else X)
        s.next_to(grads[k][1], dZ, LEFT, gap=0, align="end")  # db's label is its gap
        At = s.blocks[f"{n(prev)}T"]
        if k == len(LAYERS):
            s.next_to(L, At, UP, align="start")
            done += loss
        if k == 1:
            s.next_to(s.together([dZ, *grads[k], At]), s.together(done), DOWN, gap=0, align="start")
            return None
        weights = used[k][0]
        dA = ops.matmul_parts(s, n(f"d{prev}"), [ops.transposed_part(s, f"{weights.name}T", weights)], dZ,
                              role=GRADIENT, label=lab(f"{n(f'd{prev}')} = {weights.name}ᵀ·{dZ.name}", n(f"d{prev}")),
                              weights_gap=0)
        s.place(dA, below=dZ, gap=0)
        dZ_next = ops.relu_backward(s, n(f"d{prev_z}"), dA, Z[prev_z],
                                    label=lab(_mask_label(n(f"d{prev_z}"), dA.name, Z[prev_z].name), n(f"d{prev_z}")))
        # the next Aᵀ (a row per sample, a label) and its gap stand beside dA and the labels around it
        s.place(dZ_next, below=dA, gap=max(0, dZ.cols + 1 - dA.rows))
        done += [dZ, *grads[k], At, dA, s.blocks[f"{weights.name}T"]]
    return dZ_next


def _layer_back(s, n, lab, step, k, dZ, grads, used, Z, X, above, gap, loss):
    """Layer k of the backward pass, one step, a band at the pass's left edge under ``above``:
    [db | dZ | dW] with Aᵀ over dW, and under dZ [Wᵀ | dA] (under a copy of dZ, in a band of its
    own, where the two are wider together than a portrait page); then dZ of the layer below, under
    dA until its band moves it. ``gap``: the rows left above the band (0 under a copy's band, whose
    last block stands left of the next Aᵀ: the Aᵀ's label row is the gap). Returns that dZ (None
    after the first layer), everything placed so far and the gap the next band leaves."""
    W, b, prev, prev_z, text = _back_names(k, dZ)
    with step(text):
        grads[k] = _gradients(s, lab, n(f"d{W}"), n(f"d{b}"), dZ, s.blocks[n(prev)] if k > 1 else X)
        s.next_to(grads[k][1], dZ, LEFT, gap=0, align="end")  # db's label is its gap
        band = [dZ, *grads[k], s.blocks[f"{n(prev)}T"]]
        if k == len(LAYERS):  # the target over dY, N left of it, L over Aᵀ (its note in the gap between)
            target, count, L = loss
            s.next_to(count, target, LEFT, gap=0, align="start")
            s.next_to(L, band[-1], UP, align="start")
            band += [target, count, L]
        if k == 1:
            s.next_to(s.together(band), above, DOWN, gap=gap, align="start")
            return None, above, 1
        weights, top = used[k][0], dZ
        if _narrow(weights, dZ, grads[k][0]):
            top = ops.carry(s, f"{dZ.name}c", dZ, label=f"{dZ.name}c = {dZ.name}")
            s.place(top, below=dZ)
        dA = ops.input_gradient(s, n(f"d{prev}"), weights, top, named=bool(lab("", n(f"d{prev}"))))
        part = [dA, s.blocks[f"{weights.name}T"]]
        if top is not dZ:
            s.next_to(s.arrange([s.together(band), s.together([top, *part])], DOWN, align="start"),
                      above, DOWN, gap=gap, align="start")
        else:
            s.next_to(s.together(band + part), above, DOWN, gap=gap, align="start")
        dZ_next = ops.relu_backward(s, n(f"d{prev_z}"), dA, Z[prev_z],
                                    label=lab(f"{n(f'd{prev_z}')} = {dA.name} ⊙ [{Z[prev_z].name} > 0]", n(f"d{prev_z}")))
        s.place(dZ_next, below=dA, gap=X.cols + 3)  # room for the next Aᵀ; its band moves it after
    return dZ_next, s.together([above, *band, *part, top]), 0 if top is not dZ else 1


def _update(s, used, grads, rows, over=False) -> tuple[dict, bool]:
    """Wn = W − lr·dW and bn = b − lr·db for every layer. With ``over`` (see :func:`_tight`), each
    stands over its W and b, in ``rows``, the layer's input (X, A1, Code, A3 and its 1s row: the room
    the forward pass leaves left of it), lr left of W4n. Else, where every Wn is as wide as its
    label, each stands under its W and b, in ``rows``, the rows of the layer's activation, and the
    output layer's under W4 and b4 (its note between), lr left of it; otherwise [lr | W1n b1n] and
    one row a layer under it. Returns the new blocks by name, and whether they stand beside the
    forward pass (else the caller places them under the backward pass)."""
    first = "lr" not in s.blocks  # lr is the first iteration's, every later one reads it there
    lr = s.given("lr", label="lr") if first else s.blocks["lr"]
    new, units = {}, []
    for k, (W, b) in used.items():
        for p, g in zip((W, b), grads[k]):
            new[f"{p.name}n"] = ops.sgd_step(s, f"{p.name}n", p, g, lr, label=f"{p.name}n")
        s.next_to(new[f"{b.name}n"], new[f"{W.name}n"], RIGHT, gap=0)
        units.append(s.together([new[f"{W.name}n"], new[f"{b.name}n"]]))
    beside = all(label_columns(new[f"{W.name}n"].label) <= W.cols for W, _ in used.values())
    if not beside and not over:
        s.arrange([s.together([lr, units[0]]) if first else units[0], *units[1:]], DOWN)
        if first:
            s.next_to(units[0], lr, RIGHT)
        return new, False
    for k, (W, b) in used.items():
        Wn, bn = new[f"{W.name}n"], new[f"{b.name}n"]
        if over or k in rows:  # over W and b in the rows of the layer's input, or under them in its activation's
            s.place(Wn, at=ops.level(rows[k], W))
            s.place(bn, at=ops.level(rows[k], b))
        else:  # under W4 and b4 and their note, over the backward pass
            s.next_to(units[k - 1], W, DOWN, gap=1)
        if first and k == len(LAYERS):
            s.next_to(lr, Wn, LEFT, gap=0)
    return new, True


def _compact(n, used, dY, X, later) -> bool:
    """Whether the gradients can stand in one column on a portrait page (:func:`_layer_back_compact`):
    for layers 4 to 2, [db | dZ | dW] over [Wᵀ | dA], Wᵀ touching dA, dW one column right of dZ's
    label; for layer 1, [db1 | dZ1 | dW1] from the pass's left edge. The labels carry step numbers
    (the first iteration's; a ``later`` one's, two digits, label its blocks with their names)."""
    def wide(cols, label, k, name) -> int:
        return max(cols, label_columns(f"[99] {name}" if later else f"[{8 - k}] {label}"))

    if any(used[k][0].rows < wide(1, f"{used[k][0].name}ᵀ", k, f"{used[k][0].name}ᵀ") for k in range(2, len(LAYERS) + 1)):
        return False  # a Wᵀ narrower than its label: its label would run into dA's
    left = max(used[k][0].rows for k in range(2, len(LAYERS) + 1))  # the widest Wᵀ
    rows = []
    for k in range(1, len(LAYERS) + 1):
        _, W, b, z, a, _, _ = LAYERS[k - 1]
        prev = LAYERS[k - 2][4] if k > 1 else "X"
        dZ, dZ_label = (dY.name, dY.label) if k == len(LAYERS) else (n(f"d{z}"), _mask_label(n(f"d{z}"), n(f"d{a}"), n(z)))
        db = wide(1, f"{n(f'd{b}')} = Σ {dZ}", k, n(f"d{b}"))
        dW = wide(used[k][0].cols, f"{n(f'd{W}')} = {dZ}·{n(prev)}ᵀ", k, n(f"d{W}"))
        rows.append((db if k == 1 else max(left, db)) + wide(dY.cols, dZ_label, k, dZ) + 1 + dW)
    return max(rows) <= ops.page_columns("letter", landscape=False)


def _mask_label(name, dA, Z) -> str:
    """dZ = dA ⊙ [Z>0], short enough for dW to stand right of it on a portrait page."""
    return f"{name} = {dA} ⊙ [{Z}>0]"


def _narrow(W, dZ, dW) -> bool:
    """Whether [Wᵀ | dA] under dZ, beside [db | dZ | dW] (labels and gaps included), would be wider
    than a portrait page: then dA stands in a band of its own, under a copy of dZ."""
    def wide(block) -> int:
        return max(block.cols, label_columns(block.label))

    return max(W.rows + 1, 2) + wide(dZ) + 1 + wide(dW) > ops.page_columns("letter", landscape=False)


def instructive(d, p, iters=1) -> bool:
    """Every ReLU layer of two or more units both passes and zeroes something (a single unit must
    pass, or no gradient reaches the layers before it), samples get different codes, the gradient
    reaches the encoder (dW1, dW2 not all zero), the reconstruction is not already perfect and its
    numbers stay readable."""
    ref = reference(d, p)
    for z in (ref["Z1"], ref["Z2"], ref["Z3"]):
        if z.shape[0] >= 2 and not has_both_signs(z):
            return False
    code = ref["Code"]
    distinct = code.shape[1] < 2 or bool(np.ptp(code, axis=1).max() > 0)  # samples get different codes
    learns = all(np.abs(ref[f"dW{k}"]).max() > 0 for k in (1, 2))  # the gradient reaches the encoder
    return bool((code > 0).any() and distinct and learns and ref["L"] > 0.1 and np.abs(ref["Y"]).max() <= 30)


EXERCISE = Exercise(
    name="autoencoder",
    title="Autoencoder: encode, decode, learn from the reconstruction error",
    source=Source(
        paper="Hinton & Salakhutdinov (2006), Reducing the dimensionality of data with neural networks, Science 313",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Autoencoder"),
    dims={"d": "input dimension", "h": "hidden units", "k": "code size", "batch": "samples (columns)"},
    presets={
        "small": dict(d=4, h=3, k=2, batch=2),
        "medium": dict(d=5, h=4, k=2, batch=3),  # d ≤ 5: the backward pass prints a page wide
        "large": dict(d=8, h=6, k=3, batch=4),
    },
    # Fresh numbers: each weight row's absolute sum is bounded whatever the width, and each ReLU
    # layer's bias centres its units on both sides of 0 (relu_bias): no layer dies or blows up.
    # Inputs and weights are not 0 (beyond what bounds a row), so the gradient finds its way back.
    givens=[
        Given("X", ("d", "batch"), low=-2, high=3, nonzero=True),
        Given("W1", ("h", "d"), role=WEIGHT, low=-2, high=2, nonzero=True, row_sum=3),
        Given("b1", ("h", 1), role=BIAS, derive=relu_bias(1)),
        Given("W2", ("k", "h"), role=WEIGHT, low=-2, high=2, nonzero=True, row_sum=3),
        Given("b2", ("k", 1), role=BIAS, derive=relu_bias(2)),
        Given("W3", ("h", "k"), role=WEIGHT, low=-2, high=2, nonzero=True, row_sum=3),
        Given("b3", ("h", 1), role=BIAS, derive=relu_bias(3)),
        Given("W4", ("d", "h"), role=WEIGHT, low=-2, high=2, nonzero=True, row_sum=3),
        Given("b4", ("d", 1), role=BIAS, low=-1, high=1),
        Given("lr", (), make=fixed(0.1)),
    ],
    reference=reference,
    layout=layout,
    options=[Option("iters", 1, tuple(range(1, ITERS_MAX + 1)),
                    describe="iterations of gradient descent, each laid out in full, and a chart of the loss")],
    accept=instructive,
)
