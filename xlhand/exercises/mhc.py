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

from xlhand.model.npref import has_both_signs, sigmoid
from xlhand.layout import paper
from xlhand.layout import BIAS, COMPUTED, DOWN, EVERYTHING, LEFT, OUTPUT, RIGHT, UP, WEIGHT, fx, ops
from xlhand.model.exercise import Exercise, Source
from xlhand.model.givens import Given
from xlhand.model.makers import both_signs, bounded_rows, fixed

RMS_EPS = 1e-6
CONVERGENCE_ITERS = 20  # the paper's t_max: random variants must be doubly stochastic by then
SINKHORN_BESIDE_ITERS = 3  # up to this many iterations, M0 and the iterations two by two, the chart beside them
CHART_BESIDE_ROWS, CHART_BESIDE_COLS = 9, 6  # that chart, small enough to stand right of them on a landscape page


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
    steps = sinkhorn(M, d.iters)
    for t, (Mc, M) in enumerate(steps, start=1):
        out.update({f"Mc{t}": Mc, f"Mc{t}_rows": row_sums(Mc), f"M{t}": M, f"M{t}_rows": row_sums(M),
                    f"M{t}_cols": col_sums(M)})
    # how far each iteration is from doubly stochastic: the rows before they are normalised, the columns after
    out.update(row_err=np.array([[np.abs(row_sums(Mc) - 1).max() for Mc, _ in steps]]),
               col_err=np.array([[np.abs(col_sums(Mt) - 1).max() for _, Mt in steps]]))
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
    compact = d.iters <= SINKHORN_BESIDE_ITERS
    tight = 0 if compact else 1  # compact: label rows as the gaps between bands (one page holds steps 4-7)
    with s.group() as top:  # steps 1-3: x̂, and right of it the maps in x̂'s row
        with s.step("x = vec(Xs) (stream 1's C values first), x̂ = x / √(mean(x²) + 1e-6) (RMSNorm, no gain)"), \
                s.group() as norm:
            Xs = s.given("Xs", label="Xs (one stream a row)")
            x = s.add("x", (1, n * C), role=COMPUTED, label="x = vec(Xs)",
                      formula=lambda i, k: Xs.cell(k // C, k % C))
            s.place(x, below=Xs)
            xhat = ops.rmsnorm_rows(s, "xhat", x, eps=RMS_EPS, label="x̂ = x / rms")
            s.arrange([x, s.blocks["xhat_rms"], xhat], DOWN)  # x, its rms, x̂: the φ's stand right of them

        with s.step("Hpre_raw = α_pre·x̂·φ_pre + b_pre, Hpost_raw likewise, Hres_vec = α_res·x̂·φ_res "
                    "(x̂ left, φ above)"), s.group():
            columns, maps = {}, {}
            for key in ("pre", "post", "res"):
                with s.group() as columns[key]:
                    alpha = s.given(f"alpha_{key}", label=f"α_{key}")
                    # α, b and φ one under the other, label rows between: the maps fit page 1
                    bias = s.place(s.given(f"b_{key}"), below=alpha, gap=0) if key != "res" else None
                    phi = s.given(f"phi_{key}", label=f"φ_{key}")
                    s.place(phi, below=bias or alpha, gap=0)
                    page = paper.narrowest_page_columns()
                    if key == "res" and s.together([norm, columns["pre"], columns["post"]]).cols + 1 + phi.cols \
                            > page >= xhat.cols + phi.cols:
                        # wider than a page beside the others, as wide as one alone: φ_res in a band of
                        # its own under the others, x̂ copied left of it
                        xhat_res = ops.carry(s, "xhat_res", xhat, label="x̂")
                        left = xhat_res
                    else:
                        left = xhat
                    name, label = (f"H{key}_raw", f"H{key}_raw") if bias is not None else ("Hres_vec", "α_res·x̂·φ_res")
                    maps[key] = s.add(name, (1, phi.cols), role=COMPUTED, label=label,
                                      formula=_scaled_product(left, phi, alpha, bias))
                    s.place(maps[key], below=phi)
                    if left is not xhat:
                        s.next_to(left, maps[key], LEFT, gap=0)  # no gap: 15 columns hold x̂ and the map
            own_band = "xhat_res" in s.blocks
            beside = [columns["pre"], columns["post"]] + ([] if own_band else [columns["res"]])
            s.next_to(s.arrange(beside, RIGHT, align="end"), norm, RIGHT, align="end")  # the maps in x̂'s row
            if compact:  # b_res under the map it is added to, with the other biases on page 1
                b_res = s.place(s.given("b_res"), below=maps["res"])

        with s.step("Hpre = σ(Hpre_raw), Hpost = 2σ(Hpost_raw)"), s.group():
            Hpre = ops.sigmoid(s, "Hpre", maps["pre"], label="Hpre = σ(·)")
            s.place(Hpre, below=maps["pre"])
            Hpost = ops.elementwise(s, "Hpost", lambda z: fx.mul("2", fx.sigmoid(z)), [maps["post"]],
                                    label="Hpost = 2σ(·)")
            s.place(Hpost, below=maps["post"])
            s.arrow(maps["pre"], Hpre)
            s.arrow(maps["post"], Hpost)
        if own_band:
            s.next_to(columns["res"], s.together([norm, *beside, Hpre, Hpost]), DOWN, align="start")

    with s.step("Hres_raw = mat(Hres_vec) + b_res (row i: entries i·n+1…i·n+n); Sinkhorn: "
                "M0 = e^Hres_raw, M_t = M_{t−1} ÷ col Σ, ÷ row Σ"), \
            s.group() as sinkhorn_step:
        vec = maps["res"]
        with s.group() as start:  # compact: Hres_raw over M0, as Mc_t over M_t; else b_res | Hres_raw → M0
            if not compact:
                b_res = s.given("b_res")
                s.place(b_res, below=EVERYTHING)
            Hres_raw = s.add("Hres_raw", (n, n), role=COMPUTED,
                             label="Hres_raw" if compact else "Hres_raw = mat(·) + b_res",
                             formula=lambda i, j: fx.add(vec.cell(0, i * n + j), b_res.cell(i, j)))
            if compact:
                s.place(Hres_raw, below=EVERYTHING)
            else:
                s.place(Hres_raw, right_of=b_res)
            M = ops.elementwise(s, "M0", fx.exp, [Hres_raw], label="M0 = exp(·)", arrow=not compact)
            if compact:
                s.place(M, below=Hres_raw, gap=0)
            M_rows = ops.row_sums(s, "M0_rows", M, label="Σ")
            if compact:
                s.next_to(M_rows, M, RIGHT, gap=0)
            cols = ops.col_sums(s, "M0_cols", M)
        iterations, row_sums_c, col_sums_m = [], [], []
        for t in range(1, d.iters + 1):
            with s.group() as iteration:  # Mc_t | its row sums over M_t | its row sums, M_t's column sums under it
                Mc = ops.elementwise(s, f"Mc{t}", fx.div, [M, cols], label=f"Mc{t} = M{t - 1}/Σ")
                s.place(Mc, below=EVERYTHING)
                Mc_rows = s.next_to(ops.row_sums(s, f"Mc{t}_rows", Mc, label="Σ"), Mc, RIGHT, gap=0)
                M = ops.elementwise(s, f"M{t}", fx.div, [Mc, Mc_rows], label=f"M{t} = Mc{t}/Σ",
                                    role="output" if t == d.iters else "computed")
                s.place(M, below=Mc, gap=0 if compact else None)
                s.next_to(ops.row_sums(s, f"M{t}_rows", M, label="Σ"), M, RIGHT, gap=0)  # Σ columns close up
                cols = ops.col_sums(s, f"M{t}_cols", M)
            iterations.append(iteration)
            row_sums_c.append(Mc_rows)
            col_sums_m.append(cols)
        if compact:
            # M0 and the iterations left to right in rows as wide as the page leaves beside the chart
            # (two by two), label rows as the gaps: each Mc_t reads the Σ row of M_{t−1} at its left
            # (or, where a row wraps, up-right)
            ops.flow(s, [start, *iterations], width=paper.narrowest_page_columns() - CHART_BESIDE_COLS - 1,
                     gap=0, row_gap=0)
        else:
            # the iterations left to right in rows a page wide, under M0: each Mc_t reads the Σ row of M_{t−1}
            # at its left (or, where a row wraps, up-right)
            s.arrange([start, ops.flow(s, iterations, width=paper.narrowest_page_columns(), gap=0)], DOWN)

    with s.step("Layer input h = Hpre·Xs (1×C), y = F(h) = ReLU(h·Wfᵀ)"), s.group() as layer:
        # Xs over h (and over HX, HrawX under it), Wfᵀ over y_pre, h touching y_pre as its left operand
        Xs_c = ops.carry(s, "Xs_c", Xs, label="Xs")
        s.place(Xs_c, below=EVERYTHING)
        Hpre_c = ops.copy(s, "Hpre_c", Hpre, label="Hpre")
        s.place(Hpre_c, below=EVERYTHING)
        h = ops.matmul(s, "h", Hpre_c, Xs_c, label="h = Hpre·Xs")
        s.place(h, below=Xs_c, gap=tight)
        s.next_to(Hpre_c, h, LEFT)
        Wf = s.given("Wf")
        s.place(Wf, below=EVERYTHING)
        WfT = ops.transpose(s, "WfT", Wf, label="Wfᵀ", role=COMPUTED)
        s.place(WfT, below=EVERYTHING)
        y_pre = ops.matmul(s, "y_pre", h, WfT, label="y_pre = h·Wfᵀ")
        s.place(y_pre, right_of=h, gap=0)
        s.next_to(WfT, y_pre, UP, gap=tight)
        y = ops.relu(s, "y", y_pre, label="y = ReLU(·)", arrow=False)
        s.next_to(y, y_pre, RIGHT)
        s.arrow(y_pre, y)
        s.next_to(Wf, WfT, RIGHT)

    with s.step("Xs_next = Hres·Xs + Hpostᵀ·y (Hres = M_iters, doubly stochastic); "
                "Xs_hc: Hres_raw in its place; Xs_plain: Hres = I"), \
            s.group() as update:
        # Hres·Xs under h and Hres_raw·Xs under it, Xs above both; Hpostᵀ·y under y; each sum right of a product
        Hres, Hres_sums = _with_sums(s, "Hres", M, f"Hres = M{d.iters}")
        HX = ops.matmul(s, "HX", Hres, Xs_c, label="HX = Hres·Xs")
        s.place(HX, below=h, gap=tight)
        s.next_to(Hres_sums, HX, LEFT)
        Hraw, Hraw_sums = _with_sums(s, "Hraw", Hres_raw, "Hres_raw")
        HrawX = ops.matmul(s, "HrawX", Hraw, Xs_c, label="HrawX = Hres_raw·Xs")
        s.place(HrawX, below=EVERYTHING)
        s.next_to(Hraw_sums, Hres_sums, DOWN, gap=0, align="end")
        s.place(HrawX, at=ops.level(Hraw, HX))
        HpostT = ops.transpose(s, "HpostT", Hpost, label="Hpostᵀ")
        s.place(HpostT, below=EVERYTHING)
        Py = ops.matmul(s, "Py", HpostT, y, label="Py = Hpostᵀ·y")
        s.place(Py, at=ops.level(HX, y))  # y above Py, Hpostᵀ left of it, level with HX
        s.place(HpostT, left_of=Py)
        # compact: the three outputs in a row under HrawX, their labels level with Hres_raw's Σ row; else
        # Xs_hc right of HrawX (on its page), Xs_next and Xs_plain under it
        Xs_next = ops.elementwise(s, "Xs_next", fx.add, [HX, Py], role=OUTPUT, label="Xs_next = HX + Py",
                                  arrow=False)
        Xs_hc = ops.elementwise(s, "Xs_hc", fx.add, [HrawX, Py], role=OUTPUT, label="Xs_hc = HrawX + Py",
                                arrow=False)
        Xs_plain = ops.elementwise(s, "Xs_plain", fx.add, [Xs, Py], role=OUTPUT, label="Xs_plain = Xs + Py",
                                   arrow=False)
        if compact:
            s.next_to(s.arrange([Xs_next, Xs_hc, Xs_plain], RIGHT, gap=0), HrawX, DOWN, gap=0)
        else:
            s.place(Xs_hc, right_of=HrawX)
            s.next_to(s.arrange([Xs_next, Xs_plain], RIGHT), HrawX, DOWN)

    with s.step("Distance from doubly stochastic: row_err_t = max_i |Σ_j Mc_t[i, j] − 1|, "
                "col_err_t = max_j |Σ_i M_t[i, j] − 1|; both go to 0"), \
            s.group() as convergence:
        row_err = s.add("row_err", (1, d.iters), role=COMPUTED, label=f"row_err (t = 1…{d.iters})",
                        formula=lambda i, t: _largest_distance_from_1(row_sums_c[t].col(0)))
        s.place(row_err, below=EVERYTHING)
        col_err = s.add("col_err", (1, d.iters), role=COMPUTED, label=f"col_err (t = 1…{d.iters})",
                        formula=lambda i, t: _largest_distance_from_1(col_sums_m[t].row(0)))
        s.place(col_err, below=row_err, gap=0)
        series = [("max |row sum − 1|", row_err, 0, "row"), ("max |column sum − 1|", col_err, 0, "row")]
        chart = s.chart("Sinkhorn: distance from doubly stochastic", series, kind="line", x_title="iteration t",
                        y_title="largest |sum − 1|",
                        **(dict(rows=CHART_BESIDE_ROWS, cols=CHART_BESIDE_COLS) if compact else {}))
        s.place(chart, below=col_err, gap=0 if compact else None)

    if compact:  # the distances and their chart right of the iterations, the layer and the update under them
        s.next_to(convergence, sinkhorn_step, RIGHT)
        s.arrange([top, s.together([sinkhorn_step, convergence])], DOWN)
        # under both, in the columns of the iterations, its label row as the gap
        s.next_to(s.together([layer, update]), s.together([sinkhorn_step, convergence]), DOWN, gap=0)
    else:
        s.arrange([top, sinkhorn_step, s.together([layer, update]), convergence], DOWN)


def _with_sums(s, name, src, label):
    """A copy of ``src`` with its row sums touching it on the right and its column sums under it (a group)."""
    with s.group() as group:
        block = ops.copy(s, name, src, label=label)
        s.place(block, below=EVERYTHING)
        s.next_to(ops.row_sums(s, f"{name}_rows", block, label="Σ"), block, RIGHT, gap=0)
        ops.col_sums(s, f"{name}_cols", block)
    return block, group


def _largest_distance_from_1(cells):
    """max_k |cell_k − 1|, every term written out."""
    return "MAX(" + ",".join(f"ABS({c}-1)" for c in cells) + ")"


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
    if not (y_pre > 0.05).any() or not has_both_signs(y_pre):
        return False
    M0 = ref["M0"]
    if d.n >= 2 and np.abs(col_sums(M0) - 1).max() < 0.3:
        return False
    Hres = sinkhorn(M0, CONVERGENCE_ITERS)[-1][1]
    if max(np.abs(row_sums(Hres) - 1).max(), np.abs(col_sums(Hres) - 1).max()) > 1e-3:
        return False
    return d.n < 2 or np.abs(ref["Xs_hc"] - ref["Xs_next"]).max() > 0.5


def _layer_weights(rng, size, d, p):
    """Wf in −2…2 with each row's sign chosen so that y = ReLU(h·Wfᵀ) both passes and blocks: the
    layer input h = Hpre·Xs is known from the givens before Wf, and turning row j over turns the
    sign of y_j."""
    Wf = rng.integers(-2, 3, size=size).astype(float)
    x = p["Xs"].reshape(1, -1)
    xhat = x / np.sqrt(np.mean(x ** 2) + RMS_EPS)
    h = sigmoid(p["alpha_pre"] * (xhat @ p["phi_pre"]) + p["b_pre"]) @ p["Xs"]
    wanted = np.sign(both_signs(-1, 1)(rng, (size[0],), d)) if size[0] > 1 else np.ones(1)
    signs = np.sign(h @ Wf.T)[0]
    return Wf * np.where(signs * wanted < 0, -1.0, 1.0)[:, None]


def _columns_summing_to(most, step=1.0):
    """φ by ``step`` in −1…1 with each column's absolute sum at most ``most``: x̂·φ stays in
    range however many entries x̂ has."""
    def make(rng, size, d):
        phi = -1 + step * rng.integers(0, round(2 / step) + 1, size=size)
        return bounded_rows(rng, phi.T, most).T

    make.__doc__ = f"−1…1 in steps of {step:g}, each column's absolute sum at most {most}."
    return make


def _flat(d):
    return d.n * d.C


def _square(d):
    return d.n * d.n


EXERCISE = Exercise(
    name="mhc",
    title="Manifold-constrained hyper-connections (mHC) and Sinkhorn–Knopp",
    source=Source(
        paper="DeepSeek-AI (2025), mHC: Manifold-Constrained Hyper-Connections, arXiv; Sinkhorn & Knopp (1967), "
              "Pacific J. Math. 21",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): mHC"),
    dims={"n": "residual streams", "C": "stream width", "iters": "Sinkhorn iterations"},
    presets={
        "small": dict(n=2, C=2, iters=3),
        "medium": dict(n=3, C=2, iters=5),
        "large": dict(n=4, C=3, iters=20),
    },
    # Fresh numbers: the columns of each φ sum (in absolute value) to at most 4 (φ_res by halves:
    # 2), so the exponentials of Sinkhorn's start stay readable whatever n and C, and Wf is turned
    # so that the layer's ReLU both passes and blocks.
    givens=[
        Given("Xs", ("n", "C"), low=-2, high=3),
        Given("phi_pre", (_flat, "n"), role=WEIGHT, make=_columns_summing_to(4)),
        Given("phi_post", (_flat, "n"), role=WEIGHT, make=_columns_summing_to(4)),
        Given("phi_res", (_flat, _square), role=WEIGHT, make=_columns_summing_to(2, step=0.5)),
        Given("b_pre", (1, "n"), role=BIAS, low=-1, high=1),
        Given("b_post", (1, "n"), role=BIAS, low=-1, high=1),
        Given("b_res", ("n", "n"), role=BIAS, low=-1, high=1),
        Given("alpha_pre", (), make=fixed(0.5)),
        Given("alpha_post", (), make=fixed(0.5)),
        Given("alpha_res", (), make=fixed(0.5)),
        Given("Wf", ("C", "C"), role=WEIGHT, derive=_layer_weights),
    ],
    reference=reference,
    layout=layout,
    limits={"n": (2, 8), "C": (1, 8), "iters": (1, 30)},
    accept=instructive,
)
