"""What a formula in a student's blank may do: compute with any function on cells of the visible
sheet, and nothing that reaches beyond it.

A formula that reaches beyond the visible sheet could read an answer it did not compute: another
workbook (a key linked in), a sheet added to the file, a worksheet of an older xlhand that carried its
key (``=INDIRECT("xlhand_key"&CHAR(33)&"B12")``, ``='xlhand_key'!B12``), a name the student added to
workbook.xml, the hidden ``xlhand_check`` sheet (``x_…`` names stand for the visible blocks, but a
name can be pointed anywhere). The rule is read off a real
tokenizer (openpyxl's), never a search for suspicious text. Refused:

* the functions of :data:`REACHING`: references built from text or offsets (INDIRECT, OFFSET),
  anything that reads the workbook's structure, other files or the web (CELL, INFO, SHEET,
  FORMULATEXT, HYPERLINK, WEBSERVICE, …), volatile functions (NOW, TODAY, RAND, …), functions
  that define names (LET, LAMBDA), add-in functions (``_xll.``); CHOOSE among references; a range
  built by a function (``A1:INDEX(…)``);
* every reference that is not a plain cell, range, whole row or whole column of the visible sheet
  (with or without its own sheet name): another sheet, a 3-D reference, an external workbook, a
  defined or table name, an R1C1 reference.

Every other function is accepted (LARGE, SIGN, IFERROR, MEDIAN, LOG, PRODUCT, INT, MOD, …), and
constants (numbers, text, array constants) are judged by their value.

:func:`check` judges one formula; :func:`refused` follows every cell a blank reads, on the same
sheet, through however many formula cells that are not blanks, so a blank that reads a scratch
cell whose own formula reads the key is refused too. A refused blank costs that blank only: a blank
that reads it is scored on the value it computes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from openpyxl.formula.tokenizer import Token, Tokenizer, TokenizerError
from xlsxwriter.utility import xl_rowcol_to_cell


MAX_ROW, MAX_COL = 1_048_576, 16_384
_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]+)")
_COLUMN = re.compile(r"\$?([A-Za-z]{1,3})")
_ROW = re.compile(r"\$?([0-9]+)")
_R1C1 = re.compile(r"R(\[-?[0-9]+\]|[0-9]+)?C(\[-?[0-9]+\]|[0-9]+)?", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z_\\][A-Za-z0-9_.\\?]*")
_FUNCTION_PREFIXES = ("_XLFN._XLWS.", "_XLFN.", "_XLWS.")
# Functions that reach beyond the cells of the visible sheet, or change by themselves.
REACHING = frozenset("""
    INDIRECT OFFSET CELL INFO SHEET SHEETS AREAS ISREF FORMULATEXT ISFORMULA GETPIVOTDATA
    HYPERLINK WEBSERVICE FILTERXML RTD DDE CALL REGISTER.ID EVALUATE IMAGE
    CUBEVALUE CUBEMEMBER CUBESET CUBESETCOUNT CUBERANKEDMEMBER CUBEKPIMEMBER CUBEMEMBERPROPERTY
    NOW TODAY RAND RANDBETWEEN RANDARRAY
    LET LAMBDA MAP REDUCE SCAN MAKEARRAY BYROW BYCOL ISOMITTED
""".split())

Cell = tuple[int, int]  # (row, col), 1-based


@dataclass(frozen=True)
class Area:
    """A rectangle of cells, 1-based and inclusive."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def size(self) -> int:
        return (self.bottom - self.top + 1) * (self.right - self.left + 1)

    def __contains__(self, cell: Cell) -> bool:
        return self.top <= cell[0] <= self.bottom and self.left <= cell[1] <= self.right

    def overlaps(self, other: "Area") -> bool:
        return not (other.bottom < self.top or other.top > self.bottom or
                    other.right < self.left or other.left > self.right)

    def cells(self) -> Iterable[Cell]:
        return ((r, c) for r in range(self.top, self.bottom + 1) for c in range(self.left, self.right + 1))

    def addresses(self) -> list[str]:
        return [xl_rowcol_to_cell(r - 1, c - 1) for r, c in self.cells()]

    def __str__(self) -> str:
        first = xl_rowcol_to_cell(self.top - 1, self.left - 1)
        last = xl_rowcol_to_cell(self.bottom - 1, self.right - 1)
        return first if first == last else f"{first}:{last}"


@dataclass(frozen=True)
class Inspection:
    reason: str | None  # None: the formula is allowed; else the first rule it breaks
    areas: tuple[Area, ...]  # the cells of the sheet it reads


def check(formula: str, sheet: str) -> str | None:
    """None when ``formula`` computes only with portable functions on cells of ``sheet``; else a
    one-line reason naming what it used (``uses INDIRECT``, ``reads another sheet 'xlhand_key'``)."""
    return inspect(formula, sheet).reason


