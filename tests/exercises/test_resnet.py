"""resnet: the reference against the math written again (rows as samples, a loop over the blocks) and
its gradients against finite differences of that forward pass; the default numbers' facts; both head
activations building and verifying; a hidden size per block; a network with no head (the
activation of the last block's output); bad input refused."""
from __future__ import annotations

import numpy as np
import pytest
from support import assert_verified, build, finite_difference, rejected_build

from xlhand.model import catalog
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve

EX = catalog.get("resnet")


def forward(p, X, shortcut: bool, act: str, head: bool = True):
    """The loss ½‖Y − T‖² of the network, one sample a row (the transposed convention); without
    ``head`` the last block's output itself goes into the activation."""
    x = X.T
    for Wa, ba, Wb, bb in zip(p.Wa, p.ba, p.Wb, p.bb):
        z = np.maximum(x @ Wa.T + ba.T, 0)
        f = z @ Wb.T + bb.T
        x = np.maximum(x + f if shortcut else f, 0)
    logits = x @ p.Wout.T + p.bout.T if head else x
    if act == "softmax":
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        y = e / e.sum(axis=1, keepdims=True)
    else:
        y = 1 / (1 + np.exp(-logits))
    T = p.T if head else p.Td
    return y.T, 0.5 * ((y.T - T) ** 2).sum()


def real_numbers(d, seed):
    """Givens of real (not hand-friendly) numbers: no ReLU input is exactly 0, where finite
    differences would straddle the kink."""
    rng = np.random.default_rng(seed)
    n = lambda *shape: rng.normal(size=shape)  # noqa: E731
    hs = [d[f"h{l}"] for l in range(1, d.blocks + 1)]
    return Params(X=n(d.d, d.batch), Wa=[n(h, d.d) for h in hs], ba=[n(h, 1) for h in hs],
                  Wb=[0.5 * n(d.d, h) for h in hs], bb=[n(d.d, 1) for h in hs], Wout=0.5 * n(d.n_out, d.d),
                  bout=n(d.n_out, 1), T=rng.integers(0, 2, size=(d.n_out, d.batch)).astype(float),
                  Td=rng.integers(0, 2, size=(d.d, d.batch)).astype(float))


def sizes(d, blocks, hidden, batch, n_out):
    hs = list(hidden) if isinstance(hidden, tuple) else [hidden] * blocks
    hs += [1] * (4 - len(hs))
    return dict(d=d, blocks=blocks, batch=batch, n_out=n_out, **{f"h{l}": h for l, h in enumerate(hs, start=1)})


SIZES = [EX.presets["small"], EX.presets["medium"], EX.presets["large"],
         sizes(d=3, blocks=2, hidden=2, batch=3, n_out=2), sizes(d=1, blocks=4, hidden=1, batch=2, n_out=1),
         sizes(d=3, blocks=3, hidden=(2, 5, 1), batch=2, n_out=2), sizes(d=2, blocks=4, hidden=(1, 3, 2, 4), batch=1, n_out=1)]


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


# the formulas engine loads about 3 ms a formula: it checks the small sheets, IronCalc every size
ENGINES_AT = {"small": ("ironcalc", "formulas"), "medium": ("ironcalc",)}


@pytest.mark.parametrize("last_act,size", [("sigmoid", "small"), ("softmax", "small"), ("softmax", "medium")])
def test_each_head_builds_and_verifies(tmp_path, last_act, size):
    path = build(tmp_path, "resnet", size=size, options={"last_act": last_act})
    assert_verified(path, ENGINES_AT[size])


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
    assert "'Wb'" in line and "4x3" in line


def test_stacked_weights_give_one_block_per_residual_block():
    r = resolve(EX, size="large")
    assert Dims(r.dims).blocks == 3
    ref = EX.reference(r.dims, r.params)
    assert {f"S_{l}" for l in (1, 2, 3)} <= set(ref) and {f"dR_{l}" for l in (1, 2, 3)} <= set(ref)


