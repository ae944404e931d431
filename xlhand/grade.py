"""Grading a class: identify each submission, read it safely, score every blank cell, write reports.

Scoring of one blank cell (tolerance: |got − want| ≤ max(atol, rtol·|want|)):

* **right**  — the student's value matches the key: 1 point;
* **carried forward** — it does not match the key, but it matches the key's own formula for that
  cell evaluated on the student's earlier cells: ``ecf`` points (default 0.5, always < 1);
* **wrong** / **empty** — 0 points.

Error carried forward cannot be gamed: it is given only when every earlier cell the formula reads
is an attempt (a number; not empty, not text, and not a 0 where the key is not 0), and only when
the carried value differs from the key's. So entering zeros or leaving blanks upstream never earns
credit downstream, and a cell never earns more by being carried than by being right.

Values are trusted only when the grader computed them: a submission whose graded cells hold
formulas is recalculated by LibreOffice with cached results ignored (one batch for the class).
"""
from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from xlsxwriter.utility import xl_rowcol_to_cell

from . import libreoffice, style
from .build import check_writable, key_sheet, write_atomic
from .errors import XlhandError
from .exercise import expected_values
from .modes import (CHECK_SHEET, DEFAULT_ATOL, DEFAULT_RTOL, KEY_SHEET, csv_safe, file_stems, load_manifest,
                    resolved_for, Student)
from .untrusted import Extracted, Job, Rejected, extract_many, precheck
from .writer import WorkbookWriter

ECF_CREDIT = 0.5
LOCALIZED = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
REF = re.compile(r"(?<![A-Za-z_'!])\$?([A-Z]{1,3})\$?([0-9]+)(?::\$?([A-Z]{1,3})\$?([0-9]+))?(?![A-Za-z0-9_(])")
STATUS_FORMAT = {
    "right": {"bg_color": "#63BE7B", "border": 1, "num_format": "0.0##", "align": "center"},
    "ecf": {"bg_color": "#FFD966", "border": 1, "num_format": "0.0##", "align": "center"},
    "wrong": {"bg_color": "#F8696B", "border": 1, "num_format": "0.0##", "align": "center"},
    "empty": {"bg_color": "#D9D9D9", "border": 1, "num_format": "0.0##", "align": "center"},
}
STATUS_WORDS = {"right": "right", "ecf": "carried forward (right for your earlier cells)",
                "wrong": "wrong", "empty": "empty"}


@dataclass(frozen=True)
class Tolerance:
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL

    def close(self, got: float, want: float) -> bool:
        return bool(np.isfinite(got)) and abs(got - want) <= max(self.atol, self.rtol * abs(want))


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


@dataclass
class Submission:
    path: Path
    student_id: str = ""
    name: str = ""
    identified_by: str = ""
    status: str = "graded"  # graded | rejected | missing
    reason: str = ""
    score: float = 0.0
    max: float = 0.0
    steps: dict[int, list[float]] = field(default_factory=dict)  # step -> [score, max]
    flags: list[str] = field(default_factory=list)
    cells: list[CellGrade] = field(default_factory=list)
    extracted: Extracted | None = None
    feedback: Path | None = None

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max if self.max else 0.0


# --- formulas for error carried forward -------------------------------------------------------
class FormulaCache:
    """Compiled key formulas, shared by every student of a class (their layouts are the same)."""

    def __init__(self):
        self._compiled: dict[str, object] = {}

    def get(self, text: str):
        if text not in self._compiled:
            os.environ.setdefault("TQDM_DISABLE", "1")
            import formulas

            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self._compiled[text] = formulas.Parser().ast("=" + text)[1].compile()
            except Exception:
                self._compiled[text] = None
        return self._compiled[text]


