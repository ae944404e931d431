"""mhc's NumPy reference checked independently: Sinkhorn–Knopp as diagonal scalings, the doubly
stochastic result after the paper's 20 iterations, the stream update by explicit sums; bad input."""
from __future__ import annotations

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.model.resolve import resolve

EX = catalog.get("mhc")


def independent(d, p):
    """The same layer written another way: loops for vec and the maps, and Sinkhorn–Knopp as
    diag(r)·M0·diag(c) with the scaling vectors updated in turn (c first, as T_r(T_c(M)))."""
    n, C = d.n, d.C
    x = np.array([p.Xs[i, j] for i in range(n) for j in range(C)])
    xhat = x / np.sqrt(sum(v * v for v in x) / (n * C) + 1e-6)
    pre = np.array([p.alpha_pre * sum(xhat[k] * p.phi_pre[k, j] for k in range(n * C)) + p.b_pre[0, j]
                    for j in range(n)])
    post = np.array([p.alpha_post * sum(xhat[k] * p.phi_post[k, j] for k in range(n * C)) + p.b_post[0, j]
                     for j in range(n)])
    raw = np.array([[p.alpha_res * sum(xhat[k] * p.phi_res[k, i * n + j] for k in range(n * C)) + p.b_res[i, j]
                     for j in range(n)] for i in range(n)])
    M0 = np.exp(raw)
    r, c = np.ones(n), np.ones(n)
    for _ in range(d.iters):
        c = 1 / np.einsum("i,ij->j", r, M0)
        r = 1 / np.einsum("ij,j->i", M0, c)
    Hres = np.einsum("i,ij,j->ij", r, M0, c)
    Hpre, Hpost = 1 / (1 + np.exp(-pre)), 2 / (1 + np.exp(-post))
    h = np.einsum("s,sc->c", Hpre, p.Xs)
    y = np.maximum(np.einsum("c,jc->j", h, p.Wf), 0)
    nxt = np.einsum("st,tc->sc", Hres, p.Xs) + np.einsum("s,c->sc", Hpost, y)
    hc = np.einsum("st,tc->sc", raw, p.Xs) + np.einsum("s,c->sc", Hpost, y)
    return dict(xhat=xhat[None, :], Hres_raw=raw, Hres=Hres, h=h[None, :], y=y[None, :], Xs_next=nxt, Xs_hc=hc)


CASES = [dict(), dict(size="medium"), dict(size="large"), dict(size="large", seed=4), dict(sets={"n": 3, "C": 1}, seed=9)]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_reference_matches_an_independent_computation(case):
    r = resolve(EX, **case)
    ref, other = EX.reference(r.dims, r.params), independent(r.dims, r.params)
    for key, value in other.items():
        np.testing.assert_allclose(ref[key], value, rtol=1e-10, atol=1e-12, err_msg=key)


@pytest.mark.parametrize("seed", [None, 1, 2, 3, 5, 8])
def test_sinkhorn_is_doubly_stochastic_after_20_iterations(seed):
    for size in ("small", "medium", "large"):
        r = resolve(EX, size=size, sets={"iters": 20}, seed=seed)
        H = EX.reference(r.dims, r.params)["Hres"]
        assert (H > 0).all()
        assert np.abs(H.sum(axis=0) - 1).max() < 1e-3, (size, seed)
        assert np.abs(H.sum(axis=1) - 1).max() < 1e-3, (size, seed)


def test_each_iteration_normalises_columns_then_rows():
    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    previous = ref["M0"]
    for t in range(1, r.dims.iters + 1):
        np.testing.assert_allclose(ref[f"Mc{t}"].sum(axis=0), 1, rtol=1e-12)
        np.testing.assert_allclose(ref[f"M{t}"].sum(axis=1), 1, rtol=1e-12)
        np.testing.assert_allclose(ref[f"M{t}"] / ref[f"Mc{t}"], 1 / ref[f"Mc{t}_rows"] * np.ones((1, 2)))
        np.testing.assert_allclose(ref[f"Mc{t}"] * previous.sum(axis=0), previous)
        previous = ref[f"M{t}"]
    # the column sums visibly approach 1, the raw map's do not
    devs = [np.abs(ref[f"M{t}_cols"] - 1).max() for t in range(1, 4)]
    assert devs[0] > devs[1] > devs[2] and devs[2] < 1e-2 and np.abs(ref["Hraw_cols"] - 1).max() > 0.5


@pytest.mark.parametrize("size", ["small", "large"])
def test_convergence_rows_go_to_0_and_feed_a_line_chart(size):
    """row_err and col_err against Sinkhorn–Knopp as alternating scalings: before step t scales the
    rows, their sums are r_(t−1)·(M0·c_t); after it, the column sums are (r_t·M0)·c_t."""
    from xlhand.build import key_sheet

    r = resolve(EX, size=size)
    ref = EX.reference(r.dims, r.params)
    M0 = np.exp(ref["Hres_raw"])
    rows, cols, scale_r = [], [], np.ones(r.dims.n)
    for _ in range(r.dims.iters):
        scale_c = 1 / (scale_r @ M0)
        rows.append(np.abs(scale_r * (M0 @ scale_c) - 1).max())
        scale_r = 1 / (M0 @ scale_c)
        cols.append(np.abs((scale_r @ M0) * scale_c - 1).max())
    np.testing.assert_allclose(ref["row_err"], [rows], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ref["col_err"], [cols], rtol=1e-9, atol=1e-12)
    assert rows[0] > 0.1 and rows[-1] < rows[0] / 10 and cols[-1] < cols[0] / 10
    (chart,) = key_sheet(r).charts
    assert chart.kind == "line" and [series[1].name for series in chart.series] == ["row_err", "col_err"]


def test_defaults_are_hand_friendly():
    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    np.testing.assert_allclose(ref["xhat"], [[1, -1, 1, 1]], rtol=1e-6)
    assert EX.accept(r.dims, r.params)


@pytest.mark.parametrize("iters", [0, -2])
def test_iteration_count_below_one_is_refused(tmp_path, iters):
    message = rejected_build(tmp_path, "mhc", "--set", f"iters={iters}")
    assert "iters" in message


def test_iteration_count_below_one_in_a_params_file_is_refused(tmp_path):
    message = rejected_build(tmp_path, "mhc", params={"exercise": "mhc", "dims": {"n": 2, "C": 2, "iters": 0}})
    assert "'iters'" in message
