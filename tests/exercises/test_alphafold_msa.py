"""alphafold-msa's NumPy reference against an einsum version of AF2's Algorithm 7 (all MSA rows and
heads at once, in the paper's index order)."""
from __future__ import annotations

import numpy as np
import pytest

from xlhand.model import catalog
from xlhand.model.resolve import resolve

EX = catalog.get("alphafold-msa")


def msa_row_attention(d, p):
    m = np.einsum("sci->sic", np.asarray(p.M, dtype=float))          # m[s, i] is the c_m-vector m_si
    z = np.einsum("icj->ijc", np.asarray(p.Zp, dtype=float))         # z[i, j] is z_ij
    ln = lambda x: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    m = ln(m)
    Wq, Wk, Wv, Wg = (np.asarray(p[k], dtype=float) for k in ("Wq", "Wk", "Wv", "Wg"))
    q = np.einsum("hcd,sid->sihc", Wq, m)
    k = np.einsum("hcd,sid->sihc", Wk, m)
    v = np.einsum("hcd,sid->sihc", Wv, m)
    b = np.einsum("he,ije->ijh", p.Wb, ln(z))
    g = 1 / (1 + np.exp(-(np.einsum("hcd,sid->sihc", Wg, m) + np.asarray(p.bg)[:, :, 0])))
    logits = np.einsum("sihc,sjhc->sijh", q, k) / np.sqrt(d.c) + b[None]
    a = np.exp(logits - logits.max(axis=2, keepdims=True))
    a /= a.sum(axis=2, keepdims=True)                                 # softmax over j
    o = g * np.einsum("sijh,sjhc->sihc", a, v)
    out = np.einsum("mx,six->sim", p.Wo, o.reshape(d.s, d.r, d.heads * d.c)) + p.bo.ravel()
    return a, out


CASES = [dict(), dict(size="medium"), dict(size="large"), dict(size="large", seed=2),
         dict(sets={"s": 1, "r": 2, "heads": 3}, seed=7)]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_reference_matches_einsum(case):
    r = resolve(EX, **case)
    d = r.dims
    ref = EX.reference(d, r.params)
    a, out = msa_row_attention(d, r.params)
    for s in range(d.s):
        np.testing.assert_allclose(ref[f"Mout_{s + 1}"], out[s].T, rtol=1e-10, atol=1e-12)
        for h in range(d.heads):
            # A_s_h[j, i] = a_sij^h: row j = key, column i = query
            np.testing.assert_allclose(ref[f"A_{s + 1}_{h + 1}"], a[s, :, :, h].T, rtol=1e-10, atol=1e-12)


def test_every_attention_column_sums_to_one_and_is_not_one_hot():
    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    for s in (1, 2):
        A = ref[f"A_{s}_1"]
        np.testing.assert_allclose(A.sum(axis=0), 1, rtol=1e-12)
        assert A.max() < 0.9


def test_medium_sets_the_msa_rows_side_by_side_against_one_block_of_weights():
    """At medium (two heads), Wq_1 | Q_1_1 Q_2_1: the MSA rows' products stand in one band, right of the
    one block of weights they share (no copy of a weight), and Mout reads the heads' O stacked."""
    from xlhand.build import key_sheet

    sheet = key_sheet(resolve(EX, size="medium"))
    blocks = sheet.blocks
    assert not [name for name in blocks if "_r2" in name]  # no copies of the weights for MSA row 2
    for key, W in (("Q", "Wq"), ("K", "Wk"), ("V", "Wv"), ("G", "Wg")):
        for h in (1, 2):
            first, second = blocks[f"{key}_1_{h}"], blocks[f"{key}_2_{h}"]
            assert first.top == second.top and first.left < second.left
            assert blocks[f"{W}_{h}"].name in first.extra["operands"] and f"{W}_{h}" in second.extra["operands"]
    for m in (1, 2):
        assert {f"O_{m}_1", f"O_{m}_2", "Wo", "bo"} <= set(blocks[f"Mout_{m}"].extra["operands"])


def test_medium_with_a_stable_softmax_prints_on_four_pages_with_every_product_by_its_operands():
    """The stable softmax's max row makes each head's band a row taller; the copy of V, named at its
    side, gives the row back (V·A right under A): four pages on A4 and Letter, nothing cut or apart."""
    from xlhand.build import page_plan

    r = resolve(EX, size="medium", options={"stable": True})
    for paper in ("a4", "letter"):
        for student in (False, True):
            grid = page_plan(r, paper, student=student)
            assert (grid.pages, grid.cuts, grid.apart) == (4, 0, 0), (paper, student)
