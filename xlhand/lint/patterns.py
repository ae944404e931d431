"""Cells that differ from the rest of their block by design, not by mistake.

A by-hand block is not always one formula: a causal mask sets the future triangle to 0, ``Adj + I``
adds 1 on the diagonal, a cache ``[Kc_2 | k_3]`` takes its last column from another block. A set of
cells that is exactly a diagonal, a triangle or a whole band of rows or columns at an edge of the
block is such a design; a single cell, or a scatter of cells, is not.
"""
from __future__ import annotations

from xlhand.lint.reader import Area

Cells = set[tuple[int, int]]


def by_design(odd: Cells, block: list[tuple[int, int]], area: Area, bands: bool = True) -> bool:
    """Whether ``odd`` (some cells of ``block``) is a diagonal, a triangle or (with ``bands``) an edge band."""
    if len(odd) < 2 or len(odd) >= len(block):
        return False
    return _diagonal_or_triangle(odd, block, area) or (bands and edge_band(odd, block, area))


def _diagonal_or_triangle(odd: Cells, block, area: Area) -> bool:
    def step(at):  # how far right of the block's main diagonal
        return (at[1] - area.left) - (at[0] - area.top)

    steps = {step(at) for at in odd}
    low, high = min(steps), max(steps)
    return any(odd == {at for at in block if keep(step(at))} for keep in
               (lambda d: d == low == high, lambda d: d >= low, lambda d: d <= high))


def edge_band(odd: Cells, block, area: Area) -> bool:
    rows = {r for r, _ in odd}
    cols = {c for _, c in odd}
    bands = [{at for at in block if at[0] >= min(rows)}, {at for at in block if at[0] <= max(rows)},
             {at for at in block if at[1] >= min(cols)}, {at for at in block if at[1] <= max(cols)}]
    edges = [max(rows) == area.bottom, min(rows) == area.top, max(cols) == area.right, min(cols) == area.left]
    return any(edge and odd == band for band, edge in zip(bands, edges))
