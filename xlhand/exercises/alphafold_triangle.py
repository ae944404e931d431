"""alphafold-triangle: the Evoformer's triangular multiplicative update (AF2 suppl. Algorithms 11, 12).

The pair representation z_ij ∈ R^c_z stands as one block per residue i: Zp_i (c_z × r), column j = z_ij.
1. ẑ_ij = LayerNorm(z_ij) over its channels (population variance, ε = 1e-5, no affine)
2. a_ij = σ(Wag·ẑ_ij + bag) ⊙ (Wa·ẑ_ij + ba), b_ij likewise with its own weights
3. g_ij = σ(Wg·ẑ_ij + bg)
4. outgoing edges (Alg. 11): t_ij = Σ_k a_ik ⊙ b_jk; incoming edges (Alg. 12): t_ij = Σ_k a_ki ⊙ b_kj
5. z̃_ij = g_ij ⊙ (Wz·LayerNorm(t_ij) + bz)
The sheet reads as the walkthrough, a narrow page at a time: one group per residue i (Zp_i, X − mean right
of it, ẑ_i under Zp_i, then a_i, b_i and g_i under ẑ_i, each linear map with its weights at the left
and its gate right of it), then one group per residue i for its triangles and output: every product
of the sums is its own block ab_i_j (column k: the two edges of the triangle i, j, k), side by side;
t_i's column j adds up the rows of ab_i_j, and Zout_i = g_i ⊙ (Wz·LayerNorm(t_i) + bz) follows under
them. The weights stand as givens by residue 1; every later residue works with copies of them
(Wag_2 = Wag, …), so that a product, its weights and its input print on one page.
"""
from __future__ import annotations

from contextlib import nullcontext

import numpy as np

from xlhand.model.npref import layernorm_columns, sigmoid
from xlhand.layout import BIAS, COMPUTED, DOWN, OUTPUT, WEIGHT, fx, ops
from xlhand.model.exercise import Exercise, Option, Source
from xlhand.model.givens import Given
from xlhand.model.makers import spread_columns

EPS = 1e-5
DIRECTIONS = ("outgoing", "incoming")


def reference(d, p, direction=DIRECTIONS[0]):
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
            if direction == "outgoing":
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
def layout(s, d, p, direction=DIRECTIONS[0]):
    r = d.r
    residues = range(1, r + 1)
    a, b, g = {}, {}, {}
    parts = []
    for i in residues:  # residue 1 worked one operation a step; every later one, one step
        later = f"Residue {i}: ẑ_{i}j, a_{i}j, b_{i}j and g_{i}j, with the same weights (copied: Wag_{i} = Wag, …)"
        with (nullcontext() if i == 1 else s.step(later)), s.group() as part:
            a[i], b[i], g[i] = _projections(s, i, s.step if i == 1 else _no_step)
        parts.append(part)
    outgoing = direction == "outgoing"
    for i in residues:
        later = f"Residue {i}'s triangles: ab_{i}_j, t_{i} and Zout_{i} as for residue 1 (Wz_{i} = Wz, bz_{i} = bz)"
        with (nullcontext() if i == 1 else s.step(later)), s.group() as part:
            _triangles(s, i, r, a, b, g[i], outgoing, s.step if i == 1 else _no_step)
        parts.append(part)
    s.arrange(parts, DOWN, gap=2)


def _no_step(text):
    """Inside the one step that holds a later residue: no step of its own."""
    return nullcontext()


def _linear(s, name, W, X, bias, i, label, below):
    """W·X + bias placed under ``below``, with W | bias at its left: the givens by residue 1, copies of
    them (Wag_2 = Wag …) by every later residue, so that each product prints on the page of its
    weights. A copy's label ([2] Wag) is wider than one column: a one-column copy keeps a gap."""
    if i == 1:
        return s.place(ops.linear(s, name, W, X, bias, label=label), below=below)
    W_copy = ops.carry(s, f"{W}_{i}", s.blocks[W], label=W)
    bias_copy = ops.carry(s, f"{bias}_{i}", s.blocks[bias], label=bias)
    result = s.place(ops.linear(s, name, W_copy, X, bias_copy, label=label), below=below)
    s.place(bias_copy, left_of=result)
    s.place(W_copy, left_of=bias_copy, gap=0 if W_copy.cols > 1 else 1)
    return result


