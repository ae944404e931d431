"""softmax: n scores → e^z → Z = Σ e^z → probabilities; sigmoid as the two-class softmax.

P = e^z / Z with Z = Σ_i e^{z_i} (one column of scores, one probability per class); the
probabilities sum to 1 and keep the order of the scores. Then for each input x: softmax([x; 0]) has
first entry e^x / (e^x + e^0) = e^x / (e^x + 1) = 1 / (1 + e^−x) = σ(x), laid out beside σ(x)
itself: the 0 under each x is the usual class whose score is zero, and its e^0 = 1 is the constant
baseline. Last, both over x = −6 … 6 in steps of 0.5 (a column of numbers on the sheet), drawn in
one chart: one curve. With ``--opt stable=true`` each column's max is subtracted first (a step of
its own): the same probabilities, for scores whose e^z would be beyond 1e6.
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import EVERYTHING, OUTPUT, fx, ops
from xlhand.model.exercise import Exercise, Source, STABLE_SOFTMAX
from xlhand.model.npref import has_both_signs, softmax_columns
from xlhand.model.givens import Given
from xlhand.model.makers import both_signs, winner_scores


CURVE_X = np.arange(-6, 6.25, 0.5)  # the x values the sigmoid is drawn over


def reference(d, p):
    """The probabilities (e^z, Σ and a max row, which depend on ``stable``, come from the shared step)."""
    X2 = np.vstack([p.x, np.zeros_like(p.x)])
    x = CURVE_X[:, None]
    return dict(P=softmax_columns(p.z), X2=X2, Q=softmax_columns(X2),
                sig=1.0 / (1.0 + np.exp(-p.x)),
                curve_sig=1.0 / (1.0 + np.exp(-x)), curve_soft=np.exp(x) / (np.exp(x) + np.exp(0.0)))


def layout(s, d, p):
    stable = s.settings.get("stable", False)
    first = ("The largest score (max, under z), e^(z − max), their sum Σ, P = e^(z − max) / Σ" if stable else
             "Raise each score to e^z, sum them into a total Σ, divide each e^z by Σ: P = e^z / Σ")
    with s.step(first):
        z = s.given("z", label="z (scores)")
        ops.softmax(s, "P", z, role=OUTPUT, label="P = e^(z − max) / Σ" if stable else "P = e^z / Σ")
    with s.step("Two classes: stack each input x over a 0, X2 = [x; 0]"):
        x = s.given("x", label="x (inputs)")
        s.place(x, below=EVERYTHING)
        zeros = ops.row_under(s, "x_zeros", x, 0, "0s")
        X2 = ops.stack(s, "X2", [x, zeros], label="X2 = [x; 0]")
        s.place(X2, below=zeros)
        s.arrow(zeros, X2)
    with s.step("softmax over each column of X2: Q = e^(X2 − max) / Σ" if stable else
                "softmax over each column of X2: Q = e^X2 / Σ; the 0 gives e^0 = 1, the constant baseline"):
        # X2 | e^X2 | Q in a row; for more than four inputs, e^X2 under X2 (past its max row, if any)
        # and Q right of it, so that the step stays a page wide
        Q = ops.softmax(s, "Q", X2, label="Q = softmax([x; 0])")
        if d.m > 4:
            s.place(Q, below=X2)
    with s.step("The sigmoid directly: σ(x) = 1 / (1 + e^−x), equal to Q's first row"):
        ops.sigmoid(s, "sig", x, role=OUTPUT, label="σ(x) = Q's first row")  # right of x
    with s.step(f"σ(x) and softmax([x; 0])'s first row for x = {CURVE_X[0]:g} … {CURVE_X[-1]:g}: one curve"):
        ops.curve_table(s, "curve_x", CURVE_X, [
            ("curve_sig", "σ(x)", "σ(x) = 1 / (1 + e^−x)", fx.sigmoid),
            ("curve_soft", "e^x/(e^x+1)", "softmax([x; 0]), first row",
             lambda v: fx.div(fx.exp(v), f"{fx.exp(v)}+{fx.exp('0')}")),
        ], title="The sigmoid is the two-class softmax", y_title="probability")


def instructive(d, p) -> bool:
    """A softmax that is neither one-hot nor flat (a clear winner, but not a certain one), distinct
    scores, and inputs on both sides of 0 for the sigmoid."""
    P = reference(d, p)["P"]
    distinct = len(np.unique(p.z)) == p.z.size
    return bool(0.3 < P.max() < 0.9 and distinct and has_both_signs(p.x))


EXERCISE = Exercise(
    name="softmax",
    title="Softmax by hand, and the sigmoid as its two-class case",
    source=Source(
        paper="Bridle (1990), Probabilistic interpretation of feedforward classification network outputs, "
              "Neurocomputing (NATO ASI F68)",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Softmax"),
    dims={"n": "scores (classes)", "m": "sigmoid inputs"},
    presets={
        "small": dict(n=5, m=2),
        "medium": dict(n=6, m=3),
        "large": dict(n=10, m=5),
    },
    givens=[
        Given("z", ("n", 1), make=winner_scores, describe="scores, one winner"),
        Given("x", (1, "m"), make=both_signs(-3, 3), describe="inputs of both signs"),
    ],
    reference=reference,
    layout=layout,
    limits={"n": (2, 30), "m": (1, 12)},
    accept=instructive,
    options=[STABLE_SOFTMAX],
)
