"""How few pages a worksheet could take at 100 %: the area its blocks need against the page's.

Run on demand:  python benchmarks/page_floor.py [EXERCISE[:SIZE] …]   (default: every exercise, small
and medium). Not a timing: a measure of how much page work is left. For each worksheet (its answer
rows tall enough to write in) and paper it prints the pages planned and two floors, in pages of the
orientation that needs fewer: the printed blocks' footprints (label row, cells, side label) and the
header band, packed without a gap; and the same with one empty column right of every block (what a
layout needs between blocks that are not one matrix). Where the second floor is over the budget, no
layout at 100 % meets it: only drawing less, a smaller preset or another budget can.
"""
from __future__ import annotations

import math
import sys

from xlhand.build import key_sheet, page_plan
from xlhand.layout.blocks import Block
from xlhand.layout.paper import (BLANK_ROW_POINTS, COLUMN_MM, MM_PER_POINT, PAPERS, ROW_POINTS, page_budget,
                                 page_columns, printable_mm)
from xlhand.model import catalog
from xlhand.model.resolve import resolve



def floors(name: str, size: str, paper: str) -> tuple[float, float]:
    """(no gap, one gap column a block): the least pages of ``paper`` the worksheet's area needs."""
    sheet = key_sheet(resolve(catalog.get(name), size=size), "student")
    tall = {block.top + i for block in (sheet.blocks[n] for n in sheet.answer_names()) for i in range(block.rows)}
    height = lambda top, bottom: sum(BLANK_ROW_POINTS if r in tall else ROW_POINTS  # noqa: E731
                                     for r in range(top, bottom)) * MM_PER_POINT
    boxes = [b.footprint() for b in sheet.printed() if isinstance(b, Block)]
    tight = sum(height(f.top, f.top + f.rows) * f.cols * COLUMN_MM for f in boxes)
    spaced = sum(height(f.top, f.top + f.rows) * (f.cols + 1) * COLUMN_MM for f in boxes)
    best = (math.inf, math.inf)
    for landscape in (False, True):
        width, page_height = page_columns(paper, landscape) * COLUMN_MM, printable_mm(paper, landscape)[1]
        header = sheet.header_rows * ROW_POINTS * MM_PER_POINT * width
        page = width * page_height
        best = min(best, ((header + tight) / page, (header + spaced) / page))
    return best


def main(specs: list[str]) -> None:
    cases = [tuple(spec.split(":")) if ":" in spec else (spec, size)
             for spec in specs or catalog.names() for size in ([None] if ":" in spec else ("small", "medium"))]
    print("| exercise | size | budget | paper | pages | floor | floor, a gap column a block |")
    print("|---|---|---:|---|---:|---:|---:|")
    for name, size in cases:
        budget = page_budget(name, size)
        for paper in PAPERS:
            pages = page_plan(resolve(catalog.get(name), size=size), paper, student=True).pages
            tight, spaced = floors(name, size, paper)
            flag = " (over)" if budget and spaced > budget else ""
            print(f"| {name} | {size} | {budget or '–'} | {paper} | {pages} | {tight:.2f} | {spaced:.2f}{flag} |")


if __name__ == "__main__":
    main(sys.argv[1:])
