"""alphafold-msa: the Evoformer's MSA row-wise gated self-attention with pair bias (AF2 suppl. Algorithm 7).

One MSA row s is M_s (c_m × r, one column per residue); the pair representation is one block per
residue i, Zp_i (c_z × r, column j = z_ij). For every row s and head h:
1. M̂ = LayerNorm(M_s) over the c_m features of each residue (population variance, ε = 1e-5, no affine)
2. Q = Wq_h·M̂, K = Wk_h·M̂, V = Wv_h·M̂ (c × r, no bias)
3. pair bias b_ij^h = Wb[h]·LayerNorm(z_ij), gathered as Bias_h (r × r, row j = key, column i = query)
4. S = Kᵀ·Q / √c + Bias_h
5. A = softmax over each column (over the keys j)
6. G = σ(Wg_h·M̂ + bg_h), O = G ⊙ (V·A)
7. Mout_s = Wo·[O_1; …; O_heads] + bo
The pair bias stands at the top (shared by every row s): one column of blocks per residue (Zp_i, its
LayerNorm worked down, Pb_i), Wb left of Pb_1, so that the row Wb | Pb_1 Pb_2 … reads Wb·[ẑ_1 ẑ_2 …];
Bias_h stands by the scores it is added to.
With several heads (where they fit a landscape page), the MSA rows stand side by side, a column of
blocks each, and one block of weights at the left of a band serves every row (Wq_1 | Q_1_1 Q_2_1 …):
M̂ = LayerNorm(M) worked down, head 1's projections under M̂; a later head from a copy of M̂, its Q
last so that S = Kᵀ·Q/√c + Bias_h stands under it (Bias_h once, at the band's left), e^S | A, V·A;
head 1's attention from a copy of Q_1 (the original a page back); the heads' O = G ⊙ V·A one under
the other, the stack Wo multiplies: Mout = Wo·[O_1; …] + bo, Wo | bo once for every row. Otherwise
one region per MSA row, a landscape page at a time: M̂ under M_s (M − mean right of M), each
projection under M̂ with its weights at the left (G = σ(Wg·M̂ + bg) in one product), and S = Kᵀ·Q/√c
+ Bias_h in one block (Kᵀ at its left). With one head the attention stands in two columns right of
the projections (Bias above S, e^S | A, V | V·A, O, Wo | bo | Mout), so that an MSA row fills one
page; with several, each head under the one before (a later head from a copy of M̂). MSA row 1 holds
the givens, every later row copies of them (Wq_1_r2 = Wq_1, …), so that a product, its weights and
its input print on one page.
"""
from __future__ import annotations

from contextlib import nullcontext

import numpy as np

from xlhand.model.npref import layernorm_columns, sigmoid, softmax_columns
from xlhand.layout import paper
from xlhand.layout import BIAS, COMPUTED, DOWN, EVERYTHING, LEFT, OUTPUT, RIGHT, WEIGHT, fx, ops
from xlhand.model.exercise import Exercise, Source, STABLE_SOFTMAX
from xlhand.model.givens import Given
from xlhand.model.makers import sparse_signs, spread_columns

EPS = 1e-5


def reference(d, p):
    out = {}
    for i in range(1, d.r + 1):
        zhat = layernorm_columns(np.asarray(p.Zp[i - 1], dtype=float))
        out[f"Zhat_{i}"] = zhat
        out[f"Pb_{i}"] = p.Wb @ zhat                   # row h, column j: b_ij^h
    for h in range(1, d.heads + 1):
        out[f"Bias_{h}"] = np.column_stack([out[f"Pb_{i}"][h - 1] for i in range(1, d.r + 1)])
    for s in range(1, d.s + 1):
        mhat = layernorm_columns(np.asarray(p.M[s - 1], dtype=float))
        out[f"Mhat_{s}"] = mhat
        heads = []
        for h in range(1, d.heads + 1):
            Q, K, V = (np.asarray(p[W][h - 1]) @ mhat for W in ("Wq", "Wk", "Wv"))
            QK = K.T @ Q / np.sqrt(d.c)
            S = QK + out[f"Bias_{h}"]
            A = softmax_columns(S)
            VA = V @ A
            Gz = np.asarray(p.Wg[h - 1]) @ mhat + np.asarray(p.bg[h - 1])
            G = sigmoid(Gz)
            O = G * VA
            heads.append(O)
            out.update({f"Q_{s}_{h}": Q, f"K_{s}_{h}": K, f"V_{s}_{h}": V, f"QK_{s}_{h}": QK, f"S_{s}_{h}": S,
                        f"A_{s}_{h}": A, f"VA_{s}_{h}": VA, f"Gz_{s}_{h}": Gz, f"G_{s}_{h}": G, f"O_{s}_{h}": O})
        out[f"Ocat_{s}"] = np.vstack(heads)
        out[f"Mout_{s}"] = p.Wo @ out[f"Ocat_{s}"] + p.bo
    return out


