"""multihead-attention: one head of size d next to H heads of size d_h = d/H, from the same rows.

Q = Wq·X, K = Wk·X, V = Wv·X (d × n; Wq, Wk, Wv stacked are the Wqkv rows). Single head:
S = Kᵀ·Q/√d, A = softmax over each column, F = V·A. Head h takes rows (h−1)·d_h+1 … h·d_h of
Q, K and V: S_h = K_hᵀ·Q_h/√d_h, A_h, F_h = V_h·A_h, and Fcat = [F_1; …; F_H] (d × n).
Both use the same parameters, 3·d·d, and the same number of multiplications,
3·d·d·n (projections) + n·n·d (scores) + d·n·n (mixing values); counted by formulas on the sheet.
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import COMPUTED, DOWN, EVERYTHING, OUTPUT, RIGHT, WEIGHT, fx, ops
from xlhand.model.exercise import Exercise, Source, STABLE_SOFTMAX
from xlhand.model.npref import attention
from xlhand.model.givens import Given


def d_model(dims):
    """d = heads·d_h: the features per token, split into the heads' rows."""
    return dims["heads"] * dims["d_h"]


def reference(d, p):
    Q, K, V = p.Wq @ p.X, p.Wk @ p.X, p.Wv @ p.X
    out = dict(Q=Q, K=K, V=V, **attention(Q, K, V))
    heads = []
    for h in range(1, d.heads + 1):
        rows = slice((h - 1) * d.d_h, h * d.d_h)
        one = attention(Q[rows], K[rows], V[rows])
        out.update({f"Q_{h}": Q[rows], f"K_{h}": K[rows], f"V_{h}": V[rows],
                    f"S_{h}": one["S"], f"A_{h}": one["A"], f"F_{h}": one["F"]})
        heads.append(one["F"])
    out["Fcat"] = np.vstack(heads)
    dm, n, H, dh = d_model(d), d.n, d.heads, d.d_h
    out.update({"d": dm, "n": n, "d_h": dh, "heads": H,
                "params_single": 3 * dm * dm, "params_multi": H * 3 * dh * dm,
                "mults_single": 3 * dm * dm * n + n * n * dm + dm * n * n,
                "mults_multi": H * (3 * dh * dm * n + n * n * dh + dh * n * n)})
    return out


def layout(s, d, p):
    dm, dh = d_model(d), d.d_h
    X = s.given("X", label="X (one token per column)")
    with s.step("Q = Wq·X, K = Wk·X, V = Wv·X (Wq, Wk, Wv stacked: the Wqkv rows both sides use)"):
        with s.group() as projected:
            Q, K, V = ops.projections(s, X)
    # Kᵀ, S and A side by side where they fit across a portrait page (S then prints under Q, on its
    # page); else the softmax goes down and S, on the page after the projections, has Q copied above it
    down = K.rows + 2 * Q.cols + 3 > ops.page_columns(landscape=False)
    with s.step(f"One head of size d = {dm}: S = Kᵀ·Q/√{dm}, A = softmax over columns, F = V·A"):
        with s.group() as single:
            _attention_narrow(s, ("S", "A", "F"), Q, K, V, projected, scale=dm, down=down)
    # where the single head fits across a portrait page, the heads are as narrow (a portrait
    # handout); else they spread across a landscape one (the heads' rows of Q, K and V side by side),
    # as for one token (a V_h one column wide leaves its label no room left of F_h)
    narrow = single.cols <= ops.page_columns(landscape=False) and d.n > 1
    heads, fs = [], []
    for h in range(1, d.heads + 1):
        lo, hi = (h - 1) * dh, h * dh
        rows = f"row {hi}" if dh == 1 else f"rows {lo + 1}–{hi}"
        with s.step(f"Head {h}: {rows} of Q, K, V; S_{h} = K_{h}ᵀ·Q_{h}/√{dh}, A_{h} = softmax, "
                    f"F_{h} = V_{h}·A_{h}"), s.group() as head:
            Qh = ops.copy_rows(s, f"Q_{h}", Q, lo, hi, label=f"Q_{h} = Q {rows}")
            s.place(Qh, below=single)
            Kh = ops.copy_rows(s, f"K_{h}", K, lo, hi, label=f"K_{h} = K {rows}")
            s.place(Kh, right_of=Qh)
            Vh = ops.copy_rows(s, f"V_{h}", V, lo, hi, label=f"V_{h} = V {rows}")
            if narrow:  # K_hᵀ left of S_h, the exponentials under S_h, A_h right of them, V_h left of F_h
                Sh = s.place(ops.scores(s, f"S_{h}", Kh, Qh, scale=dh), below=Qh)
                Ah = ops.heat(s.place(ops.softmax(s, f"A_{h}", Sh), below=Sh, gap=0))
                Fh = ops.matmul(s, f"F_{h}", Vh, Ah, label=f"F_{h} = V_{h}·A_{h}")
                s.place(Vh, left_of=Fh)
            else:  # V_h right of K_h, the softmax right of S_h, F_h under A_h
                s.place(Vh, right_of=Kh)
                _, _, Fh = s.place(ops.attention(s, (f"S_{h}", f"A_{h}", f"F_{h}"), Qh, Kh, Vh, scale=dh),
                                   below=Qh)
        heads.append(head)
        fs.append(Fh)
    s.arrange([single, *heads], DOWN)  # the heads one under the other, under the single head
    with s.step("Concatenate the heads: Fcat = [F_1; …; F_H] (d × n, like F)"):
        Fcat = ops.stack(s, "Fcat", fs, role=OUTPUT, label="Fcat = [F_1; …; F_H]")
        s.place(Fcat, below=EVERYTHING, gap=1)
    with s.step("Sizes read off the sheet, then parameters and multiplications of each side (equal)"):
        _counts(s, X, s.blocks["Q_1"], under=Fcat)


