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

from .. import fx, ops
from ..exercise import Exercise
from ..params import Given, fixed


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
    k = d.n_in
    mid = (k - 1) // 2  # the row of the single-valued nodes, level with the middle input
    with s.step("Forward, × nodes: xw_i = x_i · w_i"):
        x = s.given("x", at=(0, 0), label="x")
        w = s.given("w", at=(0, 2), label="w")
        s.glyph(mid, 1, "×")
        xw = s.add("xw", (k, 1), (0, 4), "computed", "x·w", formula=lambda i, j: fx.mul(x.cell(i), w.cell(i)))
        s.glyph(mid, 3, "→")
    with s.step("Forward, + node: s = Σ xw_i"):
        sm = s.add("s", (1, 1), (mid, 6), "computed", "s = Σ xw", formula=lambda i, j: fx.sum_range(xw.range()))
        s.glyph(mid, 5, "→")
    with s.step("Forward, + node: n = s + b"):
        above = mid >= 2
        b = s.given("b", at=(mid - 2 if above else mid + 3, 8), label="b")
        s.glyph(mid - 1 if above else mid + 1, 8, "↓" if above else "↑")
        n = s.add("n", (1, 1), (mid, 8), "computed", "n = s + b", formula=lambda i, j: fx.add(sm.cell(), b.cell()))
        s.glyph(mid, 7, "→")
    with s.step("Forward, tanh node: o = tanh(n)"):
        o = ops.tanh(s, "o", n, at=(mid, 10), role="output", label="o = tanh(n)")

    top = max(k, mid + 4) + 2  # the backward band, mirroring the forward one
    with s.step("Backward, tanh node: dn = do · (1 − o²)   (start with do = ∂o/∂o = 1)"):
        do = s.given("do", at=(top + mid, 10), label="do")
        dn = s.add("dn", (1, 1), (top + mid, 8), "gradient", "dn = do·(1−o²)",
                   formula=lambda i, j: fx.mul(do.cell(), f"1-{o.cell()}^2"))
        s.glyph(top + mid, 9, "←")
    with s.step("Backward, + node n = s + b passes dn on: ds = dn, db = dn"):
        ds = s.add("ds", (1, 1), (top + mid, 6), "gradient", "ds = dn", formula=lambda i, j: dn.cell())
        s.glyph(top + mid, 7, "←")
        s.add("db", (1, 1), (top + mid + 3, 8), "gradient", "db = dn", formula=lambda i, j: dn.cell())
    with s.step("Backward, + node s = Σ xw_i passes ds to every term: dxw_i = ds"):
        dxw = s.add("dxw", (k, 1), (top, 4), "gradient", "dxw = ds", formula=lambda i, j: ds.cell())
        s.glyph(top + mid, 5, "←")
    with s.step("Backward, × nodes swap their operands: dx_i = w_i · dxw_i, dw_i = x_i · dxw_i"):
        s.add("dx", (k, 1), (top, 0), "gradient", "dx = w·dxw", formula=lambda i, j: fx.mul(w.cell(i), dxw.cell(i)))
        s.add("dw", (k, 1), (top, 2), "gradient", "dw = x·dxw", formula=lambda i, j: fx.mul(x.cell(i), dxw.cell(i)))
        s.glyph(top + mid, 3, "←")
    s.note(s.lowest_row() + 1, 0,
           "Every gradient stands under its node's value: ∂o/∂node, found by the chain rule from right to left.")


def instructive(d, p) -> bool:
    """tanh neither saturated nor linear: |n| between 0.3 and 2, so 1 − o² is worth computing;
    no weight is 0, so every dx_i teaches something."""
    n = float(np.sum(p.x * p.w) + p.b)
    return 0.3 <= abs(n) <= 2.0 and bool(np.all(p.w != 0))


EXERCISE = Exercise(
    name="autograd",
    title="Autograd by hand: the expression graph of one tanh neuron",
    dims={"n_in": "inputs of the neuron"},
    presets={"small": dict(n_in=2), "medium": dict(n_in=3), "large": dict(n_in=4)},
    givens=[
        Given("x", ("n_in", 1), low=-2, high=3, describe="inputs"),
        Given("w", ("n_in", 1), role="weight", describe="weights"),
        Given("b", (), role="bias", low=-2, high=2, describe="bias"),
        Given("do", (), role="gradient", make=fixed(1.0), describe="upstream gradient ∂o/∂o"),
    ],
    reference=reference,
    layout=layout,
    limits={"n_in": (1, 8)},
    accept=instructive,
)
