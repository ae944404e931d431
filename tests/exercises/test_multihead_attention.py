"""multihead-attention: heads against einsum over a reshaped Q, K, V; counts against closed-form
numbers and against the multiplications actually written in the workbook; H = 1 equals one head."""
from __future__ import annotations

import math

import numpy as np
import pytest
from support import build, rejected_build
from test_self_attention import by_einsum

from xlhand.model import catalog
from xlhand.engines import readback
from xlhand.model.resolve import resolve

EX = catalog.get("multihead-attention")


@pytest.mark.parametrize("kw", [{}, {"size": "medium"}, {"size": "large"}, {"seed": 8}])
def test_heads_match_einsum(kw):
    r = resolve(EX, **kw)
    p, H, dh, n = r.params, r.dims.heads, r.dims.d_h, r.dims.n
    ref = EX.reference(r.dims, p)
    single = by_einsum(p.X, p.Wq, p.Wk, p.Wv)
    for name in "QKVSAF":
        np.testing.assert_allclose(ref[name], single[name], rtol=1e-12, err_msg=name)
    Q, K, V = (np.einsum("ed,dn->en", W, p.X).reshape(H, dh, n) for W in (p.Wq, p.Wk, p.Wv))
    S = np.einsum("hkj,hki->hji", K, Q) / math.sqrt(dh)
    A = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    F = np.einsum("hvj,hji->hvi", V, A)
    for h in range(H):
        np.testing.assert_allclose(ref[f"S_{h + 1}"], S[h], rtol=1e-12)
        np.testing.assert_allclose(ref[f"A_{h + 1}"], A[h], rtol=1e-12)
        np.testing.assert_allclose(ref[f"F_{h + 1}"], F[h], rtol=1e-12)
    np.testing.assert_allclose(ref["Fcat"], F.reshape(H * dh, n), rtol=1e-12)


@pytest.mark.parametrize("heads,d_h,n,params,mults", [
    (2, 1, 3, 12, 72),     # d = 2: 3·4 = 12; 3·4·3 + 9·2 + 2·9 = 36 + 18 + 18
    (2, 2, 3, 48, 216),    # d = 4: 3·16 = 48; 3·16·3 + 9·4 + 4·9 = 144 + 36 + 36
    (3, 2, 4, 108, 624),   # d = 6: 3·36 = 108; 3·36·4 + 16·6 + 6·16 = 432 + 96 + 96
    (1, 3, 2, 27, 78),     # d = 3: 27; 3·9·2 + 4·3 + 3·4 = 54 + 12 + 12
])
def test_counts_closed_form(heads, d_h, n, params, mults):
    r = resolve(EX, sets=dict(heads=heads, d_h=d_h, n=n), seed=1)
    ref = EX.reference(r.dims, r.params)
    assert ref["params_single"] == ref["params_multi"] == params
    assert ref["mults_single"] == ref["mults_multi"] == mults


def test_counts_equal_the_multiplications_written_on_the_sheet(tmp_path):
    """Count the '*' in the dot products the workbook writes: projections Q, K, V, then the
    single head's S and F, and every head's S_h and F_h."""
    path = build(tmp_path, "multihead-attention", size="medium")
    wb = readback.load(path)
    ranges = readback.block_ranges(wb)

    def stars(name):
        cells = [c for row in readback.read_block(wb, ranges[name]) for c in row]
        return sum(getattr(c, "text", c).count("*") for c in cells)

    r = resolve(EX, size="medium")
    ref = EX.reference(r.dims, r.params)
    projections = stars("Q") + stars("K") + stars("V")
    assert projections + stars("S") + stars("F") == ref["mults_single"]
    heads = sum(stars(f"S_{h}") + stars(f"F_{h}") for h in range(1, r.dims.heads + 1))
    assert projections + heads == ref["mults_multi"]


def test_one_head_is_the_single_head():
    r = resolve(EX, sets=dict(heads=1, d_h=3, n=3), seed=2)
    ref = EX.reference(r.dims, r.params)
    np.testing.assert_allclose(ref["S_1"], ref["S"])
    np.testing.assert_allclose(ref["Fcat"], ref["F"])


def test_heads_differ_from_one_head_by_default():
    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    assert not np.allclose(ref["Fcat"], ref["F"], atol=0.1)


def test_too_many_heads_is_a_one_line_error(tmp_path):
    message = rejected_build(tmp_path, "multihead-attention", "--set", "heads=9")
    assert "heads" in message, message


def test_bad_weights_are_a_one_line_error(tmp_path):
    message = rejected_build(tmp_path, "multihead-attention", "--size", "medium",
                             params="exercise: multihead-attention\nvalues:\n  Wq: [[1, 2], [3, 4]]\n")
    assert "'Wq'" in message and "4x4" in message, message
