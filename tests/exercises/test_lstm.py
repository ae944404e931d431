"""lstm's NumPy reference against a step-by-step hand computation with scalars."""
from __future__ import annotations

import math

import numpy as np
import pytest

from xlhand.model import catalog
from xlhand.layout import ops
from xlhand.build import key_sheet
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve

EX = catalog.get("lstm")


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_one_unit_two_steps_by_hand():
    dims = Dims(d_in=1, d_h=1, T=2)
    p = Params(X=np.array([[1.0, -2.0]]), h0=np.array([[1.0]]), c0=np.array([[0.3]]),
               Wf=np.array([[0.5, -1.0]]), bf=np.array([[0.1]]),
               Wi=np.array([[1.0, 0.5]]), bi=np.array([[0.0]]),
               Wc=np.array([[-1.0, 1.0]]), bc=np.array([[0.2]]),
               Wo=np.array([[0.3, 0.3]]), bo=np.array([[-0.1]]))
    h, c = 1.0, 0.3
    expected = []
    for x in (1.0, -2.0):
        f = sig(0.5 * x - 1.0 * h + 0.1)
        i = sig(1.0 * x + 0.5 * h + 0.0)
        g = math.tanh(-1.0 * x + 1.0 * h + 0.2)
        o = sig(0.3 * x + 0.3 * h - 0.1)
        c = f * c + i * g
        h = o * math.tanh(c)
        expected.append((f, i, g, o, c, h))
    ref = EX.reference(dims, p)
    for t, (f, i, g, o, c, h) in enumerate(expected, start=1):
        got = [ref[f"{k}_{t}"].item() for k in "figoch"]
        assert got == pytest.approx([f, i, g, o, c, h], rel=1e-12)
    assert ref["H"].ravel().tolist() == pytest.approx([e[5] for e in expected], rel=1e-12)
    assert ref["C"].ravel().tolist() == pytest.approx([e[4] for e in expected], rel=1e-12)


def test_default_state_from_the_seed_notes():
    r = resolve(EX)
    assert r.params.h0.ravel().tolist() == [1, 1]
    assert r.params.c0.ravel().tolist() == [0.3, -0.5]
    assert EX.accept(r.dims, r.params)


def test_lecture_steps_wrap_into_rows_a_page_wide():
    """T = 32: the time steps stand in rows (bands) of several steps instead of one strip some 70
    columns wide. The first row holds the weights and step 1; every later row is no wider than a
    portrait page (a sheet this wide prints portrait), and all but the last hold three steps or more."""
    sheet = key_sheet(resolve(EX, size="lecture"))
    rows: dict[int, list] = {}
    for t in range(1, 33):
        rows.setdefault(sheet.blocks[f"h_{t}"].top, []).append(t)
    assert 5 <= len(rows) <= 12
    for top, steps in sorted(rows.items())[1:]:
        assert len(steps) >= 3 or top == max(rows)
        boxes = [sheet.blocks[f"{name}_{t}"].footprint() for t in steps for name in ("u", *PER_STEP)]
        assert max(b.right for b in boxes) - min(b.left for b in boxes) <= ops.page_columns(landscape=False)
    order = [t for _, steps in sorted(rows.items()) for t in steps]
    assert order == list(range(1, 33))


PER_STEP = ("zf", "f", "zi", "i", "zc", "g", "zo", "o", "c", "h")


def test_steps_at_the_grain_of_the_walkthrough():
    """Issue 21: u, each gate (its pre-activation and activation), c and h are numbered steps, each
    done for every time step, then C and H; the label's number is the step's."""
    sheet = key_sheet(resolve(EX))
    assert len(sheet.steps) == 8
    expected = {"u": 1, "zf": 2, "f": 2, "zi": 3, "i": 3, "zc": 4, "g": 4, "zo": 5, "o": 5, "c": 6, "h": 7}
    for t in (1, 2, 3):
        for name, step in expected.items():
            block = sheet.blocks[f"{name}_{t}"]
            assert block.step == step and block.label.startswith(f"[{step}] "), (block.name, block.label)
    assert sheet.blocks["C"].step == sheet.blocks["H"].step == 8
    assert [sheet.steps[k - 1].split(":")[0] for k in (6, 7)] == ["c_t = f_t⊙c_{t−1} + i_t⊙g_t",
                                                                  "h_t = o_t⊙tanh(c_t)"]


def test_the_recurrence_is_drawn_from_h_t_into_u_t_plus_1():
    """An arrow in the gap between h_t and the column of u_{t+1} (and c_t → c_{t+1}); h_0 and c_0 stand
    left of the cells they feed, u_1 and c_1, with an arrow each; every arrow lies in an empty cell."""
    sheet = key_sheet(resolve(EX))
    arrows = {(g.row, g.col) for g in sheet.glyphs if g.text == "→"}
    for t in (1, 2):
        h, u_next, c, c_next = (sheet.blocks[n] for n in (f"h_{t}", f"u_{t + 1}", f"c_{t}", f"c_{t + 1}"))
        assert any(row == h.top and h.right <= col < u_next.left for row, col in arrows), t
        assert any(row == c.top and c.right <= col < c_next.left for row, col in arrows), t
    for given, fed in (("h0", "u_1"), ("c0", "c_1")):
        g, b = sheet.blocks[given], sheet.blocks[fed]
        assert g.right < b.left and any(row == g.top and g.right <= col < b.left for row, col in arrows)
    assert sheet.blocks["h0"].bottom == sheet.blocks["u_1"].bottom  # level with the rows of h_0 in u_1
