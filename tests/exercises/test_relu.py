"""relu: the reference entry by entry, and α as a live cell: editing it on the sheet changes every
leaky-ReLU value, recomputed by the formula engine."""
from __future__ import annotations

import numpy as np
import openpyxl
import pytest

from support import build, rejected_build
from xlhand.model import catalog
from xlhand.engines import readback
from xlhand.model.givens import Dims, Params
from xlhand.check import check_file, formulas_cells

EX = catalog.get("relu")


def test_reference_entry_by_entry():
    dims = Dims(n=7, batch=2)
    z = np.array([[-2, 3], [0, -0.5], [1.5, 0], [-3, 2], [4, -1], [0.25, -0.25], [-7, 7]])
    ref = EX.reference(dims, Params(z=z, alpha=0.2))
    for (i, j), v in np.ndenumerate(z):
        assert ref["gate"][i, j] == (1.0 if v > 0 else 0.0)
        assert ref["relu"][i, j] == (v if v > 0 else 0.0)
        assert ref["leaky"][i, j] == pytest.approx(v if v > 0 else 0.2 * v)
    assert ref["relu"][1, 0] == 0 and ref["gate"][2, 1] == 0  # ReLU(0) = 0, gate shut at 0


@pytest.mark.parametrize("alpha", [0.01, 0.3])
def test_alpha_is_editable_on_the_sheet(tmp_path, alpha):
    path = build(tmp_path, "relu")
    wb = openpyxl.load_workbook(path)
    where = readback.block_ranges(wb)["alpha"]
    wb[where.sheet].cell(where.min_row, where.min_col).value = alpha
    wb.save(path)
    report = check_file(path)  # expected values from the edited givens, recomputed by `formulas`
    assert report.ok, report.mismatches[:5]
    assert any("givens differ" in n for n in report.notes)
    saved = readback.load(path)
    ranges = readback.block_ranges(saved)
    leaky = np.array(formulas_cells(path)(ranges["leaky"]), dtype=float)
    z = np.array(readback.read_block(saved, ranges["z"]), dtype=float)
    np.testing.assert_allclose(leaky, np.where(z > 0, z, alpha * z))


def test_wrong_alpha_is_one_line_exit_2_and_no_file(tmp_path):
    message = rejected_build(tmp_path, "relu", params="exercise: relu\nvalues:\n  alpha: [0.1, 0.2]\n")
    assert "'alpha'" in message


def test_the_curves_follow_alpha_on_the_sheet(tmp_path):
    """ReLU and leaky ReLU over x = −3 … 3 are formulas reading the sheet's α, drawn by a native
    scatter chart of the sheet's own cells: edit α and the leaky curve (and its chart) follows."""
    import zipfile

    path = build(tmp_path, "relu")
    with zipfile.ZipFile(path) as zf:
        charts = [zf.read(n).decode("utf-8") for n in zf.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 1 and "<c:scatterChart>" in charts[0] and charts[0].count("<c:ser>") == 2
    wb = openpyxl.load_workbook(path)
    where = readback.block_ranges(wb)["alpha"]
    wb[where.sheet].cell(where.min_row, where.min_col).value = 0.5
    wb.save(path)
    assert check_file(path).ok
    ranges = readback.block_ranges(readback.load(path))
    leaky = np.array(formulas_cells(path)(ranges["curve_leaky"]), dtype=float)[:, 0]
    x = np.arange(-3.0, 4.0)
    np.testing.assert_allclose(leaky, np.where(x > 0, x, 0.5 * x))
