"""rnn: the NumPy reference against a step-by-step recurrence written with scalars, and bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.layout import ops
from xlhand.build import key_sheet
from xlhand.model.resolve import resolve

EX = catalog.get("rnn")


def run_by_hand(p, T):
    """h_t = tanh(Wx x_t + Wh h_{t−1} + b), y_t = softmax(Wy h_t), one scalar at a time."""
    d_h = p.Wh.shape[0]
    h = [float(v) for v in p.h0[:, 0]]
    hs, ys = [], []
    for t in range(T):
        x = p.X[:, t]
        h = [math.tanh(sum(p.Wx[i, k] * x[k] for k in range(len(x)))
                       + sum(p.Wh[i, k] * h[k] for k in range(d_h)) + p.b[i, 0]) for i in range(d_h)]
        o = [sum(p.Wy[c, k] * h[k] for k in range(d_h)) for c in range(p.Wy.shape[0])]
        e = [math.exp(v) for v in o]
        ys.append([v / sum(e) for v in e])
        hs.append(h)
    return np.array(hs).T, np.array(ys).T


@pytest.mark.parametrize("kw", [{}, {"size": "medium"}, {"size": "large"}, {"seed": 21},
                                {"sets": {"T": 1, "d_h": 3}, "seed": 2}])
def test_reference_matches_step_by_step(kw):
    r = resolve(EX, **kw)
    ref = EX.reference(r.dims, r.params)
    H, Y = run_by_hand(r.params, r.dims.T)
    np.testing.assert_allclose(ref["H"], H, rtol=1e-12)
    np.testing.assert_allclose(ref["Y"], Y, rtol=1e-12)
    for t in range(1, r.dims.T + 1):
        np.testing.assert_allclose(ref[f"h_{t}"][:, 0], H[:, t - 1], rtol=1e-12)
    np.testing.assert_allclose(ref["Y"].sum(axis=0), 1.0)


def test_hidden_state_carries_the_past():
    """Changing x_1 changes h_3: the recurrence really feeds h_{t−1} forward."""
    r = resolve(EX)
    p = dict(r.params)
    base = EX.reference(r.dims, r.params)["h_3"]
    p["X"] = r.params.X.copy()
    p["X"][:, 0] += 1
    from xlhand.model.givens import Params
    assert not np.allclose(EX.reference(r.dims, Params(p))["h_3"], base)


def test_default_first_step_by_hand():
    r = resolve(EX)
    ref = EX.reference(r.dims, r.params)
    # Wx·x_1 = [0, -2], Wh·h0 = [0.5, -1], b = [1, 1]
    np.testing.assert_allclose(ref["z_1"][:, 0], [1.5, -2.0])


def test_bad_hidden_state_is_a_one_line_error(tmp_path):
    message = rejected_build(tmp_path, "rnn", params="exercise: rnn\nvalues:\n  h0: [0, 0, 0]\n")
    assert "'h0'" in message, message


def step_rows(sheet, T: int) -> dict[int, list]:
    """The blocks of the time steps (with the weights and h0 of the first), by the row of their h_t."""
    rows: dict[int, list] = {}
    for t in range(1, T + 1):
        h = sheet.blocks[f"h_{t}"]
        rows.setdefault(h.top, []).extend(b for b in sheet.blocks.values() if b.step == t)
    first = min(rows)
    rows[first].extend(sheet.blocks[n] for n in ("Wx", "Wh", "b", "h0"))
    return rows


def test_lecture_steps_wrap_into_rows_a_page_wide():
    """T = 32: the time steps stand in rows of several steps, each no wider than a portrait page (a
    sheet this wide prints portrait), instead of one strip some 70 columns wide; in a row, an arrow
    leads from each h_{t−1} to h_t, and the steps read left to right, then down."""
    sheet = key_sheet(resolve(EX, size="lecture"))
    rows = step_rows(sheet, 32)
    assert 4 <= len(rows) <= 10
    for blocks in rows.values():
        boxes = [b.footprint() for b in blocks]
        assert max(b.right for b in boxes) - min(b.left for b in boxes) <= ops.page_columns(landscape=False)
    order = [sheet.blocks[f"h_{t}"] for t in range(1, 33)]
    assert all((a.top, a.left) < (b.top, b.left) if a.top == b.top else a.top < b.top for a, b in zip(order, order[1:]))
    arrows = {(g.row, g.col) for g in sheet.glyphs if g.text == "→"}
    in_a_row = [(a, b) for a, b in zip(order, order[1:]) if a.top == b.top]
    assert len(in_a_row) >= 24 and all((a.top, a.right) in arrows for a, b in in_a_row)


def test_small_steps_stand_in_one_row_under_X():
    sheet = key_sheet(resolve(EX))
    assert len({sheet.blocks[f"h_{t}"].top for t in (1, 2, 3)}) == 1
    assert sheet.blocks["X"].bottom < sheet.blocks["u_1"].top