def _projections(s, i, stage):
    """Zp_i, then ẑ_i = LayerNorm(Zp_i) under it, then each linear map under ẑ_i (weights at its left,
    the row of 1s under ẑ_i for the biases) with its gate σ right of it: a = σ(Wag·ẑ + bag) ⊙ (Wa·ẑ + ba)
    under the gate, b likewise, g = σ(Wg·ẑ + bg). ``stage(text)`` opens each operation's step."""
    with stage(f"Residue {i}: ẑ_{i}j = LayerNorm(z_{i}j) (population variance, ε = 1e-5, no affine)"):
        Zp = s.given("Zp", index=i, label=f"Zp_{i} (column j = z_{i}j)")
        Zhat = ops.layernorm(s, f"Zhat_{i}", Zp, eps=EPS, label=f"Zhat_{i} = (Zp_{i} − mean)/√(var + ε)",
                             direction="under")
        above = ops.ones_row(s, Zhat)
    out = []
    with stage(f"Residue {i}: a_{i}j = σ(Wag·ẑ_{i}j + bag) ⊙ (Wa·ẑ_{i}j + ba), b_{i}j likewise"):
        for x in ("a", "b"):
            gz = _linear(s, f"{x}_gz_{i}", f"W{x}g", Zhat, f"b{x}g", i, label=f"W{x}g·ẑ + b{x}g", below=above)
            gate = ops.sigmoid(s, f"{x}_g_{i}", gz, label=f"{x}_g_{i} = σ(·)")
            z = _linear(s, f"{x}_z_{i}", f"W{x}", Zhat, f"b{x}", i, label=f"W{x}·ẑ + b{x}", below=gz)
            out.append(s.place(ops.elementwise(s, f"{x}_{i}", fx.mul, [gate, z], label=f"{x}_{i} = σ(·) ⊙ (·)"),
                               below=gate))
            above = z
    with stage(f"Residue {i}: g_{i}j = σ(Wg·ẑ_{i}j + bg)"):
        gz = _linear(s, f"g_z_{i}", "Wg", Zhat, "bg", i, label="Wg·ẑ + bg", below=above)
        out.append(ops.sigmoid(s, f"g_{i}", gz, label=f"g_{i} = σ(·)"))
    return out


