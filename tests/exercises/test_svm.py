"""svm: the reference against a separately written loop over support vectors and test points, the
subgradient step against finite differences of the hinge loss, the default numbers (an exact
soft-margin SVM whose kernels disagree on one test point), the bad inputs, and both values of the
option building and verifying."""
from __future__ import annotations

import math

import numpy as np
import pytest
from support import assert_verified, build, finite_difference, rejected_build

from xlhand.model import catalog
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve

EX = catalog.get("svm")


def loop_svm(p, train):
    """f(x) = Σ_i α_i y_i k(x_i, x) + b for each test point, one support vector at a time, with
    k(u, v) = u·v and k(u, v) = exp(−γ Σ_k (u_k − v_k)²); and the primal quantities by hand."""
    n_sv, n_test = p.Xtr.shape[1], p.Xte.shape[1]
    sv = [[float(v) for v in p.Xtr[:, i]] for i in range(n_sv)]
    tests = [[float(v) for v in p.Xte[:, t]] for t in range(n_test)]
    out = {"score_lin": [], "score_rbf": [], "class_lin": [], "class_rbf": []}
    for x in tests:
        lin = p.b + sum(float(p.alpha[0, i] * p.y[0, i]) * sum(a * c for a, c in zip(sv[i], x)) for i in range(n_sv))
        rbf = p.b + sum(float(p.alpha[0, i] * p.y[0, i])
                        * math.exp(-p.gamma * sum((a - c) ** 2 for a, c in zip(sv[i], x))) for i in range(n_sv))
        out["score_lin"].append(lin)
        out["score_rbf"].append(rbf)
        out["class_lin"].append((lin > 0) - (lin < 0))
        out["class_rbf"].append((rbf > 0) - (rbf < 0))
    if train:
        w = [sum(p.alpha[0, i] * p.y[0, i] * sv[i][k] for i in range(n_sv)) for k in range(len(sv[0]))]
        margins = [p.y[0, i] * (sum(a * c for a, c in zip(w, sv[i])) + p.b) for i in range(n_sv)]
        hinge = [max(0.0, 1 - m) for m in margins]
        out["w"] = w
        out["L"] = p.lam / 2 * sum(v * v for v in w) + sum(hinge) / n_sv
        active = [i for i in range(n_sv) if margins[i] < 1]
        dw = [p.lam * w[k] - sum(p.y[0, i] * sv[i][k] for i in active) / n_sv for k in range(len(w))]
        db = -sum(p.y[0, i] for i in active) / n_sv
        out["wn"] = [w[k] - p.lr * dw[k] for k in range(len(w))]
        out["bn"] = p.b - p.lr * db
    return out


def random_params(d, seed):
    rng = np.random.default_rng(seed)
    return Params(Xtr=rng.normal(size=(d.d, d.n_sv)), y=rng.choice([-1.0, 1.0], size=(1, d.n_sv)),
                  alpha=rng.uniform(0, 1, size=(1, d.n_sv)), Xte=rng.normal(size=(d.d, d.n_test)),
                  gamma=float(rng.uniform(0.1, 1)), b=float(rng.normal()), lam=0.1, lr=0.5)


@pytest.mark.parametrize("size", ["small", "medium", "large"])
@pytest.mark.parametrize("train", [False, True])
def test_reference_equals_a_loop_over_support_vectors(size, train):
    d = Dims(EX.presets[size])
    p = random_params(d, 11)
    ref = EX.reference(d, p, train=train)
    loop = loop_svm(p, train)
    for name in ("score_lin", "score_rbf", "class_lin", "class_rbf"):
        np.testing.assert_allclose(ref[name][0], loop[name], rtol=1e-12, err_msg=name)
    # D2 as ‖x_i‖² + ‖x_t‖² − 2 x_i·x_t
    sq = (p.Xtr ** 2).sum(axis=0)[:, None] + (p.Xte ** 2).sum(axis=0)[None, :] - 2 * p.Xtr.T @ p.Xte
    np.testing.assert_allclose(ref["D2"], sq, rtol=1e-9, atol=1e-12)
    if train:
        np.testing.assert_allclose(ref["w"][:, 0], loop["w"], rtol=1e-12)
        np.testing.assert_allclose(ref["L"], loop["L"], rtol=1e-12)
        np.testing.assert_allclose(ref["wn"][:, 0], loop["wn"], rtol=1e-12)
        np.testing.assert_allclose(ref["bn"], loop["bn"], rtol=1e-12)


def test_the_subgradient_is_the_gradient_away_from_the_kinks():
    """Where no margin is exactly 1 the hinge loss is differentiable: dw and db equal its finite differences."""
    d = Dims(EX.presets["medium"])
    p = random_params(d, 4)
    ref = EX.reference(d, p, train=True)
    assert np.abs(ref["margin"] - 1).min() > 1e-3

    def loss(w, b):
        hinge = np.maximum(0, 1 - p.y * (w.T @ p.Xtr + b))
        return p.lam / 2 * (w ** 2).sum() + hinge.mean()

    np.testing.assert_allclose(ref["dw"], finite_difference(lambda w: loss(w, p.b), ref["w"]), atol=1e-6)
    np.testing.assert_allclose(ref["db"], finite_difference(lambda b: loss(ref["w"], float(b)), p.b), atol=1e-6)


def test_the_default_numbers_are_an_exact_soft_margin_svm_whose_kernels_disagree():
    r = resolve(EX)
    assert set(r.sources.values()) == {"template"}
    p = r.params
    ref = EX.reference(r.dims, p, train=True)
    alpha, margin = p.alpha[0], ref["margin"][0]
    assert (alpha * p.y[0]).sum() == 0  # the dual's constraint
    # KKT of the soft-margin SVM with C = 1
    assert all(margin[alpha == 0] > 1) and all(margin[alpha == 0.5] == 1) and all(margin[alpha == 1] < 1)
    assert ref["class_lin"][0].tolist() == [1, -1] and ref["class_rbf"][0].tolist() == [-1, -1]
    assert ref["score_lin"][0].tolist() == [0.5, -0.5]
    assert ref["w"][:, 0].tolist() == [1, -0.5, 0.5] and ref["hinge"][0].tolist() == [0.5, 0, 0, 1, 0, 0]


@pytest.mark.parametrize("train", ["false", "true"])
def test_each_option_builds_and_verifies(tmp_path, train):
    assert_verified(build(tmp_path, "svm", options={"train": train}))


def bad(tmp_path, values: str) -> str:
    return rejected_build(tmp_path, "svm", params="exercise: svm\nvalues:\n" + values)


def test_a_negative_alpha_is_refused(tmp_path):
    line = bad(tmp_path, "  alpha: [[1, 0.5, 0, -1, 0.5, 0]]\n")
    assert "'alpha'" in line and "entry 4" in line


def test_a_class_other_than_plus_or_minus_one_is_refused(tmp_path):
    line = bad(tmp_path, "  y: [[-1, 1, 0, 1, -1, 1]]\n")
    assert "'y'" in line and "entry 3" in line


@pytest.mark.parametrize("gamma", ["0", "-0.5"])
def test_a_gamma_of_zero_or_less_is_refused(tmp_path, gamma):
    line = bad(tmp_path, f"  gamma: {gamma}\n")
    assert "'gamma'" in line and "greater than 0" in line


def test_a_test_point_on_the_decision_boundary_is_refused(tmp_path):
    line = bad(tmp_path, "  b: -1\n")  # test point 1's linear score becomes 0
    assert "'Xte'" in line and "boundary" in line
