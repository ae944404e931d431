"""transformer-full: the encoder–decoder transformer of "Attention is all you need" (Figure 1), one
layer each, tokens as columns.

The two sides have their own sizes: the encoder has width d, a vocabulary of `vocab` words and
`heads` heads; the decoder width d_dec, its own vocabulary of `vocab_dec` words (dec_vocab_words,
the words it predicts) with its own embedding dec_Emb (d_dec×vocab_dec), `heads_dec` masked
self-attention heads and `heads_x` cross-attention heads; every head has size d_k. The paper ties
the embeddings; the default numbers do (dec_Emb = Emb, the same words), and fresh numbers do
whenever the two sides have the same sizes.
Words to vectors: OneHot[i, j] = [vocab_i = word_j]; X = Emb·OneHot (the decoder: dec_Emb over
dec_vocab_words). Positions (option pe): sinusoid PE[2k, t] = sin(t/10000^(2k/d)), PE[2k+1, t] =
cos(t/10000^(2k/d)) for positions t = 0, 1, … (the decoder's with d_dec when d_dec ≠ d: dec_PEs);
given (the block PE of the numbers, max(d, d_dec) rows: each side adds its first d or d_dec rows);
none. Xp = X + PE.
Multi-head attention (H heads of size d_k): Q_h = Wq_h·Xq, K_h = Wk_h·Xkv, V_h = Wv_h·Xkv;
S_h = K_hᵀ·Q_h/√d_k (row j = key j, column i = query i); A_h = softmax over each column; F_h = V_h·A_h.
The decoder's self-attention is causal, by an additive mask Mask[j, i] = 0 for a key j ≤ i and, for a
key after its query, option mask: inf, −∞ (e^−∞ = 0: the sheet writes the mask's −∞ as text and each
e^ cell as IF(Mask = "−∞", 0, e^S); with stable, e^(S − max) over the allowed keys), or mask: value, the given
mask_value (e.g. −99: Sm_h = S_h + Mask, then the plain softmax; e^−99 is tiny but not 0);
Attn = Wo·[F_1; …; F_H]. Add & norm: N = γ ⊙ (R − mean)/σ + β with R = x + sublayer(x), the mean
and variance over the d features of each token (option ln_var: population /d or sample /(d − 1);
option ln_eps_on: var, σ = √(var + ε), or std, σ = √var + ε; ε = ln_eps). Feed-forward:
Zf = W1·N + b1, Hf = ReLU(Zf), O = W2·Hf + b2.
Encoder: Xp → self-attention → add & norm (N1) → FFN → add & norm (N2, the memory).
Decoder: Xp → causal self-attention → add & norm (N1) → cross-attention (queries from N1, keys
and values from the memory: Wq_h is d_k×d_dec, Wk_h and Wv_h d_k×d, S is n_src × n_tgt, Wo is
d_dec×heads_x·d_k) → add & norm (N2) → FFN → add & norm (N3) →
logits = Wout·N3 → P = softmax over the vocabulary → the predicted word at each position, and
the next word: the vocabulary word with the largest probability at the last position.
"""
from __future__ import annotations

import itertools

import numpy as np

from xlhand.layout import BIAS, COMPUTED, DOWN, EVERYTHING, GIVEN, LEFT, OUTPUT, RIGHT, UP, WEIGHT, Scope, op, ops
from xlhand.layout.paper import PAPERS, narrowest_page_columns, page_columns
from xlhand.model.exercise import Exercise, Option, Source, STABLE_SOFTMAX
from xlhand.model.npref import relu, softmax_columns
from xlhand.model.givens import Given, check_vocabulary, word_problem
from xlhand.model.makers import bounded_rows

WORDS = ("<s> </s> I love you ich liebe dich the cat sees a dog die Katze sieht einen Hund big small "
         "red gross klein rot").split()
OPTIONS = {"pe": ("sinusoid", "given", "none"), "ln_eps_on": ("var", "std"), "ln_var": ("population", "sample"),
           "mask": ("inf", "value")}


def n_pos(dims):
    """Positions the encoding covers: max(n_src, n_tgt)."""
    return max(dims["n_src"], dims["n_tgt"])


def heads_d_k(dims):
    """heads·d_k: the width of Wo, all heads' outputs stacked."""
    return dims["heads"] * dims["d_k"]


def heads_dec_d_k(dims):
    """heads_dec·d_k: the width of the decoder's self-attention Wo."""
    return dims["heads_dec"] * dims["d_k"]


def heads_x_d_k(dims):
    """heads_x·d_k: the width of the cross-attention Wo."""
    return dims["heads_x"] * dims["d_k"]


def pe_rows(dims):
    """Rows of a given PE: max(d, d_dec), each side adding its first d or d_dec rows."""
    return max(dims["d"], dims["d_dec"])


def future(n: int) -> np.ndarray:
    """[j, i]: key j comes after query i (the decoder may not look there)."""
    return np.arange(n)[:, None] > np.arange(n)[None, :]


# --- the reference -------------------------------------------------------------------------------
def sinusoid(d, n):
    i = np.arange(d)[:, None]
    t = np.arange(n)[None, :]
    angle = t / 10000 ** ((i - i % 2) / d)
    return np.where(i % 2 == 0, np.sin(angle), np.cos(angle))


def layer_norm(R, gamma, beta, eps, ln_eps_on, ln_var):
    mean = R.mean(axis=0, keepdims=True)
    centred = R - mean
    var = (centred ** 2).sum(axis=0, keepdims=True) / (R.shape[0] - (1 if ln_var == "sample" else 0))
    sigma = np.sqrt(var + eps) if ln_eps_on == "var" else np.sqrt(var) + eps
    return gamma * centred / sigma + beta


def one_hot(vocab, words):
    return np.array([[1.0 if v == w else 0.0 for w in words] for v in vocab])


def multi_head(p, pre, Xq, Xkv, d_k, mask, out, tag=""):
    """``mask``: None, or the additive mask (0 or −inf or mask_value) over S's (key, query) cells."""
    heads = []
    for h in range(1, len(p[f"{pre}Wq"]) + 1):
        Q, K, V = p[f"{pre}Wq"][h - 1] @ Xq, p[f"{pre}Wk"][h - 1] @ Xkv, p[f"{pre}Wv"][h - 1] @ Xkv
        S = K.T @ Q / np.sqrt(d_k)
        if mask is None:
            A = softmax_columns(S)
        elif np.isinf(mask).any():
            A = softmax_columns(S + mask)  # e^(−∞ − max) = 0: the masked weights are exactly 0
        else:
            out[f"{tag}Sm_{h}"] = S + mask
            A = softmax_columns(S + mask)
        F = V @ A
        out.update({f"{tag}Q_{h}": Q, f"{tag}K_{h}": K, f"{tag}V_{h}": V, f"{tag}S_{h}": S, f"{tag}A_{h}": A,
                    f"{tag}F_{h}": F})
        heads.append(F)
    out[f"{tag}Fcat"] = np.vstack(heads)
    out[f"{tag}Attn"] = p[f"{pre}Wo"] @ out[f"{tag}Fcat"]
    return out[f"{tag}Attn"]


