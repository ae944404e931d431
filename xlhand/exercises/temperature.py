"""temperature: one column of scores through softmax at several temperatures, and the greedy choice.

Column k of Zt holds z / T_k; P = softmax over each column. Low T sharpens P towards the largest
score, high T flattens it towards uniform; the greedy choice (the row of the largest probability)
is the same at every temperature, only its probability changes.
"""
from __future__ import annotations

import numpy as np

from .. import fx, ops
from ..exercise import Exercise
from ..params import Given

TEMPERATURES = (0.25, 0.5, 1, 2, 4, 10)


def reference(d, p):
    Zt = p.z / p.T
    e = np.exp(Zt - Zt.max(axis=0, keepdims=True))
    P = e / e.sum(axis=0, keepdims=True)
    return dict(Zt=Zt, P_max=Zt.max(axis=0, keepdims=True), P_exp=e, P_sum=e.sum(axis=0, keepdims=True), P=P,
                pmax=P.max(axis=0, keepdims=True), greedy=P.argmax(axis=0)[None, :] + 1.0)


def layout(s, d, p):
    z = s.given("z", at=(0, 0), label="z (scores)")
    with s.step("Divide the scores by each temperature: column k of Zt is z / T_k"):
        T = s.given("T", at=(z.top - 3, z.right + 1), label="T (temperatures)")
        Zt = ops.elementwise(s, "Zt", fx.div, [z, T], at=(z.top, T.left), label="Zt = z / T")
    with s.step("softmax over each column: the column max, e^(Zt − max), the column sums, P = e^(Zt − max) / Σ"):
        P = ops.softmax_columns(s, "P", Zt, at=s.right_of(Zt), role="output", label="P = softmax(z / T)")
    with s.step("Greedy choice: the largest probability of each column and its row number"):
        pmax = ops.col_max(s, "pmax", P, at=(P.bottom + 1, P.left), label="largest p")
        ops.argmax_columns(s, "greedy", P, at=(pmax.bottom + 1, P.left), role="output",
                           label="greedy choice (row)")
    return P


def instructive(d, p) -> bool:
    """A unique largest score, so the greedy choice is clear at every temperature."""
    top = np.sort(p.z[:, 0])[::-1]
    return bool(top[0] > top[1] and len(np.unique(p.z)) == p.z.size)


def _temperatures(rng, size, dims):
    """Distinct temperatures from a readable set, low to high, always including T = 1."""
    rest = [t for t in TEMPERATURES if t != 1]
    chosen = [1.0] + list(rng.choice(rest, size=size[1] - 1, replace=False)) if size[1] > 1 else [1.0]
    return np.array(sorted(chosen), dtype=float).reshape(size)


def checks(d, p) -> str | None:
    if (p.T <= 0).any():
        return f"block 'T': temperatures must be positive, found {p.T.min():g}"
    return None


EXERCISE = Exercise(
    name="temperature",
    title="Softmax temperature and the greedy choice",
    dims={"n": "scores (tokens)", "temps": "temperatures"},
    presets={
        "small": dict(n=4, temps=3),
        "medium": dict(n=5, temps=4),
        "large": dict(n=8, temps=6),
    },
    givens=[
        Given("z", ("n", 1), low=-2, high=3),
        Given("T", (1, "temps"), make=_temperatures),
    ],
    reference=reference,
    layout=layout,
    limits={"n": (2, 30), "temps": (1, len(TEMPERATURES))},
    checks=checks,
    accept=instructive,
)
