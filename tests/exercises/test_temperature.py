"""temperature: softmax(z / T) by hand for each temperature, the greedy choice, and bad temperatures."""
from __future__ import annotations

import math

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve

EX = catalog.get("temperature")


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_each_column_is_softmax_of_z_over_t(size):
    dims = Dims(EX.presets[size])
    rng = np.random.default_rng(1)
    z = rng.normal(size=(dims.n, 1)) * 2
    T = np.array([[0.25, 0.5, 1, 2, 4, 10][:dims.temps]])
    ref = EX.reference(dims, Params(z=z, T=T))
    best = max(range(dims.n), key=lambda i: z[i, 0])
    for k, t in enumerate(T[0]):
        exps = [math.exp(v / t) for v in z[:, 0]]
        probs = [e / math.fsum(exps) for e in exps]
        np.testing.assert_allclose(ref["P"][:, k], probs, rtol=1e-12)
        assert ref["greedy"][0, k] == best + 1  # the same choice at every temperature
        assert ref["pmax"][0, k] == pytest.approx(max(probs), rel=1e-12)


def test_low_temperature_sharpens_and_high_flattens():
    dims = Dims(n=4, temps=3)
    z = np.array([[1.0], [3.0], [0.0], [2.0]])
    ref = EX.reference(dims, Params(z=z, T=np.array([[0.05, 1, 1000]])))
    assert ref["P"][1, 0] == pytest.approx(1.0, abs=1e-8)
    np.testing.assert_allclose(ref["P"][:, 2], 0.25, atol=1e-3)
    assert ref["pmax"][0, 0] > ref["pmax"][0, 1] > ref["pmax"][0, 2]


def test_random_temperatures_are_positive_distinct_and_include_one():
    for seed in range(8):
        T = resolve(EX, size="large", seed=seed).params.T[0]
        assert (T > 0).all() and len(set(T)) == len(T) and 1.0 in T and list(T) == sorted(T)


@pytest.mark.parametrize("bad", ["[[0.5, 0, 2]]", "[[0.5, -1, 2]]"])
def test_non_positive_temperature_is_one_line_exit_2_and_no_file(tmp_path, bad):
    message = rejected_build(tmp_path, "temperature", params=f"exercise: temperature\nvalues:\n  T: {bad}\n")
    assert "'T'" in message and "positive" in message