# --- layout ------------------------------------------------------------------------------------
def layout(s, d, p):
    r = d.r
    with s.step("Pair bias: ẑ_ij = LayerNorm(z_ij), b_ij^h = Wb[h]·ẑ_ij, gathered as Bias_h (row j = key, "
                "column i = query)"):
        with s.group() as pair:
            pb, residues = {}, []
            for i in range(1, r + 1):  # one column of blocks per residue, Wb left of the first: Wb·[ẑ_1 ẑ_2 …]
                with s.group() as residue:
                    Zp = s.given("Zp", index=i, label=f"Zp_{i} (column j = z_{i}j)")
                    zhat = ops.layernorm(s, f"Zhat_{i}", Zp, eps=EPS, label=f"Zhat_{i} = ·/√(var + ε)",
                                         direction="down", gap=0)
                    pb[i] = s.place(ops.matmul(s, f"Pb_{i}", "Wb", zhat, label=f"Pb_{i} = Wb·Zhat_{i}"),
                                    below=zhat, gap=0)
                residues.append(residue)
            # the residues side by side, a mean's side label against the residue before; where they
            # are wider than a page, a free column between them, for a page to break in
            if s.arrange(residues, RIGHT, gap=0).cols > paper.narrowest_page_columns():
                s.arrange(residues, RIGHT, gap=1)
        # Bias_h stands where it is added to the scores: by MSA row 1's S_1_h (a later row, a copy)
        bias = {h: s.add(f"Bias_{h}", (r, r), role=COMPUTED, label=f"Bias_{h}[j,i] = Pb_i[{h},j]",
                         formula=lambda j, i, h=h: pb[i + 1].cell(h - 1, j))
                for h in range(1, d.heads + 1)}
    if _side_by_side(d):
        s.arrange([pair, _msa_rows_side_by_side(s, d, bias)], DOWN, gap=1)
        return
    rows = [pair]
    for m in range(1, d.s + 1):  # MSA row 1 worked a phase a step; every later row, one step
        later = f"MSA row {m}: as row 1, with the same weights (copied: Wq_1_r{m} = Wq_1, …)"
        with (nullcontext() if m == 1 else s.step(later)), s.group() as row:
            _msa_row(s, m, d, bias, s.step if m == 1 else _no_step)
        rows.append(s.together([row, *bias.values()]) if m == 1 else row)
    s.arrange(rows, DOWN, gap=1)


def _no_step(text):
    """Inside a step that holds the whole of a later row (or head): no step of its own."""
    return nullcontext()


def _given_name(given, head):
    """The block of a weight: ``Wq_1`` (head 1's matrix of the stacked given Wq), or ``Wo``."""
    return given if head is None else f"{given}_{head}"


def _wide(d) -> bool:
    """One head, on a page wide enough for three result columns: M̂'s (the projections, weights at
    the left) and two right of it for the attention (Kᵀ, e^S, V | S, A, V·A, O)."""
    fits = (d.c_m + 1) + 3 * d.r + 2 <= paper.narrowest_page_columns()  # Wg | bg against G
    return d.heads == 1 and fits and d.c <= d.r and d.r >= 3  # Kᵀ (c wide) and the labels within r columns


