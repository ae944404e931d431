"""alphafold-triangle: the Evoformer's triangular multiplicative update (AF2 suppl. Algorithms 11, 12).

The pair representation z_ij ∈ R^c_z stands as one block per residue i: Zp_i (c_z × r), column j = z_ij.
1. ẑ_ij = LayerNorm(z_ij) over its channels (population variance, ε = 1e-5, no affine)
2. a_ij = σ(Wag·ẑ_ij + bag) ⊙ (Wa·ẑ_ij + ba), b_ij likewise with its own weights
3. g_ij = σ(Wg·ẑ_ij + bg)
4. outgoing edges (Alg. 11): t_ij = Σ_k a_ik ⊙ b_jk; incoming edges (Alg. 12): t_ij = Σ_k a_ki ⊙ b_kj
5. z̃_ij = g_ij ⊙ (Wz·LayerNorm(t_ij) + bz)
Residue i's blocks stand side by side (i = 1 … r from left to right), one row of the sheet per step,
the weights at the far left as in lstm. Every product of step 4's sums is its own block ab_i_j
(column k: the two edges of the triangle i, j, k), and t_i's column j adds up the row of ab_i_j.
"""
from __future__ import annotations

import numpy as np

from ..npref import layernorm_columns, sigmoid
from .. import fx, ops
from ..exercise import Exercise
from ..params import Given

EPS = 1e-5
DIRECTIONS = ("outgoing", "incoming")


def reference(d, p):
    r = d.r
    out = {}
    a, b, g = {}, {}, {}
    for i in range(1, r + 1):
        zhat = layernorm_columns(np.asarray(p.Zp[i - 1], dtype=float))
        a_z, a_gz = p.Wa @ zhat + p.ba, p.Wag @ zhat + p.bag
        b_z, b_gz = p.Wb @ zhat + p.bb, p.Wbg @ zhat + p.bbg
        g_z = p.Wg @ zhat + p.bg
        a[i], b[i], g[i] = sigmoid(a_gz) * a_z, sigmoid(b_gz) * b_z, sigmoid(g_z)
        out.update({f"Zhat_{i}": zhat, f"a_z_{i}": a_z, f"a_gz_{i}": a_gz, f"a_g_{i}": sigmoid(a_gz), f"a_{i}": a[i],
                    f"b_z_{i}": b_z, f"b_gz_{i}": b_gz, f"b_g_{i}": sigmoid(b_gz), f"b_{i}": b[i],
                    f"g_z_{i}": g_z, f"g_{i}": g[i]})
    for i in range(1, r + 1):
        t = np.zeros((d.c, r))
        for j in range(1, r + 1):
            if p.direction == "outgoing":
                ab = a[i] * b[j]                       # column k: a_ik ⊙ b_jk
            else:
                ab = np.column_stack([a[k][:, i - 1] * b[k][:, j - 1] for k in range(1, r + 1)])  # a_ki ⊙ b_kj
            out[f"ab_{i}_{j}"] = ab
            t[:, j - 1] = ab.sum(axis=1)
        tn = layernorm_columns(t)
        z_lin = p.Wz @ tn + p.bz
        out.update({f"t_{i}": t, f"tn_{i}": tn, f"Zlin_{i}": z_lin, f"Zout_{i}": g[i] * z_lin})
    return out


