"""softmax's NumPy reference against the math written out with the math module, and its bad inputs."""
from __future__ import annotations

import math

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve

EX = catalog.get("softmax")


def by_hand(scores: list[float]) -> list[float]:
    exps = [math.exp(v) for v in scores]
    total = math.fsum(exps)
    return [e / total for e in exps]


@pytest.mark.parametrize("size", ["small", "medium", "large"])
@pytest.mark.parametrize("seed", [0, 5])
def test_softmax_and_sigmoid_by_hand(size, seed):
    rng = np.random.default_rng(seed)
    dims = Dims(EX.presets[size])
    p = Params(z=rng.normal(size=(dims.n, 1)) * 2, x=rng.normal(size=(1, dims.m)) * 3)
    ref = EX.reference(dims, p)
    np.testing.assert_allclose(ref["P"][:, 0], by_hand(p.z[:, 0].tolist()), rtol=1e-13)
    top = max(p.z[:, 0])
    assert ref["P_max"][0, 0] == top
    assert ref["P_sum"][0, 0] == pytest.approx(math.fsum(math.exp(v - top) for v in p.z[:, 0]), rel=1e-13)
    assert ref["P"].sum() == pytest.approx(1.0, rel=1e-13)
    for j, x in enumerate(p.x[0]):
        sigma = 1 / (1 + math.exp(-x))
        assert ref["sig"][0, j] == pytest.approx(sigma, rel=1e-13)
        assert ref["Q"][:, j] == pytest.approx(by_hand([x, 0.0]), rel=1e-13)  # σ(x) = softmax([x, 0])[0]
        assert ref["Q"][1, j] == pytest.approx(1 - sigma, rel=1e-12)


def test_default_numbers_by_hand():
    """e^1 + e^3 + e^0 + e^2 + e^-1 = 31.561…; P(3) = 20.0855 / 31.5608 = 0.6364. On the sheet every
    exponent is shifted by the largest score, 3: the sum is 31.5608 / e^3 = 1.5713, P unchanged."""
    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    assert ref["P_sum"][0, 0] == pytest.approx(31.5608 / math.exp(3), abs=1e-4)
    assert ref["P"][1, 0] == pytest.approx(0.63641, abs=1e-5)
    assert ref["sig"][0].tolist() == pytest.approx([0.880797, 0.268941], abs=1e-6)


def test_random_variants_are_instructive():
    for seed in range(10):
        r = resolve(EX, size="medium", seed=seed)
        P = EX.reference(r.dims, r.params)["P"]
        assert 0.3 < P.max() < 0.9


def test_wrong_shape_is_one_line_exit_2_and_no_file(tmp_path):
    message = rejected_build(tmp_path, "softmax",
                             params="exercise: softmax\ndims: {n: 5, m: 2}\nvalues:\n  z: [1, 2, 3]\n")
    assert "'z'" in message and "5x1" in message


def test_huge_scores_build_because_the_max_is_subtracted(tmp_path):
    """z = 800 overflows EXP in a spreadsheet (#NUM!); e^(z − max) never does."""
    from support import build

    path = tmp_path / "p.yaml"
    path.write_text("exercise: softmax\nvalues:\n  z: [800, 1, 2, 3, 4]\n")
    built = build(tmp_path, "softmax", params_path=path)
    from xlhand.check import check_file

    report = check_file(built)
    assert report.ok, report.mismatches[:3]


def test_a_sigmoid_input_that_overflows_is_refused_naming_it(tmp_path):
    message = rejected_build(tmp_path, "softmax", params="exercise: softmax\nvalues:\n  x: [-800, 2]\n")
    assert "overflow" in message and "x = -800" in message


def test_the_sigmoid_curve_is_the_two_class_softmax(tmp_path):
    """σ(x) and softmax([x; 0])'s first row over x = −6 … 6, each written as its own formula, agree
    (one curve in the chart), and the chart is a native scatter of the sheet's cells."""
    import zipfile

    from support import build

    ref = EX.reference(Dims(EX.presets["small"]), resolve(EX).params)
    x = np.arange(-6, 6.25, 0.5)
    np.testing.assert_allclose(ref["curve_sig"][:, 0], [1 / (1 + math.exp(-v)) for v in x], rtol=1e-13)
    np.testing.assert_allclose(ref["curve_soft"][:, 0], [by_hand([v, 0.0])[0] for v in x], rtol=1e-13)
    path = build(tmp_path, "softmax")
    with zipfile.ZipFile(path) as zf:
        charts = [zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 1 and "<c:scatterChart>" in charts[0] and charts[0].count("<c:ser>") == 2
