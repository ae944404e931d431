"""xlstm: the mLSTM cell of the xLSTM paper (Beck et al. 2024): a matrix memory, one column per step.

Per step t with x = x_t: q = Wq·x + bq; k = Wk_s·x + bk with Wk_s = Wk/√d (the key scaled once, its
own block); v = Wv·x + bv; input gate i = exp(wi·x + bi), forget gate f = σ(wf·x + bf), output gate
o = σ(Wo·x + bo). Memory C_t = f·C_{t−1} + i·v·kᵀ (vk = v·kᵀ, d×d), normaliser n_t = f·n_{t−1} + i·k;
read-out Cq_t = C_t·q, den_t = max(|n_tᵀ·q|, 1), htil_t = Cq_t / den_t, h_t = o ⊙ htil_t;
H = [h_1 … h_T]. C_0 and n_0 are givens (0 by default). On the sheet the gates of every step stand
side by side under X (the weights once, left of the first), then each step's memory and read-out
one under the other.
Option stabilized: with itil = wi·x + bi and log f = −ln(1 + e^−(wf·x + bf)), the stabiliser
m_t = max(log f + m_{t−1}, itil) (m_0 = 0), i' = exp(itil − m_t), f' = exp(log f + m_{t−1} − m_t)
replace i and f, and den_t = max(|n_tᵀ·q|, exp(−m_t)): the memory and normaliser are scaled by
e^−m_t (no exp overflows), and h_t is the same.
"""
from __future__ import annotations

from contextlib import nullcontext

import numpy as np

from xlhand.layout import BIAS, COMPUTED, DOWN, EVERYTHING, GIVEN, LEFT, OUTPUT, RIGHT, UP, WEIGHT, fx, ops
from xlhand.model.exercise import Exercise, Option, Source
from xlhand.model.npref import sigmoid
from xlhand.model.givens import Given


def reference(d, p, stabilized=False):
    Wk_s = p.Wk / np.sqrt(d.d)
    C, n, m = np.array(p.C0, dtype=float), np.array(p.n0, dtype=float), 0.0
    out = {"Wk_s": Wk_s}
    hs = []
    for t in range(1, d.T + 1):
        x = p.X[:, t - 1:t]
        q, k, v = p.Wq @ x + p.bq, Wk_s @ x + p.bk, p.Wv @ x + p.bv
        itil, ftil = (p.wi @ x).item() + p.bi, (p.wf @ x).item() + p.bf
        o = sigmoid(p.Wo @ x + p.bo)
        vk = v @ k.T
        step = {"x": x, "q": q, "k": k, "v": v, "o": o, "kT": k.T, "vk": vk}
        if stabilized:
            logf = -np.log(1 + np.exp(-ftil))
            m_new = max(logf + m, itil)
            ip, fp = np.exp(itil - m_new), np.exp(logf + m - m_new)
            C, n = fp * C + ip * vk, fp * n + ip * k
            floor = np.exp(-m_new)
            step.update(itil=itil, ftil=ftil, logf=logf, m=m_new, ip=ip, fp=fp)
            m = m_new
        else:
            i, f = np.exp(itil), sigmoid(ftil)
            C, n = f * C + i * vk, f * n + i * k
            floor = 1.0
            step.update(i=i, f=f)
        Cq = C @ q
        den = max(abs((n.T @ q).item()), floor)
        htil = Cq / den
        h = o * htil
        step.update(C=C, n=n, Cq=Cq, qc=q, den=den, htil=htil, h=h)
        out.update({f"{key}_{t}": np.atleast_2d(value) for key, value in step.items()})
        hs.append(h)
    out["H"] = np.hstack(hs)
    return out


