"""Carried-forward credit on long sheets: the student's world is recomputed in dependency order with no
depth limit, so an LSTM over 64 steps carries forward exactly as one over 3 does."""
from __future__ import annotations

import pytest

from gradekit import blank_cells, consistent_values, fill, make_class
from xlhand.model import catalog
from xlhand.grading.pipeline import grade
from xlhand.grading.score import ECF_CREDIT


STATES = {6, 7}  # lstm's numbered steps c_t = f_t⊙c_{t−1} + i_t⊙g_t and h_t = o_t⊙tanh(c_t), for every t


@pytest.mark.parametrize("steps", [3, pytest.param(64, marks=pytest.mark.slow)])
def test_the_states_of_a_long_lstm_earn_carried_forward_credit(tmp_path, monkeypatch, steps):
    # any numbers do for grading; long sequences need not pass the exercise's teaching test
    monkeypatch.setattr(catalog.get("lstm"), "accept", None)
    manifest_path, manifest, worksheets = make_class(tmp_path, "lstm", ids=("long",), sets={"T": steps},
                                                     steps=STATES)
    cells = blank_cells(manifest, "long")
    assert {name for name, *_ in cells} == {f"{x}_{t}" for x in "ch" for t in range(1, steps + 1)}
    # one wrong entry in the first blank block (c_1), every later blank consistent with it: h_1, then
    # c_2, h_2 … through the sheet's own u, products and gates of every later time step
    first = [cell for cell in cells if cell[0] == cells[0][0]][-1:]
    values = consistent_values(manifest, "long", first, "shift")
    path = fill(worksheets / "long.xlsx", tmp_path / "long.xlsx", values)
    (sub,) = [s for s in grade(manifest_path, [path], tmp_path / "grades", feedback=False).files if s.student_id == "long"]
    statuses = [c.status for c in sub.cells]
    assert statuses.count("ecf") >= 4, [(c.address, c.status, c.got, c.carried) for c in sub.cells]
    assert statuses.count("wrong") == 1
    assert all(c.points == ECF_CREDIT for c in sub.cells if c.status == "ecf")
