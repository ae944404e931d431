"""dft: the discrete Fourier transform as matrix multiplication (numbers from the seed notes).

Cosine matrix W[f, t] = cos(2π·f·t/n), f = 1…k, t = 1…n. Inverse DFT: T = F·W turns each row of
frequency amplitudes into a signal over time. DFT: R = W·Tᵀ = (n/2)·Fᵀ (the cosines are
orthogonal while 2k < n), so Fr = (2/n)·Rᵀ recovers F; the same for the signal X gives
Xf ≈ [0, 0, 3, 2], i.e. X ≈ 3cos(3ω t) + 2cos(4ω t).

Option ``with_sine``: the sine matrix Ws[f, t] = sin(2π·f·t/n), the sine coefficients
Fs = (2/n)·(Ws·Tᵀ)ᵀ and Xs, then per frequency the magnitude m = √(a² + b²) and the phase φ with
a·cos(ωt) + b·sin(ωt) = m·cos(ωt − φ), i.e. φ = atan2(b, a).

The phase without ATAN2 (whose argument order differs between spreadsheets and languages): the
half-angle identity tan(φ/2) = b/(m + a) = (m − a)/b gives φ = 2·ATAN(b/(m + a)) when a > 0 and
φ = 2·ATAN((m − a)/b) when b ≠ 0, each free of cancellation where it is used; on the negative
axis (b = 0, a < 0) φ = π, and φ = 0 when a = b = 0. Coefficients smaller than ε = 1e-9 (a labelled
cell) count as 0: they are rounding noise of a coefficient that is exactly 0, whose sign would
otherwise decide between +π and −π.
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import paper
from xlhand.layout import COMPUTED, DOWN, EVERYTHING, GIVEN, LEFT, OUTPUT, RIGHT, UP, fx, ops
from xlhand.layout.blocks import label_columns
from xlhand.model.exercise import Exercise, Option, Source
from xlhand.model.givens import Given

ALIASING = "2k ≥ n: frequencies alias, so Fr ≠ F"

SIGNALS = ("A", "B", "C")
EPS = 1e-9
# the sine part's pictures in a page's free corner: beside X on the first page, beside the magnitudes
SMALL_CHART, TALL_CHART = dict(rows=7, cols=6), dict(rows=9, cols=6)


def cosines(n, k, fn=np.cos):
    f = np.arange(1, k + 1)[:, None]
    t = np.arange(1, n + 1)[None, :]
    return fn(2 * np.pi * f * t / n)


def clean(x):
    return np.where(np.abs(x) < EPS, 0.0, x)


def reference(d, p, with_sine=False):
    n, k = d.n, d.k
    W = cosines(n, k)
    T = p.F @ W
    Tt = T.T
    R = W @ Tt
    Fr = (2 / n) * R.T
    Xt = p.X.T
    WX = W @ Xt
    Xf = (2 / n) * WX.T
    out = dict(W=W, T=T, Tt=Tt, R=R, Fr=Fr, Xt=Xt, WX=WX, Xf=Xf)
    if with_sine:
        Ws = cosines(n, k, np.sin)
        Rs = Ws @ Tt
        WsX = Ws @ Xt
        Fs, Xs = (2 / n) * Rs.T, (2 / n) * WsX.T
        out.update(Ws=Ws, Rs=Rs, WsX=WsX, Fs=Fs, Xs=Xs,
                   Mag=np.sqrt(Fr ** 2 + Fs ** 2), MagX=np.sqrt(Xf ** 2 + Xs ** 2),
                   Phase=np.arctan2(clean(Fs), clean(Fr)), PhaseX=np.arctan2(clean(Xs), clean(Xf)))
    return out


def layout(s, d, p, with_sine=False):
    n, k = d.n, d.k
    # F·W wider than a page at full size (large): the sheet shrinks (to 70 %, where a Letter landscape
    # page holds 22 columns = k + n at large), laid as on a page as wide as F·W: F against T (no gap;
    # the header's 8 columns allow no column break left of W), the DFT in a band under it with a copy
    # of W left of R and W·Xᵀ against R ([R | W·Xᵀ] = W·[Tt | Xᵀ]), nothing wider than F·W; with the
    # sine part, Ws under W's copy, Ws·Tt and Ws·Xᵀ under R and W·Xᵀ ([W; Ws]·[Tt | Xᵀ])
    wide = k + 1 + n > paper.narrowest_page_columns()
    weights_gap = 0 if wide else 1
    with s.step("Cosine matrix: W[f, t] = cos(2π·f·t/n) for f = 1…k, t = 1…n"):
        # the index headers are labels of the picture, not data: unnamed, so neither checked nor graded
        times = s.add("time", (1, n), role=GIVEN, label="t (time)", values=np.arange(1, n + 1)[None, :], named=False)
        npts = s.add("npts", (1, 1), role=COMPUTED, label="n = number of t",
                     formula=lambda i, j: f"COUNT({times.range()})", expect=lambda v: float(n))
        s.place(npts, below=times)
        scale = s.add("scale", (1, 1), role=COMPUTED, label="2/n",
                      formula=lambda i, j: f"2/{npts.cell()}", expect=lambda v: 2.0 / n)
        s.place(scale, right_of=npts)
        freqs = s.add("freq", (k, 1), role=GIVEN, label="f", values=np.arange(1, k + 1)[:, None], named=False)
        s.place(freqs, below=times)
        W = _wave(s, "W", "COS", freqs, times, npts, label="W = cos(2π·f·t/n)")
        s.place(W, right_of=freqs, gap=0 if wide else None)  # wide: f against W, clear of n over F
        s.next_to(times, W, UP, gap=0)  # t over W's columns, f beside its rows
    with s.step("Inverse DFT: T = F·W, one signal over time per row of F (A, B, C)"):
        F = s.given("F", label="F (rows A, B, C)")
        T = ops.matmul(s, "T", F, W, label="T = F·W", weights_gap=weights_gap)
        s.next_to(F, T, LEFT, gap=weights_gap)
        X = s.given("X", label="X (the seed notes' signal)")
        s.place(X, below=T)
    if with_sine and not wide:
        _with_sine(s, d, W, F, T, X, npts, scale, freqs, times)
        return
    # on a page as wide as F and T: the DFT in a second band under X, W copied left of R (as on
    # paper when W is needed again a band on), so that each product prints with its operands; else
    # right of W, which R and W·Xᵀ share (from here on, the sine part is wide: large)
    copied = wide or s.together([F, T]).cols <= paper.narrowest_page_columns()
    if copied and F.cols >= label_columns(npts.label):  # n and 2/n left of W, over F
        s.next_to(s.arrange([npts, scale], DOWN), F, UP, align="start")
    else:  # n and 2/n over t's end, clear of Tt (or of t's label, over an F too narrow for n's)
        s.next_to(s.arrange([npts, scale], RIGHT), times, UP, align="end")
    with s.group() as dft:
        with s.step("DFT: Tt = Tᵀ, R = W·Tt (= (n/2)·Fᵀ), and W·Xᵀ for the signal X (W left, Tt and Xᵀ above)"):
            Tt = ops.transpose(s, "Tt", T, label="Tt = Tᵀ")
            Xt = ops.transpose(s, "Xt", X, label="Xᵀ", role=COMPUTED)
            if copied:
                R = ops.matmul_parts(s, "R", [_copy(s, "W_R", W)], Tt, label="R = W·Tt")
                W_left = s.blocks["W_R"]
                # W·Xᵀ right of R where a page has room for it (a gap and its label's two columns),
                # else in a band of its own under R's, with a copy of W of its own; wide: against R
                beside = wide or s.together([R, W_left]).cols + 3 <= paper.narrowest_page_columns()
            else:
                R = ops.matmul(s, "R", W, Tt, label="R = W·Tt")
                s.place(R, right_of=W)
                W_left, beside = W, True
            s.next_to(Tt, R, UP)
            if beside:
                WX = ops.matmul(s, "WX", W_left, Xt, label="W·Xᵀ")
                s.place(WX, right_of=R, gap=0 if wide else 1)
            else:
                WX = ops.matmul_parts(s, "WX", [_copy(s, "W_X", W)], Xt, label="W·Xᵀ")
            s.next_to(Xt, WX, UP)
        # a band a page wide (small): Fr and Xf over W's copy, left of Tt (where Tt's rows leave room),
        # so that the pictures fit under W and R on the same page
        compact = copied and beside and max(k, 3) + 3 <= n and 2 * k < n  # Fr (3 rows), a gap and Xf in Tt's n rows
        alias = "≠ F: 2k ≥ n aliases" if 2 * k >= n else "= F"  # in the step: a note beside Fr ran off the page
        with s.step(f"Scale by 2/n and transpose: Fr = (2/n)·Rᵀ ({alias}), Xf = (2/n)·(W·Xᵀ)ᵀ"):
            Fr = _scaled_transpose(s, "Fr", R, scale, label="Fr = (2/n)·Rᵀ", role=OUTPUT)
            s.place(Fr, below=R)
            Xf = _scaled_transpose(s, "Xf", WX, scale, label="Xf = (2/n)·(W·Xᵀ)ᵀ", role=OUTPUT)
            s.place(Xf, below=Fr if beside else WX)
            if compact:
                s.next_to(s.arrange([Fr, Xf], DOWN), Tt, LEFT, gap=2)
        if not beside:  # W·Xᵀ's band under R's
            s.next_to(s.together([Xt, WX, s.blocks["W_X"], Xf]), s.together([Tt, R, W_left, Fr]), DOWN,
                      align="start")
    if copied:  # the DFT's band under the inverse DFT's
        s.next_to(dft, s.together([F, T, X]), DOWN, align="start")
    spectrum = [("Xf (cosine part)", Xf, 0)]
    if with_sine:
        with s.step("Sine matrix: Ws[f, t] = sin(2π·f·t/n)"):
            # under W's copy and the DFT (no f beside it, as beside the copy)
            Ws = _wave(s, "Ws", "SIN", freqs, times, npts, label="Ws = sin(2π·f·t/n)")
            s.next_to(Ws, s.together([W_left, R, WX, Fr, Xf]), DOWN, align="start")
        with s.step("Sine coefficients: Fs = (2/n)·(Ws·Tt)ᵀ, Xs = (2/n)·(Ws·Xᵀ)ᵀ (Tt and Xᵀ above)"):
            Rs = ops.matmul(s, "Rs", Ws, Tt, label="Rs = Ws·Tt")
            s.place(Rs, right_of=Ws)
            WsX = ops.matmul(s, "WsX", Ws, Xt, label="Ws·Xᵀ")
            s.place(WsX, right_of=Rs, gap=0)
            Fs = _scaled_transpose(s, "Fs", Rs, scale, label="Fs = (2/n)·Rsᵀ", role=OUTPUT)
            s.place(Fs, below=Ws)  # the coefficients in a band under Ws
            Xs = _scaled_transpose(s, "Xs", WsX, scale, label="Xs = (2/n)·(Ws·Xᵀ)ᵀ",
                                   role=OUTPUT)
            s.place(Xs, below=Fs)
        with s.step("Magnitude m = √(a² + b²), phase φ: a·cos + b·sin = m·cos(ωt − φ) (a from Fr, b from Fs)"):
            eps = s.add("eps", (1, 1), role=GIVEN, label="ε = 1e-9 (noise)",
                        values=np.array([[EPS]]), named=False)
            s.next_to(eps, X, LEFT)  # with n and 2/n on the first page, left of X (under F)
            Mag = _magnitude(s, "Mag", Fr, Fs)
            s.place(Mag, right_of=Fs)
            MagX = _magnitude(s, "MagX", Xf, Xs)
            s.place(MagX, right_of=Xs)
            s.place(_phase(s, "Phase", Fr, Fs, Mag, eps), right_of=Mag)
            s.place(_phase(s, "PhaseX", Xf, Xs, MagX, eps), right_of=MagX)
        spectrum.append(("MagX (magnitude)", MagX, 0))
    with s.step("Pictures: the signals over time (T's rows and X) and the spectrum of X (its coefficient per f)"):
        series = [(name, T, i) for i, name in enumerate(SIGNALS)] + [("X", X, 0)]
        signals = s.chart("Signals over time", series, x_title="t", y_title="value")
        bars = s.chart("Spectrum of X", spectrum, kind="column", x_title="f", y_title="coefficient")
        if compact and not with_sine:  # side by side under W's copy and R, on the DFT's page
            s.next_to(s.arrange([signals, bars], RIGHT), s.together([W_left, R, WX]), DOWN, align="start")
        else:  # side by side under everything
            s.place(signals, below=EVERYTHING)
            s.next_to(bars, signals, RIGHT)


def _with_sine(s, d, W, F, T, X, npts, scale, freqs, times):
    """The cosine and the sine part (small, medium) on pages of the inverse DFT's width: the DFT in a
    band under X with [W; Ws] copied left of [R; Rs] = [W; Ws]·Tt (Tt above), W·Xᵀ and Ws·Xᵀ beside
    them where a page has room (else in a band of their own under Xᵀ, with copies of W and Ws), the
    coefficients Fr, Fs, Xf, Xs in the free corner left of Tt, magnitudes and phases left of Xᵀ (or
    under the sine band); the signals' picture under X, the spectrum's by the magnitudes (steps at the
    grain of the walkthrough's phases, so that the header leaves the first page room)."""
    n, k = d.n, d.k
    # W·Xᵀ and Ws·Xᵀ right of R and Rs where a page has room (a gap, and two columns for the label)
    beside = n + 1 + len(SIGNALS) + 3 <= paper.narrowest_page_columns()
    s.next_to(s.arrange([npts, scale], DOWN), F, UP, align="start")  # n and 2/n left of W, over F
    eps = s.add("eps", (1, 1), role=GIVEN, label="ε = 1e-9 (noise)", values=np.array([[EPS]]), named=False)
    if beside:  # X under F, the signals' picture right of it: the first page's last band
        s.next_to(X, s.together([F, T]), DOWN, gap=0, align="start")  # its label row the gap
    else:
        s.next_to(eps, X, LEFT)  # with n and 2/n on the first page, under F
    with s.group() as dft:
        with s.step("DFT: Tt = Tᵀ; R = W·Tt (= (n/2)·Fᵀ), W·Xᵀ; Ws = sin(2π·f·t/n), Rs = Ws·Tt, Ws·Xᵀ (Tt, Xᵀ above)"):
            Tt = ops.transpose(s, "Tt", T, label="Tt = Tᵀ")
            Xt = ops.transpose(s, "Xt", X, label="Xᵀ", role=COMPUTED)
            R = ops.matmul_parts(s, "R", [_copy(s, "W_R", W)], Tt, label="R = W·Tt")
            W_R = s.blocks["W_R"]
            s.next_to(Tt, R, UP)
            if beside:
                WX = ops.matmul(s, "WX", W_R, Xt, label="W·Xᵀ")
                s.place(WX, right_of=R)
            else:
                WX = ops.matmul_parts(s, "WX", [_copy(s, "W_X", W)], Xt, label="W·Xᵀ")
            s.next_to(Xt, WX, UP)
            Ws = _wave(s, "Ws", "SIN", freqs, times, npts, label="Ws = sin(2π·f·t/n)")  # f, t and n of W's
            s.place(Ws, below=W_R)
            Rs = ops.matmul(s, "Rs", Ws, Tt, label="Rs = Ws·Tt")
            s.place(Rs, right_of=Ws)
            if beside:
                WsX = ops.matmul(s, "WsX", Ws, Xt, label="Ws·Xᵀ")
                s.place(WsX, right_of=Rs)
            else:
                WsX = ops.matmul_parts(s, "WsX", [ops.copied_part(s, "Ws_X", Ws, label="Ws")], Xt, label="Ws·Xᵀ")
                s.place(WsX, below=WX)
                s.next_to(s.together([Xt, WX, s.blocks["W_X"], WsX, s.blocks["Ws_X"]]),
                          s.together([Tt, R, W_R, Ws, Rs]), DOWN, align="start")
        with s.step("Scale by 2/n and transpose: Fr = (2/n)·Rᵀ (= F), Xf = (2/n)·(W·Xᵀ)ᵀ, Fs = (2/n)·Rsᵀ, "
                    "Xs = (2/n)·(Ws·Xᵀ)ᵀ"):
            Fr = _scaled_transpose(s, "Fr", R, scale, label="Fr = (2/n)·Rᵀ", role=OUTPUT)
            Xf = _scaled_transpose(s, "Xf", WX, scale, label="Xf = (2/n)·(W·Xᵀ)ᵀ", role=OUTPUT)
            Fs = _scaled_transpose(s, "Fs", Rs, scale, label="Fs = (2/n)·Rsᵀ", role=OUTPUT)
            Xs = _scaled_transpose(s, "Xs", WsX, scale, label="Xs = (2/n)·(Ws·Xᵀ)ᵀ", role=OUTPUT)
        with s.step("Magnitude m = √(a² + b²), phase φ: a·cos + b·sin = m·cos(ωt − φ) (a from Fr, b from Fs)"):
            Mag, MagX = _magnitude(s, "Mag", Fr, Fs), _magnitude(s, "MagX", Xf, Xs)
            Phase, PhaseX = _phase(s, "Phase", Fr, Fs, Mag, eps), _phase(s, "PhaseX", Xf, Xs, MagX, eps)
        coefficients = s.grid([Fr, Fs, Xf, Xs], 2, row_gap=0)
        polar = s.grid([Mag, Phase, MagX, PhaseX], 2, row_gap=0)
        if beside:  # ε under them
            s.next_to(eps, coefficients, DOWN)
            dft.add(eps)
            coefficients = s.together([coefficients, eps])
        # the corner left of Tt (and of Xᵀ) is n + 1 rows: the coefficients (a label row, one per signal,
        # X's label row and row; ε's two rows and a gap under them) fit there from n = 5 (8 with ε)
        if n + 1 >= len(SIGNALS) + 3 + (3 if beside else 0):
            s.next_to(coefficients, Tt, LEFT, gap=2)
            if beside:  # under the sine band
                s.next_to(polar, s.together([Ws, Rs, WsX]), DOWN, align="start")
            else:  # left of Xᵀ, in the band of W·Xᵀ
                s.next_to(polar, Xt, LEFT, gap=2)
        else:  # a short signal: the coefficients under the products, the magnitudes and phases under them
            s.next_to(coefficients, s.together([Tt, Xt, R, WX, W_R, Ws, Rs, WsX]), DOWN, align="start")
            s.next_to(polar, coefficients, DOWN, align="start")
    with s.step("Pictures: the signals over time (T's rows and X) and the spectrum of X (its coefficient per f)"):
        series = [(name, T, i) for i, name in enumerate(SIGNALS)] + [("X", X, 0)]
        chart = SMALL_CHART if beside else {}
        signals = s.chart("Signals over time", series, x_title="t", y_title="value", **chart)
        bars = s.chart("Spectrum of X", [("Xf (cosine part)", Xf, 0), ("MagX (magnitude)", MagX, 0)], kind="column",
                       x_title="f", y_title="coefficient", **(TALL_CHART if beside else {}))
        if beside:  # the signals right of X on the first page, the spectrum right of the magnitudes
            s.next_to(signals, X, RIGHT, gap=1)
    s.next_to(dft, s.together([F, T, X, signals] if beside else [F, T, X, eps]), DOWN, align="start")
    if beside:
        s.next_to(bars, polar, RIGHT)
        if s.together([dft, bars]).cols > paper.narrowest_page_columns():  # many frequencies: under them
            s.next_to(bars, polar, DOWN, align="start")
    else:  # side by side under everything
        s.place(signals, below=EVERYTHING)
        s.next_to(bars, signals, RIGHT)
    if 2 * k >= n:
        s.note_below(dft, ALIASING)


def _copy(s, name, W):
    """A copy of W made where it must stand, left of a product (see :class:`ops.Part`)."""
    return ops.copied_part(s, name, W, label="W")


def _wave(s, name, fn, freqs, times, npts, *, label):
    """``fn(2π·f·t/n)`` with f from the row header, t from the column header and n from its cell."""
    k, n = freqs.rows, times.cols
    return s.add(name, (k, n), role=COMPUTED, label=label,
                 formula=lambda i, j: f"{fn}(2*PI()*{freqs.cell(i, 0)}*{times.cell(0, j)}/{ops.absolute(npts)})",
                 expect=lambda v: cosines(n, k, np.cos if fn == "COS" else np.sin))


def _scaled_transpose(s, name, src, scale, *, label, role):
    """``(2/n)·srcᵀ``: cell (i, j) is the scale cell times src (j, i)."""
    return s.add(name, (src.cols, src.rows), role=role, label=label,
                 formula=lambda i, j: fx.mul(ops.absolute(scale), src.cell(j, i)))


def _magnitude(s, name, a, b):
    return s.add(name, a.shape, role=OUTPUT, label=f"{name} = √({a.name}² + {b.name}²)",
                 formula=lambda i, j: fx.sqrt(f"{a.cell(i, j)}^2+{b.cell(i, j)}^2"))


def _phase(s, name, a, b, m, eps):
    """φ = atan2(b, a) by the half-angle identity (see the module docstring)."""

    def cell(i, j):
        A, B, M, e = a.cell(i, j), b.cell(i, j), m.cell(i, j), ops.absolute(eps)
        return (f"IF({A}>{e},2*{fx.atan(f'{B}/({M}+{A})')},"
                f"IF(ABS({B})<{e},IF({A}<-{e},PI(),0),2*{fx.atan(f'({M}-{A})/{B}')}))")

    return s.add(name, a.shape, role=OUTPUT, label=f"{name} = atan2({b.name}, {a.name})", formula=cell)


def _signal(rng, size, dims):
    """A signal made of a few whole-number cosine (and sine) waves at frequencies the DFT can
    recover (f ≤ k, 2f < n), rounded to one decimal like the seed notes' X."""
    n, k = dims.n, dims.k
    top = min(k, (n - 1) // 2)
    t = np.arange(1, n + 1)
    x = np.zeros(n)
    if top >= 1:
        for f in rng.choice(np.arange(1, top + 1), size=min(2, top), replace=False):
            a, b = rng.integers(-3, 4, size=2) * (rng.random(2) < [0.9, 0.4])
            x += a * np.cos(2 * np.pi * f * t / n) + b * np.sin(2 * np.pi * f * t / n)
    return np.round(x, 1)[None, :]


def instructive(d, p, with_sine=False) -> bool:
    """Every signal has some frequency content, and X is not flat."""
    return bool(np.all(np.abs(p.F).sum(axis=1) > 0) and np.ptp(p.X) > 0)


EXERCISE = Exercise(
    name="dft",
    title="The discrete Fourier transform as matrix multiplication",
    source=Source(
        paper="Cooley & Tukey (1965), An algorithm for the machine calculation of complex Fourier series, "
              "Mathematics of Computation 19",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Discrete Fourier Transform"),
    dims={"n": "time points", "k": "frequencies"},
    presets={
        "small": dict(n=8, k=3),
        "medium": dict(n=10, k=4),
        "large": dict(n=16, k=6),
    },
    givens=[
        Given("F", (len(SIGNALS), "k"), low=-2, high=2,
              describe="frequency amplitudes: one signal (A, B, C) a row, one frequency a column"),
        Given("X", (1, "n"), make=_signal, describe="a signal over time"),
    ],
    reference=reference,
    layout=layout,
    options=[Option("with_sine", False, describe="add the sine part, magnitude and phase")],
    limits={"n": (3, 64), "k": (1, 32)},
    accept=instructive,
)
