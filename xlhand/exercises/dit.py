"""dit: a diffusion transformer (as in Sora) by hand: one training step and one denoising step.

The seed notes' walkthrough. A video is frames of ph × pw pixels; a spacetime patch is pt consecutive
frames, p_dim = pt·ph·pw pixels (p_dim 4: 2×2×1; 8: 2×2×2; an even p_dim not divisible by 4:
2 × p_dim/2 × 1; an odd one: 1 × p_dim × 1). On the sheet the video is a band of ph rows per patch,
its pt frames side by side (patch j: rows j·ph … j·ph + ph − 1).
1. Patches (p_dim × patches): column j is patch j, its pixels frame by frame, row by row.
2. Visual encoder (frozen): Latent = ReLU(We·Patches + be); add the noise of step t: Noised = Latent + Noise.
3. Conditions: t_bits = the 2-bit binary code of t (t = 3 → [1, 1]), c = [text; t_bits];
   [scale; shift] = Wc·c + bc (rows 1…latent the scale, the rest the shift).
4. Adaptive layer norm, as the seed simplifies it: Cond = Noised ⊙ scale + shift (each row of Noised
   scaled and shifted, the same for every patch).
5. Self-attention without values, as in the seed: S = (Wqk·Cond)ᵀ·Cond, A = softmax of each column,
   Att = Cond·A.
6. Pointwise feed-forward: PredNoise = Wf·Att + bf (the predicted noise).
7. Train: L = mean((PredNoise − Noise)²) over the N = latent·patches entries, dPred = 2(PredNoise − Noise)/N.
   Learnable: Wc, bc, Wqk, Wf, bf; frozen: the visual encoder We, be and decoder Wd, bd.
8. Generate: Denoised = Noised − PredNoise; visual decoder (frozen) Out = ReLU(Wd·Denoised + bd);
   Frames = the patches put back into frames (the inverse of step 1).
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import BIAS, DOWN, EVERYTHING, GRADIENT, LEFT, OUTPUT, RIGHT, UP, WEIGHT, fx, ops, paper
from xlhand.model.exercise import Exercise, Source, STABLE_SOFTMAX
from xlhand.model.npref import has_both_signs, relu, softmax_columns
from xlhand.model.givens import Given, Params

T_BITS = 2  # the timestep code: t = 0…3 in two bits, most significant first
WQK_SCALES = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01)


# --- the video's geometry ----------------------------------------------------------------------
def geometry(d) -> tuple[int, int, int]:
    """(pt, ph, pw): frames per patch, pixel rows and pixel columns of a frame, for p_dim."""
    if d.p_dim % 4 == 0:
        return d.p_dim // 4, 2, 2
    if d.p_dim % 2 == 0:
        return 1, 2, d.p_dim // 2
    return 1, 1, d.p_dim


def pixel_rows(d) -> int:
    """The video's height: a band of ph pixel rows per patch."""
    return d.patches * geometry(d)[1]


def pixel_columns(d) -> int:
    """The video's width: the pt frames of a patch side by side."""
    pt, ph, pw = geometry(d)
    return pt * pw


def pixel(d, i: int, j: int) -> tuple[int, int]:
    """Where pixel i of patch j (frame by frame, row by row) stands in the video: (row, column)."""
    pt, ph, pw = geometry(d)
    f, rest = divmod(i, ph * pw)
    r, c = divmod(rest, pw)
    return j * ph + r, f * pw + c


def to_patches(d, video) -> np.ndarray:
    out = np.zeros((d.p_dim, d.patches))
    for i in range(d.p_dim):
        for j in range(d.patches):
            out[i, j] = video[pixel(d, i, j)]
    return out


def to_frames(d, patches) -> np.ndarray:
    out = np.zeros((pixel_rows(d), pixel_columns(d)))
    for i in range(d.p_dim):
        for j in range(d.patches):
            out[pixel(d, i, j)] = patches[i, j]
    return out


def bits(t: float) -> np.ndarray:
    """The binary code of t, most significant bit first, as a column."""
    return np.array([[(int(t) >> (T_BITS - 1 - k)) & 1] for k in range(T_BITS)], dtype=float)


