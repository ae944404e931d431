"""mlp: the forward pass of a multi-layer perceptron, one column per sample.

Z1 = W1·X + b1, A1 = ReLU(Z1); Z2 = W2·A1 + b2, A2 = ReLU(Z2); Y = W3·A2 + b3 (a linear output layer).
Each layer's weights stand left of its result, its input above, its bias as the weights' last column.
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import BIAS, OUTPUT, WEIGHT, ops
from xlhand.model.exercise import Exercise, Source
from xlhand.model.npref import has_both_signs
from xlhand.model.givens import Given
from xlhand.model.makers import relu_bias


def reference(d, p):
    Z1 = p.W1 @ p.X + p.b1
    A1 = np.maximum(Z1, 0.0)
    Z2 = p.W2 @ A1 + p.b2
    A2 = np.maximum(Z2, 0.0)
    Y = p.W3 @ A2 + p.b3
    return dict(Z1=Z1, A1=A1, Z2=Z2, A2=A2, Y=Y)


def layout(s, d, p):
    with s.step("Layer 1: Z1 = W1·X + b1, A1 = ReLU(Z1)"):
        X = s.given("X", label="X (one sample per column)")
        Z1 = ops.linear(s, "Z1", "W1", X, "b1", label="Z1 = W1·X + b1")
        A1 = ops.relu(s, "A1", Z1)
        s.place(A1, below=Z1)
    with s.step("Layer 2: Z2 = W2·A1 + b2, A2 = ReLU(Z2)"):
        Z2 = ops.linear(s, "Z2", "W2", A1, "b2", label="Z2 = W2·A1 + b2")
        A2 = ops.relu(s, "A2", Z2)
        s.place(A2, below=Z2)
    with s.step("Output layer: Y = W3·A2 + b3 (no activation)"):
        ops.linear(s, "Y", "W3", A2, "b3", role=OUTPUT, label="Y = W3·A2 + b3")


def instructive(d, p) -> bool:
    """Each ReLU layer of two or more units zeroes some entries and passes others, and the output
    depends on the input."""
    ref = reference(d, p)
    for z in (ref["Z1"], ref["Z2"]):
        if z.shape[0] >= 2 and not has_both_signs(z):
            return False
    return bool((ref["A2"] > 0).any() and np.abs(ref["Y"]).max() <= 30)


EXERCISE = Exercise(
    name="mlp",
    title="Forward pass of a multi-layer perceptron",
    source=Source(
        paper="Rumelhart, Hinton & Williams (1986), Learning representations by back-propagating errors, Nature 323",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Multi-Layer Perceptron"),
    dims={"n_in": "input features", "h1": "hidden units, layer 1", "h2": "hidden units, layer 2",
          "n_out": "outputs", "batch": "samples (columns)"},
    presets={
        "small": dict(n_in=3, h1=3, h2=2, n_out=2, batch=2),
        "medium": dict(n_in=4, h1=4, h2=3, n_out=2, batch=3),
        "large": dict(n_in=8, h1=6, h2=5, n_out=3, batch=4),
    },
    # Fresh numbers: each weight row's absolute sum is bounded whatever the width, and each ReLU
    # layer's bias centres its units on both sides of 0 (relu_bias): no layer dies or blows up.
    givens=[
        Given("X", ("n_in", "batch"), low=-2, high=3),
        Given("W1", ("h1", "n_in"), role=WEIGHT, low=-2, high=2, row_sum=3),
        Given("b1", ("h1", 1), role=BIAS, derive=relu_bias(1)),
        Given("W2", ("h2", "h1"), role=WEIGHT, low=-2, high=2, row_sum=3),
        Given("b2", ("h2", 1), role=BIAS, derive=relu_bias(2)),
        Given("W3", ("n_out", "h2"), role=WEIGHT, low=-2, high=2, row_sum=3),
        Given("b3", ("n_out", 1), role=BIAS, low=-2, high=2),
    ],
    reference=reference,
    layout=layout,
    accept=instructive,
)