def _product(s, m, name, X, W, b=None, *, below, label, role=COMPUTED, gap=0, weights_gap=1, act=None):
    """name = W·X (+ b) under ``below`` (its label row right under it), W (| b) at its left. W and b
    are (given, head or None): MSA row 1 places the givens (on first use); every later row works with
    copies of them (Wq_1_r2 = Wq_1), so that a product, its weights and its input print on one page. A
    copy's label is wider than one column: a one-column copy keeps a gap. ``weights_gap=0`` sets the
    weights against the product (a wide region on a narrow page: one head, a copy named by its given,
    bg, so that its label stays over its column). ``act`` is written around each cell's dot product
    (G = σ(Wg·M̂ + bg), as the math states it: one step)."""
    if m == 1:
        part = lambda w: w[0] if w[1] is None else ops.given_part(s, w[0], w[1])  # noqa: E731
        result = ops.matmul_parts(s, name, [part(W)], X, part(b) if b else None, label=label, role=role,
                                  weights_gap=weights_gap, act=act)
        return s.place(result, below=below, gap=gap)
    copy = lambda w: ops.carry(s, f"{_given_name(*w)}_r{m}", s.blocks[_given_name(*w)],  # noqa: E731
                               label=w[0] if weights_gap == 0 else _given_name(*w))  # one head: Wq is Wq_1
    W_copy, b_copy = copy(W), (copy(b) if b else None)
    result = s.place(ops.matmul_parts(s, name, [W_copy], X, b_copy, label=label, role=role, act=act),
                     below=below, gap=gap)
    if b_copy is None:
        s.place(W_copy, left_of=result, gap=weights_gap)
    else:
        s.place(b_copy, left_of=result, gap=weights_gap)
        s.place(W_copy, left_of=b_copy, gap=0 if W_copy.cols > 1 else 1)
    return result


def _msa_row(s, m, d, bias, stage):
    """M̂_m = LayerNorm(M_m) (M − mean and the variance right of M, M̂ under it), then the heads one
    under the other in M̂'s columns (a later head from a copy of M̂), the heads' outputs stacked and
    mixed by Wo. ``stage(text)`` opens each phase's step (MSA row 1; with several heads, the heads
    after the first and Mout in one step, so that the header stays short)."""
    several = d.heads > 1
    # one head: M̂ with the projections, then the attention, a step each; several: head 1 whole in
    # one step (a header two lines shorter leaves page 1 room for the pair bias)
    whole = stage(f"MSA row {m}, head 1: M̂ = LayerNorm(M_{m}); Q, K, V, G from M̂; S = Kᵀ·Q/√c + Bias_1, "
                  "A = softmax(S), O = G ⊙ V·A") if several else nullcontext()
    with whole:
        with (nullcontext() if several else stage(
                f"MSA row {m}: M̂ = LayerNorm(M_{m}) per residue (ε = 1e-5); Q, K, V = Wq·M̂, Wk·M̂, Wv·M̂; "
                "G = σ(Wg·M̂ + bg)")):
            M = s.given("M", index=m, label=f"M_{m} (MSA row {m})")
            mhat = ops.layernorm(s, f"Mhat_{m}", M, eps=EPS, label=f"Mhat_{m} = (M_{m} − mean)/√(var + ε)",
                                 direction="under", gap=0)
            top = (s.blocks[f"Mhat_{m}_xc"], s.blocks[f"Mhat_{m}_var"])  # M − mean right of M, its variance under it
            heads = [_projections(s, m, 1, d, mhat, ops.ones_row(s, mhat), wide=_wide(d))]
        with (nullcontext() if several else stage(
                f"MSA row {m}: S = Kᵀ·Q/√c + Bias_1, A = softmax(S) over each column (the keys j), O = G ⊙ (V·A)")):
            outputs = [_attention(s, m, 1, d, *heads[0], bias[1], top if _wide(d) else None)]
    stacked = f"[O_{m}_1; …; O_{m}_{d.heads}]" if several else f"O_{m}_1"
    others = "head 2" if d.heads == 2 else f"heads 2–{d.heads}"
    last = (f"MSA row {m}: {others} as head 1 (from a copy of M̂); Mout_{m} = Wo·{stacked} + bo"
            if several else f"MSA row {m}: Mout_{m} = Wo·{stacked} + bo")
    with stage(last):
        for h in range(2, d.heads + 1):
            source = s.place(ops.copy(s, f"Mhat_{m}_h{h}", mhat, label=f"Mhat_{m} (head {h})"),
                             below=outputs[-1], in_columns_of=mhat)
            proj = _projections(s, m, h, d, source, ops.ones_row(s, source), wide=False)
            outputs.append(_attention(s, m, h, d, *proj, bias[h], None))
        if several:
            Ocat = ops.stack(s, f"Ocat_{m}", outputs, label=f"Ocat_{m} = {stacked}")
            s.place(Ocat, below=outputs[-1], in_columns_of=mhat)
        else:  # one head: its output is the input of Wo
            Ocat = outputs[0]
        _product(s, m, f"Mout_{m}", Ocat, ("Wo", None), ("bo", None), below=ops.ones_row(s, Ocat), role=OUTPUT,
                 label=f"Mout_{m} = Wo·{'Ocat_' + str(m) if several else 'O'} + bo")