def _addresses(ref: str) -> list[list[str]]:
    m = REF.fullmatch(ref.replace("$", ""))
    if not m:
        raise ValueError(ref)
    c1, r1 = _col(m[1]), int(m[2])
    c2, r2 = (_col(m[3]), int(m[4])) if m[3] else (c1, r1)
    return [[xl_rowcol_to_cell(r - 1, c - 1) for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]


def _col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    value = float(value)
    return value if np.isfinite(value) else None


class World:
    """The sheet as the student's own numbers make it: givens from the key, blanks as typed,
    every other computed cell recomputed from those. ``None`` marks a cell nothing can be carried
    from (empty, text, an error, a 0 where the key is not 0, or anything computed from one)."""

    def __init__(self, sheet, expected: dict, student: dict[str, float | None], cache: FormulaCache):
        self.sheet, self.cache, self.student = sheet, cache, student
        self.where: dict[str, tuple] = {}
        self.values: dict[str, float | None] = {}
        for block in sheet.blocks.values():
            for i in range(block.rows):
                for j in range(block.cols):
                    self.where[block.cell(i, j)] = (block, i, j)
            if block.values is not None:
                for i in range(block.rows):
                    for j in range(block.cols):
                        self.values[block.cell(i, j)] = float(block.values[i, j])

    def value(self, address: str, depth: int = 0) -> float | None:
        if address in self.values:
            return self.values[address]
        if address in self.student:
            self.values[address] = self.student[address]
            return self.values[address]
        spot = self.where.get(address)
        if spot is None or spot[0].formula is None or depth > 400:
            return None
        block, i, j = spot
        result = self.evaluate(block, i, j, depth)
        self.values[address] = result
        return result

    def evaluate(self, block, i: int, j: int, depth: int = 0) -> float | None:
        """The key's formula of ``block[i, j]`` on the world's values."""
        text = block.formula(0, 0) if block.array_formula else block.formula(i, j)
        fn = self.cache.get(text)
        if fn is None:
            return None
        args = []
        for ref in fn.inputs:
            try:
                grid = _addresses(ref)
            except ValueError:
                return None
            vals = [[self.value(a, depth + 1) for a in row] for row in grid]
            if any(v is None for row in vals for v in row):
                return None
            args.append(vals[0][0] if len(grid) == 1 and len(grid[0]) == 1 else np.array(vals, dtype=float))
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                out = np.asarray(fn(*args), dtype=object)
        except Exception:
            return None
        if block.array_formula and out.ndim == 2 and out.shape[0] > i and out.shape[1] > j:
            cell = out[i, j]
        else:
            cell = out.reshape(-1)[0] if out.size else None
        return _number(cell)

    def precedents(self, address: str) -> set[str]:
        spot = self.where.get(address)
        if spot is None or spot[0].formula is None:
            return set()
        block, i, j = spot
        text = block.formula(0, 0) if block.array_formula else block.formula(i, j)
        out = set()
        for m in REF.finditer(text):
            out.update(a for row in _addresses(m[0]) for a in row)
        return out


# --- identification --------------------------------------------------------------------------
def identify(extracted: Extracted | None, path: Path, manifest: dict) -> tuple[dict | None, str]:
    by_id = {e["id"]: e for e in manifest["students"]}
    if extracted is not None:
        sid = extracted.meta.get("xlhand_student_id")
        if sid in by_id:
            return by_id[sid], "metadata"
    stem = path.stem.lower()
    for entry in manifest["students"]:
        candidates = {Path(entry["file"]).stem.lower(), entry["id"].lower()}
        if stem in candidates or any(stem.startswith(c + "_") or stem.startswith(c + "-") or
                                     stem.startswith(c + " ") for c in candidates):
            return entry, "file name"
    return None, ""


# --- grading one submission ------------------------------------------------------------------
def score_submission(sub: Submission, entry: dict, manifest: dict, ex: Extracted, tol: Tolerance,
                     ecf: float, cache: FormulaCache) -> None:
    resolved = resolved_for(manifest, entry)
    sheet = key_sheet(resolved, "feedback")
    expected = expected_values(resolved.exercise, resolved, sheet)
    blanks = manifest["blanks"]
    fingerprint = ex.meta.get("xlhand_params_fingerprint")
    if fingerprint and fingerprint != entry["fingerprint"]:
        sub.flags.append("the workbook was built for another student's numbers")
    exercise = ex.meta.get("xlhand_exercise")
    if exercise and exercise != manifest["exercise"]:
        raise Rejected(f"a workbook for exercise '{exercise}', not '{manifest['exercise']}'")

    # changed givens: every number cell outside the blanks must still be the student's variant
    changed: list[str] = []
    changed_cells: set[str] = set()
    for block in sheet.blocks.values():
        if block.values is None:
            continue
        for i in range(block.rows):
            for j in range(block.cols):
                got = _number(ex.value(block.top + i, block.left + j))
                want = float(block.values[i, j])
                if got is None or not np.isclose(got, want, rtol=1e-12, atol=1e-12):
                    changed_cells.add(block.cell(i, j))
                    changed.append(f"{block.name} {block.cell(i, j)}")
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        sub.flags.append(f"changed givens: {shown} (graded against the key)")

    student: dict[str, float | None] = {}
    raw: dict[str, object] = {}
    blank_set = []
    for name in blanks:
        block = sheet.blocks[name]
        want = _grid(expected[name])
        for i in range(block.rows):
            for j in range(block.cols):
                r, c = block.top + i, block.left + j
                address = block.cell(i, j)
                value = ex.value(r, c)
                formula = ex.formula(r, c)
                if formula and ("!" in formula or "[" in formula):
                    refers = formula.upper()
                    if KEY_SHEET.upper() in refers or CHECK_SHEET.upper() in refers:
                        sub.flags.append(f"{address} reads the hidden key sheet (scored wrong)")
                    else:
                        sub.flags.append(f"{address} refers to another sheet or workbook (scored wrong)")
                    value = "(formula reading another sheet)"
                raw[address] = value
                number = _number(value)
                key_value = want[i][j]
                if isinstance(key_value, str):  # a text answer (a word, a token): nothing to carry
                    student[address] = None
                    blank_set.append((block, i, j, address, key_value))
                    continue
                key_value = float(key_value)
                # an attempt to carry from: a number, and not a 0 standing in for a non-zero answer
                wrong_zero = number == 0 and not tol.close(0.0, key_value)
                student[address] = None if number is None or wrong_zero else number
                blank_set.append((block, i, j, address, key_value))

    world = World(sheet, expected, student, cache)
    affected = _affected_steps(world, changed_cells, blank_set) if changed_cells else set()
    if affected:
        sub.flags.append("steps using changed givens: " + ", ".join(str(s) for s in sorted(affected)))
    text_cells, error_cells, localized = [], [], []
    for block, i, j, address, key_value in blank_set:
        value = raw[address]
        number = _number(value)
        cell = CellGrade(block.name, address, block.top + i, block.left + j, block.step or 0, "wrong", value,
                         key_value)
        if value is None or (isinstance(value, str) and not value.strip()):
            cell.status = "empty"
        elif isinstance(key_value, str):
            if str(value).strip().casefold() == key_value.strip().casefold():
                cell.status, cell.points = "right", 1.0
        elif number is not None:
            if tol.close(number, key_value):
                cell.status, cell.points = "right", 1.0
            else:
                carried = world.evaluate(block, i, j)
                cell.carried = carried
                if carried is not None and not tol.close(carried, key_value) and tol.close(number, carried):
                    cell.status, cell.points = "ecf", ecf
        elif isinstance(value, str) and LOCALIZED.match(value):
            localized.append(f"{address} '{value.strip()}'")
        elif isinstance(value, str) and value.startswith("#"):
            error_cells.append(f"{address} {value}")
        elif not (isinstance(value, str) and value.startswith("(formula")):
            text_cells.append(f"{address} {str(value)[:20]!r}")
        sub.cells.append(cell)
        score_max = sub.steps.setdefault(cell.step, [0.0, 0.0])
        score_max[0] += cell.points
        score_max[1] += 1.0
    for what, items in (("localized decimals (type a point: 0.5)", localized), ("error values", error_cells),
                        ("text in number cells", text_cells)):
        if items:
            sub.flags.append(f"{what}: " + ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else ""))
    sub.score = sum(c.points for c in sub.cells)
    sub.max = float(len(sub.cells))
    sub._sheet = sheet  # for the feedback workbook


