"""lstm: a long short-term memory cell run over a sequence, one column per time step.

For t = 1…T with u = [x_t; h_{t−1}]: f = σ(Wf·u + bf), i = σ(Wi·u + bi), c̃ = tanh(Wc·u + bc),
o = σ(Wo·u + bo); c_t = f ⊙ c_{t−1} + i ⊙ c̃; h_t = o ⊙ tanh(c_t).
On the sheet the four weight matrices stand one under the other at the left, each row [Wx | Wh | b]
against the column [x_t; h_{t−1}; 1]; every time step is a column further right.
"""
from __future__ import annotations

import numpy as np

from ..npref import sigmoid
from .. import fx, ops
from ..exercise import Exercise
from ..params import Given

GATES = (  # (gate, weights, bias, pre-activation, activation)
    ("f", "Wf", "bf", "zf", "σ"),
    ("i", "Wi", "bi", "zi", "σ"),
    ("g", "Wc", "bc", "zc", "tanh"),
    ("o", "Wo", "bo", "zo", "σ"),
)


def reference(d, p):
    out = {}
    h, c = p.h0, p.c0
    for t in range(1, d.T + 1):
        u = np.vstack([p.X[:, t - 1:t], h])
        zf, zi, zc, zo = (p[W] @ u + p[b] for _, W, b, _, _ in GATES)
        f, i, g, o = sigmoid(zf), sigmoid(zi), np.tanh(zc), sigmoid(zo)
        c = f * c + i * g
        h = o * np.tanh(c)
        out.update({f"u_{t}": u, f"zf_{t}": zf, f"zi_{t}": zi, f"zc_{t}": zc, f"zo_{t}": zo,
                    f"f_{t}": f, f"i_{t}": i, f"g_{t}": g, f"o_{t}": o, f"c_{t}": c, f"h_{t}": h})
    out["H"] = np.hstack([out[f"h_{t}"] for t in range(1, d.T + 1)])
    out["C"] = np.hstack([out[f"c_{t}"] for t in range(1, d.T + 1)])
    return out


def layout(s, d, p):
    n_u, n_h = d.d_in + d.d_h, d.d_h
    band = n_h + 2  # a d_h-high block, a gap row and a label row
    X = s.given("X", at=(0, 0), label="X (one column per step)")
    col = [2 * t for t in range(d.T + 1)]  # col[t]: the column of step t; col[0] holds h0, c0
    u_row = X.bottom + 2
    z_rows = [u_row + n_u + 3 + k * band for k in range(4)]
    act_rows = [z_rows[-1] + band + k * band for k in range(4)]
    c_row = act_rows[-1] + band
    h_row = c_row + band

    c_prev = s.given("c0", at=(c_row, col[0]))
    h_prev = s.given("h0", at=(h_row, col[0]))
    weights: dict[str, tuple] = {}
    h_blocks, c_blocks = [], []
    for t in range(1, d.T + 1):
        with s.step(f"Step t = {t}: u = [x_{t}; h_{t - 1}], gates, c_{t}, h_{t}"):
            u = ops.column_over_state(s, f"u_{t}", X, t - 1, h_prev, (u_row, col[t]),
                                      label=f"u_{t} = [x_{t}; h_{t - 1}]")
            gates = {}
            for k, (gate, W, b, z, act) in enumerate(GATES):
                Wb = weights.get(W, (W, b))
                zt = ops.linear(s, f"{z}_{t}", Wb[0], u, Wb[1], at=(z_rows[k], col[t]),
                                label=f"{z}_{t}")
                weights[W] = (s.blocks[W], s.blocks[b])
                activation = ops.tanh if act == "tanh" else ops.sigmoid
                gates[gate] = activation(s, f"{gate}_{t}", zt, at=(act_rows[k], col[t]),
                                         label=f"{gate}_{t} = {act}({z}_{t})")
            c = s.add(f"c_{t}", (n_h, 1), (c_row, col[t]), "computed", f"c_{t} = f⊙c + i⊙g",
                      formula=_cell_state(gates["f"], c_prev, gates["i"], gates["g"]))
            h = s.add(f"h_{t}", (n_h, 1), (h_row, col[t]), "output", f"h_{t} = o⊙tanh(c_{t})",
                      formula=_hidden_state(gates["o"], c))
            s.arrow(c_prev, c)
            s.arrow(h_prev, h)
        c_prev, h_prev = c, h
        h_blocks.append(h)
        c_blocks.append(c)
    with s.step("Collect the states: H = [h_1 … h_T], C = [c_1 … c_T]"):
        H = ops.copy_columns(s, "H", h_blocks, at=(h_row + band, col[1]), label="H")
        ops.copy_columns(s, "C", c_blocks, at=s.right_of(H), role="computed", label="C")


def _cell_state(f, c_prev, i, g):
    return lambda r, j: fx.add(fx.mul(f.cell(r, 0), c_prev.cell(r, 0)), fx.mul(i.cell(r, 0), g.cell(r, 0)))


def _hidden_state(o, c):
    return lambda r, j: fx.mul(o.cell(r, 0), fx.tanh(c.cell(r, 0)))


def instructive(d, p) -> bool:
    """No gate saturated: every pre-activation within ±4, so σ and tanh stay readable."""
    ref = reference(d, p)
    return all(np.abs(ref[f"{z}_{t}"]).max() < 4 for t in range(1, d.T + 1) for *_, z, _ in GATES)


def _u_width(d):
    return d.d_in + d.d_h


def _weight(name):
    return Given(name, ("d_h", _u_width), role="weight", low=-2, high=2)


def _bias(name):
    return Given(name, ("d_h", 1), role="bias", low=-1, high=1)


EXERCISE = Exercise(
    name="lstm",
    title="Long short-term memory over a sequence",
    dims={"d_in": "input features", "d_h": "hidden units", "T": "time steps"},
    presets={
        "small": dict(d_in=3, d_h=2, T=3),
        "medium": dict(d_in=3, d_h=2, T=4),
        "large": dict(d_in=5, d_h=4, T=6),
    },
    givens=[
        Given("X", ("d_in", "T"), low=-2, high=3),
        Given("h0", ("d_h", 1), low=-1, high=1),
        Given("c0", ("d_h", 1), low=-1, high=1),
        _weight("Wf"), _bias("bf"),
        _weight("Wi"), _bias("bi"),
        _weight("Wc"), _bias("bc"),
        _weight("Wo"), _bias("bo"),
    ],
    reference=reference,
    layout=layout,
    accept=instructive,
)
