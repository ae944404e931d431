"""autoencoder: the NumPy reference's gradients against finite differences of the loss, and the
defaults' numbers; the generic tests (test_catalog, test_libreoffice) cover the workbook."""
from __future__ import annotations

import numpy as np
import pytest

from support import finite_difference, rejected_build
from xlhand.model import catalog
from xlhand.model.givens import AttrDict
from xlhand.model.resolve import resolve

EX = catalog.get("autoencoder")
PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4")


def loss(p) -> float:
    """The forward pass and MSE written out again, independently of the reference."""
    a = p["X"]
    for k in range(1, 5):
        z = p[f"W{k}"] @ a + p[f"b{k}"]
        a = np.where(z > 0, z, 0.0) if k < 4 else z
    return float(np.mean((a - p["X"]) ** 2))


def random_params(rng, d, h, k, batch):
    shapes = dict(X=(d, batch), W1=(h, d), b1=(h, 1), W2=(k, h), b2=(k, 1), W3=(h, k), b3=(h, 1),
                  W4=(d, h), b4=(d, 1))
    p = AttrDict({name: rng.normal(size=shape) for name, shape in shapes.items()})
    p["lr"] = 0.1
    return p


@pytest.mark.parametrize("seed,dims", [(0, (4, 3, 2, 2)), (1, (6, 4, 2, 3)), (2, (8, 6, 3, 4))])
def test_gradients_match_finite_differences(seed, dims):
    rng = np.random.default_rng(seed)
    d = AttrDict(zip(("d", "h", "k", "batch"), dims))
    p = random_params(rng, *dims)
    ref = EX.reference(d, p)
    assert ref["L"] == pytest.approx(loss(p), rel=1e-12)
    for name in PARAMS:
        numeric = finite_difference(lambda v: loss(AttrDict({**p, name: v})), p[name])
        np.testing.assert_allclose(ref[f"d{name}"], numeric, atol=1e-6, err_msg=f"d{name}")
        np.testing.assert_allclose(ref[f"{name}n"], p[name] - 0.1 * numeric, atol=1e-6)


def test_a_gradient_step_lowers_the_loss():
    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    stepped = AttrDict(r.params)
    stepped.update({name: ref[f"{name}n"] for name in PARAMS})
    assert loss(stepped) < loss(r.params)


def test_defaults_are_instructive():
    r = resolve(EX)
    assert set(r.sources.values()) == {"template"}
    ref = EX.reference(r.dims, r.params)
    for z in ("Z1", "Z2", "Z3"):
        assert (ref[z] > 0).any() and (ref[z] < 0).any(), z
    assert np.abs(ref["dW1"]).max() > 0
    assert ref["L"] == pytest.approx(0.875)


def test_bad_shape_is_a_one_line_error(tmp_path):
    message = rejected_build(tmp_path, "autoencoder", params="exercise: autoencoder\nvalues:\n  W2: [[1, 2], [3, 4]]\n")
    assert "W2" in message


@pytest.mark.slow  # three iterations in the formulas engine
def test_three_iterations_build_verify_and_lower_the_loss(tmp_path):
    """--opt iters=3: every iteration laid out (iteration k ≥ 2 from copies of the last updates),
    recalculated by two engines against the reference's own three iterations; the loss falls."""
    from support import assert_verified, build
    from xlhand.build import key_sheet

    path = build(tmp_path, "autoencoder", options={"iters": 3})
    assert_verified(path)
    r = resolve(EX, options={"iters": 3})
    ref = EX.reference(r.dims, r.params, iters=3)
    losses = ref["losses"][0]
    assert losses.tolist() == [ref["L"], ref["L_2"], ref["L_3"]]
    assert losses[0] > losses[1] > losses[2]
    # the reference's iteration 2 is one gradient step from iteration 1's updated weights
    stepped = AttrDict(r.params)
    stepped.update({name: ref[f"{name}n"] for name in PARAMS})
    assert ref["L_2"] == pytest.approx(loss(stepped), rel=1e-12)
    sheet = key_sheet(r)
    assert {"X_2", "W4_2", "Code_3", "dW1_3", "b4_3n", "losses"} <= set(sheet.blocks)
    assert [c.kind for c in sheet.charts] == ["line"]


def test_iters_out_of_range_is_one_line_and_no_file(tmp_path):
    message = rejected_build(tmp_path, "autoencoder", "--opt", "iters=0")
    assert "iters" in message and "1, 2" in message


def test_the_template_size_reads_x_itself_and_updates_each_w_over_it():
    """At the template's size (two pages): the loss and dY read X itself (no copy of it as the
    target), each update Wn stands over its W in the columns of W, the backward pass starts right
    under Y, and the forward pass takes two steps (encoder, decoder) of the eight."""
    from xlhand.build import key_sheet

    sheet = key_sheet(resolve(EX, size="small"))
    blocks = sheet.blocks
    assert "Xtarget" not in blocks and len(sheet.steps) == 8
    assert blocks["X"].range() in blocks["L"].formula(0, 0) and blocks["X"].cell(0, 0) in blocks["dY"].formula(0, 0)
    for k in range(1, 5):
        W, Wn = blocks[f"W{k}"], blocks[f"W{k}n"]
        assert (Wn.left, Wn.cols) == (W.left, W.cols) and Wn.bottom < W.top
    assert blocks["L"].top - 1 == blocks["Y"].bottom  # L's label row right under Y


@pytest.mark.parametrize("dims", [dict(d=1, h=1, k=1, batch=1), dict(d=2, h=1, k=1, batch=2), dict(d=1, h=3, k=2, batch=1)])
def test_a_second_iteration_builds_with_one_unit_layers(dims):
    """The copies of the updated weights a later iteration starts from are one column wide here:
    their numbered labels ("[9] W1_2") are wider, and must not run into the next part's."""
    from xlhand.build import key_sheet
    sheet = key_sheet(resolve(catalog.get("autoencoder"), size="small", sets=dims, options={"iters": 2}), "key")
    assert {"W1_2", "b1_2", "W4_2T"} <= set(sheet.blocks)


def test_several_iterations_take_the_pages_of_the_first_and_cut_no_block():
    """Every iteration is laid out as the first, on portrait pages (a later one's blocks labelled with
    their names, no wider): two pages each, and one for the chart of the losses; the later
    iterations take one step together, and the first one's backward pass one step, so that page 1
    still holds the header and the encoder."""
    from xlhand.build import key_sheet, page_plan
    resolved = resolve(catalog.get("autoencoder"), size="small", options={"iters": 2})
    plans = [page_plan(resolved, paper, student=student) for paper in ("a4", "letter") for student in (False, True)]
    assert {(grid.cuts, grid.apart, grid.landscape, grid.pages) for grid in plans} == {(0, 0, False, 5)}
    sheet = key_sheet(resolve(catalog.get("autoencoder"), size="small", options={"iters": 3}))
    assert len(sheet.steps) == 5 + 1 + 1 and sheet.blocks["Z1_3"].label == "[6] Z1_3"
