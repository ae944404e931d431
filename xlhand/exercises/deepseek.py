"""deepseek: multi-head latent attention (MLA) and a mixture of experts (MoE), DeepSeek-V2/V3.

Tokens are columns of X (d × tokens). MLA: latents Cq = Wdq·X and Ckv = Wdkv·X (Ckv and the rotary
key are all a token leaves in the cache); per head h: Qc_h = Wuq_h·Cq, Kc_h = Wuk_h·Ckv, V_h = Wuv_h·Ckv;
rotary parts shared by all heads: Qr = Rot(Wqr·Cq), Kr = Rot(Wkr·X), where Rot turns each pair of
rows (2m, 2m+1) of token t's column by the angle t·θ (t = 1, 2, …): (a, b) → (a·cos − b·sin,
a·sin + b·cos). Scores S_h = [Kr; Kc_h]ᵀ·[Qr; Qc_h] / √(d_h + d_r) (row j = key j, column i =
query i); with causal (the default) a key after its query gets −1e9 before the softmax, i.e. weight 0;
A_h = softmax over each column; O_h = V_h·A_h; Attn = Wo·[O_1; …; O_H]. Cache per token:
d_c + d_r numbers against 2·heads·d_h for ordinary multi-head attention.
MoE on each column x of Attn: logits = Wr·x; gate = softmax over the experts (option gate: sigmoid,
σ of each logit); chosen = the top_k experts by rank (rank = 1 + the number of larger logits; ties
refused); g = chosen ⊙ gate (option normalize_gates: divided by their sum); expert e:
E_e = ReLU(W2_e·ReLU(W1_e·x + b1_e) + b2_e); Out = Σ_e g_e·E_e (option shared: plus the output of
one shared expert, always on, with weights W1s, b1s, W2s, b2s).
The sheet is a narrow page (the tokens' columns, weights at their left), each stage under the one
before: the latents under X on page 1; under a copy of Cq (Cq_h1) the rotary angles, Qrp, Kr beside
Qr, and every head's Qc_h (the one copy serves them all); then a head a page: Q_h = [Qr; Qc_h] with a
copy of Ckv (Ckv_h1 …) left of it and Kc_h = Wuk_h·Ckv under that copy, S_h under Q_h with
[Krᵀ | Kc_hᵀ] at its left, e^S under those and A_h under S_h, and V_h = Wuv_h·Ckv (under the same
copy of Ckv) left of O_h = V_h·A_h, so that every product of a head prints on the page of its
operands. Where Wo (heads·d_h columns), a gap and Attn are wider than a page, Attn = Wo·[O_1; …] is
worked in runs of heads whose columns of Wo, a gap and the product fit across the page: P_12 =
[Wo_1 | Wo_2]·[O_1; O_2] (copies of those columns of Wo left of it, copies of O_1 and O_2 over it,
marked at their left), P_3 = Wo_3·O_3, …, and Attn = P_12 + P_3 + … on the next page. The router and
the experts both read Attn and meet only in Out; where a page holds one expert (its copy of Attn,
He_e and E_e), they are worked side by side: logits = Wr·Attn under Attn over the first expert, then
one band of the router at the top of each following expert's page, over its copy of Attn (e^logits
left of the gate; top_k, rank and chosen; g). Elsewhere the router stands in two columns under
logits (rank left of the gate, chosen left of g = chosen ⊙ gate; with normalize_gates rank left of
e^logits, chosen left of the gate, gsel under chosen and g = gsel / Σ right of it), Attn again
(Attn_e1 …) over every run of experts that a page holds. With the option shared, the shared expert (always on) is worked
before the routed ones, as the first of them: Hs and Es under Attn and logits where a page holds one
expert (the routed experts after it, each under its copy of Attn, the router's bands over experts
1 to 3), else alone under the router with a copy of Attn of its own (Attn_s); without it, its
weights are set aside (on screen, off paper).
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import BIAS, COMPUTED, DOWN, EVERYTHING, GIVEN, LEFT, OUTPUT, RIGHT, WEIGHT, fx, op, ops
from xlhand.model.exercise import Exercise, Option, Source, STABLE_SOFTMAX
from xlhand.model.npref import causal_mask, relu, sigmoid, softmax_columns
from xlhand.model.givens import Given
from xlhand.model.makers import bounded_rows


def heads_d_h(dims):
    """heads·d_h: the width of Wo, all heads' outputs stacked."""
    return dims["heads"] * dims["d_h"]


