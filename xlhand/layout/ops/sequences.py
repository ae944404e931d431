"""Sequences: time steps side by side in rows a page wide (a flow, like the words of a paragraph),
arrows from each state to the next, and a tanh RNN one numbered step per time step."""
from __future__ import annotations

from typing import Callable, Sequence

from xlhand.layout import paper
from xlhand.layout.blocks import Block
from xlhand.layout.box import box
from xlhand.layout.sheet import GAP, Sheet, op
from xlhand.layout.ops.copies import column_over_state
from xlhand.layout.ops.elementwise import tanh
from xlhand.layout.ops.products import linear_parts
from xlhand.layout.ops.shared import Operand


@op
def flow(s: Sheet, items, *, width: int | None = None, gap: int = GAP, row_gap: int = GAP,
         align: str = "start"):
    """Items left to right like the words of a paragraph: a row takes items while it stays within
    ``width`` columns (labels included), then the next row starts under it, left edges aligned.
    Within a row, items are aligned on their ``align`` edges (``start``: tops, ``end``: bottoms). The
    first item does not move; an item wider than ``width`` has a row of its own. Returns a group of
    them all.

    By default the rows are as wide as the page the sheet will likely print on
    (:func:`~xlhand.layout.paper.page_columns`), so that time steps, heads or iterations print as bands of whole pages instead of one strip many
    pages wide: items that fit in the width of a landscape page stand in one row; more wrap into
    rows as wide as a portrait page, which print whole in either orientation, or as wide as a
    landscape page when one item is wider than a portrait page. On a sheet that already holds a
    block wider than a landscape page (a long sequence), pages will be portrait (more rows to a page
    for as many pages across), so the rows are as wide as a portrait page."""
    items = list(items)
    if width is None:
        widths = [box(item).cols for item in items]
        landscape, portrait = paper.page_columns(landscape=True), paper.page_columns(landscape=False)
        if any(box(block).cols > landscape for block in s.blocks.values()):
            width = portrait
        elif sum(widths) + gap * (len(items) - 1) <= landscape or max(widths) > portrait:
            width = landscape
        else:
            width = portrait
    rows: list[list] = [[]]
    used = 0
    for item in items:
        columns = box(item).cols
        if rows[-1] and used + gap + columns > width:
            rows.append([])
            used = 0
        used += (gap if rows[-1] else 0) + columns
        rows[-1].append(item)
    return s.arrange([s.arrange(row, "right", gap, align) for row in rows], "down", row_gap)


@op
def chain_arrows(s: Sheet, states: Sequence[Block]) -> None:
    """An arrow from each state to the next (h_{t−1} → h_t) wherever the two stand side by side in
    one row (a :func:`flow` of time steps); where a row wraps, the next state's formula says it."""
    for before, after in zip(states, states[1:]):
        if before.precedes(after):
            s.arrow(before, after)


@op
def tanh_rnn(s: Sheet, X: Block, h0: str, weights: Sequence[Operand], bias: Operand, *,
             step: Callable[[int], str], h_role: str = "computed") -> tuple[list, list[Block]]:
    """A tanh RNN over the columns of X, one group and one numbered step (described by ``step(t)``)
    per time step t: ``u_t = [x_t; h_{t−1}]`` over its row of 1s, ``z_t = [Wx | Wh | b]·[u_t; 1]``
    under it, ``h_t = tanh(z_t)`` under that. The weights (given names, placed on first use) stand
    left of z_1 and the given ``h0`` left of h_1, with an arrow to it; every later step uses them
    where they stand. The blocks are named ``u_t``, ``z_t``, ``h_t`` and labelled ``u``, ``z``, ``h`` after
    the number of their step, which says the time step: labels one column wide keep a long sequence
    narrow.

    Each group is made under X; lay them out with :func:`flow` and draw the arrows between the
    states with :func:`chain_arrows`. Returns (the groups, [h_1 … h_T])."""
    groups, states = [], []
    h_prev: Block | None = None
    for t in range(1, X.cols + 1):
        with s.group() as g:
            first = s.operand(h0) if h_prev is None else None
            with s.step(step(t)):
                u = column_over_state(s, f"u_{t}", X, t - 1, h_prev or first, s.below(X), label="u")
                z = linear_parts(s, f"z_{t}", list(weights), u, bias, label="z")
                h = tanh(s, f"h_{t}", z, at=s.below(z), role=h_role, label="h")
            if first is not None:
                s.next_to(first, h, "left")
                s.arrow(first, h)
        groups.append(g)
        states.append(h)
        h_prev = h
    return groups, states