def areas(formula: str, sheet: str) -> tuple[Area, ...]:
    """The areas of ``sheet`` that ``formula`` reads."""
    return inspect(formula, sheet).areas


@lru_cache(maxsize=65536)
def inspect(formula: str, sheet: str) -> Inspection:
    text = formula.strip()
    try:
        tokens = Tokenizer(text if text.startswith("=") else "=" + text).items
    except TokenizerError:
        return Inspection("cannot be read as a formula", ())
    reasons: list[str] = []
    found: list[Area] = []
    nesting: list[str] = []  # the functions (and "(" for a parenthesis) the token stands inside
    for token in tokens:
        if token.type == Token.FUNC and token.subtype == Token.OPEN:
            reasons.append(_function(token.value))
            nesting.append(token.value.rstrip("(").lstrip("@").upper())
        elif token.type == Token.PAREN and token.subtype == Token.OPEN:
            nesting.append("(")
        elif token.subtype == Token.CLOSE and token.type in (Token.FUNC, Token.PAREN) and nesting:
            nesting.pop()
        elif token.type == Token.OPERAND and token.subtype == Token.RANGE:
            reason, area = _reference(token.value, sheet)
            reasons.append(reason)
            if next((f for f in reversed(nesting) if f != "("), "") == "CHOOSE":
                reasons.append("uses CHOOSE over references")
            if area is not None:
                found.append(area)
    return Inspection(next((r for r in reasons if r), None), tuple(found))


def without_sumproduct_intersections(formula: str) -> str | None:
    """``formula`` without its implicit-intersection operators (``@``) when every one of them stands
    inside a SUMPRODUCT (whose arguments every spreadsheet evaluates as arrays); None otherwise."""
    if "@" not in formula:
        return None
    try:
        tokens = Tokenizer(formula if formula.startswith("=") else "=" + formula)
    except TokenizerError:
        return None
    functions: list[str] = []
    found = False
    for token in tokens.items:
        if token.value.startswith("@") and token.type in (Token.FUNC, Token.OPERAND):
            if "SUMPRODUCT" not in functions:
                return None
            token.value, found = token.value[1:], True
        if token.subtype == Token.OPEN and token.type in (Token.FUNC, Token.PAREN):
            functions.append(token.value.rstrip("(").upper())
        elif token.subtype == Token.CLOSE and token.type in (Token.FUNC, Token.PAREN) and functions:
            functions.pop()
    return tokens.render() if found else None


def _function(token: str) -> str | None:
    name = token.rstrip("(").lstrip("@")
    if any(ch in name for ch in ":![]"):
        return f"uses a reference built by a function ({name})"
    upper = name.upper()
    if upper.startswith("_XLL."):
        return f"uses the add-in function {name[5:]}"
    for prefix in _FUNCTION_PREFIXES:
        if upper.startswith(prefix):
            upper = upper[len(prefix):]
            break
    return f"uses {upper}" if upper in REACHING else None


def _reference(token: str, sheet: str) -> tuple[str | None, Area | None]:
    """Why the reference ``token`` is not allowed (or None), and the area of ``sheet`` it covers."""
    text = token.lstrip("@")
    if text.startswith("["):
        return f"reads an external workbook ({text})", None
    parts = _split_outside_quotes(text, ":")
    located = [_split_sheet(part) for part in parts]
    if any(name is None for name, _ in located):
        return f"uses {text!r}, which is not a cell or range", None
    named = [name for name, _ in located if name]
    for name in named:
        if "[" in name:
            return f"reads an external workbook ({text})", None
    bounds = [_bounds(ref) for _, ref in located]
    if len(parts) > 1 and not located[0][0] and any(name for name, _ in located[1:]):
        return f"uses a 3-D reference ({text})", None  # Sheet1:Sheet2!A1
    for name in named:
        if name != sheet:
            return f"reads another sheet '{name}'", None
    if len(parts) == 1 and bounds[0] is not None and bounds[0][2] != "cell":
        bounds[0] = None  # a lone column or row label is a name, not a reference
    if any(b is None for b in bounds):
        ref = next(ref for (_, ref), b in zip(located, bounds) if b is None)
        return _not_a_reference(ref), None
    if len({b[2] for b in bounds}) > 1:
        return f"uses {text!r}, which is not a cell or range", None
    return None, _span([b[:2] for b in bounds], bounds[0][2])


