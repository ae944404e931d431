"""Printing: every worksheet prints readably on A4 or Letter, at full size, in reading order.

Nothing is shrunk to fit (text stays at its size, blank cells stay tall enough to write in); a
drawing wider or taller than a page goes on across several pages, left to right, then down. Page
breaks are chosen between blocks, never through one: each break is the last row (or column) before
the page is full that no block, label included, spans. The orientation is the one that needs fewer
pages. Every page carries the title in its header and "Page k of n" in its footer (with the
student's name and id on a class worksheet).

Sizes: a row is 15 points; a column of width 7.5 is 57 pixels in Excel (15.1 mm at 96 dpi) but
prints about 16.3 mm wide from LibreOffice (measured with Carlito, Calibri's metric twin), so pages
are planned with the wider 16.5 mm.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

from xlhand.layout.blocks import Block
from xlhand.layout.drawing import Chart, Glyph
from xlhand.layout.sheet import MARGIN_COLS, SCREEN_ROWS, Sheet

PAPERS = {"a4": (9, 210.0, 297.0), "letter": (1, 215.9, 279.4)}  # Excel's paper code, width and height in mm
# no page header is printed (the title stands once, on page 1), so the top margin only clears the
# printer's edge; the bottom one leaves the footer its line
MARGIN_MM = {"left": 10.0, "right": 10.0, "top": 10.0, "bottom": 13.0, "header": 6.0, "footer": 6.0}
MM_PER_POINT = 25.4 / 72
ROW_POINTS = 15.0
BLANK_ROW_POINTS = 18.0  # 6.35 mm: tall enough to write a number in by hand
COLUMN_MM = 16.5
MARGIN_COLUMN_MM = 6.5


# the lines a worksheet's header adds (the key prints them too, so that it keeps the worksheet's pages)
ROUNDING = "Round each answer to 2 decimals."
REFUSED_NOTE = "Scores 0: formulas reading other sheets or names, built references, chance, the date."


def name_line(who: str = "") -> str:
    """A worksheet's line under the colours: who (a line to write one's name on when not known),
    the date, and the rounding rule."""
    return f"{who or 'Name: ______________________'}      Date: ______________      {ROUNDING}"


HEADER_MIN_COLS = 8  # the header is at least this wide, however narrow the drawing: no column break in it
# the pages a worksheet (and its key) may take at full size: three times as many for the exercises
# over 600 cells at size small (tests/layout/test_pages.py holds them to it; benchmarks/page_floor.py)
PAGE_BUDGET = {"small": 2, "medium": 4}
THREE_TIMES_THE_BUDGET = {"transformer-full", "deepseek", "alphafold-triangle"}


def page_budget(exercise: str, size: str) -> int | None:
    """The pages ``exercise`` may print on at ``size`` (None: a size without a budget)."""
    if size not in PAGE_BUDGET:
        return None
    return PAGE_BUDGET[size] * (3 if exercise in THREE_TIMES_THE_BUDGET else 1)


@dataclass(frozen=True)
class PageGrid:
    """How much of the sheet one page holds, and where the pages break."""

    landscape: bool
    columns: int  # sheet columns per page (after the margin column)
    rows: int  # default-height rows per page
    row_breaks: list[int]
    col_breaks: list[int]
    cuts: int = 0  # breaks forced through a block larger than a page
    empty: int = 0  # pages of the grid with nothing on them, which are not printed
    apart: int = 0  # products printed on another page than one of their operands
    scale: float = 1.0  # the print scale: 1 is full size

    @property
    def pages(self) -> int:
        """The pages printed: every page of the grid that holds something."""
        return (len(self.row_breaks) + 1) * (len(self.col_breaks) + 1) - self.empty

    @property
    def first_page_last_col(self) -> int:
        """The last sheet column printed on the first page."""
        return (self.col_breaks[0] if self.col_breaks else MARGIN_COLS + self.columns) - 1


def printable_mm(paper: str, landscape: bool) -> tuple[float, float]:
    _, width, height = PAPERS[paper]
    if landscape:
        width, height = height, width
    return (width - MARGIN_MM["left"] - MARGIN_MM["right"], height - MARGIN_MM["top"] - MARGIN_MM["bottom"])


def page_columns(paper: str = "a4", landscape: bool = True) -> int:
    """How many sheet columns one printed page holds at full size, after the margin column: 16 on
    A4 in landscape, 11 in portrait."""
    width_mm, _ = printable_mm(paper, landscape)
    return int((width_mm - MARGIN_COLUMN_MM) / COLUMN_MM)


def narrowest_page_columns(landscape: bool = True) -> int:
    """:func:`page_columns` on the narrower of the papers (what fits on A4 and on Letter)."""
    return min(page_columns(paper, landscape) for paper in PAPERS)


def page_grid(sheet: Sheet, paper: str, row_points: dict[int, float], landscape: bool | None = None,
              full_size: bool = False) -> PageGrid:
    """The page grid in the given orientation, or else the one that cuts fewer blocks, then needs
    fewer pages (portrait on a tie); ``full_size`` keeps a sheet that may shrink at 100 %."""
    key = (paper, landscape, tuple(sorted(row_points.items())), full_size)
    if key in sheet.page_plans:
        return sheet.page_plans[key]
    options = (False, True) if landscape is None else (landscape,)
    grids = [_grid(sheet, paper, option, row_points) if full_size else _scaled_grid(sheet, paper, option, row_points)
             for option in options]
    best = min(grids, key=lambda g: (g.cuts, g.apart, g.pages, -g.scale, g.landscape))
    if sheet.header_rows:  # finished: nothing moves any more, the plan holds for every later writer
        sheet.page_plans[key] = best
    return best


SCALE_STEP = 0.05


def _scaled_grid(sheet: Sheet, paper: str, landscape: bool, row_points: dict[int, float]) -> PageGrid:
    """Full size, unless the sheet may shrink (``sheet.min_scale``) and is wider than the page or
    has a block larger than one: then, in steps of 5 % down to the sheet's floor, the largest scale at
    which it fits the page width, cuts no block and keeps the most products with their operands (or,
    if none fits the width, the largest that cuts none; else the floor)."""
    full = _grid(sheet, paper, landscape, row_points)
    if sheet.min_scale >= 1 or (not full.cuts and not full.col_breaks):
        return full
    scales = [round(1 - SCALE_STEP * k, 2) for k in range(1, int((1 - sheet.min_scale) / SCALE_STEP + 1e-9) + 1)]
    grids = [_grid(sheet, paper, landscape, row_points, scale) for scale in scales]
    fits = [g for g in grids if not g.cuts and not g.col_breaks]  # of those, the fewest products apart
    return (min(fits, key=lambda g: (g.apart, -g.scale)) if fits else None) \
        or next((g for g in grids if not g.cuts), None) or (grids[-1] if grids else full)


def _grid(sheet: Sheet, paper: str, landscape: bool, row_points: dict[int, float], scale: float = 1.0) -> PageGrid:
    width_mm, height_mm = printable_mm(paper, landscape)
    width_mm, height_mm = width_mm / scale, height_mm / scale  # the sheet's millimetres a page holds
    columns = int((width_mm - MARGIN_COLUMN_MM) / COLUMN_MM)
    # a chart reaches one row up: a break right at its top would print its top edge on the page before
    printed = sheet.printed()
    boxes = ([b.footprint().edges() for b in printed if isinstance(b, Block)]
             + [(top - 1, left, bottom, right) for top, left, bottom, right
                in (c.footprint().edges() for c in printed if isinstance(c, Chart))])
    texts = [glyph.footprint().edges() for glyph in printed if isinstance(glyph, Glyph)]  # arrows glue nothing
    header = (SCREEN_ROWS, MARGIN_COLS, sheet.header_rows, MARGIN_COLS)  # the header is one piece
    row_spans = (_touching([(top, bottom, left, right) for top, left, bottom, right in boxes + [header]])
                 + [(top, bottom) for top, _, bottom, _ in texts])
    col_spans = (_touching([(left, right, top, bottom) for top, left, bottom, right in boxes])
                 + [(left, right) for _, left, _, right in texts] + [(MARGIN_COLS, MARGIN_COLS + HEADER_MIN_COLS)])
    last_row = max((s[1] for s in row_spans), default=1)
    last_col = max((s[1] for s in col_spans), default=MARGIN_COLS + 1)
    below = list(accumulate((row_points.get(r, ROW_POINTS) * MM_PER_POINT for r in range(last_row)), initial=0.0))
    glue = _products(sheet)
    row_breaks, row_cuts = _breaks(row_spans, SCREEN_ROWS, last_row,  # below[r]: mm of the rows over row r
                                   lambda start, end: below[end] - below[start] <= height_mm,
                                   [(top, bottom) for top, _, bottom, _ in glue])
    col_breaks, col_cuts = _breaks(col_spans, MARGIN_COLS, last_col, lambda start, end: end - start <= columns,
                                   [(left, right) for _, left, _, right in glue])
    held = {(r, c) for top, left, bottom, right in boxes + texts + [header]
            for r in range(_band(top, row_breaks), _band(max(bottom - 1, top), row_breaks) + 1)
            for c in range(_band(left, col_breaks), _band(max(right - 1, left), col_breaks) + 1)}
    empty = (len(row_breaks) + 1) * (len(col_breaks) + 1) - len(held)
    apart = sum(any(top < b < bottom for b in row_breaks) or any(left < b < right for b in col_breaks)
                for top, left, bottom, right in glue)
    return PageGrid(landscape, columns, int(height_mm / (ROW_POINTS * MM_PER_POINT)), row_breaks, col_breaks,
                    row_cuts + col_cuts, empty, apart, scale)


def _band(index: int, breaks: list[int]) -> int:
    """Which page along one axis holds row (or column) ``index``: the breaks before it."""
    return sum(b <= index for b in breaks)


def _touching(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int]]:
    """Spans (start, end) along one axis, with boxes that touch end to start and overlap across the
    other axis (a matrix and the mean row right under it) joined into one: no break between them."""
    spans = [(start, end) for start, end, _, _ in boxes]
    starting: dict[int, list[tuple[int, int, int, int]]] = {}
    for box in boxes:
        starting.setdefault(box[0], []).append(box)
    for a_start, a_end, a_lo, a_hi in boxes:
        for _, b_end, b_lo, b_hi in starting.get(a_end, []):
            if a_lo < b_hi and b_lo < a_hi:
                spans.append((a_start, b_end))
    return spans


def _products(sheet: Sheet) -> list[tuple[int, int, int, int]]:
    """The box around each product and its operands (weights left, input above): a page break
    avoids crossing it where it can."""
    out = []
    for block in sheet.blocks.values():
        operands = [sheet.blocks[name] for name in block.extra.get("operands", ())]
        if operands:
            edges = [b.footprint().edges() for b in [block, *operands]]
            out.append((min(e[0] for e in edges), min(e[1] for e in edges),
                        max(e[2] for e in edges), max(e[3] for e in edges)))
    return out


def _breaks(spans: list[tuple[int, int]], first: int, last: int, fits, glued=()) -> list[int]:
    """Greedy page breaks over [first, last): each page ends at the furthest index that fits and that
    no span crosses (a break at b means b starts the next page), nor, where the page allows, a
    ``glued`` span (a product with its operands); forced where one span is larger than a page."""
    crossing, crossing_glue = set(), set()
    for start, end in spans:
        crossing.update(range(start + 1, end))
    for start, end in glued:
        crossing_glue.update(range(start + 1, end))
    breaks, cuts, start = [], 0, first
    while not fits(start, last):
        end = start + 1
        while end < last and fits(start, end + 1):
            end += 1
        allowed = ([b for b in range(start + 1, end + 1) if b not in crossing and b not in crossing_glue]
                   or [b for b in range(start + 1, end + 1) if b not in crossing])
        cut = allowed[-1] if allowed else end
        cuts += not allowed
        breaks.append(cut)
        start = cut
    return breaks, cuts


def header_footer(name: str, who: str = "", excerpt: str = "") -> tuple[str, str]:
    """Excel header and footer codes: no header (the title stands once, on the first page), and a
    footer with the exercise's name on the left (and what an excerpt leaves out), page k of n, and
    the student on the right."""
    def escape(text: str) -> str:
        return text.replace("&", "&&")

    left = escape(name) + (f" · {escape(excerpt)}" if excerpt else "")
    footer = f"&L{left}&CPage &P of &N" + (f"&R{escape(who)}" if who else "")
    return "", footer


def excerpt(sheet: Sheet, grid: PageGrid) -> str:
    """What a printed excerpt (the first pages) shows and leaves out, in words for its footer."""
    bottom = grid.row_breaks[SAMPLE_PAGES - 1] if len(grid.row_breaks) >= SAMPLE_PAGES else None
    right = grid.col_breaks[0] if grid.col_breaks else None
    if bottom is None and right is None:
        return ""

    def printed(k: int) -> bool:
        return all((bottom is None or b.bottom <= bottom) and (right is None or b.right <= right)
                   for b in sheet.blocks.values() if b.step == k)

    shown = next((k - 1 for k in range(1, len(sheet.steps) + 1) if not printed(k)), len(sheet.steps))
    if not shown:
        return "excerpt: its first pages (no step whole), the rest on screen"
    steps = f"steps 1–{shown}" if shown > 1 else "step 1"
    return f"excerpt: {steps} of {len(sheet.steps)}, the rest on screen"


SAMPLE_PAGES = 2  # a printed excerpt (--sample) holds the first two pages down the first column of pages


def setup(ws, sheet: Sheet, paper: str, grid: PageGrid, who: str = "", sample: bool = False) -> None:
    """Apply the paper, orientation, margins, breaks, header and footer of ``grid`` to an XlsxWriter
    worksheet; with ``sample``, print only its first pages (an excerpt, labelled in the footer)."""
    ws.set_paper(PAPERS[paper][0])
    if grid.landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    inch = 25.4
    ws.set_margins(left=MARGIN_MM["left"] / inch, right=MARGIN_MM["right"] / inch,
                   top=MARGIN_MM["top"] / inch, bottom=MARGIN_MM["bottom"] / inch)
    header, footer = header_footer(sheet.exercise or sheet.title, who, excerpt(sheet, grid) if sample else "")
    ws.set_header(header, {"margin": MARGIN_MM["header"] / inch})
    ws.set_footer(footer, {"margin": MARGIN_MM["footer"] / inch})
    ws.set_print_scale(round(grid.scale * 100))
    things = [thing.footprint() for thing in sheet.printed()]
    last_row = max([b.bottom for b in things] + [sheet.header_rows]) - 1
    last_col = max([b.right for b in things] + [grid.first_page_last_col + 1]) - 1
    if sample:  # the first pages down the first column of pages
        last_row = min(last_row, grid.row_breaks[SAMPLE_PAGES - 1] - 1 if len(grid.row_breaks) >= SAMPLE_PAGES
                       else last_row)
        last_col = min(last_col, grid.col_breaks[0] - 1 if grid.col_breaks else last_col)
    if sheet.aside:  # what is set aside is not printed
        last_col = min(last_col, min(item.footprint().left for item in sheet.aside) - 1)
    ws.print_area(SCREEN_ROWS, 0, last_row, last_col)  # the screen row above it is not printed
    ws.print_across()
    if grid.row_breaks:
        ws.set_h_pagebreaks(grid.row_breaks)
    if grid.col_breaks:
        ws.set_v_pagebreaks(grid.col_breaks)