def _projections(s, m, h, d, mhat, above, *, wide):
    """Q, K, V and G = σ(Wg·M̂ + bg) of head h in M̂'s columns, one under the other, weights at the
    left (against the product on a wide page: the columns to the right hold the attention)."""
    proj, against = {}, {"weights_gap": 0 if wide else 1}
    for key in "QKV":
        above = proj[key] = _product(s, m, f"{key}_{m}_{h}", mhat, (f"W{key.lower()}", h), below=above,
                                     label=f"{key}_{m}_{h} = W{key.lower()}_{h}·M̂", **against)
    G = _product(s, m, f"G_{m}_{h}", mhat, ("Wg", h), ("bg", h), below=above, label=f"G_{m}_{h} = σ(Wg·M̂+bg)",
                 act=fx.sigmoid, **against)
    return proj, G


def _attention(s, m, h, d, proj, G, bias, top):
    """Head h of MSA row m from its projections: S = Kᵀ·Q/√c + Bias (Kᵀ at its left), e^S | A,
    V | V·A, O = G ⊙ V·A. With ``top`` (a wide page), in the two columns right of the projections,
    under ``top`` (M − mean), the pair bias right of it above S; else under G, the bias right of S.
    A later row works with a copy of the bias. Returns O."""
    B = bias if m == 1 else ops.carry(s, f"{bias.name}_r{m}", bias, label=bias.name)  # the original: out of reach
    S = ops.scores(s, f"S_{m}_{h}", proj["K"], proj["Q"], scale=d.c, bias=B, label=f"S_{m}_{h} = Kᵀ·Q/√{d.c} + b")  # b: the bias above
    if top is not None:
        s.place(B, right_of=top[0])
        s.place(S, under=s.together([*top, B]), in_columns_of=B, gap=0)
        column = top[0]  # e^S and V in the columns of M − mean
    else:
        s.place(S, below=G, gap=0)
        s.place(B, right_of=S)
        column = G
    A = ops.heat(ops.softmax(s, f"A_{m}_{h}", S, label=f"A_{m}_{h} = softmax(S)"))
    s.place(A, below=S if top is not None else B, in_columns_of=column, gap=0 if top is not None else 1)  # narrow: a page may break
    Vc = ops.copy(s, f"V_{m}_{h}_c", proj["V"], label=f"V_{m}_{h}")
    s.place(Vc, below=EVERYTHING)
    VA = ops.matmul(s, f"VA_{m}_{h}", Vc, A, label=f"VA_{m}_{h} = V·A")
    s.place(VA, below=A, gap=1)  # clear of the Σ row
    s.next_to(Vc, VA, LEFT)
    O = ops.elementwise(s, f"O_{m}_{h}", fx.mul, [G, VA], label=f"O_{m}_{h} = G ⊙ VA")
    return s.place(O, below=VA, gap=0)


