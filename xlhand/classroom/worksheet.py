"""Student worksheets, built from the same laid-out sheet as the key.

A student workbook holds two sheets:

* the visible sheet: the key's layout, with the cells of the chosen steps left empty and unlocked
  (the blank role), everything else locked by sheet protection;
* ``xlhand_check`` (very hidden, protected): at each blank's address, "right" when the visible cell
  is right within the tolerance, "wrong" when it holds something else, "" while it is empty. Each
  check holds its expected value inside its own formula, so no cell of the workbook holds an answer:
  a formula that reads the hidden sheet finds marks, never a value that would turn a blank green.

Conditional formats on the blanks read ``xlhand_check`` (green for right, red for wrong), and a
progress cell counts the right ones, so the sheet never shows an expected value. The workbook
structure is protected so the hidden sheet cannot be unhidden from the application.
``--no-self-check`` leaves the check sheet out (exams).

The sheet is laid out once: the worksheet is the key's layout (only the subtitle, which names the
mode, differs), and a class set reuses it for the student's key workbook.
"""
from __future__ import annotations

import dataclasses
import io
import json
import re
import zipfile
from dataclasses import dataclass

from xlsxwriter.utility import xl_rowcol_to_cell

from xlhand.build import key_sheet, key_workbook, metadata, sheet_name, subtitle
from xlhand.classroom.manifest import DEFAULT_ATOL, DEFAULT_RTOL, Tolerance
from xlhand.classroom.roster import Student
from xlhand.engines.compare import Mismatch, as_grid
from xlhand.engines.recalc import BuildRefused, SheetCheck, reference_values, verify_built
from xlhand.errors import XlhandError
from xlhand.layout import style
from xlhand.layout import paper
from xlhand.layout.paper import REFUSED_NOTE
from xlhand.layout.sheet import Sheet
from xlhand.layout.sheet import MARGIN_COLS
from xlhand.layout.writer import WorkbookWriter, conditional_over, fast_formulas, quote_sheet
from xlhand.model.resolve import Resolved

CHECK_SHEET = "xlhand_check"
NOT_A_CHECK = "not a self-check xlhand writes"
RIGHT, WRONG = "right", "wrong"  # the marks of the check sheet (text: no mark reads as an answer)
PROGRESS_FORMAT = {"bold": True, "font_color": "#1F3864"}


def name_line(student: Student | None) -> str:
    """The line under the colours of a worksheet: who (filled in on a class set's), the date, and the
    rounding rule."""
    if student is None:
        return paper.name_line()
    return paper.name_line(f"Name: {student.name} · id {student.id}" if student.name else f"Student id {student.id}")


# --- which cells are blank -----------------------------------------------------------------
def parse_steps(text: str | None) -> set[int] | None:
    """``"1,3-5"`` -> {1, 3, 4, 5}; ``None`` or ``"all"`` -> None (every step)."""
    if text is None or str(text).strip().lower() in ("", "all"):
        return None
    steps: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise XlhandError(f"--blank {text}: '{part}' is not a step number or range such as 2-4")
        first, last = int(m[1]), int(m[2] or m[1])
        if first < 1 or last < first:
            raise XlhandError(f"--blank {text}: '{part}' is not a valid range of step numbers")
        steps.update(range(first, last + 1))
    return steps


def blank_names(sheet: Sheet, steps: set[int] | None = None) -> list[str]:
    """The computed blocks a student fills in: those of ``steps`` (default: every computed block but
    the columns that only draw a chart, such as an activation curve over fifty x values)."""
    if steps is not None:
        unknown = sorted(k for k in steps if not 1 <= k <= len(sheet.steps))
        if unknown:
            raise XlhandError(f"--blank: step {unknown[0]} does not exist (steps 1..{len(sheet.steps)})")
    names = ([b.name for b in sheet.blocks.values() if b.is_computed and b.step in steps] if steps is not None
             else sheet.answer_names())
    if not names:
        raise XlhandError("--blank: the chosen steps have no computed cells to fill in")
    return names


def steps_from_metadata(value) -> set[int] | None:
    """The ``xlhand_blank_steps`` property ("all" or a JSON list) back as a set of steps."""
    if not value or value == "all":
        return None
    return {int(k) for k in json.loads(value)}


def blank_cells(sheet: Sheet, blanks: list[str]) -> list[tuple[str, int, int, int, int]]:
    """(block, i, j, row, col) of every blank cell, 0-based sheet positions."""
    out = []
    for name in blanks:
        b = sheet.blocks[name]
        out.extend((name, i, j, b.top + i, b.left + j) for i in range(b.rows) for j in range(b.cols))
    return out