# --- the math ----------------------------------------------------------------------------------
def forward(d, p) -> dict:
    Patches = to_patches(d, p.Video)
    Zlat = p.We @ Patches + p.be
    Latent = relu(Zlat)
    Noised = Latent + p.Noise
    t_bits = bits(p.t)
    c = np.vstack([p.text, t_bits])
    SS = p.Wc @ c + p.bc
    scale, shift = SS[:d.latent], SS[d.latent:]
    Cond = Noised * scale + shift
    QK = p.Wqk @ Cond
    S = QK.T @ Cond
    A = softmax_columns(S)
    return dict(Patches=Patches, Zlat=Zlat, Latent=Latent, Noised=Noised, t_bits=t_bits, c=c, SS=SS, scale=scale,
                shift=shift, Cond=Cond, QK=QK, S=S, A=A)


def reference(d, p):
    out = forward(d, p)
    Att = out["Cond"] @ out["A"]
    PredNoise = p.Wf @ Att + p.bf
    N = PredNoise.size
    L = ((PredNoise - p.Noise) ** 2).sum() / N
    dPred = 2 * (PredNoise - p.Noise) / N
    Denoised = out["Noised"] - PredNoise
    Zout = p.Wd @ Denoised + p.bd
    Out = relu(Zout)
    return dict(out, Att=Att, PredNoise=PredNoise, L=L, dPred=dPred, Denoised=Denoised, Zout=Zout, Out=Out,
                Frames=to_frames(d, Out))


