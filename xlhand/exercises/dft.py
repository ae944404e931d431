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

from .. import fx, ops
from ..exercise import Exercise
from ..params import Given

SIGNALS = ("A", "B", "C")
EPS = 1e-9


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
    top = 4  # W's first row; the time header and the constants stand above it
    with s.step("Cosine matrix: W[f, t] = cos(2π·f·t/n) for f = 1…k, t = 1…n"):
        # the index headers are labels of the picture, not data: unnamed, so neither checked nor graded
        times = s.add("time", (1, n), (top - 3, 0), "given", "t (time)", values=np.arange(1, n + 1)[None, :],
                      named=False)
        freqs = s.add("freq", (k, 1), (top, -2), "given", "f", values=np.arange(1, k + 1)[:, None], named=False)
        npts = s.add("npts", (1, 1), (top - 3, -6), "computed", "n = COUNT(t)",
                     formula=lambda i, j: f"COUNT({times.range()})", expect=lambda v: float(n))
        scale = s.add("scale", (1, 1), s.right_of(npts), "computed", "2/n",
                      formula=lambda i, j: f"2/{npts.cell()}", expect=lambda v: 2.0 / n)
        W = _wave(s, "W", "COS", freqs, times, npts, at=(top, 0), label="W = cos(2π·f·t/n)")
    with s.step("Inverse DFT: T = F·W, one signal over time per row of F"):
        T = ops.matmul(s, "T", "F", W, label="T = F·W (signals over time)")
        for i, name in enumerate(SIGNALS):
            s.note(T.top + i, s.blocks["F"].left - 1, name)
        X = s.given("X", at=s.below(T), label="X (the seed notes' signal)")
        s.note(X.top, X.left - 1, "X")
    col = W.right + 1
    with s.step("DFT: Tt = Tᵀ, R = W·Tt (= (n/2)·Fᵀ), and W·Xᵀ for the signal X"):
        Tt = ops.transpose(s, "Tt", T, at=(top - 3 - n, col), label="Tt = Tᵀ")
        Xt = ops.transpose(s, "Xt", X, at=s.right_of(Tt), label="Xᵀ")
        R = ops.matmul(s, "R", W, Tt, at=(top, col), label="R = W·Tt")
        WX = ops.matmul(s, "WX", W, Xt, at=(top, Xt.left), label="W·Xᵀ")
    with s.step("Scale by 2/n and transpose: Fr = (2/n)·Rᵀ (= F), Xf = (2/n)·(W·Xᵀ)ᵀ"):
        Fr = _scaled_transpose(s, "Fr", R, scale, at=(T.top, col), label="Fr = (2/n)·Rᵀ", role="output")
        Xf = _scaled_transpose(s, "Xf", WX, scale, at=(X.top, col), label="Xf = (2/n)·(W·Xᵀ)ᵀ", role="output")
        if 2 * k >= n:
            s.note(Fr.top - 1, Fr.right + 1, "2k ≥ n: frequencies alias, so Fr ≠ F")
    if with_sine:
        with s.step("Sine matrix: Ws[f, t] = sin(2π·f·t/n)"):
            row = Xf.bottom + 3
            freqs_s = s.add("freq_s", (k, 1), (row, -2), "given", "f", values=np.arange(1, k + 1)[:, None],
                            named=False)
            Ws = _wave(s, "Ws", "SIN", freqs_s, times, npts, at=(row, 0), label="Ws = sin(2π·f·t/n)")
        with s.step("Sine coefficients: Fs = (2/n)·(Ws·Tt)ᵀ, Xs = (2/n)·(Ws·Xᵀ)ᵀ (Tt and Xᵀ above)"):
            Rs = ops.matmul(s, "Rs", Ws, Tt, at=(Ws.top, col), label="Rs = Ws·Tt")
            WsX = ops.matmul(s, "WsX", Ws, Xt, at=(Ws.top, Xt.left), label="Ws·Xᵀ")
            Fs = _scaled_transpose(s, "Fs", Rs, scale, at=(Ws.bottom + 2, col), label="Fs = (2/n)·Rsᵀ",
                                   role="output")
            Xs = _scaled_transpose(s, "Xs", WsX, scale, at=s.below(Fs), label="Xs = (2/n)·(Ws·Xᵀ)ᵀ",
                                   role="output")
            for i, name in enumerate(SIGNALS):
                s.note(Fs.top + i, Fs.left - 1, name)
            s.note(Xs.top, Xs.left - 1, "X")
        with s.step("Magnitude m = √(a² + b²), phase φ: a·cos + b·sin = m·cos(ωt − φ) (a from Fr, b from Fs)"):
            eps = s.add("eps", (1, 1), s.right_of(scale), "given", "ε = 1e-9 (noise)",
                        values=np.array([[EPS]]), named=False)
            Mag = _magnitude(s, "Mag", Fr, Fs, at=s.right_of(Fs))
            MagX = _magnitude(s, "MagX", Xf, Xs, at=s.right_of(Xs))
            _phase(s, "Phase", Fr, Fs, Mag, eps, at=s.right_of(Mag))
            _phase(s, "PhaseX", Xf, Xs, MagX, eps, at=s.right_of(MagX))
    with s.step("The signals over time (line chart of T's rows and X)"):
        series = [(name, T, i) for i, name in enumerate(SIGNALS)] + [("X", X, 0)]
        s.line_chart("Signals over time", series, at=(s.lowest_row() + 1, s.leftmost_col()),
                     x_title="t", y_title="value")


