"""linear-layer: Z = W·X + b against einsum and a loop, the parameter and multiplication counts,
and a badly shaped weight matrix; inverse items (Y given, one entry of W, b or X missing) against
substitution and least squares, building and verifying, bad ones refused."""
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


# --- inverse items: Y given, one entry of W, b or X missing -------------------------------------
from xlhand.model.resolve import resolve  # noqa: E402


def full(r, k, name, x):
    """Item k's W, b or X assembled here from the givens: whole, or the pieces row by row around the hole."""
    from xlhand.exercises.linear_layer import kind, shapes
    p, d = r.params, r.dims

    def value(given):
        keys = list(EX.given(given).items(d))
        return p[given][keys.index(k)] if k in keys else None

    whole = value(f"{name}i")
    if whole is not None:
        return whole
    assert kind(k) == name
    rows, cols = shapes(d)[name]
    order = []  # "u", "l", x, "r", "d" one after the other are the matrix row by row
    for q in "ulrd":
        if q == "r":
            order.append(np.array([x]))
        m = value(f"{name}i{q}")
        if m is not None:
            order.append(np.asarray(m).ravel())
    M = np.concatenate(order)
    assert M.size == rows * cols
    return M.reshape(rows, cols)


SIZES = [dict(n_in=3, n_out=2, batch=2), dict(n_in=1, n_out=1, batch=1), dict(n_in=4, n_out=3, batch=3),
         dict(n_in=2, n_out=5, batch=1), dict(n_in=8, n_out=5, batch=4)]


@pytest.mark.parametrize("size", SIZES, ids=str)
@pytest.mark.parametrize("seed", [0, 5])
def test_inverse_items_substituted_back_and_by_least_squares(size, seed):
    from xlhand.exercises.linear_layer import kind
    r = resolve(EX, sets={**size, "items": 10}, seed=seed)
    ref = EX.reference(r.dims, r.params)
    keys = list(EX.given("Yi").items(r.dims))
    for k in range(2, 11):
        x = ref[f"miss_{k}"][0, 0]
        Y = r.params.Yi[keys.index(k)]
        W, b, X = (full(r, k, n, x) for n in ("W", "b", "X"))
        np.testing.assert_allclose(np.einsum("oi,ib->ob", W, X) + b, Y, rtol=1e-12, atol=1e-12)
        # Y is affine in x: least squares over all its entries finds the same x
        f = lambda v: np.einsum("oi,ib->ob", *(full(r, k, n, v) for n in ("W", "X"))) + full(r, k, "b", v)  # noqa
        coef, rest = (f(1.0) - f(0.0)).ravel(), (Y - f(0.0)).ravel()
        assert x == pytest.approx(np.linalg.lstsq(coef[:, None], rest, rcond=None)[0][0], rel=1e-9)
        assert x == round(x) and x != 0 and kind(k) in "WbX"


def test_the_missing_entries_take_turns_and_stand_anywhere():
    from xlhand.exercises.linear_layer import hole, kind
    d = dict(n_in=4, n_out=3, batch=3, items=10)
    assert [kind(k) for k in range(2, 8)] == ["W", "b", "X", "W", "b", "X"]
    assert len({hole(d, k) for k in range(2, 11) if kind(k) == "W"}) == 3
    assert any(0 < hole(d, k)[0] < 2 for k in range(2, 11) if kind(k) != "b")


def test_the_default_sheet_is_the_layer_alone():
    r = resolve(EX)
    assert r.dims["items"] == 1 and set(r.sources.values()) == {"template"}
    assert set(EX.reference(r.dims, r.params)) == {"Z", "nparams", "nmults"}


@pytest.mark.parametrize("sets", [{"items": 4}, {"items": 7, "n_in": 1, "n_out": 3, "batch": 2}])
def test_inverse_items_build_and_verify(tmp_path, sets):
    from support import assert_verified, build
    assert_verified(build(tmp_path, "linear-layer", sets=sets, seed=3))


def test_an_output_that_no_missing_entry_explains_is_refused(tmp_path):
    from xlhand.model.params_file import dump_params
    import yaml
    r = resolve(EX, sets={"items": 2}, seed=1)
    doc = yaml.safe_load(dump_params(r))
    doc["values"]["Yi"][0][-1][-1] += 1  # the last entry of item 2's output
    line = rejected_build(tmp_path, "linear-layer", params=doc)
    assert "'Yi' item 2" in line and "no value of the missing entry" in line


def test_a_missing_weight_without_an_equation_is_refused(tmp_path):
    from xlhand.exercises.linear_layer import hole
    d = dict(n_in=3, n_out=2, batch=2, items=2)
    r, c = hole(d, 2)
    X = [[1, 1], [1, 1], [1, 1]]
    X[c] = [0, 0]
    line = rejected_build(tmp_path, "linear-layer", "--set", "items=2", params={"values": {"Xi": [X]}})
    assert f"row {c + 1} of X is all 0" in line and "item 2" in line


def test_too_many_items_are_refused(tmp_path):
    line = rejected_build(tmp_path, "linear-layer", "--set", "items=11")
    assert "'items'" in line and "1..10" in line


@pytest.mark.libreoffice
def test_new_structures_agree_in_libreoffice(tmp_path):
    """LibreOffice recalculates the new structures (one soffice call) and agrees with NumPy."""
    from support import assert_report_ok, build
    from xlhand.check import check_file
    from xlhand.engines import libreoffice
    if libreoffice.soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    built = [build(tmp_path, "linear-layer", f"case{i}.xlsx", **kw) for i, kw in enumerate([dict(sets={"items": 7}, seed=3), dict(sets={"items": 4}, seed=3, student=True)])]
    converted = libreoffice.recalculate(built, tmp_path / "recalculated")
    for path in built:
        assert_report_ok(check_file(path, engine="saved", recalculated=converted[path]), f"{path.name} (LibreOffice)")
