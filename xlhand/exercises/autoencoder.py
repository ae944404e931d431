"""autoencoder: encode, decode, and learn from the reconstruction error.

A1 = ReLU(W1·X + b1), Code = ReLU(W2·A1 + b2), A3 = ReLU(W3·Code + b3), Y = W4·A3 + b4 (linear);
L = mean((Y − X)²) over all d·batch entries; dY = 2(Y − X)/(d·batch), then backpropagation through
the four layers (ReLU masks) and one gradient-descent step. Each layer carries a note with its
PyTorch equivalent: nn.Linear(in, out) and nn.ReLU().
"""
from __future__ import annotations

import numpy as np

from ..npref import relu
from .. import fx, ops
from ..exercise import Exercise
from ..params import Given, fixed

LAYERS = (  # (k, weights, bias, pre-activation, activation or None, input dim, output dim)
    (1, "W1", "b1", "Z1", "A1", "d", "h"),
    (2, "W2", "b2", "Z2", "Code", "h", "k"),
    (3, "W3", "b3", "Z3", "A3", "k", "h"),
    (4, "W4", "b4", "Y", None, "h", "d"),
)


def reference(d, p):
    X = p.X
    Z1 = p.W1 @ X + p.b1
    A1 = relu(Z1)
    Z2 = p.W2 @ A1 + p.b2
    Code = relu(Z2)
    Z3 = p.W3 @ Code + p.b3
    A3 = relu(Z3)
    Y = p.W4 @ A3 + p.b4
    N = X.size
    L = np.sum((Y - X) ** 2) / N
    dY = 2 * (Y - X) / N
    dW4, db4 = dY @ A3.T, dY.sum(axis=1, keepdims=True)
    dA3 = p.W4.T @ dY
    dZ3 = dA3 * (Z3 > 0)
    dW3, db3 = dZ3 @ Code.T, dZ3.sum(axis=1, keepdims=True)
    dCode = p.W3.T @ dZ3
    dZ2 = dCode * (Z2 > 0)
    dW2, db2 = dZ2 @ A1.T, dZ2.sum(axis=1, keepdims=True)
    dA1 = p.W2.T @ dZ2
    dZ1 = dA1 * (Z1 > 0)
    dW1, db1 = dZ1 @ X.T, dZ1.sum(axis=1, keepdims=True)
    out = dict(Z1=Z1, A1=A1, Z2=Z2, Code=Code, Z3=Z3, A3=A3, Y=Y, L=L, dY=dY, dW4=dW4, db4=db4, dA3=dA3,
               dZ3=dZ3, dW3=dW3, db3=db3, dCode=dCode, dZ2=dZ2, dW2=dW2, db2=db2, dA1=dA1, dZ1=dZ1,
               dW1=dW1, db1=db1)
    for k in range(1, 5):
        out[f"W{k}n"] = p[f"W{k}"] - p.lr * out[f"dW{k}"]
        out[f"b{k}n"] = p[f"b{k}"] - p.lr * out[f"db{k}"]
    return out


