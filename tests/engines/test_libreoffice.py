"""The three engines against NumPy: LibreOffice headless recalculates every exercise at every preset
(lecture sizes included), a few random seeds and every student worksheet in one batch; IronCalc and
(at the default template and sizes small and medium) `formulas` recalculate the same files. Every named block must equal
the NumPy reference in every engine, so the engines agree with each other too."""
from __future__ import annotations

import pytest

from support import assert_report_ok, build
from xlhand.model import catalog
from xlhand.engines import libreoffice
from xlhand.check import check_file

# `formulas` costs about 3 ms per formula cell to load: it recalculates the default template and the
# sizes small and medium (a worksheet's hidden key holds the default template's formulas); IronCalc and
# LibreOffice every case, the large and lecture sizes and the worksheets included.
HAND_SIZES = (None, "small", "medium")

CASES = [(n, size, None) for n in catalog.names() for size in catalog.get(n).presets]
CASES += [(n, None, seed) for n in catalog.names() for seed in (11, 12)]
CASES += [(n, "student", None) for n in catalog.names()]

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(libreoffice.soffice() is None,
                       reason="LibreOffice (soffice) is not installed: apt-get install -y libreoffice-calc-nogui"),
]


def case_id(case) -> str:
    name, size, seed = case
    return f"{name}-{size or f'seed{seed}'}"


@pytest.fixture(scope="module")
def recalculated(request, tmp_path_factory):
    """Build every selected case, then recalculate them all with a single soffice call."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_libreoffice_agrees_with_numpy"]
    src = tmp_path_factory.mktemp("built")
    out = tmp_path_factory.mktemp("recalculated")
    built = {}
    for case in selected:
        name, size, seed = case
        student = size == "student"
        built[case] = build(src, name, f"{case_id(case)}.xlsx", student=student,
                            size=None if student else size, seed=seed)
    converted = libreoffice.recalculate(list(built.values()), out)
    return {case: (path, converted[path]) for case, path in built.items()}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_libreoffice_agrees_with_numpy(recalculated, case):
    original, converted = recalculated[case]
    assert converted is not None, f"LibreOffice could not convert {original.name}"
    assert_report_ok(check_file(original, engine="saved", recalculated=converted), f"{original.name} (LibreOffice)")
    assert_report_ok(check_file(original, engine="ironcalc"), f"{original.name} (IronCalc)")
    if case[1] in HAND_SIZES:
        assert_report_ok(check_file(original, engine="formulas"), f"{original.name} (formulas)")


def test_values_command_reads_what_libreoffice_saved(recalculated_backprop):
    from click.testing import CliRunner
    import json

    from xlhand.cli import cli

    result = CliRunner().invoke(cli, ["values", str(recalculated_backprop), "--block", "P", "--json"])
    assert result.exit_code == 0, result.output
    probabilities = json.loads(result.output)["P"]
    assert abs(sum(row[0] for row in probabilities) - 1) < 1e-12


@pytest.fixture(scope="module")
def recalculated_backprop(tmp_path_factory):
    src = build(tmp_path_factory.mktemp("values"), "backprop")
    return libreoffice.recalculate([src], tmp_path_factory.mktemp("values-out"))[src]
