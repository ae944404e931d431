"""Where the chain of computed cells goes.

* ``unread``: computed cells that nothing reads while the rest of their block is read, and read more
  than once or unevenly: the reads they miss went to their neighbours. In a chain of steps every
  computed block feeds the next; when the second row of a product reads the first row's queries, the
  second row of queries is computed and never read, and the first row is read twice. A block nothing
  reads at all is an answer; a step that reads one row of a block on purpose reads it once.
* ``boolean-answer``: an answer cell (a formula nothing reads) that evaluates to TRUE/FALSE, a
  comparison where a number was meant (``=A1>0`` for a ReLU).
"""
from __future__ import annotations

from xlhand.lint.context import Context, others_among, reads_other_cells
from xlhand.lint.findings import Hit
from xlhand.lint.patterns import by_design, edge_band
from xlhand.lint.workbook import Sheet


def check(ctx: Context, sheet: Sheet) -> list[Hit]:
    return _unread(ctx, sheet) + _boolean_answers(ctx, sheet)


def _unread(ctx: Context, sheet: Sheet) -> list[Hit]:
    hits = []
    for block in ctx.layouts[sheet.name].blocks:
        computed = block.computed
        if len(computed) < 2:
            continue
        found = {at: ctx.reads[sheet.name].readers(at) for at in computed}
        readers = {at: len(found[at] - {(sheet.name, at)}) for at in computed}
        unread = [at for at in computed if not others_among(found[at], sheet, at)]
        if not unread or len(unread) == len(computed) or by_design(set(unread), computed, block.area, bands=False):
            continue
        if not _read_instead(readers, unread):
            continue
        if _another_step(ctx, sheet, set(unread), computed, block.area):
            continue
        why = (f"computed and never read, while the rest of {block.describe()} is read: "
               f"does a later step read the wrong cells?")
        hits += [Hit(sheet.name, at, "unread", why, group=(id(block), "unread")) for at in unread]
    return hits


def _read_instead(readers: dict, unread: list) -> bool:
    """Whether the reads the unread cells miss went to their neighbours: some cell of the block is
    read more often than another, or every read cell more than once (a step that reads only part of
    a block on purpose reads each of those cells once)."""
    counts = [n for at, n in readers.items() if at not in unread]
    return bool(counts) and (max(counts) > min(counts) or min(counts) >= 2)


def _another_step(ctx: Context, sheet: Sheet, unread: set, computed: list, area) -> bool:
    """The unread cells are whole rows or columns at an edge of the block with formulas of their own
    (no shape in common with the cells that are read): the next step's answer, drawn touching it."""
    parsed = ctx.parsed[sheet.name]

    def shapes(cells):
        return {parsed[at].skeleton if at in parsed else "#" for at in cells}

    return edge_band(unread, computed, area) and not shapes(unread) & shapes(set(computed) - unread)


def _boolean_answers(ctx: Context, sheet: Sheet) -> list[Hit]:
    hits = []
    layout = ctx.layouts[sheet.name]
    for at, formula in ctx.parsed[sheet.name].items():
        value = sheet.cells[at].value
        if not (isinstance(value, bool) or formula.boolean) or reads_other_cells(ctx, sheet, at):
            continue
        block = layout.block_of.get(at)
        why = f"{formula.text} gives TRUE/FALSE, not a number"
        hits.append(Hit(sheet.name, at, "boolean-answer", why, group=(id(block) if block else at, "bool")))
    return hits
