"""backprop's NumPy reference against the math: gradients by central finite differences of the loss."""
from __future__ import annotations

import numpy as np
import pytest

from support import finite_difference
from xlhand.model import catalog
from xlhand.model.givens import Dims, Params

EX = catalog.get("backprop")


def loss(p: dict) -> float:
    """The forward pass and cross-entropy, written out on its own."""
    a = p["X"]
    for k in (1, 2):
        a = np.maximum(p[f"W{k}"] @ a + p[f"b{k}"], 0)
    z = p["W3"] @ a + p["b3"]
    prob = np.exp(z) / np.exp(z).sum(axis=0)
    return float(-(p["Y"] * np.log(prob)).sum())


def random_params(dims: Dims, seed: int) -> Params:
    """Real-valued numbers keep every pre-activation away from ReLU's kink at 0."""
    rng = np.random.default_rng(seed)
    shapes = {g.name: g.size(dims) for g in EX.givens}
    p = Params({name: rng.normal(size=shape) for name, shape in shapes.items() if shape})
    p["Y"] = np.eye(dims["n_out"])[:, rng.integers(0, dims["n_out"], dims["batch"])]
    p["lr"] = 0.1
    return p


@pytest.mark.parametrize("size", ["small", "medium", "large"])
@pytest.mark.parametrize("seed", [0, 1])
def test_gradients_match_finite_differences(size, seed):
    dims = Dims(EX.presets[size])
    p = random_params(dims, seed)
    ref = EX.reference(dims, p)
    assert ref["L"] == pytest.approx(loss(p), rel=1e-12)
    for name in ("W1", "b1", "W2", "b2", "W3", "b3"):
        numeric = finite_difference(lambda v: loss({**p, name: v}), p[name])
        np.testing.assert_allclose(ref[f"d{name}"], numeric, rtol=1e-5, atol=1e-7, err_msg=name)
        np.testing.assert_allclose(ref[f"{name}n"], p[name] - 0.1 * numeric, rtol=1e-5, atol=1e-7)


def test_relu_derivative_at_zero_is_zero():
    dims = Dims(EX.presets["small"])
    p = random_params(dims, 3)
    p["b1"] = -(p["W1"] @ p["X"])  # every Z1 entry exactly 0
    ref = EX.reference(dims, p)
    assert np.all(ref["Z1"] == 0) and np.all(ref["dZ1"] == 0)


def test_default_numbers_teach_something():
    from xlhand.model.resolve import resolve

    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    assert (ref["A1"] == 0).any() and (ref["A1"] > 0).any()
    assert (ref["A2"] == 0).any() and (ref["A2"] > 0).any()
    assert ref["P"].max() < 0.9


def test_three_iterations_build_verify_and_lower_the_loss(tmp_path):
    """--opt iters=3: every iteration laid out (iteration k ≥ 2 from copies of the last updates),
    recalculated by two engines against the reference's own three iterations; the loss falls."""
    from support import assert_verified, build
    from xlhand.build import key_sheet
    from xlhand.model.resolve import resolve

    path = build(tmp_path, "backprop", options={"iters": 3})
    assert_verified(path)
    r = resolve(EX, options={"iters": 3})
    ref = EX.reference(r.dims, r.params, iters=3)
    losses = ref["losses"][0]
    assert losses.tolist() == [ref["L"], ref["L_2"], ref["L_3"]]
    assert losses[0] > losses[1] > losses[2]
    np.testing.assert_array_equal(ref["W1_3"], ref["W1_2n"])  # iteration 3 starts from iteration 2's update
    sheet = key_sheet(r)
    assert {"X_2", "W1_2", "b3_3", "dW1_3", "W3_3n", "losses"} <= set(sheet.blocks)
    assert [c.kind for c in sheet.charts] == ["line"]


def test_one_iteration_is_the_plain_exercise():
    from xlhand.model.resolve import resolve

    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    assert "losses" not in ref and not any(name.endswith("_2") for name in ref)
    np.testing.assert_array_equal(ref["W1n"], EX.reference(r.dims, r.params, iters=2)["W1_2"])


def test_iters_from_the_command_line(tmp_path):
    """--opt iters=N is read as a whole number from 1 to 10; anything else is one line, no file."""
    from click.testing import CliRunner

    from support import rejected_build
    from xlhand.cli import cli

    result = CliRunner().invoke(cli, ["build", "backprop", "--opt", "iters=2", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "iters" in rejected_build(tmp_path, "backprop", "--opt", "iters=11")