# --- the sheet ---------------------------------------------------------------------------------
def layout(s, d, p):
    """Two pages across a landscape sheet. Page 1: the video, its patches and the frozen encoder
    (weights left of Latent = ReLU(We·Patches + be), written as one product), the noise added under
    them, and the frames the decoder makes at the right edge (step 1 undone, beside the video it
    mirrors). Page 2, two columns: the conditions ([scale; shift] = Wc·c + bc), then Cond with scale
    | shift at its left, QK and S under it in its columns (Cond above both, no copy), the loss and
    dPred at the bottom; at the right the softmax of S down a column, A over Att = Cond·A level with
    Cond (Cond left of it, one block serving three products), then PredNoise, Denoised and Out under
    it. Blocks follow each other without gap rows (each label row is the gap). Where the two
    columns do not fit across a page (sizes medium and large, see ``_beside``), one column: Noise over
    Noised right of the conditions, a copy of Cond over S (a page may end under QK), e^S | A under S,
    Att under A with a copy of Cond at its left, the loss and the decoder under PredNoise (a gap row
    before them), the frames left of the decoder's weights."""
    n = d.latent
    pt, ph, pw = geometry(d)
    beside = _beside(d)
    g = 0 if beside else 1  # gap rows: none where page 2 is planned whole, else a page may end between blocks
    with s.step(_STEP_PATCHES.format(ph=ph, pw=pw, pt=pt, frames=d.patches * pt)):
        video = s.given("Video", label="Video")
        patches = s.add("Patches", (d.p_dim, d.patches), label="Patches (a patch a column)",
                        formula=lambda i, j: video.cell(*pixel(d, i, j)))
    with s.step(_STEP_ENCODER):
        latent = _relu_layer(s, "Latent", "We", patches, "be", weights_gap=0, label="Latent = ReLU(We·Patches + be)")
        s.place(latent, below=patches, gap=0)
        if pixel_columns(d) + 1 + d.p_dim + 1 + d.patches <= paper.narrowest_page_columns(landscape=True):
            s.next_to(video, s.blocks["We"], LEFT, align="end")  # the video left of its patches' weights
        else:  # a wide video over the weights, left of the patches
            s.next_to(video, s.blocks["We"], UP)
        noise = s.given("Noise", label="Noise (for step t)")
        noised = ops.elementwise(s, "Noised", fx.add, [noise, latent], label="Noised = Latent + Noise",
                                arrow=False)
        if beside:  # under Latent, Noise left of it under the encoder's weights
            s.place(noised, below=latent, gap=0)
            s.next_to(noise, noised, LEFT)
        else:  # Noise over Noised, right of the conditions (placed with them)
            s.place(noised, below=noise, gap=0)
    with s.step(_STEP_CONDITIONS):
        conditions, SS = _conditions(s, d, weights_gap=1 if beside else 0)
        s.place(conditions, below=EVERYTHING, gap=g)  # where page 1 ends
        if not beside:
            s.next_to(s.together([noise, noised]), conditions, RIGHT)
        scale = ops.copy_rows(s, "scale", SS, 0, n, label="scale | shift")  # one label over the two columns
        shift = s.add("shift", (n, 1), label="", formula=lambda i, j: SS.cell(n + i, j))
    with s.step(_STEP_ADALN):
        cond = ops.elementwise(s, "Cond", lambda x, a, b: f"{x}*{a}+{b}", [noised, scale, shift],
                               label="Cond = Noised ⊙ scale + shift", arrow=False)
        s.place(shift, left_of=cond, gap=max(1, n - 1))  # room for Wqk and QKᵀ (n columns) under them
        s.place(scale, left_of=shift, gap=0)
        s.next_to(s.together([scale, shift, cond]), conditions, DOWN, gap=0)
    with s.step(_STEP_SCORES):
        QK = ops.matmul(s, "QK", "Wqk", cond, label="QK = Wqk·Cond")
        s.place(QK, below=cond, gap=0)
        if beside:  # Cond above S, QK between
            S = ops.scores(s, "S", QK, cond, label="S = QKᵀ·Cond")
            s.place(S, below=QK, gap=0)
        else:  # a page may end under QK: a copy of Cond over S
            query = ops.carry(s, "Cond_q", cond, label="Cond")
            s.place(query, below=QK)
            S = ops.scores(s, "S", QK, query, label="S = QKᵀ·Cond")
            s.place(S, below=query, gap=0)
    with s.step(_STEP_ATTENTION):
        A = ops.heat(ops.softmax(s, "A", S, direction=DOWN if beside else RIGHT))
        exps = s.together([s.blocks["A_exp"], s.blocks["A_sum"]])
        if beside:  # right of the conditions, A ending where they end: Att level with Cond
            s.next_to(s.together([exps, A]), conditions, RIGHT, align="end")
            att = ops.matmul(s, "Att", cond, A, label="Att = Cond·A")
            s.place(att, at=ops.level(cond, A))
        else:  # under S, e^S from the left edge and A right of it; a copy of Cond left of Att
            over = [s.blocks["S_Kt"], S] + ([s.blocks["A_max"]] if "A_max" in s.blocks else [])  # (option stable)
            s.place(A, below=s.together(over), gap=0, in_columns_of=shift)  # Σ under QKᵀ's edge
            att = ops.matmul(s, "Att", ops.copy_part(s, "Cond_v", cond, label="Cond"), A, label="Att = Cond·A")
            s.place(att, below=s.together([A, exps]), in_columns_of=A, gap=0)
    with s.step(_STEP_FFN):
        pred = ops.linear(s, "PredNoise", "Wf", att, "bf", label="PredNoise = Wf·Att + bf", weights_gap=g)
        s.place(pred, below=att, gap=0)
    with s.step(_STEP_TRAIN):
        L, _ = ops.mse_loss(s, "L", pred, noise, label="L = mean((PredNoise − Noise)²)")
        dPred = ops.elementwise(s, "dPred", lambda a, b: f"2*({a}-{b})/{ops.absolute(s.blocks['L_N'])}",
                                [pred, noise], role=GRADIENT, label="dPred = 2(PredNoise − Noise)/N", arrow=False)
        if beside:  # under S, in the left column
            s.place(L, below=S, gap=g, in_columns_of=s.blocks["S_Kt"])
        else:  # under PredNoise, from the weights' columns
            s.place(L, below=pred, gap=g, in_columns_of=s.blocks["Wf"])
        s.place(dPred, below=s.together([L, s.blocks["L_N"]]), gap=0,
                in_columns_of=s.blocks["L_N"] if beside else pred)
    with s.step(_STEP_GENERATE):
        denoised = ops.elementwise(s, "Denoised", fx.sub, [noised, pred], arrow=False,
                                   label="Denoised" if beside else "Denoised = Noised − PredNoise")
        s.place(denoised, below=pred if beside else dPred, gap=0)
        out = _relu_layer(s, "Out", "Wd", denoised, "bd", weights_gap=g,
                          label="Out = ReLU(·)" if beside else "Out = ReLU(Wd·Denoised + bd)")
        s.place(out, below=denoised, gap=0)
        frames = s.add("Frames", video.shape, role=OUTPUT, label="Frames",
                       formula=lambda r, col: out.cell(*_patch_pixel(d, r, col)))
        if beside:  # at the right edge of page 1: the video the decoder made, across from the one it read
            s.next_to(frames, patches, RIGHT)
        else:  # left of the decoder's weights, as the video stands left of the encoder's
            s.next_to(frames, s.together([s.blocks["Wd"], out]), LEFT)
        s.note_below(s.together([noise, noised] if beside else [frames, s.blocks["Wd"], out]), _NOTE)


