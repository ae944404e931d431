"""One geometry for everything that stands on a sheet: a box of cells.

A block, a chart, a note and a group are each a :class:`Box`: ``top`` and ``left`` (0-based),
``rows`` and ``cols``, and from those ``bottom`` and ``right`` (the first row under it, the first
column right of it). Each has two boxes of its own:

- its **footprint**: every cell it writes in, labels included: what may not overlap anything else,
  and what a neighbour stands clear of;
- its **body**: its cells only, without labels: what a product lines up with.

:func:`box` is the footprint of anything a block can be placed against, including a :class:`Spot`,
the top-left cell where a labelled block is about to stand (a product's result, before its
operands are placed left of it and above it).
"""
from __future__ import annotations

GAP = 1  # empty rows/columns between blocks


class LayoutError(RuntimeError):
    """Two things were placed on the same cell: a bug in an exercise's layout."""


class ShapeError(ValueError):
    """An operation's operands do not fit together (a bug in an exercise's layout, named in the message)."""


class Box:
    """A rectangle of cells: ``top``, ``left``, ``rows``, ``cols``; ``bottom`` and ``right`` follow."""

    top: int
    left: int
    rows: int
    cols: int

    def __init__(self, top: int, left: int, rows: int, cols: int) -> None:
        self.top, self.left, self.rows, self.cols = top, left, rows, cols

    def __repr__(self) -> str:
        return f"Box(top={self.top}, left={self.left}, rows={self.rows}, cols={self.cols})"

    @property
    def bottom(self) -> int:
        """First row below the box."""
        return self.top + self.rows

    @property
    def right(self) -> int:
        """First column right of the box."""
        return self.left + self.cols

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    def edges(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right)."""
        return (self.top, self.left, self.bottom, self.right)

    def footprint(self) -> Box:
        """Every cell it writes in, labels included (a plain box: itself)."""
        return Box(self.top, self.left, self.rows, self.cols)

    def body(self) -> Box:
        """Its cells, without labels (a plain box: itself)."""
        return Box(self.top, self.left, self.rows, self.cols)

    @property
    def first_row(self) -> int:
        """The first row of its cells: what a block right of it is level with."""
        return self.body().top

    def move(self, d_row: int, d_col: int) -> None:
        self.top += d_row
        self.left += d_col

    # --- relations ------------------------------------------------------------------------
    def spans_rows(self, top: int, bottom: int) -> bool:
        """Whether anything it writes (labels included) lies in rows [top, bottom)."""
        return self.footprint().top < bottom and self.bottom > top

    def precedes(self, other: Box) -> bool:
        """Whether ``other`` stands in the same row, right of this box with a column between them."""
        return self.top == other.top and other.left > self.right


def around(boxes) -> Box:
    """The smallest box holding every box of ``boxes``."""
    boxes = list(boxes)
    top, left = min(b.top for b in boxes), min(b.left for b in boxes)
    return Box(top, left, max(b.bottom for b in boxes) - top, max(b.right for b in boxes) - left)


class Spot(Box):
    """The top-left cell (row, col) where a labelled block is about to stand; its footprint is the
    label row above it, its body starts at the cell."""

    def __init__(self, row: int, col: int) -> None:
        super().__init__(row, col, 0, 0)

    def footprint(self) -> Box:
        return Box(self.top - 1, self.left, 1, 0)


def placed(thing) -> Box:
    """A block, chart, note or group as it is; a position ``(row, col)`` as a :class:`Spot`."""
    return Spot(*thing) if isinstance(thing, tuple) else thing


def box(thing) -> Box:
    """The footprint of anything that stands on a sheet (or is about to, at a spot)."""
    return placed(thing).footprint()


# --- relations between things, by their cells ---------------------------------------------------
def level(rows, cols, *, height: int | None = None, align: str = "start") -> tuple[int, int]:
    """Top-left of a block standing in the rows of ``rows`` and the columns of ``cols`` (blocks or
    groups, their cells, not their labels): a product where its left operand's rows meet its input's
    columns, or a block level with its counterpart in a panel beside it that shares its weights (the
    same network without its shortcuts). With ``align="end"``, a block ``height`` rows tall whose last
    row is the last row of ``rows``."""
    if align == "start":
        top = rows.body().top
    elif align == "end" and height is not None:
        top = rows.body().bottom - height
    else:
        raise ShapeError(f"level: align {align!r} (with height for 'end'): expected start, or end with a height")
    return (top, cols.body().left)


def under(above, cols, gap: int = GAP) -> tuple[int, int]:
    """Top-left of a labelled block under the cells of everything in ``above`` (a block or a group)
    and in the columns of ``cols``: the next stage of a chain that starts again under its input's
    columns after a stage that spread to the right (attention's softmax, one head)."""
    return (above.body().bottom + gap + 1, cols.body().left)
