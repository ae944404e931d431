"""mhc: manifold-constrained hyper-connections (DeepSeek mHC) and the Sinkhorn–Knopp iterations.

n residual streams of width C stand as the rows of Xs (the paper's orientation). With
x = vec(Xs) (1×nC) and x̂ = RMSNorm(x):
Hpre = σ(α_pre·x̂·φ_pre + b_pre), Hpost = 2σ(α_post·x̂·φ_post + b_post),
Hres_raw = α_res·mat(x̂·φ_res) + b_res and Hres = Sinkhorn–Knopp(Hres_raw):
M0 = exp(Hres_raw), M_t = T_r(T_c(M_{t−1})) (columns divided by their sums, then rows), Hres = M_iters.
The layer F(h) = ReLU(h·Wfᵀ) reads h = Hpre·Xs; the streams update to Xs_next = Hres·Xs + Hpostᵀ·y.
Beside it, the unconstrained hyper-connection (Hres_raw in place of Hres) and the plain residual (Hres = I).
"""
from __future__ import annotations

import numpy as np

from ..npref import sigmoid
from .. import fx, ops
from ..exercise import Exercise
from ..params import Given, fixed

RMS_EPS = 1e-6
CONVERGENCE_ITERS = 20  # the paper's t_max: random variants must be doubly stochastic by then


def sinkhorn(M0, iters):
    """Every iteration as (column-normalised Mc, M): Mc = M / column sums, M = Mc / row sums."""
    steps, M = [], M0
    for _ in range(iters):
        Mc = M / M.sum(axis=0, keepdims=True)
        M = Mc / Mc.sum(axis=1, keepdims=True)
        steps.append((Mc, M))
    return steps


def row_sums(M):
    return M.sum(axis=1, keepdims=True)


def col_sums(M):
    return M.sum(axis=0, keepdims=True)


def reference(d, p):
    n, C = d.n, d.C
    Xs = p.Xs
    x = Xs.reshape(1, n * C)
    xhat = x / np.sqrt(np.mean(x ** 2) + RMS_EPS)
    Hpre_raw = p.alpha_pre * (xhat @ p.phi_pre) + p.b_pre
    Hpost_raw = p.alpha_post * (xhat @ p.phi_post) + p.b_post
    Hres_vec = p.alpha_res * (xhat @ p.phi_res)
    Hres_raw = Hres_vec.reshape(n, n) + p.b_res
    Hpre, Hpost = sigmoid(Hpre_raw), 2 * sigmoid(Hpost_raw)
    out = dict(x=x, xhat=xhat, Hpre_raw=Hpre_raw, Hpost_raw=Hpost_raw, Hres_vec=Hres_vec, Hres_raw=Hres_raw,
               Hpre=Hpre, Hpost=Hpost)
    M = np.exp(Hres_raw)
    out.update(M0=M, M0_rows=row_sums(M), M0_cols=col_sums(M))
    for t, (Mc, M) in enumerate(sinkhorn(M, d.iters), start=1):
        out.update({f"Mc{t}": Mc, f"Mc{t}_rows": row_sums(Mc), f"M{t}": M, f"M{t}_rows": row_sums(M),
                    f"M{t}_cols": col_sums(M)})
    Hres = M
    h = Hpre @ Xs
    y_pre = h @ p.Wf.T
    y = np.maximum(y_pre, 0.0)
    Py = Hpost.T @ y
    HX, HrawX = Hres @ Xs, Hres_raw @ Xs
    out.update(Hres=Hres, Hres_rows=row_sums(Hres), Hres_cols=col_sums(Hres),
               Hraw=Hres_raw, Hraw_rows=row_sums(Hres_raw), Hraw_cols=col_sums(Hres_raw),
               h=h, y_pre=y_pre, y=y, HX=HX, HrawX=HrawX, HpostT=Hpost.T, Py=Py,
               Xs_next=HX + Py, Xs_hc=HrawX + Py, Xs_plain=Xs + Py)
    return out