# --- layout ------------------------------------------------------------------------------------
def layout(s, d, p, stabilized=False):
    D, T = d.d, d.T
    X = s.given("X", label="X (one step a column)")
    Wk = s.given("Wk", label="Wk")
    s.place(Wk, left_of=X)
    columns, gates = [], []
    for t in range(1, T + 1):  # the gates of every step side by side, the weights left of the first
        with s.group() as column, s.step(_projections_step(t, D, stabilized)):
            x = s.add(f"x_{t}", (d.d_in, 1), role=COMPUTED, label=f"x_{t}",
                      formula=lambda i, j, t=t: X.cell(i, t - 1))
            s.place(x, below=X, gap=0)  # X's column t right over x_t
            q = ops.linear(s, f"q_{t}", _w(s, "Wq"), x, _w(s, "bq"), label=f"q_{t}")
            s.place(q, below=ops.ones_row(s, x), gap=0)
            k = ops.matmul_parts(s, f"k_{t}", [_scaled_keys(s, Wk, D)], x, _w(s, "bk"), label=f"k_{t}")
            s.place(k, below=q, gap=0)  # the gates one under the other, label rows between
            v = ops.linear(s, f"v_{t}", _w(s, "Wv"), x, _w(s, "bv"), label=f"v_{t}")
            s.place(v, below=k, gap=0)
            # at step 1 the gates have their own number (an inner step, after the projections'); a later
            # step is one number, "as at step 1"
            with s.step(_gates_step(stabilized)) if t == 1 else nullcontext():
                if stabilized:
                    i = ops.linear(s, f"itil_{t}", _w(s, "wi"), x, _w(s, "bi"), label=f"itil_{t}")
                    s.place(i, below=v, gap=0)
                    f = ops.linear(s, f"ftil_{t}", _w(s, "wf"), x, _w(s, "bf"), label=f"ftil_{t}")
                    s.place(f, below=i, gap=0)
                else:
                    i = ops.linear_act(s, f"i_{t}", fx.exp, _w(s, "wi"), x, _w(s, "bi"), label=f"i_{t} = exp(·)")
                    s.place(i, below=v, gap=0)
                    f = ops.linear_act(s, f"f_{t}", fx.sigmoid, _w(s, "wf"), x, _w(s, "bf"),
                                       label=f"f_{t} = σ(·)")
                    s.place(f, below=i, gap=0)
                o = ops.linear_act(s, f"o_{t}", fx.sigmoid, _w(s, "Wo"), x, _w(s, "bo"), label=f"o_{t} = σ(·)")
                s.place(o, below=f, gap=0)
        if columns:
            s.next_to(column, columns[-1], RIGHT, gap=1)
        columns.append(column)
        gates.append((q, k, v, i, f, o))
    band = s.together(columns)
    if stabilized:  # the stabiliser (log f, m_t, i', f') of every step under its gates, one step number
        # for all (m_0 → m_1 → m_2 … across), the memories under them as without it
        with s.step(_stabilizer_step()):
            stabilizers = [_stabilizer(s, t, i, f, o, D >= ACROSS_FROM)
                           for t, (q, k, v, i, f, o) in enumerate(gates, start=1)]
        gates = [(q, k, v, ip, fp, o) for (q, k, v, _, _, o), (ip, fp) in zip(gates, stabilizers)]
        band = s.together(columns + [b for pair in stabilizers for b in pair])
    previous, hs = band, []
    for t, (q, k, v, i, f, o) in enumerate(gates, start=1):  # then each step's memory, one under the other
        with s.group() as memory:
            with s.step(_memory_step(t, stabilized)):
                h = _memory(s, t, q, k, v, i, f, o, o, stabilized)
        s.next_to(memory, previous, DOWN, gap=1)
        previous = memory
        hs.append(h)
    with s.step("Collect the outputs: H = [h_1 … h_T]"):
        H = ops.copy_columns(s, "H", hs, label="H = [h_1 … h_T]")
        if stabilized and D < ACROSS_FROM:  # in the corner under n_T, left of h_T: a page holds the rest
            s.next_to(H, hs[-1], LEFT, align="end")
        elif stabilized and T > 1:  # over h_T, right of the copy of q (C_0 and n_0 stand there at step 1)
            s.next_to(H, hs[-1], UP, align="end")
        else:
            s.place(H, below=EVERYTHING)