def _grid(value) -> list[list[object]]:
    """An expected block value as rows of cells: numbers as floats, texts as strings."""
    if isinstance(value, str):
        return [[value]]
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [list(value)]
    if isinstance(value, list) and value and isinstance(value[0], list) and any(
            isinstance(x, str) for row in value for x in row):
        return [list(row) for row in value]
    return np.atleast_2d(np.asarray(value, dtype=float)).tolist()


def _show(value) -> str:
    return f"{value:.6g}" if isinstance(value, (int, float)) else repr(str(value))


def _affected_steps(world: World, changed: set[str], blank_set) -> set[int]:
    tainted: dict[str, bool] = {}

    def depends(address: str, depth: int = 0) -> bool:
        if address in changed:
            return True
        if address in tainted or depth > 400:
            return tainted.get(address, False)
        tainted[address] = False
        result = any(depends(p, depth + 1) for p in world.precedents(address))
        tainted[address] = result
        return result

    return {block.step or 0 for block, i, j, address, _ in blank_set if depends(address)}


# --- the batch -------------------------------------------------------------------------------
def grade(manifest_path: Path, paths: list[Path], out_dir: Path, *, rtol: float | None = None,
          atol: float | None = None, ecf: float = ECF_CREDIT, feedback: bool = True,
          workers: int | None = None, timeout: float = 30.0) -> list[Submission]:
    manifest = load_manifest(manifest_path)
    if not 0 <= ecf < 1:
        raise XlhandError(f"--ecf {ecf}: carried-forward credit must be at least 0 and below 1")
    tol = Tolerance(rtol if rtol is not None else manifest["tolerance"]["rtol"],
                    atol if atol is not None else manifest["tolerance"]["atol"])
    check_writable(out_dir)
    first = resolved_for(manifest, manifest["students"][0])
    layout = key_sheet(first)
    rows = max(b.bottom for b in layout.blocks.values()) + 2
    cols = max(b.right for b in layout.blocks.values()) + 2
    sheet = manifest["sheet"]

    subs = [Submission(Path(p)) for p in paths]
    jobs, notes = [], {}
    for k, sub in enumerate(subs):
        try:
            notes[k] = precheck(sub.path)
            jobs.append(Job(k, sub.path, sheet, rows, cols))
        except Rejected as e:
            sub.status, sub.reason = "rejected", e.reason
    results = extract_many(jobs, workers=workers, timeout=timeout)
    for k, res in results.items():
        sub = subs[k]
        if isinstance(res, Rejected):
            sub.status, sub.reason = "rejected", res.reason
        else:
            sub.extracted = res
            sub.flags.extend(notes.get(k, []))

    # who is it?
    entries = {}
    for sub in subs:
        entry, how = identify(sub.extracted, sub.path, manifest)
        if entry is None:
            if sub.status == "graded":
                sub.status, sub.reason = "rejected", "matches no student in the manifest (metadata or file name)"
            continue
        sub.student_id, sub.name, sub.identified_by = entry["id"], entry["name"], how
        entries[id(sub)] = entry
    by_student: dict[str, list[Submission]] = {}
    for sub in subs:
        if sub.student_id:
            by_student.setdefault(sub.student_id, []).append(sub)
    for sid, group in by_student.items():
        if len(group) > 1:
            names = ", ".join(s.path.name for s in group)
            for s in group:
                s.status, s.reason = "rejected", f"{len(group)} submissions for student '{sid}' ({names}): not graded"

    # the sheet must be there
    for sub in subs:
        if sub.status == "graded" and sub.extracted is not None and sheet not in sub.extracted.sheets:
            found = ", ".join(sub.extracted.sheets[:5])
            sub.status, sub.reason = "rejected", f"sheet '{sheet}' renamed or missing (sheets: {found})"

    _recalculate(subs, manifest, rows, cols, workers, timeout)

    cache = FormulaCache()
    for sub in subs:
        if sub.status != "graded" or sub.extracted is None:
            continue
        try:
            score_submission(sub, entries[id(sub)], manifest, sub.extracted, tol, ecf, cache)
        except Rejected as e:
            sub.status, sub.reason = "rejected", e.reason
    graded_ids = {s.student_id for s in subs if s.student_id}
    for entry in manifest["students"]:
        if entry["id"] not in graded_ids:
            subs.append(Submission(Path(""), entry["id"], entry["name"], status="missing", reason="no submission"))

    write_grades_csv(out_dir / "grades.csv", subs, manifest)
    if feedback:
        stems = file_stems([Student(e["id"]) for e in manifest["students"]])
        check_writable(out_dir / "feedback")
        for sub in subs:
            if sub.status == "graded":
                sub.feedback = out_dir / "feedback" / f"{stems[sub.student_id]}-feedback.xlsx"
                write_atomic(sub.feedback, feedback_workbook(sub, manifest))
    return subs


