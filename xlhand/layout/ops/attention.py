"""Attention by hand, in the column convention: the projections ``Q = Wq·X``, ``K = Wk·E``,
``V = Wv·E``; the scores ``S = Kᵀ·Q / √d`` (row j = key j, column i = query i); the weights
``A = softmax`` of each column; the output ``F = V·A``."""
from __future__ import annotations

from xlhand.layout import fx, paper
from xlhand.layout.blocks import Block
from xlhand.layout.box import GAP
from xlhand.layout.sheet import ShapeError, Sheet, op
from xlhand.layout.ops.copies import transpose
from xlhand.layout.ops.norms import softmax
from xlhand.layout.ops.products import copy_part, matmul
from xlhand.layout.ops.shared import Operand, name_of, shape_text, step_or_not, with_operands

Position = tuple[int, int]


@op
def scores(s: Sheet, name: str, K: Block, Q: Block, *, scale: float | None = None, bias: Block | None = None,
           at: Position | None = None, label: str | None = None, role: str = "computed",
           weights_gap: int = GAP) -> Block:
    """``S = Kᵀ·Q (/ √d_k) (+ bias)``: Kᵀ left of S (``weights_gap`` columns away), Q above S; row j =
    key j, column i = query i; ``bias``, a block of S's shape, is added cell by cell (AlphaFold's pair
    bias)."""
    if K.rows != Q.rows:
        raise ShapeError(f"{name} = {K.name}ᵀ·{Q.name}: {K.name} is {shape_text(K)} but {Q.name} is "
                         f"{shape_text(Q)} (keys and queries need the same number of rows)")
    at = at or s.below(Q)
    Kt = transpose(s, f"{name}_Kt", K, at=s.left_of(at, K.rows, gap=weights_gap), label=f"{K.name}ᵀ")
    divisor = "" if scale is None else f"/{fx.sqrt(f'{scale:g}')}"
    added = (lambda i, j: f"+{bias.cell(i, j)}") if bias is not None else (lambda i, j: "")
    S = s.add(name, (K.cols, Q.cols), at=at, role=role,
              label=label or f"{name} = {K.name}ᵀ·{Q.name}" + (f" / √{scale:g}" if scale else ""),
              formula=lambda i, j: (f"({fx.dot(Kt.row(i), Q.col(j))}){divisor}" if divisor
                                    else fx.dot(Kt.row(i), Q.col(j))) + added(i, j))
    return with_operands(S, [Kt, Q])


def heat(block: Block) -> Block:
    """Shade ``block`` with a white-to-blue colour scale (an attention matrix: its pattern at a glance)."""
    block.extra["colour_scale"] = True
    return block


@op
def attention(s: Sheet, names: tuple[str, str, str], Q: Block, K: Block, V: Block, *,
              scale: float | None = None, at: Position | None = None,
              steps: tuple[str, str, str] | None = None, role: str = "computed") -> tuple[Block, Block, Block]:
    """Scaled dot-product attention in the column convention: S = Kᵀ·Q/√d, A = softmax over
    each column, F = V·A (V left of F, A above F). With ``steps`` (three descriptions), the
    scores, the softmax and F are numbered steps of their own; ``role`` is F's."""
    s_name, a_name, f_name = names
    described = list(steps) if steps else [None] * 3
    with step_or_not(s, described[0]):
        S = scores(s, s_name, K, Q, scale=scale, at=at)
    A, F = attend(s, (a_name, f_name), S, V, steps=(described[1], described[2]), role=role)
    return S, A, F


@op
def attend(s: Sheet, names: tuple[str, str], S: Block, V: Block, *, mask: str | None = None,
           mask_cells: Block | None = None, labels: tuple[str | None, str | None] = (None, None),
           v_label: str | None = None, steps: tuple[str | None, str | None] = (None, None),
           role: str = "computed", direction: str = "right") -> tuple[Block, Block]:
    """The second half of an attention head, from its scores S: A = softmax of each column (heat
    coloured; ``mask`` and ``mask_cells`` as :func:`~xlhand.layout.ops.norms.softmax` takes them),
    then F = V·A under A, a copy of V left of F. With ``steps``, each is a numbered step of its own;
    ``role`` is F's; ``direction="down"`` stacks the softmax under S for a narrow page. Returns (A, F)."""
    a_name, f_name = names
    a_label, f_label = labels
    with step_or_not(s, steps[0]):
        A = heat(softmax(s, a_name, S, mask=mask, mask_cells=mask_cells, label=a_label, direction=direction))
    with step_or_not(s, steps[1]):
        F = matmul(s, f_name, copy_part(s, f"{f_name}_V", V, label=v_label), A, role=role,
                   label=f_label or f"{f_name} = {V.name}·{a_name}")
    return A, F


def attention_steps(d_k: float) -> tuple[str, str, str]:
    """The three numbered steps of scaled dot-product attention in the column convention (for
    :func:`attention`'s ``steps``): the scores, the softmax of each column, the mixing of the values."""
    return (f"Scores S = Kᵀ·Q / √{d_k:g} (row j = key j, column i = query i)",
            "A = softmax of each column of S (each column sums to 1)",
            "F = V·A (column i mixes the values with query i's weights)")


@op
def attention_under(s: Sheet, names: tuple[str, str, str], Q: Block, K: Block, V: Block, above, **kw
                    ) -> tuple[Block, Block, Block]:
    """:func:`attention` with the scores in Q's columns (Q above S, as a product is written by hand)
    under everything in ``above`` (a block or a group, such as the projections); Kᵀ stands left of S,
    the softmax right of it, F = V·A under A. Takes :func:`attention`'s keywords."""
    return attention(s, names, Q, K, V, at=s.below(above, in_columns_of=Q), **kw)


@op
def projections(s: Sheet, X: Block, E: Block | None = None, *, names: tuple[str, str, str] = ("Q", "K", "V"),
                weights: tuple[Operand, Operand, Operand] = ("Wq", "Wk", "Wv"),
                steps: tuple[str, str, str] | None = None) -> tuple[Block, Block, Block]:
    """The projections of attention, by hand: ``Q = Wq·X``, ``K = Wk·E``, ``V = Wv·E`` (``E = X`` for
    self-attention), each weight left of its product, the products one under the other below their
    input. With a second sequence E (cross-attention), E with K and V under it stands right of X
    with Q under it, or under them when the two would not fit across a landscape page (E is moved
    there, so it may be placed anywhere before). With ``steps`` (three descriptions) each projection
    is a numbered step of its own. Returns (Q, K, V)."""
    described = list(steps) if steps else [None] * 3
    source = X if E is None else E
    products = []
    with s.group() as queries:
        queries.add(X)
        with step_or_not(s, described[0]):
            products.append(matmul(s, names[0], weights[0], X, label=f"{names[0]} = {name_of(weights[0])}·{X.name}"))
    with s.group() as keys:
        keys.add(source)
        for k in (1, 2):
            at = None if E is not None and k == 1 else s.below(products[-1])  # K under E (or Q), V under K
            with step_or_not(s, described[k]):
                products.append(matmul(s, names[k], weights[k], source, at=at,
                                       label=f"{names[k]} = {name_of(weights[k])}·{source.name}"))
    if E is not None:  # side by side when both fit across a landscape page, else E's column under X's
        s.next_to(keys, queries, "right", gap=2)
        if s.together([queries, keys]).cols > paper.narrowest_page_columns(landscape=True):
            s.next_to(keys, queries, "down")
    Q, K, V = products
    return Q, K, V

