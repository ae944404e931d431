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

from xlhand.layout import BIAS, DOWN, EVERYTHING, GRADIENT, LEFT, OUTPUT, WEIGHT, fx, ops
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
    """The forward pass down a spine of blocks (a patch a column), the weights at their left, and
    nine steps (a header short enough to leave room under it for the video on page 1). Beside the
    spine, where no weights stand: the video left of its patches, the conditions left of Latent …
    [scale, shift], e^S left of A, the noise target left of dPred, the loss left of Denoised, the
    frames left of Out. The blocks of a stage follow each other without a gap row (each one's label
    row is the gap); a gap row is left only where a page may end (before Latent, Cond_q and dPred),
    since blocks that touch are never parted by a page break."""
    n, g = d.latent, _gap(d)
    pt, ph, pw = geometry(d)
    with s.step(_STEP_PATCHES.format(ph=ph, pw=pw, pt=pt, frames=d.patches * pt)):
        video = s.given("Video", label="Video")
        patches = s.add("Patches", (d.p_dim, d.patches), label="Patches (a patch a column)",
                        formula=lambda i, j: video.cell(*pixel(d, i, j)))
    with s.step(_STEP_ENCODER):
        Zlat = ops.linear(s, "Zlat", "We", patches, "be", label="Zlat = We·Patches + be")
        s.place(Zlat, below=patches, gap=g)
        s.next_to(video, s.blocks["We"], LEFT, align="end")  # the video left of its patches, over the weights
        latent = ops.relu(s, "Latent", Zlat, label="Latent = ReLU(Zlat)")
        s.place(latent, below=Zlat)  # a gap row: where page 1 may end
        noise = s.given("Noise", label="Noise (for step t)")
        noised = ops.elementwise(s, "Noised", fx.add, [noise, latent], label="Noised = Latent + Noise")
        s.place(noise, below=latent, gap=g)
        s.place(noised, below=noise, gap=g)
    with s.step(_STEP_CONDITIONS):
        conditions, SS = _conditions(s, d, g)
        s.next_to(conditions, latent, LEFT, gap=g)  # left of Latent … Noised, SS at the bottom
        scale = ops.copy_rows(s, "scale", SS, 0, n, label="scale")
        shift = ops.copy_rows(s, "shift", SS, n, 2 * n, label="shift")
        s.place(scale, below=noised, gap=g)  # [scale; shift] taken apart right of it, over Cond
        s.place(shift, right_of=scale)
    with s.step(_STEP_ADALN):
        cond = ops.elementwise(s, "Cond", lambda x, a, b: f"{x}*{a}+{b}", [noised, scale, shift],
                               label="Cond = Noised ⊙ scale + shift")
        s.place(cond, below=s.together([scale, shift]), in_columns_of=noised, gap=g)
    with s.step(_STEP_SCORES):
        QK = ops.matmul(s, "QK", "Wqk", cond, label="QK = Wqk·Cond")
        s.place(QK, below=cond, gap=g)
        query = ops.carry(s, "Cond_q", cond, label="Cond")
        s.place(query, below=QK)  # a gap row: where a page may end
        S = ops.scores(s, "S", QK, query, label="S = QKᵀ·Cond")
        s.place(S, below=query, gap=g)
    with s.step(_STEP_ATTENTION):
        A = ops.heat(ops.softmax(s, "A", S, direction=DOWN))
        over = [S] + ([s.blocks["A_max"]] if "A_max" in s.blocks else [])  # and the max row (option stable)
        s.next_to(A, s.together(over), DOWN, gap=g)  # A under S, e^S and its Σ row left of A (under QKᵀ)
        s.next_to(s.together([s.blocks["A_exp"], s.blocks["A_sum"]]), A, LEFT, align="start")
        values = ops.carry(s, "Cond_v", cond, label="Cond")
        s.place(values, below=EVERYTHING)
        att = ops.matmul(s, "Att", values, A, label="Att = Cond·A")
        s.place(att, below=s.together([A, s.blocks["A_sum"]]), in_columns_of=A, gap=g)
        s.next_to(values, att, LEFT)
    with s.step(_STEP_FFN):
        pred = ops.linear(s, "PredNoise", "Wf", att, "bf", label="PredNoise = Wf·Att + bf")
        s.place(pred, below=att, gap=g)
    with s.step(_STEP_TRAIN):
        target = ops.carry(s, "Noise_c", noise, label="Noise (target)")
        loss = _loss(s, pred, target)
        dPred = ops.elementwise(s, "dPred", lambda a, b: f"2*({a}-{b})/{ops.absolute(s.blocks['L_N'])}",
                                [pred, target], role=GRADIENT, label="dPred = 2(PredNoise − Noise)/N")
        s.place(dPred, below=pred)  # a gap row: where a page may end
        s.next_to(target, dPred, LEFT, align="end")
    with s.step(_STEP_GENERATE):
        denoised = ops.elementwise(s, "Denoised", fx.sub, [noised, pred], label="Denoised = Noised − PredNoise")
        s.place(denoised, below=dPred, gap=g)
        s.next_to(loss, denoised, LEFT, align="start")
        Zout = ops.linear(s, "Zout", "Wd", denoised, "bd", label="Zout = Wd·Denoised + bd")
        s.place(Zout, below=denoised, gap=g)
        out = ops.relu(s, "Out", Zout, label="Out = ReLU(Zout)")
        s.place(out, below=Zout, gap=g)
        frames = s.add("Frames", video.shape, role=OUTPUT, label="Frames (generated)",
                       formula=lambda r, col: out.cell(*_patch_pixel(d, r, col)))
        # left of the decoder's weights (from their label down), as the video stands left of the encoder's
        s.next_to(frames, s.together([s.blocks["Wd"], out]), LEFT)
        s.note_below(frames, "frozen (blue): We, be, Wd, bd")


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


def _gap(d) -> int:
    """Empty rows between the blocks of a stage: none (each block's label row is the gap) where the
    attention stage, S and A (patches × patches) with Cond over them and Att, PredNoise under them,
    fits a landscape page that way (up to 6 patches); one on a larger sheet, so that its pages may
    break between any two blocks (blocks that touch are never parted)."""
    return 0 if d.patches <= 6 else 1


def _conditions(s, d, g):
    """text, t and its bits, c = [text; t_bits] over [scale; shift] = Wc·c + bc: one group."""
    with s.group() as conditions:
        text = s.given("text", label="text")
        t = s.given("t", label="t")
        s.place(t, right_of=text)
        t_bits = s.add("t_bits", (T_BITS, 1), label="t_bits", formula=lambda i, j: _bit(t, t_bits, i))
        s.place(t_bits, below=t)
        c = ops.stack(s, "c", [text, t_bits], label="c")
        s.place(c, right_of=t)
        SS = ops.linear(s, "SS", "Wc", c, "bc", label="[scale; shift]")
        s.place(SS, below=s.together([c, s.blocks["c_ones"], t_bits]), in_columns_of=c, gap=g)
    return conditions, SS


def _loss(s, pred, target):
    """N and L = mean((PredNoise − Noise)²) side by side, the learnable weights noted under them."""
    with s.group() as loss:
        L, _ = ops.mse_loss(s, "L", pred, target, label="L = mean((PredNoise − Noise)²)")
        s.place(L, below=EVERYTHING)
        s.note_below(L, "learnable: Wc, bc, Wqk, Wf, bf")
    return loss


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
