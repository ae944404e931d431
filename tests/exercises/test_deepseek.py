"""deepseek: the reference against a second formulation (tokens as rows, the rotation as complex
multiplication, the top-k by sorting), the rotary scores' dependence on relative position only,
the KV cache count, the default numbers' facts, every option building and verifying in two engines,
and the bad inputs the issue lists refused."""
from __future__ import annotations

import numpy as np
import pytest
from support import assert_verified, build, rejected_build

from xlhand.model import catalog
from xlhand.engines import readback
from xlhand.model.givens import Dims
from xlhand.model.resolve import resolve

EX = catalog.get("deepseek")


def complex_rotary(M, theta):
    """Rows (2m, 2m+1) of token t as the complex number a + ib, multiplied by e^{i·t·θ}; tokens as rows."""
    z = M[:, 0::2] + 1j * M[:, 1::2]
    z = z * np.exp(1j * theta * np.arange(1, M.shape[0] + 1))[:, None]
    out = np.empty_like(M)
    out[:, 0::2], out[:, 1::2] = z.real, z.imag
    return out


def second_formulation(d, p, causal, gate, shared, normalize):
    """Row convention (token t is row t): MLA head by head, then a sorted top-k MoE."""
    x = p.X.T
    cq, ckv = x @ p.Wdq.T, x @ p.Wdkv.T
    qr, kr = complex_rotary(cq @ p.Wqr.T, p.theta), complex_rotary(x @ p.Wkr.T, p.theta)
    heads = []
    for h in range(d.heads):
        q = np.hstack([qr, cq @ p.Wuq[h].T])
        k = np.hstack([kr, ckv @ p.Wuk[h].T])
        v = ckv @ p.Wuv[h].T
        logits = q @ k.T / np.sqrt(d.d_h + d.d_r)  # [query, key]
        if causal:
            logits = logits + np.triu(np.full(logits.shape, -1e9), 1)
        w = np.exp(logits - logits.max(axis=1, keepdims=True))
        heads.append((w / w.sum(axis=1, keepdims=True)) @ v)
    attn = np.hstack(heads) @ p.Wo.T
    router = attn @ p.Wr.T  # [token, expert]
    if gate == "softmax":
        e = np.exp(router - router.max(axis=1, keepdims=True))
        gates = e / e.sum(axis=1, keepdims=True)
    else:
        gates = 1 / (1 + np.exp(-router))
    out = np.zeros_like(attn)
    for t in range(d.tokens):
        top = np.argsort(-router[t])[: d.top_k]
        weights = gates[t, top] / (gates[t, top].sum() if normalize else 1)
        for e, w in zip(top, weights):
            hidden = np.maximum(p.W1[e] @ attn[t] + p.b1[e][:, 0], 0)
            out[t] += w * np.maximum(p.W2[e] @ hidden + p.b2[e][:, 0], 0)
        if shared:
            out[t] += np.maximum(p.W2s @ np.maximum(p.W1s @ attn[t] + p.b1s[:, 0], 0) + p.b2s[:, 0], 0)
    return attn.T, router.T, out.T


OPTIONS = [dict(), dict(causal=False), dict(gate="sigmoid"), dict(shared=True), dict(normalize_gates=True),
           dict(causal=False, gate="sigmoid", shared=True, normalize_gates=True)]
CASES = [dict(), dict(size="medium"), dict(size="large"), dict(size="large", seed=4),
         dict(sets={"tokens": 3, "d": 4, "d_r": 4, "heads": 1, "experts": 5, "top_k": 1}, seed=2)]


@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_reference_against_a_second_formulation(case, options):
    r = resolve(EX, **case)
    full = {"causal": True, "gate": "softmax", "shared": False, "normalize_gates": False, **options}
    ref = EX.reference(r.dims, r.params, **full)
    attn, router, out = second_formulation(r.dims, r.params, full["causal"], full["gate"], full["shared"],
                                           full["normalize_gates"])
    np.testing.assert_allclose(ref["Attn"], attn, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ref["logits"], router, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ref["Out"], out, rtol=1e-10, atol=1e-12)
    assert (ref["chosen"].sum(axis=0) == r.dims.top_k).all()  # every token: exactly top_k experts


