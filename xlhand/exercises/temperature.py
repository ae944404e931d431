"""temperature: one column of scores through softmax at several temperatures, and the greedy choice.

Column k of Zt holds z / T_k; P = softmax over each column. Low T sharpens P towards the largest
score, high T flattens it towards uniform; the greedy choice (the row of the largest probability)
is the same at every temperature, only its probability changes.
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import OUTPUT, UP, fx, ops
from xlhand.model.exercise import Exercise, Source, STABLE_SOFTMAX
from xlhand.model.givens import Given
from xlhand.model.makers import winner_scores

TEMPERATURES = (0.25, 0.5, 1, 2, 4, 10)


def reference(d, p):
    Zt = p.z / p.T
    e = np.exp(Zt - Zt.max(axis=0, keepdims=True))
    P = e / e.sum(axis=0, keepdims=True)
    return dict(Zt=Zt, P=P, pmax=P.max(axis=0, keepdims=True), greedy=P.argmax(axis=0)[None, :] + 1.0)


def layout(s, d, p):
    z = s.given("z", label="z (scores)")
    with s.step("Zt = z / T: column k holds the scores divided by T_k"):
        T = s.given("T", label="T (temperatures)")
        Zt = ops.outer(s, "Zt", fx.div, z, T, label="Zt = z / T")
        s.next_to(T, Zt, UP)  # T over Zt, z left of it: every pairing of a score and a temperature
    shifted = "max, e^(Zt − max)" if s.settings.get("stable") else "e^Zt"
    with s.step(f"softmax of each column: {shifted}, Σ, P"):
        # the exponentials under Zt (past its max row, if any) and P right of it: a page wide for six
        # temperatures
        P = ops.softmax(s, "P", Zt, role=OUTPUT, label="P = softmax(z / T)")
        s.place(P, below=Zt)
    with s.step("Greedy choice: each column’s largest p and its row"):
        pmax = ops.col_max(s, "pmax", P, label="largest p")
        s.place(pmax, below=P)
        s.place(ops.argmax_columns(s, "greedy", P, role=OUTPUT, label="greedy choice (row)"), below=pmax, gap=0)


def instructive(d, p) -> bool:
    """A unique largest score, so the greedy choice is clear at every temperature, and every e^(z / T)
    small enough to read (at most 1e6: the softmax is worked without shifting by the max)."""
    top = np.sort(p.z[:, 0])[::-1]
    readable = (p.z / p.T).max() <= np.log(1e6)
    return bool(top[0] > top[1] and len(np.unique(p.z)) == p.z.size and readable)


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
    source=Source(
        paper="Hinton, Vinyals & Dean (2015), Distilling the knowledge in a neural network, arXiv:1503.02531",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Softmax Temperature"),
    dims={"n": "scores (tokens)", "temps": "temperatures"},
    presets={
        "small": dict(n=4, temps=3),
        "medium": dict(n=5, temps=4),
        "large": dict(n=8, temps=6),
    },
    givens=[
        Given("z", ("n", 1), make=winner_scores, describe="scores, one winner"),
        Given("T", (1, "temps"), make=_temperatures),
    ],
    reference=reference,
    layout=layout,
    limits={"n": (2, 30), "temps": (1, len(TEMPERATURES))},
    checks=checks,
    accept=instructive,
    options=[STABLE_SOFTMAX],
)