# --- layout ------------------------------------------------------------------------------------
def layout(s, d, p):
    r, c_z, c = d.r, d.c_z, d.c
    slot = r + 1                                   # one block of r columns and a gap
    band = lambda i: 3 * slot * (i - 1)            # residue i: Zp_i | centred | Zhat_i
    A, _, C, D = (lambda i, k=k: band(i) + k * slot for k in range(4))  # slots; D is the next band's A
    residues = range(1, r + 1)

    rows = {}
    rows["a_gz"] = c_z + 2                         # under the LayerNorm's mean / variance / 1s row
    rows["a_z"] = rows["a_gz"] + c + 2
    rows["b_gz"] = rows["a_z"] + c + 2
    rows["b_z"] = rows["b_gz"] + c + 2
    rows["g_z"] = rows["b_z"] + c + 2
    rows["ab"] = rows["g_z"] + c_z + 2
    rows["t"] = rows["ab"] + r * (c + 2)
    rows["Zlin"] = rows["t"] + c + 3

    s.given("direction", at=(-3, 0), label="direction")
    with s.step("ẑ_ij = LayerNorm(z_ij) over the c_z channels (population variance, ε = 1e-5, no affine)"):
        Zhat = {}
        for i in residues:
            Zp = s.given("Zp", at=(0, A(i)), index=i, label=f"Zp_{i} (column j = z_{i}j)")
            Zhat[i] = ops.layernorm_columns(s, f"Zhat_{i}", Zp, eps=EPS, label=f"Zhat_{i}")

    def linear(name, W, b, i, row, label):
        weights = (W, b) if i == 1 else (s.blocks[W], s.blocks[b])
        return ops.linear(s, name, weights[0], Zhat[i], weights[1], at=(row, C(i)), label=label)

    with s.step("a_ij = σ(Wag·ẑ_ij + bag) ⊙ (Wa·ẑ_ij + ba), b_ij = σ(Wbg·ẑ_ij + bbg) ⊙ (Wb·ẑ_ij + bb)"):
        a, b = {}, {}
        for x, store in (("a", a), ("b", b)):
            for i in residues:
                gz = linear(f"{x}_gz_{i}", f"W{x}g", f"b{x}g", i, rows[f"{x}_gz"], f"W{x}g·ẑ + b{x}g")
                gate = ops.sigmoid(s, f"{x}_g_{i}", gz, label="σ(·)")
                z = linear(f"{x}_z_{i}", f"W{x}", f"b{x}", i, rows[f"{x}_z"], f"W{x}·ẑ + b{x}")
                store[i] = ops.elementwise(s, f"{x}_{i}", fx.mul, [gate, z], at=(z.top, D(i)),
                                           label=f"{x}_{i} = σ ⊙ lin")
    with s.step("g_ij = σ(Wg·ẑ_ij + bg)"):
        g = {}
        for i in residues:
            gz = linear(f"g_z_{i}", "Wg", "bg", i, rows["g_z"], "Wg·ẑ + bg")
            g[i] = ops.sigmoid(s, f"g_{i}", gz, label=f"g_{i} = σ(·)")

    outgoing = p.direction == "outgoing"
    sum_text = "Σ_k a_ik ⊙ b_jk (outgoing edges, Alg. 11)" if outgoing else "Σ_k a_ki ⊙ b_kj (incoming edges, Alg. 12)"
    with s.step(f"t_ij = {sum_text}: every product of the sum is a column of ab_i_j"):
        t = {}
        for i in residues:
            products = []
            for j in residues:
                if outgoing:
                    cell = lambda ch, k, i=i, j=j: fx.mul(a[i].cell(ch, k), b[j].cell(ch, k))
                    label = f"a_{i}k ⊙ b_{j}k (k = 1…{r})"
                else:
                    cell = lambda ch, k, i=i, j=j: fx.mul(a[k + 1].cell(ch, i - 1), b[k + 1].cell(ch, j - 1))
                    label = f"a_k{i} ⊙ b_k{j} (k = 1…{r})"
                products.append(s.add(f"ab_{i}_{j}", (c, r), (rows["ab"] + (j - 1) * (c + 2), C(i)), "computed",
                                      label, formula=cell))
            t[i] = s.add(f"t_{i}", (c, r), (rows["t"], A(i)), "computed", f"t_{i}: column j = Σ row of ab_{i}_j",
                         formula=lambda ch, j, products=products: fx.sum_range(products[j].row_range(ch)))

    with s.step("z̃_ij = g_ij ⊙ (Wz·LayerNorm(t_ij) + bz)"):
        for i in residues:
            tn = ops.layernorm_columns(s, f"tn_{i}", t[i], eps=EPS, label=f"LayerNorm(t_{i})")
            weights = ("Wz", "bz") if i == 1 else (s.blocks["Wz"], s.blocks["bz"])
            z_lin = ops.linear(s, f"Zlin_{i}", weights[0], tn, weights[1], at=(rows["Zlin"], C(i)),
                               label="Wz·LN(t) + bz")
            ops.elementwise(s, f"Zout_{i}", fx.mul, [g[i], z_lin], at=(z_lin.top, D(i)), role="output",
                            label=f"Zout_{i} = g_{i} ⊙ (·)")


# --- numbers -----------------------------------------------------------------------------------
def instructive(d, p) -> bool:
    """Every LayerNorm has spread to normalise (no constant z_ij or t_ij), and no gate is saturated."""
    ref = reference(d, p)
    for i in range(1, d.r + 1):
        if d.c_z >= 2 and np.asarray(p.Zp[i - 1]).var(axis=0).min() < 0.2:
            return False
        if d.c >= 2 and ref[f"t_{i}"].var(axis=0).min() < 0.01:
            return False
        if max(np.abs(ref[f"{k}_{i}"]).max() for k in ("a_gz", "b_gz", "g_z")) > 5:
            return False
    return True


def _weight(name, rows, cols):
    return Given(name, (rows, cols), role="weight", low=-1, high=1)


def _bias(name, rows):
    return Given(name, (rows, 1), role="bias", low=-1, high=1)


EXERCISE = Exercise(
    name="alphafold-triangle",
    title="AlphaFold Evoformer: triangular multiplicative update",
    dims={"r": "residues", "c_z": "pair channels", "c": "hidden channels"},
    presets={
        "small": dict(r=3, c_z=2, c=2),
        "medium": dict(r=3, c_z=3, c=2),
        "large": dict(r=4, c_z=4, c=3),
    },
    givens=[
        Given("Zp", ("r", "c_z", "r"), low=-2, high=3, describe="pair representation, one c_z × r block per i"),
        _weight("Wa", "c", "c_z"), _bias("ba", "c"),
        _weight("Wag", "c", "c_z"), _bias("bag", "c"),
        _weight("Wb", "c", "c_z"), _bias("bb", "c"),
        _weight("Wbg", "c", "c_z"), _bias("bbg", "c"),
        _weight("Wg", "c_z", "c_z"), _bias("bg", "c_z"),
        _weight("Wz", "c_z", "c"), _bias("bz", "c_z"),
        Given("direction", kind="choice", choices=DIRECTIONS),
    ],
    reference=reference,
    layout=layout,
    limits={"r": (1, 8), "c_z": (1, 8), "c": (1, 8)},
    accept=instructive,
)
