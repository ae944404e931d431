"""cross-attention: queries from one sequence X, keys and values from another sequence E.

Q = Wq·X (d_k × n_q), K = Wk·E (d_k × n_kv), V = Wv·E (d_v × n_kv); S = Kᵀ·Q / √d_k is
rectangular (n_kv × n_q: one row per key token of E, one column per query token of X);
A = softmax over each column; F = V·A has one column per query token.
"""
from __future__ import annotations

from xlhand.layout import OUTPUT, WEIGHT, ops
from xlhand.model.exercise import Exercise, Source, STABLE_SOFTMAX
from xlhand.model.npref import attention, attention_mixes
from xlhand.model.givens import Given


def reference(d, p):
    Q, K, V = p.Wq @ p.X, p.Wk @ p.E, p.Wv @ p.E
    return dict(Q=Q, K=K, V=V, **attention(Q, K, V))


def layout(s, d, p):
    X = s.given("X", label="X (query tokens)")
    E = s.given("E", label="E (key/value tokens)")
    with s.group() as projected:  # E with K and V under it stands right of X with Q under it
        Q, K, V = ops.projections(s, X, E, steps=("Queries from X: Q = Wq·X", "Keys from E: K = Wk·E",
                                                  "Values from E: V = Wv·E"))
    steps = ops.attention_steps(d.d_k)
    if projected.cols > ops.page_columns("letter", landscape=False):
        ops.attention_under(s, ("S", "A", "F"), Q, K, V, projected, scale=d.d_k, role=OUTPUT, steps=steps)
        return
    # where E's column stands under X's (a sheet one portrait page wide), the softmax goes down under
    # S and F = V·A under A, so that it stays that narrow (across it needs a second column of pages,
    # and with a stable softmax the max and Σ rows join into one strip that no column break may cross)
    with s.step(steps[0]):
        S = s.place(ops.scores(s, "S", K, Q, scale=d.d_k), under=projected, in_columns_of=Q)
    ops.attend(s, ("A", "F"), S, V, steps=steps[1:], role=OUTPUT, direction="down")


def instructive(d, p) -> bool:
    """The attention weights are neither one-hot nor uniform (when there are keys to choose from)."""
    return attention_mixes(reference(d, p)["A"])


EXERCISE = Exercise(
    name="cross-attention",
    title="Cross-attention: queries from X, keys and values from E (S is n_kv × n_q)",
    source=Source(
        paper="Vaswani et al. (2017), Attention Is All You Need, NeurIPS (encoder–decoder attention, §3.2.3)",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Cross-Attention"),
    dims={"d": "features per query token", "d_e": "features per key/value token", "d_k": "query/key size",
          "d_v": "value size", "n_q": "query tokens (X)", "n_kv": "key/value tokens (E)"},
    presets={
        "small": dict(d=3, d_e=2, d_k=2, d_v=2, n_q=2, n_kv=3),
        "medium": dict(d=4, d_e=3, d_k=2, d_v=3, n_q=3, n_kv=4),
        "large": dict(d=6, d_e=5, d_k=4, d_v=4, n_q=4, n_kv=6),
        "lecture": dict(d=32, d_e=32, d_k=16, d_v=16, n_q=64, n_kv=64),
    },
    # Fresh numbers: Wq and Wk by halves, each row's absolute sum at most 2, so scores stay in a
    # range where softmax neither picks one key nor spreads evenly, however many tokens.
    givens=[
        Given("X", ("d", "n_q"), low=-1, high=1),
        Given("E", ("d_e", "n_kv"), low=-1, high=1),
        Given("Wq", ("d_k", "d"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=2),
        Given("Wk", ("d_k", "d_e"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=2),
        Given("Wv", ("d_v", "d_e"), role=WEIGHT, low=-1, high=1),
    ],
    reference=reference,
    layout=layout,
    accept=instructive,
    options=[STABLE_SOFTMAX],
)
