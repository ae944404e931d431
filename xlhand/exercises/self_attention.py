"""self-attention: scaled dot-product attention of a sequence with itself, tokens as columns.

Q = Wq·X, K = Wk·X, V = Wv·X; S = Kᵀ·Q / √d_k (row j = key j, column i = query i);
A = softmax over each column (every query's weights over the keys sum to 1); F = V·A
(column i = Σ_j a_ji v_j). The three projections share X: Wq, Wk, Wv stand one under the other
left of Q, K, V, with X above them all. S is square (n × n).
"""
from __future__ import annotations

import numpy as np

from ..npref import softmax_columns
from .. import ops
from ..exercise import Exercise
from ..params import Given


def attend(Q, K, V):
    """S = Kᵀ·Q/√d_k, A = softmax over each column, F = V·A (the oracle, plain NumPy)."""
    S = K.T @ Q / np.sqrt(K.shape[0])
    A = softmax_columns(S)
    return dict(S=S, A=A, F=V @ A)


def reference(d, p):
    Q, K, V = p.Wq @ p.X, p.Wk @ p.X, p.Wv @ p.X
    return dict(Q=Q, K=K, V=V, **attend(Q, K, V))


def attention_steps(s, Q, K, V, d_k, at):
    """The three steps after the projections: scores (Kᵀ left of S, Q above), softmax, F = V·A."""
    return ops.attention(s, ("S", "A", "F"), Q, K, V, scale=d_k, at=at, role="output", steps=(
        f"Scores S = Kᵀ·Q / √{d_k} (row j = key j, column i = query i)",
        "A = softmax of each column of S (each query's weights over the keys sum to 1)",
        "F = V·A (column i mixes the values with query i's weights)",
    ))


def layout(s, d, p):
    X = s.given("X", at=(0, 0), label="X (one token per column)")
    with s.step("Queries Q = Wq·X"):
        Q = ops.matmul(s, "Q", "Wq", X, at=s.below(X), label="Q = Wq·X")
    with s.step("Keys K = Wk·X"):
        K = ops.matmul(s, "K", "Wk", X, at=s.below(Q), label="K = Wk·X")
    with s.step("Values V = Wv·X"):
        V = ops.matmul(s, "V", "Wv", X, at=s.below(K), label="V = Wv·X")
    attention_steps(s, Q, K, V, d.d_k, at=s.below(V))


def instructive_attention(ref) -> bool:
    """The attention weights are neither one-hot nor uniform (when there are keys to choose from)."""
    A = ref["A"]
    if A.shape[0] < 2:
        return True
    return bool(A.max() < 0.9 and np.ptp(A, axis=0).max() > 0.1)


def instructive(d, p) -> bool:
    return instructive_attention(reference(d, p))


EXERCISE = Exercise(
    name="self-attention",
    title="Self-attention: S = Kᵀ·Q / √d_k, A = softmax over columns, F = V·A",
    dims={"d": "features per token", "d_k": "query/key size", "d_v": "value size", "n": "tokens"},
    presets={
        "small": dict(d=3, d_k=2, d_v=2, n=3),
        "medium": dict(d=4, d_k=3, d_v=3, n=4),
        "large": dict(d=6, d_k=4, d_v=4, n=6),
        "lecture": dict(d=32, d_k=16, d_v=16, n=64),
    },
    givens=[
        Given("X", ("d", "n"), low=-1, high=2),
        Given("Wq", ("d_k", "d"), role="weight", low=-1, high=1),
        Given("Wk", ("d_k", "d"), role="weight", low=-1, high=1),
        Given("Wv", ("d_v", "d"), role="weight", low=-1, high=1),
    ],
    reference=reference,
    layout=layout,
    accept=instructive,
)