def layout(s, d, p):
    X = s.given("X", at=(0, 0), label="X (inputs, one column per sample)")
    A = X
    Z = {}
    for k, W, b, z, a, n_in, n_out in LAYERS:
        part = "encoder" if k <= 2 else "decoder"
        what = (f"{z} = {W}·{A.name} + {b}, {a} = ReLU({z})" if a
                else f"{z} = {W}·{A.name} + {b} (linear output: the reconstruction)")
        with s.step(f"Layer {k} ({part}): {what}"):
            Zk = ops.linear(s, z, W, A, b, label=f"{z} = {W}·{A.name} + {b}")
            Wb = s.blocks[W]
            torch = f"nn.Linear({d[n_in]}, {d[n_out]})" + (" + nn.ReLU()" if a else "")
            s.note(Zk.bottom, Wb.left, f"PyTorch: {torch}")
            Z[z] = Zk
            A = ops.relu(s, a, Zk, label=f"{a} = ReLU({z})") if a else Zk
    Y = A
    with s.step("Loss: L = mean((Y − X)²) over all d·batch entries; the target is X itself"):
        target = ops.copy(s, "Xtarget", X, at=s.right_of(Y), label="X (the target)")
        count = s.add("N", (1, 1), s.right_of(target), "computed", "N = d·batch",
                      formula=lambda i, j: f"COUNT({X.range()})", expect=lambda v: float(X.rows * X.cols))
        diff = lambda: f"{Y.range()}-{target.range()}"  # noqa: E731 (addresses are final only when written)
        L = s.add("L", (1, 1), s.right_of(count), "output", "L = Σ(Y − X)² / N",
                  formula=lambda i, j: f"{fx.sumproduct(diff(), diff())}/{count.cell()}")
        s.note(count.bottom, count.left, "PyTorch: nn.MSELoss()")
    with s.step("Output gradient: dY = 2(Y − X)/N"):
        dY = ops.elementwise(s, "dY", lambda y, x: f"2*({y}-{x})/{ops.absolute(count)}", [Y, target],
                             at=(s.lowest_row() + 2, Y.left), role="gradient", label="dY = 2(Y − X)/N")
    dZ = dY
    for k, W, b, z, a, _, _ in reversed(LAYERS):
        prev = LAYERS[k - 2][4] if k > 1 else "X"  # the layer's input
        with s.step(f"d{W} = {dZ.name}·{prev}ᵀ, d{b} = row sums of {dZ.name}"):
            ops.weight_gradient(s, f"d{W}", f"d{b}", dZ, s.blocks[prev])
        if k > 1:
            prev_z = LAYERS[k - 2][3]
            with s.step(f"d{prev} = {W}ᵀ·{dZ.name}, d{prev_z} = d{prev} ⊙ [{prev_z} > 0]"):
                dA = ops.input_gradient(s, f"d{prev}", s.blocks[W], dZ)
                dZ = ops.relu_backward(s, f"d{prev_z}", dA, Z[prev_z])
    with s.step("Gradient descent: Wn = W − lr·dW, bn = b − lr·db for each layer"):
        row = s.lowest_row() + 2
        lr = s.given("lr", at=(row, s.leftmost_col()), label="lr")
        col = lr.right + 1
        for k in range(1, 5):
            Wn = ops.sgd_step(s, f"W{k}n", s.blocks[f"W{k}"], s.blocks[f"dW{k}"], lr, at=(row, col))
            bn = ops.sgd_step(s, f"b{k}n", s.blocks[f"b{k}"], s.blocks[f"db{k}"], lr, at=s.right_of(Wn))
            col = bn.right + 1
    return L


def instructive(d, p) -> bool:
    """Every ReLU both passes and zeroes something, samples get different codes, the gradient reaches
    the encoder (dW1, dW2 not all zero), the reconstruction
    is not already perfect and its numbers stay readable."""
    ref = reference(d, p)
    for z in (ref["Z1"], ref["Z2"], ref["Z3"]):
        if z.size >= 2 and not ((z > 0).any() and (z < 0).any()):
            return False
    code = ref["Code"]
    distinct = code.shape[1] < 2 or bool(np.ptp(code, axis=1).max() > 0)  # samples get different codes
    learns = all(np.abs(ref[f"dW{k}"]).max() > 0 for k in (1, 2))  # the gradient reaches the encoder
    return bool((code > 0).any() and distinct and learns and ref["L"] > 0.1 and np.abs(ref["Y"]).max() <= 30)


EXERCISE = Exercise(
    name="autoencoder",
    title="Autoencoder: encode, decode, learn from the reconstruction error",
    dims={"d": "input dimension", "h": "hidden units", "k": "code size", "batch": "samples (columns)"},
    presets={
        "small": dict(d=4, h=3, k=2, batch=2),
        "medium": dict(d=6, h=4, k=2, batch=3),
        "large": dict(d=8, h=6, k=3, batch=4),
    },
    givens=[
        Given("X", ("d", "batch"), low=-2, high=3),
        Given("W1", ("h", "d"), role="weight", low=-2, high=2),
        Given("b1", ("h", 1), role="bias", low=-1, high=1),
        Given("W2", ("k", "h"), role="weight", low=-2, high=2),
        Given("b2", ("k", 1), role="bias", low=-1, high=1),
        Given("W3", ("h", "k"), role="weight", low=-2, high=2),
        Given("b3", ("h", 1), role="bias", low=-1, high=1),
        Given("W4", ("d", "h"), role="weight", low=-2, high=2),
        Given("b4", ("d", 1), role="bias", low=-1, high=1),
        Given("lr", (), make=fixed(0.1)),
    ],
    reference=reference,
    layout=layout,
    accept=instructive,
)
