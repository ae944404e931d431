"""seq2seq-attention: an RNN encoder, one decoder step, and dot-product attention (Luong et al. 2015).

Encoder, for t = 1…T: h_t = tanh(Wx·x_t + Wh·h_{t−1} + b), H = [h_1 … h_T].
Decoder (first step), starting from the encoder's last state:
sd = tanh(Ux·y0 + Uh·h_T + c), y0 being the decoder's input (the start token's embedding).
Attention (dot score): e = Hᵀ·sd (one score per source position), alpha = softmax(e),
context ctx = H·alpha; attentional state att = tanh(Wc·[ctx; sd]).
On the sheet the encoder runs left to right, one column per source position, with its weights
once at the left as [Wx | Wh | b]; the decoder step stands under it, [Ux | Uh | c] under the
encoder's weights. The attention stands under them (its labels name the blocks, the steps give the
formulas: a small sheet prints on portrait pages, eleven columns wide).
"""
from __future__ import annotations

import numpy as np

from xlhand.model.npref import rnn_states, softmax_columns as softmax
from xlhand.layout import paper
from xlhand.layout import BIAS, COMPUTED, DOWN, OUTPUT, UP, WEIGHT, ops
from xlhand.model.exercise import Exercise, Source, STABLE_SOFTMAX
from xlhand.model.givens import Given


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
    X = s.given("X", label="X (source, one column per position)")
    steps, hs = ops.tanh_rnn(s, X, "h0", ["Wx", "Wh"], "b", step=_describe)
    with s.group() as decoder:
        with s.step("Decoder step: sd = tanh([Ux | Uh | c]·[y0; h_T; 1]), starting from the last encoder state"):
            y0 = s.given("y0", label="y0 (decoder input)")
            ud = ops.column_over_state(s, "ud", y0, 0, hs[-1], label="ud = [y0; h_T]", row_labels=("y", "h"))
            s.place(ud, below=y0)
            zd = ops.linear_parts(s, "zd", ["Ux", "Uh"], ud, "c", label="zd")
            sd = ops.tanh(s, "sd", zd, role=OUTPUT, label="sd (decoder state)")
            s.place(sd, below=zd)
    # the encoder steps in one row (no gap: the 1s of a step mark the column before it), the decoder
    # step under them, its weights under the encoder's
    grid = ops.flow(s, steps, gap=0)
    s.next_to(decoder, grid, DOWN)
    ops.chain_arrows(s, hs)
    s.next_to(X, grid, UP)
    # a sheet wider than a portrait page prints on landscape pages, short ones: att right of zc there,
    # so that the attention (H to att) fits one page's height
    wide = s.together([grid, decoder]).cols > paper.narrowest_page_columns(landscape=False)
    with s.group() as attention:
        with s.step("Encoder states side by side: H = [h_1 … h_T]"):
            H = ops.copy_columns(s, "H", hs, role=COMPUTED, label="H = [h_1 … h_T]")
        with s.step("Attention: scores e = Hᵀ·sd, weights alpha = softmax(e), context ctx = H·alpha"):
            query = ops.carry(s, "e_Q", sd, label="sd")  # sd above e, Hᵀ left of it
            # a stable softmax's e^(e − max) is a column wider than e^e: on a portrait-wide sheet sd
            # stands against H, so that the softmax and alpha still end in the page's last column
            s.place(query, right_of=H, **({"gap": 0} if s.settings.get("stable") and not wide else {}))
            e = ops.scores(s, "e", H, query, label="e = Hᵀ·sd")
            alpha, ctx = ops.attend(s, ("alpha", "ctx"), e, H, v_label="H",
                                    labels=("alpha", "ctx"))
        with s.step("Attentional state: att = tanh(Wc·[ctx; sd])"):
            cs = ops.stack(s, "cs", [ctx, sd], label="[ctx; sd]")
            s.place(cs, below=ctx)
            zc = ops.matmul(s, "zc", "Wc", cs, label="zc")
            att = ops.tanh(s, "att", zc, role=OUTPUT, label="att")
            if wide:
                s.place(att, right_of=zc)
            else:
                s.place(att, below=zc)
    s.next_to(attention, s.together([grid, decoder]), DOWN)
    return alpha


def _describe(t: int) -> str:
    if t == 1:
        return "Encoder t = 1: u_1 = [x_1; h_0], z_1 = [Wx | Wh | b]·[u_1; 1], h_1 = tanh(z_1)"
    return f"Encoder t = {t}: h_{t} = tanh([Wx | Wh | b]·[x_{t}; h_{t - 1}; 1])"


def instructive(d, p) -> bool:
    """tanh readable (every pre-activation within ±2.5) and attention that is neither one-hot nor
    uniform: the largest weight below 0.9 and clearly above the smallest."""
    ref = reference(d, p)
    Z = np.hstack([ref[f"z_{t}"] for t in range(1, d.T + 1)] + [ref["zd"], ref["zc"]])
    a = ref["alpha"]
    return bool(np.abs(Z).max() < 2.5 and a.max() < 0.9 and a.max() - a.min() > 0.1)


def _zeros(rng, size, dims):
    """Zeros (the encoder starts from rest)."""
    return np.zeros(size)


def _two_d_h(d):
    return 2 * d.d_h


def _weight(name, cols, row_sum):
    return Given(name, ("d_h", cols), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=row_sum)


def _bias(name):
    return Given(name, ("d_h", 1), role=BIAS, low=-0.5, high=0.5, step=0.5)


EXERCISE = Exercise(
    name="seq2seq-attention",
    title="Sequence to sequence with dot-product attention",
    source=Source(
        paper="Luong, Pham & Manning (2015), Effective approaches to attention-based neural machine translation, "
              "EMNLP",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Seq2Seq with Attention"),
    dims={"d_in": "input features (source and decoder input)", "d_h": "hidden units", "T": "source length"},
    presets={
        "small": dict(d_in=2, d_h=2, T=3),
        "medium": dict(d_in=3, d_h=3, T=4),
        "large": dict(d_in=4, d_h=4, T=6),
    },
    # Fresh numbers keep every tanh readable by construction: inputs and states within ±1, weight
    # rows by halves with absolute sums at most 1 (Wx, Wh, Ux, Uh) and 2 (Wc), |b|, |c| <= 0.5, so
    # every pre-activation lies strictly within ±2.5.
    givens=[
        Given("X", ("d_in", "T"), low=-1, high=1, describe="source sequence"),
        Given("h0", ("d_h", 1), make=_zeros, describe="encoder initial state"),
        _weight("Wx", "d_in", 1),
        _weight("Wh", "d_h", 1),
        _bias("b"),
        Given("y0", ("d_in", 1), low=-1, high=1, describe="decoder input (start token embedding)"),
        _weight("Ux", "d_in", 1),
        _weight("Uh", "d_h", 1),
        _bias("c"),
        _weight("Wc", _two_d_h, 2),
    ],
    reference=reference,
    layout=layout,
    limits={"d_in": (1, 8), "d_h": (1, 8), "T": (2, 10)},
    accept=instructive,
    options=[STABLE_SOFTMAX],
)
