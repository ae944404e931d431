"""backprop: forward and backward through a 3-layer perceptron, then one gradient-descent step.

Z1 = W1·X + b1, A1 = ReLU(Z1); Z2 = W2·A1 + b2, A2 = ReLU(Z2); Z3 = W3·A2 + b3, P = softmax(Z3);
L = −Σ Y ⊙ ln P; then gradients layer by layer, back to front.
"""
from __future__ import annotations

import numpy as np

from ..npref import relu, softmax_columns
from .. import fx, ops
from ..exercise import Exercise
from ..params import Given, fixed, one_hot_columns


def reference(d, p):
    X, Y = p.X, p.Y
    Z1 = p.W1 @ X + p.b1
    A1 = relu(Z1)
    Z2 = p.W2 @ A1 + p.b2
    A2 = relu(Z2)
    Z3 = p.W3 @ A2 + p.b3
    P = softmax_columns(Z3)
    L = -np.sum(Y * np.log(P))
    dZ3 = P - Y
    dW3, db3 = dZ3 @ A2.T, dZ3.sum(axis=1, keepdims=True)
    dA2 = p.W3.T @ dZ3
    dZ2 = dA2 * (Z2 > 0)
    dW2, db2 = dZ2 @ A1.T, dZ2.sum(axis=1, keepdims=True)
    dA1 = p.W2.T @ dZ2
    dZ1 = dA1 * (Z1 > 0)
    dW1, db1 = dZ1 @ X.T, dZ1.sum(axis=1, keepdims=True)
    out = dict(Z1=Z1, A1=A1, Z2=Z2, A2=A2, Z3=Z3, P=P, L=L, dZ3=dZ3, dW3=dW3, db3=db3, dA2=dA2, dZ2=dZ2,
               dW2=dW2, db2=db2, dA1=dA1, dZ1=dZ1, dW1=dW1, db1=db1)
    for k, grads in ((1, (dW1, db1)), (2, (dW2, db2)), (3, (dW3, db3))):
        out[f"W{k}n"] = p[f"W{k}"] - p.lr * grads[0]
        out[f"b{k}n"] = p[f"b{k}"] - p.lr * grads[1]
    return out


def layout(s, d, p):
    with s.step("Layer 1: Z1 = W1·X + b1, A1 = ReLU(Z1)"):
        X = s.given("X", at=(0, 0), label="X (inputs)")
        Z1 = ops.linear(s, "Z1", "W1", X, "b1", label="Z1 = W1·X + b1")
        A1 = ops.relu(s, "A1", Z1)
    with s.step("Layer 2: Z2 = W2·A1 + b2, A2 = ReLU(Z2)"):
        Z2 = ops.linear(s, "Z2", "W2", A1, "b2", label="Z2 = W2·A1 + b2")
        A2 = ops.relu(s, "A2", Z2)
    with s.step("Layer 3: Z3 = W3·A2 + b3, P = softmax(Z3) over each column"):
        Z3 = ops.linear(s, "Z3", "W3", A2, "b3", label="Z3 = W3·A2 + b3")
        P = ops.softmax_columns(s, "P", Z3, role="output")
    with s.step("Loss: L = −Σ Y ⊙ ln P (cross-entropy, summed over classes and batch)"):
        Y = s.given("Y", at=s.below(P), label="Y (targets)")
        terms = lambda: [f"{y}*LN({q})" for y, q in zip(Y.cells(), P.cells())]
        L = s.add("L", (1, 1), s.right_of(Y), "output", "L = −Σ Y ⊙ ln P",
                  formula=lambda i, j: f"-({fx.total(terms())})")
    with s.step("Output gradient: dZ3 = P − Y (softmax with cross-entropy)"):
        dZ3 = ops.elementwise(s, "dZ3", fx.sub, [P, Y], at=(s.lowest_row() + 2, P.left), role="gradient",
                              label="dZ3 = P − Y")
    with s.step("dW3 = dZ3·A2ᵀ, db3 = row sums of dZ3"):
        dW3, db3 = ops.weight_gradient(s, "dW3", "db3", dZ3, A2)
    with s.step("dA2 = W3ᵀ·dZ3, dZ2 = dA2 ⊙ [Z2 > 0]"):
        dA2 = ops.input_gradient(s, "dA2", s.blocks["W3"], dZ3)
        dZ2 = ops.relu_backward(s, "dZ2", dA2, Z2)
    with s.step("dW2 = dZ2·A1ᵀ, db2 = row sums of dZ2"):
        dW2, db2 = ops.weight_gradient(s, "dW2", "db2", dZ2, A1)
    with s.step("dA1 = W2ᵀ·dZ2, dZ1 = dA1 ⊙ [Z1 > 0]"):
        dA1 = ops.input_gradient(s, "dA1", s.blocks["W2"], dZ2)
        dZ1 = ops.relu_backward(s, "dZ1", dA1, Z1)
    with s.step("dW1 = dZ1·Xᵀ, db1 = row sums of dZ1"):
        dW1, db1 = ops.weight_gradient(s, "dW1", "db1", dZ1, X)
    with s.step("Gradient descent: Wn = W − lr·dW, bn = b − lr·db for each layer"):
        row = s.lowest_row() + 2
        lr = s.given("lr", at=(row, s.leftmost_col()), label="lr")
        col = lr.right + 1
        for k, (dW, db) in ((1, (dW1, db1)), (2, (dW2, db2)), (3, (dW3, db3))):
            Wn = ops.sgd_step(s, f"W{k}n", s.blocks[f"W{k}"], dW, lr, at=(row, col))
            bn = ops.sgd_step(s, f"b{k}n", s.blocks[f"b{k}"], db, lr, at=s.right_of(Wn))
            col = bn.right + 1
    return L


def instructive(d, p) -> bool:
    """Random numbers must show what each step is for: ReLUs that zero some entries and pass
    others, and a softmax that is not one-hot."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = reference(d, p)
    for z in (ref["Z1"], ref["Z2"]):
        if z.size >= 2 and not ((z > 0).any() and (z < 0).any()):
            return False
    return bool(ref["P"].max() < 0.999 and np.isfinite(ref["L"]))


EXERCISE = Exercise(
    name="backprop",
    title="Backpropagation through a 3-layer perceptron",
    dims={"n_in": "input features", "h1": "hidden units, layer 1", "h2": "hidden units, layer 2",
          "n_out": "classes", "batch": "samples (columns)"},
    presets={
        "small": dict(n_in=2, h1=3, h2=2, n_out=3, batch=1),
        "medium": dict(n_in=4, h1=3, h2=4, n_out=3, batch=2),
        "large": dict(n_in=8, h1=6, h2=6, n_out=4, batch=4),
    },
    givens=[
        Given("X", ("n_in", "batch"), low=-2, high=3),
        Given("Y", ("n_out", "batch"), role="target", make=one_hot_columns),
        Given("W1", ("h1", "n_in"), role="weight"),
        Given("b1", ("h1", 1), role="bias", low=-2, high=2),
        Given("W2", ("h2", "h1"), role="weight"),
        Given("b2", ("h2", 1), role="bias", low=-2, high=2),
        Given("W3", ("n_out", "h2"), role="weight"),
        Given("b3", ("n_out", 1), role="bias", low=-2, high=2),
        Given("lr", (), make=fixed(0.1)),
    ],
    reference=reference,
    layout=layout,
    accept=instructive,
)
