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
The pair bias stands at the top (shared by every row s); below it one region per MSA row, heads one
under the other, weights at the left of the first region (the later regions use the same weights).
"""
from __future__ import annotations

import numpy as np

from ..npref import layernorm_columns, sigmoid, softmax_columns
from .. import fx, ops
from ..exercise import Exercise
from ..params import Given

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
    r, c_m, c_z, c, H = d.r, d.c_m, d.c_z, d.c, d.heads
    slot = r + 1
    C0 = max(2 * slot, c_m + 3, c_z + 2, c + 2)        # the column of M̂, Q, K, V (weights stand left of it)
    C1, C2 = C0 + slot, C0 + 2 * slot                   # the next two r-wide columns

    with s.step("Pair bias: ẑ_ij = LayerNorm(z_ij), b_ij^h = Wb[h]·ẑ_ij, gathered as Bias_h (row j, column i)"):
        pb = {}
        row = 0
        for i in range(1, r + 1):
            Zp = s.given("Zp", at=(row, C0 - 2 * slot), index=i, label=f"Zp_{i} (column j = z_{i}j)")
            zhat = ops.layernorm_columns(s, f"Zhat_{i}", Zp, eps=EPS, label=f"Zhat_{i}")
            W = "Wb" if i == 1 else s.blocks["Wb"]
            pb[i] = ops.matmul(s, f"Pb_{i}", W, zhat, at=(zhat.bottom + 2, C0), label=f"Pb_{i} = Wb·Zhat_{i}")
            row = pb[i].bottom + 2
        bias = {}
        for h in range(1, H + 1):
            bias[h] = s.add(f"Bias_{h}", (r, r), (1 + (h - 1) * (r + 2), C1), "computed",
                            f"Bias_{h}[j, i] = Pb_i[{h}, j]",
                            formula=lambda j, i, h=h: pb[i + 1].cell(h - 1, j))
        row = max(row, bias[H].bottom + 2) + 1

    for m in range(1, d.s + 1):
        first = m == 1
        with s.step(f"MSA row {m}: M̂ = LayerNorm(M_{m}); per head Q, K, V = W·M̂; S = KᵀQ/√c + Bias; "
                    f"A = softmax(S); G = σ(Wg·M̂ + bg); O = G ⊙ (V·A); Mout_{m} = Wo·[O_1; …] + bo"):
            M = s.given("M", at=(row, C0 - 2 * slot), index=m, label=f"M_{m} (MSA row {m})")
            mhat = ops.layernorm_columns(s, f"Mhat_{m}", M, eps=EPS, label=f"Mhat_{m}")
            if not first:
                s.note(row - 1, C0 - 2 * slot - 3, "weights as for row 1")
            y = mhat.bottom + 2
            outputs = []
            for h in range(1, H + 1):
                proj = {}
                for k, key in enumerate("QKV"):
                    at = (y + k * (c + 2), C0)
                    W = (s.given(f"W{key.lower()}", at=(at[0], C0 - 1 - c_m), index=h) if first
                         else s.blocks[f"W{key.lower()}_{h}"])
                    proj[key] = ops.matmul(s, f"{key}_{m}_{h}", W, mhat, at=at,
                                           label=f"{key}_{m}_{h} = W{key.lower()}_{h}·Mhat_{m}")
                y_s = y + 3 * (c + 2)
                QK = ops.scores(s, f"QK_{m}_{h}", proj["K"], proj["Q"], scale=c, at=(y_s, C0),
                                label=f"Kᵀ·Q / √{c}")
                S = ops.elementwise(s, f"S_{m}_{h}", fx.add, [QK, bias[h]], label=f"S_{m}_{h} = · + Bias_{h}")
                A = ops.softmax_columns(s, f"A_{m}_{h}", S, at=(S.bottom + 2, C1), label=f"A_{m}_{h} = softmax(S)")
                y_v = A.bottom + 3
                Vc = ops.copy(s, f"V_{m}_{h}_c", proj["V"], (y_v, C1), label=f"V_{m}_{h}")
                VA = ops.matmul(s, f"VA_{m}_{h}", Vc, A, at=(y_v, C2), label="V·A")
                y_g = VA.bottom + 2
                if first:
                    Wg = s.given("Wg", at=(y_g, C0 - 2 - c_m), index=h)
                    bg = s.given("bg", at=(y_g, C0 - 2), index=h)
                else:
                    Wg, bg = s.blocks[f"Wg_{h}"], s.blocks[f"bg_{h}"]
                Gz = ops.linear(s, f"Gz_{m}_{h}", Wg, mhat, bg, at=(y_g, C0), label=f"Wg_{h}·Mhat + bg_{h}")
                G = ops.sigmoid(s, f"G_{m}_{h}", Gz, label=f"G_{m}_{h} = σ(·)")
                outputs.append(ops.elementwise(s, f"O_{m}_{h}", fx.mul, [G, VA], label=f"O_{m}_{h} = G ⊙ V·A"))
                y = y_g + c + 2
            Ocat = ops.stack(s, f"Ocat_{m}", outputs, at=(y, C0), label="[O_1; …; O_heads]")
            weights = ("Wo", "bo") if first else (s.blocks["Wo"], s.blocks["bo"])
            Mout = ops.linear(s, f"Mout_{m}", weights[0], Ocat, weights[1], at=(Ocat.bottom + 3, C0),
                              role="output", label=f"Mout_{m} = Wo·[O] + bo")
            row = Mout.bottom + 3


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


def _sparse(rng, size, dims):
    """Weights in −1, 0, 1 with half of them 0: sums over c_m = 6 features stay small enough for a
    softmax that is not one-hot."""
    return rng.choice([-1.0, 0.0, 0.0, 1.0], size=size)


EXERCISE = Exercise(
    name="alphafold-msa",
    title="AlphaFold Evoformer: MSA row-wise gated self-attention with pair bias",
    dims={"s": "MSA rows (sequences)", "r": "residues", "c_m": "MSA channels", "c_z": "pair channels",
          "c": "channels per head", "heads": "attention heads"},
    presets={
        "small": dict(s=2, r=3, c_m=3, c_z=2, c=2, heads=1),
        "medium": dict(s=2, r=3, c_m=4, c_z=3, c=2, heads=2),
        "large": dict(s=3, r=4, c_m=6, c_z=4, c=3, heads=2),
    },
    givens=[
        Given("M", ("s", "c_m", "r"), low=-2, high=3, describe="MSA, one c_m × r block per row s"),
        Given("Zp", ("r", "c_z", "r"), low=-2, high=3, describe="pair representation, one c_z × r block per i"),
        Given("Wq", ("heads", "c", "c_m"), role="weight", make=_sparse),
        Given("Wk", ("heads", "c", "c_m"), role="weight", make=_sparse),
        Given("Wv", ("heads", "c", "c_m"), role="weight", make=_sparse),
        Given("Wg", ("heads", "c", "c_m"), role="weight", make=_sparse),
        Given("bg", ("heads", "c", 1), role="bias", low=-1, high=1),
        Given("Wb", ("heads", "c_z"), role="weight", low=-1, high=1),
        Given("Wo", ("c_m", _heads_width), role="weight", low=-1, high=1),
        Given("bo", ("c_m", 1), role="bias", low=-1, high=1),
    ],
    reference=reference,
    layout=layout,
    limits={"s": (1, 8), "r": (1, 8), "c_m": (1, 8), "c_z": (1, 8), "c": (1, 8), "heads": (1, 4)},
    accept=instructive,
)
