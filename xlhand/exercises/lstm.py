"""lstm: a long short-term memory cell run over a sequence, one column per time step.

For t = 1…T with u = [x_t; h_{t−1}]: f = σ(Wf·u + bf), i = σ(Wi·u + bi), c̃ = tanh(Wc·u + bc),
o = σ(Wo·u + bo); c_t = f ⊙ c_{t−1} + i ⊙ c̃; h_t = o ⊙ tanh(c_t).
On the sheet the four weight matrices stand one under the other left of the first step, each row
[Wx | Wh | b] against the column [x_t; h_{t−1}; 1]; every time step is a column further right, and
a long sequence wraps into rows of steps a page wide.
"""
from __future__ import annotations

import numpy as np

from xlhand.model.npref import sigmoid
from xlhand.layout import BIAS, COMPUTED, LEFT, OUTPUT, UP, WEIGHT, fx, ops
from xlhand.model.exercise import Exercise, Source
from xlhand.model.givens import Given

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
    X = s.given("X", label="X (one column per step)")
    steps, hs, cs = [], [], []
    for t in range(1, d.T + 1):
        with s.group() as step:
            if t == 1:  # the initial states belong to the first step: they stand left of c_1 and h_1
                c_prev, h_prev = initial = (s.operand("c0"), s.operand("h0"))
            with s.step(_describe(t)):
                u = ops.column_over_state(s, f"u_{t}", X, t - 1, h_prev, label="u")
                s.place(u, below=X)
                zs, below = {}, ops.ones_row(s, u)
                for gate, W, b, z, _ in GATES:  # each pre-activation under the one before, [W | b] left of it
                    below = zs[gate] = s.place(ops.linear(s, f"{z}_{t}", W, u, b, label=z), below=below)
                gates = {}
                for gate, _, _, _, act in GATES:  # the gates under the pre-activations, in the same order
                    activation = ops.tanh if act == "tanh" else ops.sigmoid
                    below = gates[gate] = s.place(activation(s, f"{gate}_{t}", zs[gate], label=gate), below=below)
                c = s.add(f"c_{t}", (d.d_h, 1), role=COMPUTED, label="c",
                          formula=_cell_state(gates["f"], c_prev, gates["i"], gates["g"]))
                s.place(c, below=below)
                h = s.add(f"h_{t}", (d.d_h, 1), role=OUTPUT, label="h", formula=_hidden_state(gates["o"], c))
                s.place(h, below=c)
            if t == 1:
                for state, block in zip(initial, (c, h)):
                    s.next_to(state, block, LEFT)
                    s.arrow(state, block)
        steps.append(step)
        c_prev, h_prev = c, h
        cs.append(c)
        hs.append(h)
    grid = ops.flow(s, steps, gap=0)  # no gap: the 1s of each step mark the column before it
    ops.chain_arrows(s, cs)
    ops.chain_arrows(s, hs)
    s.next_to(X, grid, UP)
    with s.group() as states, s.step("Collect the states: C = [c_1 … c_T], H = [h_1 … h_T]"):
        C = ops.copy_columns(s, "C", cs, role=COMPUTED, label="C = [c_1 … c_T]")
        H = ops.copy_columns(s, "H", hs, label="H = [h_1 … h_T]")
        s.place(H, below=C)
    ops.flow(s, [grid, states], align="end")  # beside the last c and h where the page has room, else under


def _describe(t: int) -> str:
    if t == 1:
        return ("t = 1: u_1 = [x_1; h_0]; zf_1 = [Wf | bf]·[u_1; 1], and zi, zc, zo alike; f_1 = σ(zf_1), "
                "i_1 = σ(zi_1), g_1 = tanh(zc_1), o_1 = σ(zo_1); c_1 = f_1⊙c_0 + i_1⊙g_1; h_1 = o_1⊙tanh(c_1)")
    return (f"t = {t}: as at t = 1, from x_{t}, h_{t - 1} and c_{t - 1}: c_{t} = f⊙c_{t - 1} + i⊙g, "
            f"h_{t} = o⊙tanh(c_{t})")


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


# Fresh numbers keep every gate unsaturated by construction, at any size and for any number of
# steps: |x|, |h| <= 1 (h_t = o ⊙ tanh(c_t)), each weight row's absolute sum is at most 3 and
# |b| <= 0.5, so every pre-activation lies within ±3.5.
def _weight(name):
    return Given(name, ("d_h", _u_width), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=3)


def _bias(name):
    return Given(name, ("d_h", 1), role=BIAS, low=-0.5, high=0.5, step=0.5)


EXERCISE = Exercise(
    name="lstm",
    title="Long short-term memory over a sequence",
    source=Source(
        paper="Hochreiter & Schmidhuber (1997), Long Short-Term Memory, Neural Computation 9(8); forget gate: Gers, "
              "Schmidhuber & Cummins (2000)",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): LSTM"),
    dims={"d_in": "input features", "d_h": "hidden units", "T": "time steps"},
    presets={
        "small": dict(d_in=3, d_h=2, T=3),
        "medium": dict(d_in=3, d_h=2, T=4),
        "large": dict(d_in=5, d_h=4, T=6),
        "lecture": dict(d_in=5, d_h=4, T=32),
    },
    givens=[
        Given("X", ("d_in", "T"), low=-1, high=1, step=0.5),
        Given("h0", ("d_h", 1), low=-1, high=1, step=0.5),
        Given("c0", ("d_h", 1), low=-1, high=1, step=0.5),
        _weight("Wf"), _bias("bf"),
        _weight("Wi"), _bias("bi"),
        _weight("Wc"), _bias("bc"),
        _weight("Wo"), _bias("bo"),
    ],
    reference=reference,
    layout=layout,
    accept=instructive,
)