# --- several heads: the MSA rows side by side, one weight block for all of them ---------------
def _side_by_side(d) -> bool:
    """Several heads, and the MSA rows fit side by side across a landscape page: at the left the
    weights (Wg | bg against G; Bias_h | Kᵀ against S; e^S and the copy of V against A and V·A), then
    one column of blocks per MSA row, each row's column max(r, c) + 1 columns from the one before (room
    for the next row's Kᵀ, e^S and copy of V)."""
    left = max(d.c_m + 1, d.r + d.c, d.r + 1)
    width = left + d.s * d.r + (d.s - 1) * (max(d.r, d.c) + 1)
    labels = d.r >= 3 and 2 <= d.c <= d.r  # the labels within their blocks' columns (Bias_h, Kᵀ, Mout)
    return d.heads > 1 and labels and width <= paper.narrowest_page_columns()


def _band(s, inputs, make, above, *, gap=0):
    """One block per MSA row in one row band: ``make(m, x)`` makes row m's block from its input x
    (weights already placed are used where they stand: one block of weights for the whole band);
    row 1's goes under ``above`` in the columns of its input, every later row's level with it in the
    columns of its own. Returns the blocks by row."""
    out = {}
    for m, x in inputs.items():
        block = make(m, x)
        if m == 1:
            s.place(block, below=above, gap=gap, in_columns_of=x)
        else:
            s.place(block, at=ops.level(out[1], x))
        out[m] = block
    return out


def _msa_rows_side_by_side(s, d, bias):
    """The MSA rows side by side, a column of blocks each, every product of a band served by one block
    of weights at its left (Wq_1 | Q_1_1 Q_2_1 …): M̂ = LayerNorm(M) (worked down), head 1's
    projections under M̂; each later head from a copy of M̂ (a page further), its projections with Q
    last, S = Kᵀ·Q/√c + Bias_h under Q (Bias_h at the left, one for every row), e^S | A, V·A; head 1's
    attention from a copy of Q_1 (the original a page back); O = G ⊙ V·A of every head stacked, and
    Mout = Wo·[O_1; …] + bo under them. Returns the group."""
    rows, heads = range(1, d.s + 1), range(1, d.heads + 1)
    pitch = max(d.r, d.c) + 1
    with s.group() as region:
        with s.step("M̂_s = LayerNorm(M_s) for every MSA row s, side by side (over the c_m features of each "
                    "residue, ε = 1e-5)"):
            lns, mhat = [], {}
            for m in rows:
                with s.group() as ln:
                    M = s.given("M", index=m, label=f"M_{m} (MSA row {m})")
                    mhat[m] = ops.layernorm(s, f"Mhat_{m}", M, eps=EPS, label=f"Mhat_{m} = ·/√(var+ε)",
                                            direction="down", gap=0)
                    ops.ones_row(s, mhat[m])
                lns.append(ln)
            s.arrange(lns, RIGHT, gap=pitch - 1)  # a row's side labels (mean, var, 1s) in the column before it
        proj, last = {}, ops.ones_row(s, mhat[1])
        with s.step("Head 1: Q, K, V = Wq_1·M̂, Wk_1·M̂, Wv_1·M̂ and G = σ(Wg_1·M̂ + bg_1), one block of "
                    "weights for every MSA row"):
            proj[1], last = _projections_band(s, d, 1, mhat, last, "QKVG")
        others = "Head 2" if d.heads == 2 else f"Heads 2–{d.heads}"
        O, VA = {}, {}
        with s.step(f"{others} from a copy of M̂: Q, K, V, G; S = Kᵀ·Q/√c + Bias_h, A = softmax(S) over "
                    "each column (the keys j), V·A"):
            for h in heads[1:]:
                copies = _band(s, mhat, lambda m, x, h=h: ops.copy(s, f"Mhat_{m}_h{h}", x,
                                                                          label=f"Mhat_{m} (head {h})"), last,
                               gap=1)  # a free row: a page may break before the copy
                for c in copies.values():
                    ops.ones_row(s, c)
                proj[h], last = _projections_band(s, d, h, copies, ops.ones_row(s, copies[1]), "KVGQ")
                VA[h], last = _attention_band(s, d, h, proj[h], proj[h]["Q"], bias[h], last)
        with s.step("Head 1: S = Kᵀ·Q/√c + Bias_1 (Q_1 copied), A = softmax(S), V·A; O = G ⊙ V·A for "
                    "every head; Mout_s = Wo·[O_s_1; …] + bo"):
            queries = _band(s, proj[1]["Q"], lambda m, x: ops.copy(s, f"Q_{m}_1_c", x,
                                                                        label=f"Q_{m}_1 (copied)"), last,
                            gap=1)  # a free row: a page may break before the copy
            VA[1], last = _attention_band(s, d, 1, proj[1], queries, bias[1], queries[1])
            for h in heads:
                O[h] = _band(s, VA[h], lambda m, x, h=h: ops.elementwise(
                    s, f"O_{m}_{h}", fx.mul, [proj[h]["G"][m], x], label=f"O_{m}_{h} = G ⊙ VA", arrow=False),
                    last)
                last = O[h][1]
            _mix(s, d, O, last)
    return s.together([region, *bias.values()])  # Bias_h, made with the pair bias, stands by its scores


