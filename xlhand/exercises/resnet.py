"""resnet: residual blocks beside the plain network with the same weights, forward and backward.

Residual network, the original ResNet block (He et al. 2016: F(x) + x, ReLU after the addition), with
R_0 = X: Z_l = ReLU(Wa_l·R_{l−1} + ba_l); the branch F_l = Wb_l·Z_l + bb_l; S_l = I·R_{l−1} + F_l
(= R_{l−1} + Wb_l·Z_l + bb_l: the shortcut written as a visible identity I against a copy of R_{l−1},
one more product); R_l = ReLU(S_l); head Zout = Wout·R_L + bout, Y = σ(Zout) (option last_act:
softmax over each column; a one-class softmax is constantly 1, so with n_out = 1 the head is σ
whatever the option). Option head: none drops Wout and bout: Y = last_act(R_L), the network ends in
the activation of the last block's output, against the targets Td (d×batch) instead of T
(n_out×batch). The core's givens depend on dims only, so every workbook holds T, Td, Wout and
bout: the ones the option leaves out are set aside (on screen right of the drawing, not printed), marked "not used".
Hidden sizes: block l has its own hidden size, the dim h<l> (h1, …, h4, one per possible block;
dims h<l> with l > blocks are unused), so Wa_l is h<l>×d and Wb_l is d×h<l>. Wa, ba, Wb, bb are
lists of matrices, one per block (a ragged stack).
Plain network, the same weights without the shortcut, H_0 = X: Zp_l = ReLU(Wa_l·H_{l−1} + ba_l);
Fp_l = Wb_l·Zp_l + bb_l; H_l = ReLU(Fp_l); head Zpout = Wout·H_L + bout, Yp = σ(Zpout) (head: none:
Yp = last_act(H_L)).
Loss L = ½‖Y − T‖² (summed over outputs and samples), dY = Y − T (Td without a head); σ: dZout = dY ⊙ Y ⊙ (1 − Y);
softmax: dZout = Y ⊙ (dY − Σ_k dY_k·Y_k) per column. Backward to the input, l = L…1:
dR_L = Woutᵀ·dZout (head: none: dR_L = dZout); dS_l = dR_l ⊙ [S_l > 0]; dZ_l = Wb_lᵀ·dS_l; dA_l = dZ_l ⊙ [Z_l > 0];
through the branch dRf_l = Wa_lᵀ·dA_l; dR_{l−1} = I·dS_l + dRf_l (the shortcut hands dS_l on);
dX_res = dR_0. The plain network the same way without the I·dS_l term (every path to X passes a
ReLU): dFp_l, dZp_l, dAp_l, dH_{l−1} = Wa_lᵀ·dAp_l; dX_plain = dH_0.
On the sheet the two networks share one copy of each weight: each product's weights stand left of
a band holding the residual result and, touching it, the plain one (a column between them where a
helper row's side label needs it: one column each), under one row of 1s; the band is a portrait page
wide. A softmax head runs down from Zout one column left, in bout's column, so that the plain network's
Σ rows stand level with the residual's, their label in the column between; with the option stable,
Zout is copied there first (the max row under Zpout has its label where Zout's own max row would
stand), the exponentials read e^(z − max), two columns wide as a lane, and no gap row stands where a
label separates (R_L under S_L, dS_l under dR_l), so that its extra rows fit the pages. The shortcut
S_l = I·R_{l−1} + F_l reads R_{l−1} up its own columns, where it stands as the block's input (no
copy); the backward shortcut is written in one product, dR_{l−1} = Wa_lᵀ·dA_l + I·dS_l (each cell a
dot product plus its dS_l). One step per block forward, one for the head, one for its gradient, one
back through every block: the header stays short enough for block 1 (its input to S_1, one product's
operands) to fit the first page.
"""
from __future__ import annotations

import zlib

import numpy as np

from xlhand.layout import BIAS, EVERYTHING, GRADIENT, OUTPUT, TARGET, WEIGHT, fx, ops
from xlhand.model.exercise import Exercise, Option, Source, STABLE_SOFTMAX
from xlhand.model.npref import has_both_signs, relu, sigmoid, softmax_columns
from xlhand.model.givens import Given
from xlhand.model.makers import bounded_rows

MAX_BLOCKS = 4
HEADS = ("linear", "none")


def hidden(d, l: int) -> int:
    """Block l's hidden size: the dim h<l>."""
    return int(d[f"h{l}"])


