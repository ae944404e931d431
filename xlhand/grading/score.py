"""Stage 4, scored: every blank cell of one identified hand-in, against the student's own key.

Scoring of one blank cell (tolerance: |got − want| ≤ max(atol, rtol·|want|)):

* **right**  — the student's value matches the key: 1 point;
* **carried forward** — it does not match the key, but it matches the key's own formula for that
  cell evaluated on the student's earlier cells: ``ecf`` points (default 0.5, always < 1);
* **wrong** / **empty** — 0 points.

Error carried forward cannot be gamed: it is given only when every earlier cell the formula reads
is an attempt (a number; not empty, not text, and not a 0 where the key is not 0), and only when
the carried value differs from the key's. So entering zeros or leaving blanks upstream never earns
credit downstream, and a cell never earns more by being carried than by being right.

Values are trusted only when the grader computed them: IronCalc recalculates every submission in
the sandboxed reader (:mod:`xlhand.grading.sandbox`), results saved in the file are never read, and
a blank whose formula reads anything but the visible sheet (the hidden key, a defined name,
INDIRECT, …; see :mod:`xlhand.grading.policy`) scores 0 and is flagged by what it used.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from xlhand.build import key_sheet
from xlhand.classroom.manifest import Manifest, Tolerance
from xlhand.engines.compare import as_grid, as_number
from xlhand.engines.workbook import EngineError
from xlhand.grading.credit import World
from xlhand.grading.identify import Identified
from xlhand.grading.sandbox import Extracted, Rejected
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
    fingerprint = ex.meta.get("xlhand_params_fingerprint")
    if fingerprint and fingerprint != student.fingerprint:
        flags.append("the workbook was built for another student's numbers")
    exercise = ex.meta.get("xlhand_exercise")
    if exercise and exercise != manifest.exercise:
        raise Rejected(f"a workbook for exercise '{exercise}', not '{manifest.exercise}'")
    mode = ex.meta.get("xlhand_mode")
    if mode and mode != "student":
        flags.append(f"the workbook is not a student worksheet but a '{mode}' workbook (an answer key?)")
    if ex.sheet_state != "visible":
        flags.append(f"sheet '{manifest.sheet}' is {ex.sheet_state} in this workbook "
                     f"(was the hidden answer key renamed?)")

    changed = _changed_givens(sheet, ex)
    if changed:
        flags.append(f"changed givens: {_some([f'{name} {a}' for name, a in changed])} (graded against the key)")

    cells = _blank_cells(sheet, manifest.blanks, expected, ex)
    refused: dict[str, list[str]] = {}
    for cell in cells:
        if cell.refused:
            refused.setdefault(cell.refused, []).append(cell.address)
    for reason, addresses in refused.items():
        flags.append(f"{_some(addresses)}: formula {reason} (scored 0)")

    world = World(sheet, {cell.address: _attempt(cell, tol) for cell in cells})
    affected = _affected_steps(world, {a for _, a in changed}, cells)
    if affected:
        flags.append("steps using changed givens: " + ", ".join(str(s) for s in sorted(affected)))
    problems: dict[str, list[str]] = {"localized": [], "error": [], "text": []}
    steps: dict[int, tuple[float, float]] = {}
    for cell in cells:
        _score_cell(cell, world, tol, ecf, problems)
        score, most = steps.get(cell.step, (0.0, 0.0))
        steps[cell.step] = (score + cell.points, most + 1.0)
    for kind, what in (("localized", "localized decimals (type a point: 0.5)"), ("error", "error values"),
                       ("text", "text in number cells")):
        if problems[kind]:
            flags.append(f"{what}: {_some(problems[kind])}")
    return Scored(tuple(cells), tuple(flags), steps, sheet)


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


def _attempt(cell: CellGrade, tol: Tolerance) -> float | None:
    """The cell's number if something can be carried from it: not a refused formula, not text, and
    not a 0 standing in for a non-zero answer."""
    number = None if cell.refused else as_number(cell.got)
    if number is None or not isinstance(cell.expected, float):
        return None
    return None if number == 0 and not tol.close(0.0, cell.expected) else number


def _score_cell(cell: CellGrade, world: World, tol: Tolerance, ecf: float, problems: dict) -> None:
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
        else:
            carried = world.carried(cell.address)
            cell.carried = carried
            if carried is not None and not tol.close(carried, key_value) and tol.close(number, carried):
                cell.status, cell.points = "ecf", ecf
    elif isinstance(value, str) and LOCALIZED.match(value):
        problems["localized"].append(f"{cell.address} '{value.strip()}'")
    elif isinstance(value, str) and value.startswith("#"):
        problems["error"].append(f"{cell.address} {value}")
    else:
        problems["text"].append(f"{cell.address} {str(value)[:20]!r}")


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