def rotate(M, theta):
    """Turn each pair of rows (2m, 2m+1) of column t (t from 1) by the angle t·θ."""
    out = np.array(M, dtype=float)
    for t in range(M.shape[1]):
        c, s = np.cos((t + 1) * theta), np.sin((t + 1) * theta)
        for m in range(0, M.shape[0] - 1, 2):
            a, b = M[m, t], M[m + 1, t]
            out[m, t], out[m + 1, t] = a * c - b * s, a * s + b * c
    return out


def attention_and_logits(d, p, causal):
    """MLA up to Attn, and the router's logits (what the choice of experts depends on)."""
    out = {}
    Cq, Ckv = p.Wdq @ p.X, p.Wdkv @ p.X
    Qrp, Krp = p.Wqr @ Cq, p.Wkr @ p.X
    Qr, Kr = rotate(Qrp, p.theta), rotate(Krp, p.theta)
    out.update(Cq=Cq, Ckv=Ckv, Qrp=Qrp, Krp=Krp, Qr=Qr, Kr=Kr)
    heads = []
    for h in range(1, d.heads + 1):
        Qc, Kc, V = p.Wuq[h - 1] @ Cq, p.Wuk[h - 1] @ Ckv, p.Wuv[h - 1] @ Ckv
        Q, K = np.vstack([Qr, Qc]), np.vstack([Kr, Kc])
        S = K.T @ Q / np.sqrt(d.d_h + d.d_r)
        A = softmax_columns(causal_mask(S) if causal else S)
        O = V @ A
        out.update({f"Qc_{h}": Qc, f"Kc_{h}": Kc, f"V_{h}": V, f"Q_{h}": Q, f"K_{h}": K, f"S_{h}": S,
                    f"A_{h}": A, f"O_{h}": O})
        heads.append(O)
    out["Ocat"] = np.vstack(heads)
    out["Attn"] = p.Wo @ out["Ocat"]
    out["logits"] = p.Wr @ out["Attn"]
    return out


def reference(d, p, causal=True, gate="softmax", shared=False, normalize_gates=False):
    out = attention_and_logits(d, p, causal)
    out["cache"] = np.array([[d.d_c + d.d_r, 2 * d.heads * d.d_h]], dtype=float)
    logits = out["logits"]
    G = softmax_columns(logits) if gate == "softmax" else sigmoid(logits)
    rank = 1 + (logits[None, :, :] > logits[:, None, :]).sum(axis=1)  # [e, t]: 1 + larger logits
    chosen = (rank <= d.top_k).astype(float)
    g = chosen * G
    out.update(gate=G, rank=rank.astype(float), chosen=chosen)
    if normalize_gates:
        out["gsel"] = g
        g = g / g.sum(axis=0, keepdims=True)
    out["g"] = g
    total = np.zeros((d.d, d.tokens))
    for e in range(1, d.experts + 1):
        H = relu(p.W1[e - 1] @ out["Attn"] + p.b1[e - 1])
        E = relu(p.W2[e - 1] @ H + p.b2[e - 1])
        out.update({f"He_{e}": H, f"E_{e}": E})
        total = total + g[e - 1:e, :] * E
    if shared:
        out["Hs"] = relu(p.W1s @ out["Attn"] + p.b1s)
        out["Es"] = relu(p.W2s @ out["Hs"] + p.b2s)
        total = total + out["Es"]
    out["Out"] = total
    return out


