"""softmax's NumPy reference against the math written out with the math module, and its bad inputs."""
from __future__ import annotations

import math

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve
from xlhand.build import key_sheet
from xlhand.check import check_file
from xlhand.engines.recalc import reference_values

EX = catalog.get("softmax")


def by_hand(scores: list[float]) -> list[float]:
    exps = [math.exp(v) for v in scores]
    total = math.fsum(exps)
    return [e / total for e in exps]


@pytest.mark.parametrize("size", ["small", "medium", "large"])
@pytest.mark.parametrize("seed", [0, 5])
def test_softmax_and_sigmoid_by_hand(size, seed):
    rng = np.random.default_rng(seed)
    dims = Dims(EX.presets[size])
    p = Params(z=rng.normal(size=(dims.n, 1)) * 2, x=rng.normal(size=(1, dims.m)) * 3)
    ref = EX.reference(dims, p)
    np.testing.assert_allclose(ref["P"][:, 0], by_hand(p.z[:, 0].tolist()), rtol=1e-13)
    assert ref["P"].sum() == pytest.approx(1.0, rel=1e-13)
    for j, x in enumerate(p.x[0]):
        sigma = 1 / (1 + math.exp(-x))
        assert ref["sig"][0, j] == pytest.approx(sigma, rel=1e-13)
        assert ref["Q"][:, j] == pytest.approx(by_hand([x, 0.0]), rel=1e-13)  # σ(x) = softmax([x, 0])[0]
        assert ref["Q"][1, j] == pytest.approx(1 - sigma, rel=1e-12)


def sheet_and_values(**kw):
    r = resolve(EX, **kw)
    sheet = key_sheet(r)
    return sheet, reference_values(r, sheet)


def test_default_numbers_by_hand():
    """e^1 + e^3 + e^0 + e^2 + e^-1 = 31.561…: the sheet's Σ, as the walkthrough sums it; P(3) =
    20.0855 / 31.5608 = 0.6364. With stable=true every exponent is shifted by the largest score, 3:
    the sum is 31.5608 / e^3 = 1.5713, P unchanged."""
    _, values = sheet_and_values()
    assert values["P_sum"][0, 0] == pytest.approx(31.5608, abs=1e-4)
    assert values["P_exp"][1, 0] == pytest.approx(math.exp(3), rel=1e-12)
    assert values["P"][1, 0] == pytest.approx(0.63641, abs=1e-5)
    assert values["sig"][0].tolist() == pytest.approx([0.880797, 0.268941], abs=1e-6)
    _, stable = sheet_and_values(options={"stable": True})
    assert stable["P_max"][0, 0] == 3
    assert stable["P_sum"][0, 0] == pytest.approx(31.5608 / math.exp(3), abs=1e-4)
    np.testing.assert_allclose(stable["P"], values["P"], rtol=1e-13)


def test_by_default_each_score_is_raised_to_e_then_divided_by_the_sum():
    """The walkthrough: e^x of the raw score (no max row), Σ of each column, e^x / Σ."""
    sheet, _ = sheet_and_values()
    z, exps, sums, P = (sheet.blocks[n] for n in ("z", "P_exp", "P_sum", "P"))
    assert "P_max" not in sheet.blocks and "Q_max" not in sheet.blocks
    assert exps.formula(0, 0) == f"EXP({z.cell(0, 0)})" and exps.formula(2, 0) == f"EXP({z.cell(2, 0)})"
    assert sums.formula(0, 0) == f"SUM({exps.range()})"
    assert P.formula(1, 0) == f"{exps.cell(1, 0)}/{sums.cell(0, 0)}"


def test_stable_shows_the_max_shift_as_its_own_step():
    sheet, _ = sheet_and_values(options={"stable": True})
    z, top, exps = (sheet.blocks[n] for n in ("z", "P_max", "P_exp"))
    assert top.formula(0, 0) == f"MAX({z.range()})"
    assert exps.formula(0, 0) == f"EXP({z.cell(0, 0)}-{top.cell(0, 0)})"
    assert "max" in sheet.steps[0] and "max" not in sheet_and_values()[0].steps[0]


