"""What lint reports: a finding names the file, sheet, cell range, rule and one line of why.

Rules report cells; :func:`gather` joins the cells one rule reports for one reason in one block into
rectangles, so a whole row read from the wrong place is one finding, not one per cell.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from xlhand.lint.reader import Area

RULES = {
    "shape": "a formula that breaks the shape of its block (off by one, a shifted or partial range, "
             "a reference to a neighbouring block)",
    "empty-or-text": "arithmetic over an empty cell or a label",
    "partial-range": "a range that covers part of a block and spills past its edge; MMULT of ranges "
                     "whose sizes do not fit",
    "typed-number": "a number typed where the rest of the block is formulas",
    "unread": "computed cells nothing reads while the rest of their block is read",
    "log10": "one-argument LOG (base 10) in a workbook that uses EXP",
    "boolean-answer": "an answer cell that evaluates to TRUE/FALSE",
    "not-portable": "a function that is not portable (dynamic arrays, LAMBDA, a missing _xlfn. prefix)",
    "external-link": "a link to another workbook or an absolute file path",
}


@dataclass(frozen=True)
class Finding:
    file: str
    sheet: str
    range: str
    rule: str
    message: str

    def as_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        where = f"{self.sheet}!{self.range}" if self.sheet else "(workbook)"
        return f"{self.file}: {where}: {self.rule}: {self.message}"


@dataclass(frozen=True)
class Hit:
    """One cell a rule reports; hits with the same sheet, rule and group become one finding."""

    sheet: str
    cell: tuple[int, int] | None  # None: the workbook as a whole
    rule: str
    message: str
    group: object = None  # what joins hits: usually the block and the reason


def gather(file: str, hits: list[Hit]) -> list[Finding]:
    groups: dict[tuple, list[Hit]] = {}
    for hit in hits:
        groups.setdefault((hit.sheet, hit.rule, hit.group if hit.group is not None else id(hit)), []).append(hit)
    out = []
    for (sheet, rule, _), members in groups.items():
        first: dict[tuple[int, int], tuple[int, Hit]] = {}  # cell -> (its place among the members, its first hit)
        for k, member in enumerate(members):
            if member.cell is not None:
                first.setdefault(member.cell, (k, member))
        if not first:
            out.append(Finding(file, sheet, "", rule, members[0].message))
            continue
        for area in rectangles(sorted(first)):
            _, earliest = min(first[at] for at in area.cells())  # the message of the area's first hit
            out.append(Finding(file, sheet, str(area), rule, earliest.message))
    return sorted(out, key=lambda f: (f.sheet, _order(f.range), f.rule))


def rectangles(cells: list[tuple[int, int]]) -> list[Area]:
    """``cells`` as a few rectangles: runs along rows, then runs of equal runs down columns."""
    runs: list[list[int]] = []  # [row, first col, last col]
    for r, c in sorted(cells):
        if runs and runs[-1][0] == r and runs[-1][2] == c - 1:
            runs[-1][2] = c
        else:
            runs.append([r, c, c])
    areas: list[list[int]] = []  # [top, left, bottom, right]
    latest: dict[tuple[int, int], list[int]] = {}  # (left, right) -> the area of those columns that ends lowest
    for r, left, right in runs:
        match = latest.get((left, right))
        if match and match[2] == r - 1:
            match[2] = r
        else:
            latest[(left, right)] = [r, left, r, right]
            areas.append(latest[(left, right)])
    return [Area(t, l, b, r) for t, l, b, r in areas]


def _order(text: str) -> tuple:
    import re

    m = re.match(r"([A-Z]+)([0-9]+)", text)
    return (int(m[2]), len(m[1]), m[1]) if m else (0, 0, "")