_STEP_PATCHES = ("Video → patches: column j of Patches is spacetime patch j ({ph}×{pw}×{pt} pixels; Video: "
                 "{frames} frames, a patch every {ph} rows)")
_STEP_ENCODER = "Visual encoder (frozen): Latent = ReLU(We·Patches + be); add the noise of step t: Noised = Latent + Noise"
_STEP_CONDITIONS = f"Conditions: t_bits = t in {T_BITS} bits, c = [text; t_bits]; [scale; shift] = Wc·c + bc"
_STEP_ADALN = "Adaptive layer norm: Cond = Noised ⊙ scale + shift (each row scaled and shifted)"
_STEP_SCORES = "Queries and keys in one, QK = Wqk·Cond; scores S = QKᵀ·Cond (row j = patch j's key, column i = patch i's query)"
_STEP_ATTENTION = "A = softmax of each column of S; attention pooling Att = Cond·A (no values, as in the seed)"
_STEP_FFN = "Pointwise FFN: PredNoise = Wf·Att + bf (the predicted noise)"
_STEP_TRAIN = "Train: L = mean((PredNoise − Noise)²), dPred = 2(PredNoise − Noise)/N"
_STEP_GENERATE = "Generate: Denoised = Noised − PredNoise, Out = ReLU(Wd·Denoised + bd) (frozen decoder), Frames = step 1 undone"
_NOTE = "learnable: Wc, bc, Wqk, Wf, bf · frozen (blue): We, be, Wd, bd"


def _beside(d) -> bool:
    """Whether the two-page plan holds for these sizes: page 1 (the video, [We | be] against the
    patches, the frames) and page 2's two columns fit across a landscape page, the softmax column is
    no taller than the conditions it stands beside, and the left column (Cond, QK, S with their
    weights, the loss under them) ends left of the right column's weights (Wf | bf, Wd | bd)."""
    width = paper.narrowest_page_columns(landscape=True)
    video = pixel_columns(d)
    page_1 = video + 1 + d.p_dim + 1 + max(d.patches, 4) + 1 + video
    softmax_left = d.cond + 6  # [Wc | bc], the gap for the 1s, c; the label of [scale; shift]; a gap; Σ
    cond_left = 2 + max(1, d.latent - 1)  # scale | shift, then room for Wqk and QKᵀ
    loss_left = cond_left - 1 - d.latent  # QKᵀ's column: N, then L (its label five columns wide)
    left_column = max(cond_left + d.patches + 1, cond_left + 4, loss_left + 8)  # Cond, a gap; labels
    return (page_1 <= width and d.patches <= d.p_dim + 2 + video
            and softmax_left + max(d.patches, 4) <= width
            and 2 * d.patches + 4 <= d.cond + 2 * d.latent + 3
            and left_column <= softmax_left - 1 - d.latent)


