"""lstm: a long short-term memory cell run over a sequence, one column per time step.

For t = 1…T with u = [x_t; h_{t−1}]: f = σ(Wf·u + bf), i = σ(Wi·u + bi), c̃ = tanh(Wc·u + bc),
o = σ(Wo·u + bo); c_t = f ⊙ c_{t−1} + i ⊙ c̃; h_t = o ⊙ tanh(c_t).
On the sheet the four weight matrices stand one under the other left of the first time step, each
row [Wx | Wh | b] against the column [x_t; h_{t−1}; 1], each gate right of its pre-activation; every
time step is a column pair further right (an arrow carries h_t into u_{t+1}, and c_t to c_{t+1}), and
a long sequence wraps into rows of steps a page wide. The numbered steps are the walkthrough's: u,
then each gate, then c, then h, each step done for every t. X, C and H (one column per time step)
stand over the cells that compute them.
"""
from __future__ import annotations

import numpy as np

from xlhand.model.npref import sigmoid
from xlhand.layout import BIAS, COMPUTED, LEFT, OUTPUT, UP, WEIGHT, fx, ops
from xlhand.layout.paper import narrowest_page_columns
from xlhand.model.exercise import Exercise, Source
from xlhand.model.givens import Given

MEANING = {"f": "the forget gate", "i": "the input gate", "g": "the candidate", "o": "the output gate"}
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


ROW_WIDTH = narrowest_page_columns(landscape=True)  # time steps in rows a landscape page wide
STEP_WIDTH = 3  # a time step's columns after the first: z | gate, and the column of the arrows


def _steps_per_row(d) -> int:
    """Time steps in a row a landscape page wide: the first row holds the weights ([W | b] and a gap)
    and step 1, then steps of ``STEP_WIDTH`` columns; 0 where the weights leave room for one step only
    (large sizes, which print shrunk: their steps flow in rows without copies)."""
    first = d.d_in + d.d_h + 1 + 1 + STEP_WIDTH - 1
    per_row = 1 + (ROW_WIDTH - first) // STEP_WIDTH
    return per_row if per_row >= 2 else 0


def _row_starts(d) -> set[int]:
    """The time steps (after the first) that begin a row of steps: each has copies of the weights at
    its left, so that its products print with their weights."""
    per_row = _steps_per_row(d)
    return set(range(1 + per_row, d.T + 1, per_row)) if per_row else set()


def layout(s, d, p):
    X = s.given("X", label="X (one column per step)")
    h0, c0 = s.operand("h0"), s.operand("c0")
    times = range(1, d.T + 1)
    parts = {t: [] for t in times}  # what each time step places, step by step: its column(s) on paper
    us, ones, zs, gates, cs, hs = {}, {}, {}, {}, {}, {}
    with s.step(f"For t = 1 … {d.T}, one column each: u_t = [x_t; h_{{t−1}}], h_0 given"):
        for t in times:
            with s.group() as part:
                us[t] = s.add(f"u_{t}", (d.d_in + d.d_h, 1), role=COMPUTED, label=f"u_{t}",
                              formula=_input(X, t - 1, d.d_in, lambda t=t: h0 if t == 1 else hs[t - 1]),
                              side_label=("x",) * d.d_in + ("h",) * d.d_h)  # where each row comes from
                s.place(us[t], below=X)
                ones[t] = ops.ones_row(s, us[t])
            parts[t].append(part)
    row_starts = _row_starts(d)
    for k, (gate, W, b, z, act) in enumerate(GATES):
        with s.step(f"{z}_t = [{W} | {b}]·[u_t; 1], {gate}_t = {act}({z}_t): {MEANING[gate]}"):
            for t in times:
                with s.group() as part:
                    above = ones[t] if k == 0 else zs[GATES[k - 1][3], t]  # the four products in one stack
                    weights = (W, b) if t not in row_starts else (  # a later row of steps: the weights again
                        ops.copy_part(s, f"{W}_{t}", s.blocks[W], label=W), ops.copy_part(s, f"{b}_{t}", s.blocks[b], label=b))
                    zs[z, t] = s.place(ops.linear(s, f"{z}_{t}", weights[0], us[t], weights[1], label=z), below=above,
                                       gap=None if k == 0 else 0)
                    activation = ops.tanh if act == "tanh" else ops.sigmoid
                    gates[gate, t] = s.place(activation(s, f"{gate}_{t}", zs[z, t], label=gate),
                                             right_of=zs[z, t], gap=0)
                parts[t].append(part)
    with s.step("c_t = f_t⊙c_{t−1} + i_t⊙g_t: the cell state, c_0 given"):
        for t in times:
            with s.group() as part:
                cs[t] = s.add(f"c_{t}", (d.d_h, 1), role=COMPUTED, label=f"c_{t}",
                              formula=_cell_state(gates["f", t], c0 if t == 1 else cs[t - 1], gates["i", t],
                                                  gates["g", t]))
                s.place(cs[t], below=zs["zo", t])
                if t == 1:  # c_0 stands left of c_1
                    s.next_to(c0, cs[t], LEFT)
                    s.arrow(c0, cs[t])
            parts[t].append(part)
    with s.step("h_t = o_t⊙tanh(c_t): the hidden state, which goes into u_{t+1}"):
        for t in times:
            with s.group() as part:
                hs[t] = s.add(f"h_{t}", (d.d_h, 1), role=OUTPUT, label=f"h_{t}",
                              formula=_hidden_state(gates["o", t], cs[t]))
                s.place(hs[t], below=cs[t], gap=0)
            parts[t].append(part)
    with s.group() as part:  # h_0 stands left of the rows of u_1 it fills
        s.next_to(h0, us[1], LEFT, align="end")
        s.arrow(h0, us[1])
    parts[1].append(part)
    steps = [s.together(parts[t]) for t in times]
    # time steps side by side, touching: the arrows c_t → c_t+1 and h_t → u_t+1 stand in the gates'
    # column, in the rows of c_t and h_t, which nothing else uses
    grid = ops.flow(s, steps, gap=0, width=ROW_WIDTH if _steps_per_row(d) else None)
    ops.chain_arrows(s, [cs[t] for t in times])
    for t in times[1:]:  # the recurrence: h_{t−1} goes into u_t
        s.arrow(hs[t - 1], us[t])
    with s.step("Collect the states: C = [c_1 … c_T], H = [h_1 … h_T]"):
        C = ops.copy_columns(s, "C", [cs[t] for t in times], role=COMPUTED, label="C = [c_1 … c_T]")
        H = ops.copy_columns(s, "H", [hs[t] for t in times], label="H = [h_1 … h_T]")
    # the sequences in and out, one column per step, over the cells that compute them
    s.next_to(ops.flow(s, [X, C, H]), grid, UP)


def _input(X, j, d_in, state):
    """u_t = [x_t; h_{t−1}]: column j of X over the state before, ``state()``: h_{t−1} is made in a
    later step than u_t, so its block is looked up when the formula is written."""
    return lambda i, _: X.cell(i, j) if i < d_in else state().cell(i - d_in, 0)


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
