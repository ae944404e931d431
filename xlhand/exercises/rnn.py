"""rnn: a vanilla recurrent network over a sequence, one column per time step.

For t = 1…T: h_t = tanh(Wx·x_t + Wh·h_{t−1} + b), y_t = softmax(Wy·h_t).
On the sheet the weights stand once, left of the first step, as one row [Wx | Wh | b] against each
step's column [x_t; h_{t−1}; 1]; every time step is a column further right, and h_t feeds the next
step. A long sequence wraps into rows of steps a page wide. The output layer uses the same Wy at
every step, so it is one product O = Wy·H over all steps.
"""
from __future__ import annotations

import numpy as np

from xlhand.model.npref import has_both_signs, rnn_states, softmax_columns
from xlhand.layout import BIAS, COMPUTED, DOWN, OUTPUT, UP, WEIGHT, ops
from xlhand.model.exercise import Exercise, Source, STABLE_SOFTMAX
from xlhand.model.givens import Given


def reference(d, p):
    out = rnn_states(p.X, p.h0, p.Wx, p.Wh, p.b)
    H = out["H"]
    O = p.Wy @ H
    out.update(H=H, O=O, Y=softmax_columns(O))
    return out


def layout(s, d, p):
    X = s.given("X", label="X (one column per step)")
    steps, hs = ops.tanh_rnn(s, X, "h0", ["Wx", "Wh"], "b", h_role="output", step=_describe)
    grid = ops.flow(s, steps, gap=0)  # no gap: the 1s of each step mark the column before it
    ops.chain_arrows(s, hs)
    s.next_to(X, grid, UP)
    with s.group() as outputs:
        with s.step("Collect the hidden states: H = [h_1 … h_T]"):
            H = ops.copy_columns(s, "H", hs, role=COMPUTED, label="H = [h_1 … h_T]")
        with s.step("Output scores for every step at once: O = Wy·H (the same Wy at each step)"):
            O = ops.matmul(s, "O", "Wy", H, label="O = Wy·H")
        with s.step("y_t = softmax(O) over each column: Y = [y_1 … y_T]"):
            # the exponentials under O (past its max row) and Y right of them, so that O, e^(O − max)
            # and Y stand two blocks wide rather than three
            s.place(ops.softmax(s, "Y", O, role=OUTPUT, label="Y = softmax(O)"), below=O, gap=2)
    s.next_to(outputs, grid, DOWN)


def _describe(t: int) -> str:
    if t == 1:
        return "t = 1: u_1 = [x_1; h_0], z_1 = [Wx | Wh | b]·[u_1; 1], h_1 = tanh(z_1)"
    return f"t = {t}: h_{t} = tanh([Wx | Wh | b]·[x_{t}; h_{t - 1}; 1])"


def instructive(d, p) -> bool:
    """tanh stays readable (|z| < 3.5, and z of both signs) and no y_t is one-hot."""
    ref = reference(d, p)
    Z = np.hstack([ref[f"z_{t}"] for t in range(1, d.T + 1)])
    if np.abs(Z).max() >= 3.5 or not has_both_signs(Z):
        return False
    return bool(d.d_out < 2 or ref["Y"].max() < 0.95)


EXERCISE = Exercise(
    name="rnn",
    title="Recurrent neural network over a sequence",
    source=Source(
        paper="Elman (1990), Finding structure in time, Cognitive Science 14",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Recurrent Neural Network"),
    dims={"d_in": "input features", "d_h": "hidden units", "d_out": "output classes", "T": "time steps"},
    presets={
        "small": dict(d_in=2, d_h=2, d_out=3, T=3),
        "medium": dict(d_in=3, d_h=3, d_out=3, T=4),
        "large": dict(d_in=4, d_h=4, d_out=5, T=6),
        "lecture": dict(d_in=4, d_h=4, d_out=5, T=32),
    },
    # Fresh numbers keep tanh readable by construction, at any size and for any number of steps:
    # |x_t|, |h_t| <= 1, the rows of Wx and Wh sum (in absolute value) to at most 1.5 and 1, and
    # |b| <= 0.5, so every |z_t| <= 3. Rows of Wy sum to at most 2, so no y_t is one-hot.
    givens=[
        Given("X", ("d_in", "T"), low=-1, high=1),
        Given("h0", ("d_h", 1), low=-1, high=1, step=0.5),
        Given("Wx", ("d_h", "d_in"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5),
        Given("Wh", ("d_h", "d_h"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1),
        Given("b", ("d_h", 1), role=BIAS, low=-0.5, high=0.5, step=0.5),
        Given("Wy", ("d_out", "d_h"), role=WEIGHT, low=-1, high=1, row_sum=2),
    ],
    reference=reference,
    layout=layout,
    accept=instructive,
    options=[STABLE_SOFTMAX],
)
