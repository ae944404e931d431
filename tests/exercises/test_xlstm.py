"""xlstm: the step-by-step reference against the xLSTM paper's equations worked by hand for one unit,
against the paper's parallel (all steps at once) formulation of the mLSTM, and the stabilised form
against the plain one; the default numbers' facts; both forms building and verifying; bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
from support import assert_verified, build, rejected_build

from xlhand.build import key_sheet, page_plan
from xlhand.layout.paper import HEADER_MIN_COLS, MARGIN_COLS
from xlhand.layout.style import text_lines
from xlhand.model import catalog
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve

EX = catalog.get("xlstm")


def sig(x):
    return 1 / (1 + math.exp(-x))


def test_one_unit_two_steps_by_hand():
    """d_in = d = 1: every quantity a number, the paper's equations written out."""
    d = Dims(d_in=1, d=1, T=2)
    p = Params(X=np.array([[1.0, -2.0]]), Wq=np.array([[0.5]]), bq=np.array([[0.1]]), Wk=np.array([[2.0]]),
               bk=np.array([[0.0]]), Wv=np.array([[-1.0]]), bv=np.array([[0.5]]), wi=np.array([[0.3]]), bi=0.2,
               wf=np.array([[-0.4]]), bf=1.0, Wo=np.array([[1.0]]), bo=np.array([[0.0]]),
               C0=np.array([[0.5]]), n0=np.array([[0.25]]))
    C, n = 0.5, 0.25
    for t, x in enumerate((1.0, -2.0), start=1):
        q, k, v = 0.5 * x + 0.1, 2.0 / math.sqrt(1) * x, -x + 0.5
        i, f, o = math.exp(0.3 * x + 0.2), sig(-0.4 * x + 1.0), sig(x)
        C = f * C + i * v * k
        n = f * n + i * k
        h = o * C * q / max(abs(n * q), 1)
        ref = EX.reference(d, p)
        assert [ref[f"{key}_{t}"].item() for key in ("q", "k", "v", "i", "f", "o", "C", "n", "h")] == pytest.approx(
            [q, k, v, i, f, o, C, n, h], rel=1e-12)


def parallel_mlstm(p, d):
    """The mLSTM over all steps at once (xLSTM paper, parallel form), column convention: with
    F_t = f_1⋯f_t, the decay D[s, t] = (F_t / F_s)·i_s for s ≤ t; the memory's contribution to
    step t is Σ_s D[s, t]·(k_sᵀq_t)·v_s plus F_t·C_0·q_t, the normaliser's Σ_s D[s, t]·k_sᵀq_t plus
    F_t·n_0ᵀq_t."""
    X = p.X
    Q = p.Wq @ X + p.bq
    K = p.Wk / math.sqrt(d.d) @ X + p.bk
    V = p.Wv @ X + p.bv
    i = np.exp(p.wi @ X + p.bi)[0]
    f = (1 / (1 + np.exp(-(p.wf @ X + p.bf))))[0]
    O = 1 / (1 + np.exp(-(p.Wo @ X + p.bo)))
    F = np.cumprod(f)
    decay = np.triu(F[None, :] / F[:, None]) * i[:, None]  # [s, t]
    scores = (K.T @ Q) * decay
    numerator = V @ scores + F[None, :] * (p.C0 @ Q)
    normaliser = scores.sum(axis=0) + F * (p.n0.T @ Q)[0]
    return O * numerator / np.maximum(np.abs(normaliser), 1)


SIZES = [EX.presets["small"], EX.presets["medium"], EX.presets["large"], dict(d_in=2, d=1, T=6),
         dict(d_in=5, d=3, T=1)]