def _relu_layer(s, name, W, X, b, weights_gap, label):
    """``name = ReLU(W·X + b)`` as one product (the math states it as one), [W | b] against X
    (``weights_gap`` 0: touching the result, on a narrow page): each cell ReLU of its dot product."""
    return ops.linear_act(s, name, fx.relu, W, X, b, label=label, weights_gap=weights_gap)


def _conditions(s, d, weights_gap):
    """text, t and its bits, c = [text; t_bits] over [scale; shift] = Wc·c + bc: one group."""
    with s.group() as conditions:
        text = s.given("text", label="text")
        t = s.given("t", label="t")
        s.place(t, right_of=text)
        t_bits = s.add("t_bits", (T_BITS, 1), label="t_bits", formula=lambda i, j: _bit(t, t_bits, i))
        s.place(t_bits, below=t)
        c = ops.stack(s, "c", [text, t_bits], label="c")
        s.place(c, right_of=t)
        SS = ops.linear(s, "SS", "Wc", c, "bc", label="[scale; shift]", weights_gap=weights_gap)
        s.place(SS, below=s.together([c, s.blocks["c_ones"], t_bits]), in_columns_of=c, gap=0)
    return conditions, SS


def _bit(t, t_bits, i: int) -> str:
    """Bit i of t (most significant first): 1 when what is left of t after the bits before reaches 2^(…)."""
    weight = 2 ** (T_BITS - 1 - i)
    left = t.cell(0, 0) + "".join(f"-{2 ** (T_BITS - 1 - k)}*{t_bits.cell(k, 0)}" for k in range(i))
    return f"IF({left}>={weight},1,0)"


def _patch_pixel(d, row: int, col: int) -> tuple[int, int]:
    """(pixel, patch) that the video's pixel (row, col) belongs to: the inverse of ``pixel``."""
    pt, ph, pw = geometry(d)
    j, r = divmod(row, ph)
    f, c = divmod(col, pw)
    return (f * ph + r) * pw + c, j


# --- inputs ------------------------------------------------------------------------------------
def check_t(t, dims) -> str | None:
    if t != int(t) or not 0 <= t < 2 ** T_BITS:
        return f"t = {t:g} does not fit the {T_BITS}-bit timestep code: t is a whole number 0…{2 ** T_BITS - 1}"
    return None


def instructive(d, p) -> bool:
    """Both ReLUs pass and shut something, the attention of each patch neither picks one patch nor
    spreads evenly, and the predicted noise misses (a loss to learn from)."""
    ref = reference(d, p)
    if not (has_both_signs(ref["Zlat"]) and has_both_signs(ref["Zout"])):
        return False
    A = ref["A"]
    if d.patches >= 2 and (A.max() > 0.95 or np.ptp(A, axis=0).max() < 0.05):
        return False
    return bool(ref["L"] > 0)


def _centred_bias(weights: str, inputs):
    """A derive for the bias of a ReLU layer: for each unit, the whole number nearest minus the median
    of its pre-activations, so that some of its values fall above 0 and some below."""
    def derive(rng, size, dims, params):
        z = params[weights] @ inputs(dims, params)
        return np.round(-np.median(z, axis=1, keepdims=True)).reshape(size)

    derive.__doc__ = (f"Chosen after {weights}: for each unit the whole number nearest minus the median of its "
                      "pre-activations, so the ReLU passes some patches and shuts others.")
    return derive


def _encoder_input(dims, params):
    return to_patches(dims, params["Video"])


def _decoder_input(dims, params):
    """Denoised, from the givens before the decoder."""
    p = Params(params)
    out = forward(dims, p)
    return out["Noised"] - (p.Wf @ (out["Cond"] @ out["A"]) + p.bf)


def _t(rng, size, dims):
    """A whole number 0…3 (fits the 2-bit code)."""
    return float(rng.integers(0, 2 ** T_BITS))