# --- layout ------------------------------------------------------------------------------------
def layout(s, d, p):
    n, C = d.n, d.C
    nC = n * C
    P1 = nC + 1             # φ_pre's column: x̂ (1×nC) stands left of it
    P2 = P1 + n + 1         # φ_post
    P3 = P2 + n + 1         # φ_res
    PT = 6                  # top row of the φ band (α's and b's above it)
    HR = PT + nC + 2        # the row where x̂'s row meets the φ's columns

    with s.step("x = vec(Xs) (stream 1's C values first), x̂ = x / √(mean(x²) + 1e-6) (RMSNorm, no gain)"):
        Xs = s.given("Xs", at=(0, 0), label="Xs (one stream a row)")
        x = s.add("x", (1, nC), (HR - 3, 0), "computed", "x = vec(Xs)",
                  formula=lambda i, k: Xs.cell(k // C, k % C))
        xhat = ops.rmsnorm_rows(s, "xhat", x, eps=RMS_EPS, at=(HR, 0), rms_at=(HR - 3, -2),
                                label="x̂ = x / rms")

    with s.step("Hpre_raw = α_pre·x̂·φ_pre + b_pre, Hpost_raw likewise, Hres_raw = α_res·mat(x̂·φ_res) + b_res"):
        maps = {}
        for key, col in (("pre", P1), ("post", P2), ("res", P3)):
            alpha = s.given(f"alpha_{key}", at=(0, col), label=f"α_{key}")
            bias = s.given(f"b_{key}", at=(3, col)) if key != "res" else None
            phi = s.given(f"phi_{key}", at=(PT, col), role="weight", label=f"φ_{key}")
            name = f"H{key}_raw" if key != "res" else "Hres_vec"
            label = (f"H{key}_raw = α·x̂·φ_{key} + b_{key}" if bias is not None else "α_res·x̂·φ_res")
            maps[key] = s.add(name, (1, phi.cols), (HR, col), "computed", label,
                              formula=_scaled_product(xhat, phi, alpha, bias))
        b_res = s.given("b_res", at=(HR + 3, P3))
        vec = maps["res"]
        Hres_raw = s.add("Hres_raw", (n, n), s.right_of(b_res), "computed", "Hres_raw = mat(·) + b_res",
                         formula=lambda i, j: fx.add(vec.cell(0, i * n + j), b_res.cell(i, j)))

    with s.step("Hpre = σ(Hpre_raw), Hpost = 2σ(Hpost_raw)"):
        Hpre = ops.sigmoid(s, "Hpre", maps["pre"], at=s.below(maps["pre"]), label="Hpre = σ(·)")
        Hpost = ops.elementwise(s, "Hpost", lambda z: fx.mul("2", fx.sigmoid(z)), [maps["post"]],
                                at=s.below(maps["post"]), label="Hpost = 2σ(·)")
        s.arrow(maps["pre"], Hpre)
        s.arrow(maps["post"], Hpost)

    with s.step("Sinkhorn–Knopp: M0 = exp(Hres_raw); M_t = column-normalise, then row-normalise M_{t−1}"):
        c0 = Hres_raw.left
        M = ops.elementwise(s, "M0", fx.exp, [Hres_raw], at=(Hres_raw.top, Hres_raw.right + 3),
                            label="M0 = exp(Hres_raw)")
        s.arrow(Hres_raw, M)
        ops.row_sums(s, "M0_rows", M, label="Σ row")
        cols = ops.col_sums(s, "M0_cols", M)
        for t in range(1, d.iters + 1):
            top = cols.bottom + 2
            Mc = ops.elementwise(s, f"Mc{t}", fx.div, [M, cols], at=(top, c0),
                                 label=f"M{t - 1} / column sums")
            Mc_rows = ops.row_sums(s, f"Mc{t}_rows", Mc, label="Σ row")
            M = ops.elementwise(s, f"M{t}", fx.div, [Mc, Mc_rows], at=s.right_of(Mc_rows),
                                label=f"M{t} = ÷ row sums", role="output" if t == d.iters else "computed")
            ops.row_sums(s, f"M{t}_rows", M, label="Σ row")
            cols = ops.col_sums(s, f"M{t}_cols", M)
        M_last = M

    # Steps 5 and 6 go left of the Sinkhorn column when they fit there, else under everything.
    width = n + 4 * C + 7
    top = Hres_raw.bottom + 3 if width < c0 else s.lowest_row() + 3
    with s.step("Layer input h = Hpre·Xs (1×C), y = F(h) = ReLU(h·Wfᵀ)"):
        col_h = n + 3
        h_row = top + max(n, 2 * C + 2) + 2
        Xs_c = ops.copy(s, "Xs_c", Xs, (h_row - 2 - n, col_h), label="Xs")
        Hpre_c = ops.copy(s, "Hpre_c", Hpre, (h_row, col_h - 1 - n), label="Hpre")
        h = ops.matmul(s, "h", Hpre_c, Xs_c, at=(h_row, col_h), label="h = Hpre·Xs")
        col_y = h.right + 1
        WfT_top = h_row - 2 - C
        Wf = s.given("Wf", at=(WfT_top - 2 - C, col_y))
        WfT = ops.transpose(s, "WfT", Wf, at=(WfT_top, col_y), label="Wfᵀ")
        y_pre = ops.matmul(s, "y_pre", h, WfT, at=(h_row, col_y), label="h·Wfᵀ")
        y = ops.relu(s, "y", y_pre, label="y = ReLU(·)")

    with s.step("Xs_next = Hres·Xs + Hpostᵀ·y, Hres = M_iters (rows and columns sum to 1); beside it "
                "the hyper-connection without the constraint (Hres_raw) and the plain residual (Hres = I)"):
        hx_row = h_row + 4
        Hres = ops.copy(s, "Hres", M_last, (hx_row, 0), label=f"Hres = M{d.iters}")
        ops.row_sums(s, "Hres_rows", Hres, label="Σ row")
        ops.col_sums(s, "Hres_cols", Hres)
        Hraw = ops.copy(s, "Hraw", Hres_raw, (Hres.bottom + 2, 0), label="Hres_raw")
        ops.row_sums(s, "Hraw_rows", Hraw, label="Σ row")
        ops.col_sums(s, "Hraw_cols", Hraw)
        HX = ops.matmul(s, "HX", Hres, Xs_c, at=(hx_row, col_h), label="Hres·Xs")
        HrawX = ops.matmul(s, "HrawX", Hraw, Xs_c, at=(Hraw.top, col_h), label="Hres_raw·Xs")
        HpostT = ops.transpose(s, "HpostT", Hpost, at=(hx_row, y.left - 2), label="Hpostᵀ")
        Py = ops.matmul(s, "Py", HpostT, y, at=(hx_row, y.left), label="Hpostᵀ·y")
        Xs_next = ops.elementwise(s, "Xs_next", fx.add, [HX, Py], at=s.right_of(Py), role="output",
                                  label="Xs_next = Hres·Xs + Hpostᵀ·y", arrow=False)
        ops.elementwise(s, "Xs_hc", fx.add, [HrawX, Py], at=(HrawX.top, Xs_next.left), role="output",
                        label="Xs_hc = Hres_raw·Xs + Hpostᵀ·y (HC)")
        ops.elementwise(s, "Xs_plain", fx.add, [Xs, Py], at=(HrawX.bottom + 2, Xs_next.left), role="output",
                        label="Xs_plain = Xs + Hpostᵀ·y (residual)")


def _scaled_product(xhat, phi, alpha, bias):
    """α·(x̂·φ[:, j]) (+ b[j]): one written-out dot product per cell, α and b read from their cells."""
    def cell(i, j):
        dot = f"{ops.absolute(alpha)}*({fx.dot(xhat.row(0), phi.col(j))})"
        return fx.add(dot, bias.cell(0, j)) if bias is not None else dot
    return cell


# --- numbers -----------------------------------------------------------------------------------
def instructive(d, p) -> bool:
    """Readable exponentials and gates, a ReLU that both passes and blocks, a Sinkhorn that has work
    to do and is doubly stochastic within 1e-3 after the paper's 20 iterations, and an unconstrained
    hyper-connection that visibly differs from the constrained one."""
    ref = reference(d, p)
    if np.abs(ref["Hres_raw"]).max() > 3 or max(np.abs(ref[k]).max() for k in ("Hpre_raw", "Hpost_raw")) > 4:
        return False
    y_pre = ref["y_pre"]
    if not (y_pre > 0.05).any() or (d.C >= 2 and not (y_pre < 0).any()):
        return False
    M0 = ref["M0"]
    if d.n >= 2 and np.abs(col_sums(M0) - 1).max() < 0.3:
        return False
    Hres = sinkhorn(M0, CONVERGENCE_ITERS)[-1][1]
    if max(np.abs(row_sums(Hres) - 1).max(), np.abs(col_sums(Hres) - 1).max()) > 1e-3:
        return False
    return d.n < 2 or np.abs(ref["Xs_hc"] - ref["Xs_next"]).max() > 0.5


def _flat(d):
    return d.n * d.C


def _square(d):
    return d.n * d.n


EXERCISE = Exercise(
    name="mhc",
    title="Manifold-constrained hyper-connections (mHC) and Sinkhorn–Knopp",
    dims={"n": "residual streams", "C": "stream width", "iters": "Sinkhorn iterations"},
    presets={
        "small": dict(n=2, C=2, iters=3),
        "medium": dict(n=3, C=2, iters=5),
        "large": dict(n=4, C=3, iters=20),
    },
    givens=[
        Given("Xs", ("n", "C"), low=-2, high=3),
        Given("phi_pre", (_flat, "n"), role="weight", low=-1, high=1),
        Given("phi_post", (_flat, "n"), role="weight", low=-1, high=1),
        Given("phi_res", (_flat, _square), role="weight", low=-1, high=1),
        Given("b_pre", (1, "n"), role="bias", low=-1, high=1),
        Given("b_post", (1, "n"), role="bias", low=-1, high=1),
        Given("b_res", ("n", "n"), role="bias", low=-1, high=1),
        Given("alpha_pre", (), make=fixed(0.5)),
        Given("alpha_post", (), make=fixed(0.5)),
        Given("alpha_res", (), make=fixed(0.5)),
        Given("Wf", ("C", "C"), role="weight", low=-2, high=2),
    ],
    reference=reference,
    layout=layout,
    limits={"n": (2, 8), "C": (1, 8), "iters": (1, 30)},
    accept=instructive,
)
