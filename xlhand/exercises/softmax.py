"""softmax: five scores → e^z → Z = Σ e^z → probabilities; sigmoid as the two-class softmax.

P = e^z / Z with Z = Σ_i e^{z_i} (one column of scores, one probability per class). Then for each
input x: softmax([x; 0]) has first entry e^x / (e^x + 1) = σ(x), laid out beside σ(x) itself.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..exercise import Exercise
from ..params import Given


def reference(d, p):
    e = np.exp(p.z - p.z.max(axis=0, keepdims=True))
    X2 = np.vstack([p.x, np.zeros_like(p.x)])
    e2 = np.exp(X2 - X2.max(axis=0, keepdims=True))
    return dict(P_max=p.z.max(axis=0, keepdims=True), P_exp=e, P_sum=e.sum(axis=0, keepdims=True),
                P=e / e.sum(axis=0, keepdims=True), X2=X2, Q_max=X2.max(axis=0, keepdims=True), Q_exp=e2,
                Q_sum=e2.sum(axis=0, keepdims=True), Q=e2 / e2.sum(axis=0, keepdims=True),
                sig=1.0 / (1.0 + np.exp(-p.x)))


def layout(s, d, p):
    with s.step("The largest score (under z), exponentials e^(z − max), their sum Z (under them), "
                "probabilities P = e^(z − max) / Z (subtracting the max changes nothing but the size of e^)"):
        z = s.given("z", at=(0, 0), label="z (scores)")
        P = ops.softmax_columns(s, "P", z, at=s.right_of(z), role="output", label="P = e^(z − max) / Z")
        s.note(s.blocks["P_sum"].top, s.blocks["P_sum"].left - 1, "Z =")
    with s.step("Two classes: stack each input x over a 0, X2 = [x; 0]"):
        x = s.given("x", at=(s.lowest_row() + 3, z.left), label="x (inputs)")
        zeros = s.add("x_zeros", (1, d.m), (x.bottom, x.left), "given", "", values=np.zeros((1, d.m)))
        X2 = ops.stack(s, "X2", [x, zeros], at=s.right_of(x), label="X2 = [x; 0]")
        s.arrow(x, X2)
    with s.step("softmax over each column of X2: Q = e^X2 / Σ"):
        Q = ops.softmax_columns(s, "Q", X2, at=s.right_of(X2), label="Q = softmax([x; 0])")
    with s.step("The sigmoid directly: σ(x) = 1 / (1 + e^−x), equal to Q's first row"):
        ops.sigmoid(s, "sig", x, at=s.below(Q, gap=2), role="output", label="σ(x) = Q's first row")
    return P


def instructive(d, p) -> bool:
    """A softmax that is neither one-hot nor flat (a clear winner, but not a certain one), distinct
    scores, and inputs on both sides of 0 for the sigmoid."""
    P = reference(d, p)["P"]
    distinct = len(np.unique(p.z)) == p.z.size
    both = p.x.size < 2 or ((p.x > 0).any() and (p.x < 0).any())
    return bool(0.3 < P.max() < 0.9 and distinct and both)


EXERCISE = Exercise(
    name="softmax",
    title="Softmax by hand, and the sigmoid as its two-class case",
    dims={"n": "scores (classes)", "m": "sigmoid inputs"},
    presets={
        "small": dict(n=5, m=2),
        "medium": dict(n=6, m=3),
        "large": dict(n=10, m=5),
    },
    givens=[
        Given("z", ("n", 1), low=-2, high=3),
        Given("x", (1, "m"), low=-3, high=3),
    ],
    reference=reference,
    layout=layout,
    limits={"n": (2, 30), "m": (1, 12)},
    accept=instructive,
)
