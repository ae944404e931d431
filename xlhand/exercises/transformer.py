"""transformer: one encoder block (Vaswani et al. 2017) on a few tokens, one token a column.

1. Sinusoidal positional encoding: freq_i = 1/10000^(2k/d) for rows i = 2k and 2k+1;
   PE[i, pos] = sin(pos·freq_i) for even i, cos(pos·freq_i) for odd i (positions from 0);
   Xp = X + PE.
2. Q = Wq·Xp, K = Wk·Xp, V = Wv·Xp.
3. Scaled dot-product attention, column convention: S = Kᵀ·Q/√d, A = softmax over each column,
   F = V·A.
4. Residual and LayerNorm: R1 = Xp + F, N1 = LayerNorm(R1) (over the d features of each token;
   population variance, ε = 1e-5, no gain or shift).
5. Feed-forward: Zf = W1·N1 + b1, Hf = ReLU(Zf), O = W2·Hf + b2.
6. Residual and LayerNorm: R2 = N1 + O, N2 = LayerNorm(R2) (the paper's post-LN: every
   sub-layer's output is LayerNorm(x + Sublayer(x))).
"""
from __future__ import annotations

import numpy as np

from xlhand.model.npref import has_both_signs, layernorm_columns as layernorm, softmax_columns as softmax
from xlhand.layout import BIAS, COMPUTED, DOWN, EVERYTHING, GIVEN, OUTPUT, WEIGHT, fx, ops, paper
from xlhand.model.exercise import Exercise, Source, STABLE_SOFTMAX
from xlhand.model.givens import Given

EPS = 1e-5


def reference(d, p):
    dm = d.d
    i = np.arange(dm)[:, None]
    pos = np.arange(d.n)[None, :]
    freq = 1.0 / 10000 ** ((i - i % 2) / dm)
    PE = np.where(i % 2 == 0, np.sin(pos * freq), np.cos(pos * freq))
    Xp = p.X + PE
    Q, K, V = p.Wq @ Xp, p.Wk @ Xp, p.Wv @ Xp
    S = K.T @ Q / np.sqrt(dm)
    A = softmax(S)
    F = V @ A
    R1 = Xp + F
    N1 = layernorm(R1)
    Zf = p.W1 @ N1 + p.b1
    Hf = np.maximum(Zf, 0.0)
    O = p.W2 @ Hf + p.b2
    R2 = N1 + O
    return dict(freq=freq, PE=PE, Xp=Xp, Q=Q, K=K, V=V, S=S, A=A, F=F, R1=R1, N1=N1,
                Zf=Zf, Hf=Hf, O=O, R2=R2, N2=layernorm(R2))