def _recalculate(subs: list[Submission], manifest: dict, rows: int, cols: int, workers, timeout) -> None:
    """Recalculate (LibreOffice, cached results ignored) every submission whose blanks hold formulas."""
    blanks_at = []
    layout = key_sheet(resolved_for(manifest, manifest["students"][0]))
    for name in manifest["blanks"]:
        b = layout.blocks[name]
        blanks_at.extend((b.top + i, b.left + j) for i in range(b.rows) for j in range(b.cols))
    todo = [s for s in subs if s.status == "graded" and s.extracted is not None
            and any(s.extracted.formula(r, c) for r, c in blanks_at)]
    if not todo:
        return
    if libreoffice.soffice() is None:
        for s in todo:
            s.flags.append("formulas not recalculated (LibreOffice is not installed): saved results used")
        return
    with tempfile.TemporaryDirectory(prefix="xlhand-grade-") as tmp:
        src, out = Path(tmp) / "in", Path(tmp) / "out"
        src.mkdir()
        copies = {}
        for k, s in enumerate(todo):
            copy = src / f"s{k:05d}.xlsx"
            shutil.copyfile(s.path, copy)
            copies[copy] = s
        converted = libreoffice.recalculate(list(copies), out, timeout=max(120.0, 5.0 * len(copies)))
        jobs = [Job(copy, path, manifest["sheet"], rows, cols) for copy, path in converted.items() if path]
        results = extract_many(jobs, workers=workers, timeout=timeout)
        for copy, s in copies.items():
            res = results.get(copy)
            if isinstance(res, Extracted) and manifest["sheet"] in res.sheets:
                s.extracted.values = res.values
                s.flags.append("recalculated with LibreOffice")
            else:
                s.status, s.reason = "rejected", "holds formulas that LibreOffice could not recalculate"


