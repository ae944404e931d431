"""cross-attention: queries from one sequence X, keys and values from another sequence E.

Q = Wq·X (d_k × n_q), K = Wk·E (d_k × n_kv), V = Wv·E (d_v × n_kv); S = Kᵀ·Q / √d_k is
rectangular (n_kv × n_q: one row per key token of E, one column per query token of X);
A = softmax over each column; F = V·A has one column per query token.
"""
from __future__ import annotations

from .. import ops
from ..exercise import Exercise
from ..params import Given
from .self_attention import attend, attention_steps, instructive_attention


def reference(d, p):
    Q, K, V = p.Wq @ p.X, p.Wk @ p.E, p.Wv @ p.E
    return dict(Q=Q, K=K, V=V, **attend(Q, K, V))


def layout(s, d, p):
    X = s.given("X", at=(0, 0), label="X (queries' tokens)")
    # E stands right of X, far enough that Wk fits between Q's column and K
    E = s.given("E", at=(0, X.right + 2 + d.d_e + 1), label="E (keys' and values' tokens)")
    with s.step("Queries from X: Q = Wq·X"):
        Q = ops.matmul(s, "Q", "Wq", X, at=s.below(X), label="Q = Wq·X")
    with s.step("Keys from E: K = Wk·E"):
        K = ops.matmul(s, "K", "Wk", E, at=s.below(E), label="K = Wk·E")
    with s.step("Values from E: V = Wv·E"):
        V = ops.matmul(s, "V", "Wv", E, at=s.below(K), label="V = Wv·E")
    attention_steps(s, Q, K, V, d.d_k, at=(s.lowest_row() + 2, Q.left))


def instructive(d, p) -> bool:
    return instructive_attention(reference(d, p))


EXERCISE = Exercise(
    name="cross-attention",
    title="Cross-attention: queries from X, keys and values from E (S is n_kv × n_q)",
    dims={"d": "features per query token", "d_e": "features per key/value token", "d_k": "query/key size",
          "d_v": "value size", "n_q": "query tokens (X)", "n_kv": "key/value tokens (E)"},
    presets={
        "small": dict(d=3, d_e=2, d_k=2, d_v=2, n_q=2, n_kv=3),
        "medium": dict(d=4, d_e=3, d_k=2, d_v=3, n_q=3, n_kv=4),
        "large": dict(d=6, d_e=5, d_k=4, d_v=4, n_q=4, n_kv=6),
        "lecture": dict(d=32, d_e=32, d_k=16, d_v=16, n_q=64, n_kv=64),
    },
    givens=[
        Given("X", ("d", "n_q"), low=-1, high=2),
        Given("E", ("d_e", "n_kv"), low=-1, high=2),
        Given("Wq", ("d_k", "d"), role="weight", low=-1, high=1),
        Given("Wk", ("d_k", "d_e"), role="weight", low=-1, high=1),
        Given("Wv", ("d_v", "d_e"), role="weight", low=-1, high=1),
    ],
    reference=reference,
    layout=layout,
    accept=instructive,
)