def _projections_band(s, d, h, inputs, above, order):
    """Head h's Q, K, V and G = σ(Wg·M̂ + bg) of every MSA row, in ``order``, one band each under
    ``above``: one block of weights at the left of each band, every row's product right of it."""
    out = {}
    for key in order:
        W = f"W{key.lower()}"
        def make(m, x, key=key, W=W):
            parts = [ops.given_part(s, W, h)]
            if key == "G":
                return ops.matmul_parts(s, f"G_{m}_{h}", parts, x, ops.given_part(s, "bg", h),
                                        label=f"G_{m}_{h} = σ(W·M̂+b)", act=fx.sigmoid, weights_gap=0)
            return ops.matmul_parts(s, f"{key}_{m}_{h}", parts, x, label=f"{key}_{m}_{h} = {W}_{h}·M̂")
        out[key] = _band(s, inputs, make, above)
        above = out[key][1]
    return out, above


def _attention_band(s, d, h, proj, queries, bias, above):
    """Head h of every MSA row from its queries (Q, or a copy of it): S = Kᵀ·Q/√c + Bias_h under
    them (Kᵀ against S, Bias_h once at the band's left), e^S | A under S (A in S's columns), V·A
    under A with a copy of V at its left. A stable softmax's max row makes the band (copy of M̂,
    K V G Q, S, e^S | A, V·A) a row taller than an A4 landscape page: there the copy of V is named at
    its side (as the Σ row is) and V·A stands right under A, its label row level with Σ (its label
    the block's name, clear of the next row's Σ). Returns (V·A by row, the last block of row 1)."""
    S = _band(s, queries, lambda m, q: ops.scores(
        s, f"S_{m}_{h}", proj["K"][m], q, scale=d.c, bias=bias, label=f"S_{m}_{h} = Kᵀ·Q/√{d.c} + b",
        weights_gap=0), above)
    s.place(bias, left_of=s.blocks[f"S_1_{h}_Kt"], gap=0)
    tight = bool(s.settings.get("stable"))
    A, VA = {}, {}
    for m in S:
        Vc = ops.copy(s, f"V_{m}_{h}_c", proj["V"][m], label=f"V_{m}_{h}", marked=tight)
        s.place(Vc, left_of=S[m], gap=1)  # for now: marks the column of e^S, so that A stands in S's columns
        A[m] = ops.heat(ops.softmax(s, f"A_{m}_{h}", S[m], label=f"A_{m}_{h} = softmax(S)"))
        s.place(A[m], below=S[m], gap=0, in_columns_of=Vc)
        VA[m] = ops.matmul(s, f"VA_{m}_{h}", Vc, A[m], label=f"VA_{m}_{h}" if tight else f"VA_{m}_{h} = V·A")
        s.place(VA[m], below=A[m], gap=0 if tight else 1)  # clear of the Σ row (or its label row level with it)
        s.next_to(Vc, VA[m], LEFT, gap=0, align="end")  # against V·A, in its rows: a free column before
        # it, after the row before
    return VA, VA[1]


