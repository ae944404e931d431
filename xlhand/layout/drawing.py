"""What stands on a sheet besides blocks, each a :class:`~xlhand.layout.box.Box`: free text (an
arrow, an operator, a note), a native chart, and a group of things that move together."""
from __future__ import annotations

from dataclasses import dataclass

from xlhand.layout import style
from xlhand.layout.blocks import Block
from xlhand.layout.box import Box, LayoutError, around

CHART_ROWS = 14  # a chart's height on the sheet, in rows (about 74 mm)
CHART_COLS = 7  # and its width, in columns (about 106 mm)


@dataclass
class Glyph(Box):
    """A piece of free text on the sheet: an arrow, an operator, a note. It stands in one row, from
    ``col`` on, as wide as its text (a glyph is centred in its one cell; a note runs to the right)."""

    row: int
    col: int
    text: str
    kind: str = "glyph"  # glyph | note | label

    def width(self) -> int:
        """Columns the text covers."""
        return 1 if self.kind == "glyph" else style.text_columns(self.text)

    top = property(lambda self: self.row, lambda self, row: setattr(self, "row", row))
    left = property(lambda self: self.col, lambda self, col: setattr(self, "col", col))
    rows = property(lambda self: 1)
    cols = property(lambda self: self.width())


@dataclass(eq=False)
class Chart(Box):
    """A native spreadsheet chart fed by blocks of the sheet, so it follows every edit.

    ``kind`` is ``line`` (series over their positions), ``column`` (bars) or ``scatter`` (each
    series is (x block, y block): a curve such as an activation function). A series is
    ``(legend, block, index, axis)``: row ``index`` of ``block`` when ``axis`` is ``row``, column
    ``index`` when it is ``col``; for a scatter, ``(legend, (x, index, axis), (y, index, axis))``.
    It takes up a rectangle of cells like a block (``CHART_ROWS`` × ``CHART_COLS`` and a title row),
    so arrangement, overlap checks and page breaks treat it as one."""

    title: str
    series: list
    top: int = 0
    left: int = 0
    kind: str = "line"
    x_title: str = ""
    y_title: str = ""
    rows: int = CHART_ROWS
    cols: int = CHART_COLS
    name: str = "chart"

    def occupied(self) -> list[tuple[int, int, bool]]:
        return [(r, c, False) for r in range(self.top, self.bottom) for c in range(self.left, self.right)]


class Group(Box):
    """Blocks and the text around them that move together: one time step, one head, one panel.

    Its box is that of everything in it, labels included (``top`` is the row of its highest
    label, ``bottom`` the first row under it), so groups placed next to each other never touch;
    its body holds the cells of its blocks and charts."""

    def __init__(self) -> None:
        self.unit = False  # True for what one operation lays out (see sheet.op)
        self.anchor: Block | None = None  # the block of a unit that stands where the unit is placed
        self.blocks: list[Block] = []
        self.glyphs: list[Glyph] = []
        self.charts: list[Chart] = []

    def footprint(self) -> Box:
        if not (self.blocks or self.charts or self.glyphs):
            raise LayoutError("an empty group has no place")
        return around(item.footprint() for item in self.blocks + self.charts + self.glyphs)

    def body(self) -> Box:
        return around(item.body() for item in self.blocks + self.charts)

    top = property(lambda self: self.footprint().top)
    left = property(lambda self: self.footprint().left)
    rows = property(lambda self: self.footprint().rows)
    cols = property(lambda self: self.footprint().cols)

    def move(self, d_row: int, d_col: int) -> None:
        for item in self.blocks + self.charts + self.glyphs:
            item.move(d_row, d_col)

    def add(self, item: "Block | Chart | Glyph | Group") -> None:
        if isinstance(item, Group):
            self.blocks.extend(b for b in item.blocks if b not in self.blocks)
            self.charts.extend(c for c in item.charts if c not in self.charts)
            self.glyphs.extend(g for g in item.glyphs if g not in self.glyphs)
        elif isinstance(item, Block):
            if item not in self.blocks:
                self.blocks.append(item)
        elif isinstance(item, Chart):
            if item not in self.charts:
                self.charts.append(item)
        else:
            self.glyphs.append(item)