def reference(d, p, pe="sinusoid", ln_eps_on="var", ln_var="population", mask="inf"):
    vocab = list(p.dec_vocab_words)
    norm = lambda R, g, b: layer_norm(R, g, b, p.ln_eps, ln_eps_on, ln_var)  # noqa: E731
    out = {}
    if pe == "sinusoid":
        out["PEs"] = sinusoid(d.d, n_pos(d))
        if d.d_dec != d.d:
            out["dec_PEs"] = sinusoid(d.d_dec, d.n_tgt)
    memory = None
    n = d.n_tgt
    causal = np.where(future(n), -np.inf if mask == "inf" else p.mask_value, 0.0)
    for side, words, words_of, Emb, width in (("enc", p.src, p.vocab_words, p.Emb, d.d),
                                               ("dec", p.tgt, p.dec_vocab_words, p.dec_Emb, d.d_dec)):
        o = {}
        o["OneHot"] = one_hot(list(words_of), words)
        o["X"] = Emb @ o["OneHot"]
        x = o["X"]
        positions = {"sinusoid": out.get(f"{side}_PEs", out.get("PEs")), "given": p.PE, "none": None}[pe]
        if positions is not None:
            x = o["Xp"] = x + positions[:width, :len(words)]
        if side == "dec" and mask == "value":
            o["Mask"] = causal
        a = multi_head(p, f"{side}_", x, x, d.d_k, causal if side == "dec" else None, o)
        o["R1"] = x + a
        x = o["N1"] = norm(o["R1"], p[f"{side}_gamma1"], p[f"{side}_beta1"])
        last = 2
        if side == "dec":
            o["M"] = memory
            a = multi_head(p, "dec_c", x, memory, d.d_k, None, o, tag="c")
            o["R2"] = x + a
            x = o["N2"] = norm(o["R2"], p.dec_gamma2, p.dec_beta2)
            last = 3
        o["Zf"] = p[f"{side}_W1"] @ x + p[f"{side}_b1"]
        o["Hf"] = relu(o["Zf"])
        o["O"] = p[f"{side}_W2"] @ o["Hf"] + p[f"{side}_b2"]
        o[f"R{last}"] = x + o["O"]
        x = o[f"N{last}"] = norm(o[f"R{last}"], p[f"{side}_gamma{last}"], p[f"{side}_beta{last}"])
        out.update({f"{side}_{k}": v for k, v in o.items()})
        memory = x
    out["logits"] = p.Wout @ memory
    out["P"] = softmax_columns(out["logits"])
    best = out["P"].argmax(axis=0)
    out["pred"] = [[vocab[k] for k in best]]
    out["next_word"] = vocab[best[-1]]
    return out


# --- layout --------------------------------------------------------------------------------------
# The page is the unit: every stage a band as wide as a landscape page (the narrower of A4 and
# Letter), started under the one before, all bands on one frame: the embeddings' left edge. Both
# sides' words come first, side by side (their one-hot columns under them, the embeddings one under
# the other). The lane of token columns (the positions, Xp, each head's Q, K, V) stands a weight's
# width in from the frame (touching its weights where a self-attention is a page-tall tower: every
# head's scores, softmax and F = V·A right of the projections; else, where each head's scores fit
# right of the lane, the first head down that column beside the projections (S_1, its softmax down,
# F_1 = V_1·A_1 level with V_1) and the other heads' softmax and F = V·A in a row under them; else
# the scores in a row under the projections). A layer norm is R | R − mean | x̂ across the frame, N
# under x̂ (the encoder's output in the lane, beside the decoder's tower); where the lane clears N's
# γ | β, the next stage starts level with N (the decoder's Xp beside the memory, the memory's copy
# beside the decoder's N1): the feed-forward and the output go on in N's columns (the encoder's
# feed-forward under a copy of N1, on its own page).
PAGE = narrowest_page_columns(landscape=True)
WIDEST = max(page_columns(paper, landscape=True) for paper in PAPERS)  # a block from here is on the next page


def layout(s, d, p, pe="sinusoid", ln_eps_on="var", ln_var="population", mask="inf"):
    norm_opts = dict(sample=ln_var == "sample", eps_on=ln_eps_on)
    with s.step(_givens_step(pe, mask)):
        top, PE, Mask = _constants(s, d, pe, mask)
    with s.step("Inputs: OneHot of the src and tgt words; X = Emb·OneHot, dec_X = dec_Emb·OneHot"
                + ("" if PE is None else "; Xp = X + PE")):
        inputs = _inputs(s, d, PE, pe, top)
        aside = _unused(s, pe, mask)
    memory = None
    for side, words in (("enc", "src"), ("dec", "tgt")):
        name = _side_name(side)
        X = inputs[side]
        if side == "dec":  # the decoder's input where the decoder starts: its projections read it
            if PE is None or s.blocks.get("dec_PEs") is not None:  # it stands in the inputs' band: a copy
                X = ops.carry(s, f"{X.name}_in", X, label=f"{X.name} (from [2])")
            if _beside_norm(d, "enc") and not _tower(d):  # level with the memory N2,
                # left of its γ | β: the decoder starts beside the encoder's end
                s.place(X, at=ops.level(memory, inputs["enc"]))
            else:  # its label parts them
                s.place(X, under=memory, in_columns_of=inputs["enc"], gap=0 if _tower(d) else 1)
        xname = "X" if PE is None else "Xp"
        with s.step(_attention_step(d, side, xname, 1, causal=side == "dec")):
            start = X if side == "dec" else s.together(  # under both sides' inputs
                [X, inputs["dec"]] + ([] if PE is not None else [s.blocks["dec_Emb"]]))
            a = _multi_head(s, d, side, X, X, causal=side == "dec", mask=mask, Mask=Mask, start=start,
                            tower=_tower(d), level=s.together([X, memory]) if memory else X)
            tower = _tower(d)
            x = _add_and_norm(s, side, 1, X, a, norm_opts, in_lane=X if tower and side == "dec" else None)
        last = 2
        if side == "dec":
            with s.step(_attention_step(d, side, "N1", 2, cross=True)):
                a = _multi_head(s, d, side, x, memory, cross=True, causal=False, mask=mask, tower=tower, level=x)
                # where the attentions are towers, a row under cAttn: a page may break there, so that
                # R2, N2 and the feed-forward's Zf = W1·N2 share a page
                x = _add_and_norm(s, side, 2, x, a, norm_opts, gap=1 if tower else 0)
            last = 3
        with s.step(f"{name} feed-forward: Zf = W1·N{last - 1} + b1, Hf = ReLU(Zf), O = W2·Hf + b2; "
                    f"N{last} = norm(N{last - 1} + O)"):
            width = x.rows + 1 + 1 + 2 * x.cols + 1  # [W1 | b1], Zf, Hf
            # where the lane stands a weight's width in (a tower, or the first head down the column
            # right of it), the encoder's N1 stands at the foot of the attention's last page: a copy of
            # it over Zf, on the feed-forward's page (the decoder's feed-forward page has no rows to
            # spare for one)
            carried = width <= PAGE and _tight(d) and side == "enc"
            if not carried:
                ops.ones_row(s, x)  # under N, where it stays
            with s.group() as first:
                into = x
                if carried:  # a copy of N over Zf, the feed-forward's page
                    into = ops.carry(s, f"{x.name}_in", x, label=f"{x.name} (from [{len(s.steps) - 1}])")
                    ops.ones_row(s, into)
                Zf = ops.matmul_parts(s, f"{side}_Zf", [_labelled(s, f"{side}_W1", "W1")], into,
                                      _labelled(s, f"{side}_b1", "b1"), label=f"{side}_Zf = W1·N{last - 1}+b1")
            Hf = ops.relu(s, f"{side}_Hf", Zf, label="Hf = ReLU(Zf)")
            if width <= PAGE:  # Zf from the frame's left edge, Hf right of it: O under Hf
                s.next_to(first, s.together([x, s.blocks.get(f"{x.name}_ones", x), s.blocks["enc_Wq_1"]]), DOWN)
                s.place(Hf, right_of=Zf)
            else:
                s.place(Hf, below=Zf)
            s.arrow(Zf, Hf)
            O = ops.matmul_parts(s, f"{side}_O", [_labelled(s, f"{side}_W2", "W2")], Hf,
                                 _labelled(s, f"{side}_b2", "b2"), label=f"{side}_O = W2·Hf + b2")
            s.place(O, below=s.blocks[f"{Hf.name}_ones"], gap=TIGHT)
            beside = _tower(d) and side == "enc"  # the memory, beside the decoder's tower
            # the decoder's last add & norm a row under O where the output goes across under N3 (Wout |
            # logits, e^, P): a page may break there, so that R3, N3 and logits = Wout·N3 share a page
            apart = side == "dec" and d.d_dec + 3 * d.n_tgt + 2 <= PAGE
            x = _add_and_norm(s, side, last, x, O, norm_opts, in_lane=inputs["enc"] if beside else None,
                              gap=1 if apart else 0)
        memory = x
    vocab = s.blocks["dec_vocab_words"]
    with s.step("Output: logits = Wout·N3, P = softmax; pred = word of largest P; the last is next"):
        n = d.n_tgt
        across = d.d_dec + 3 * n + 2 <= PAGE  # Wout | logits, e^, P in one row band
        with s.group() as band:
            logits = ops.matmul(s, "logits", "Wout", memory, label="logits = Wout·N3",
                                weights_gap=0 if across or _tight(d) else 1)  # touching, as in the lane above
            P = ops.softmax(s, "P", logits, role=OUTPUT, label="P = softmax(logits)",
                            direction="right" if across else "down")
        lane = _lane(s, "dec", None)
        beside = not across and lane is not None and d.d_dec + 1 + 2 * n + 1 <= PAGE
        if across:  # from the frame's left edge, under N3 and its γ, β
            s.next_to(band, s.together([memory, s.blocks["enc_Wq_1"]]), DOWN)
        elif beside:
            # logits in the lane (Wout left of it), e^ right of them, Σ and P under e^
            s.place(logits, under=memory, in_columns_of=lane)
            s.place(P, right_of=logits)
            s.arrow(logits, s.blocks["P_exp"])
        else:
            s.place(logits, below=memory)
        if across:  # the row of each column's largest P right under P
            best = ops.argmax_columns(s, "best", P)
        else:
            best = ops.argmax_columns(s, "best", P, label="row of the largest P")
        if beside:  # in the lane under the logits, left of P (level with it)
            s.place(best, at=ops.level(P, lane))
        elif not across:
            s.place(best, below=P, gap=2)
        pred = s.add("pred", (1, d.n_tgt), role=OUTPUT, label="pred = vocab[row]",
                     formula=lambda i, j: f"INDEX({vocab.range()},1,{best.cell(0, j)})")
        s.place(pred, below=best)
        last = d.n_tgt - 1
        s.place(s.add("next_word", (1, 1), role=OUTPUT, label="next word",
              formula=lambda i, j: f"INDEX({vocab.range()},1,MATCH(MAX({P.col_range(last)}),{P.col_range(last)},0))"),
                left_of=pred)
    if aside is not None:  # under everything, where it stands until the sheet sets it aside
        s.next_to(aside, s.together([b for b in s.blocks.values() if not any(b is a for a in aside.blocks)]), DOWN)