# --- reports ---------------------------------------------------------------------------------
def write_grades_csv(path: Path, subs: list[Submission], manifest: dict) -> None:
    steps = sorted({k for s in subs for k in s.steps})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student_id", "name", "file", "identified_by", "status", "score", "max", "percent",
                *[f"step_{k}" for k in steps], "reason", "flags"])
    for s in subs:
        w.writerow([csv_safe(s.student_id), csv_safe(s.name), csv_safe(s.path.name if str(s.path) else ""),
                    s.identified_by, s.status,
                    _fmt(s.score) if s.status == "graded" else "", _fmt(s.max) if s.status == "graded" else "",
                    f"{s.percent:.1f}" if s.status == "graded" else "",
                    *[(_fmt(s.steps[k][0]) + "/" + _fmt(s.steps[k][1])) if k in s.steps else "" for k in steps],
                    csv_safe(s.reason), csv_safe("; ".join(s.flags))])
    write_atomic(path, buf.getvalue().encode("utf-8"))


def _fmt(x: float) -> str:
    return f"{x:g}"


def feedback_workbook(sub: Submission, manifest: dict) -> bytes:
    """The student's sheet, each graded cell coloured by its status with a note, and a summary."""
    sheet = sub._sheet
    writer = WorkbookWriter()
    ws = writer.write_sheet(sheet, manifest["sheet"], blanks=frozenset(manifest["blanks"]), define_names=False)
    for cell in sub.cells:
        fmt = writer.fmt(STATUS_FORMAT[cell.status])
        number = _number(cell.got)
        if number is not None:
            ws.write_number(cell.row, cell.col, number, fmt)
        elif cell.got is None:
            ws.write_blank(cell.row, cell.col, None, fmt)
        else:
            ws.write_string(cell.row, cell.col, str(cell.got), fmt)
        note = f"{STATUS_WORDS[cell.status]}. Expected {_show(cell.expected)}"
        if cell.status == "ecf" and cell.carried is not None:
            note += f"; from your earlier cells {cell.carried:.6g}"
        ws.write_comment(cell.row, cell.col, note, {"author": "xlhand"})
    summary = writer.workbook.add_worksheet("summary")
    bold = writer.fmt(style.LABEL)
    rows = [("Student id", sub.student_id), ("Name", sub.name), ("File", sub.path.name),
            ("Identified by", sub.identified_by), ("Score", f"{_fmt(sub.score)} of {_fmt(sub.max)}"),
            ("Percent", f"{sub.percent:.1f}%")]
    for r, (k, v) in enumerate(rows):
        summary.write_string(r, 0, k, bold)
        summary.write_string(r, 1, str(v))
    r = len(rows) + 1
    summary.write_string(r, 0, "Step", bold)
    summary.write_string(r, 1, "Score", bold)
    summary.write_string(r, 2, "Cells", bold)
    summary.write_string(r, 3, "What", bold)
    for k in sorted(sub.steps):
        r += 1
        summary.write_number(r, 0, k)
        summary.write_number(r, 1, sub.steps[k][0])
        summary.write_number(r, 2, sub.steps[k][1])
        if 1 <= k <= len(sheet.steps):
            summary.write_string(r, 3, sheet.steps[k - 1])
    r += 2
    summary.write_string(r, 0, "Colours", bold)
    for status in ("right", "ecf", "wrong", "empty"):
        r += 1
        summary.write_string(r, 0, status, writer.fmt(STATUS_FORMAT[status]))
        summary.write_string(r, 1, STATUS_WORDS[status])
    r += 2
    summary.write_string(r, 0, "Flags", bold)
    for flag in sub.flags or ["none"]:
        r += 1
        summary.write_string(r, 1, flag)
    summary.set_column(0, 0, 14)
    summary.set_column(1, 1, 16)
    summary.set_column(3, 3, 60)
    return writer.to_bytes()
