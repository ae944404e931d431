"""relu: ReLU against leaky ReLU, entry by entry, with the gate that decides between them.

gate = [z > 0]; ReLU(z) = max(0, z) (= gate ⊙ z); LeakyReLU(z) = z where z > 0, else α·z.
α stands in its own cell and every leaky formula reads it: change α on the sheet and watch.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..exercise import Exercise
from ..params import Given, fixed


def reference(d, p):
    z = p.z
    return dict(gate=(z > 0).astype(float), relu=np.maximum(z, 0.0), leaky=np.where(z > 0, z, p.alpha * z))


def layout(s, d, p):
    z = s.given("z", at=(0, 0), label="z (pre-activations)")
    alpha = s.given("alpha", at=(z.top, z.left - 3), label="α (edit me)")
    with s.step("The gate: 1 where z > 0 (the unit passes z), 0 where it is shut"):
        gate = ops.gate(s, "gate", z, label="gate = [z > 0]")
    with s.step("ReLU(z) = max(0, z): z where the gate is open, 0 elsewhere"):
        relu = ops.relu(s, "relu", z, at=s.right_of(gate), label="ReLU(z)")
        s.arrow(gate, relu)
    with s.step("Leaky ReLU: z where the gate is open, α·z elsewhere (α in its own cell)"):
        leaky = ops.leaky_relu(s, "leaky", z, alpha, at=s.right_of(relu), label="LeakyReLU(z)", role="output")
        s.arrow(relu, leaky)


def instructive(d, p) -> bool:
    """Both kinds of entries in view: some pass (z > 0), some are shut (z < 0)."""
    return bool(p.z.size < 2 or ((p.z > 0).any() and (p.z < 0).any()))


EXERCISE = Exercise(
    name="relu",
    title="ReLU and leaky ReLU, with the gate column",
    dims={"n": "units (rows)", "batch": "samples (columns)"},
    presets={
        "small": dict(n=5, batch=1),
        "medium": dict(n=6, batch=2),
        "large": dict(n=10, batch=4),
    },
    givens=[
        Given("z", ("n", "batch"), low=-3, high=3),
        Given("alpha", (), make=fixed(0.1)),
    ],
    reference=reference,
    layout=layout,
    limits={"n": (1, 40), "batch": (1, 12)},
    accept=instructive,
)