def _mix(s, d, O, above):
    """Mout_m = Wo·[O_m_1; …; O_m_heads] + bo: the heads' outputs stand one under the other (the stack
    Wo multiplies), the row of 1s under the last, Wo | bo at the left of Mout_1, every row's Mout right
    of it against the same Wo | bo."""
    heads = sorted(O)
    out = {}
    for m in O[heads[0]]:
        Mout = ops.matmul_parts(s, f"Mout_{m}", ["Wo"], [O[h][m] for h in heads], "bo", role=OUTPUT,
                                label=f"Mout_{m} (Wo·O + bo)", weights_gap=0)
        last = O[heads[-1]][m]  # the foot of the stack, its row of 1s under it
        if m == 1:
            s.place(Mout, below=ops.ones_row(s, last), gap=0)
        else:
            s.place(Mout, at=ops.level(out[1], last))
        out[m] = Mout
    return out


# --- numbers -----------------------------------------------------------------------------------
def instructive(d, p) -> bool:
    """LayerNorms with spread to normalise, no projection row of zeros, attention that is not
    one-hot, gates not saturated."""
    if any((np.asarray(W) == 0).all(axis=-1).any() for W in (p.Wq, p.Wk, p.Wv, p.Wg)):
        return False
    for stack, rows in ((p.M, d.c_m), (p.Zp, d.c_z)):
        if rows >= 2 and min(np.asarray(X).var(axis=0).min() for X in stack) < 0.2:
            return False
    ref = reference(d, p)
    for m in range(1, d.s + 1):
        for h in range(1, d.heads + 1):
            if d.r >= 2 and ref[f"A_{m}_{h}"].max() > 0.99:
                return False
            if np.abs(ref[f"Gz_{m}_{h}"]).max() > 5:
                return False
    return True


def _heads_width(d):
    return d.heads * d.c


EXERCISE = Exercise(
    name="alphafold-msa",
    title="AlphaFold Evoformer: MSA row-wise gated self-attention with pair bias",
    source=Source(
        paper="Jumper et al. (2021), Highly accurate protein structure prediction with AlphaFold, Nature 596, "
              "suppl. Algorithm 7",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): AlphaFold"),
    dims={"s": "MSA rows (sequences)", "r": "residues", "c_m": "MSA channels", "c_z": "pair channels",
          "c": "channels per head", "heads": "attention heads"},
    presets={
        "small": dict(s=2, r=3, c_m=3, c_z=2, c=2, heads=1),
        "medium": dict(s=2, r=3, c_m=4, c_z=3, c=2, heads=2),
        "large": dict(s=3, r=4, c_m=6, c_z=4, c=3, heads=2),
    },
    # Fresh numbers: every residue's features vary (LayerNorm has work), projection rows are 1 or 2
    # entries ±1 (the query's 1) and pair-bias rows sum to at most 1 in absolute value, so the
    # softmax is not one-hot and the gates not saturated.
    givens=[
        Given("M", ("s", "c_m", "r"), make=spread_columns(-2, 3), describe="MSA, one c_m × r block per row s"),
        Given("Zp", ("r", "c_z", "r"), make=spread_columns(-2, 3),
              describe="pair representation, one c_z × r block per i"),
        Given("Wq", ("heads", "c", "c_m"), role=WEIGHT, make=sparse_signs(1)),
        Given("Wk", ("heads", "c", "c_m"), role=WEIGHT, make=sparse_signs(2)),
        Given("Wv", ("heads", "c", "c_m"), role=WEIGHT, make=sparse_signs(2)),
        Given("Wg", ("heads", "c", "c_m"), role=WEIGHT, make=sparse_signs(2)),
        Given("bg", ("heads", "c", 1), role=BIAS, low=-1, high=1),
        Given("Wb", ("heads", "c_z"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1),
        Given("Wo", ("c_m", _heads_width), role=WEIGHT, low=-1, high=1),
        Given("bo", ("c_m", 1), role=BIAS, low=-1, high=1),
    ],
    reference=reference,
    layout=layout,
    limits={"s": (1, 8), "r": (1, 8), "c_m": (1, 8), "c_z": (1, 8), "c": (1, 8), "heads": (1, 4)},
    accept=instructive,
    options=[STABLE_SOFTMAX],
)
