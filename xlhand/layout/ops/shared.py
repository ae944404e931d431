"""What every step uses: operands (a placed block or the name of a given), a block's cells and
values, and the checks of shapes."""
from __future__ import annotations

from contextlib import nullcontext
from typing import Callable, Sequence

import numpy as np

from xlhand.layout.blocks import Block
from xlhand.layout.sheet import Sheet

Operand = Block | str  # a placed block, or the name of a given to place where it belongs


def at_(block: Block, i: int, j: int) -> str:
    """Cell (i, j) of ``block``, broadcasting a row, a column or a single cell."""
    return block.cell(i if block.rows > 1 else 0, j if block.cols > 1 else 0)


def absolute(block: Block) -> str:
    """The absolute address of a 1x1 block (a scalar such as a learning rate)."""
    return block.cell(0, 0, absolute=True)


def value_of(block: Block) -> Callable[[dict], np.ndarray]:
    """The oracle's value of ``block`` (from the dict of values by name), as a 2-D array."""
    return lambda v: np.atleast_2d(np.asarray(v[block.name], dtype=float))


def width_of(s: Sheet, x: Operand) -> int:
    """The columns of a block, or of a given (placed or not)."""
    if isinstance(x, Block):
        return x.cols
    if x in s.blocks:
        return s.blocks[x].cols
    return np.atleast_2d(np.asarray(s.params[x], dtype=float)).shape[1]


def name_of(x: Operand) -> str:
    return x if isinstance(x, str) else x.name


def shape_text(block: Block) -> str:
    return f"{block.rows}x{block.cols}"


def step_or_not(s: Sheet, description: str | None):
    """A numbered step ``description``, or no step at all when it is None."""
    return s.step(description) if description else nullcontext()


def with_operands(result: Block, operands: Sequence[Block | None]) -> Block:
    """Note on ``result`` the blocks it multiplies (weights left, input above): a printed page shows
    them together (the page tests read this)."""
    result.extra["operands"] = [b.name for b in operands if b is not None]
    return result