def head_act(d, last_act: str) -> str:
    """The head's activation: softmax only over two or more outputs."""
    return "softmax" if last_act == "softmax" and d.n_out > 1 else "sigmoid"


def act_of(d, last_act: str, head: str) -> str:
    """The output's activation: softmax only over two or more outputs (d of them without a head)."""
    return head_act(d, last_act) if head == "linear" else ("softmax" if last_act == "softmax" and d.d > 1
                                                            else "sigmoid")


def targets(p, head: str):
    return p.T if head == "linear" else p.Td


def _head(Z, act):
    return softmax_columns(Z) if act == "softmax" else sigmoid(Z)


def _head_backward(Y, dY, act):
    if act == "softmax":
        return Y * (dY - (dY * Y).sum(axis=0, keepdims=True))
    return dY * Y * (1 - Y)


def reference(d, p, last_act="sigmoid", head="linear"):
    act = act_of(d, last_act, head)
    Wa, ba, Wb, bb = ([np.asarray(m, dtype=float) for m in p[k]] for k in ("Wa", "ba", "Wb", "bb"))
    out = {}
    for net in ("res", "plain"):
        x = p.X
        for l in range(1, d.blocks + 1):
            z = relu(Wa[l - 1] @ x + ba[l - 1])
            f = Wb[l - 1] @ z + bb[l - 1]
            if net == "res":
                s = x + f  # the shortcut: I·R_{l−1}
                out.update({f"Z_{l}": z, f"F_{l}": f, f"Rs_{l}": x, f"S_{l}": s})
                x = out[f"R_{l}"] = relu(s)
            else:
                out.update({f"Zp_{l}": z, f"Fp_{l}": f})
                x = out[f"H_{l}"] = relu(f)
        tag = "" if net == "res" else "p"
        zout = p.Wout @ x + p.bout if head == "linear" else x
        y = _head(zout, act)
        dy = y - targets(p, head)
        dz = _head_backward(y, dy, act)
        if head == "linear":
            out[f"Z{tag}out"] = zout
        out.update({f"Y{tag}": y, f"L{tag}": 0.5 * np.sum(dy ** 2), f"dY{tag}": dy,
                    f"dZ{tag}out": dz})
        if act == "softmax":
            out[f"dYY{tag}"] = dy * y
            out[f"dYYs{tag}"] = (dy * y).sum(axis=0, keepdims=True)
        dx = p.Wout.T @ dz if head == "linear" else dz
        for l in range(d.blocks, 0, -1):
            if net == "res":
                out[f"dR_{l}"] = dx
                ds = dx * (out[f"S_{l}"] > 0)
                dz_l = Wb[l - 1].T @ ds
                da = dz_l * (out[f"Z_{l}"] > 0)
                branch = Wa[l - 1].T @ da
                dx = ds + branch  # the shortcut hands dS_l on unchanged
                out.update({f"dS_{l}": ds, f"dZ_{l}": dz_l, f"dA_{l}": da, f"dRf_{l}": branch, f"dSs_{l}": ds})
            else:
                out[f"dH_{l}"] = dx
                df = dx * (out[f"Fp_{l}"] > 0)
                dz_l = Wb[l - 1].T @ df
                da = dz_l * (out[f"Zp_{l}"] > 0)
                dx = Wa[l - 1].T @ da
                out.update({f"dFp_{l}": df, f"dZp_{l}": dz_l, f"dAp_{l}": da})
        out["dX_res" if net == "res" else "dX_plain"] = dx
    out["H_0"] = p.X
    return out


