"""Stage 4, scored: every blank cell of one identified hand-in, against the student's own key.

Scoring of one blank cell (tolerance: |got − want| ≤ max(atol, rtol·|want|)):

* **right**  — the student's value matches the key: 1 point;
* **carried forward** — it does not match the key, but it matches the key's own formula for that
  cell evaluated on the student's earlier cells: ``ecf`` points (default 0.5, always < 1);
* **wrong** / **empty** — 0 points.

Error carried forward cannot be gamed: it is given only when every earlier cell the formula reads
is an attempt (a number; not empty, not text, and not a 0 where the key is not 0 unless the
student's own earlier cells give that 0), and only when the carried value differs from the key's.
So entering zeros or leaving blanks upstream never earns credit downstream, and a cell never earns
more by being carried than by being right.

Only the worksheet handed out to the student is scored (:func:`handed_out`): an answer key, another
student's worksheet or another exercise's scores 0 with the reason.

Values are trusted only when the grader computed them: IronCalc recalculates every submission in
the sandboxed reader (:mod:`xlhand.grading.sandbox`), results saved in the file are never read, and
a blank whose formula reads anything but the visible sheet (another sheet, a defined name,
INDIRECT, …; see :mod:`xlhand.grading.policy`) scores 0 and is flagged by what it used.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from xlsxwriter.utility import xl_rowcol_to_cell

from xlhand.build import key_sheet, subtitle
from xlhand.classroom.manifest import Manifest, Tolerance
from xlhand.classroom.worksheet import CHECK_SHEET, NOT_A_CHECK, name_line, self_check_mismatches
from xlhand.engines.compare import as_grid, as_number
from xlhand.engines.workbook import EngineError
from xlhand.grading.credit import World
from xlhand.grading.identify import Identified
from xlhand.grading.sandbox import Extracted, Rejected
from xlhand.layout.sheet import MARGIN_COLS
from xlhand.model.exercise import expected_values

ECF_CREDIT = 0.5
LOCALIZED = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
SHOWN = 5  # cells named in one flag before "and N more"


@dataclass
class CellGrade:
    block: str
    address: str
    row: int  # 0-based sheet position
    col: int
    step: int
    status: str  # right | ecf | wrong | empty
    got: object
    expected: float | str
    carried: float | None = None
    points: float = 0.0
    refused: str | None = None  # why the formula in the cell was not accepted


@dataclass(frozen=True)
class Scored:
    """One hand-in scored: its cells, flags, the score by step, and the sheet it was scored on
    (the student's variant laid out once, which the feedback workbook is written from)."""

    cells: tuple[CellGrade, ...]
    flags: tuple[str, ...]
    steps: dict  # step -> (score, max)
    sheet: object
    reason: str = ""  # not "": the hand-in is not graded (a workbook for another exercise …)

    @property
    def score(self) -> float:
        return sum(c.points for c in self.cells)

    @property
    def max(self) -> float:
        return float(len(self.cells))


def score_file(item: Identified, manifest: Manifest, tol: Tolerance, ecf: float) -> Scored:
    """The one place a readable, identified hand-in is set aside while scoring (``reason``)."""
    flags: list[str] = []
    try:
        return _score(item, manifest, tol, ecf, flags)
    except (Rejected, EngineError) as e:
        return Scored((), tuple(flags), {}, None, getattr(e, "reason", str(e)))


def _score(item: Identified, manifest: Manifest, tol: Tolerance, ecf: float, flags: list[str]) -> Scored:
    ex, student = item.read.extracted, item.student
    resolved = manifest.resolved(student)
    sheet = key_sheet(resolved, "feedback")
    expected = expected_values(resolved.exercise, resolved, sheet)
    changed = _changed_givens(sheet, ex)
    handed_out(ex, manifest, student, resolved, sheet, expected, changed, flags)
    if changed:
        flags.append(f"changed givens: {_some([f'{name} {a}' for name, a in changed])} (graded against the key)")

    cells = _blank_cells(sheet, manifest.blanks, expected, ex)
    refused: dict[str, list[str]] = {}
    for cell in cells:
        if cell.refused:
            refused.setdefault(cell.refused, []).append(cell.address)
    for reason, addresses in refused.items():
        flags.append(f"{_some(addresses)}: formula {reason} (scored 0)")

    world = _world(sheet, cells, tol)
    affected = _affected_steps(world, {a for _, a in changed}, cells)
    if affected:
        flags.append("steps using changed givens: " + ", ".join(str(s) for s in sorted(affected)))
    problems: dict[str, list[str]] = {"localized": [], "error": [], "text": [], "guess": []}
    steps: dict[int, tuple[float, float]] = {}
    _score_all(cells, world, tol, ecf, problems)
    for cell in cells:
        score, most = steps.get(cell.step, (0.0, 0.0))
        steps[cell.step] = (score + cell.points, most + 1.0)
    for kind, what in (("localized", "localized decimals (type a point: 0.5)"), ("error", "error values"),
                       ("text", "text in number cells"),
                       ("guess", "right only by a number typed where it is wrong in many blanks (a guess; scored 0)")):
        if problems[kind]:
            flags.append(f"{what}: {_some(problems[kind])}")
    return Scored(tuple(cells), tuple(flags), steps, sheet)


def score_typed(sheet, expected: dict, blanks, typed: dict, tol: Tolerance, ecf: float = ECF_CREDIT
                ) -> list[CellGrade]:
    """Every blank scored as if ``typed`` ({(row, col) 0-based: value}, None for empty) stood in them,
    without a file: the same rules as a hand-in (a constant guess over many variants is scored so)."""
    rows = max(b.bottom for b in sheet.blocks.values()) + 2
    cols = max(b.right for b in sheet.blocks.values()) + 2
    ex = Extracted(values=[[typed.get((r, c)) for c in range(cols)] for r in range(rows)])
    cells = _blank_cells(sheet, blanks, expected, ex)
    world = _world(sheet, cells, tol)
    _score_all(cells, world, tol, ecf, {"localized": [], "error": [], "text": []})
    return cells


def _blank_cells(sheet, blanks, expected: dict, ex: Extracted) -> list[CellGrade]:
    """Every blank cell with what the student's file gives it (a refused formula: its text)."""
    cells = []
    for name in blanks:
        block = sheet.blocks[name]
        want = as_grid(expected[name])
        for i in range(block.rows):
            for j in range(block.cols):
                r, c = block.top + i, block.left + j
                key_value = want[i][j] if isinstance(want[i][j], str) else float(want[i][j])
                cell = CellGrade(block.name, block.cell(i, j), r, c, block.step or 0, "wrong", ex.value(r, c),
                                 key_value, refused=ex.refused.get((r, c)))
                if cell.refused:
                    cell.got = ex.formula(r, c)
                cells.append(cell)
    return cells


def handed_out(ex: Extracted, manifest: Manifest, student, resolved, sheet, expected: dict, changed,
               flags: list[str]) -> None:
    """Raise :class:`Rejected` unless the file is this student's worksheet as it was handed out: a
    worksheet (not a key, whatever its metadata says), of this exercise, with the student's own
    numbers, labels and layout, and (with a self-check) the hidden check sheet testing each blank
    against the student's own answers."""
    exercise = ex.meta.get("xlhand_exercise")
    if exercise and exercise != manifest.exercise:
        raise Rejected(f"a workbook for exercise '{exercise}', not '{manifest.exercise}'")
    fingerprint = ex.meta.get("xlhand_params_fingerprint")
    if fingerprint and fingerprint != student.fingerprint:
        flags.append("the workbook was built for another student's numbers")
        owner = next((s.id for s in manifest.students if s.fingerprint == fingerprint), None)
        raise Rejected("not this student's worksheet: built for " +
                       (f"the numbers of student '{owner}'" if owner else "other numbers"))
    mode = ex.meta.get("xlhand_mode")
    if mode and mode != "student":
        flags.append(f"the workbook is not a student worksheet but a '{mode}' workbook (an answer key?)")
        raise Rejected(f"not the worksheet handed out: a '{mode}' workbook (an answer key?)")
    if ex.sheet_state != "visible":
        flags.append(f"sheet '{manifest.sheet}' is {ex.sheet_state} in this workbook "
                     f"(was the hidden answer key renamed?)")
        raise Rejected(f"not the worksheet handed out: sheet '{manifest.sheet}' is {ex.sheet_state} "
                       f"(the hidden answer key renamed?)")
    if manifest.self_check:
        _self_check_handed_out(ex, manifest, student, sheet, expected)
    for (row, col), want, what in _texts(resolved, student, sheet):
        got = ex.value(row, col)
        if not (isinstance(got, str) and (got == want if what != "subtitle" else _same_subtitle(got, want))):
            raise Rejected(f"not the worksheet handed out to '{student.id}': the {what} at "
                           f"{xl_rowcol_to_cell(row, col)} reads {_show(got)}, not {_show(want)}")
    givens = sum(b.rows * b.cols for b in sheet.blocks.values() if b.values is not None)
    if 2 * len(changed) > givens:
        raise Rejected(f"not this student's worksheet: {len(changed)} of {givens} givens are not the student's "
                       f"numbers")


def _self_check_handed_out(ex: Extracted, manifest: Manifest, student, sheet, expected: dict) -> None:
    """The hidden check sheet is there and tests every blank against this student's answers."""
    if CHECK_SHEET not in ex.sheets:
        raise Rejected("not the worksheet handed out: its hidden self-check sheet is missing (an answer key?)")
    if not manifest.check_holds_expected:
        return  # an older class set: its checks read a hidden key sheet, which is not compared
    wrong = self_check_mismatches(ex.checks, sheet, manifest.blanks, expected, manifest.tolerance)
    if wrong:
        first = wrong[0]
        what = first.got if first.got == NOT_A_CHECK or str(first.got).startswith("a tolerance") else \
            f"expects {_show(first.got)}, not {_show(first.expected)}"
        raise Rejected(f"not the worksheet handed out to '{student.id}': its self-check of {first.block} "
                       f"{first.cell}: {what} ({len(wrong)} checks differ: another student's worksheet?)")


def _texts(resolved, student, sheet):
    """((row, col), text, what) the worksheet handed out shows: its title, subtitle (the mode), the
    student line and every block's label."""
    yield (sheet.title_row, MARGIN_COLS), sheet.title, "title"
    yield (sheet.subtitle_row, MARGIN_COLS), subtitle(resolved, "student"), "subtitle"
    yield (sheet.name_row, MARGIN_COLS), name_line(student), "student line"
    for block in sheet.blocks.values():
        if block.label:
            yield (block.top - 1, block.left), block.label, f"label of {block.name}"


def _same_subtitle(got: str, want: str) -> bool:
    """Equal but for the xlhand version at its end (a class set may be graded by a later version)."""
    return got.rsplit(" · ", 1)[0] == want.rsplit(" · ", 1)[0]


def _show(value) -> str:
    return repr(value if isinstance(value, str) else "" if value is None else str(value))[:60]


def _guess_numbers(cells: list[CellGrade], attempts: dict, tol: Tolerance) -> set[float]:
    """The numbers the student typed where they are wrong in many blanks (more than a fifth, and more
    than one): one number everywhere is a guess."""
    wrong: dict[float, int] = {}
    for c in cells:
        number = attempts[c.address]
        if number is not None and not tol.close(number, c.expected):
            wrong[round(number, 9)] = wrong.get(round(number, 9), 0) + 1
    most = max(1, len(cells) // 5)
    return {number for number, count in wrong.items() if count > most}


def _guesses(cells: list[CellGrade], attempts: dict, tol: Tolerance) -> set[str]:
    """The cells holding a guess (:func:`_guess_numbers`), right or wrong: nothing is carried from a
    guess (a ReLU, a maximum or a copy of it would otherwise be "right for the earlier cells")."""
    numbers = _guess_numbers(cells, attempts, tol)
    return {c.address for c in cells if attempts[c.address] is not None and round(attempts[c.address], 9) in numbers}


def _unearned(cells: list[CellGrade], world: World, tol: Tolerance) -> list[CellGrade]:
    """The right cells that a guess made right: typing 0 everywhere makes every ReLU-blocked, masked
    or zero-gradient cell "right". A cell holding a guess earns its point only when the student's own
    earlier cells (no guess among them) give it by the key's formula; a cell that reads no earlier
    blank cannot show that, and earns nothing from a guess."""
    unearned = []
    for cell in cells:
        if cell.status != "right" or cell.address not in world.guesses:
            continue
        number = as_number(cell.got)
        carried = world.carried(cell.address) if world.blanks_before(cell.address) else None
        if carried is None or not tol.close(number, carried):
            unearned.append(cell)
    return unearned


def _world(sheet, cells: list[CellGrade], tol: Tolerance) -> World:
    """The student's sheet, with every cell something can be carried from: a number (not a refused
    formula, not text, not empty). A 0 where the key is not 0 is kept only when the student's own
    earlier cells explain it (the key's formula on them gives 0: ReLU of a negative slip): a 0 typed
    with nothing upstream to explain it carries nothing, however far downstream."""
    attempts = {c.address: None if c.refused or not isinstance(c.expected, float) else as_number(c.got)
                for c in cells}
    guesses = _guesses(cells, attempts, tol)
    for address in guesses:
        attempts[address] = None
    doubtful = {c.address for c in cells if attempts[c.address] == 0 and not tol.close(0.0, c.expected)}
    world = World(sheet, attempts, guesses)
    while doubtful:
        unexplained = set()
        for address in doubtful:
            carried = world.carried(address)
            if carried is None or not tol.close(0.0, carried):
                unexplained.add(address)
        if not unexplained:
            break
        doubtful -= unexplained
        world.distrust(unexplained)
    return world


def _score_all(cells: list[CellGrade], world: World, tol: Tolerance, ecf: float, problems: dict) -> None:
    for cell in cells:
        _score_cell(cell, tol, problems)
    for cell in _unearned(cells, world, tol):
        cell.status, cell.points = "wrong", 0.0
        problems.setdefault("guess", []).append(cell.address)
    by_address = {cell.address: cell for cell in cells}
    for address in _carried_forward(cells, world, tol):
        cell = by_address[address]
        cell.status, cell.points = "ecf", ecf


def _score_cell(cell: CellGrade, tol: Tolerance, problems: dict) -> None:
    if cell.refused:
        return
    value, key_value = cell.got, cell.expected
    number = as_number(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        cell.status = "empty"
    elif isinstance(key_value, str):
        if str(value).strip().casefold() == key_value.strip().casefold():
            cell.status, cell.points = "right", 1.0
    elif number is not None:
        if tol.close(number, key_value):
            cell.status, cell.points = "right", 1.0
    elif isinstance(value, str) and LOCALIZED.match(value):
        problems["localized"].append(f"{cell.address} '{value.strip()}'")
    elif isinstance(value, str) and value.startswith("#"):
        problems["error"].append(f"{cell.address} {value}")
    else:
        problems["text"].append(f"{cell.address} {str(value)[:20]!r}")


def _carried_forward(cells: list[CellGrade], world: World, tol: Tolerance) -> list[str]:
    """The wrong cells that are right for the student's own earlier cells: the key's formula on them
    gives the student's number (and not the key's)."""
    credited = []
    for cell in cells:
        number = None if cell.refused else as_number(cell.got)
        if cell.status != "wrong" or number is None or isinstance(cell.expected, str):
            continue
        carried = cell.carried = world.carried(cell.address)
        if carried is not None and not tol.close(carried, cell.expected) and tol.close(number, carried):
            credited.append(cell.address)
    return credited


def _changed_givens(sheet, ex: Extracted) -> list[tuple[str, str]]:
    """(block, address) of every given that is not the student's variant any more."""
    changed = []
    for block in sheet.blocks.values():
        if block.values is None:
            continue
        for i in range(block.rows):
            for j in range(block.cols):
                got = as_number(ex.value(block.top + i, block.left + j))
                want = float(block.values[i, j])
                if got is None or not np.isclose(got, want, rtol=1e-12, atol=1e-12):
                    changed.append((block.name, block.cell(i, j)))
    return changed


def _some(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _affected_steps(world: World, changed: set[str], cells: list[CellGrade]) -> set[int]:
    if not changed:
        return set()
    reached = world.downstream(changed)
    return {cell.step for cell in cells if cell.address in reached}
