"""autograd: the reference's node-by-node gradients equal finite differences of the neuron's
output, and the defaults reproduce the numbers of Karpathy's micrograd lecture."""
from __future__ import annotations

import numpy as np
import pytest

from support import finite_difference, rejected_build
from xlhand.model import catalog
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve

EX = catalog.get("autograd")


def neuron(x, w, b):
    """The forward pass written directly: o = tanh(x·w + b)."""
    return np.tanh(float(x.ravel() @ w.ravel()) + b)


@pytest.mark.parametrize("n_in,seed", [(2, None), (1, 1), (3, 2), (4, 3), (6, 4)])
def test_gradients_match_finite_differences(n_in, seed):
    r = resolve(EX, sets={"n_in": n_in}, seed=seed)
    p = r.params
    ref = EX.reference(r.dims, p)
    assert np.allclose(ref["dx"], finite_difference(lambda x: neuron(x, p.w, p.b), p.x), atol=1e-7)
    assert np.allclose(ref["dw"], finite_difference(lambda w: neuron(p.x, w, p.b), p.w), atol=1e-7)
    assert np.isclose(ref["db"], finite_difference(lambda b: neuron(p.x, p.w, b[()]), np.array(p.b)), atol=1e-7)
    assert np.isclose(ref["o"], neuron(p.x, p.w, p.b))


def test_upstream_gradient_scales_every_gradient():
    r = resolve(EX)
    p = Params(dict(r.params, do=-2.0))
    base, scaled = EX.reference(r.dims, r.params), EX.reference(r.dims, p)
    for key in ("dn", "ds", "db", "dxw", "dx", "dw"):
        assert np.allclose(scaled[key], -2.0 * np.asarray(base[key]))


def test_defaults_are_the_micrograd_lecture_numbers():
    ref = EX.reference(Dims(n_in=2), resolve(EX).params)
    assert ref["o"] == pytest.approx(0.7071, abs=1e-4)
    assert ref["dn"] == pytest.approx(0.5)
    assert np.allclose(ref["dx"].ravel(), [-1.5, 0.5])
    assert np.allclose(ref["dw"].ravel(), [1.0, 0.0])


def test_bad_shape_is_a_clear_error(tmp_path):
    message = rejected_build(tmp_path, "autograd",
                             params="exercise: autograd\ndims: {n_in: 2}\nvalues:\n  x: [1, 2, 3]\n")
    assert "'x'" in message and "2x1" in message