def _not_a_reference(ref: str) -> str:
    if ref.upper() == "#REF!":
        return "uses a deleted reference (#REF!)"
    if _R1C1.fullmatch(ref):
        return f"uses an R1C1 reference ({ref})"
    if "[" in ref:
        return f"uses a table reference ({ref})"
    if _NAME.fullmatch(ref):
        return f"uses the defined name {ref}"
    return f"uses {ref!r}, which is not a cell or range"


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts, current, quoted = [], [], False
    for ch in text:
        if ch == "'":
            quoted = not quoted  # a doubled '' toggles twice: still inside
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _split_sheet(part: str) -> tuple[str | None, str]:
    """('' or the sheet name, the rest) of ``Sheet!A1`` / ``'My sheet'!A1`` / ``A1``; None when malformed."""
    if part.startswith("'"):
        end = 1
        while end < len(part):
            if part[end] == "'":
                if part[end + 1:end + 2] == "'":
                    end += 2
                    continue
                break
            end += 1
        if part[end + 1:end + 2] != "!":
            return None, part
        return part[1:end].replace("''", "'"), part[end + 2:]
    if "!" in part:
        name, _, rest = part.partition("!")
        return name, rest
    return "", part


def _bounds(ref: str) -> tuple[int | None, int | None, str] | None:
    """(row, col, kind) of one end of a reference: a cell, a whole column or a whole row."""
    if m := _CELL.fullmatch(ref):
        col, row = _column_number(m[1]), int(m[2])
        return (row, col, "cell") if col <= MAX_COL and 1 <= row <= MAX_ROW else None
    if m := _COLUMN.fullmatch(ref):
        col = _column_number(m[1])
        return (None, col, "column") if col <= MAX_COL else None
    if m := _ROW.fullmatch(ref):
        row = int(m[1])
        return (row, None, "row") if 1 <= row <= MAX_ROW else None
    return None


def _span(ends: list[tuple[int | None, int | None]], kind: str) -> Area:
    rows = [r for r, _ in ends]
    cols = [c for _, c in ends]
    if kind == "column":
        return Area(1, min(cols), MAX_ROW, max(cols))
    if kind == "row":
        return Area(min(rows), 1, max(rows), MAX_COL)
    return Area(min(rows), min(cols), max(rows), max(cols))


def cell_of(address: str) -> Cell | None:
    """(row, col), 1-based, of an A1 address (``$`` allowed); None if it is not one."""
    bounds = _bounds(address)
    return bounds[:2] if bounds is not None and bounds[2] == "cell" else None


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


# --- following references through the sheet ----------------------------------------------------
@dataclass(frozen=True)
class Formula:
    """A formula of the sheet and the cells whose values it gives: its own cell, or the whole range
    of an array formula (whose other cells hold no formula of their own)."""

    text: str
    area: Area


def refused(formulas: list[Formula], cells: Iterable[Cell], sheet: str) -> dict[Cell, str]:
    """For each of ``cells`` whose value comes, directly or through other cells of ``sheet``, from a
    formula that breaks the rule: the reason, naming the cell where it was broken."""
    cells = list(cells)
    single = {(f.area.top, f.area.left): k for k, f in enumerate(formulas) if f.area.size == 1}
    ranges = [k for k, f in enumerate(formulas) if f.area.size > 1]

    def givers(area: Area) -> set[int]:
        """The formulas that give a value to some cell of ``area``."""
        if area.size <= len(single):
            found = {single[cell] for cell in area.cells() if cell in single}
        else:
            found = {k for cell, k in single.items() if cell in area}
        return found | {k for k in ranges if formulas[k].area.overlaps(area)}

    # every formula the cells read, directly or not (breadth first: no depth limit)
    readers: dict[int, set[int]] = {}  # formula -> the formulas that read it
    broken: dict[int, tuple[str, int]] = {}  # formula -> (reason, where)
    todo = sorted(set().union(*(givers(Area(r, c, r, c)) for r, c in cells))) if cells else []
    seen = set(todo)
    while todo:
        k = todo.pop()
        found = inspect(formulas[k].text, sheet)
        if found.reason:
            broken[k] = (found.reason, k)
            continue
        for area in found.areas:
            for p in givers(area):
                readers.setdefault(p, set()).add(k)
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
    # what a broken formula gives, everything that reads it inherits, except through a blank (a blank
    # that reads a refused blank is scored on its own value: the refused one costs itself only)
    blank = set(cells)
    todo = [k for k in broken if not _only_blanks(formulas[k].area, blank)]
    while todo:
        k = todo.pop()
        for reader in readers.get(k, ()):
            if reader not in broken:
                broken[reader] = broken[k]
                if not _only_blanks(formulas[reader].area, blank):
                    todo.append(reader)
    out = {}
    for cell in cells:
        for k in sorted(givers(Area(*cell, *cell))):
            if k in broken:
                reason, where = broken[k]
                at = formulas[where].area
                out[cell] = reason if cell in at and at.size == 1 else f"{reason} (in {at})"
                break
    return out


def _only_blanks(area: Area, blank: set[Cell]) -> bool:
    return area.size <= len(blank) and all(cell in blank for cell in area.cells())