def _wave(s, name, fn, freqs, times, npts, *, at, label):
    """``fn(2π·f·t/n)`` with f from the row header, t from the column header and n from its cell."""
    k, n = freqs.rows, times.cols
    return s.add(name, (k, n), at, "computed", label,
                 formula=lambda i, j: f"{fn}(2*PI()*{freqs.cell(i, 0)}*{times.cell(0, j)}/{ops.absolute(npts)})",
                 expect=lambda v: cosines(n, k, np.cos if fn == "COS" else np.sin))


def _scaled_transpose(s, name, src, scale, *, at, label, role):
    """``(2/n)·srcᵀ``: cell (i, j) is the scale cell times src (j, i)."""
    return s.add(name, (src.cols, src.rows), at, role, label,
                 formula=lambda i, j: fx.mul(ops.absolute(scale), src.cell(j, i)))


def _magnitude(s, name, a, b, *, at):
    return s.add(name, a.shape, at, "output", f"{name} = √({a.name}² + {b.name}²)",
                 formula=lambda i, j: fx.sqrt(f"{a.cell(i, j)}^2+{b.cell(i, j)}^2"))


def _phase(s, name, a, b, m, eps, *, at):
    """φ = atan2(b, a) by the half-angle identity (see the module docstring)."""

    def cell(i, j):
        A, B, M, e = a.cell(i, j), b.cell(i, j), m.cell(i, j), ops.absolute(eps)
        return (f"IF({A}>{e},2*{fx.atan(f'{B}/({M}+{A})')},"
                f"IF(ABS({B})<{e},IF({A}<-{e},PI(),0),2*{fx.atan(f'({M}-{A})/{B}')}))")

    return s.add(name, a.shape, at, "output", f"{name} = atan2({b.name}, {a.name})", formula=cell)


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


def instructive(d, p) -> bool:
    """Every signal has some frequency content, and X is not flat."""
    return bool(np.all(np.abs(p.F).sum(axis=1) > 0) and np.ptp(p.X) > 0)


EXERCISE = Exercise(
    name="dft",
    title="The discrete Fourier transform as matrix multiplication",
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
    options={"with_sine": False},
    limits={"n": (3, 64), "k": (1, 32)},
    accept=instructive,
)
