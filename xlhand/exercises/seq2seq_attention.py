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
from .rnn import recur


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
    enc = recur(s, d, X, step=lambda t: f"Encoder t = {t}: h_{t} = tanh([Wx | Wh | b]·[x_{t}; h_{t - 1}; 1])",
                collect="Encoder states side by side: H = [h_1 … h_T]")
    H, u_row, z_row, h_row = enc.H, enc.u_row, enc.z_row, enc.h_row

    dec = enc.cols[d.T] + n_u + 4  # the decoder column: room for [Ux | Uh | c] at its left
    with s.step("Decoder step: sd = tanh([Ux | Uh | c]·[y0; h_T; 1]), starting from the last encoder state"):
        y0 = s.given("y0", at=(0, dec), label="y0 (decoder input)")
        ud = ops.column_over_state(s, "ud", y0, 0, enc.last, (u_row, dec), label="ud = [y0; h_T]")
        zd = ops.linear_parts(s, "zd", ["Ux", "Uh"], ud, "c", at=(z_row, dec), label="zd")
        sd = ops.tanh(s, "sd", zd, at=(h_row, dec), role="output", label="sd (decoder state)")
    with s.step("Attention: scores e = Hᵀ·sd, weights alpha = softmax(e), context ctx = H·alpha"):
        e, alpha, ctx = ops.attention(s, ("e", "alpha", "ctx"), sd, H, H, at=(s.lowest_row() + 3, dec))
    with s.step("Attentional state: att = tanh(Wc·[ctx; sd])"):
        cs = ops.stack(s, "cs", [ctx, sd], at=s.right_of(ctx, gap=2), label="[ctx; sd]")
        zc = ops.matmul(s, "zc", "Wc", cs, label="zc = Wc·[ctx; sd]")
        ops.tanh(s, "att", zc, role="output", label="att = tanh(zc)")
    return alpha


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