ACROSS_FROM = 3  # from this memory size d on, a step's memory stands across a landscape page (C_t's rows
# hold n_t, C_t and the read-out Cq, htil, h: 13 rows, two steps to a page); below it, the read-out stands
# under Cq and n_t under C_t (narrow enough for a portrait page, under the gates of every step)


def _w(s, name):
    """A weight by name the first time (placed left of its product), the placed block after."""
    return s.blocks.get(name, name)


def _scaled_keys(s, Wk, D):
    """``Wk_s = Wk/√d`` (made once, from Wk at the top) as the key product's left operand."""
    def place(at):
        if "Wk_s" in s.blocks:
            return s.blocks["Wk_s"]
        return s.place(s.add("Wk_s", Wk.shape, role=COMPUTED, label="Wk_s", formula=lambda i,
                             j: f"{Wk.cell(i, j)}/SQRT({D})"), at=at)

    return ops.Part(Wk.cols, place)


def _projections_step(t, D, stabilized):
    if t > 1:  # one line each: the header stays on the first page
        return f"Step {t}: q, k, v, {'itil, ftil' if stabilized else 'i, f'} and o as at step 1, from x_{t}"
    return f"Step {t}: q = Wq·x + bq, k = Wk_s·x + bk (Wk_s = Wk/√{D}), v = Wv·x + bv"


def _gates_step(stabilized):
    gates = "itil = wi·x + bi, ftil = wf·x + bf" if stabilized else "i = exp(wi·x + bi), f = σ(wf·x + bf)"
    return f"Step 1: gates {gates}, o = σ(Wo·x + bo)"


def _stabilizer_step():
    return "Each step t: m_t = max(logf + m_t−1, itil), i' = e^(itil − m_t), f' = e^(logf + m_t−1 − m_t)"


def _memory_step(t, stabilized):
    if stabilized and t > 1:  # "as at step 1": at medium a step number of two digits ("[10] h_3 =
        # o⊙htil") would widen the memory past a Letter page
        return (f"Step {t}: C_{t} = f'·C_{t - 1} + i'·v·kᵀ, n_{t} = f'·n_{t - 1} + i'·k "
                f"and h_{t} as at step 1")
    if stabilized:
        return (f"Step {t}: C_{t} = f'·C_{t - 1} + i'·v·kᵀ, n_{t} = f'·n_{t - 1} + i'·k; "
                f"h_{t} = o ⊙ C_{t}·q / max(|n_{t}ᵀq|, e^−m)")
    return (f"Step {t}: C_{t} = f·C_{t - 1} + i·v·kᵀ, n_{t} = f·n_{t - 1} + i·k; "
            f"h_{t} = o ⊙ C_{t}·q / max(|n_{t}ᵀ·q|, 1)")


def _stabilizer(s, t, itil, ftil, o, apart: bool):
    """log f = log σ(ftil), m_t, i' and f' down the column of step t's gates, under o (m_0 = 0 left of
    m_1): labels no wider than a gate's (log f's in full at step 1), the formulas in the step's text; a
    row between m_t and i' where a page may break (and with ``apart`` one between o and log f: the gates fill a landscape
    page). Returns (i', f')."""
    def log_sigmoid(i, j):
        return "-" + fx.ln("1+" + fx.exp("-" + ftil.cell()))

    logf = s.add(f"logf_{t}", (1, 1), role=COMPUTED, label="logf_1 = log σ(ftil)" if t == 1 else f"logf_{t}",
                 formula=log_sigmoid)
    s.place(logf, below=o, gap=1 if apart else 0)
    m = s.add(f"m_{t}", (1, 1), role=COMPUTED, label=f"m_{t}",
              formula=lambda i, j: f"MAX({logf.cell()}+{m_prev().cell()},{itil.cell()})")
    s.place(m, below=logf, gap=0)
    if t == 1:
        s.place(s.add("m_0", (1, 1), role=GIVEN, label="m_0", values=np.zeros((1, 1)), named=False), left_of=m)

    def m_prev():
        return s.blocks["m_0" if t == 1 else f"m_{t - 1}"]

    ip = s.add(f"ip_{t}", (1, 1), role=COMPUTED, label=f"i'_{t}",
               formula=lambda i, j: fx.exp(f"{itil.cell()}-{m.cell()}"))
    s.place(ip, below=m)
    fp = s.add(f"fp_{t}", (1, 1), role=COMPUTED, label=f"f'_{t}",
               formula=lambda i, j: fx.exp(f"{logf.cell()}+{m_prev().cell()}-{m.cell()}"))
    s.place(fp, below=ip, gap=0)
    return ip, fp


