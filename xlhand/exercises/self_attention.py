"""self-attention: scaled dot-product attention of a sequence with itself, tokens as columns.

Q = Wq·X, K = Wk·X, V = Wv·X; S = Kᵀ·Q / √d_k (row j = key j, column i = query i);
A = softmax over each column (every query's weights over the keys sum to 1); F = V·A
(column i = Σ_j a_ji v_j). The three projections share X: Wq, Wk, Wv stand one under the other
left of Q, K, V, with X above them all. S is square (n × n).
"""
from __future__ import annotations

from xlhand.layout import OUTPUT, WEIGHT, ops
from xlhand.model.exercise import Exercise, Source, STABLE_SOFTMAX
from xlhand.model.npref import attention, attention_mixes
from xlhand.model.givens import Given


def reference(d, p):
    Q, K, V = p.Wq @ p.X, p.Wk @ p.X, p.Wv @ p.X
    return dict(Q=Q, K=K, V=V, **attention(Q, K, V))


def layout(s, d, p):
    X = s.given("X", label="X (one token per column)")
    Q, K, V = ops.projections(s, X, steps=("Queries Q = Wq·X", "Keys K = Wk·X", "Values V = Wv·X"))
    steps = ops.attention_steps(d.d_k)
    # the softmax right of S (and F = V·A under A) where that fits a landscape page (Wq, X, e^S, A:
    # 3 + d + 3n columns); else, and with a stable softmax (whose max row under S joins the Σ row
    # into one strip that no column break may cross), down under S, F under A: one portrait page wide
    across = 3 + d.d + 3 * d.n <= ops.page_columns("letter", landscape=True)
    if across and not s.settings.get("stable"):
        ops.attention_under(s, ("S", "A", "F"), Q, K, V, V, scale=d.d_k, role=OUTPUT, steps=steps)
        return
    with s.step(steps[0]):
        S = s.place(ops.scores(s, "S", K, Q, scale=d.d_k), under=V, in_columns_of=Q)
    ops.attend(s, ("A", "F"), S, V, steps=steps[1:], role=OUTPUT, direction="down")


def instructive(d, p) -> bool:
    """The attention weights are neither one-hot nor uniform (when there are keys to choose from)."""
    return attention_mixes(reference(d, p)["A"])


EXERCISE = Exercise(
    name="self-attention",
    title="Self-attention: S = Kᵀ·Q / √d_k, A = softmax over columns, F = V·A",
    source=Source(
        paper="Vaswani et al. (2017), Attention Is All You Need, NeurIPS (§3.2.1)",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Self-Attention"),
    dims={"d": "features per token", "d_k": "query/key size", "d_v": "value size", "n": "tokens"},
    presets={
        "small": dict(d=3, d_k=2, d_v=2, n=3),
        "medium": dict(d=4, d_k=3, d_v=3, n=4),
        "large": dict(d=6, d_k=4, d_v=4, n=6),
        "lecture": dict(d=32, d_k=16, d_v=16, n=64),
    },
    # Fresh numbers: Wq and Wk by halves, each row's absolute sum at most 2, so scores stay in a
    # range where softmax neither picks one key nor spreads evenly, however many tokens.
    givens=[
        Given("X", ("d", "n"), low=-1, high=1),
        Given("Wq", ("d_k", "d"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=2),
        Given("Wk", ("d_k", "d"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=2),
        Given("Wv", ("d_v", "d"), role=WEIGHT, low=-1, high=1),
    ],
    reference=reference,
    layout=layout,
    accept=instructive,
    options=[STABLE_SOFTMAX],
)