# --- layout ------------------------------------------------------------------------------------
def layout(s, d, p, causal=True, gate="softmax", shared=False, normalize_gates=False):
    T, H = d.tokens, d.heads
    scale = d.d_h + d.d_r
    with s.step("Latents Cq = Wdq·X, Ckv = Wdkv·X; rotary by t·θ: Kr = Rot(Wkr·X), Qr = Rot(Wqr·Cq)"):
        X = s.given("X", label="X (one token a column)")
        Cq = ops.matmul(s, "Cq", "Wdq", X, label="Cq = Wdq·X")
        s.place(Cq, below=X, gap=0)
        Ckv = ops.matmul(s, "Ckv", "Wdkv", X, label="Ckv = Wdkv·X (cache)")
        s.place(Ckv, below=Cq, gap=0)
        Krp = ops.matmul(s, "Krp", "Wkr", X, label="Krp = Wkr·X")
        s.place(Krp, below=Ckv, gap=0)
        # Cq again, on the next page where the header leaves no room: Qrp and every head's Qc under it
        Cq_c = s.place(ops.copy(s, "Cq_h1", Cq, label="Cq"), below=Krp,
                       gap=max(1, 4 - d.d_cq))  # room beside it for the four rows of angles
        Qrp = ops.matmul(s, "Qrp", "Wqr", Cq_c, label="Qrp = Wqr·Cq")
        s.place(Qrp, below=Cq_c, gap=0)
        with s.group() as angles:
            pos = s.add("pos", (1, T), role=GIVEN, label="", values=np.arange(1, T + 1)[None, :], named=False,
                        side_label="t")
            s.place(pos, left_of=Cq_c)
            theta = s.given("theta", label="θ")
            ang = s.add("ang", (1, T), role=COMPUTED, label="", side_label="t·θ",
                        formula=lambda i, j: f"{pos.cell(0, j)}*{ops.absolute(theta)}",
                        expect=lambda v: np.arange(1, T + 1)[None, :] * float(np.ravel(v["theta"])[0]))
            s.place(ang, adjoining=pos)
            cos = s.add("cos", (1, T), role=COMPUTED, label="", side_label="cos",
                        formula=lambda i, j: f"COS({ang.cell(0, j)})",
                        expect=lambda v: np.cos(np.arange(1, T + 1)[None, :] * float(np.ravel(v["theta"])[0])))
            s.place(cos, adjoining=ang)
            sin = s.add("sin", (1, T), role=COMPUTED, label="", side_label="sin",
                        formula=lambda i, j: f"SIN({ang.cell(0, j)})",
                        expect=lambda v: np.sin(np.arange(1, T + 1)[None, :] * float(np.ravel(v["theta"])[0])))
            s.place(sin, adjoining=cos)
        s.next_to(angles, Cq_c, LEFT, gap=0, align="end")  # beside Cq, in the columns of the keys below
        s.place(theta, right_of=ang, gap=0)  # θ at the end of the row t·θ
        Qr = _rotated(s, "Qr", Qrp, cos, sin, "Qr = Rot(Qrp)")
        s.place(Qr, below=Qrp, gap=0)
        Kr = _rotated(s, "Kr", Krp, cos, sin, "Kr = Rot(Krp) (cache)")
        s.next_to(Kr, Qr, LEFT)  # keys left of queries, as in every head below
    outputs, parts = [], []
    by_head = _by_head(d)
    with s.step(f"Heads: Qc = Wuq·Cq, Kc = Wuk·Ckv, V = Wuv·Ckv; S = KᵀQ/√{scale}; A = softmax(S); O = V·A"):
        above, queries = Qr, {}
        for h in range(1, H + 1):  # every head's queries under the one copy of Cq
            Qc = ops.matmul_parts(s, f"Qc_{h}", [ops.given_part(s, "Wuq", h, d.d_cq)], Cq_c,
                                  label=f"Qc_{h} = Wuq_{h}·Cq")
            above = queries[h] = s.place(Qc, below=above, gap=0)  # the label rows are the gaps
        for h in range(1, H + 1):  # then a head a page: its keys and values beside and left of its queries
            O = _head(s, d, h, Ckv, Qr, Kr, queries[h], above, causal)
            outputs.append(O)
            above = O
    groups = _head_groups(d) if by_head else []
    with s.step(f"Attn = Wo·[O_1; …; O_{H}]" + (" = " + " + ".join(_group_name(g) for g in groups) if by_head else "")
                + f"; cache per token: d_c + d_r = {d.d_c + d.d_r} numbers, not 2·heads·d_h = {2 * H * d.d_h}"):
        if by_head:  # Wo wider than a page beside Attn: each run of heads multiplies its own columns of Wo
            Wo = s.given("Wo", label=f"Wo = [Wo_1 | … | Wo_{H}], d_h = {d.d_h} columns a head")
            s.next_to(Wo, above, DOWN, align="end")
            above = Wo
            for heads in groups:
                # copies of the run's O_h, one under the other, marked at their left (no label row)
                Oc = _outputs_copy(s, d, heads, [outputs[h - 1] for h in heads])
                s.next_to(Oc, above, DOWN, gap=0, align="end")
                above = s.place(_head_output(s, d, heads, Oc), below=Oc, gap=0)
                parts.append(above)
            Attn = s.add("Attn", (d.d, T), role=COMPUTED, label="Attn = " + " + ".join(_group_name(g) for g in groups),
                         formula=lambda i, j: "+".join(P.cell(i, j) for P in parts))
            s.place(Attn, below=above)  # an empty row over it, where the pages may break
        else:
            Ocat = ops.stack(s, "Ocat", outputs, label=f"[O_1; …; O_{H}]")
            Attn = ops.matmul(s, "Attn", "Wo", Ocat, label="Attn = Wo·[O_1; …]")
            s.place(Ocat, below=above)
            s.place(Attn, below=Ocat, gap=0)
        cache = s.add("cache", (1, 2), role=OUTPUT, label="cache / token: MLA | MHA",
                      formula=lambda i, j: (f"COUNT({Ckv.col_range(0)})+COUNT({Kr.col_range(0)})" if j == 0
                                            else f"2*COUNT({s.blocks['Wo'].row_range(0)})"))
        s.next_to(cache, Attn if by_head else Ocat, LEFT, gap=3)  # beside, where no weights stand
    _mixture(s, d, Attn, gate, shared, normalize_gates, panels=by_head)