@pytest.mark.parametrize("memory", ["empty", "given"])
@pytest.mark.parametrize("size", SIZES, ids=str)
def test_recurrence_equals_the_parallel_form_and_the_stabilised_form(size, memory):
    d = Dims(size)
    rng = np.random.default_rng(sum(size.values()))
    n = lambda *shape: rng.normal(size=shape)  # noqa: E731
    p = Params(X=n(d.d_in, d.T), Wq=n(d.d, d.d_in), bq=n(d.d, 1), Wk=n(d.d, d.d_in), bk=n(d.d, 1),
               Wv=n(d.d, d.d_in), bv=n(d.d, 1), wi=0.5 * n(1, d.d_in), bi=float(n()), wf=n(1, d.d_in),
               bf=float(n()), Wo=n(d.d, d.d_in), bo=n(d.d, 1),
               C0=n(d.d, d.d) if memory == "given" else np.zeros((d.d, d.d)),
               n0=n(d.d, 1) if memory == "given" else np.zeros((d.d, 1)))
    plain = EX.reference(d, p)
    np.testing.assert_allclose(plain["H"], parallel_mlstm(p, d), rtol=1e-10, atol=1e-12)
    stable = EX.reference(d, p, stabilized=True)
    np.testing.assert_allclose(stable["H"], plain["H"], rtol=1e-10, atol=1e-12)
    for t in range(1, d.T + 1):  # the stabilised memory is the plain one scaled by e^−m_t
        np.testing.assert_allclose(stable[f"C_{t}"] * np.exp(stable[f"m_{t}"]), plain[f"C_{t}"], rtol=1e-10, atol=1e-12)


def test_the_denominator_reads_the_query():
    """den_t = max(|n_tᵀ·q_t|, 1): the normaliser against the query (hand-made sheets used the input gate)."""
    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    for t in (1, 2):
        assert ref[f"den_{t}"].item() == pytest.approx(max(abs((ref[f"n_{t}"].T @ ref[f"q_{t}"]).item()), 1))


def test_default_numbers():
    r = resolve(EX)
    assert set(r.sources.values()) == {"template"}
    assert not r.params.C0.any() and not r.params.n0.any()  # the memory starts empty
    ref = EX.reference(r.dims, r.params)
    np.testing.assert_allclose(ref["Wk_s"], r.params.Wk / math.sqrt(2))
    assert ref["den_1"].item() == 1  # |n_1ᵀq_1| = 0.73 < 1
    assert ref["den_2"].item() == pytest.approx(2.596, abs=1e-3)
    assert EX.accept(r.dims, r.params)


@pytest.mark.parametrize("stabilized", [False, True])
@pytest.mark.parametrize("size", ["small", "medium"])
def test_both_forms_build_and_verify(tmp_path, stabilized, size):
    path = build(tmp_path, "xlstm", size=size, options={"stabilized": stabilized})
    assert_verified(path, ("ironcalc", "formulas") if size == "small" else ("ironcalc",))


@pytest.mark.parametrize("stabilized", [False, True])
def test_each_step_is_one_line_with_either_form(stabilized):
    """The header's steps one line each at small and medium, A4 and Letter (test_pages checks the default
    form only): the gates and the memory of step 1 each their own number, the stabiliser one number for
    every step (its blocks under each step's gates)."""
    for size in ("small", "medium"):
        r = resolve(EX, size=size, options={"stabilized": stabilized})
        sheet = key_sheet(r, "student")
        assert sheet.steps[1].startswith("Step 1: gates ")
        assert any(text.startswith("Each step t: m_t = max(") for text in sheet.steps) == stabilized
        for paper in ("a4", "letter"):
            grid = page_plan(r, paper, student=True)
            width = max(grid.first_page_last_col, MARGIN_COLS + HEADER_MIN_COLS - 1) - MARGIN_COLS
            wrapped = [k for k, text in enumerate(sheet.steps, start=1) if text_lines(text, width) > 1]
            assert not wrapped, f"{size} {paper}: steps {wrapped} wrap in {width} columns"


def test_a_given_memory_builds_and_verifies(tmp_path):
    import yaml

    params = tmp_path / "mine.yaml"
    params.write_text(yaml.safe_dump({"values": {"C0": [[1, -0.5], [0.5, 2]], "n0": [0.5, -1]}}))
    assert_verified(build(tmp_path, "xlstm", params_path=params, options={"stabilized": True}))


def test_bad_input_is_refused(tmp_path):
    line = rejected_build(tmp_path, "xlstm", "--opt", "stabilized=maybe")
    assert "stabilized" in line and "false, true" in line
    (tmp_path / "shape").mkdir()
    line = rejected_build(tmp_path / "shape", "xlstm", params={"values": {"C0": [[0, 0, 0]]}})
    assert "'C0'" in line and "2x2" in line
