"""resnet: the reference against the math written again (rows as samples, a loop over the blocks) and
its gradients against finite differences of that forward pass; the default numbers' facts; both head
activations building and verifying; bad input refused."""
from __future__ import annotations

import numpy as np
import pytest
from support import assert_verified, build, finite_difference, rejected_build

from xlhand.model import catalog
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve

EX = catalog.get("resnet")


def forward(p, X, shortcut: bool, act: str):
    """The loss ½‖Y − T‖² of the network, one sample a row (the transposed convention)."""
    x = X.T
    for Wa, ba, Wb, bb in zip(p.Wa, p.ba, p.Wb, p.bb):
        z = np.maximum(x @ Wa.T + ba.T, 0)
        f = z @ Wb.T + bb.T
        x = np.maximum(x + f if shortcut else f, 0)
    logits = x @ p.Wout.T + p.bout.T
    if act == "softmax":
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        y = e / e.sum(axis=1, keepdims=True)
    else:
        y = 1 / (1 + np.exp(-logits))
    return y.T, 0.5 * ((y.T - p.T) ** 2).sum()


def real_numbers(d, seed):
    """Givens of real (not hand-friendly) numbers: no ReLU input is exactly 0, where finite
    differences would straddle the kink."""
    rng = np.random.default_rng(seed)
    n = lambda *shape: rng.normal(size=shape)  # noqa: E731
    return Params(X=n(d.d, d.batch), Wa=n(d.blocks, d.hidden, d.d), ba=n(d.blocks, d.hidden, 1),
                  Wb=0.5 * n(d.blocks, d.d, d.hidden), bb=n(d.blocks, d.d, 1), Wout=0.5 * n(d.n_out, d.d),
                  bout=n(d.n_out, 1), T=rng.integers(0, 2, size=(d.n_out, d.batch)).astype(float))


SIZES = [EX.presets["small"], EX.presets["medium"], EX.presets["large"],
         dict(d=3, blocks=2, hidden=2, batch=3, n_out=2), dict(d=1, blocks=4, hidden=1, batch=2, n_out=1)]


@pytest.mark.parametrize("last_act", ["sigmoid", "softmax"])
@pytest.mark.parametrize("size", SIZES, ids=str)
def test_reference_against_the_math_and_finite_differences(size, last_act):
    d = Dims(size)
    p = real_numbers(d, sum(size.values()))
    ref = EX.reference(d, p, last_act=last_act)
    act = "softmax" if last_act == "softmax" and d.n_out > 1 else "sigmoid"
    for shortcut, y, loss, dx in ((True, "Y", "L", "dX_res"), (False, "Yp", "Lp", "dX_plain")):
        Y, L = forward(p, p.X, shortcut, act)
        np.testing.assert_allclose(ref[y], Y, rtol=1e-12)
        assert ref[loss] == pytest.approx(L, rel=1e-12)
        numeric = finite_difference(lambda X: forward(p, X, shortcut, act)[1], p.X)
        np.testing.assert_allclose(ref[dx], numeric, atol=1e-7)


def test_the_identity_block_is_the_shortcut():
    """S_l = I·R_{l−1} + F_l with F_l = Wb_l·Z_l + bb_l, and the backward dR_{l−1} = I·dS_l + Wa_lᵀ·dA_l."""
    r = resolve(EX, size="medium", seed=2)
    ref, p = EX.reference(r.dims, r.params), r.params
    I = np.eye(r.dims.d)
    for l in (1, 2):
        R = p.X if l == 1 else ref[f"R_{l - 1}"]
        np.testing.assert_allclose(ref[f"F_{l}"], p.Wb[l - 1] @ ref[f"Z_{l}"] + p.bb[l - 1], rtol=1e-12)
        np.testing.assert_allclose(I @ ref[f"Rs_{l}"] + ref[f"F_{l}"], ref[f"S_{l}"], rtol=1e-12)
        np.testing.assert_allclose(ref[f"Rs_{l}"], R, rtol=1e-12)
        dR = ref["dX_res"] if l == 1 else ref[f"dR_{l - 1}"]
        np.testing.assert_allclose(I @ ref[f"dS_{l}"] + p.Wa[l - 1].T @ ref[f"dA_{l}"], dR, rtol=1e-12)


def test_default_numbers_show_the_shortcut_carrying_the_gradient():
    r = resolve(EX)
    assert set(r.sources.values()) == {"template"}
    ref = EX.reference(r.dims, r.params)
    assert ref["Fp_1"].ravel().tolist() == [-1.5, -1.5, 0.25, -1]  # the plain block shuts three units
    assert ref["H_1"].ravel().tolist() == [0, 0, 0.25, 0]
    np.testing.assert_allclose(ref["dX_res"].ravel(), [0, -0.0731, 0.0731, -0.0731], atol=5e-5)
    np.testing.assert_allclose(ref["dX_plain"].ravel(), [-0.012, 0, -0.006, 0], atol=5e-4)
    assert np.abs(ref["dX_res"]).max() > 5 * np.abs(ref["dX_plain"]).max()
    assert EX.accept(r.dims, r.params)


@pytest.mark.parametrize("last_act,size", [("sigmoid", "small"), ("softmax", "small"), ("softmax", "medium")])
def test_each_head_builds_and_verifies(tmp_path, last_act, size):
    path = build(tmp_path, "resnet", size=size, options={"last_act": last_act})
    assert_verified(path)


def test_one_output_uses_the_sigmoid_whatever_the_option():
    r = resolve(EX, options={"last_act": "softmax"})
    assert r.dims.n_out == 1
    ref = EX.reference(r.dims, r.params, last_act="softmax")
    np.testing.assert_allclose(ref["Y"], 1 / (1 + np.exp(-ref["Zout"])))


@pytest.mark.parametrize("bad", ["tanh", "Softmax"])
def test_an_unknown_head_is_refused(tmp_path, bad):
    line = rejected_build(tmp_path, "resnet", "--opt", f"last_act={bad}")
    assert "last_act" in line and "sigmoid" in line and "softmax" in line


def test_a_weight_of_the_wrong_shape_is_refused(tmp_path):
    line = rejected_build(tmp_path, "resnet", params={"values": {"Wb": [[[1, 2], [3, 4]]]}})
    assert "'Wb'" in line and "1x4x3" in line


def test_stacked_weights_give_one_block_per_residual_block():
    r = resolve(EX, size="large")
    assert Dims(r.dims).blocks == 3
    ref = EX.reference(r.dims, r.params)
    assert {f"S_{l}" for l in (1, 2, 3)} <= set(ref) and {f"dR_{l}" for l in (1, 2, 3)} <= set(ref)