def _head(s, d, h, Ckv, Qr, Kr, Qc, above, causal):
    """Head h on a page of its own: Q_h = [Qr; Qc_h] under ``above``, S_h under it with
    [Krᵀ | Kc_hᵀ] at its left, e^S under those and A_h under S_h, O_h = V_h·A_h under A_h. The keys'
    and values' latent Ckv (a copy) stands left of Q_h, Kc_h = Wuk_h·Ckv under it (ending with Q_h),
    and V_h = Wuv_h·Ckv, in the same columns, left of O_h: each product with its operands."""
    scale = d.d_h + d.d_r
    wide = d.tokens >= 3  # room for a label that names the product (Q_h and O_h stand right of it)
    with s.group() as keys:
        # a copy marked at its left (no label row: the keys' column as tall as Q_h's)
        Ckv_c = ops.copy(s, f"Ckv_h{h}", Ckv, label="Ckv", marked=True)
        s.place(Ckv_c, below=above)
        Kc = ops.matmul_parts(s, f"Kc_{h}", [ops.given_part(s, "Wuk", h, d.d_c)], Ckv_c,
                              label=f"Kc_{h} = Wuk_{h}·Ckv" if wide else f"Kc_{h}", weights_gap=0)
        s.place(Kc, below=Ckv_c, gap=0)
    Q = ops.stack(s, f"Q_{h}", [Qr, Qc], label=f"Q_{h} = [Qr; Qc_{h}]")
    # the keys' column taller than Q_h's where d_c > d_r: one empty row over it either way
    s.place(Q, below=above, gap=1 + max(0, d.d_c - d.d_r))
    s.next_to(keys, Q, LEFT, align="end")
    S = ops.matmul_parts(s, f"S_{h}", [ops.transposed_part(s, f"S_{h}_Krt", Kr, label="Krᵀ"),
                                      ops.transposed_part(s, f"S_{h}_Kct", Kc, label=f"Kc_{h}ᵀ")], Q,
                         label=f"S_{h} = [Kr; Kc_{h}]ᵀ·Q_{h}/√{scale}", act=lambda dot: f"({dot})/{fx.sqrt(scale)}")
    s.place(S, below=Q, gap=0)
    a_label = f"A_{h} = softmax, causal" if causal else f"A_{h} = softmax(S_{h})"
    A = ops.softmax(s, f"A_{h}", S, mask="causal" if causal else None, label=a_label)
    s.place(A, below=S, in_columns_of=s.blocks[f"S_{h}_Krt"], gap=0)  # e^S under Kᵀ, A under S (or max)
    ops.heat(A)
    V = ops.matmul_parts(s, f"V_{h}", [ops.given_part(s, "Wuv", h, d.d_c)], Ckv_c,
                         label=f"V_{h} = Wuv_{h}·Ckv" if wide else f"V_{h}", weights_gap=0)
    O = ops.matmul(s, f"O_{h}", V, A, label=f"O_{h} = V_{h}·A_{h}")
    s.place(O, below=A)
    s.place(V, left_of=O)
    return O


def _by_head(d) -> bool:
    """Wo, a gap and Attn wider than a page: Attn = Wo·[O_1; …] = Σ_h Wo_h·O_h, head by head (Wo_h:
    head h's d_h columns of Wo), so that each product prints with its weights and its input."""
    return d.heads * d.d_h + 1 + d.tokens > ops.page_columns("letter", landscape=True)


