"""Carried-forward credit on long sheets: the student's world is recomputed in dependency order with no
depth limit, so an LSTM over 64 steps carries forward exactly as one over 3 does."""
from __future__ import annotations

import pytest

from gradekit import blank_cells, consistent_values, fill, make_class
from xlhand.model import catalog
from xlhand.grading.pipeline import grade
from xlhand.grading.score import ECF_CREDIT


@pytest.mark.parametrize("steps", [3, 64])
def test_last_step_of_a_long_lstm_earns_carried_forward_credit(tmp_path, monkeypatch, steps):
    # any numbers do for grading; long sequences need not pass the exercise's teaching test
    monkeypatch.setattr(catalog.get("lstm"), "accept", None)
    manifest_path, manifest, worksheets = make_class(tmp_path, "lstm", ids=("long",), sets={"T": steps},
                                                     steps={steps})
    cells = blank_cells(manifest, "long")
    assert {name for name, *_ in cells} >= {f"u_{steps}", f"h_{steps}"}
    # one wrong entry in the first blank block (u_T), every later blank consistent with it
    first = [cell for cell in cells if cell[0] == cells[0][0]][-1:]
    values = consistent_values(manifest, "long", first, "shift")
    path = fill(worksheets / "long.xlsx", tmp_path / "long.xlsx", values)
    (sub,) = [s for s in grade(manifest_path, [path], tmp_path / "grades", feedback=False).files if s.student_id == "long"]
    statuses = [c.status for c in sub.cells]
    assert statuses.count("ecf") >= 4, [(c.address, c.status, c.got, c.carried) for c in sub.cells]
    assert statuses.count("wrong") == 1
    assert all(c.points == ECF_CREDIT for c in sub.cells if c.status == "ecf")