def test_the_sigmoid_baseline_e0_is_1_on_the_sheet():
    """softmax([x; 0]): the 0 under each x is the usual class whose score is zero, and its e^0 = 1
    (the constant baseline) is worked on the sheet, in the row under each e^x."""
    sheet, values = sheet_and_values()
    X2, exps = sheet.blocks["X2"], sheet.blocks["Q_exp"]
    assert exps.formula(1, 0) == f"EXP({X2.cell(1, 0)})"
    assert values["X2"][1].tolist() == [0, 0]
    assert values["Q_exp"][1].tolist() == [1.0, 1.0]
    assert "e^0 = 1" in " ".join(sheet.steps)


def test_random_variants_are_instructive():
    for seed in range(10):
        r = resolve(EX, size="medium", seed=seed)
        P = EX.reference(r.dims, r.params)["P"]
        assert 0.3 < P.max() < 0.9


def test_wrong_shape_is_one_line_exit_2_and_no_file(tmp_path):
    message = rejected_build(tmp_path, "softmax",
                             params="exercise: softmax\ndims: {n: 5, m: 2}\nvalues:\n  z: [1, 2, 3]\n")
    assert "'z'" in message and "5x1" in message


def test_a_huge_score_is_refused_naming_stable_and_builds_with_it(tmp_path):
    """z = 800: e^800 overflows EXP in a spreadsheet (#NUM!): refused in one line that names the
    option; with stable=true, e^(z − max) never overflows, and the workbook builds and verifies."""
    params = "exercise: softmax\nvalues:\n  z: [800, 1, 2, 3, 4]\n"
    message = rejected_build(tmp_path, "softmax", params=params)
    assert "--opt stable=true" in message and "e^800" in message
    built = rejected_build_ok(tmp_path, params + "options: {stable: true}\n")
    report = check_file(built)
    assert report.ok, report.mismatches[:3]


def test_every_exercise_with_a_softmax_offers_stable():
    for name in catalog.names():
        ex = catalog.get(name)
        for options in [{}] + [{o.name: v} for o in ex.options if not o.sheet for v in o.allowed]:
            sheet = key_sheet(resolve(ex, options=options))
            if any(b.name.endswith("_exp") and b.label.split("] ")[-1].startswith("e^") for b in sheet.blocks.values()):
                assert "stable" in {o.name for o in ex.options}, (name, options)


def rejected_build_ok(tmp_path, params: str):
    from support import build

    path = tmp_path / "stable.yaml"
    path.write_text(params, encoding="utf-8")
    return build(tmp_path, "softmax", params_path=path)


def test_a_sigmoid_input_that_overflows_is_refused_naming_it(tmp_path):
    message = rejected_build(tmp_path, "softmax", params="exercise: softmax\nvalues:\n  x: [-800, 2]\n")
    assert "overflow" in message and "x = -800" in message


def test_the_sigmoid_curve_is_the_two_class_softmax(tmp_path):
    """σ(x) and softmax([x; 0])'s first row over x = −6 … 6, each written as its own formula, agree
    (one curve in the chart), and the chart is a native scatter of the sheet's cells."""
    import zipfile

    from support import build

    ref = EX.reference(Dims(EX.presets["small"]), resolve(EX).params)
    x = np.arange(-6, 6.25, 0.5)
    np.testing.assert_allclose(ref["curve_sig"][:, 0], [1 / (1 + math.exp(-v)) for v in x], rtol=1e-13)
    np.testing.assert_allclose(ref["curve_soft"][:, 0], [by_hand([v, 0.0])[0] for v in x], rtol=1e-13)
    path = build(tmp_path, "softmax")
    with zipfile.ZipFile(path) as zf:
        charts = [zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 1 and "<c:scatterChart>" in charts[0] and charts[0].count("<c:ser>") == 2