def _head_groups(d) -> list[list[int]]:
    """The heads in runs whose columns of Wo, a gap and the product fit across a page."""
    size = max(1, (ops.page_columns("letter", landscape=True) - 1 - d.tokens) // d.d_h)
    return [list(range(k, min(k + size, d.heads + 1))) for k in range(1, d.heads + 1, size)]


def _group_name(heads) -> str:
    """P_h for one head, P_12 for heads 1 and 2 worked together."""
    return "P_" + "".join(map(str, heads))


def _outputs_copy(s, d, heads, outputs):
    """[O_h; …] for a run of heads: copies, one under the other, each marked at its left."""
    rows = [(O, i) for O in outputs for i in range(d.d_h)]
    marks = tuple(f"O_{h}" if i == 0 else "" for h in heads for i in range(d.d_h))
    return s.add(_group_name(heads) + "_O", (len(rows), d.tokens), role=COMPUTED, label="", side_label=marks,
                 formula=lambda i, j: rows[i][0].cell(rows[i][1], j),
                 expect=lambda v: np.vstack([np.asarray(v[f"O_{h}"]) for h in heads]))


@op
def _head_output(s, d, heads, O):
    """P = [Wo_h | …]·[O_h; …]: copies of the run's columns of Wo left of P, under the copies of O_h."""
    Wo = s.blocks["Wo"]

    def part(h):
        cols = slice((h - 1) * d.d_h, h * d.d_h)
        columns = s.add(f"Wo_{h}", (d.d, d.d_h), role=COMPUTED, label=f"Wo_{h}",
                        formula=lambda i, j: Wo.cell(i, cols.start + j),
                        expect=lambda v: np.asarray(v["Wo"])[:, cols])
        return ops.Part(d.d_h, lambda spot: s.place(columns, at=spot))

    cols = slice((heads[0] - 1) * d.d_h, heads[-1] * d.d_h)
    name = _group_name(heads)
    if len(heads) == 1:
        label = f"{name} = Wo_{heads[0]}·O_{heads[0]}"
    else:
        label = f"{name} = [{' | '.join(f'Wo_{h}' for h in heads)}]·[{'; '.join(f'O_{h}' for h in heads)}]"
    return ops.matmul_parts(s, name, [part(h) for h in heads], O, label=label,
                            expect=lambda v: np.asarray(v["Wo"])[:, cols] @ np.vstack(
                                [np.asarray(v[f"O_{h}"]) for h in heads]))


ROWS_TOGETHER = 40  # rows of a copy and the products under it that print together on a page


def _batches(d, n, copy_rows, unit_rows):
    """1…n (the experts) in runs that fit under one copy of their input: each copy (``copy_rows`` tall,
    label and gap included) and the units (``unit_rows`` each) under it within ROWS_TOGETHER rows."""
    size = max(1, (ROWS_TOGETHER - copy_rows) // unit_rows)
    return [list(range(k, min(k + size, n + 1))) for k in range(1, n + 1, size)]


def _rotated(s, name, M, cos, sin, label):
    """Rot(M): rows 2m and 2m+1 of column t turned by t·θ (an odd last row stays as it is)."""
    rows = M.rows

    def cell(i, j):
        if i % 2 == 0 and i + 1 < rows:
            return f"{M.cell(i, j)}*{cos.cell(0, j)}-{M.cell(i + 1, j)}*{sin.cell(0, j)}"
        if i % 2 == 1:
            return f"{M.cell(i - 1, j)}*{sin.cell(0, j)}+{M.cell(i, j)}*{cos.cell(0, j)}"
        return M.cell(i, j)

    return s.add(name, M.shape, role=COMPUTED, label=label, formula=cell)


def _mixture(s, d, Attn, gate, shared, normalize_gates, panels=False):
    """The router, the choice of experts, the experts and the weighted sum, one column per token, in
    Attn's columns (a narrow page). The experts work on copies of Attn, one for every page of them,
    so that each product prints on the page of its input. With ``panels`` (a page holds one expert),
    the router and the experts, which both read Attn and meet only in Out, are worked side by side:
    logits under Attn over the first expert, then one band of the router (gate; rank and chosen; g)
    at the top of each following expert's page, over its copy of Attn. With ``shared``, the shared
    expert is the first expert worked (on its own page, under the router, without ``panels``)."""
    E, k = d.experts, d.top_k
    batches = _batches(d, E, d.d + 3, (d.hidden + 3) + (d.d + 2))
    panels = panels and len(batches) > 3  # a band of the router for each of three pages after the first
    gate_text = "softmax" if gate == "softmax" else "σ(logits)"
    with s.step(f"Router: logits = Wr·Attn, gate = {gate_text}; chosen = [rank ≤ {k}]; g = chosen ⊙ gate"
                + (" / Σ" if normalize_gates else "")):
        if panels:
            ops.ones_row(s, Attn)  # the first expert's [Attn; 1s], over the router's logits
        logits = ops.matmul(s, "logits", "Wr", Attn, label="logits = Wr·Attn")
        s.place(logits, below=Attn)
        with s.group() as softmax_band:
            if gate == "softmax":
                G = ops.softmax(s, "gate", logits, direction="right" if panels else DOWN,
                                label="gate = softmax(logits)")
            else:
                G = ops.sigmoid(s, "gate", logits, label="gate = σ(logits)")
        if not panels:
            # (stable: an empty row under logits' max row, where the pages may break)
            s.place(G, below=logits, gap=(2 if s.settings.get("stable") else 1) if gate == "softmax" else None)
        rank = s.add("rank", (E, d.tokens), role=COMPUTED, label="rank = 1 + #larger",
                     formula=lambda i, j: f"1+SUMPRODUCT(({logits.col_range(j)}>{logits.cell(i, j)})*1)")
        chosen = s.add("chosen", (E, d.tokens), role=COMPUTED, label="chosen = [rank ≤ top_k]",
                       formula=lambda i, j: f"IF({rank.cell(i, j)}<={ops.absolute(top_k)},1,0)")
        # with normalize_gates, three bands: rank left of e^logits, chosen left of the gate, gsel under
        # chosen and g = gsel / Σ right of it, under the gate (else rank left of the gate, chosen left of g)
        packed = not panels and normalize_gates and "gate_exp" in s.blocks
        if not panels:
            s.next_to(rank, s.blocks["gate_exp"] if packed else G, LEFT)
        with s.group() as weights_band:
            picked = ops.elementwise(s, "gsel" if normalize_gates else "g", fx.mul, [chosen, G],
                                     role="computed" if normalize_gates else "output",
                                     label="gsel = chosen ⊙ gate" if normalize_gates else "g = chosen ⊙ gate")
            if packed:
                s.next_to(chosen, G, LEFT)
                s.place(picked, below=chosen)
            elif not panels:
                s.place(picked, below=G)
                s.next_to(chosen, picked, LEFT)
            if normalize_gates:
                sums = ops.col_sums(s, "gsel_sum", picked,
                                    expect=lambda v: np.asarray(v["gsel"]).sum(axis=0, keepdims=True))
                g = ops.elementwise(s, "g", fx.div, [picked, sums], role=OUTPUT,
                                    label="g = gsel / Σ gsel")
                if packed:
                    s.place(g, right_of=picked)
                elif not panels:
                    s.place(g, below=picked, gap=2)
            else:
                g = picked
        top_k = s.add("top_k", (1, 1), role=GIVEN, label="top_k", values=np.array([[k]]), named=False)
        if panels:
            choice_band = s.arrange([top_k, rank, chosen], RIGHT)
        else:
            s.next_to(top_k, chosen, LEFT)
    # the router's bands, each with the block that stands in Attn's columns (the copy of Attn goes under it)
    bands = [(softmax_band, G), (choice_band, chosen), (weights_band, g)] if panels else []
    above = logits if panels else g
    # the units of experts in the order worked: the shared expert (always on) first, then the routed
    # ones; each run of them (one a page with the panels, the shared one alone) under its own Attn
    if panels:
        units = [[e] for e in (["s"] if shared else []) + list(range(1, E + 1))]
    else:
        units = ([["s"]] if shared else []) + batches
    firsts = {run[0] for run in units}
    outputs = {}

    def unit(e):
        """He_e and E_e (Hs and Es for the shared expert, e = "s") under Attn or a copy of it."""
        nonlocal above
        first = e == units[0][0]
        if panels and first:  # Attn itself, with the router's logits under it
            source = Attn
            above = logits
        elif e in firsts:  # Attn again, in view over the experts that follow
            gap = 1  # an empty row over the page's first block, where the pages may break
            if bands:  # the next band of the router first, over the copy
                band, right = bands.pop(0)
                s.next_to(band, above, DOWN, gap=gap, align="end")
                if "gate_max" in s.blocks:  # (stable: logits' max row stays under logits)
                    s.place(s.blocks["gate_max"], adjoining=logits)
                above, gap = right, 0
            source = s.place(ops.copy(s, f"Attn_{e}" if e == "s" else f"Attn_e{e}", Attn, label="Attn"),
                             below=above, gap=gap)
            above = ops.ones_row(s, source)
        else:  # the run's copy, over the unit before
            source = outputs["source"]
        outputs["source"] = source
        if e == "s":
            He = ops.linear_act(s, "Hs", fx.relu, "W1s", source, "b1s", label="Hs = ReLU(·)")
        else:
            He = ops.linear_act(s, f"He_{e}", fx.relu, ops.given_part(s, "W1", e, d.d), source,
                                ops.given_part(s, "b1", e, 1), label=f"He_{e} = ReLU(·)")
        s.place(He, below=above, gap=0 if e in firsts else 1)
        if e == "s":
            Ee = ops.linear_act(s, "Es", fx.relu, "W2s", He, "b2s", label="Es = ReLU(·)")
        else:
            Ee = ops.linear_act(s, f"E_{e}", fx.relu, ops.given_part(s, "W2", e, d.hidden), He,
                                ops.given_part(s, "b2", e, 1), label=f"E_{e} = ReLU(·)")
        s.place(Ee, below=ops.ones_row(s, He), gap=0)
        outputs[e] = above = Ee

    if shared:
        with s.step("Shared expert, always on: Hs = ReLU(W1s·Attn + b1s), Es = ReLU(W2s·Hs + b2s)"):
            unit("s")
    with s.step(f"Experts e = 1…{E}: He_e = ReLU(W1_e·Attn + b1_e), E_e = ReLU(W2_e·He_e + b2_e)"):
        for e in range(1, E + 1):
            unit(e)
        for band, right in bands:  # (more bands than pages of experts: after them)
            s.next_to(band, above, DOWN, gap=1, align="end")
            above = right
    experts = [outputs[e] for e in range(1, E + 1)] + ([outputs["s"]] if shared else [])
    with s.step("Out = Σ_e g_e·E_e" + (" + Es" if shared else "") + ": each token mixes its chosen experts"):
        def cell(i, j):
            terms = fx.dot([g.cell(e, j) for e in range(E)], [x.cell(i, j) for x in experts[:E]])
            return terms + (f"+{experts[E].cell(i, j)}" if shared else "")

        Out = s.add("Out", (d.d, d.tokens), role=OUTPUT,
                    label="Out = Σ g_e·E_e" + (" + Es" if shared else ""), formula=cell)
        s.place(Out, below=above, gap=1)
        if not shared:
            with s.group() as unused:
                W1s = s.given("W1s")
                s.place(W1s, below=EVERYTHING)
                s.place(s.given("b1s"), right_of=W1s)
                W2s = s.given("W2s")
                s.place(W2s, below=W1s)
                s.place(s.given("b2s"), right_of=W2s)
                s.note_below(W2s, "the shared expert's weights: not used (shared: false)")
            s.set_aside(unused)  # on screen only, off paper


# --- numbers -----------------------------------------------------------------------------------
def checks(d, p) -> str | None:
    """top_k at most the number of experts, d_r even (rotation turns pairs of rows), and no tie
    for the last chosen place (the rank formula would choose both), with causal masking on or off."""
    problem = _dims_problem(d)
    if problem:
        return problem
    if d.top_k == d.experts:
        return None
    for causal in (True, False):
        logits = attention_and_logits(d, p, causal)["logits"]
        for t in range(d.tokens):
            ordered = np.sort(logits[:, t])[::-1]
            if np.isclose(ordered[d.top_k - 1], ordered[d.top_k], rtol=1e-9, atol=1e-9):
                tied = [e + 1 for e in range(d.experts)
                        if np.isclose(logits[e, t], ordered[d.top_k], rtol=1e-9, atol=1e-9)]
                return (f"token {t + 1}: experts {', '.join(map(str, tied))} tie for place {d.top_k} of the router "
                        f"(logit {ordered[d.top_k]:g}, causal {'on' if causal else 'off'}): change Wr")
    return None


def _dims_problem(d) -> str | None:
    if d.top_k > d.experts:
        return f"top_k = {d.top_k} is more than experts = {d.experts}: the router cannot choose that many"
    if d.d_r % 2:
        return f"d_r = {d.d_r} is odd: the rotary part turns pairs of rows, so d_r must be even"
    return None


def instructive(d, p, causal=True, gate="softmax", shared=False, normalize_gates=False) -> bool:
    """Attention that mixes tokens (no head one-hot where there is a choice), a router whose top_k
    choice is clear (the last chosen logit at least 0.02 above the next), gates
    that are not saturated, experts that answer, and an output that is not all 0. (Sizes that no
    numbers can fix are left to ``checks``, which names them.)"""
    if _dims_problem(d):
        return True
    if checks(d, p):
        return False
    ref = reference(d, p, causal, gate, shared, normalize_gates)
    for h in range(1, d.heads + 1):
        A = ref[f"A_{h}"]
        free = A[:, 1:] if causal else A
        if d.tokens > 1 and free.size and free.max() > 0.95:
            return False
    if np.abs(ref["logits"]).max() > 4:
        return False
    if d.top_k < d.experts:
        ordered = np.sort(ref["logits"], axis=0)[::-1]
        if (ordered[d.top_k - 1] - ordered[d.top_k]).min() < 0.02:
            return False
    if not all(ref[f"E_{e}"].any() for e in range(1, d.experts + 1)):
        return False
    return bool(np.abs(ref["Out"]).max() > 0.05)


def _router(rng, size, dims):
    """Halves in −1…1 without 0, each row's absolute sum at most 2.5, no two experts' rows alike (an
    expert whose row is another's would tie with it for every token)."""
    grid = np.array([-1, -0.5, 0.5, 1])
    rows = []
    for _ in range(size[0]):
        for _ in range(50):
            row = bounded_rows(rng, rng.choice(grid, size=(1, size[1])), 2.5)[0]
            if not any(np.array_equal(row, other) for other in rows):
                break
        rows.append(row)
    return np.array(rows)


def _theta(rng, size, dims):
    """θ = 0.5 (about 29° a position)."""
    return 0.5


EXERCISE = Exercise(
    name="deepseek",
    title="DeepSeek: multi-head latent attention and a mixture of experts",
    source=Source(
        paper="DeepSeek-AI (2024), DeepSeek-V2 (multi-head latent attention, DeepSeekMoE), arXiv:2405.04434; "
              "DeepSeek-V3 technical report, arXiv:2412.19437",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): DeepSeek (lecture sheet)"),
    dims={"tokens": "tokens (columns)", "d": "model dimension", "d_cq": "query latent size",
          "d_c": "key-value latent size (cached)", "d_h": "head size", "d_r": "rotary size (even)",
          "heads": "attention heads", "experts": "routed experts", "top_k": "experts chosen per token",
          "hidden": "hidden units of an expert"},
    presets={
        "small": dict(tokens=4, d=5, d_cq=3, d_c=2, d_h=2, d_r=2, heads=2, experts=4, top_k=2, hidden=3),
        "medium": dict(tokens=6, d=5, d_cq=3, d_c=2, d_h=4, d_r=2, heads=3, experts=6, top_k=3, hidden=7),
        "large": dict(tokens=6, d=8, d_cq=4, d_c=3, d_h=4, d_r=2, heads=4, experts=8, top_k=3, hidden=8),
    },
    # Fresh numbers: halves with bounded rows, so scores, logits and expert activations stay readable.
    givens=[
        Given("X", ("d", "tokens"), low=-1, high=1, step=0.5, nonzero=True,
              describe="token vectors, one token a column"),
        Given("Wdq", ("d_cq", "d"), role=WEIGHT, low=-1, high=1, step=0.5, nonzero=True, row_sum=1.5),
        Given("Wdkv", ("d_c", "d"), role=WEIGHT, low=-1, high=1, step=0.5, nonzero=True, row_sum=1.5),
        Given("Wuq", ("heads", "d_h", "d_cq"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5),
        Given("Wuk", ("heads", "d_h", "d_c"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5),
        Given("Wuv", ("heads", "d_h", "d_c"), role=WEIGHT, low=-1, high=1, step=0.5, nonzero=True, row_sum=2),
        Given("Wqr", ("d_r", "d_cq"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5),
        Given("Wkr", ("d_r", "d"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1.5),
        Given("theta", (), make=_theta, describe="rotary angle per position (radians)"),
        Given("Wo", ("d", heads_d_h), role=WEIGHT, low=-1, high=1, step=0.5, nonzero=True, row_sum=2),
        Given("Wr", ("experts", "d"), role=WEIGHT, make=_router, describe="router, one row per expert"),
        Given("W1", ("experts", "hidden", "d"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=2),
        Given("b1", ("experts", "hidden", 1), role=BIAS, low=-0.5, high=1, step=0.5),
        Given("W2", ("experts", "d", "hidden"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=2),
        Given("b2", ("experts", "d", 1), role=BIAS, low=-0.5, high=1, step=0.5),
        Given("W1s", ("hidden", "d"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=2,
              describe="shared expert (used with shared: true)"),
        Given("b1s", ("hidden", 1), role=BIAS, low=-0.5, high=1, step=0.5),
        Given("W2s", ("d", "hidden"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=2),
        Given("b2s", ("d", 1), role=BIAS, low=-0.5, high=1, step=0.5),
    ],
    reference=reference,
    layout=layout,
    options=[Option("causal", True, describe="mask keys after their query (a decoder)"),
             Option("gate", "softmax", ("softmax", "sigmoid"),
                    describe="softmax over the experts, or σ of each logit"),
             Option("shared", False, describe="add one shared expert, always on"),
             Option("normalize_gates", False, describe="divide the chosen gates by their sum"),
             STABLE_SOFTMAX],
    limits={"tokens": (1, 8), "d": (2, 12), "d_cq": (1, 8), "d_c": (1, 8), "d_h": (1, 8), "d_r": (2, 8),
            "heads": (1, 4), "experts": (4, 12), "top_k": (1, 8), "hidden": (1, 12)},
    checks=checks,
    accept=instructive,
)