# --- layout ------------------------------------------------------------------------------------
# One column of bands down the page, 11 columns wide (a portrait page): each band is one product's
# weights (left, touching the results), the residual network's result and, touching it on its right,
# the plain network's (the same weights, no shortcut), so that one copy of each weight serves both
# networks. One row of 1s runs under both inputs of a product, each bias meeting the 1 under its own
# input. The shortcut S_l = I·R_{l−1} + F_l reads R_{l−1} up its own columns (the input of the block,
# over Z_l and F_l): no copy of it. Labels are short (the step says the math) and a label row is the
# only thing between two bands.
def layout(s, d, p, last_act="sigmoid", head="linear"):
    act = act_of(d, last_act, head)
    L = d.blocks
    R = s.given("X", label="X = R_0")
    H = None
    forward = []
    # the two networks' columns touch, under one row of 1s; a gap between them where a side label would
    # stand on the other network's cells (one column each: a 1s; a softmax: its Σ and max rows)
    shared = d.batch > 1
    lane_gap = 0 if shared else 1
    # a softmax head: the residual network's head one column left of its Zout (in its bias's column), so
    # that the plain network's Σ rows, level with the residual's, have their label on a free cell
    shift = shared and act == "softmax"
    # e^(z − max), z the column's scores: a label two columns wide, as a network's lane
    z = "z" if act == "softmax" and s.settings.get("stable") else None
    # a stable softmax head (its copy and max rows) on bands a portrait page wide: no gap row where a label
    # separates, R_L under S_L and each dS_l under dR_l (the pages break before each dA_l)
    tight = (shift and z is not None and head == "linear"
             and d.d + 1 + 2 * d.batch <= ops.page_columns("letter", landscape=False))
    for l in range(1, L + 1):
        with s.step(f"Block {l}: Z = ReLU(Wa·R_{l - 1} + ba), F = Wb·Z + bb, S = I·R_{l - 1} + F, R_{l} = ReLU(S); "
                    "plain: no I"):
            if H is None:
                H = s.place(ops.carry(s, "H_0", R, label="H_0 = X"), right_of=R, gap=lane_gap)
            ones = _ones_under(s, R, H, shared)
            Z = ops.linear_act(s, f"Z_{l}", fx.relu, ops.given_part(s, "Wa", l, d.d), R,
                               ops.given_part(s, "ba", l, 1), label=f"Z_{l}", weights_gap=0)
            s.place(Z, below=ones, gap=0)
            Zp = ops.linear_act(s, f"Zp_{l}", fx.relu, s.blocks[f"Wa_{l}"], H, s.blocks[f"ba_{l}"], label=f"Zp_{l}")
            s.place(Zp, at=ops.level(Z, H))
            z_ones = _ones_under(s, Z, Zp, shared)
            F = ops.matmul_parts(s, f"F_{l}", [ops.given_part(s, "Wb", l, hidden(d, l))], Z,
                                 ops.given_part(s, "bb", l, 1), label=f"F_{l}", weights_gap=0)
            s.place(F, below=z_ones, gap=0)
            Fp = ops.linear(s, f"Fp_{l}", s.blocks[f"Wb_{l}"], Zp, s.blocks[f"bb_{l}"], label=f"Fp_{l}")
            s.place(Fp, at=ops.level(F, Zp))
            S = ops.matmul_parts(s, f"S_{l}", [ops.identity_part(s, f"I_{l}", d.d)], R, plus=F,
                                 label=f"S_{l} = I·{'R_0' if l == 1 else R.name} + F_{l}", weights_gap=0)
            s.place(S, below=F, gap=0)
            # a page may break before R_l; a stable softmax head, whose max row makes the last block's
            # page a row longer, takes R_L right under S_L (its label the gap)
            close = tight and l == L
            R = s.place(ops.relu(s, f"R_{l}", S, label=f"R_{l}"), below=S, gap=0 if close else None)
            if not close:
                s.arrow(S, R)
            H = s.place(ops.relu(s, f"H_{l}", Fp, label=f"H_{l}"), at=ops.level(R, H))
        forward.append((Z, F, S, R, Zp, Fp, H))
    target = _target(head)
    out = "Zout" if head == "linear" else R.name
    with s.step((f"Head: Zout = Wout·{R.name} + bout, " if head == "linear" else "No head: ")
                + f"Y = {_act_text(act, out, head != 'linear')}, L = ½‖Y − {target}‖²; plain: "
                + ("Zpout, " if head == "linear" else "") + "Yp, Lp"):
        Y, T, Lb = _head_and_loss(s, "", R, act, head=head, plain=H, shared=shared,
                                  lane=("bout" if head == "linear" else f"bb_{L}") if shift else None, z_label=z)
        Yp, _, Lp = _head_and_loss(s, "p", H, act, head=head, beside=(s.blocks["Y_exp"] if act == "softmax" else Y,),
                                   z_label=z)
    top, ptop = _top("dR", L), _top("dH", L)
    with s.step(f"Back, {'head' if head == 'linear' else 'output'}: dY = Y − {target}, "
                + ("dZout = Y⊙(dY − Σ dY⊙Y)" if act == "softmax" else "dZout = dY⊙Y⊙(1 − Y)")
                + f", {top} = " + ("Woutᵀ·dZout" if head == "linear" else "dZout")
                + f"; plain: {ptop}"):
        chain = _head_gradient(s, "", Y, T, Lb, act, head)
        dZout, dZpout = chain[-1], _head_gradient(s, "p", Yp, T, Lp, act, head, beside=chain)[-1]
        s.place(Lp, left_of=s.blocks["dY"])  # the losses beside the gradient they start: L = ½‖dY‖²
        s.place(Lb, left_of=Lp)
        if head == "linear":
            dR = ops.matmul_parts(s, f"dR_{L}", [ops.transposed_part(s, "WoutT", s.blocks["Wout"])],
                                  dZout, role=GRADIENT, label=top, weights_gap=0)
            s.place(dR, below=dZout, gap=0)
            dH = ops.linear_parts(s, f"dH_{L}", [s.blocks["WoutT"]], dZpout, role=GRADIENT, label=ptop)
            s.place(dH, at=ops.level(dR, dZpout))
        else:  # dR_L is dZout itself: the backward pass goes on from it (no copy)
            dR, dH = dZout, dZpout
    blocks = " and ".join(str(l) for l in range(L, 0, -1)) if L < 3 else f"{L} to 1"
    with s.step(f"Back, block{'s' if L > 1 else ''} {blocks}: dS = dR⊙[S>0], dZ = Wbᵀ·dS, dA = dZ⊙[Z>0], "
                + ("dR = Waᵀ·dA + I·dS" if L > 1 else "dX_res = Waᵀ·dA + I·dS")):
        for l in range(L, 0, -1):
            Z, F, S, _, Zp, Fp, _ = forward[l - 1]
            name, pname = ("dX_res", "dX_plain") if l == 1 else (f"dR_{l - 1}", f"dH_{l - 1}")
            dS = _mask_below(s, f"dS_{l}", dR, S, f"dS_{l}", gap=0 if tight else None)
            dF = s.place(ops.relu_backward(s, f"dFp_{l}", dH, Fp, label=f"dFp_{l}"), at=ops.level(dS, dH))
            dZ = ops.matmul_parts(s, f"dZ_{l}", [ops.transposed_part(s, f"Wb_{l}T", s.blocks[f"Wb_{l}"])], dS,
                                  role=GRADIENT, label=f"dZ_{l}", weights_gap=0)
            s.place(dZ, below=dS, gap=0)
            dZp = _beside(s, ops.linear_parts(s, f"dZp_{l}", [s.blocks[f"Wb_{l}T"]], dF, role=GRADIENT,
                                              label=f"dZp_{l}"), dZ, dF)
            dA = _mask_below(s, f"dA_{l}", dZ, Z, f"dA_{l}")
            dAp = s.place(ops.relu_backward(s, f"dAp_{l}", dZp, Zp, label=f"dAp_{l}"), at=ops.level(dA, dZp))
            role = OUTPUT if l == 1 else GRADIENT
            dR = ops.matmul_parts(s, name, [ops.transposed_part(s, f"Wa_{l}T", s.blocks[f"Wa_{l}"])], dA,
                                  plus=dS, role=role, label=name, weights_gap=0)  # the shortcut hands dS_l on
            s.place(dR, below=dA, gap=0)
            dH = _beside(s, ops.linear_parts(s, pname, [s.blocks[f"Wa_{l}T"]], dAp, role=role, label=pname), dR, dAp)
    # every given stands on the sheet: those the option leaves out set aside, off paper, marked
    unused = ["Td"] if head == "linear" else ["T", "Wout", "bout"]
    with s.group() as aside:
        left = s.given(unused[0], label=unused[0])
        s.place(left, below=EVERYTHING)
        for name in unused[1:]:
            left = s.place(s.given(name, label=name), right_of=left)
        s.note_right(left, f"not used (head: {head})")
    s.set_aside(aside)
    if act == "sigmoid" and last_act == "softmax" and head == "linear":
        s.note_below(s.blocks["dX_res"], "n_out = 1: σ, as a softmax of one output is 1")