# --- a hidden size per block --------------------------------------------------------------------
def test_each_block_has_its_own_hidden_size():
    r = resolve(EX, size="large", sets={"h1": 2, "h2": 5, "h3": 1}, seed=4)
    assert [m.shape for m in r.params.Wa] == [(2, 8), (5, 8), (1, 8)]
    assert [m.shape for m in r.params.Wb] == [(8, 2), (8, 5), (8, 1)]
    assert [m.shape for m in r.params.ba] == [(2, 1), (5, 1), (1, 1)]
    ref = EX.reference(r.dims, r.params)
    assert [ref[f"Z_{l}"].shape for l in (1, 2, 3)] == [(2, 4), (5, 4), (1, 4)]


def test_equal_hidden_sizes_draw_the_numbers_they_drew_as_one_stack():
    """A seed gives the same weights whether the blocks' hidden sizes are one dim or one dim each."""
    from xlhand.model.makers import bounded_rows
    import zlib
    r = resolve(EX, size="medium", seed=5)
    for name in ("Wa", "Wb"):
        g = EX.given(name)
        shape = (2, 5, 6) if name == "Wa" else (2, 6, 5)
        found = False
        for draw in range(20):
            rng = np.random.Generator(np.random.PCG64([5, draw, zlib.crc32(b"resnet"), zlib.crc32(name.encode())]))
            old = bounded_rows(rng, rng.choice(np.array([-1, -0.5, 0, 0.5, 1]), size=shape), 1.5)
            found |= all(np.array_equal(a, b) for a, b in zip(old, r.params[name]))
        assert found, g.name


@pytest.mark.parametrize("head", ["linear", "none"])
def test_hidden_sizes_per_block_build_and_verify(tmp_path, head):
    sets = {"h1": 2, "h2": 4}
    path = build(tmp_path, "resnet", size="medium", sets=sets, seed=1,
                 options={"head": head, "last_act": "softmax"})
    assert_verified(path, ENGINES_AT["medium"])


# --- no head: the network ends in the activation of the last block's output ---------------------
@pytest.mark.parametrize("last_act", ["sigmoid", "softmax"])
@pytest.mark.parametrize("size", [sizes(d=3, blocks=2, hidden=(2, 4), batch=2, n_out=1),
                                  sizes(d=4, blocks=1, hidden=3, batch=1, n_out=2)], ids=str)
def test_no_head_against_the_math_and_finite_differences(size, last_act):
    d = Dims(size)
    p = real_numbers(d, 7)
    ref = EX.reference(d, p, last_act=last_act, head="none")
    assert "Zout" not in ref and "Zpout" not in ref
    for shortcut, y, loss, dx in ((True, "Y", "L", "dX_res"), (False, "Yp", "Lp", "dX_plain")):
        Y, L = forward(p, p.X, shortcut, last_act, head=False)
        np.testing.assert_allclose(ref[y], Y, rtol=1e-12)
        assert ref[loss] == pytest.approx(L, rel=1e-12)
        numeric = finite_difference(lambda X: forward(p, X, shortcut, last_act, head=False)[1], p.X)
        np.testing.assert_allclose(ref[dx], numeric, atol=1e-7)
    if last_act == "softmax":
        np.testing.assert_allclose(ref["Y"].sum(axis=0), 1, rtol=1e-12)
        e = np.exp(ref[f"R_{d.blocks}"])
        np.testing.assert_allclose(ref["Y"], e / e.sum(axis=0), rtol=1e-12)


def test_no_head_builds_and_verifies(tmp_path):
    path = build(tmp_path, "resnet", options={"head": "none", "last_act": "softmax"})
    assert_verified(path)
    wb = __import__("openpyxl").load_workbook(path)
    names = set(wb.defined_names)
    assert "x_Zout" not in names and "x_WoutT" not in names and "x_Wout" in names
    assert "x_dR_1" not in names and "x_dZout" in names  # dR_1 = dZout: the backward pass goes on from dZout


def test_an_unknown_head_option_is_refused(tmp_path):
    line = rejected_build(tmp_path, "resnet", "--opt", "head=conv")
    assert "'head'" in line and "linear" in line and "none" in line


def test_no_head_targets_have_the_width_of_the_stream(tmp_path):
    line = rejected_build(tmp_path, "resnet", "--opt", "head=none", params={"values": {"Td": [1, 0]}})
    assert "'Td'" in line and "4x1" in line


def test_a_bad_hidden_size_is_refused(tmp_path):
    line = rejected_build(tmp_path, "resnet", "--set", "h2=0")
    assert "'h2'" in line