def layout(s, d, p):
    dm, n = d.d, d.n
    # On a portrait page wide enough, PE, X and Xp stand side by side (Xp = X + PE row by row),
    # the projections under Xp: the whole forward pass up to the scores fits under the header.
    across = 3 * n + 5 <= paper.narrowest_page_columns(landscape=False)
    with s.step("Positional encoding: freq_i = 1/10000^(2k/d) (rows 2k, 2k+1), PE = sin / cos(pos·freq)"):
        idx = s.add("idx", (dm, 1), role=GIVEN, label="i", values=np.arange(dm)[:, None], named=False)
        freq = s.add("freq", (dm, 1), role=COMPUTED, label="freq",
                     formula=lambda i, j: f"1/POWER(10000,{_pair(idx.cell(i), i)}/{dm})")
        if across:
            s.place(freq, right_of=idx, gap=0)
        else:
            s.place(freq, right_of=idx)
            s.arrow(idx, freq)
        PE = s.add("PE", (dm, n), role=COMPUTED, label="PE (sin, cos)",
                   formula=lambda i, j: f"{'SIN' if i % 2 == 0 else 'COS'}({pos.cell(0, j)}*{freq.cell(i)})")
        s.place(PE, right_of=freq, **({"gap": 0} if across else {}))  # freq's label reaches over the gap
        pos = s.add("pos", (1, n), role=GIVEN, label="" if across else "pos", side_label="pos" if across else None,
                    values=np.arange(n)[None, :], named=False)
        s.place(pos, above=PE, gap=0)
    with s.step("Add the positions to the token embeddings: Xp = X + PE"):
        X = s.given("X", label="X (tokens)")
        Xp = ops.elementwise(s, "Xp", fx.add, [X, PE], label="Xp = X + PE")
        if across:
            s.place(X, right_of=PE)
            s.place(Xp, right_of=X)
        else:
            s.place(X, below=PE)
            s.place(Xp, below=X)
    tight = {"gap": 0} if across else {}
    with s.step("Queries, keys, values: Q = Wq·Xp, K = Wk·Xp, V = Wv·Xp"):
        with s.group() as projected:
            Q = s.place(ops.matmul(s, "Q", "Wq", Xp, label="Q = Wq·Xp"), below=Xp, **tight)
            K = s.place(ops.matmul(s, "K", "Wk", Xp, label="K = Wk·Xp"), below=Q, **tight)
            V = s.place(ops.matmul(s, "V", "Wv", Xp, label="V = Wv·Xp"), below=K, **tight)
    with s.step(f"Attention: S = Kᵀ·Q / √{dm}, A = softmax over each column, F = V·A"), s.group() as attended:
        S = s.place(ops.scores(s, "S", K, Q, scale=dm, label=f"S = Kᵀ·Q/√{dm}"), under=projected, in_columns_of=Q, **tight)
        if across:
            # the page turns after the scores: a copy of S starts the next page, the exponentials
            # and the weights right of it, F = V·A under A
            A_S = ops.copy(s, "A_S", S, label="S")
            if s.settings.get("stable"):  # the max row's side label in the column left of the copy
                s.place(A_S, below=S, in_columns_of=freq)
            else:
                s.place(A_S, below=EVERYTHING)
            A = ops.heat(ops.softmax(s, "A", A_S, label="A = softmax(S)", z_label=S.name))
        else:
            # the exponentials under S and A right of them, F = V·A under A: ten columns, not fourteen
            # (a stable softmax's max row under S takes the gap row: one more keeps a page break
            # possible between the scores and the exponentials)
            A = ops.heat(s.place(ops.softmax(s, "A", S), below=S, **({"gap": 2} if s.settings.get("stable") else {})))
        F = ops.matmul(s, "F", ops.copy_part(s, "F_V", V), A, label="F = V·A")
    # each residual starts a new row at the left edge (its side labels included), so the chain
    # stays as wide as the attention and turns down instead of drifting right
    with s.group() as sublayers:
        with s.step("Residual and LayerNorm: R1 = Xp + F, N1 = LayerNorm(R1)"), s.group() as norm1:
            R1 = ops.elementwise(s, "R1", fx.add, [Xp, F], label="R1 = Xp + F")
            s.place(R1, below=EVERYTHING)
            N1 = ops.layernorm(s, "N1", R1, eps=EPS)
        s.next_to(norm1, attended, DOWN)
        with s.step("Feed-forward: Zf = W1·N1 + b1, Hf = ReLU(Zf), O = W2·Hf + b2"):
            Zf = s.place(ops.linear(s, "Zf", "W1", N1, "b1", label="Zf = W1·N1 + b1"), below=N1, **tight)
            Hf = s.place(ops.relu(s, "Hf", Zf), below=Zf, **tight)
            O = s.place(ops.linear(s, "O", "W2", Hf, "b2", label="O = W2·Hf + b2"), below=Hf, **tight)
    with s.step("Residual and LayerNorm: R2 = N1 + O, N2 = LayerNorm(R2) (the block's output)"), s.group() as norm2:
        R2 = ops.elementwise(s, "R2", fx.add, [N1, O], label="R2 = N1 + O")
        s.place(R2, below=EVERYTHING)
        ops.layernorm(s, "N2", R2, eps=EPS, role=OUTPUT, label="N2 = LayerNorm(R2)")
    s.next_to(norm2, sublayers, DOWN)


def _pair(i_cell: str, i: int) -> str:
    """2k for row i = 2k or 2k+1, written from the index cell: i or (i−1)."""
    return i_cell if i % 2 == 0 else f"({i_cell}-1)"


def instructive(d, p) -> bool:
    """Attention that mixes tokens (on average a column's largest weight is below 0.9) and a
    ReLU that zeroes some entries and passes others."""
    ref = reference(d, p)
    return bool(ref["A"].max(axis=0).mean() < 0.9 and has_both_signs(ref["Zf"]))


EXERCISE = Exercise(
    name="transformer",
    title="A transformer encoder block",
    source=Source(
        paper="Vaswani et al. (2017), Attention Is All You Need, NeurIPS",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Transformer"),
    dims={"n": "tokens (columns)", "d": "model dimension", "d_ff": "feed-forward hidden units"},
    presets={
        "small": dict(n=2, d=4, d_ff=4),
        "medium": dict(n=3, d=4, d_ff=6),
        "large": dict(n=4, d=6, d_ff=8),
        "lecture": dict(n=16, d=32, d_ff=64),
    },
    # Fresh numbers: Wq and Wk by halves, each row's absolute sum at most 1.5, so attention mixes
    # tokens at any width.
    givens=[
        Given("X", ("d", "n"), low=-1, high=1, describe="token embeddings, one token a column"),
        Given("Wq", ("d", "d"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5),
        Given("Wk", ("d", "d"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5),
        Given("Wv", ("d", "d"), role=WEIGHT, low=-1, high=1),
        Given("W1", ("d_ff", "d"), role=WEIGHT, low=-1, high=1),
        Given("b1", ("d_ff", 1), role=BIAS, low=-1, high=1),
        Given("W2", ("d", "d_ff"), role=WEIGHT, low=-1, high=1),
        Given("b2", ("d", 1), role=BIAS, low=-1, high=1),
    ],
    reference=reference,
    layout=layout,
    limits={"n": (2, 16), "d": (2, 32), "d_ff": (1, 64)},
    accept=instructive,
    options=[STABLE_SOFTMAX],
)