def test_rotary_scores_depend_only_on_the_distance():
    """Qr_iᵀ·Kr_j equals the unrotated parts with one rotation by (j − i)·θ between them."""
    d = Dims(EX.presets["small"])
    rng = np.random.default_rng(3)
    Qp, Kp = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    theta = 0.7
    from xlhand.exercises.deepseek import rotate

    Qr, Kr = rotate(Qp, theta), rotate(Kp, theta)
    for i in range(4):
        for j in range(4):
            a = (j - i) * theta
            R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            assert Qr[:, i] @ Kr[:, j] == pytest.approx(Qp[:, i] @ R @ Kp[:, j], rel=1e-12)
    assert d.d_r == 2


def test_default_numbers_and_the_cache_on_the_sheet(tmp_path):
    r = resolve(EX)
    assert set(r.sources.values()) == {"template"}
    ref = EX.reference(r.dims, r.params)
    assert ref["cache"].tolist() == [[4, 8]]  # d_c + d_r = 2 + 2 against 2·heads·d_h = 2·2·2
    chosen = [set(np.flatnonzero(ref["chosen"][:, t]) + 1) for t in range(4)]
    assert chosen == [{1, 3}, {2, 4}, {2, 4}, {1, 2}]
    assert np.allclose(np.triu(ref["A_1"][:, :1].T, 1), 0) and ref["A_1"][0, 0] == pytest.approx(1)
    path = build(tmp_path, "deepseek")
    wb = readback.load(path, data_only=True)
    cache = readback.read_block(wb, readback.block_ranges(wb)["cache"])
    assert cache == [[4, 8]]


@pytest.mark.slow
@pytest.mark.parametrize("options", OPTIONS[1:5], ids=str)
def test_every_option_builds_and_verifies(tmp_path, options):
    assert_verified(build(tmp_path, "deepseek", options=options))


def test_top_k_more_than_experts_is_refused(tmp_path):
    line = rejected_build(tmp_path, "deepseek", "--set", "top_k=5")
    assert "top_k" in line and "experts" in line


def test_an_odd_rotary_size_is_refused(tmp_path):
    line = rejected_build(tmp_path, "deepseek", "--set", "d_r=3")
    assert "d_r" in line and "pairs" in line


def test_wo_inconsistent_with_heads_times_d_h_is_refused(tmp_path):
    line = rejected_build(tmp_path, "deepseek", params={"values": {"Wo": [[1, 0, 0]] * 5}})
    assert "'Wo'" in line and "5x4" in line and "heads·d_h" in line


