"""seq2seq-attention: an RNN encoder, one decoder step, and dot-product attention (Luong et al. 2015).

Encoder, for t = 1…T: h_t = tanh(Wx·x_t + Wh·h_{t−1} + b), H = [h_1 … h_T].
Decoder (first step), starting from the encoder's last state:
sd = tanh(Ux·y0 + Uh·h_T + c), y0 being the decoder's input (the start token's embedding).
Attention (dot score): e = Hᵀ·sd (one score per source position), alpha = softmax(e),
context ctx = H·alpha; attentional state att = tanh(Wc·[ctx; sd]).
On the sheet the encoder runs left to right, one column per source position, with its weights
once at the left as [Wx | Wh | b]; the decoder step stands in the column after the last one.
"""
from __future__ import annotations

import numpy as np

from ..npref import rnn_states, softmax_columns as softmax
from .. import ops
from ..exercise import Exercise
from ..params import Given


def reference(d, p):
    out = rnn_states(p.X, p.h0, p.Wx, p.Wh, p.b)
    H, h = out["H"], out[f"h_{d.T}"]
    ud = np.vstack([p.y0, h])
    zd = p.Ux @ p.y0 + p.Uh @ h + p.c
    sd = np.tanh(zd)
    e = H.T @ sd
    alpha = softmax(e)
    ctx = H @ alpha
    cs = np.vstack([ctx, sd])
    zc = p.Wc @ cs
    out.update(H=H, ud=ud, zd=zd, sd=sd, e=e, alpha=alpha, ctx=ctx, cs=cs, zc=zc, att=np.tanh(zc))
    return out


def layout(s, d, p):
    n_u = d.d_in + d.d_h
    X = s.given("X", at=(0, 2), label="X (source, one column per position)")
    col = [2 * t for t in range(d.T + 1)]  # col[t]: the column of step t; col[0] holds h0
    u_row = X.bottom + 2
    z_row = u_row + n_u + 3  # under u_t and its row of 1s, with a label row
    h_row = z_row + d.d_h + 2
    h_prev = s.given("h0", at=(h_row, col[0]))
    weights, bias = ["Wx", "Wh"], "b"
    hs = []
    for t in range(1, d.T + 1):
        with s.step(f"Encoder t = {t}: h_{t} = tanh([Wx | Wh | b]·[x_{t}; h_{t - 1}; 1])"):
            u = _stack_column(s, f"u_{t}", X, t - 1, h_prev, (u_row, col[t]))
            z = ops.linear_parts(s, f"z_{t}", weights, u, bias, at=(z_row, col[t]), label=f"z_{t}")
            weights, bias = [s.blocks["Wx"], s.blocks["Wh"]], s.blocks["b"]
            h = ops.tanh(s, f"h_{t}", z, at=(h_row, col[t]), label=f"h_{t}")
            s.arrow(h_prev, h)
        h_prev = h
        hs.append(h)
    with s.step("Encoder states side by side: H = [h_1 … h_T]"):
        H = ops.copy_columns(s, "H", hs, at=(h_row + d.d_h + 2, col[1]), role="computed", label="H")

    dec = col[d.T] + n_u + 4  # the decoder column: room for [Ux | Uh | c] at its left
    with s.step("Decoder step: sd = tanh([Ux | Uh | c]·[y0; h_T; 1]), starting from the last encoder state"):
        y0 = s.given("y0", at=(0, dec), label="y0 (decoder input)")
        ud = _stack_column(s, "ud", y0, 0, h_prev, (u_row, dec), label="ud = [y0; h_T]")
        zd = ops.linear_parts(s, "zd", ["Ux", "Uh"], ud, "c", at=(z_row, dec), label="zd")
        sd = ops.tanh(s, "sd", zd, at=(h_row, dec), role="output", label="sd (decoder state)")
    with s.step("Attention: scores e = Hᵀ·sd, weights alpha = softmax(e), context ctx = H·alpha"):
        e, alpha, ctx = ops.attention(s, ("e", "alpha", "ctx"), sd, H, H, at=(s.lowest_row() + 3, dec))
    with s.step("Attentional state: att = tanh(Wc·[ctx; sd])"):
        cs = ops.stack(s, "cs", [ctx, sd], at=s.right_of(ctx, gap=2), label="[ctx; sd]")
        zc = ops.matmul(s, "zc", "Wc", cs, label="zc = Wc·[ctx; sd]")
        ops.tanh(s, "att", zc, role="output", label="att = tanh(zc)")
    return alpha


def _stack_column(s, name, X, j, h_prev, at, label=None):
    """[x; h]: copies of column j of X and of the previous hidden state."""
    n = X.rows

    def cell(i, _):
        return X.cell(i, j) if i < n else h_prev.cell(i - n, 0)

    return s.add(name, (n + h_prev.rows, 1), at, "computed", label or name, formula=cell)


def instructive(d, p) -> bool:
    """tanh readable (every pre-activation within ±2.5) and attention that is neither one-hot nor
    uniform: the largest weight below 0.9 and clearly above the smallest."""
    ref = reference(d, p)
    Z = np.hstack([ref[f"z_{t}"] for t in range(1, d.T + 1)] + [ref["zd"], ref["zc"]])
    a = ref["alpha"]
    return bool(np.abs(Z).max() < 2.5 and a.max() < 0.9 and a.max() - a.min() > 0.1)


def _zeros(rng, size, dims):
    return np.zeros(size)


EXERCISE = Exercise(
    name="seq2seq-attention",
    title="Sequence to sequence with dot-product attention",
    dims={"d_in": "input features (source and decoder input)", "d_h": "hidden units", "T": "source length"},
    presets={
        "small": dict(d_in=2, d_h=2, T=3),
        "medium": dict(d_in=3, d_h=3, T=4),
        "large": dict(d_in=4, d_h=4, T=6),
    },
    givens=[
        Given("X", ("d_in", "T"), low=-2, high=2, describe="source sequence"),
        Given("h0", ("d_h", 1), make=_zeros, describe="encoder initial state"),
        Given("Wx", ("d_h", "d_in"), role="weight", low=-1, high=1),
        Given("Wh", ("d_h", "d_h"), role="weight", low=-1, high=1),
        Given("b", ("d_h", 1), role="bias", low=-1, high=1),
        Given("y0", ("d_in", 1), low=-1, high=1, describe="decoder input (start token embedding)"),
        Given("Ux", ("d_h", "d_in"), role="weight", low=-1, high=1),
        Given("Uh", ("d_h", "d_h"), role="weight", low=-1, high=1),
        Given("c", ("d_h", 1), role="bias", low=-1, high=1),
        Given("Wc", ("d_h", lambda d: 2 * d.d_h), role="weight", low=-1, high=1),
    ],
    reference=reference,
    layout=layout,
    limits={"d_in": (1, 8), "d_h": (1, 8), "T": (2, 10)},
    accept=instructive,
)
