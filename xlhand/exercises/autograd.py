"""autograd: the scalar expression graph of one tanh neuron, forward and backward node by node.

As in micrograd: every node holds a value (data) and a gradient (grad). Forward, left to right:
xw_i = x_i·w_i, s = Σ_i xw_i, n = s + b, o = tanh(n). Backward, right to left, each node's
gradient is its parent's gradient times the local derivative (the chain rule):
do (given, 1), dn = do·(1 − o²), ds = db = dn (a + node passes its gradient on),
dxw_i = ds, dx_i = w_i·dxw_i, dw_i = x_i·dxw_i (a × node swaps its operands).

On the sheet the forward graph runs along the top band and the backward graph mirrors it in a
band underneath: every gradient stands directly under the value of its node.
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import BIAS, DOWN, EVERYTHING, GRADIENT, OUTPUT, RIGHT, UP, WEIGHT, fx, ops
from xlhand.model.exercise import Exercise, Source
from xlhand.model.givens import Given
from xlhand.model.makers import fixed


def reference(d, p):
    x, w, b = p.x, p.w, p.b
    xw = x * w
    s = np.sum(xw)
    n = s + b
    o = np.tanh(n)
    dn = p.do * (1 - o ** 2)
    ds, db = dn, dn
    dxw = np.full_like(xw, ds)
    return dict(xw=xw, s=s, n=n, o=o, dn=dn, ds=ds, db=db, dxw=dxw, dx=w * dxw, dw=x * dxw)


def layout(s, d, p):
    with s.group() as graph:  # the blocks are made where they fall, then arranged as a graph
        with s.step("Forward, × nodes: xw_i = x_i · w_i"):
            x = s.given("x", label="x")
            w = s.given("w", label="w")
            xw = s.add("xw", x.shape, label="xw = x·w", formula=lambda i, j: fx.mul(x.cell(i), w.cell(i)))
        with s.step("Forward, + node: s = Σ xw_i"):
            sm = s.add("s", (1, 1), label="s = Σ xw", formula=lambda i, j: fx.sum_range(xw.range()))
        with s.step("Forward, + node: n = s + b"):
            b = s.given("b", label="b")
            n = s.add("n", (1, 1), label="n = s + b", formula=lambda i, j: fx.add(sm.cell(), b.cell()))
        with s.step("Forward, tanh node: o = tanh(n)"):
            o = ops.tanh(s, "o", n, role=OUTPUT, label="o = tanh(n)")  # arranged below
            s.place(o, below=EVERYTHING)
        with s.step("Backward, tanh node: dn = do · (1 − o²)   (start with do = ∂o/∂o = 1)"):
            do = s.given("do", label="do")
            dn = s.add("dn", (1, 1), role=GRADIENT, label="dn = do·(1−o²)",
                       formula=lambda i, j: fx.mul(do.cell(), f"1-{o.cell()}^2"))
        with s.step("Backward, + node n = s + b passes dn on: ds = dn, db = dn"):
            ds = s.add("ds", (1, 1), role=GRADIENT, label="ds = dn", formula=lambda i, j: dn.cell())
            db = s.add("db", (1, 1), role=GRADIENT, label="db = dn", formula=lambda i, j: dn.cell())
        with s.step("Backward, + node s = Σ xw_i passes ds to every term: dxw_i = ds"):
            dxw = s.add("dxw", x.shape, role=GRADIENT, label="dxw = ds", formula=lambda i, j: ds.cell())
        with s.step("Backward, × nodes swap their operands: dx_i = w_i · dxw_i, dw_i = x_i · dxw_i"):
            dx = s.add("dx", x.shape, role=GRADIENT, label="dx",
                       formula=lambda i, j: fx.mul(w.cell(i), dxw.cell(i)))
            dw = s.add("dw", x.shape, role=GRADIENT, label="dw",
                       formula=lambda i, j: fx.mul(x.cell(i), dxw.cell(i)))
        # The graph: the forward pass along the top and, under every node's value, its gradient; a
        # single value's gradient stands n_in rows further down, level with the inputs' gradients.
        columns = ([s.arrange([value, grad], DOWN) for value, grad in ((x, dx), (w, dw), (xw, dxw))]
                   + [s.arrange([value, grad], DOWN, gap=d.n_in) for value, grad in ((sm, ds), (n, dn), (o, do))])
        s.arrange(columns, RIGHT)
        s.next_to(b, n, UP)
        s.next_to(db, dn, DOWN)
        s.note_right(x, "×")
        for before, after in ((w, xw), (xw, sm), (sm, n), (n, o)):
            s.arrow(before, after)
        s.arrow(b, n)
        for grad in (dw, dxw, ds, dn):
            s.note_right(grad, "←")
    s.note_below(graph, "Every gradient stands under its node's value: ∂o/∂node, found by the chain rule "
                        "from right to left.")


def instructive(d, p) -> bool:
    """tanh neither saturated nor linear: |n| between 0.3 and 2, so 1 − o² is worth computing;
    no weight is 0, so every dx_i teaches something."""
    n = float(np.sum(p.x * p.w) + p.b)
    return 0.3 <= abs(n) <= 2.0 and bool(np.all(p.w != 0))


def _bias(rng, size, dims, params):
    """The bias that puts n = Σ x_i·w_i + b at ±0.5, ±1, ±1.5 or ±2 (as micrograd's b = 6.88 puts n
    at 0.88): tanh is then neither saturated nor linear."""
    target = rng.choice([-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0])
    return float(target - np.sum(params["x"] * params["w"]))


EXERCISE = Exercise(
    name="autograd",
    title="Autograd by hand: the expression graph of one tanh neuron",
    source=Source(
        paper="Baydin et al. (2018), Automatic differentiation in machine learning: a survey, JMLR 18",
        walkthrough="Andrej Karpathy, micrograd (github.com/karpathy/micrograd)"),
    dims={"n_in": "inputs of the neuron"},
    presets={"small": dict(n_in=2), "medium": dict(n_in=3), "large": dict(n_in=4)},
    givens=[
        Given("x", ("n_in", 1), low=-2, high=3, describe="inputs"),
        Given("w", ("n_in", 1), role=WEIGHT, low=-3, high=3, nonzero=True,
              describe="weights (none 0: its dx_i would have nothing to learn from)"),
        Given("b", (), role=BIAS, derive=_bias, describe="bias"),
        Given("do", (), make=fixed(1.0), describe="upstream gradient ∂o/∂o"),
    ],
    reference=reference,
    layout=layout,
    limits={"n_in": (1, 8)},
    accept=instructive,
)