def _ones_under(s, R, H, shared=True):
    """One row of 1s under the two networks' inputs standing side by side (R, and H touching it on its
    right), labelled once; not ``shared`` (one column each, a gap between them), a row of 1s under each."""
    if shared:
        return ops.ones_row(s, R, beside=H)
    ops.ones_row(s, H)
    return ops.ones_row(s, R)


def _beside(s, result, twin, src):
    """The plain network's ``result`` level with its residual ``twin``, in the columns of its input ``src``."""
    return s.place(result, at=ops.level(twin, src))


def _top(name, L):
    """The gradient at the top block's output, named by its block only when there are several."""
    return f"{name}_{L}" if L > 1 else name


def _mask_below(s, name, d, Z, label, gap=None):
    """``name = d ⊙ [Z > 0]`` under d, a gap row between (where a page may break; ``gap=0``: its label
    the gap): the gradient through a ReLU."""
    return s.place(ops.relu_backward(s, name, d, Z, label=label), below=d, gap=gap)


def _head_and_loss(s, tag, R, act, *, head="linear", beside=None, plain=None, shared=True, lane=None,
                   z_label=None):
    """Head and loss of one network (``tag`` "" or "p"), in the step open; the plain network's blocks
    stand level with the residual network's (``beside``: its Y and L), the targets left of Y; the
    residual network's head lays the row of 1s under both networks' outputs (``plain``: H_L)."""
    if head == "linear" and beside is None:
        ones = _ones_under(s, R, plain, shared)
        Zout = ops.linear(s, "Zout", "Wout", R, "bout", label="Zout", weights_gap=0)
        s.place(Zout, below=ones, gap=0)
    elif head == "linear":
        Zout = ops.linear(s, f"Z{tag}out", s.blocks["Wout"], R, s.blocks["bout"], label=f"Z{tag}out")
        s.place(Zout, at=ops.level(s.blocks["Zout"], R))
    else:
        Zout = R
    scores = Zout
    if lane and s.settings.get("stable"):  # its max row in its own lane: the plain network's max label beside it
        scores = s.place(ops.carry(s, f"{Zout.name}_lane", Zout, label=Zout.name), below=Zout,
                         in_columns_of=s.blocks[lane])
    if act == "softmax":
        Y = ops.softmax(s, f"Y{tag}", scores, role=OUTPUT, direction="down", label=f"Y{tag}", z_label=z_label or Zout.name)
    else:
        Y = ops.sigmoid(s, f"Y{tag}", Zout, role=OUTPUT, label=f"Y{tag}")
    if beside is None:
        s.place(Y, below=scores, in_columns_of=lane and s.blocks[lane])  # a page may break before it
    else:
        s.place(Y, at=ops.level(beside[0], Zout))
    target = _target(head)
    T = s.place(s.given(target, label=target), left_of=Y) if beside is None else s.blocks[target]
    Lb = s.add(f"L{tag}", (1, 1), role=OUTPUT, label=f"L{tag}",
               formula=lambda i, j: f"{fx.sumproduct(f'{Y.range()}-{T.range()}', f'{Y.range()}-{T.range()}')}/2")
    return Y, T, Lb


