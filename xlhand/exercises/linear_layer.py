"""linear-layer: one fully connected layer, Z = W·X + b, as PyTorch's nn.Linear(n_in, n_out).

W (n_out × n_in) left of Z, X (n_in × batch) above Z, b as W's last column against a row of 1s
under X. Then the layer's size, counted by formulas: n_out·n_in + n_out parameters, and
n_out·n_in multiplications per sample.
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import ops
from xlhand.model.exercise import Exercise, Source
from xlhand.model.npref import has_both_signs
from xlhand.model.givens import Given


def reference(d, p):
    return dict(Z=p.W @ p.X + p.b, nparams=np.array(p.W.size + p.b.size, dtype=float),
                nmults=np.array(p.W.size * p.X.shape[1], dtype=float))


def layout(s, d, p):
    with s.step(f"Z = W·X + b: each cell is one row of [W | b] times one column of [X; 1] "
                f"(nn.Linear({d.n_in}, {d.n_out}))"):
        X = s.given("X", label="X (one sample per column)")
        Z = ops.linear(s, "Z", "W", X, "b", role="output", label="Z = W·X + b")
    W, b, ones = s.blocks["W"], s.blocks["b"], ops.ones_row(s, X)
    with s.step("Count: parameters = entries of W and b; multiplications = entries of W × samples"):
        n = s.add("nparams", (1, 1), s.below(W), "computed", "parameters",
                  formula=lambda i, j: f"COUNT({W.range()})+COUNT({b.range()})")
        s.add("nmults", (1, 1), s.right_of(n), "computed", "multiplications",
              formula=lambda i, j: f"COUNT({W.range()})*COUNT({ones.range()})")


def instructive(d, p) -> bool:
    """Outputs of both signs and no output left equal to its bias alone."""
    Z = reference(d, p)["Z"]
    return bool(has_both_signs(Z) and np.abs(Z).max() <= 20 and not (p.W == 0).all(axis=1).any())


EXERCISE = Exercise(
    name="linear-layer",
    title="A linear layer: Z = W·X + b",
    source=Source(
        paper="Rosenblatt (1958), The perceptron, Psychological Review 65(6)",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Linear Layer"),
    dims={"n_in": "input features", "n_out": "output features", "batch": "samples (columns)"},
    presets={
        "small": dict(n_in=3, n_out=2, batch=2),
        "medium": dict(n_in=4, n_out=3, batch=3),
        "large": dict(n_in=8, n_out=5, batch=4),
    },
    givens=[
        Given("X", ("n_in", "batch"), low=-2, high=3),
        Given("W", ("n_out", "n_in"), role="weight", low=-2, high=2),
        Given("b", ("n_out", 1), role="bias", low=-2, high=2),
    ],
    reference=reference,
    layout=layout,
    limits={"n_in": (1, 16), "n_out": (1, 16), "batch": (1, 12)},
    accept=instructive,
)
