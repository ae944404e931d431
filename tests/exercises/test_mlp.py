"""mlp: the NumPy reference against a forward pass written with plain loops, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.model.resolve import resolve

EX = catalog.get("mlp")


def loop_forward(p):
    """Neuron by neuron, sample by sample."""
    def layer(W, b, A, relu):
        out = np.zeros((W.shape[0], A.shape[1]))
        for j in range(A.shape[1]):
            for i in range(W.shape[0]):
                z = b[i, 0] + sum(W[i, k] * A[k, j] for k in range(W.shape[1]))
                out[i, j] = max(z, 0.0) if relu else z
        return out

    A1 = layer(p.W1, p.b1, p.X, True)
    A2 = layer(p.W2, p.b2, A1, True)
    return A1, A2, layer(p.W3, p.b3, A2, False)


@pytest.mark.parametrize("kw", [{}, {"size": "large"}, {"seed": 4}, {"sets": {"batch": 1, "h1": 5}, "seed": 9}])
def test_reference_matches_loops(kw):
    r = resolve(EX, **kw)
    ref = EX.reference(r.dims, r.params)
    A1, A2, Y = loop_forward(r.params)
    np.testing.assert_allclose(ref["A1"], A1)
    np.testing.assert_allclose(ref["A2"], A2)
    np.testing.assert_allclose(ref["Y"], Y)
    assert ref["Y"].shape == (r.dims.n_out, r.dims.batch)


def test_default_numbers_by_hand():
    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    np.testing.assert_array_equal(ref["Z1"], [[-1, 1], [1, 2], [2, -1]])
    np.testing.assert_array_equal(ref["Z2"], [[1, -1], [-2, 3]])
    np.testing.assert_array_equal(ref["Y"], [[2, -3], [0, 4]])


def test_bad_shape_is_a_one_line_error(tmp_path):
    message = rejected_build(tmp_path, "mlp", params="exercise: mlp\nvalues:\n  W2: [[1, 2, 3]]\n")
    assert "'W2'" in message and "2x3" in message, message