def _head_gradient(s, tag, Y, T, Lb, act, head="linear", beside=None):
    """The loss's gradient back through the head's activation, under the loss, in the step open:
    dY = Y − T under Y, then dZout; the plain network's level with the residual network's (``beside``,
    its chain). Returns the chain, dZout last."""
    twins = iter(beside) if beside is not None else None

    def put(block, above, gap=0):
        if twins is None:
            return s.place(block, below=above, in_columns_of=Y, gap=gap)
        return s.place(block, at=ops.level(next(twins), Y))

    made = [put(ops.elementwise(s, f"dY{tag}", fx.sub, [Y, T], role=GRADIENT, label=f"dY{tag}"), Y)]
    if act == "softmax":
        prod = put(ops.elementwise(s, f"dYY{tag}", lambda a, b: f"{a}*{b}", [made[0], Y], role=GRADIENT,
                                   label=f"dY{tag}⊙Y{tag}"), made[0])
        sums = ops.col_sums(s, f"dYYs{tag}", prod, role=GRADIENT)
        dY = made[0]
        made += [prod, put(ops.elementwise(s, f"dZ{tag}out", lambda y, g, c: f"{y}*({g}-{c})", [Y, dY, sums],
                                           role=GRADIENT, label=f"dZ{tag}out"), sums)]  # the Σ row, then its label
    else:
        made.append(put(ops.elementwise(s, f"dZ{tag}out", lambda g, y: f"{g}*{y}*(1-{y})", [made[0], Y],
                                        role=GRADIENT, label=f"dZ{tag}out"), made[0], 1))
    return made


def _target(head):
    return "T" if head == "linear" else "Td"


