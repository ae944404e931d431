"""mamba: the selective state-space scan (S6) of Mamba (Gu & Dao 2023), D channels over L positions.

Selection: B = W_B·U and C = W_C·U (N×L, one column per position), s = w_dt·U (1×L), Dt_raw = s on
every channel (D×L); step size Dt_pre = Dt_raw + dt_bias, Δ = softplus(Dt_pre) = ln(1 + e^Dt_pre).
Discretise at each position l, for channel d and state n: Abar_l[d, n] = exp(Δ[d, l]·A[d, n]);
option discretize: euler (the reference implementation, selective_scan_ref) Bbar_l[d, n] = Δ[d, l]·B[n, l],
or zoh (the paper's zero-order hold) Bbar_l = (Abar_l − 1)/(Δ·A) ⊙ Δ·B; then BU_l = Bbar_l ⊙ U[d, l].
Scan: h_l = Abar_l ⊙ h_{l−1} + BU_l with h_0 = 0 (D×N, one state row per channel).
Read out: y_l = h_l·C[:, l], i.e. Y[d, l] = Σ_n h_l[d, n]·C[n, l]; Y = [y_1 … y_L].
Option gated (true by default): Out = (Y + Dskip ⊙ U) ⊙ SiLU(Z), SiLU(z) = z·σ(z) = z/(1 + e^−z);
gated false: Out = Y (Dskip and Z stand on the sheet unused).
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import BIAS, COMPUTED, DOWN, EVERYTHING, GIVEN, OUTPUT, WEIGHT, fx, ops
from xlhand.model.exercise import Exercise, Option, Source
from xlhand.model.givens import Given


def softplus(x):
    return np.log(1 + np.exp(x))


def reference(d, p, discretize="euler", gated=True):
    D, N, L = d.D, d.N, d.L
    U, A = p.U, p.A
    B, C, s = p.W_B @ U, p.W_C @ U, p.w_dt @ U
    Dt_raw = np.repeat(s, D, axis=0)
    Dt_pre = Dt_raw + p.dt_bias
    Delta = softplus(Dt_pre)
    out = dict(B=B, C=C, s=s, Dt_raw=Dt_raw, Dt_pre=Dt_pre, Delta=Delta)
    h = np.zeros((D, N))
    Y = np.zeros((D, L))
    for l in range(L):  # the scan, one position after the other, entry by entry
        Abar, Bbar, BU = np.zeros((D, N)), np.zeros((D, N)), np.zeros((D, N))
        for c in range(D):
            for n in range(N):
                Abar[c, n] = np.exp(Delta[c, l] * A[c, n])
                if discretize == "zoh":
                    Bbar[c, n] = (Abar[c, n] - 1) / (Delta[c, l] * A[c, n]) * Delta[c, l] * B[n, l]
                else:
                    Bbar[c, n] = Delta[c, l] * B[n, l]
                BU[c, n] = Bbar[c, n] * U[c, l]
                h[c, n] = Abar[c, n] * h[c, n] + BU[c, n]
        for c in range(D):
            Y[c, l] = sum(h[c, n] * C[n, l] for n in range(N))
        k = l + 1
        out.update({f"Abar_{k}": Abar, f"Bbar_{k}": Bbar, f"BU_{k}": BU, f"h_{k}": h.copy(),
                    f"c_{k}": C[:, l:l + 1], f"y_{k}": Y[:, l:l + 1].copy()})
    out["Y"] = Y
    if gated:
        out["Yd"] = Y + p.Dskip * U
        out["G"] = p.Z / (1 + np.exp(-p.Z))
        out["Out"] = out["Yd"] * out["G"]
    else:
        out["Out"] = Y.copy()
    return out


def layout(s, d, p, discretize="euler", gated=True):
    D, N, L = d.D, d.N, d.L
    with s.group() as top:
        with s.step("Selection: B = W_B·U, C = W_C·U (one column per position), s = w_dt·U"):
            U = s.given("U", label="U (one position a column)")
            B = ops.matmul(s, "B", "W_B", U, label="B = W_B·U")
            C = ops.matmul(s, "C", "W_C", U, label="C = W_C·U")
            s.place(C, below=B)
            sv = ops.matmul(s, "s", "w_dt", U, label="s = w_dt·U")
            s.place(sv, below=C)
        with s.step("Step size: Dt_raw = s on every channel, Dt_pre = Dt_raw + dt_bias, Δ = softplus(Dt_pre) "
                    "= ln(1 + e^Dt_pre)"):
            # beside the selection, in U's rows on: dt_bias right of C, Dt_pre right of it, Dt_raw
            # over Dt_pre and Δ under it
            raw = s.add("Dt_raw", (D, L), role=COMPUTED, label="Dt_raw = s, each channel",
                        formula=lambda i, j: sv.cell(0, j))
            bias = s.given("dt_bias")
            pre = ops.elementwise(s, "Dt_pre", fx.add, [raw, bias], label="Dt_pre = Dt_raw + dt_bias")
            s.place(bias, right_of=C)
            s.place(pre, right_of=bias)
            s.place(raw, above=pre)
            delta = ops.elementwise(s, "Delta", lambda x: fx.ln(f"1+{fx.exp(x)}"), [pre],
                                    label="Delta = softplus(Dt_pre)")
            s.place(delta, below=pre)
            s.arrow(pre, delta)
    form = "(Abar−1)/(ΔA)·ΔB" if discretize == "zoh" else "Δ·B"
    previous, first, ys = None, None, []
    for l in range(1, L + 1):
        with s.step(f"Position {l} (column {l} of Δ, B, U, C): Abar = exp(Δ·A), Bbar = {form}, BU = Bbar ⊙ U, "
                    f"h_{l} = Abar ⊙ h_{l - 1} + BU, y_{l} = h_{l}·c_{l}"):
            with s.group() as band:
                Abar, Bbar, BU, h, y = _position(s, l, U, B, C, delta, previous, discretize)
                if previous is None:  # above the first position: A over Abar_1, h_0 = 0 over h_1
                    s.place(s.given("A", label="A"), above=Abar)
                    previous = s.add("h_0", (D, N), role=GIVEN, label="h_0 = 0", values=np.zeros((D, N)),
                                     named=False)
                    s.place(previous, above=h)
            s.next_to(band, top if first is None else first, DOWN, gap=1)
            s.arrow(previous, h)
        first = band
        previous = h
        ys.append(y)
    gate_text = "Out = (Y + Dskip ⊙ U) ⊙ SiLU(Z), SiLU(z) = z/(1 + e^−z)" if gated else "Out = Y (gated: false)"
    with s.step(f"Read-out: Y = [y_1 … y_L]; {gate_text}"):
        Y = ops.copy_columns(s, "Y", ys, role=COMPUTED, label="Y = [y_1 … y_L]")
        s.place(Y, below=EVERYTHING)
        s.next_to(Y, first, DOWN, gap=1)
        if gated:
            Dskip = s.given("Dskip")
            s.place(Dskip, right_of=Y)
            Yd = ops.elementwise(s, "Yd", lambda y, k, u: f"{y}+{k}*{u}", [Y, Dskip, U], label="Yd = Y + Dskip⊙U")
            s.place(Yd, right_of=Dskip)
            Z = s.given("Z", label="Z (gate)")
            s.place(Z, below=Y, gap=0)
            G = ops.elementwise(s, "G", lambda z: fx.div(z, f"1+{fx.exp(f'-{fx.wrap(z)}')}"), [Z],
                                label="G = SiLU(Z)")
            ops.elementwise(s, "Out", fx.mul, [G, Yd], role=OUTPUT, label="Out = Yd ⊙ G")
        else:
            s.place(ops.carry(s, "Out", Y, label="Out = Y", role=OUTPUT), right_of=Y)
            with s.group() as unused:  # on the sheet (every given stands on it), off paper
                Dskip = s.given("Dskip")
                s.place(Dskip, below=Y)
                s.place(s.given("Z", label="Z"), right_of=Dskip)
                s.note_below(Dskip, "Dskip and Z are not used (gated: false)")
            s.set_aside(unused)


def _position(s, l, U, B, C, delta, h_prev, discretize):
    """One position of the scan, left to right: Abar_l, Bbar_l, BU_l, h_l and y_l = h_l·c_l (c_l, the
    column l of C, above y_l). Formulas read Δ, A, B and U where they stand."""
    D, N = U.rows, B.rows
    j = l - 1
    A_ = lambda: s.blocks["A"]  # noqa: E731 - placed after the first position, read when written
    Abar = s.add(f"Abar_{l}", (D, N), role=COMPUTED, label=f"Abar_{l}",
                 formula=lambda c, n: fx.exp(f"{delta.cell(c, j)}*{A_().cell(c, n)}"))
    if discretize == "zoh":
        def bbar(c, n):
            dA = f"{delta.cell(c, j)}*{A_().cell(c, n)}"
            return f"({Abar.cell(c, n)}-1)/({dA})*{delta.cell(c, j)}*{B.cell(n, j)}"
    else:
        def bbar(c, n):
            return f"{delta.cell(c, j)}*{B.cell(n, j)}"
    Bbar = s.add(f"Bbar_{l}", (D, N), role=COMPUTED, label=f"Bbar_{l}", formula=bbar)
    s.place(Bbar, right_of=Abar)
    BU = s.add(f"BU_{l}", (D, N), role=COMPUTED, label=f"BU_{l}",
               formula=lambda c, n: f"{Bbar.cell(c, n)}*{U.cell(c, j)}")
    s.place(BU, right_of=Bbar)
    h = s.add(f"h_{l}", (D, N), role=COMPUTED, label=f"h_{l}",
              formula=lambda c, n: f"{Abar.cell(c, n)}*{h_prev_of(c, n)}+{BU.cell(c, n)}")
    s.place(h, right_of=BU)

    def h_prev_of(c, n):
        return s.blocks["h_0" if l == 1 else f"h_{l - 1}"].cell(c, n)

    col = ops.copy(s, f"c_{l}", C, label=f"c_{l}", column=j)  # c_l brought into view above y_l
    y = s.place(ops.matmul(s, f"y_{l}", h, col, label=f"y_{l}"), right_of=h)
    s.place(col, above=y)
    return Abar, Bbar, BU, h, y


# --- numbers -----------------------------------------------------------------------------------
def checks(d, p) -> str | None:
    """A zero entry of A: the zero-order hold divides by Δ·A."""
    A = np.asarray(p.A, dtype=float)
    zeros = np.argwhere(A == 0)
    if len(zeros):
        c, n = zeros[0]
        return (f"block 'A': entry [{c + 1}, {n + 1}] is 0, but the zero-order hold divides by Δ·A "
                "(give every entry of A a value other than 0)")
    return None


def instructive(d, p, discretize="euler", gated=True) -> bool:
    """Every Abar between 0.05 and 0.95 (the state both keeps and forgets), Δ's input within ±3 (softplus
    neither linear nor flat) and changing along the sequence (the selection) and between channels, the
    read-out not all near 0, and a gate that opens and closes."""
    if checks(d, p):
        return False
    ref = reference(d, p, discretize, gated)
    Abars = np.concatenate([ref[f"Abar_{l}"].ravel() for l in range(1, d.L + 1)])
    if Abars.min() < 0.05 or Abars.max() > 0.95 or np.abs(ref["Dt_pre"]).max() > 3:
        return False
    if np.abs(ref["Y"]).max() < 0.1 or (d.L > 1 and np.ptp(ref["Delta"], axis=1).max() < 0.1):
        return False  # a read-out of zeros, or a step size that does not depend on the input
    if d.D > 1 and np.ptp(p.dt_bias) == 0:
        return False  # every channel the same step size
    return not gated or p.Z.size < 2 or bool((p.Z > 0).any() and (p.Z < 0).any())


EXERCISE = Exercise(
    name="mamba",
    title="Mamba's selective scan (S6): input-dependent Δ, B, C and a recurrent state",
    source=Source(
        paper="Gu & Dao (2023), Mamba: Linear-time sequence modeling with selective state spaces, arXiv:2312.00752",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Mamba"),
    dims={"D": "channels", "N": "state size per channel", "L": "positions (sequence length)"},
    presets={
        "small": dict(D=2, N=2, L=3),
        "medium": dict(D=3, N=2, L=4),
        "large": dict(D=4, N=4, L=6),
    },
    # Fresh numbers: small whole inputs, halves for the weights with bounded rows, Δ's input within
    # ±1.5 (Δ between 0.2 and 1.7) and A in −1.5…−0.5 (a decay): every Abar lies between 0.07 and 0.9.
    givens=[
        Given("U", ("D", "L"), low=-2, high=2, describe="the input sequence, one position a column"),
        Given("W_B", ("N", "D"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5),
        Given("W_C", ("N", "D"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5),
        Given("w_dt", (1, "D"), role=WEIGHT, low=-0.5, high=0.5, step=0.5, nonzero=True, row_sum=0.5,
              describe="one ±0.5 entry when drawn: Δ's input within ±1"),
        Given("dt_bias", ("D", 1), role=BIAS, low=-0.5, high=0.5, step=0.5),
        Given("A", ("D", "N"), role=WEIGHT, low=-1.5, high=-0.5, step=0.5,
              describe="state matrix, one row per channel (negative: a decay; any value but 0 from a params file)"),
        Given("Dskip", ("D", 1), role=WEIGHT, low=-1, high=1, step=0.5, describe="skip weight per channel"),
        Given("Z", ("D", "L"), low=-2, high=2, describe="the gate's input"),
    ],
    reference=reference,
    layout=layout,
    options=[Option("discretize", "euler", ("euler", "zoh"),
                    describe="euler: Bbar = Δ·B (the reference code); "
                             "zoh: Bbar = (Abar − 1)/(Δ·A)·Δ·B (the paper)"),
             Option("gated", True, describe="Out = (Y + Dskip ⊙ U) ⊙ SiLU(Z); false: Out = Y")],
    limits={"D": (1, 8), "N": (1, 8), "L": (1, 8)},
    checks=checks,
    accept=instructive,
)