def check_formula(visible: str, address: str, want: float | str, tol: Tolerance) -> str:
    """RIGHT when the visible cell holds ``want`` (a number within the grader's tolerance, or the
    same text), WRONG for anything else typed (text, an error, a wrong number), "" while empty. The
    expected value is a literal of the formula, so no cell holds it."""
    mine = f"{quote_sheet(visible)}!{address}"
    if isinstance(want, str):
        text = want.replace('"', '""')
        test = f'IF(ISERROR({mine}),"{WRONG}",IF({mine}="{text}","{RIGHT}","{WRONG}"))'
    else:
        test = (f'IF(ISNUMBER({mine}),IF(ABS({_literal(want)}-{mine})<={_literal(tol.limit(want))},'
                f'"{RIGHT}","{WRONG}"),"{WRONG}")')
    return f'IF(ISBLANK({mine}),"",{test})'


def _literal(number: float) -> str:
    """A number as a formula writes it: 15 significant digits, as the application keeps it."""
    return f"{float(number):.15G}"


_NUMBER = r"-?[0-9.]+(?:[Ee][-+]?[0-9]+)?"
_EXPECTS = re.compile(rf'ABS\((?P<want>{_NUMBER})-(?P<cell>[^)]+)\)<=(?P<limit>{_NUMBER}),'
                      r'|(?P<cell2>[^(=]+)="(?P<text>(?:[^"]|"")*)",')


def expected_in(formula: str) -> tuple[str, float | str, float | None] | None:
    """(cell, expected value, limit) that a check formula written by :func:`check_formula` tests
    against, read back from its text (``None`` for any other formula)."""
    m = _EXPECTS.search(formula or "")
    if m is None:
        return None
    if m["want"] is not None:
        return m["cell"], float(m["want"]), float(m["limit"])
    return m["cell2"], m["text"].replace('""', '"'), None


def self_check_mismatches(found: dict, sheet: Sheet, blanks: list[str], expected: dict,
                          tol: Tolerance) -> list[Mismatch]:
    """Where the check formulas ``found`` ({(row, col) 0-based: formula text} of a check sheet) do not
    test each blank against its expected value with the tolerance ``tol`` (formulas as an engine
    writes them back: quotes and number format may differ from ours, the numbers may not)."""
    out = []
    grids = {block: as_grid(expected[block]) for block in blanks}
    for block, i, j, r, c in blank_cells(sheet, blanks):
        address = xl_rowcol_to_cell(r, c)
        want = grids[block][i][j]
        read = expected_in(found.get((r, c)))
        if read is None or read[0].split("!")[-1] != address:
            out.append(Mismatch(block, address, want, NOT_A_CHECK))
        elif isinstance(want, str) or isinstance(read[1], str):
            if read[1] != want:
                out.append(Mismatch(block, address, want, read[1]))
        elif not (_same(read[1], float(want)) and _same(read[2], tol.limit(float(want)))):
            out.append(Mismatch(block, address, want, read[1] if not _same(read[1], float(want)) else
                                f"a tolerance of {read[2]:g}"))
    return out


def _same(a: float, b: float) -> bool:
    """The same number, as 15 significant digits keep it and as another machine's NumPy may compute
    it (a difference of cancelling terms, 1e-17 here and -2e-17 there, is the same 0); another
    variant's answers differ by far more."""
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


# --- the student workbook ------------------------------------------------------------------
def student_workbook(resolved: Resolved, *, steps: set[int] | None = None, password: str | None = None,
                     self_check: bool = True, student: Student | None = None,
                     rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, paper: str = "a4",
                     key: Sheet | None = None, expected: dict | None = None, key_verified: bool = False,
                     sample: bool = False) -> bytes:
    """A worksheet with the cells of ``steps`` blank (default: every computed block).

    ``key`` is the variant's laid-out key sheet (laid out here when not given) and ``expected`` its
    reference values: a class set passes the ones it also writes the key workbook from, so each
    sheet is laid out once. Recalculated in memory before it is returned: the givens must stand as
    given and every self-check cell must read "" (empty). The formulas left on the visible sheet
    (steps not blanked) then store the results they have while the blanks are empty, as any
    spreadsheet would show them. The layout's formulas are verified through the key workbook, built
    here unless the caller says it verified (or will verify) it itself (``key_verified``).
    ``sample``: print a labelled excerpt.
    """
    key = key if key is not None else key_sheet(resolved, "key")
    expected = expected if expected is not None else reference_values(resolved, key)
    sheet = dataclasses.replace(key, subtitle=subtitle(resolved, "student"))  # the same layout
    blanks = blank_names(sheet, steps)
    extra = {"blank_steps": sorted(steps) if steps else "all", "self_check": self_check,
             "tolerance": {"rtol": rtol, "atol": atol}}
    if student is not None:
        extra.update(student_id=student.id, student_name=student.name)
    parts = _StudentParts(resolved, sheet, expected if self_check else None, blanks, password, student,
                          Tolerance(rtol, atol), extra, paper, sample)
    data = parts.write(None)
    evaluated = _verify_student(parts, data, expected)
    shown = [b for b in sheet.blocks.values() if b.is_computed and b.name not in blanks]
    if shown:
        data = parts.write(_results_on(evaluated, parts.name))
    if not key_verified:
        key_workbook(resolved, sheet=key, expected=expected)  # the layout's formulas, verified through the key
    return data