def test_a_tie_for_the_last_chosen_place_is_refused(tmp_path):
    values = {"Wr": [[1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [-1, 0, 0, 0, 0], [-1, 0, 0, 0, 0]]}
    line = rejected_build(tmp_path, "deepseek", "--set", "top_k=1", params={"values": values})
    assert "tie" in line and "Wr" in line


def test_an_unknown_gate_is_refused(tmp_path):
    line = rejected_build(tmp_path, "deepseek", "--opt", "gate=relu")
    assert "gate" in line and "softmax" in line and "sigmoid" in line


def test_medium_works_the_output_projection_in_runs_of_heads():
    """Wo (12 columns), a gap and Attn are wider than a page at medium: Attn = Wo·[O_1; O_2; O_3] is
    worked in runs of heads whose columns of Wo, a gap and the product fit across the page (heads 1
    and 2: 8 + 1 + 6 = 15 columns, then head 3): P_12 = [Wo_1 | Wo_2]·[O_1; O_2], P_3 = Wo_3·O_3,
    Attn = P_12 + P_3, each P with copies of its heads' columns of Wo at its left and copies of their
    O_h above, and the sheet one page wide; small keeps Attn = Wo·[O_1; O_2]."""
    from xlhand.build import key_sheet, page_plan

    medium = resolve(EX, size="medium")
    sheet = key_sheet(medium)
    heads, d_h = medium.dims.heads, medium.dims.d_h
    assert {"P_12", "P_3"} <= set(sheet.blocks) and "Ocat" not in sheet.blocks
    assert sheet.blocks["P_12"].extra["operands"][:3] == ["Wo_1", "Wo_2", "P_12_O"]
    assert sheet.blocks["P_3"].extra["operands"][:2] == ["Wo_3", "P_3_O"]
    for h in range(1, heads + 1):
        assert sheet.blocks[f"Wo_{h}"].shape == (medium.dims.d, d_h)
    ref = EX.reference(medium.dims, medium.params)
    parts = sum(medium.params.Wo[:, (h - 1) * d_h:h * d_h] @ ref[f"O_{h}"] for h in range(1, heads + 1))
    np.testing.assert_allclose(parts, ref["Attn"], rtol=1e-12, atol=1e-12)
    assert all(not page_plan(medium, paper).col_breaks for paper in ("a4", "letter"))
    assert "Ocat" in key_sheet(resolve(EX)).blocks


def test_medium_prints_a_head_a_page_and_an_expert_a_page_with_every_product_by_its_operands():
    """At medium (12 pages), every product on the page of its operands, each head (its copy of Ckv,
    Kc_h, Q_h, S_h, A_h, V_h, O_h) on one page, each expert (He_e, E_e and the copy of Attn over them)
    on one page with a band of the router over experts 2 to 4, on A4 and Letter, key and worksheet alike."""
    from xlhand.build import key_sheet, page_plan

    medium = resolve(EX, size="medium")
    sheet = key_sheet(medium)
    band = lambda index, breaks: sum(b <= index for b in breaks)  # noqa: E731
    for paper in ("a4", "letter"):
        for student in (False, True):
            grid = page_plan(medium, paper, student=student)
            page = {name: (band(b.footprint().top, grid.row_breaks), band(b.left, grid.col_breaks))
                    for name, b in sheet.blocks.items()}
            assert not grid.cuts and not grid.apart, (paper, student)
            apart = [(b.name, o) for b in sheet.blocks.values() for o in b.extra.get("operands", [])
                     if page[o] != page[b.name]]
            assert not apart, (paper, student, apart[:3])
            for h in range(1, medium.dims.heads + 1):
                head = [f"Ckv_h{h}", f"Kc_{h}", f"Q_{h}", f"S_{h}", f"A_{h}", f"V_{h}", f"O_{h}"]
                assert len({page[name] for name in head}) == 1, (paper, student, h)
            # an expert a page, under its copy of Attn; the router's bands at the top of the pages of
            # experts 2, 3 and 4 (logits under Attn itself, over expert 1)
            for e in range(1, medium.dims.experts + 1):
                expert = [f"He_{e}", f"E_{e}"] + ([f"Attn_e{e}"] if e > 1 else ["Attn", "logits"])
                assert len({page[name] for name in expert}) == 1, (paper, student, e)
            assert [page[name] for name in ("gate", "chosen", "g")] == [page[f"He_{e}"] for e in (2, 3, 4)]
            assert grid.pages == 12, (paper, student)


@pytest.mark.parametrize("size, pages", [("small", 6), ("medium", 13)])
def test_the_shared_expert_is_worked_first_on_a_page_with_its_attn(size, pages):
    """With the option shared, the shared expert (always on) is worked before the routed ones: at small
    under the router on its page, with a copy of Attn over it (Attn_s); at medium under Attn and the
    router's logits, where the first routed expert stands without it. Every product prints with its
    operands, nothing is cut, on A4 and Letter, key and worksheet alike: small within its budget of 6
    pages; medium on 13, one over its budget of 12, which no layout of a head a page and an expert
    a page can meet: two experts and the Attn they read are taller than a page, so the routed experts
    and the shared one take 7 pages after the 6 of the attention."""
    from xlhand.build import key_sheet, page_plan

    r = resolve(EX, size=size, options={"shared": True})
    sheet = key_sheet(r)
    steps = {name: b.step for name, b in sheet.blocks.items()}
    assert steps["Hs"] == steps["Es"] < steps["He_1"] < steps["Out"]
    source = "Attn" if size == "medium" else "Attn_s"
    assert sheet.blocks["Hs"].extra["operands"][2] == source
    band = lambda index, breaks: sum(b <= index for b in breaks)  # noqa: E731
    for paper in ("a4", "letter"):
        for student in (False, True):
            grid = page_plan(r, paper, student=student)
            assert not grid.cuts and not grid.apart and grid.pages == pages, (paper, student, grid.pages)
            page = {name: band(b.footprint().top, grid.row_breaks) for name, b in sheet.blocks.items()}
            assert len({page[name] for name in (source, "Hs", "Es")}) == 1, (paper, student)
