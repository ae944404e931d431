"""self-attention: the NumPy reference against einsum and an explicit softmax loop; bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.model.givens import Params
from xlhand.model.resolve import resolve

EX = catalog.get("self-attention")


def by_einsum(X, Wq, Wk, Wv, E=None):
    E = X if E is None else E
    Q = np.einsum("kd,dn->kn", Wq, X)
    K = np.einsum("ke,em->km", Wk, E)
    V = np.einsum("ve,em->vm", Wv, E)
    S = np.einsum("kj,ki->ji", K, Q) / math.sqrt(Wq.shape[0])
    A = np.zeros_like(S)
    for i in range(S.shape[1]):  # softmax of each column, one query at a time
        e = [math.exp(v) for v in S[:, i]]
        A[:, i] = [v / sum(e) for v in e]
    F = np.einsum("vj,ji->vi", V, A)
    return dict(Q=Q, K=K, V=V, S=S, A=A, F=F)


@pytest.mark.parametrize("kw", [{}, {"size": "medium"}, {"size": "large"}, {"seed": 13},
                                {"sets": {"n": 1}, "seed": 1}])
def test_reference_matches_einsum(kw):
    r = resolve(EX, **kw)
    ref = EX.reference(r.dims, r.params)
    expected = by_einsum(r.params.X, r.params.Wq, r.params.Wk, r.params.Wv)
    for name, value in expected.items():
        np.testing.assert_allclose(ref[name], value, rtol=1e-12, atol=1e-14, err_msg=name)
    n = r.dims.n
    assert ref["S"].shape == (n, n)


def test_permuting_tokens_permutes_the_output():
    r = resolve(EX, size="medium")
    perm = np.array([2, 0, 3, 1])
    p = Params(r.params)
    p["X"] = r.params.X[:, perm]
    np.testing.assert_allclose(EX.reference(r.dims, p)["F"], EX.reference(r.dims, r.params)["F"][:, perm])


def test_default_scores_by_hand():
    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    np.testing.assert_allclose(ref["S"] * math.sqrt(2), [[-1, 2, 1], [2, -1, 1], [1, 1, 2]])
    assert list(ref["A"].argmax(axis=0)) == [1, 0, 2]


def test_bad_weights_are_a_one_line_error(tmp_path):
    message = rejected_build(tmp_path, "self-attention",
                             params="exercise: self-attention\nvalues:\n  Wk: [[1, 0], [0, 1]]\n")
    assert "'Wk'" in message and "2x3" in message, message
