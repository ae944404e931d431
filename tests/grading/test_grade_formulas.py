"""Honest formulas are graded as a spreadsheet computes them. The key's own formulas score in every
exercise. SUMPRODUCT evaluates its arguments as arrays in every spreadsheet, so a softmax written with
SUMPRODUCT(EXP(range)) scores, although IronCalc on its own gives #VALUE! there (or, on a row the
range crosses, e to one cell of it)."""
from __future__ import annotations

import pytest
from xlsxwriter.utility import xl_rowcol_to_cell

from gradekit import fill, key_formula_values, key_of, make_class
from support import slow_but
from xlhand.model import catalog
from xlhand.grading.pipeline import grade


LARGEST = ("transformer-full", "deepseek", "vectordb", "alphafold-triangle")  # the slowest to grade: slow tier


@pytest.mark.parametrize("exercise", slow_but(catalog.names(), [n for n in catalog.names() if n not in LARGEST]))
def test_the_keys_own_formulas_score_full_marks(tmp_path, exercise):
    """Whatever the key computes with, a student may type too: the formula policy refuses none of it."""
    manifest_path, manifest, worksheets = make_class(tmp_path, exercise, ids=("s",))
    path = fill(worksheets / "s.xlsx", tmp_path / "s.xlsx", key_formula_values(manifest, "s"))
    (sub,) = [s for s in grade(manifest_path, [path], tmp_path / "grades", feedback=False).files if s.student_id == "s"]
    assert sub.status == "graded", sub.reason
    assert sub.score == sub.max > 0, [(c.address, c.got, c.expected, c.refused) for c in sub.cells
                                      if c.status != "right"][:5]
    assert not sub.flags


def test_softmax_through_sumproduct_of_a_range_scores(tmp_path):
    manifest_path, manifest, worksheets = make_class(tmp_path, "rnn", ids=("s",))
    sheet, _ = key_of(manifest, "s")
    values = key_formula_values(manifest, "s")
    logits, total, probabilities = (sheet.blocks[n] for n in ("O", "Y_sum", "Y"))
    for j in range(logits.cols):
        column = logits.col_range(j)
        # the sum of e^o: EXP applied to the range itself
        values[(total.top + 1, total.left + j + 1)] = f"=SUMPRODUCT(EXP({column}))"
        for i in range(logits.rows):
            values[(probabilities.top + i + 1, probabilities.left + j + 1)] = \
                f"=EXP({logits.cell(i, j)})/SUMPRODUCT(EXP({column}))"
    path = fill(worksheets / "s.xlsx", tmp_path / "s.xlsx", values)
    (sub,) = [s for s in grade(manifest_path, [path], tmp_path / "grades", feedback=False).files if s.student_id == "s"]
    assert sub.score == sub.max > 0, [(c.address, c.got) for c in sub.cells if c.status != "right"]
    assert not sub.flags
    assert xl_rowcol_to_cell(total.top, total.left) in {c.address for c in sub.cells}