def _triangles(s, i, r, a, b, g, outgoing, stage):
    """Every product of residue i's sums, ab_i_j (column k: the two edges of the triangle i, j, k),
    side by side as a narrow page holds them; t_i under them (column j adds up the rows of ab_i_j);
    LayerNorm(t_i) under t_i; then Zlin_i = Wz·LayerNorm(t_i) + bz and Zout_i = g_i ⊙ Zlin_i right of it.
    ``stage(text)`` opens each operation's step."""
    c = a[i].rows
    edges = f"a_{i}k ⊙ b_jk" if outgoing else f"a_k{i} ⊙ b_kj"
    which = "outgoing, Alg. 11" if outgoing else "incoming, Alg. 12"
    products = []
    with stage(f"Residue {i}'s triangles: t_{i}j = Σ_k {edges} ({which}): ab_{i}_j's row sums"):
        for j in range(1, r + 1):
            if outgoing:
                cell = lambda ch, k, j=j: fx.mul(a[i].cell(ch, k), b[j].cell(ch, k))
                label = f"a_{i}k ⊙ b_{j}k"
            else:
                cell = lambda ch, k, j=j: fx.mul(a[k + 1].cell(ch, i - 1), b[k + 1].cell(ch, j - 1))
                label = f"a_k{i} ⊙ b_k{j}"
            products.append(s.add(f"ab_{i}_{j}", (c, r), role=COMPUTED, label=label, formula=cell))
        across = max(1, min(r, (ops.page_columns(landscape=False) + 1) // (r + 1)))
        s.grid(products, across)
        t = s.add(f"t_{i}", (c, r), role=COMPUTED, label=f"t_{i}: col j = Σ_k ab_{i}_j",
                  formula=lambda ch, j: fx.sum_range(products[j].row_range(ch)))
        s.place(t, below=s.together(products), in_columns_of=products[min(1, r - 1)])
    with stage(f"Residue {i}'s output: Zout_{i}j = g_{i}j ⊙ (Wz·LayerNorm(t_{i}j) + bz)"):
        tn = ops.layernorm(s, f"tn_{i}", t, eps=EPS, label=f"tn_{i} = LayerNorm(t_{i})", direction="under")
        ones = ops.ones_row(s, tn)
        z_lin = _linear(s, f"Zlin_{i}", "Wz", tn, "bz", i, label="Wz·tn + bz", below=ones)
        s.place(ops.elementwise(s, f"Zout_{i}", fx.mul, [g, z_lin], role=OUTPUT,
                        label=f"Zout_{i} = g_{i} ⊙ Zlin_{i}"), right_of=z_lin)


# --- numbers -----------------------------------------------------------------------------------
def instructive(d, p, direction=DIRECTIONS[0]) -> bool:
    """Every LayerNorm has spread to normalise (no constant z_ij or t_ij), and no gate is saturated."""
    ref = reference(d, p, direction)
    for i in range(1, d.r + 1):
        if d.c_z >= 2 and np.asarray(p.Zp[i - 1]).var(axis=0).min() < 0.2:
            return False
        if d.c >= 2 and ref[f"t_{i}"].var(axis=0).min() < 0.01:
            return False
        if max(np.abs(ref[f"{k}_{i}"]).max() for k in ("a_gz", "b_gz", "g_z")) > 5:
            return False
    return True


# Fresh numbers: the values a and b take weights in −3…3 (rows summing to at most 4 in absolute
# value) and biases in −2…2, so their channels differ and t_ij has a spread to normalise; the
# gates' rows sum to at most 2, so no gate saturates however many channels; the rest is −1…1.
def _weight(name, rows, cols, most=1, row_sum=None):
    return Given(name, (rows, cols), role=WEIGHT, low=-most, high=most, row_sum=row_sum)


def _bias(name, rows, most=1):
    return Given(name, (rows, 1), role=BIAS, low=-most, high=most)


EXERCISE = Exercise(
    name="alphafold-triangle",
    title="AlphaFold Evoformer: triangular multiplicative update",
    source=Source(
        paper="Jumper et al. (2021), Highly accurate protein structure prediction with AlphaFold, Nature 596, "
              "suppl. Algorithms 11–12",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): AlphaFold"),
    dims={"r": "residues", "c_z": "pair channels", "c": "hidden channels"},
    presets={
        "small": dict(r=3, c_z=2, c=2),
        "medium": dict(r=3, c_z=3, c=2),
        "large": dict(r=4, c_z=4, c=3),
    },
    givens=[
        Given("Zp", ("r", "c_z", "r"), make=spread_columns(-2, 3),
              describe="pair representation, one c_z × r block per i"),
        _weight("Wa", "c", "c_z", 3, 4), _bias("ba", "c", 2),
        _weight("Wag", "c", "c_z", 1, 2), _bias("bag", "c"),
        _weight("Wb", "c", "c_z", 3, 4), _bias("bb", "c", 2),
        _weight("Wbg", "c", "c_z", 1, 2), _bias("bbg", "c"),
        _weight("Wg", "c_z", "c_z", 1, 2), _bias("bg", "c_z"),
        _weight("Wz", "c_z", "c"), _bias("bz", "c_z"),
    ],
    reference=reference,
    layout=layout,
    limits={"r": (1, 8), "c_z": (1, 8), "c": (1, 8)},
    options=[Option("direction", DIRECTIONS[0], DIRECTIONS,
                    describe="outgoing edges (Alg. 11: Σ_k a_ik ⊙ b_jk) or incoming (Alg. 12: Σ_k a_ki ⊙ b_kj)")],
    accept=instructive,
)
