"""cross-attention: the NumPy reference against einsum; rectangular scores; bad input."""
from __future__ import annotations

import numpy as np
import pytest
from support import rejected_build
from test_self_attention import by_einsum

from xlhand.model import catalog
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve

EX = catalog.get("cross-attention")


@pytest.mark.parametrize("kw", [{}, {"size": "medium"}, {"size": "large"}, {"seed": 5},
                                {"sets": {"n_kv": 1, "n_q": 3}, "seed": 3}])
def test_reference_matches_einsum(kw):
    r = resolve(EX, **kw)
    p = r.params
    ref = EX.reference(r.dims, p)
    expected = by_einsum(p.X, p.Wq, p.Wk, p.Wv, E=p.E)
    for name, value in expected.items():
        np.testing.assert_allclose(ref[name], value, rtol=1e-12, atol=1e-14, err_msg=name)
    assert ref["S"].shape == (r.dims.n_kv, r.dims.n_q)
    assert ref["F"].shape == (r.dims.d_v, r.dims.n_q)


def test_with_e_equal_x_it_is_self_attention():
    self_ex = catalog.get("self-attention")
    r = resolve(self_ex)
    p = r.params
    dims = Dims(d=r.dims.d, d_e=r.dims.d, d_k=r.dims.d_k, d_v=r.dims.d_v, n_q=r.dims.n, n_kv=r.dims.n)
    cross = EX.reference(dims, Params(X=p.X, E=p.X, Wq=p.Wq, Wk=p.Wk, Wv=p.Wv))
    own = self_ex.reference(r.dims, p)
    for name in "QKVSAF":
        np.testing.assert_allclose(cross[name], own[name])


def test_a_query_sees_only_the_other_sequence():
    """Changing another query token leaves query 1's output alone; changing E moves it."""
    r = resolve(EX)
    p = r.params
    base = EX.reference(r.dims, p)["F"][:, 0]
    X2 = p.X.copy()
    X2[:, 1] += 1
    np.testing.assert_allclose(EX.reference(r.dims, Params({**p, "X": X2}))["F"][:, 0], base)
    E2 = p.E.copy()
    E2[:, 0] += 1
    assert not np.allclose(EX.reference(r.dims, Params({**p, "E": E2}))["F"][:, 0], base)


def test_bad_sequence_is_a_one_line_error(tmp_path):
    message = rejected_build(tmp_path, "cross-attention",
                             params="exercise: cross-attention\nvalues:\n  E: [[1, 2], [3, 4]]\n")
    assert "'E'" in message and "2x3" in message, message