def _memory(s, t, q, k, v, i, f, o, last, stabilized):  # noqa: PLR0913
    """kᵀ, vk = v·kᵀ (v left, kᵀ above), C_t under it, and right of C_t the read-out: q over
    Cq_t = C_t·q, then den_t, htil_t and h_t (under Cq and n_t under C_t for a small memory; from
    ``ACROSS_FROM`` on, n_t left of C_t, htil_t and h_t right of Cq_t and den_t under it)."""
    D = q.rows
    kT = ops.transpose(s, f"kT_{t}", k, label=f"k_{t}ᵀ", role=COMPUTED)
    s.place(kT, below=last)
    vk = ops.matmul(s, f"vk_{t}", ops.copy_part(s, f"vc_{t}", v, label=f"v_{t}"), kT, label=f"vk_{t} = v·kᵀ")
    fi, ii = f.cell, i.cell  # the gates (f', i' when stabilised) are 1x1

    def prev(name):
        return s.blocks[f"{name}0" if t == 1 else f"{name}_{t - 1}"]

    g = "'" if stabilized else ""
    C = s.add(f"C_{t}", (D, D), role=COMPUTED, label=f"C_{t} = f{g}·C + i{g}·vk",
              formula=lambda a, b: f"{fi()}*{prev('C').cell(a, b)}+{ii()}*{vk.cell(a, b)}")
    s.place(C, below=vk, gap=0)
    n = s.add(f"n_{t}", (D, 1), role=COMPUTED, label=f"n_{t} = f{g}·n + i{g}·k",
              formula=lambda a, b: f"{fi()}*{prev('n').cell(a, 0)}+{ii()}*{k.cell(a, 0)}")
    across = D >= ACROSS_FROM  # the read-out right of C_t, n_t left of it: a memory a landscape page wide
    if across:  # n_t under v, in C's rows (its label clear of C's)
        s.place(n, left_of=C, gap=2)
    else:
        s.place(n, below=C, gap=0)
        if t == 1:
            s.place(s.given("C0", label="C_0"), left_of=C)
            s.place(s.given("n0", label="n_0"), left_of=n)
    qc = ops.copy(s, f"qc_{t}", q, label=f"q_{t}")  # q brought into view above Cq
    Cq = s.place(ops.matmul(s, f"Cq_{t}", C, qc, label=f"Cq_{t} = C·q"), right_of=C)
    s.place(qc, above=Cq)
    if across and t == 1:  # the memory and normaliser before step 1, right of q over the read-out
        s.place(s.given("n0", label="n_0"), right_of=s.place(s.given("C0", label="C_0"), right_of=qc))
    floor = (lambda: fx.exp("-" + s.blocks[f"m_{t}"].cell())) if stabilized else (lambda: "1")
    floor_text = "e^−m" if stabilized else "1"
    den = s.add(f"den_{t}", (1, 1), role=COMPUTED, label=f"den_{t} = max(|nᵀq|, {floor_text})",
                formula=lambda a, b: f"MAX(ABS({fx.dot(n.col(0), qc.col(0))}),{floor()})")
    s.place(den, below=Cq, gap=0)
    htil = s.add(f"htil_{t}", (D, 1), role=COMPUTED, label=f"htil_{t} = Cq/den",
                 formula=lambda a, b: fx.div(Cq.cell(a, 0), den.cell()))
    h = ops.elementwise(s, f"h_{t}", fx.mul, [o, htil], role=OUTPUT, label=f"h_{t} = o⊙htil")
    if not across:
        s.place(htil, below=den, gap=0)
        return s.place(h, below=htil, gap=0)
    s.place(htil, right_of=Cq)  # the read-out in C's rows, left to right
    return s.place(h, right_of=htil, gap=0)  # its label beside htil's: 15 columns hold the memory


