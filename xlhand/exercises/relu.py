"""relu: ReLU against leaky ReLU, entry by entry, with the gate that decides between them.

gate = [z > 0]; ReLU(z) = max(0, z) (= gate ⊙ z); LeakyReLU(z) = z where z > 0, else α·z.
α stands in its own cell and every leaky formula reads it: change α on the sheet and watch.
Then both functions over x = −3 … 3 (a column of whole numbers on the sheet: both functions are
straight between them), drawn as curves in a chart that follows α.
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import OUTPUT, UP, fx, ops
from xlhand.model.exercise import Exercise, Source
from xlhand.model.npref import has_both_signs
from xlhand.model.givens import Given
from xlhand.model.makers import both_signs, fixed


CURVE_X = np.arange(-3.0, 4.0)  # the x values the curves are drawn over: both are straight between them


def reference(d, p):
    z, x = p.z, CURVE_X[:, None]
    return dict(gate=(z > 0).astype(float), relu=np.maximum(z, 0.0), leaky=np.where(z > 0, z, p.alpha * z),
                curve_relu=np.maximum(x, 0.0), curve_leaky=np.where(x > 0, x, p.alpha * x))


def layout(s, d, p):
    z = s.given("z", label="z (inputs)")
    alpha = s.next_to(s.given("alpha", label="α (edit me)"), z, UP)
    with s.step("The gate [z > 0]: 1 where the unit passes z, else 0"):
        gate = ops.gate(s, "gate", z, label="gate = [z > 0]")
    with s.step("ReLU(z) = max(0, z): z where the gate is open, else 0"):
        relu = ops.relu(s, "relu", z, label="ReLU(z)")
        s.place(relu, right_of=gate)
        s.arrow(gate, relu)
    with s.step("Leaky ReLU: z where the gate is open, else α·z"):
        leaky = ops.leaky_relu(s, "leaky", z, alpha, label="leaky(z)", role=OUTPUT)
        s.place(leaky, right_of=relu)
        s.arrow(relu, leaky)
    with s.step(f"ReLU and leaky ReLU over x = {CURVE_X[0]:g} … {CURVE_X[-1]:g} (edit α, watch)"):
        ops.curve_table(s, "curve_x", CURVE_X, [
            ("curve_relu", "ReLU(x)", "ReLU", fx.relu),
            ("curve_leaky", "leaky(x)", "leaky ReLU", lambda x: fx.leaky_relu(x, ops.absolute(alpha))),
        ], title="ReLU and leaky ReLU", y_title="activation", chart_below=True)


def instructive(d, p) -> bool:
    """Both kinds of entries in view: some pass (z > 0), some are shut (z < 0)."""
    return has_both_signs(p.z)


EXERCISE = Exercise(
    name="relu",
    title="ReLU and leaky ReLU, with the gate column",
    source=Source(
        paper="Nair & Hinton (2010), Rectified linear units improve restricted Boltzmann machines, ICML; "
              "leaky ReLU: Maas, Hannun & Ng (2013)",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): ReLU and Leaky ReLU"),
    dims={"n": "units (rows)", "batch": "samples (columns)"},
    presets={
        "small": dict(n=5, batch=1),
        "medium": dict(n=6, batch=2),
        "large": dict(n=10, batch=4),
    },
    givens=[
        Given("z", ("n", "batch"), make=both_signs(-3, 3), describe="pre-activations of both signs"),
        Given("alpha", (), make=fixed(0.1)),
    ],
    reference=reference,
    layout=layout,
    limits={"n": (1, 40), "batch": (1, 12)},
    accept=instructive,
)