def _attention_step(d, side, x, k, *, causal=False, cross=False):
    """One numbered step: a multi-head attention and the add & norm after it."""
    what = "cross-attention" if cross else ("masked attention" if causal else "self-attention")
    projected = f"Q = Wq·{x}, K, V = W·M" if cross else f"Q, K, V = W·{x}"
    return (f"{_side_name(side)} {what}: {projected}; A = softmax(Kᵀ·Q/√{d.d_k:g}{' + Mask' if causal else ''}); "
            f"F = V·A; Attn = Wo·[F_h]; N{k} = norm({x} + Attn)")


def _givens_step(pe, mask):
    """Step 1: what every later step reads (the positions, ε, the decoder's mask)."""
    positions = {"sinusoid": "PE = sin | cos(t·freq), freq = 1/10000^(2k/d)", "given": "PE as given",
                 "none": "no PE"}[pe]
    return f"Givens: {positions}; ε; Mask: {'−∞' if mask == 'inf' else 'mask value'} after the query"


def _constants(s, d, pe, mask):
    """The positions, ε and the decoder's causal mask at the top: ε (and the mask value) and the
    frequencies left of the positional encoding (in the lane's columns), the mask right of it.
    Returns (the group, PE or None, the mask)."""
    with s.group() as top:
        PE = _positions(s, d, pe)
        eps = s.given("ln_eps", label="ε")
        if PE is not None:  # touching where the attention is a tower: the lane starts a weight's width in
            s.place(eps, left_of=s.blocks.get("freq", PE), gap=0 if _tight(d) else 1)
        value = None
        if mask == "value":
            value = s.place(s.given("mask_value", label="mask"), below=eps)
        Mask = _causal_mask(s, "dec_Mask", d.n_tgt, value, mask)
        if PE is not None:
            s.next_to(Mask, PE, RIGHT)
        else:  # in the lane's columns, a weight's width in from ε (the frame's left edge): the lane's
            # first block, over the copy of X that stands where Xp would
            s.place(Mask, right_of=eps, gap=_lane_in(d) - 1)
    return top, PE, Mask


def _inputs(s, d, PE, pe, top):
    """Both sides' words at once, right of the positions: the source and the target words side by
    side (their one-hot columns under them), X = Emb·OneHot under the source's one-hot columns and
    dec_X = dec_Emb·OneHot under the target's (each embedding from the frame's left edge, its words
    over its columns), then Xp = X + PE in the lane and the decoder's Xp under dec_X. Returns
    {side: Xp (X without positions)}."""
    own_pe = pe == "sinusoid" and d.d_dec != d.d
    x_at = _x_at(d)
    lane_right = max(d.d, d.d_dec) + (0 if _tight(d) else 1) + d.n_src  # the frame's columns up to the lane's last
    gap = 1 if x_at + d.n_src + 1 + d.n_tgt <= PAGE or x_at >= WIDEST else 0
    src = s.given("src", label="src (source)")
    tgt = s.given("tgt", label="tgt (target)")
    if PE is not None:
        s.place(src, right_of=PE, gap=max(1, x_at - lane_right))
    else:  # X at the frame's column x_at, counted from ε
        s.place(src, right_of=s.blocks["ln_eps"], gap=x_at - 1)
    s.place(src, under=top, in_columns_of=src)
    s.place(tgt, right_of=src, gap=gap)
    X, onehots = {}, {}
    for side, words in (("enc", src), ("dec", tgt)):
        pre = "" if side == "enc" else "dec_"
        onehots[side] = ops.one_hot_columns(s, f"{side}_OneHot", s.given(f"{pre}vocab_words", label=f"{pre}vocab"),
                                            words, label=f"{side}_OneHot")
        s.place(onehots[side], below=words, gap=0)  # its label parts them: the words stay with it
    for side in ("enc", "dec"):
        emb = "Emb" if side == "enc" else "dec_Emb"
        vocab = s.blocks[f"{'' if side == 'enc' else 'dec_'}vocab_words"]
        X[side] = ops.matmul(s, f"{side}_X", emb, onehots[side],  # the embeddings one under the other
                             label=f"X = {emb}·1hot",
                             weights_gap=1 if side == "enc" else d.n_src + gap + 1)
        # under the one-hot columns and what stands before (the positions, the source's X and its
        # embedding), leaving a row for the words over the embedding
        before = [onehots["enc"], onehots["dec"], top] + ([X["enc"], s.blocks["Emb"]] if side == "dec" else [])
        s.place(X[side], below=s.together(before), in_columns_of=onehots[side], gap=2)
        s.next_to(vocab, s.blocks[emb], UP, gap=0)  # the words head the embedding's columns
    if pe == "none":  # a copy of X where Xp would stand, in the lane's columns (the mask's over it)
        Xin = ops.carry(s, "enc_X_in", X["enc"], label="enc_X (copy)")
        s.place(Xin, under=s.together([X["enc"], X["dec"], s.blocks["Emb"], s.blocks["dec_Emb"]]),
                in_columns_of=s.blocks["dec_Mask"])
        return {"enc": Xin, "dec": X["dec"]}
    lane = PE
    out = {}
    Xp = s.add("enc_Xp", X["enc"].shape, role=COMPUTED, label="enc_Xp = X + PE",
               formula=lambda i, j, X=X["enc"], P=PE: f"{X.cell(i, j)}+{P.cell(i, j)}")
    out["enc"] = s.place(Xp, under=s.together([X["enc"], X["dec"], s.blocks["Emb"], s.blocks["dec_Emb"]]),
                         in_columns_of=lane)
    pe_block = PE
    if own_pe:
        with s.group() as own:  # its frequencies left of it, the positions read from the top
            pe_block = _sinusoid(s, "dec_PEs", d.d_dec, d.n_tgt, s.blocks["pos"], label="dec_PEs (d_dec rows)")
        s.next_to(own, s.together([X["dec"], out["enc"]]), DOWN, align="end")  # clear of Xp's label
    dec = s.add("dec_Xp", X["dec"].shape, role=COMPUTED, label="dec_Xp = X + PE",
                formula=lambda i, j, X=X["dec"], P=pe_block: f"{X.cell(i, j)}+{P.cell(i, j)}")
    if own_pe:
        s.place(dec, below=s.blocks["dec_PEs"])
    # else the decoder's Xp stands where the decoder starts (the caller places it): X + PE reads
    # across pages as well, its projections need it at hand
    out["dec"] = dec
    return out