@pytest.mark.libreoffice
def test_new_structures_agree_in_libreoffice(tmp_path):
    """LibreOffice recalculates the new structures (one soffice call) and agrees with NumPy."""
    from support import assert_report_ok, build
    from xlhand.check import check_file
    from xlhand.engines import libreoffice
    if libreoffice.soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    built = [build(tmp_path, "resnet", f"case{i}.xlsx", **kw) for i, kw in enumerate([dict(size="medium", sets={"h1": 2, "h2": 4}, seed=1, options={"head": "none", "last_act": "softmax"})])]
    converted = libreoffice.recalculate(built, tmp_path / "recalculated")
    for path in built:
        assert_report_ok(check_file(path, engine="saved", recalculated=converted[path]), f"{path.name} (LibreOffice)")


# --- the layout: one copy of each weight for both networks ----------------------------------------
def test_both_networks_share_each_weight_and_the_backward_shortcut_is_one_product():
    """Zp_l and Fp_l multiply the residual network's Wa_l and Wb_l (no copies); dX_res = Wa_1ᵀ·dA_1 + I·dS_1
    is one product whose cells add dS_1; every named block of the walkthrough stands on the sheet."""
    from xlhand.build import key_sheet
    for size in ("small", "medium"):
        sheet = key_sheet(resolve(EX, size=size))
        L = sheet.dims["blocks"]
        for l in range(1, L + 1):
            assert f"Wa_{l}" in sheet.blocks[f"Zp_{l}"].extra["operands"]
            assert f"Wb_{l}" in sheet.blocks[f"Fp_{l}"].extra["operands"]
            assert f"I_{l}" in sheet.blocks[f"S_{l}"].extra["operands"]
        assert not [n for n in sheet.blocks if n.startswith(("Id_", "dSs_", "dRf_"))]
        dX, dS = sheet.blocks["dX_res"], sheet.blocks["dS_1"]
        assert dX.extra["operands"][0] == "Wa_1T" and dX.formula(0, 0).endswith("+" + dS.cell(0, 0))
        names = {"Zout", "Y", "Yp", "dX_res", "dX_plain", *(f"{b}_{l}" for b in ("Z", "S", "R", "Zp", "Fp", "H")
                                                        for l in range(1, L + 1))}
        assert names <= set(sheet.blocks)


def test_each_bias_meets_the_1_under_its_own_input_and_the_shortcut_reads_the_block_input():
    """The two networks' inputs stand side by side over one row of 1s: the plain network's products
    read the 1 in their own input's column; S_l = I·R_{l−1} + F_l reads R_{l−1} where it stands (no
    copy of it, nor of Z_l)."""
    import re
    from xlhand.build import key_sheet
    sheet = key_sheet(resolve(EX, size="medium"))
    column = lambda address: re.sub(r"\d", "", address.replace("$", ""))  # noqa: E731
    assert not [n for n in sheet.blocks if n.startswith(("Rs_", "Zc_", "Zpc_"))]
    for l in (1, 2):
        assert ("X" if l == 1 else f"R_{l - 1}") in sheet.blocks[f"S_{l}"].extra["operands"]
        for name, src in ((f"Zp_{l}", "H_0" if l == 1 else f"H_{l - 1}"), (f"Fp_{l}", f"Zp_{l}")):
            block = sheet.blocks[name]
            ones = sheet.blocks[block.extra["operands"][-1]]
            assert ones.rows == 1 and ones.cols == 4
            for j in range(block.cols):
                used = [k for k in range(ones.cols) if ones.cell(0, k) in block.formula(0, j)]
                assert [column(ones.cell(0, k)) for k in used] == [column(sheet.blocks[src].cell(0, j))], name


def test_the_subtitle_lists_only_the_hidden_sizes_of_the_blocks_drawn():
    """A one-block network is h1 wide; h2…h4 (for deeper presets) stay in the metadata, off the page."""
    from xlhand.build import metadata, subtitle

    resolved = resolve(catalog.get("resnet"), size="small")
    assert "h1=3" in subtitle(resolved, "key") and "h2=" not in subtitle(resolved, "key")
    assert {"h2", "h3", "h4"} <= set(metadata(resolved, "key")["dims"])
