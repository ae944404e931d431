"""linear-layer: Z = W·X + b against einsum and a loop, the parameter and multiplication counts,
and a badly shaped weight matrix."""
from __future__ import annotations

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.model.givens import Dims, Params

EX = catalog.get("linear-layer")


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_reference_against_einsum_and_counts(size):
    d = Dims(EX.presets[size])
    rng = np.random.default_rng(2)
    p = Params(X=rng.normal(size=(d.n_in, d.batch)), W=rng.normal(size=(d.n_out, d.n_in)),
               b=rng.normal(size=(d.n_out, 1)))
    ref = EX.reference(d, p)
    np.testing.assert_allclose(ref["Z"], np.einsum("oi,ib->ob", p.W, p.X) + p.b[:, 0][:, None], rtol=1e-12)
    for o in range(d.n_out):
        for s in range(d.batch):
            assert ref["Z"][o, s] == pytest.approx(sum(p.W[o, i] * p.X[i, s] for i in range(d.n_in)) + p.b[o, 0])
    assert ref["nparams"] == d.n_out * d.n_in + d.n_out  # nn.Linear(n_in, n_out): weight and bias
    assert ref["nmults"] == d.n_out * d.n_in * d.batch


def test_wrong_weight_shape_is_one_line_exit_2_and_no_file(tmp_path):
    message = rejected_build(tmp_path, "linear-layer",
                             params="exercise: linear-layer\nvalues:\n  W: [[1, 2], [3, 4]]\n")
    assert "'W'" in message and "2x3" in message