def _attention_narrow(s, names, Q, K, V, above, *, scale, down=False):
    """One head in ten columns, not fourteen: S = Kᵀ·Q/√d under Q (Kᵀ at its left), the
    exponentials under S with their Σ, A right of them (with ``down``, under them, and a copy of Q
    above S), then F = V·A under A (V at its left)."""
    s_name, a_name, f_name = names
    label = f"{s_name} = {K.name}ᵀ·{Q.name} / √{scale:g}"
    if down:
        query = s.place(ops.carry(s, f"{s_name}_Q", Q, label=Q.name), under=above, in_columns_of=Q)
        S = s.place(ops.scores(s, s_name, K, query, scale=scale, label=label), below=query)
    else:
        S = s.place(ops.scores(s, s_name, K, Q, scale=scale, label=label), under=above, in_columns_of=Q)
    A = ops.heat(s.place(ops.softmax(s, a_name, S, direction="down" if down else "right"), below=S, gap=0))
    F = ops.matmul(s, f_name, ops.copy_part(s, f"{f_name}_V", V), A,
                   label=f"{f_name} = {V.name}·{a_name}")
    return S, A, F


def _counts(s, X, Q1, under):
    """Sizes counted off the sheet (d, n, d_h, H) in a row under ``under``, then each side's parameter
    and multiplication counts as formulas over them, one head's left of H heads'. Addresses are
    looked up when formulas are written."""
    size = {}

    def c(name):
        return size[name].cell(0, 0)

    sizes = (
        ("d", lambda: f"COUNT({X.col_range(0)})"),
        ("n", lambda: f"COUNT({X.row_range(0)})"),
        ("d_h", lambda: f"COUNT({Q1.col_range(0)})"),
        ("heads", lambda: fx.div(c("d"), c("d_h"))),
    )
    for name, formula in sizes:
        size[name] = s.add(name, (1, 1), role=COMPUTED, label=name, formula=lambda i, j, f=formula: f())
        s.place(size[name], below=under)
    row = s.arrange(list(size.values()), RIGHT, gap=0)  # a table: each size under its name
    s.next_to(row, under, RIGHT)  # the sizes right of Fcat, the counts under both: eleven columns
    above = s.together([under, row])
    counts = (
        ("params_single", "params, 1 head: 3·d·d", lambda: f"3*{c('d')}*{c('d')}"),
        ("mults_single", "mults, 1 head: 3·d²·n + 2·n²·d",
         lambda: "3*{d}*{d}*{n}+{n}*{n}*{d}+{d}*{n}*{n}".format(d=c("d"), n=c("n"))),
        ("params_multi", "params, H heads: H·3·d_h·d", lambda: f"{c('heads')}*3*{c('d_h')}*{c('d')}"),
        ("mults_multi", "mults, H heads: H·(3·d_h·d·n + 2·n²·d_h)",
         lambda: "{H}*(3*{h}*{d}*{n}+{n}*{n}*{h}+{h}*{n}*{n})".format(H=c("heads"), h=c("d_h"), d=c("d"), n=c("n"))),
    )
    blocks = [s.place(s.add(name, (1, 1), role=OUTPUT, label=label, formula=lambda i, j, f=formula: f()),
                      below=above) for name, label, formula in counts]
    one, many = s.arrange(blocks[:2], RIGHT), s.arrange(blocks[2:], RIGHT)
    s.next_to(many, one, DOWN)  # one head's counts over H heads'


def instructive(d, p) -> bool:
    """No head (and not the single head) attends one-hot, and some head is not uniform."""
    ref = reference(d, p)
    if d.n < 2:
        return True
    As = [ref["A"]] + [ref[f"A_{h}"] for h in range(1, d.heads + 1)]
    return all(A.max() < 0.9 for A in As) and all(np.ptp(A, axis=0).max() > 0.05 for A in As)


EXERCISE = Exercise(
    name="multihead-attention",
    title="Multi-head attention: one head of size d beside H heads of size d/H",
    source=Source(
        paper="Vaswani et al. (2017), Attention Is All You Need, NeurIPS (§3.2.2)",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Multi-Head Attention"),
    dims={"heads": "heads H", "d_h": "size of one head (d = H·d_h)", "n": "tokens"},
    presets={
        "small": dict(heads=2, d_h=1, n=3),
        "medium": dict(heads=2, d_h=2, n=3),
        "large": dict(heads=3, d_h=2, n=4),
        "lecture": dict(heads=4, d_h=8, n=64),
    },
    # Fresh numbers: Wq and Wk by halves, each row's absolute sum at most 2, so scores stay in a
    # range where softmax neither picks one key nor spreads evenly, however many tokens.
    givens=[
        Given("X", (d_model, "n"), low=-1, high=1, step=0.5),
        Given("Wq", (d_model, d_model), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=2),
        Given("Wk", (d_model, d_model), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=2),
        Given("Wv", (d_model, d_model), role=WEIGHT, low=-1, high=1),
    ],
    reference=reference,
    layout=layout,
    limits={"heads": (1, 8), "d_h": (1, 16), "n": (1, 64)},
    accept=instructive,
    options=[STABLE_SOFTMAX],
)
