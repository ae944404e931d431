"""dit: patches against a reshape of the video into frames, the rest of the reference against the
walkthrough written step by step with loops, the gradient against finite differences, the seed's
facts in the default numbers, a step t that does not fit its code, and the workbook verifying."""
from __future__ import annotations

import math

import numpy as np
import pytest
from support import assert_verified, build, finite_difference, rejected_build

from xlhand.model import catalog
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve

EX = catalog.get("dit")


def patchify(video, patches, pt, ph, pw):
    """The video (a band of ph rows per patch, its pt frames side by side) as an array
    (patch, frame, row, col), each patch flattened frame by frame, row by row: a reshape, not a
    loop over pixels."""
    clips = video.reshape(patches, ph, pt, pw).transpose(0, 2, 1, 3)
    return clips.reshape(patches, pt * ph * pw).T


def walkthrough(d, p):
    """The seed's steps one by one, with explicit loops for the attention."""
    from xlhand.exercises.dit import geometry

    x = patchify(p.Video, d.patches, *geometry(d))
    noised = np.maximum(p.We @ x + p.be, 0) + p.Noise
    code = [float(b) for b in format(int(p.t), "02b")]
    c = np.array([*p.text[:, 0], *code])[:, None]
    ss = p.Wc @ c + p.bc
    cond = noised * ss[:d.latent] + ss[d.latent:]
    att = np.zeros_like(cond)
    for i in range(d.patches):  # query patch i
        scores = [float((p.Wqk @ cond[:, j]) @ cond[:, i]) for j in range(d.patches)]
        top = max(scores)
        weights = [math.exp(v - top) for v in scores]
        att[:, i] = sum(w * cond[:, j] for j, w in enumerate(weights)) / sum(weights)
    pred = p.Wf @ att + p.bf
    loss = float(((pred - p.Noise) ** 2).mean())
    out = np.maximum(p.Wd @ (noised - pred) + p.bd, 0)
    return dict(Patches=x, Cond=cond, Att=att, PredNoise=pred, L=loss, Out=out, c=c)


@pytest.mark.parametrize("dims", [dict(patches=4, p_dim=4, latent=2, cond=5),
                                  dict(patches=6, p_dim=4, latent=3, cond=5),
                                  dict(patches=8, p_dim=8, latent=4, cond=6),
                                  dict(patches=3, p_dim=6, latent=2, cond=3),  # 2×3×1 patches
                                  dict(patches=2, p_dim=5, latent=1, cond=4)])  # 1×5×1 patches
def test_reference_equals_the_walkthrough(dims):
    d = Dims(dims)
    from xlhand.exercises.dit import pixel_columns, pixel_rows, to_frames

    rng = np.random.default_rng(2)
    text = d.cond - 2
    p = Params(Video=rng.normal(size=(pixel_rows(d), pixel_columns(d))), We=rng.normal(size=(d.latent, d.p_dim)),
               be=rng.normal(size=(d.latent, 1)), Noise=rng.normal(size=(d.latent, d.patches)),
               text=rng.normal(size=(text, 1)), t=2.0, Wc=rng.normal(size=(2 * d.latent, d.cond)),
               bc=rng.normal(size=(2 * d.latent, 1)), Wqk=rng.normal(size=(d.latent, d.latent)) / 4,
               Wf=rng.normal(size=(d.latent, d.latent)), bf=rng.normal(size=(d.latent, 1)),
               Wd=rng.normal(size=(d.p_dim, d.latent)), bd=rng.normal(size=(d.p_dim, 1)))
    ref = EX.reference(d, p)
    steps = walkthrough(d, p)
    for name, value in steps.items():
        np.testing.assert_allclose(ref[name], value, rtol=1e-10, atol=1e-12, err_msg=name)
    np.testing.assert_array_equal(to_frames(d, ref["Patches"]), p.Video)  # frames are the inverse of patches
    np.testing.assert_allclose(ref["Frames"], to_frames(d, steps["Out"]), rtol=1e-12)
    assert ref["A"].sum(axis=0) == pytest.approx(np.ones(d.patches))


def test_dpred_is_the_gradient_of_the_loss():
    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    grad = finite_difference(lambda pred: ((pred - r.params.Noise) ** 2).mean(), ref["PredNoise"])
    np.testing.assert_allclose(ref["dPred"], grad, atol=1e-7)


def test_the_default_numbers_show_the_seed_facts():
    r = resolve(EX)
    assert set(r.sources.values()) == {"template"}
    p, ref = r.params, EX.reference(r.dims, r.params)
    assert r.dims.patches == 4 and r.dims.p_dim == 4 and r.dims.latent == 2  # 4 patches of 2×2×1 → 2 dims
    assert p.Video.shape == (8, 2)  # four frames of 2×2 pixels, one under the other
    assert p.text[:, 0].tolist() == [0, 1, -1] and p.t == 3 and ref["t_bits"][:, 0].tolist() == [1, 1]
    assert ref["scale"][:, 0].tolist() == [2, -1] and ref["shift"][:, 0].tolist() == [-1, 5]
    assert (ref["Zlat"] < 0).any() and (ref["Zlat"] > 0).any() and (ref["Zout"] < 0).any()
    assert 0.2 < ref["A"].max() < 0.9 and ref["L"] > 0


@pytest.mark.parametrize("t", ["4", "-1", "1.5"])
def test_a_step_that_does_not_fit_the_code_is_refused(tmp_path, t):
    line = rejected_build(tmp_path, "dit", params=f"exercise: dit\nvalues:\n  t: {t}\n")
    assert "'t'" in line and "2-bit" in line


def test_builds_verify(tmp_path):
    assert_verified(build(tmp_path, "dit"))
    assert_verified(build(tmp_path, "dit", size="large", seed=3), ("ironcalc",))


def test_small_reads_cond_where_it_stands_and_draws_every_block_of_the_walkthrough():
    """At size small page 2 stands in two columns: Att = Cond·A takes Cond itself as its left operand
    (Att level with it, A above Att), S takes it as its input above; no copy of Cond or of Noise, and
    the ReLU layers are one product each (no Zlat, Zout)."""
    from xlhand.build import key_sheet

    sheet = key_sheet(resolve(EX, size="small"))
    blocks = sheet.blocks
    named = ["Patches", "Latent", "Noised", "t_bits", "c", "scale", "shift", "Cond", "S", "A", "Att", "PredNoise", "L",
             "dPred", "Denoised", "Out", "Frames"]  # the blocks docs/exercises.md names
    assert all(blocks[name].formula is not None for name in named)
    assert not {"Cond_q", "Cond_v", "Noise_c", "Zlat", "Zout"} & set(blocks)
    att, cond, A = blocks["Att"], blocks["Cond"], blocks["A"]
    assert att.extra["operands"][:2] == ["Cond", "A"] and "Cond" in blocks["S"].extra["operands"]
    assert att.top == cond.top and cond.right < att.left and A.bottom < att.top and A.left == att.left