def _lane(s, side, default):
    """The lane of token columns of a side's layers: its input (the decoder's, as brought down)."""
    for name in ((f"{side}_Xp", f"{side}_X_in", f"{side}_X") if side == "enc" else ("dec_Xp_in", "dec_X_in", "dec_Xp")):
        if name in s.blocks:
            return s.blocks[name]
    return default


def _lane_in(d):
    """How far in from the frame's left edge the lane stands: the widest weight's width (and a gap
    column unless the weights touch it)."""
    return max(d.d, d.d_dec) + (0 if _tight(d) else 1)


def _x_at(d):
    """The frame column of X (right of the embedding): on the page when both fit, else from the
    next page's first column (on every paper), right of the widest band."""
    norm_band = 3 * max(d.n_src, d.n_tgt) + 3  # mean's side label, R | R − mean | x̂: the widest band
    widest = max(d.vocab, d.vocab_dec) + 1
    return widest if widest + d.n_src + d.n_tgt <= PAGE else max(WIDEST, widest, norm_band + 1)


def _unused(s, pe, mask):
    """The givens an option leaves unused (the workbook keeps every given: ``xlhand check`` and
    grading read them), set aside with a note: on screen right of the drawing, not printed."""
    unused = ([] if pe == "given" else [("PE", "PE (given)")]) + ([] if mask == "value" else [("mask_value", "mask")])
    if not unused:
        return None
    with s.group() as aside:
        left = None
        for name, label in unused:
            block = s.given(name, label=label)
            left = s.place(block, below=EVERYTHING) if left is None else s.place(block, right_of=left, gap=2)
        s.note_below(left, "not used (" + ", ".join(
            f"{k}: {v}" for k, v, used in (("pe", pe, pe == "given"), ("mask", mask, mask == "value")) if not used)
            + ")")
    s.set_aside(aside)
    return aside


def _labelled(s, name, label):
    """The given ``name`` as a part of a product's left operand, with a short label (W1 for enc_W1)."""
    width = np.atleast_2d(np.asarray(s.params[name], dtype=float)).shape[1]
    return ops.Part(width, lambda at: s.place(s.given(name, label=label), at=at))


def _positions(s, d, pe):
    """The positional encoding at the top: the sinusoid (freq left of it, positions above) or the
    given PE; None without one."""
    n = n_pos(d)
    if pe == "given":
        return s.given("PE", label="PE (given)")
    if pe == "none":
        return None
    pos = s.add("pos", (1, n), role=GIVEN, label="", side_label="t", values=np.arange(n)[None, :], named=False)
    PE = _sinusoid(s, "PEs", d.d, n, pos, label="PE = sin | cos(t·freq)")
    s.place(pos, above=PE, gap=0)  # the positions t head the columns
    return PE