@dataclass
class _StudentParts:
    resolved: Resolved
    sheet: Sheet
    expected: dict | None  # the reference values the self-check tests against; None: no self-check
    blanks: list[str]
    password: str | None
    student: Student | None
    tol: Tolerance
    extra: dict
    paper: str
    sample: bool = False

    @property
    def name(self) -> str:
        return sheet_name(self.resolved.exercise)

    def write(self, cached) -> bytes:
        sheet, name, blanks = self.sheet, self.name, self.blanks
        st = self.student
        who = "" if st is None else f"Student: {st.name} · id {st.id}" if st.name else f"Student id {st.id}"
        writer = WorkbookWriter(self.paper)
        ws = writer.write_sheet(sheet, name, blanks=frozenset(blanks), cached=cached, who=who,
                                name_line=name_line(st), note=REFUSED_NOTE, sample=self.sample)
        if self.expected is not None:
            self._write_check(writer, ws)
        ws.protect(self.password or "", {"select_locked_cells": True, "select_unlocked_cells": True})
        writer.set_metadata(metadata(self.resolved, "student", **self.extra))
        _lock_structure_on_write(writer.workbook)
        return writer.to_bytes()

    def _write_check(self, writer: WorkbookWriter, ws) -> None:
        """The very hidden check sheet, the blanks' green and red, and the progress cell."""
        cells = blank_cells(self.sheet, self.blanks)
        check = writer.workbook.add_worksheet(CHECK_SHEET)
        fast_formulas(check)
        grids = {block: as_grid(self.expected[block]) for block in self.blanks}
        for block, i, j, r, c in cells:
            want = grids[block][i][j]
            check.write_formula(r, c, "=" + check_formula(self.name, xl_rowcol_to_cell(r, c), want, self.tol), None, "")
        check.very_hidden()
        check.protect(self.password or "")
        blocks = [self.sheet.blocks[name] for name in self.blanks]
        for mark, colours in ((RIGHT, style.CHECK_RIGHT), (WRONG, style.CHECK_WRONG)):
            conditional_over(ws, blocks, lambda cell, mark=mark: f'={quote_sheet(CHECK_SHEET)}!{cell}="{mark}"',
                             writer.fmt(colours))
        rows = [r for *_, r, _ in cells]
        cols = [c for *_, c in cells]
        span = f"{xl_rowcol_to_cell(min(rows), min(cols))}:{xl_rowcol_to_cell(max(rows), max(cols))}"
        ws.write_formula(0, MARGIN_COLS,  # on screen, above the print area
                         f'=COUNTIF({quote_sheet(CHECK_SHEET)}!{span},"{RIGHT}")&" of {len(cells)} cells right"',
                         writer.fmt(PROGRESS_FORMAT), f"0 of {len(cells)} cells right")


def _verify_student(parts: _StudentParts, data: bytes, expected: dict):
    """Recalculate the worksheet in memory: givens intact, every self-check empty."""
    sheet = parts.sheet
    label = f"{parts.resolved.exercise.name} (student worksheet)"
    givens = [b for b in sheet.blocks.values() if not b.is_computed]
    evaluated = verify_built(data, label, [SheetCheck(parts.name, sheet, givens)], expected)
    if parts.expected is not None:
        index = evaluated.sheet_index(CHECK_SHEET)
        for block, _, _, r, c in blank_cells(sheet, parts.blanks):
            value = evaluated.value(index, r + 1, c + 1)
            if value not in ("", None):
                raise BuildRefused(f"{label}: not written: the self-check of {block} {xl_rowcol_to_cell(r, c)} "
                                   f"reads {value!r} while the cell is empty (expected nothing)")
    return evaluated


def _results_on(evaluated, sheet_name_: str):
    """A cached-value lookup from an evaluated workbook: what each visible formula cell computes
    (nothing for a cell that is an error while the blanks are empty)."""
    index = evaluated.sheet_index(sheet_name_)

    def value(block, i: int, j: int):
        cell = evaluated.cell(index, block.top + i + 1, block.left + j + 1)
        return None if cell.error else cell.value

    return value


def _lock_structure_on_write(book) -> None:
    """Have XlsxWriter write ``<workbookProtection lockStructure="1"/>`` before ``<bookViews>`` (no
    unhiding, renaming, inserting or deleting sheets). XlsxWriter has no call for it; this is what
    :func:`lock_structure` does to a written file, without unpacking and recompressing the zip."""
    views = book._write_book_views

    def protected_then_views():
        book._xml_empty_tag("workbookProtection", [("lockStructure", 1)])
        views()
    book._write_book_views = protected_then_views


def lock_structure(data: bytes) -> bytes:
    """Protect the workbook structure (no unhiding, renaming, inserting or deleting sheets).

    XlsxWriter has no call for it, so ``<workbookProtection lockStructure="1"/>`` is added to
    xl/workbook.xml; every zip entry keeps its name, order and fixed timestamp."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/workbook.xml":
                text = body.decode("utf-8")
                if "<workbookProtection" not in text:
                    text = text.replace("<bookViews>", '<workbookProtection lockStructure="1"/><bookViews>', 1)
                body = text.encode("utf-8")
            dst.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()