def _act_text(act, z, each=True):
    """The output's activation in a step's words (``each``: saying the softmax runs down each column,
    where the line has room)."""
    return f"softmax({z})" + (" over each column" if each else "") if act == "softmax" else f"σ({z})"


# --- numbers -----------------------------------------------------------------------------------
def instructive(d, p, last_act="sigmoid", head="linear") -> bool:
    """Each ReLU of the residual network (two or more units) both passes and shuts something, neither
    head saturates, and the gradient reaching X differs between the two networks (the shortcut matters)."""
    ref = reference(d, p, last_act, head)
    for l in range(1, d.blocks + 1):
        S = ref[f"S_{l}"]
        if not (_passes_and_shuts(ref[f"Z_{l}"]) and (S.shape[0] < 2 or has_both_signs(S))):
            return False
    for key in ("Zout", "Zpout") if head == "linear" else ("R_%d" % d.blocks, "H_%d" % d.blocks):
        if np.abs(ref[key]).max() > 3:
            return False
    return bool(np.abs(ref["dX_res"] - ref["dX_plain"]).max() > 0.02 and np.abs(ref["dX_res"]).max() > 0.02)


def _passes_and_shuts(Z) -> bool:
    """A ReLU's output of two or more units holds both zeros and positive numbers."""
    return Z.shape[0] < 2 or bool((Z > 0).any() and (Z == 0).any())


def _biases(dims, p) -> tuple[np.ndarray, np.ndarray]:
    """ba and bb, chosen together block by block after X, Wa and Wb: each hidden unit's
    pre-activation and each unit of S_l, averaged over the samples, land on whole numbers in −1…2,
    units of both signs, so every ReLU both passes and shuts something however deep the stack. The
    centres are drawn from a generator seeded by X, Wa and Wb, so both givens make the same choice."""
    Wa, Wb = ([np.asarray(m, dtype=float) for m in p[k]] for k in ("Wa", "Wb"))
    rng = np.random.default_rng(zlib.crc32(np.concatenate([np.ravel(p["X"]), *(m.ravel() for m in Wa),
                                                           *(m.ravel() for m in Wb)]).tobytes()))
    R, ba, bb = p["X"], [], []
    for l in range(dims.blocks):
        P = Wa[l] @ R
        ba.append(_centres(rng, hidden(dims, l + 1), dims) - np.round(P.mean(axis=1, keepdims=True)))
        F = Wb[l] @ relu(P + ba[-1])
        bb.append(_centres(rng, dims.d, dims) - np.round((R + F).mean(axis=1, keepdims=True)))
        R = relu(R + F + bb[-1])
    return ba, bb


def _centres(rng, n, dims):
    """n centres in −1…2 by halves, never 0 (no unit at the ReLU's kink), both signs when n > 1."""
    if n == 1:
        return np.ones((1, 1))
    grid = np.array([-1, -0.5, 0.5, 1, 1.5, 2])
    out = rng.choice(grid, size=(n, 1))
    plus, minus = rng.choice(n, size=2, replace=False)
    out[plus, 0], out[minus, 0] = rng.choice(grid[grid > 0]), rng.choice(grid[grid < 0])
    return out


def _block_bias(rng, size, dims, p):
    """Chosen with bb after X, Wa, Wb: every block's hidden units centred on whole numbers in −1…2, both signs."""
    return _biases(dims, p)[0]


def _shortcut_bias(rng, size, dims, p):
    """Chosen with ba after X, Wa, Wb: every block's S_l centred on whole numbers in −1…2, both signs."""
    return _biases(dims, p)[1]


def _head_bias(rng, size, dims, p):
    """Chosen last: each output's score, averaged over the samples, near 0 (±0.5), so the head does
    not saturate however large the residual stream has grown."""
    Wa, ba, Wb, bb = ([np.asarray(m, dtype=float) for m in p[k]] for k in ("Wa", "ba", "Wb", "bb"))
    R = p["X"]
    for l in range(dims.blocks):
        R = relu(R + Wb[l] @ relu(Wa[l] @ R + ba[l]) + bb[l])
    z = p["Wout"] @ R
    return rng.choice([-0.5, 0.0, 0.5], size=size) - np.round(2 * z.mean(axis=1, keepdims=True)) / 2


