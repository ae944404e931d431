"""conv1d: a 1-D convolution as a matrix product (nn.Conv1d, stride 1, no padding).

Each column t of the window matrix U holds the k inputs under the kernel at position t, channel by
channel (im2col): U[c·k + m, t] = X[c, t + m]. Then Y = W·U + b is an ordinary linear layer, W's row o
being output channel o's kernel laid out the same way, and A = ReLU(Y).
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import BIAS, OUTPUT, WEIGHT, ops
from xlhand.model.exercise import Exercise, Source
from xlhand.model.npref import has_both_signs, relu
from xlhand.model.givens import Given


def reference(d, p):
    U = np.vstack([p.X[c:c + 1, m:d.n - d.k + 1 + m] for c in range(d.c_in) for m in range(d.k)])
    Y = p.W @ U + p.b
    return dict(U=U, Y=Y, A=relu(Y))


def layout(s, d, p):
    k = d.k
    with s.step(f"Slide the kernel: column t of U holds x[c, t … t+{k - 1}] for every channel c"):
        X = s.given("X", label="X (one row per channel)")
        U = s.add("U", (d.c_in * k, d.n - k + 1), label="U = windows of X",
                  formula=lambda i, j: X.cell(i // k, j + i % k))
        s.place(U, below=X)
    with s.step(f"Y = W·U + b: one kernel against one window (nn.Conv1d({d.c_in}, {d.c_out}, {k}))"):
        Y = ops.linear(s, "Y", "W", U, "b", label="Y = W·U + b")
    with s.step("A = ReLU(Y)"):
        # under Y, in its columns: W | b | Y is as wide as a page holds once there are two channels
        s.place(ops.relu(s, "A", Y, role=OUTPUT), below=Y)


def checks(d, p) -> str | None:
    return f"kernel width k = {d.k} is wider than the input, n = {d.n}" if d.k > d.n else None


def instructive(d, p) -> bool:
    """The ReLU both passes and blocks something."""
    return has_both_signs(reference(d, p)["Y"])


EXERCISE = Exercise(
    name="conv1d",
    title="A 1-D convolution as a matrix product",
    source=Source(
        paper="LeCun, Bottou, Bengio & Haffner (1998), Gradient-based learning applied to document recognition, "
              "Proc. IEEE 86(11)",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): 1-D Convolution"),
    dims={"c_in": "input channels", "n": "input length", "k": "kernel width", "c_out": "output channels"},
    presets={
        "small": dict(c_in=1, n=6, k=3, c_out=2),
        "medium": dict(c_in=2, n=6, k=3, c_out=2),
        "large": dict(c_in=3, n=10, k=3, c_out=4),
    },
    givens=[
        Given("X", ("c_in", "n"), low=-2, high=3),
        Given("W", ("c_out", lambda d: d.c_in * d.k), role=WEIGHT, low=-1, high=1),
        Given("b", ("c_out", 1), role=BIAS, low=-1, high=1),
    ],
    reference=reference,
    layout=layout,
    limits={"c_in": (1, 8), "n": (2, 32), "k": (1, 8), "c_out": (1, 8)},
    checks=checks,
    accept=instructive,
)
