"""rnn: a vanilla recurrent network over a sequence, one column per time step.

For t = 1…T: h_t = tanh(Wx·x_t + Wh·h_{t−1} + b), y_t = softmax(Wy·h_t).
On the sheet the weights stand once at the left as one row [Wx | Wh | b] against each step's
column [x_t; h_{t−1}; 1]; every time step is a column further right, and h_t feeds the next step.
The output layer uses the same Wy at every step, so it is one product O = Wy·H over all steps.
"""
from __future__ import annotations

import numpy as np

from ..npref import rnn_states, softmax_columns
from .. import ops
from ..exercise import Exercise
from ..params import Given


def reference(d, p):
    out = rnn_states(p.X, p.h0, p.Wx, p.Wh, p.b)
    H = out["H"]
    O = p.Wy @ H
    out.update(H=H, O=O, Y=softmax_columns(O))
    return out


def layout(s, d, p):
    n_u = d.d_in + d.d_h
    X = s.given("X", at=(0, 2), label="X (one column per step)")
    col = [2 * t for t in range(d.T + 1)]  # col[t]: the column of step t; col[0] holds h0
    u_row = X.bottom + 2
    z_row = u_row + n_u + 3  # under u_t and its row of 1s, with a label row
    h_row = z_row + d.d_h + 2
    h_prev = s.given("h0", at=(h_row, col[0]))
    weights = ["Wx", "Wh"]
    bias = "b"
    hs = []
    for t in range(1, d.T + 1):
        with s.step(f"Step t = {t}: u = [x_{t}; h_{t - 1}], z_{t} = [Wx | Wh | b]·[u; 1], h_{t} = tanh(z_{t})"):
            u = _input_column(s, t, X, h_prev, (u_row, col[t]))
            z = ops.linear_parts(s, f"z_{t}", weights, u, bias, at=(z_row, col[t]), label=f"z_{t}")
            weights, bias = [s.blocks["Wx"], s.blocks["Wh"]], s.blocks["b"]
            h = ops.tanh(s, f"h_{t}", z, at=(h_row, col[t]), role="output", label=f"h_{t}")
            s.arrow(h_prev, h)
        h_prev = h
        hs.append(h)
    with s.step("Collect the hidden states: H = [h_1 … h_T]"):
        H = ops.copy_columns(s, "H", hs, at=(h_row + d.d_h + 2, col[1]), role="computed", label="H")
    with s.step("Output scores for every step at once: O = Wy·H (the same Wy at each step)"):
        O = ops.matmul(s, "O", "Wy", H, label="O = Wy·H")
    with s.step("y_t = softmax(O) over each column: Y = [y_1 … y_T]"):
        ops.softmax_columns(s, "Y", O, role="output", label="Y = softmax(O)")


def _input_column(s, t, X, h_prev, at):
    """u_t = [x_t; h_{t−1}]: copies of X's column t and of the previous hidden state."""
    d_in = X.rows

    def cell(i, j):
        return X.cell(i, t - 1) if i < d_in else h_prev.cell(i - d_in, 0)

    return s.add(f"u_{t}", (d_in + h_prev.rows, 1), at, "computed", f"u_{t}", formula=cell)


def instructive(d, p) -> bool:
    """tanh stays readable (|z| < 3.5, and z of both signs) and no y_t is one-hot."""
    ref = reference(d, p)
    Z = np.hstack([ref[f"z_{t}"] for t in range(1, d.T + 1)])
    if np.abs(Z).max() >= 3.5 or (Z.size >= 2 and not ((Z > 0).any() and (Z < 0).any())):
        return False
    return bool(ref["Y"].max() < 0.95)


def halves(rng, size, dims):
    """Recurrent weights, biases and h0 in −1, −0.5, 0, 0.5, 1: small enough that tanh does not
    saturate after a few steps, still easy by hand."""
    return rng.integers(-2, 3, size=size) / 2


EXERCISE = Exercise(
    name="rnn",
    title="Recurrent neural network over a sequence",
    dims={"d_in": "input features", "d_h": "hidden units", "d_out": "output classes", "T": "time steps"},
    presets={
        "small": dict(d_in=2, d_h=2, d_out=3, T=3),
        "medium": dict(d_in=3, d_h=3, d_out=3, T=4),
        "large": dict(d_in=4, d_h=4, d_out=5, T=6),
    },
    givens=[
        Given("X", ("d_in", "T"), low=-1, high=2),
        Given("h0", ("d_h", 1), make=halves),
        Given("Wx", ("d_h", "d_in"), role="weight", make=halves),
        Given("Wh", ("d_h", "d_h"), role="weight", make=halves),
        Given("b", ("d_h", 1), role="bias", make=halves),
        Given("Wy", ("d_out", "d_h"), role="weight", low=-2, high=2),
    ],
    reference=reference,
    layout=layout,
    accept=instructive,
)
