"""conv1d: the im2col reference against NumPy's own correlation, and a kernel wider than the input."""
from __future__ import annotations

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.model.givens import Dims, Params

EX = catalog.get("conv1d")


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_reference_equals_a_sum_of_channel_correlations(size):
    """nn.Conv1d computes a cross-correlation: Y[o] = Σ_c correlate(X[c], W[o, c]) + b[o]."""
    d = Dims(EX.presets[size])
    rng = np.random.default_rng(7)
    p = Params(X=rng.normal(size=(d.c_in, d.n)), W=rng.normal(size=(d.c_out, d.c_in * d.k)),
               b=rng.normal(size=(d.c_out, 1)))
    ref = EX.reference(d, p)
    kernels = p.W.reshape(d.c_out, d.c_in, d.k)
    expected = np.array([sum(np.correlate(p.X[c], kernels[o, c], mode="valid") for c in range(d.c_in))
                         for o in range(d.c_out)]) + p.b
    np.testing.assert_allclose(ref["Y"], expected, rtol=1e-12)
    np.testing.assert_allclose(ref["A"], np.maximum(expected, 0), rtol=1e-12)


def test_the_default_edge_detector_by_hand():
    """Kernel [−1, 0, 1] on [1, 3, 2, −1, 0, 2]: 2−1, −1−3, 0−2, 2+1 = [1, −4, −2, 3]."""
    from xlhand.model.resolve import resolve

    r = resolve(EX)
    assert EX.reference(r.dims, r.params)["Y"][0].tolist() == [1, -4, -2, 3]


def test_a_kernel_wider_than_the_input_is_refused(tmp_path):
    message = rejected_build(tmp_path, "conv1d", "--set", "k=7")
    assert "wider than the input" in message