def _conditioning_bias(rng, size, dims, params):
    """Chosen after Wc: scale entries of ±1 or ±2 and shift entries −2…2 (as the seed's [2, −1] and
    [−1, 5] are small whole numbers), bc = [scale; shift] − Wc·c."""
    c = np.vstack([params["text"], bits(params["t"])])
    n = dims.latent
    target = np.vstack([rng.choice([-2.0, -1.0, 1.0, 2.0], size=(n, 1)), rng.integers(-2, 3, size=(n, 1))])
    return target - params["Wc"] @ c


def _attention_weights(rng, size, dims, params):
    """Chosen after the conditions: entries −1, 0, 1 times the largest of 1, 0.5, 0.2, 0.1, 0.05, 0.02,
    0.01 that keeps every column of scores within a spread of 3 (softmax then neither picks one patch
    nor spreads evenly)."""
    M = rng.integers(-1, 2, size=size).astype(float)
    if not M.any():
        M[0, 0] = 1.0
    cond = forward(dims, Params(params, Wqk=M))["Cond"]
    S = (M @ cond).T @ cond
    spread = np.ptp(S, axis=0).max() if S.shape[0] > 1 else 0.0
    factor = next((f for f in WQK_SCALES if f * spread <= 3), WQK_SCALES[-1])
    return M * factor


EXERCISE = Exercise(
    name="dit",
    title="A diffusion transformer (Sora): one training step and one denoising step",
    source=Source(
        paper="Peebles & Xie (2023), Scalable diffusion models with transformers, ICCV; OpenAI (2024), "
              "Sora technical report",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Sora"),
    dims={"patches": "spacetime patches", "p_dim": "pixels per patch", "latent": "latent size",
          "cond": "condition size (a text embedding of cond − 2 and the 2-bit timestep code)"},
    presets={
        "small": dict(patches=4, p_dim=4, latent=2, cond=5),
        "medium": dict(patches=6, p_dim=4, latent=3, cond=5),
        "large": dict(patches=8, p_dim=8, latent=4, cond=6),
    },
    # Fresh numbers: small whole-number pixels, weights and noise; encoder and decoder biases that
    # split their units' values; conditions that give small whole-number scales and shifts; and
    # attention weights scaled to keep the scores readable.
    givens=[
        Given("Video", (pixel_rows, pixel_columns), low=0, high=3,
              describe="the frames: a band of ph pixel rows per patch, its pt frames side by side"),
        Given("We", ("latent", "p_dim"), low=-1, high=1, row_sum=3, describe="visual encoder (frozen)"),
        Given("be", ("latent", 1), derive=_centred_bias("We", _encoder_input), describe="its bias (frozen)"),
        Given("Noise", ("latent", "patches"), low=-1, high=1, describe="the noise sampled for step t"),
        Given("text", (lambda d: d.cond - T_BITS, 1), low=-1, high=1, describe="the prompt's embedding"),
        Given("t", (), make=_t, check=check_t, describe="the diffusion step, 0…3 (its 2-bit code is in c)"),
        Given("Wc", (lambda d: 2 * d.latent, "cond"), role=WEIGHT, low=-1, high=1, row_sum=2,
              describe="conditioning: rows 1…latent give the scale, the rest the shift"),
        Given("bc", (lambda d: 2 * d.latent, 1), role=BIAS, derive=_conditioning_bias),
        Given("Wqk", ("latent", "latent"), role=WEIGHT, derive=_attention_weights,
              describe="query-key weights (scores S = (Wqk·Cond)ᵀ·Cond)"),
        Given("Wf", ("latent", "latent"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5,
              describe="pointwise feed-forward"),
        Given("bf", ("latent", 1), role=BIAS, low=-1, high=1),
        Given("Wd", ("p_dim", "latent"), low=-1, high=1, describe="visual decoder (frozen)"),
        Given("bd", ("p_dim", 1), derive=_centred_bias("Wd", _decoder_input), describe="its bias (frozen)"),
    ],
    reference=reference,
    layout=layout,
    limits={"patches": (2, 16), "p_dim": (1, 16), "latent": (1, 8), "cond": (3, 12)},
    accept=instructive,
    options=[STABLE_SOFTMAX],
)
