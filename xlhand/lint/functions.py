"""The functions a workbook calls and the files it reaches.

* ``log10``: ``LOG(x)`` with one argument is the base-10 logarithm; in a workbook that uses EXP the
  natural logarithm is meant, ``LN(x)``.
* ``not-portable``: functions only Excel 365 has (dynamic arrays such as FILTER, SORT, SEQUENCE;
  ANCHORARRAY, the ``A1#`` spill reference; LET, LAMBDA and the names that hold one), cells that spill
  a dynamic array, and newer functions written without the ``_xlfn.`` prefix Excel needs in the file
  (Excel shows #NAME?). XlsxWriter's own list says which functions need the prefix.
* ``external-link``: links to other workbooks (someone's OneDrive) and absolute file paths, and the
  formulas that read one, directly or through a defined name. Links are reported, never followed.
"""
from __future__ import annotations

from functools import lru_cache

from xlhand.lint.context import Context
from xlhand.lint.findings import Hit
from xlhand.lint.workbook import Sheet

EXCEL_365 = set("""FILTER SORT SORTBY UNIQUE SEQUENCE RANDARRAY XLOOKUP XMATCH LET LAMBDA MAP REDUCE SCAN MAKEARRAY
BYROW BYCOL ANCHORARRAY SINGLE VSTACK HSTACK TAKE DROP TOROW TOCOL CHOOSECOLS CHOOSEROWS EXPAND WRAPCOLS
WRAPROWS TEXTSPLIT TEXTBEFORE TEXTAFTER ISOMITTED""".split())


def check(ctx: Context, sheet: Sheet) -> list[Hit]:
    hits = []
    layout = ctx.layouts[sheet.name]
    lambdas = {name.upper() for name, text in ctx.book.names.items() if "LAMBDA(" in text.upper()}
    uses_exp = "EXP" in ctx.functions
    for at, formula in ctx.parsed[sheet.name].items():
        block = layout.block_of.get(at)
        group = id(block) if block is not None else at
        for call in formula.calls:
            if call.plain == "LOG" and call.args == 1 and uses_exp:
                hits.append(Hit(sheet.name, at, "log10", f"{formula.text}: LOG with one argument is base 10; "
                                f"this workbook uses EXP, so the natural log LN(…) is meant", group=(group, "log")))
            why = _not_portable(call.name, call.plain, lambdas)
            if why:
                hits.append(Hit(sheet.name, at, "not-portable", why, group=(group, "portable", why)))
        if sheet.cells[at].spilled:
            hits.append(Hit(sheet.name, at, "not-portable", "a spilled dynamic array: only Excel 365 spills",
                            group=(group, "spill")))
        for ref in formula.refs:
            why = _external(ref.text, ref.sheet, ref.external) or _outside_name(ctx, ref.name)
            if why:
                hits.append(Hit(sheet.name, at, "external-link", why, group=(group, "link", ref.sheet or ref.name)))
    return hits


def check_book(ctx: Context) -> list[Hit]:
    """Findings about the workbook as a whole: its links to other files."""
    hits = [Hit("", None, "external-link", f"links to another workbook: {target} (never followed)")
            for target in ctx.book.links]
    for name, text in ctx.book.names.items():
        if _points_outside(text):
            hits.append(Hit("", None, "external-link", f"the defined name {name} points outside: {text}"))
    return hits


def _points_outside(text: str) -> bool:
    """Whether a defined name's formula reaches another workbook, a file path or a URL."""
    return "[" in text or ":\\" in text or "://" in text


def _outside_name(ctx: Context, name: str | None) -> str | None:
    text = ctx.book.names.get(name) if name else None
    return f"reads the defined name {name}, which points outside: {text}" if text and _points_outside(text) else None


def _not_portable(name: str, plain: str, lambdas: set[str]) -> str | None:
    if plain in EXCEL_365:
        return f"uses {plain}, which only Excel 365 has"
    if plain in lambdas:
        return f"calls {plain}, a LAMBDA name: only Excel 365 runs it"
    if name == plain and _needs_prefix(plain):
        return f"{plain} needs the _xlfn. prefix in the file (Excel shows #NAME? without it)"
    return None


@lru_cache(maxsize=4096)
def _needs_prefix(name: str) -> bool:
    from xlsxwriter.worksheet import Worksheet

    return "_xlfn." in Worksheet()._prepare_formula(f"{name}(1)", expand_future_functions=True)


def _external(text: str, sheet: str | None, external: bool) -> str | None:
    place = sheet or ""
    if ":\\" in place or place.startswith(("/", "\\\\")) or "://" in place:
        return f"reads {text} through an absolute file path"
    if external:
        return f"reads another workbook ({text})"
    return None
