"""rnn: a vanilla recurrent network over a sequence, one column per time step.

For t = 1…T: h_t = tanh(Wx·x_t + Wh·h_{t−1} + b), y_t = softmax(Wy·h_t).
On the sheet the weights stand once at the left as one row [Wx | Wh | b] against each step's
column [x_t; h_{t−1}; 1]; every time step is a column further right, and h_t feeds the next step.
The output layer uses the same Wy at every step, so it is one product O = Wy·H over all steps.
"""
from __future__ import annotations

from dataclasses import dataclass

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
    X = s.given("X", at=(0, 2), label="X (one column per step)")
    H = recur(s, d, X, step=lambda t: f"Step t = {t}: u = [x_{t}; h_{t - 1}], z_{t} = [Wx | Wh | b]·[u; 1], "
                                     f"h_{t} = tanh(z_{t})",
              collect="Collect the hidden states: H = [h_1 … h_T]", h_role="output").H
    with s.step("Output scores for every step at once: O = Wy·H (the same Wy at each step)"):
        O = ops.matmul(s, "O", "Wy", H, label="O = Wy·H")
    with s.step("y_t = softmax(O) over each column: Y = [y_1 … y_T]"):
        ops.softmax_columns(s, "Y", O, role="output", label="Y = softmax(O)")


@dataclass
class Recurrence:
    """What a laid-out tanh RNN leaves for the steps after it."""

    H: object  # block H = [h_1 … h_T]
    last: object  # block h_T
    u_row: int  # the rows of the inputs u_t, the pre-activations z_t and the states h_t
    z_row: int
    h_row: int
    cols: list[int]  # cols[t]: the column of step t (cols[0] holds h0)


def recur(s, d, X, *, step, collect, h_role="computed") -> Recurrence:
    """A tanh RNN over X's columns, one column per step: u_t = [x_t; h_{t−1}] above
    z_t = [Wx | Wh | b]·[u_t; 1] above h_t = tanh(z_t), the weights at the far left; then
    H = [h_1 … h_T]. ``step(t)`` describes step t; ``collect`` describes the step gathering H."""
    n_u = d.d_in + d.d_h
    cols = [2 * t for t in range(d.T + 1)]
    u_row = X.bottom + 2
    z_row = u_row + n_u + 3  # under u_t and its row of 1s, with a label row
    h_row = z_row + d.d_h + 2
    h_prev = s.given("h0", at=(h_row, cols[0]))
    weights, bias = ["Wx", "Wh"], "b"
    hs = []
    for t in range(1, d.T + 1):
        with s.step(step(t)):
            u = ops.column_over_state(s, f"u_{t}", X, t - 1, h_prev, (u_row, cols[t]))
            z = ops.linear_parts(s, f"z_{t}", weights, u, bias, at=(z_row, cols[t]), label=f"z_{t}")
            weights, bias = [s.blocks["Wx"], s.blocks["Wh"]], s.blocks["b"]
            h = ops.tanh(s, f"h_{t}", z, at=(h_row, cols[t]), role=h_role, label=f"h_{t}")
            s.arrow(h_prev, h)
        h_prev = h
        hs.append(h)
    with s.step(collect):
        H = ops.copy_columns(s, "H", hs, at=(h_row + d.d_h + 2, cols[1]), role="computed", label="H")
    return Recurrence(H, h_prev, u_row, z_row, h_row, cols)


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
        "lecture": dict(d_in=4, d_h=4, d_out=5, T=32),
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