@op
def _sinusoid(s, name, rows, cols, pos, label):
    """The sinusoid ``name`` (rows × cols), its frequencies (``freq``, or ``<name>_freq``)
    left of it, the positions read from the row ``pos``."""
    fname = "freq" if name == "PEs" else f"{name}_freq"
    freq = s.add(fname, (rows, 1), role=COMPUTED, label="freq",
                 formula=lambda i, j: f"1/POWER(10000,{2 * (i // 2)}/{rows})",
                 expect=lambda v: 1 / 10000 ** ((np.arange(rows)[:, None] // 2 * 2) / rows))
    PE = s.add(name, (rows, cols), role=COMPUTED, label=label,
               formula=lambda i, j: f"{'SIN' if i % 2 == 0 else 'COS'}({pos.cell(0, j)}*{freq.cell(i, 0)})")
    s.next_to(freq, PE, LEFT)
    return PE


SIDES = {"enc": Scope("enc_"), "dec": Scope("dec_")}
CROSS = Scope("dec_c")  # the decoder's cross-attention: dec_cQ_1 …


def _tag(names):
    """The names a label uses: the cross-attention's short (cS_1 for dec_cS_1), so that it fits its block."""
    return Scope("c") if names is CROSS else names


def _multi_head(s, d, side, Xq, Xkv, *, causal, cross=False, mask="inf", Mask=None, start=None, tower=False,
                level=None):
    """A multi-head attention (its step is the caller's): with ``tower``, a self-attention as
    :func:`_tower_heads` (from the top of ``level``); where each head's scores fit right of the lane,
    as :func:`_column_heads` (the first head down the column right of the lane, from the top of
    ``level`` where it is the lane's Xp); else the projections of every head one under
    the other in the lane (for the cross-attention the queries under N1, then the memory M = enc_N2
    and the keys and values under it), each head's scores S = Kᵀ·Q beside its keys when the page
    has room (with mask: value, where S + Mask beside S would not fit, S + Mask under S and the
    heads one under the other right of the lane from Q_1's top; else in a row under the
    projections, S + Mask under S), each head's softmax and F = V·A in a row under
    them (one under the other when the page is too narrow), then Fcat = [F_1; …] and Attn = Wo·Fcat
    in the lane. The projections start under ``start`` (default: the queries' input)."""
    names = CROSS if cross else SIDES[side]
    heads = d.heads_x if cross else d.heads if side == "enc" else d.heads_dec
    lane = _lane(s, side, Xq)  # the cross-attention's queries too: N1 stands right of it
    if tower and not (causal and mask == "value") and (not cross or Xkv.cols <= Xq.cols):
        # from the top of ``level``, unless the decoder's own positions stand right of the lane there
        top = None if level is Xq and "dec_PEs" in s.blocks else level or Xq
        return _tower_heads(s, d, names, heads, Xq, lane, Mask if causal else None, mask, start or Xq, top,
                            memory=Xkv if cross else None)
    K = [None] * heads
    extra = Xq.cols + 1 if causal and mask == "value" else 0  # S + Mask beside S
    score_width = d.d_k + 1 + Xq.cols + extra
    wgap = 0 if _tight(d) else 1  # the lane starts a weight's width in: weights and K_hᵀ touch it
    used = max(Xq.rows, Xkv.rows) + wgap + max(Xq.cols, Xkv.cols)  # weights, gap, lane
    spacing = (d.d_k + 1) * (2 if cross else 3)  # rows from one head's keys to the next's
    beside = used + wgap + score_width <= PAGE and Xkv.cols + 2 <= spacing
    memory_beside = cross and not beside and used + 1 + Xkv.cols <= PAGE
    if beside and not extra:  # head 1 down the column right of the lane, from Xp's top where it is the lane
        top = Xq if level is Xq and Xq is _lane(s, side, None) and "dec_PEs" not in s.blocks else None
        return _column_heads(s, d, names, heads, Xq, Xkv, lane, Mask if causal else None, mask, start or Xq,
                             top=top, cross=cross, wgap=wgap)
    with s.group() as projections:
        above = start or Xq
        Q = [None] * heads
        for h in range(1, heads + 1):
            Q[h - 1] = above = s.place(_project(s, names, "Q", h, Xq, wgap), under=above, in_columns_of=lane,
                                       gap=TIGHT)
            if not cross:
                K[h - 1], above = _keys_and_values(s, names, h, Xkv, above, wgap)
        if cross:  # the encoder's output copied under the queries (or beside them, where the page
            # has room): keys and values in its n_src columns
            M = ops.carry(s, "dec_M", Xkv, label="dec_M = enc_N2")
            if memory_beside:
                s.next_to(M, Q[0], RIGHT)
                above = s.together([above, M])
            else:
                s.place(M, under=above, in_columns_of=lane, gap=1)  # a row where a page may break
                above = M
            Xkv = M
            for h in range(1, heads + 1):
                K[h - 1], above = _keys_and_values(s, names, h, Xkv, above, wgap)
    column = not beside and extra and used + wgap + score_width - extra <= PAGE
    S = []
    for h in range(1, heads + 1):
        with s.group() as unit:  # in a row under the projections: S + Mask under S
            S.append(_scores(s, d, names, h, K[h - 1], Q[h - 1], Mask if causal else None, mask,
                             down=False if beside else "tight" if column else True))
        if beside:  # right of the lane, level with its keys
            s.next_to(unit, K[h - 1], RIGHT, gap=wgap)
        else:
            S[-1] = unit
    if column:  # S_h with S_h + Mask under it, one head under the other right of the lane from Q_1's top
        row = s.arrange(S, DOWN, gap=TIGHT)
        s.next_to(row, Q[0], RIGHT, gap=wgap)
        above = s.together([projections, row])
    elif not beside:  # in a row (or a column) under the projections
        row = s.arrange(S, RIGHT if heads * (score_width - extra + 1) - 1 <= PAGE else DOWN)
        s.next_to(row, projections, DOWN)
        above = s.together([projections, row])
    else:
        above = s.together([projections, *[s.blocks[names("S", h)] for h in range(1, heads + 1)]])
    mixes, outputs = [], []
    n = Q[0].cols
    for h in range(1, heads + 1):
        with s.group() as mix:
            Z = s.blocks.get(names("Sm", h), s.blocks[names("S", h)])
            F = _weights_and_mix(s, names, h, Z, s.blocks[names("V", h)], Mask if causal else None, mask)
        mixes.append(mix)
        outputs.append(F)
    wide = 2 * n + 2  # Σ's side label, e^, a gap, A
    across = heads * (wide + 1) - 1 <= PAGE
    row = s.arrange(mixes, RIGHT if across else DOWN, gap=1 if across else TIGHT)
    s.next_to(row, above, DOWN)
    Fcat = ops.stack(s, names("Fcat"), outputs, label=f"{names('Fcat')} = [F_1; …]")
    if not across and wide + 1 + n <= PAGE:  # beside the last head, over Attn
        s.next_to(Fcat, row, RIGHT, align="end")
    else:
        s.place(Fcat, under=row, in_columns_of=lane)
    return ops.matmul(s, names("Attn"), names("Wo"), Fcat, label=f"{_tag(names)('Attn')} = Wo·Fcat",
                      weights_gap=wgap)


NORM_GAP = 1  # rows from x̂ to N (a sublayer's output and its add & norm: none, R's label parts them)


def _beside_norm(d, side):
    """Whether the lane clears the γ | β of a side's add & norm (R | R − mean | x̂ from the frame's
    left edge, N under x̂) and the block that would stand level with N (the decoder's Xp beside the
    memory, the memory's copy beside the decoder's N1) is as tall as N: then it stands in the lane
    level with N, and what follows it clears N."""
    n = d.n_src if side == "enc" else d.n_tgt
    lane_right = max(d.d, d.d_dec) + (0 if _tight(d) else 1) + max(d.n_src, d.n_tgt)
    as_tall = d.d_dec >= d.d if side == "enc" else d.d >= d.d_dec
    return lane_right <= 2 * n and as_tall


def _tight(d):
    """Whether the lane stands a weight's width in from the frame, its weights touching it: where
    the self-attentions are towers, or where each head's scores fit right of the lane with K_hᵀ
    touching it (the labels of the lane's blocks and of each Wo need room beside them)."""
    lane, weights = max(d.n_src, d.n_tgt), max(d.d, d.d_dec)
    narrow = min(d.n_src, d.n_tgt)
    return _tower(d) or (weights + lane + d.d_k + 1 + lane <= PAGE and narrow >= 2 and d.d_k <= narrow
                         and min(d.d, d.d_dec) >= 3 and min(d.heads, d.heads_dec, d.heads_x) * d.d_k >= 2)


def _tower(d):
    """Whether a self-attention fits the page as a tower: the projections in the lane (weights
    touching them) and, right of them, every head's scores and softmax and F = V·A one under the
    other (e^ | A with Σ's side label, V | F under them)."""
    lane, weights = max(d.n_src, d.n_tgt), max(d.d, d.d_dec)
    narrow = min(d.n_src, d.n_tgt)  # the labels of the lane's blocks and of each Wo need room beside them
    return (weights + lane + 2 * lane + 2 <= PAGE and narrow >= 2 and d.d_k <= narrow and min(d.d, d.d_dec) >= 3
            and min(d.heads, d.heads_dec, d.heads_x) * d.d_k >= 2)


def _tower_heads(s, d, names, heads, X, lane, Mask, mask, start, level, memory=None):
    """A self-attention as a tower a page tall: Q_h, K_h, V_h of every head one under the other in
    the lane (each weight touching its product), and from the top of ``level`` (X; else of the first projection) right of them each head's scores
    S_h = K_hᵀ·Q_h (K_hᵀ left of S_h), its softmax (e^ | A, Σ under e^) and F_h = V_h·A_h (a copy of
    V_h left, A_h above), one head under the other; then Fcat = [F_1; …] and Attn = Wo·Fcat in the
    lane under both. With a ``memory`` (the cross-attention): the queries of every head first, then
    the memory copied (M = enc_N2) and the keys and values under it. Returns Attn."""
    with s.group() as projections:
        above, K, V, Q = start, [], [], []
        if memory is None:
            for h in range(1, heads + 1):
                for what, out in (("Q", Q), ("K", K), ("V", V)):
                    above = s.place(_project(s, names, what, h, X, gap=0), under=above, in_columns_of=lane,
                                    gap=TIGHT)
                    out.append(above)
        else:
            for h in range(1, heads + 1):
                above = s.place(_project(s, names, "Q", h, X, gap=0), under=above, in_columns_of=lane, gap=TIGHT)
                Q.append(above)
            M = above = s.place(ops.carry(s, "dec_M", memory, label="dec_M = enc_N2"), under=above,
                                in_columns_of=lane, gap=TIGHT)
            for h in range(1, heads + 1):
                for what, out in (("K", K), ("V", V)):
                    above = s.place(_project(s, names, what, h, M, gap=0), under=above, in_columns_of=lane,
                                    gap=TIGHT)
                    out.append(above)
    column, outputs = [], []
    for h in range(1, heads + 1):
        with s.group() as unit:
            S = _scores(s, d, names, h, K[h - 1], Q[h - 1], Mask, mask)
        with s.group() as mix:
            outputs.append(_weights_and_mix(s, names, h, S, V[h - 1], Mask, mask))
        column += [unit, mix]
    right = s.arrange(column, DOWN, gap=TIGHT, align="end")  # each label parts a block from the one above
    s.next_to(right, s.together([level, projections]) if level is not None else projections, RIGHT, gap=0)
    # from the top of ``level`` (else of the first projection)
    Fcat = ops.stack(s, names("Fcat"), outputs, label=f"{names('Fcat')} = [F_1; …]")
    s.place(Fcat, under=s.together([projections, right]), in_columns_of=lane)
    return ops.matmul(s, names("Attn"), names("Wo"), Fcat, label=f"{names('Attn')} = Wo·Fcat", weights_gap=0)


TIGHT = 0  # rows between the projections one under the other: each label row parts them


def _project(s, names, what, h, X, gap=1):
    return ops.matmul_parts(s, names(what, h), [ops.given_part(s, names(f"W{what.lower()}"), h, X.rows)], X,
                            label=names(what, h), weights_gap=gap)


def _keys_and_values(s, names, h, X, above, gap=1):
    """K_h and V_h under ``above`` in X's columns; returns (K_h, V_h)."""
    K = s.place(_project(s, names, "K", h, X, gap), under=above, in_columns_of=X, gap=TIGHT)
    return K, s.place(_project(s, names, "V", h, X, gap), below=K, gap=TIGHT)


def _scores(s, d, names, h, K, Q, Mask, mask, down=False):
    """S_h = K_hᵀ·Q_h/√d_k (K_hᵀ left of it), and with mask: value Sm_h = S_h + Mask right of it
    (with ``down``, under it, a row apart: a page may break between them; with ``down="tight"``
    its label parts them)."""
    S = ops.scores(s, names("S", h), K, Q, scale=d.d_k, label=f"{_tag(names)('S', h)} = Kᵀ·Q/√{d.d_k:g}")
    if Mask is not None and mask == "value":
        Z = s.add(names("Sm", h), S.shape, role=COMPUTED, label=f"{names('Sm', h)} = S + Mask",
                  formula=lambda i, j: f"{S.cell(i, j)}+{Mask.cell(i, j)}")
        if down == "tight":  # its label parts them
            s.place(Z, below=S, gap=0)
        elif down:
            s.place(Z, below=S)
            s.arrow(S, Z)
        else:
            s.place(Z, right_of=S)
            s.arrow(S, Z)
    return S


def _column_heads(s, d, names, heads, Xq, Xkv, lane, Mask, mask, start, *, top, cross, wgap):
    """A multi-head attention whose first head runs down the column right of the lane (the page's
    width used beside the projections): the queries and keys of every head one under the other in
    the lane (for the cross-attention the memory M = enc_N2 copied first, level with N1 where the
    lane clears N1's γ | β, the keys under it, then the queries), and right of them, from the top of
    ``top`` (else of the first projection), S_1 = K_1ᵀ·Q_1, its softmax down (e^, Σ, A_1) and
    F_1 = V_1·A_1 where V_1's rows meet A_1's columns: V_1 (in the lane, under the keys and A_1)
    left of it, A_1 above it, as by hand, no copy of V_1. The other heads' scores under the keys in
    the lane where it has the rows to spare beside the column (else in the column under F_1), their
    values under V_1, their softmax and F = V·A in a row under everything, then Fcat = [F_1; …]
    (beside the last head) and Attn = Wo·Fcat. Returns Attn."""
    with s.group() as projections:
        above, Q, K = start, [], []
        if cross:  # the encoder's output copied level with N1 (left of its γ | β), the keys under it,
            # then the queries: keys and values in the memory's columns
            M = ops.carry(s, "dec_M", Xkv, label="dec_M = enc_N2")
            Xkv = above = (s.place(M, at=ops.level(Xq, lane)) if _beside_norm(d, "dec") else
                           s.place(M, under=above, in_columns_of=lane, gap=TIGHT))
            for h in range(1, heads + 1):
                above = s.place(_project(s, names, "K", h, Xkv, wgap), under=above, in_columns_of=lane, gap=TIGHT)
                K.append(above)
        for h in range(1, heads + 1):
            above = s.place(_project(s, names, "Q", h, Xq, wgap), under=above, in_columns_of=lane, gap=TIGHT)
            Q.append(above)
            if not cross:
                above = s.place(_project(s, names, "K", h, Xkv, wgap), under=above, in_columns_of=lane, gap=TIGHT)
                K.append(above)
    with s.group() as column:
        S = _scores(s, d, names, 1, K[0], Q[0], Mask, mask)
        A = _softmax(s, names, 1, S, Mask, mask, direction="down")
    s.next_to(column, top or (K[0] if cross else Q[0]), RIGHT, gap=wgap)  # right of the lane, from the top
    # of the stage's input (else of the first projection after it)
    # the other heads' scores under the keys in the lane (Q_h above them) where the lane has the rows
    # to spare beside head 1's column, else in the column under F_1
    n_kv, k_rows = Xkv.cols, d.d_k + 1
    lane_rows = (Xq.rows + 1 if top is not None else 0) + 2 * heads * k_rows
    column_rows = 3 * (n_kv + 1) + 3 + (1 if s.settings.get("stable") else 0)
    in_lane = lane_rows + (heads - 1) * (n_kv + 1) <= column_rows
    later = []
    for h in range(2, heads + 1):
        Sh = _scores(s, d, names, h, K[h - 1], Q[h - 1], Mask, mask)
        if in_lane:
            above = s.place(Sh, under=above, in_columns_of=lane, gap=TIGHT)  # K_hᵀ left of it
        later.append(Sh)
    V = [s.place(_project(s, names, "V", 1, Xkv, wgap), under=s.together([above, column]), in_columns_of=lane,
                 gap=TIGHT)]
    F = ops.matmul(s, names("F", 1), V[0], A, label=f"{names('F', 1)} = V·A")
    s.place(F, at=ops.level(V[0], A))  # V_1 left of it, A_1 above it
    for h in range(2, heads + 1):
        V.append(s.place(_project(s, names, "V", h, Xkv, wgap), under=V[-1], in_columns_of=lane, gap=TIGHT))
    outputs, mixes, below = [F], [], F
    for h, Sh in enumerate(later, start=2):
        if not in_lane:
            below = s.place(Sh, under=below, in_columns_of=S, gap=TIGHT)  # K_hᵀ left of it
        with s.group() as mix:
            outputs.append(_weights_and_mix(s, names, h, Sh, V[h - 1], Mask, mask))
        mixes.append(mix)
    everything = s.together([projections, column, *V, F, below, *later])
    n = Xq.cols
    if mixes:
        wide = 2 * n + 2  # Σ's side label, e^, a gap, A
        across = len(mixes) * (wide + 1) - 1 <= PAGE
        row = s.arrange(mixes, RIGHT if across else DOWN, gap=1 if across else TIGHT)
        s.next_to(row, everything, DOWN)
    Fcat = ops.stack(s, names("Fcat"), outputs, label=f"{names('Fcat')} = [F_1; …]")
    if mixes and (not across or len(mixes) == 1) and wide + 1 + n <= PAGE:  # beside the last head, over Attn
        s.next_to(Fcat, row, RIGHT, align="end")
    else:
        s.place(Fcat, under=s.together([everything] + ([row] if mixes else [])), in_columns_of=lane)
    return ops.matmul(s, names("Attn"), names("Wo"), Fcat, label=f"{_tag(names)('Attn')} = Wo·Fcat",
                      weights_gap=wgap)


def _softmax(s, names, h, Z, Mask, mask, direction="right"):
    """A_h = softmax of the scores Z (the causal Mask's −∞ read by each e^ cell)."""
    causal = Mask is not None and mask == "inf"  # −∞ by hand: each e^ cell reads the mask, e^−∞ = 0
    a_label = f"{names('A', h)} (causal)" if causal else f"{names('A', h)} = softmax"
    # with the max shift, e^(S − max) beside the scores S_h: the head's full name would run the label
    # over a column more than the block's
    z_label = "S" if causal and s.settings.get("stable") else None
    return ops.heat(ops.softmax(s, names("A", h), Z, direction=direction, label=a_label, z_label=z_label,
                                mask="causal" if causal else None, mask_cells=Mask if causal else None))


def _weights_and_mix(s, names, h, Z, V, Mask, mask):
    """A_h = softmax of the scores Z (with the causal Mask −∞ read by each e^ cell), e^ left of A,
    F_h = V_h·A_h under A_h, a copy of V_h left of it. Returns F_h."""
    A = _softmax(s, names, h, Z, Mask, mask)
    s.place(A, below=Z)  # away from the scores (the arrow from them goes): the caller places the head
    Vc = ops.copy(s, f"{names('F', h)}_V", V, label=f"V_{h}")
    F = ops.matmul(s, names("F", h), Vc, A, label=f"{names('F', h)} = V·A")
    s.place(F, below=A)
    s.place(Vc, left_of=F)
    return F


def _causal_mask(s, name, n, value, mask):
    """The decoder's additive mask (n × n, row j = key j, column i = query i): 0 where the key may be
    seen (j ≤ i); after the query, mask: value refers to the given mask value, mask: inf writes −∞
    (a text: no number is −∞; the causal softmax writes the 0 that e^−∞ is).
    A shared step: a candidate for ops (attention)."""
    late = future(n)
    if mask == "value":
        return s.add(name, (n, n), role=COMPUTED, label=f"{name} (0 | mask)",
                     formula=lambda i, j: value.cell(0, 0) if late[i, j] else "0",
                     expect=lambda v: np.where(late, np.asarray(v[value.name], dtype=float), 0.0))
    return s.add(name, (n, n), role=GIVEN, label=f"{name} (0 | −∞)", named=False,
                 text=[[ops.MINUS_INFINITY if late[i, j] else "0" for j in range(n)] for i in range(n)])


def _side_name(side):
    return "Encoder" if side == "enc" else "Decoder"


def _add_and_norm(s, side, k, x, a, opts, in_lane=None, gap=0):
    """R_k = x + sublayer, then LayerNorm across the page: R_k, R_k − mean, x̂ (in the lane's
    columns), and N_k = γ_k ⊙ x̂ + β_k under x̂ (γ_k | β_k left of it), or under the band in the
    columns of ``in_lane`` (the encoder's output, where the decoder's tower starts beside it);
    ``gap`` rows under the sublayer's output (0: R's label parts them)."""
    short = SIDES[side].short
    with s.group() as band:
        R = s.add(f"{side}_R{k}", x.shape, role=COMPUTED, label=f"{side}_R{k} = {short(x)} + {short(a)}",
                  formula=lambda i, j: f"{x.cell(i, j)}+{a.cell(i, j)}")
        s.place(R, below=a)
        N = ops.layernorm(s, f"{side}_N{k}", R, gamma=f"{side}_gamma{k}", beta=f"{side}_beta{k}",
                          eps=s.blocks["ln_eps"], label=f"{side}_N{k} = γ⊙x̂ + β", **opts)
        s.place(N, under=band, in_columns_of=s.blocks[f"{side}_N{k}_hat"], gap=NORM_GAP)
    s.next_to(band, s.together([a, s.blocks["enc_Wq_1"]]), DOWN, gap=gap)  # from the frame's left edge, R's label
    # parting it from the sublayer's output
    if in_lane is not None:
        s.place(N, under=band, in_columns_of=in_lane, gap=NORM_GAP)
    return N


# --- numbers -------------------------------------------------------------------------------------
def checks(d, p) -> str | None:
    """Every source and target word in the vocabulary, and no tie for the largest probability at
    any position under any option (the sheet's MATCH would take the first of the tied words)."""
    for key, vocab in (("src", p.vocab_words), ("tgt", p.dec_vocab_words)):
        for word in p[key]:
            problem = word_problem(key, word, list(vocab))
            if problem:
                return problem
    for combo in itertools.product(*OPTIONS.values()):
        P = reference(d, p, **dict(zip(OPTIONS, combo)))["P"]
        top = np.sort(P, axis=0)
        if P.shape[0] > 1 and np.isclose(top[-1], top[-2], rtol=1e-9, atol=1e-12).any():
            t = int(np.flatnonzero(np.isclose(top[-1], top[-2], rtol=1e-9, atol=1e-12))[0])
            return (f"position {t + 1}: two words tie for the largest probability "
                    f"({', '.join(f'{k}: {v}' for k, v in zip(OPTIONS, combo))}): change Wout")
    return None


def instructive(d, p, pe="sinusoid", ln_eps_on="var", ln_var="population", mask="inf") -> bool:
    """Attention that mixes (no head one-hot where it has a choice), a feed-forward ReLU that passes
    and shuts, and a clear next word (its probability at least 0.02 above the next best)."""
    if checks(d, p):
        return False
    ref = reference(d, p, pe, ln_eps_on, ln_var, mask)
    for names, heads in ((SIDES["enc"], d.heads), (SIDES["dec"], d.heads_dec), (CROSS, d.heads_x)):
        for h in range(1, heads + 1):
            A = ref[names("A", h)]
            free = A[:, 1:] if names is SIDES["dec"] else A  # the first query sees only itself
            if A.shape[0] > 1 and free.size and free.max() > 0.95:
                return False
    for side in ("enc", "dec"):
        Z = ref[f"{side}_Zf"]
        if Z.shape[0] > 1 and not ((Z > 0).any() and (Z < 0).any()):
            return False
    top = np.sort(ref["P"][:, -1])
    return d.vocab_dec < 2 or bool(top[-1] - top[-2] > 0.02)


def _vocab(rng, size, dims):
    """The first `vocab` words of a fixed list (<s> first)."""
    return list(WORDS[: dims.vocab])


def _sentence(start: bool):
    def make(rng, size, dims, p):
        vocab = list(p["dec_vocab_words" if start else "vocab_words"])
        pool = vocab[1:] if len(vocab) > 1 else vocab
        words = list(rng.choice(pool, size=size[0]))
        if start:
            words[0] = vocab[0]
        return words

    make.__doc__ = ("Words of the decoder's vocabulary, the first <s>." if start
                    else "Words of the vocabulary (not <s>).")
    return make


def _embedding(rng, size, dims):
    """Halves in −1…1, every column different, so every word has its own vector."""
    rows, cols = size
    out = []
    for _ in range(cols):
        for _ in range(30):
            e = rng.choice([-1, -0.5, 0, 0.5, 1], size=rows)
            if e.any() and not any(np.array_equal(e, f) for f in out):
                break
        out.append(e)
    return np.column_stack(out)


def _dec_vocab(rng, size, dims):
    """The first `vocab_dec` words of a fixed list (<s> first): the encoder's words when vocab_dec = vocab."""
    return list(WORDS[: dims.vocab_dec])


def _dec_embedding(rng, size, dims, p):
    """The encoder's Emb when the sizes agree (tied, as the paper's), else halves in −1…1, every column different."""
    if tuple(size) == np.shape(p["Emb"]):
        return np.array(p["Emb"], dtype=float)
    return _embedding(rng, size, dims)


def _minus_99(rng, size, dims):
    """−99: e^−99 ≈ 1e−43, a weight no reader can tell from 0 (used with mask: value)."""
    return -99.0


def _epsilon(rng, size, dims):
    """ε = 1e-5, as the paper's implementations (and PyTorch's LayerNorm) use."""
    return 1e-5


def _gain(rng, size, dims):
    """γ in 0.5…1.5 by halves."""
    return rng.choice([0.5, 1.0, 1.5], size=size)


def _weights(name, shape, most=1.5):
    return Given(name, shape, role=WEIGHT, low=-1, high=1, step=0.5, row_sum=most)


def _width(side):
    return "d" if side == "enc" else "d_dec"


def _norm(side, k):
    w = _width(side)
    return [Given(f"{side}_gamma{k}", (w, 1), role=WEIGHT, make=_gain, describe=f"LayerNorm {k} gain γ"),
            Given(f"{side}_beta{k}", (w, 1), role=BIAS, low=-0.5, high=0.5, step=0.5,
                  describe=f"LayerNorm {k} shift β")]


def _attention_givens(pre):
    """Wq_h (queries' width), Wk_h and Wv_h (keys' width), Wo: the encoder's over d with `heads`
    heads, the decoder's over d_dec with `heads_dec`, the cross-attention's queries over d_dec and
    keys over d (the memory) with `heads_x`."""
    heads, q, kv, wo = {"enc_": ("heads", "d", "d", heads_d_k), "dec_": ("heads_dec", "d_dec", "d_dec", heads_dec_d_k),
                        "dec_c": ("heads_x", "d_dec", "d", heads_x_d_k)}[pre]
    return [_weights(f"{pre}Wq", (heads, "d_k", q)), _weights(f"{pre}Wk", (heads, "d_k", kv)),
            _weights(f"{pre}Wv", (heads, "d_k", kv)), _weights(f"{pre}Wo", (q, wo))]


def _ffn(side):
    w = _width(side)
    return [_weights(f"{side}_W1", ("d_ff", w)),
            Given(f"{side}_b1", ("d_ff", 1), role=BIAS, low=-0.5, high=0.5, step=0.5),
            _weights(f"{side}_W2", (w, "d_ff")),
            Given(f"{side}_b2", (w, 1), role=BIAS, low=-0.5, high=0.5, step=0.5)]


def _output(rng, size, dims):
    """Halves in −1…1, each row's absolute sum at most 3, no two rows alike (two words whose rows
    are alike tie everywhere)."""
    rows = []
    for _ in range(size[0]):
        for _ in range(30):
            row = bounded_rows(rng, rng.choice([-1, -0.5, 0.5, 1], size=(1, size[1])), 3)[0]
            if not any(np.array_equal(row, other) for other in rows):
                break
        rows.append(row)
    return np.array(rows)


EXERCISE = Exercise(
    name="transformer-full",
    title="The encoder–decoder transformer, one layer each: words to the next word",
    source=Source(
        paper="Vaswani et al. (2017), Attention Is All You Need, NeurIPS (Figure 1)",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Transformer (the full stack)"),
    dims={"vocab": "vocabulary size (encoder)", "n_src": "source words (encoder)", "n_tgt": "target words (decoder)",
          "d": "model dimension (encoder)", "heads": "attention heads (encoder)", "d_k": "size of a head",
          "d_ff": "feed-forward units", "vocab_dec": "vocabulary size (decoder, the words it predicts)",
          "d_dec": "model dimension (decoder)", "heads_dec": "masked self-attention heads (decoder)",
          "heads_x": "cross-attention heads (decoder)"},
    presets={
        "small": dict(vocab=8, n_src=3, n_tgt=3, d=4, heads=2, d_k=2, d_ff=6, vocab_dec=8, d_dec=4, heads_dec=2,
                      heads_x=2),
        "medium": dict(vocab=12, n_src=4, n_tgt=4, d=4, heads=2, d_k=2, d_ff=8, vocab_dec=12, d_dec=4, heads_dec=2,
                       heads_x=2),
        "large": dict(vocab=16, n_src=6, n_tgt=5, d=6, heads=2, d_k=3, d_ff=12, vocab_dec=16, d_dec=6, heads_dec=2,
                      heads_x=2),
    },
    givens=[
        Given("vocab_words", ("vocab",), kind="texts", make=_vocab, check=check_vocabulary,
              describe="the vocabulary, one word a column"),
        Given("dec_vocab_words", ("vocab_dec",), kind="texts", make=_dec_vocab, check=check_vocabulary,
              describe="the decoder's vocabulary, one word a column (the words it predicts)"),
        Given("src", ("n_src",), kind="texts", derive=_sentence(False), describe="the source sentence, one word each"),
        Given("tgt", ("n_tgt",), kind="texts", derive=_sentence(True),
              describe="the decoder's input: <s> and the target so far (words of dec_vocab_words)"),
        Given("Emb", ("d", "vocab"), role=WEIGHT, make=_embedding,
              describe="the encoder's embeddings, one column a word"),
        Given("dec_Emb", ("d_dec", "vocab_dec"), role=WEIGHT, derive=_dec_embedding,
              describe="the decoder's embeddings, one column a word"),
        Given("PE", (pe_rows, n_pos), low=-1, high=1, step=0.5,
              describe="positional encoding used with pe: given (each side adds its first d or d_dec rows)"),
        Given("ln_eps", (), make=_epsilon, describe="ε of every layer norm"),
        Given("mask_value", (), make=_minus_99, describe="added to a future key's score with mask: value"),
        *_attention_givens("enc_"), *_norm("enc", 1), *_ffn("enc"), *_norm("enc", 2),
        *_attention_givens("dec_"), *_norm("dec", 1), *_attention_givens("dec_c"), *_norm("dec", 2),
        *_ffn("dec"), *_norm("dec", 3),
        Given("Wout", ("vocab_dec", "d_dec"), role=WEIGHT, make=_output,
              describe="output layer, one row a word of the decoder's vocabulary"),
    ],
    reference=reference,
    layout=layout,
    options=[Option("pe", "sinusoid", OPTIONS["pe"], describe="sinusoid, the given PE block, or none"),
             Option("ln_eps_on", "var", OPTIONS["ln_eps_on"],
                    describe="ε inside the square root (var) or added to σ (std)"),
             Option("ln_var", "population", OPTIONS["ln_var"],
                    describe="variance over d (population) or d − 1 (sample)"),
             STABLE_SOFTMAX,
             Option("mask", "inf", OPTIONS["mask"],
                    describe="the decoder's mask after the query: −∞ (e^−∞ = 0 by an IF) or the given mask_value "
                             "(e.g. −99) added to the scores")],
    limits={"vocab": (4, len(WORDS)), "n_src": (1, 8), "n_tgt": (1, 8), "d": (2, 12), "heads": (1, 4),
            "d_k": (1, 8), "d_ff": (1, 16), "vocab_dec": (4, len(WORDS)), "d_dec": (2, 12), "heads_dec": (1, 4),
            "heads_x": (1, 4)},
    checks=checks,
    accept=instructive,
)
