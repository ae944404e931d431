"""Where things stand: the relations between them (below, right of, …), make-then-place, and
groups arranged the way manim arranges objects.

A block is made first, at the origin, then placed relative to what is already on the sheet::

    HX = ops.matmul(s, "HX", Hres, Xs)          # the product with the weights it placed left of it
    s.place(HX, below=h, gap=2)                  # the whole unit moves: HX with its weights

A shared step (an :func:`op`) lays out its result with what it needs around it (a product's weights
left of it, a transpose above it) as one *unit*; placing the result moves the unit. What hangs off
a block from outside the unit (the row of 1s under an input, a LayerNorm's x − mean beside its
input) stays by that block. An arrow an operation drew from its input to the result beside it goes
when the result is placed elsewhere.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import wraps
from typing import Iterator

from xlhand.layout.blocks import Block
from xlhand.layout.box import GAP, Box, LayoutError, box, placed
from xlhand.layout.box import under as under_cells
from xlhand.layout.drawing import Group

RIGHT, LEFT, DOWN, UP = "right", "left", "down", "up"
DIRECTIONS = (RIGHT, LEFT, DOWN, UP)
EVERYTHING = "everything placed so far"  # place(x, below=EVERYTHING): under all of it, at its left edge

class Anchored(tuple):
    """A position touching a block (the row under it): whatever stands there belongs to that block,
    not to the operation that happens to place it (the row of 1s under an input)."""

    def __new__(cls, position: tuple[int, int], anchor) -> "Anchored":
        spot = super().__new__(cls, position)
        spot.anchor = anchor
        return spot


def op(fn):
    """Mark a function ``fn(s, …)`` that lays out a result with the blocks it needs around it (a
    product with its weights left and its transposes above) as one unit: placing the result with
    :meth:`Sheet.place` afterwards moves the whole unit. Every shared step in ``ops`` is one."""
    @wraps(fn)
    def laid_out_as_one(s: "Placing", *args, **kwargs):
        with s.unit() as unit:
            result = fn(s, *args, **kwargs)
        made = [block for block in _blocks_in(result) if block in unit.blocks]
        if unit.anchor is None and made:
            unit.anchor = made[0]
        for block in made:
            s.units[block.name] = unit
        return result

    return laid_out_as_one


def _blocks_in(result) -> list[Block]:
    if isinstance(result, Block):
        return [result]
    if isinstance(result, dict):
        result = list(result.values())
    if isinstance(result, (list, tuple)):
        return [b for item in result for b in _blocks_in(item)]
    return []


class Placing:
    """The placing half of a :class:`~xlhand.layout.sheet.Sheet`: relations, units, groups."""

    def _join_groups(self, thing, anchor=None) -> None:
        """``thing`` joins every open group, but not an operation's unit when it hangs off a block
        from outside the unit (placing the operation's result elsewhere leaves it by that block)."""
        anchor = anchor or (self.hanging[-1] if self.hanging else None)
        for group in self.open_groups:
            if not (group.unit and anchor is not None and not _within(anchor, group)):
                group.add(thing)

    @contextmanager
    def hanging_off(self, block: Block) -> Iterator[None]:
        """What is placed inside stands by ``block`` (a LayerNorm's mean and x − mean beside its input),
        not with the result of the operation that places it."""
        self.hanging.append(block)
        try:
            yield
        finally:
            self.hanging.pop()

    # --- relative positions ---------------------------------------------------------------
    # ``item`` is a block, a chart, a group, or the (row, col) where a labelled block will stand.
    @staticmethod
    def below(item, gap: int = GAP, in_columns_of=None) -> tuple[int, int]:
        """Top-left of a labelled block under ``item`` (leaving a gap and a label row), at its left
        edge or at that of ``in_columns_of`` (under a group, in the columns of one of its blocks)."""
        return (box(item).bottom + gap + 1, placed(in_columns_of or item).left)

    @staticmethod
    def adjoining(item) -> tuple[int, int]:
        """Top-left of an unlabelled row touching ``item`` from below, in its columns: the row of 1s
        under an input, a Σ, max or mean row under a matrix."""
        item = placed(item)
        return Anchored((box(item).bottom, item.left), item)

    @staticmethod
    def right_of(item, gap: int = GAP) -> tuple[int, int]:
        """Top-left of a block right of ``item``, its cells level with the item's first row of cells."""
        item = placed(item)
        return (item.first_row, box(item).right + gap)

    @staticmethod
    def left_of(item, width: int, gap: int = GAP) -> tuple[int, int]:
        """Top-left of a block ``width`` columns wide ending ``gap`` columns left of ``item``, level
        with its first row of cells: the weights of a product left of where its result stands."""
        item = placed(item)
        return (item.first_row, box(item).left - gap - width)

    @staticmethod
    def above(item, height: int, gap: int = GAP) -> tuple[int, int]:
        """Top-left of a block ``height`` rows tall over ``item`` (and its label), in its columns."""
        item = placed(item)
        return (box(item).top - gap - height, item.left)

    def clear_right(self, item: Block, above: int, gap: int = GAP) -> tuple[int, int]:
        """Top-left of a block level with ``item``, right of every block that stands in item's rows or
        in the rows over them where a labelled block ``above`` rows tall will stand (a gap and a label
        row over the item): a product ``dW = dZ·Aᵀ`` beside dZ, with room for Aᵀ above it."""
        top = item.first_row - gap - 1 - above - 1
        rights = [b.right for b in self.blocks.values() if b.spans_rows(top, item.bottom)]
        return (item.first_row, max(rights, default=self.leftmost_col()) + gap)

    def below_all(self, gap: int = 2, leaving=None) -> tuple[int, int]:
        """Top-left of a labelled block under everything placed so far (``leaving`` out a unit about
        to be placed there), at the leftmost column."""
        return (self.lowest_row(leaving) + gap + 1, self.leftmost_col(leaving))

    # --- placing what was made --------------------------------------------------------------
    def place(self, item, *, below=None, right_of=None, left_of=None, above=None, adjoining=None, under=None,
              at: tuple[int, int] | None = None, gap: int | None = None, in_columns_of=None):
        """Move ``item`` (a block with everything its operation laid out around it, a chart) so that
        its top-left cell stands ``below`` another thing (or ``below=EVERYTHING``), ``right_of``,
        ``left_of`` or ``above`` it, on the row ``adjoining`` it, ``under`` the cells of a group, or
        ``at`` a position from a relation (:func:`~xlhand.layout.box.level`); returns ``item``."""
        made = _blocks_in(item)
        unit = self.units.get(made[0].name, made[0]) if made else item
        spot = unit.anchor if isinstance(unit, Group) and unit.anchor is not None else unit
        target = self._target(spot, unit, below, right_of, left_of, above, adjoining, under, at, gap, in_columns_of)
        if target != (spot.top, spot.left):
            self._drop_stale_arrows(unit)
        d_row, d_col = target[0] - spot.top, target[1] - spot.left
        for row in self._hanging_rows(unit):  # a Σ, max or 1s row made under a block goes where it goes
            row.move(d_row, d_col)
        unit.move(d_row, d_col)
        return item

    def _hanging_rows(self, unit) -> list[Block]:
        """The rows made adjoining the blocks of ``unit`` by later steps (outside the unit)."""
        blocks = [unit] if isinstance(unit, Block) else getattr(unit, "blocks", [])
        return [row for block in blocks for row in self.adjoined.get(block.name, ()) if not _within(row, unit)]

    def anchor(self, block: Block) -> None:
        """Inside an operation (:func:`op`): ``block``, not the result, is what :meth:`place` puts at
        the spot it is given (a softmax's exponentials, with the probabilities right of them)."""
        units = [group for group in self.open_groups if group.unit]
        if units:
            units[-1].anchor = block

    def _drop_stale_arrows(self, moving) -> None:
        """An arrow from an input to the result beside it points nowhere once one of them moves
        without the other (or both without the arrow): it goes."""
        for entry in list(self.arrows_while_beside):
            if len({_within(thing, moving) for thing in entry}) > 1:
                self.arrows_while_beside.remove(entry)
                arrow = entry[0]
                self.glyphs = [g for g in self.glyphs if g is not arrow]
                for group in self.made_groups:
                    group.glyphs = [g for g in group.glyphs if g is not arrow]

    def _target(self, item, unit, below, right_of, left_of, above, adjoining, under, at, gap, in_columns_of):
        given = {k: v for k, v in dict(below=below, right_of=right_of, left_of=left_of, above=above,
                                       adjoining=adjoining, under=under, at=at).items() if v is not None}
        if len(given) != 1:
            raise LayoutError(f"place: give exactly one relation, not {', '.join(given) or 'none'}")
        (relation, anchor), = given.items()
        anchor, in_columns_of = _leaving(anchor, unit), _leaving(in_columns_of, unit)
        gap_kw = {} if gap is None else {"gap": gap}
        if relation == "below" and anchor is EVERYTHING:
            row, col = self.below_all(**gap_kw, leaving=unit)
            return row, placed(in_columns_of).left if in_columns_of is not None else col
        if relation == "below":
            row, col = self.below(anchor, **gap_kw, in_columns_of=in_columns_of)
            return max(row, self._under_adjoined(anchor)), col
        if relation == "right_of":
            return self.right_of(anchor, **gap_kw)
        if relation == "left_of":
            return self.left_of(anchor, item.cols, **gap_kw)
        if relation == "above":
            return self.above(anchor, item.rows, **gap_kw)
        if relation == "adjoining":
            return self.adjoining(anchor)
        if relation == "under":
            return under_cells(anchor, in_columns_of or anchor, **gap_kw)
        return anchor

    def _under_adjoined(self, item) -> int:
        """The first row a labelled block may start at under the rows adjoining ``item`` (a stable
        softmax's max row under its scores): what is placed below an item never covers them."""
        rows = [b.bottom for b in self.adjoined.get(getattr(item, "name", None), ())]
        return max(rows) + 1 if rows else 0

    # --- groups and arrangement -----------------------------------------------------------
    @contextmanager
    def unit(self) -> Iterator[Group]:
        """A group of everything one operation lays out (see :func:`op`): it moves with the result,
        except rows that touch a block from outside it (a row of 1s under an input stays there)."""
        with self.group() as group:
            group.unit = True
            yield group

    @contextmanager
    def group(self) -> Iterator[Group]:
        """Everything placed inside (blocks, weights placed on first use, arrows, notes) joins the group."""
        group = Group()
        self.made_groups.append(group)
        self.open_groups.append(group)
        try:
            yield group
        finally:
            self.open_groups.remove(group)
            for outer in self.open_groups:
                outer.add(group)

    def next_to(self, item: Block | Group, anchor: Block | Group, direction: str = "right", gap: int = GAP,
                align: str = "start") -> Block | Group:
        """Move ``item`` so that it stands ``direction`` of ``anchor`` with ``gap`` empty rows or columns
        between everything they write (labels included), aligned on their ``start`` edges (top for
        right/left, left for down/up), their ``end`` edges, or ``center``."""
        if direction not in DIRECTIONS:
            raise LayoutError(f"direction {direction!r}: expected one of {', '.join(DIRECTIONS)}")
        it, an = box(item).edges(), box(anchor).edges()
        if direction in ("right", "left"):
            d_col = an[3] + gap - it[1] if direction == "right" else an[1] - gap - it[3]
            d_row = _aligned(it[0], it[2], an[0], an[2], align)
        else:
            d_row = an[2] + gap - it[0] if direction == "down" else an[0] - gap - it[2]
            d_col = _aligned(it[1], it[3], an[1], an[3], align)
        if d_row or d_col:
            self._drop_stale_arrows(item)
        item.move(d_row, d_col)
        return item

    def arrange(self, items, direction: str = "right", gap: int = GAP, align: str = "start") -> Group:
        """Stand ``items`` one after the other ``direction`` of the first (which does not move); returns
        a group of them all."""
        items = list(items)
        for before, item in zip(items, items[1:]):
            self.next_to(item, before, direction, gap, align)
        return self.together(items)

    def grid(self, items, columns: int, gap: int = GAP, row_gap: int | None = None) -> Group:
        """Items in rows of ``columns``, left to right, rows top to bottom, each row under the tallest
        item of the row before; the first item does not move."""
        items = list(items)
        rows = [self.arrange(items[k:k + columns], "right", gap) for k in range(0, len(items), columns)]
        firsts = [items[k] for k in range(0, len(items), columns)]
        for above, row, first in zip(rows, rows[1:], firsts[1:]):
            d_row = above.bottom + (gap if row_gap is None else row_gap) - row.top
            d_col = box(firsts[0]).left - box(first).left
            row.move(d_row, d_col)
        return self.together(items)

    def together(self, items) -> Group:
        """A group of ``items`` (blocks, charts, groups), which stay where they are."""
        group = Group()
        for item in items:
            group.add(item)
        return group

    def things(self) -> list[Box]:
        """Everything on the sheet: blocks, charts, text."""
        return [*self.blocks.values(), *self.charts, *self.glyphs]

    def lowest_row(self, leaving=None) -> int:
        """First row under everything placed so far (but what is in ``leaving``)."""
        return max((thing.bottom for thing in self.things() if not _within(thing, leaving)), default=0)

    def rightmost_col(self) -> int:
        return max((b.right for b in self.blocks.values()), default=0)

    def leftmost_col(self, leaving=None) -> int:
        return min((b.left for b in self.blocks.values() if not _within(b, leaving)), default=0)


def _leaving(anchor, unit):
    """``anchor`` without what is in ``unit``: a group the unit joined when it was made (the group
    still open around it) is measured as it stood before."""
    if not isinstance(anchor, Group):
        return anchor
    rest = Group()
    for member in anchor.blocks + anchor.charts + anchor.glyphs:
        if not _within(member, unit):
            rest.add(member)
    return rest


def _within(thing, unit) -> bool:
    if unit is None:
        return False
    members = unit.blocks + unit.charts + unit.glyphs if isinstance(unit, Group) else [unit]
    return any(member is thing for member in members)


def _aligned(start: int, end: int, a_start: int, a_end: int, align: str) -> int:
    if align == "start":
        return a_start - start
    if align == "end":
        return a_end - end
    if align == "center":
        return (a_start + a_end) // 2 - (start + end) // 2
    raise LayoutError(f"align {align!r}: expected start, end or center")