# --- numbers -----------------------------------------------------------------------------------
def instructive(d, p, stabilized=False) -> bool:
    """Gates that are not saturated (input gate exponent within ±2, forget and output gates within ±3),
    an output that is not all near 0, and a memory that changes the read-out from step to step."""
    ref = reference(d, p)
    for t in range(1, d.T + 1):
        x = p.X[:, t - 1:t]
        itil, ftil, otil = (p.wi @ x).item() + p.bi, (p.wf @ x).item() + p.bf, p.Wo @ x + p.bo
        if abs(itil) > 2 or abs(ftil) > 3 or np.abs(otil).max() > 3:
            return False
    return bool(np.abs(ref["H"]).max() > 0.1)


def _zeros(rng, size, dims):
    """Zeros: the memory starts empty."""
    return np.zeros(size)


EXERCISE = Exercise(
    name="xlstm",
    title="The mLSTM cell of xLSTM: a matrix memory read by a query",
    source=Source(
        paper="Beck et al. (2024), xLSTM: Extended Long Short-Term Memory, NeurIPS",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): xLSTM"),
    dims={"d_in": "input features", "d": "memory size (q, k, v)", "T": "time steps"},
    presets={
        "small": dict(d_in=3, d=2, T=2),
        "medium": dict(d_in=3, d=3, T=3),
        "large": dict(d_in=4, d=4, T=5),
    },
    # Fresh numbers: inputs by halves in −1…1 and weight rows whose absolute sums are bounded, so
    # every gate's input stays in a readable range; C_0 and n_0 start at 0.
    givens=[
        Given("X", ("d_in", "T"), low=-1, high=1, step=0.5, describe="inputs, one step a column"),
        Given("Wq", ("d", "d_in"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5),
        Given("bq", ("d", 1), role=BIAS, low=-0.5, high=0.5, step=0.5),
        Given("Wk", ("d", "d_in"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5),
        Given("bk", ("d", 1), role=BIAS, low=-0.5, high=0.5, step=0.5),
        Given("Wv", ("d", "d_in"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5),
        Given("bv", ("d", 1), role=BIAS, low=-0.5, high=0.5, step=0.5),
        Given("wi", (1, "d_in"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1),
        Given("bi", (), role=BIAS, low=-0.5, high=0.5, step=0.5),
        Given("wf", (1, "d_in"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1),
        Given("bf", (), role=BIAS, low=0.5, high=1.5, step=0.5, describe="forget-gate bias (open by default)"),
        Given("Wo", ("d", "d_in"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5),
        Given("bo", ("d", 1), role=BIAS, low=-0.5, high=0.5, step=0.5),
        Given("C0", ("d", "d"), make=_zeros, describe="the memory before step 1 (0 by default)"),
        Given("n0", ("d", 1), make=_zeros, describe="the normaliser before step 1 (0 by default)"),
    ],
    reference=reference,
    layout=layout,
    options=[Option("stabilized", False, describe="the stabilised form with m_t (the same h_t, no overflow)")],
    limits={"d_in": (2, 8), "d": (1, 8), "T": (1, 8)},
    accept=instructive,
)