def _targets(rng, size, dims):
    """0 or 1 for one output; for several, each column one-hot."""
    rows, cols = size
    if rows == 1:
        return rng.integers(0, 2, size=size).astype(float)
    y = np.zeros(size)
    y[rng.integers(0, rows, size=cols), np.arange(cols)] = 1.0
    return y


def _per_block(*shape):
    """A ragged stack: one matrix per block l = 1…blocks, its shape in dims (``"h"`` is block l's h<l>)."""
    def items(d):
        return {l: tuple(hidden(d, l) if s == "h" else int(d[s]) if isinstance(s, str) else s for s in shape)
                for l in range(1, d.blocks + 1)}
    return items


def _block_weights(rng, items, dims):
    """Halves in −1…1, each row's absolute sum at most 1.5 (entries set to 0 at random until it is),
    so the residual stream stays readable through every block; drawn as one stack when every block
    has the same hidden size (as before hidden sizes per block: the same seed, the same numbers)."""
    grid = np.array([-1, -0.5, 0, 0.5, 1])
    shapes = list(items.values())
    if len(set(shapes)) == 1:
        return list(bounded_rows(rng, rng.choice(grid, size=(len(shapes), *shapes[0])), 1.5))
    return [bounded_rows(rng, rng.choice(grid, size=shape), 1.5) for shape in shapes]


HIDDEN_DIMS = {f"h{l}": f"hidden units inside block {l} (used when blocks ≥ {l})" for l in range(1, MAX_BLOCKS + 1)}


def _preset(d, blocks, hidden, batch, n_out):
    return dict(d=d, blocks=blocks, **{h: hidden for h in HIDDEN_DIMS}, batch=batch, n_out=n_out)


EXERCISE = Exercise(
    name="resnet",
    title="Residual blocks beside the plain network, forward and backward",
    source=Source(
        paper="He, Zhang, Ren & Sun (2016), Deep residual learning for image recognition, CVPR",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): ResNet"),
    dims={"d": "features (width of the residual stream)", "blocks": "residual blocks L", **HIDDEN_DIMS,
          "batch": "samples (columns)", "n_out": "outputs of the head"},
    unused_dims=lambda d: {f"h{l}" for l in range(int(d["blocks"]) + 1, MAX_BLOCKS + 1)},
    presets={
        "small": _preset(d=4, blocks=1, hidden=3, batch=1, n_out=1),
        "medium": _preset(d=6, blocks=2, hidden=5, batch=2, n_out=2),
        "large": _preset(d=8, blocks=3, hidden=6, batch=4, n_out=3),
    },
    # Fresh numbers: halves, every weight row's absolute sum bounded, so the residual stream stays
    # readable through every block and the head does not saturate.
    givens=[
        Given("X", ("d", "batch"), low=-2, high=2, describe="inputs, one sample a column"),
        Given("Wa", stack=_per_block("h", "d"), role=WEIGHT, make=_block_weights,
              describe="first layer of each block (block l: h<l> × d)"),
        Given("Wb", stack=_per_block("d", "h"), role=WEIGHT, make=_block_weights,
              describe="second layer of each block (block l: d × h<l>)"),
        Given("ba", stack=_per_block("h", 1), role=BIAS, derive=_block_bias),
        Given("bb", stack=_per_block("d", 1), role=BIAS, derive=_shortcut_bias),
        Given("Wout", ("n_out", "d"), role=WEIGHT, low=-1, high=1, step=0.5, nonzero=True, row_sum=2,
              describe="the head (not used with head: none)"),
        Given("bout", ("n_out", 1), role=BIAS, derive=_head_bias,
              describe="the head's bias (not used with head: none)"),
        Given("T", ("n_out", "batch"), role=TARGET, make=_targets, describe="targets of the head"),
        Given("Td", ("d", "batch"), role=TARGET, make=_targets,
              describe="targets of the last block's output, used with head: none"),
    ],
    reference=reference,
    layout=layout,
    options=[Option("last_act", "sigmoid", ("sigmoid", "softmax"),
                    describe="the head's activation (σ for one output whatever this says)"),
             STABLE_SOFTMAX,
             Option("head", "linear", HEADS,
                    describe="linear: Zout = Wout·R_L + bout before last_act, against T; none: "
                             "last_act(R_L) itself against Td (Wout, bout, T not used)")],
    limits={"d": (1, 16), "blocks": (1, MAX_BLOCKS), **{h: (1, 16) for h in HIDDEN_DIMS}, "batch": (1, 8),
            "n_out": (1, 8)},
    accept=instructive,
)
