"""Grading a class: find the hand-ins, identify each one, read it safely, score every blank cell,
write reports.

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
the sandboxed reader (:mod:`xlhand.untrusted`), results saved in the file are never read, and a
blank whose formula reads anything but the visible sheet (the hidden key, a defined name,
INDIRECT, …; see :mod:`xlhand.formula_policy`) scores 0 and is flagged by what it used.
"""
from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from openpyxl.formula.tokenizer import Token, Tokenizer

from xlhand.grading import policy
from xlhand.layout import paper, style
from xlhand.build import check_writable, key_sheet, write_atomic
from xlhand.engines.compare import as_grid
from xlhand.engines.workbook import EngineError, guarded
from xlhand.errors import XlhandError
from xlhand.model.exercise import expected_values
from xlhand.parallel import progress_bar
from xlhand.classroom.modes import DEFAULT_ATOL, DEFAULT_RTOL, file_stems, load_manifest, resolved_for
from xlhand.classroom.roster import Student, csv_safe
from xlhand.grading.sandbox import Extracted, Job, Rejected, extract_many, precheck
from xlhand.layout.writer import LEGEND_COL, WorkbookWriter

ECF_CREDIT = 0.5
LOCALIZED = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
# status -> (fill, symbol, words). Blue and orange rather than green and red (the pair colour-blind
# students confuse), and a symbol in every graded cell, so a cell's status reads in black and white too.
FEEDBACK = {
    "right": ("#9DC3E6", "✓", "right"),
    "ecf": ("#FFE699", "≈", "carried forward: right for your own earlier cells"),
    "wrong": ("#F4B183", "✗", "wrong"),
    "empty": ("#D9D9D9", "○", "empty"),
}
SHOWN = 5  # cells named in one flag before "and N more"


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
    refused: str | None = None  # why the formula in the cell was not accepted


@dataclass
class Submission:
    path: Path
    student_id: str = ""
    name: str = ""
    identified_by: str = ""
    status: str = "graded"  # graded | rejected | missing | skipped
    reason: str = ""
    score: float = 0.0
    max: float = 0.0
    steps: dict[int, list[float]] = field(default_factory=dict)  # step -> [score, max]
    flags: list[str] = field(default_factory=list)
    cells: list[CellGrade] = field(default_factory=list)
    extracted: Extracted | None = None
    feedback: Path | None = None
    label: str = ""  # the file as reports name it: its path under the folder it was found in
    folders: tuple[str, ...] = ()  # the folders between that folder and the file, nearest first

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max if self.max else 0.0

    @property
    def file(self) -> str:
        return self.label or (self.path.name if str(self.path) else "")


# --- finding the hand-ins --------------------------------------------------------------------
SYSTEM_FILES = {".ds_store", "thumbs.db", "desktop.ini", "icon\r"}
OTHER_FORMATS = {
    ".ods": "an OpenDocument spreadsheet (.ods): save it as Excel Workbook (.xlsx)",
    ".xlsm": "a macro-enabled workbook (.xlsm): save it as Excel Workbook (.xlsx), without macros",
    ".xlsb": "a binary Excel workbook (.xlsb): save it as Excel Workbook (.xlsx)",
    ".xls": "an Excel 97-2003 workbook (.xls): save it as Excel Workbook (.xlsx)",
    ".numbers": "a Numbers spreadsheet: export it as Excel (.xlsx)",
    ".csv": "a CSV file, not a workbook: hand in the .xlsx",
    ".pdf": "a PDF, not a workbook: hand in the .xlsx",
}


@dataclass(frozen=True)
class Found:
    path: Path
    label: str
    folders: tuple[str, ...] = ()
    skipped: str = ""  # why it is not graded; empty for a workbook


def collect(paths) -> list[Found]:
    """Every file under ``paths``: folders are searched recursively (an LMS download has one folder
    per student), an .xlsx in any letter case is a hand-in, anything else is listed with the reason
    it is skipped. A file named on the command line is always tried."""
    found, seen = [], set()
    for root in map(Path, paths):
        items = [(p, p.relative_to(root)) for p in _files(root)] if root.is_dir() else [(root, None)]
        for path, relative in items:
            key = os.path.realpath(path)
            if key in seen:
                continue
            seen.add(key)
            if relative is None:
                found.append(Found(path, path.name))
            else:
                found.append(Found(path, relative.as_posix(), tuple(reversed(relative.parent.parts)),
                                   skip_reason(relative)))
    return found


def _files(root: Path):
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            yield Path(folder) / name


def skip_reason(relative: Path) -> str:
    """Why a file found in a folder is not a hand-in ("" for one that is)."""
    name = relative.name
    if "__MACOSX" in relative.parts:
        return "macOS archive metadata (__MACOSX), not a hand-in"
    if name.startswith("~$"):
        return "an Office lock file (~$…), left while a workbook was open"
    if name.startswith("._"):
        return "a macOS resource fork (._…), not a workbook"
    if name.lower() in SYSTEM_FILES:
        return "a system file, not a hand-in"
    if any(part.startswith(".") for part in relative.parts):
        return "a hidden file, not a hand-in"
    suffix = relative.suffix.lower()
    if suffix == ".xlsx":
        return ""
    return OTHER_FORMATS.get(suffix, f"not an Excel workbook ({suffix or 'no extension'}): hand in the .xlsx")


# --- identification --------------------------------------------------------------------------
SEPARATORS = " _-.("


def identify(sub: Submission, manifest: dict) -> tuple[dict | None, str]:
    """The manifest entry of a hand-in: by the student id in its metadata, else by its file name,
    else by the folders it was found in (an LMS names them after the student)."""
    students = manifest["students"]
    if sub.extracted is not None:
        sid = sub.extracted.meta.get("xlhand_student_id")
        entry = next((e for e in students if e["id"] == sid), None)
        if entry is not None:
            return entry, "metadata"
    entry = _by_id(sub.path.stem, students)
    if entry is not None:
        return entry, "file name"
    for folder in sub.folders:
        entry = _by_id(folder, students) or _by_name(folder, students)
        if entry is not None:
            return entry, "folder name"
    return None, ""


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold().strip()


def _by_id(text: str, students: list[dict]) -> dict | None:
    """The student whose id (or worksheet file name) is ``text``, or the longest one it begins with
    before a separator: ``ab-c`` is student ``ab-c``, not ``ab``."""
    text = _fold(text)
    best, longest = None, 0
    for entry in students:
        for candidate in {_fold(entry["id"]), _fold(Path(entry["file"]).stem)}:
            if len(candidate) > longest and _begins(text, candidate):
                best, longest = entry, len(candidate)
    return best


def _by_name(text: str, students: list[dict]) -> dict | None:
    """The student whose full name (unique in the class) starts the folder name, as in an LMS
    bulk download (``José Álvarez_123_assignsubmission_file_``)."""
    text = _fold(text)
    names = Counter(_fold(e["name"]) for e in students)
    best, longest = None, 0
    for entry in students:
        name = _fold(entry["name"])
        if name and names[name] == 1 and len(name) > longest and _begins(text, name):
            best, longest = entry, len(name)
    return best


def _begins(text: str, prefix: str) -> bool:
    return text == prefix or (text.startswith(prefix) and text[len(prefix)] in SEPARATORS)


# --- the sheet as the student's numbers make it ------------------------------------------------
WORLD, CARRIED = "world", "carried"


class World:
    """The sheet as the student's own numbers make it: the givens of their variant, their numbers
    in the blanks (the keys of ``student``), and every other computed cell recomputed by IronCalc
    from those. A blank mapped to ``None`` is no attempt: nothing is carried from it, nor from any
    computed cell that reads it, however far downstream.

    ``carried(address)`` is the key's formula of ``address`` evaluated on that sheet: for a blank,
    what the student should have got from their own earlier cells. Nothing here recurses, so no
    sheet is too long: IronCalc orders the evaluation itself (chains of 100,000 cells are fine) and
    the taint is followed breadth first."""

    def __init__(self, sheet, student: dict[str, float | None]):
        self.sheet, self.student = sheet, student
        self.formulas = key_formulas(sheet)
        self.precedents = {a: _precedents(text) for a, (_, _, _, text) in self.formulas.items()}
        self.dependents: dict[str, set[str]] = {}
        for address, reads in self.precedents.items():
            for p in reads:
                self.dependents.setdefault(p, set()).add(address)
        self.tainted = self.downstream([a for a, v in student.items() if v is None], through_blanks=False)
        self._model = None

    def downstream(self, start, through_blanks: bool = True) -> set[str]:
        """``start`` and every computed cell reading any of them, however far (blanks hold the
        student's numbers, so unless ``through_blanks`` nothing passes through one)."""
        seen, todo = set(start), list(start)
        while todo:
            for d in self.dependents.get(todo.pop(), ()):
                if d not in seen and (through_blanks or d not in self.student):
                    seen.add(d)
                    todo.append(d)
        return seen

    def value(self, address: str) -> float | None:
        if address in self.tainted:
            return None
        return self._read(WORLD, address)

    def carried(self, address: str) -> float | None:
        if address not in self.formulas or any(p in self.tainted for p in self.precedents[address]):
            return None
        return self._read(CARRIED, address)

    def _read(self, sheet: str, address: str) -> float | None:
        if self._model is None:
            self._model = guarded("carried-forward credit", _world_model, self.sheet, self.formulas,
                                   self.student)
        row, col = policy.cell_of(address)
        return _number(guarded("carried-forward credit", self._model.get_cell_value,
                                0 if sheet == WORLD else 1, row, col))


def key_formulas(sheet) -> dict[str, tuple[object, int, int, str]]:
    """address -> (block, i, j, formula text) of every computed cell of the key."""
    out = {}
    for block in sheet.blocks.values():
        if block.formula is None:
            continue
        for i in range(block.rows):
            for j in range(block.cols):
                out[block.cell(i, j)] = (block, i, j, block.formula(i, j))
    return out


@lru_cache(maxsize=65536)
def _precedents(text: str) -> tuple[str, ...]:
    """The cells a key formula reads (each distinct formula is parsed once)."""
    return tuple(a for area in policy.areas("=" + text, "") for a in area.addresses())


@lru_cache(maxsize=65536)
def _on_sheet(text: str, sheet: str) -> str:
    """A key formula reading ``sheet``: every reference prefixed with its name."""
    tokens = Tokenizer("=" + text)
    for token in tokens.items:
        if token.type == Token.OPERAND and token.subtype == Token.RANGE:
            token.value = f"{sheet}!{token.value}"
    return tokens.render()


def _world_model(sheet, formulas, student):
    """An in-memory IronCalc model: sheet 0 the world, sheet 1 the key's formula of every blank
    reading the world."""
    import ironcalc

    model = ironcalc.create(WORLD, "en", "UTC")
    model.rename_sheet(0, WORLD)
    model.add_sheet(CARRIED)
    for block in sheet.blocks.values():
        for i in range(block.rows):
            for j in range(block.cols):
                r, c = block.top + i + 1, block.left + j + 1
                if block.values is not None:
                    model.update_cell_with_number(0, r, c, float(block.values[i, j]))
                elif block.text is not None:
                    model.update_cell_with_text(0, r, c, str(block.text[i][j]))
    for address, (block, i, j, text) in formulas.items():
        r, c = block.top + i + 1, block.left + j + 1
        if address in student:
            if student[address] is not None:
                model.update_cell_with_number(0, r, c, float(student[address]))
            model.update_cell_with_formula(1, r, c, _on_sheet(text, WORLD))
        else:
            model.update_cell_with_formula(0, r, c, "=" + text)
    model.evaluate()
    return model


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    value = float(value)
    return value if np.isfinite(value) else None


# --- grading one submission ------------------------------------------------------------------
def score_submission(sub: Submission, entry: dict, manifest: dict, ex: Extracted, tol: Tolerance,
                     ecf: float) -> None:
    resolved = resolved_for(manifest, entry)
    sheet = key_sheet(resolved, "feedback")
    expected = expected_values(resolved.exercise, resolved, sheet)
    fingerprint = ex.meta.get("xlhand_params_fingerprint")
    if fingerprint and fingerprint != entry["fingerprint"]:
        sub.flags.append("the workbook was built for another student's numbers")
    exercise = ex.meta.get("xlhand_exercise")
    if exercise and exercise != manifest["exercise"]:
        raise Rejected(f"a workbook for exercise '{exercise}', not '{manifest['exercise']}'")
    mode = ex.meta.get("xlhand_mode")
    if mode and mode != "student":
        sub.flags.append(f"the workbook is not a student worksheet but a '{mode}' workbook (an answer key?)")
    if ex.sheet_state != "visible":
        sub.flags.append(f"sheet '{manifest['sheet']}' is {ex.sheet_state} in this workbook "
                         f"(was the hidden answer key renamed?)")

    changed = _changed_givens(sheet, ex)
    if changed:
        sub.flags.append(f"changed givens: {_some([f'{name} {a}' for name, a in changed])} (graded against the key)")

    cells = _blank_cells(sheet, manifest["blanks"], expected, ex)
    refused: dict[str, list[str]] = {}
    for cell in cells:
        if cell.refused:
            refused.setdefault(cell.refused, []).append(cell.address)
    for reason, addresses in refused.items():
        sub.flags.append(f"{_some(addresses)}: formula {reason} (scored 0)")

    student = {cell.address: _attempt(cell, tol) for cell in cells}
    world = World(sheet, student)
    affected = _affected_steps(world, {a for _, a in changed}, cells)
    if affected:
        sub.flags.append("steps using changed givens: " + ", ".join(str(s) for s in sorted(affected)))
    problems: dict[str, list[str]] = {"localized": [], "error": [], "text": []}
    for cell in cells:
        _score_cell(cell, world, tol, ecf, problems)
        sub.cells.append(cell)
        score_max = sub.steps.setdefault(cell.step, [0.0, 0.0])
        score_max[0] += cell.points
        score_max[1] += 1.0
    for kind, what in (("localized", "localized decimals (type a point: 0.5)"), ("error", "error values"),
                       ("text", "text in number cells")):
        if problems[kind]:
            sub.flags.append(f"{what}: {_some(problems[kind])}")
    sub.score = sum(c.points for c in sub.cells)
    sub.max = float(len(sub.cells))
    sub._sheet = sheet  # for the feedback workbook


def _blank_cells(sheet, blanks: list[str], expected: dict, ex: Extracted) -> list[CellGrade]:
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
    number = None if cell.refused else _number(cell.got)
    if number is None or not isinstance(cell.expected, float):
        return None
    return None if number == 0 and not tol.close(0.0, cell.expected) else number


def _score_cell(cell: CellGrade, world: World, tol: Tolerance, ecf: float, problems: dict) -> None:
    if cell.refused:
        return
    value, key_value = cell.got, cell.expected
    number = _number(value)
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
                got = _number(ex.value(block.top + i, block.left + j))
                want = float(block.values[i, j])
                if got is None or not np.isclose(got, want, rtol=1e-12, atol=1e-12):
                    changed.append((block.name, block.cell(i, j)))
    return changed


def _some(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _show(value) -> str:
    return f"{value:.6g}" if isinstance(value, (int, float)) else repr(str(value))


def _affected_steps(world: World, changed: set[str], cells: list[CellGrade]) -> set[int]:
    if not changed:
        return set()
    reached = world.downstream(changed)
    return {cell.step for cell in cells if cell.address in reached}


# --- the batch -------------------------------------------------------------------------------
def grade(manifest_path: Path, paths: list[Path], out_dir: Path, *, rtol: float | None = None,
          atol: float | None = None, ecf: float = ECF_CREDIT, feedback: bool = True,
          workers: int | None = None, timeout: float = 30.0, progress: bool = False) -> list[Submission]:
    """Grade the hand-ins among ``paths`` (files, or folders searched recursively). Returns one
    Submission per file found (skipped files with status "skipped") and per missing student. With
    ``progress``, a bar on stderr while the files are read (shown only on a terminal)."""
    manifest = load_manifest(manifest_path)
    if not 0 <= ecf < 1:
        raise XlhandError(f"--ecf {ecf}: carried-forward credit must be at least 0 and below 1")
    tol = Tolerance(rtol if rtol is not None else manifest["tolerance"]["rtol"],
                    atol if atol is not None else manifest["tolerance"]["atol"])
    check_writable(out_dir)
    layout = key_sheet(resolved_for(manifest, manifest["students"][0]))
    rows = max(b.bottom for b in layout.blocks.values()) + 2
    cols = max(b.right for b in layout.blocks.values()) + 2
    blanks = tuple((b.top + i, b.left + j) for b in (layout.blocks[n] for n in manifest["blanks"])
                   for i in range(b.rows) for j in range(b.cols))
    sheet = manifest["sheet"]

    found = collect(paths)
    subs = [Submission(f.path, label=f.label, folders=f.folders) for f in found if not f.skipped]
    skipped = [Submission(f.path, label=f.label, status="skipped", reason=f.skipped) for f in found if f.skipped]
    _read_all(subs, sheet, rows, cols, blanks, workers, timeout, progress)
    entries = _identify_all(subs, manifest)
    for sub in subs:
        if sub.status == "graded" and sheet not in sub.extracted.sheets:
            found_sheets = ", ".join(sub.extracted.sheets[:5])
            sub.status, sub.reason = "rejected", f"sheet '{sheet}' renamed or missing (sheets: {found_sheets})"
    for sub in subs:
        if sub.status == "graded":
            try:
                score_submission(sub, entries[id(sub)], manifest, sub.extracted, tol, ecf)
            except (Rejected, EngineError) as e:
                sub.status, sub.reason = "rejected", getattr(e, "reason", str(e))
    graded_ids = {s.student_id for s in subs if s.student_id}
    for entry in manifest["students"]:
        if entry["id"] not in graded_ids:
            subs.append(Submission(Path(""), entry["id"], entry["name"], status="missing", reason="no submission"))

    write_grades_csv(out_dir / "grades.csv", subs, manifest)
    write_skipped_csv(out_dir / "skipped.csv", skipped)
    if feedback:
        stems = file_stems([Student(e["id"]) for e in manifest["students"]])
        check_writable(out_dir / "feedback")
        for sub in subs:
            if sub.status == "graded":
                sub.feedback = out_dir / "feedback" / f"{stems[sub.student_id]}-feedback.xlsx"
                write_atomic(sub.feedback, feedback_workbook(sub, manifest))
    return subs + skipped


def _read_all(subs: list[Submission], sheet: str, rows: int, cols: int, blanks, workers, timeout,
              progress: bool = False) -> None:
    """Precheck every file, then read (and recalculate) each in its own limited child."""
    jobs, notes = [], {}
    for k, sub in enumerate(subs):
        try:
            notes[k] = precheck(sub.path)
            jobs.append(Job(k, sub.path, sheet, rows, cols, blanks))
        except Rejected as e:
            sub.status, sub.reason = "rejected", e.reason
    with progress_bar(len(jobs), "reading hand-ins" if progress else "") as bar:
        results = extract_many(jobs, workers=workers, timeout=timeout, on_done=lambda: bar.update(1))
    for k, result in results.items():
        sub = subs[k]
        if isinstance(result, Rejected):
            sub.status, sub.reason = "rejected", result.reason
        else:
            sub.extracted = result
            sub.flags.extend(notes[k])


def _identify_all(subs: list[Submission], manifest: dict) -> dict[int, dict]:
    """Who handed in each file; two files for one student are both set aside."""
    entries = {}
    for sub in subs:
        entry, how = identify(sub, manifest)
        if entry is None:
            if sub.status == "graded":
                sub.status, sub.reason = "rejected", "matches no student in the manifest (metadata, file or folder name)"
            continue
        sub.student_id, sub.name, sub.identified_by = entry["id"], entry["name"], how
        entries[id(sub)] = entry
    by_student: dict[str, list[Submission]] = {}
    for sub in subs:
        if sub.student_id:
            by_student.setdefault(sub.student_id, []).append(sub)
    for sid, group in by_student.items():
        if len(group) > 1:
            names = ", ".join(s.file for s in group)
            for s in group:
                s.status, s.reason = "rejected", f"{len(group)} submissions for student '{sid}' ({names}): not graded"
    return entries


# --- reports ---------------------------------------------------------------------------------
def write_grades_csv(path: Path, subs: list[Submission], manifest: dict) -> None:
    steps = sorted({k for s in subs for k in s.steps})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student_id", "name", "file", "identified_by", "status", "score", "max", "percent",
                *[f"step_{k}" for k in steps], "reason", "flags"])
    for s in subs:
        w.writerow([csv_safe(s.student_id), csv_safe(s.name), csv_safe(s.file),
                    s.identified_by, s.status,
                    _fmt(s.score) if s.status == "graded" else "", _fmt(s.max) if s.status == "graded" else "",
                    f"{s.percent:.1f}" if s.status == "graded" else "",
                    *[(_fmt(s.steps[k][0]) + "/" + _fmt(s.steps[k][1])) if k in s.steps else "" for k in steps],
                    csv_safe(s.reason), csv_safe("; ".join(s.flags))])
    write_atomic(path, buf.getvalue().encode("utf-8"))


def write_skipped_csv(path: Path, skipped: list[Submission]) -> None:
    """Every file found that is not a hand-in, with the reason (written even when there is none, so
    an old list never stands beside new grades)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["file", "reason"])
    for s in skipped:
        w.writerow([csv_safe(s.file), csv_safe(s.reason)])
    write_atomic(path, buf.getvalue().encode("utf-8"))


def _fmt(x: float) -> str:
    return f"{x:g}"


def feedback_workbook(sub: Submission, manifest: dict) -> bytes:
    """The student's sheet with each graded cell marked by its status (a colour and a symbol), a note
    on every cell that was not right, a legend, and a summary sheet; both print like the worksheets."""
    sheet = sub._sheet
    writer = WorkbookWriter()
    ws = writer.write_sheet(sheet, manifest["sheet"], blanks=frozenset(manifest["blanks"]), define_names=False,
                            blank_legend=False, who=f"{sub.name} · id {sub.student_id}")
    for cell in sub.cells:
        _write_graded(ws, writer, cell)
    _feedback_legend(ws, writer, sheet.header_rows - 1)
    _summary_sheet(writer, sub, sheet)
    return writer.to_bytes()


def _status_format(writer, status: str):
    fill, symbol, _ = FEEDBACK[status]
    return writer.fmt({"bg_color": fill, "border": 2, "border_color": "#404040", "align": "center",
                       "num_format": f'"{symbol} "0.0##;"{symbol} "-0.0##;"{symbol} "0'})


def _write_graded(ws, writer, cell: CellGrade) -> None:
    fmt = _status_format(writer, cell.status)
    symbol = FEEDBACK[cell.status][1]
    number = _number(cell.got)
    if number is not None:
        ws.write_number(cell.row, cell.col, number, fmt)
    elif cell.got is None or (isinstance(cell.got, str) and not cell.got.strip()):
        ws.write_string(cell.row, cell.col, symbol, fmt)
    else:
        ws.write_string(cell.row, cell.col, f"{symbol} {cell.got}", fmt)
    if cell.status == "right":
        return
    note = f"{FEEDBACK[cell.status][2]}. Expected {_show(cell.expected)}"
    if cell.refused:
        note += f"; the formula {cell.refused}, which is not accepted"
    if cell.status == "ecf" and cell.carried is not None:
        note += f"; from your earlier cells {cell.carried:.6g}"
    ws.write_comment(cell.row, cell.col, note, {"author": "xlhand"})


def _feedback_legend(ws, writer, row: int) -> None:
    """One line above the drawing: each status's cell as it looks on the sheet, and what it means."""
    col = LEGEND_COL
    ws.write_string(row, col, "Your cells:", writer.fmt(style.LABEL))
    col += style.text_columns("Your cells:", bold=True)
    for status, (_, symbol, words) in FEEDBACK.items():
        ws.write_string(row, col, symbol, _status_format(writer, status))
        ws.write_string(row, col + 1, words, writer.fmt(style.NOTE))
        col += 2 + style.text_columns(words)


def _summary_sheet(writer, sub: Submission, sheet) -> None:
    summary = writer.workbook.add_worksheet("summary")
    bold, wrap = writer.fmt(style.LABEL), writer.fmt(style.STEP_TEXT)
    rows = [("Student id", sub.student_id), ("Name", sub.name), ("File", sub.file),
            ("Identified by", sub.identified_by), ("Score", f"{_fmt(sub.score)} of {_fmt(sub.max)}"),
            ("Percent", f"{sub.percent:.1f}%")]
    for r, (k, v) in enumerate(rows):
        summary.write_string(r, 0, k, bold)
        summary.write_string(r, 1, str(v))
    r = len(rows) + 1
    for c, heading in enumerate(("Step", "Score", "Cells", "What")):
        summary.write_string(r, c, heading, bold)
    for k in sorted(sub.steps):
        r += 1
        summary.write_number(r, 0, k)
        summary.write_number(r, 1, sub.steps[k][0])
        summary.write_number(r, 2, sub.steps[k][1])
        if 1 <= k <= len(sheet.steps):
            summary.write_string(r, 3, sheet.steps[k - 1], wrap)
    r += 2
    summary.write_string(r, 0, "Your cells", bold)
    for status, (_, symbol, words) in FEEDBACK.items():
        r += 1
        summary.write_string(r, 0, symbol, _status_format(writer, status))
        summary.write_string(r, 1, words)
    r += 2
    summary.write_string(r, 0, "Flags", bold)
    for flag, count in Counter(sub.flags or ["none"]).items():  # a flag raised many times is listed once
        r += 1
        summary.write_string(r, 1, flag + (f" (×{count})" if count > 1 else ""), wrap)
    summary.set_column(0, 0, 12)
    summary.set_column(1, 2, 10)
    summary.set_column(3, 3, 55)
    summary.set_portrait()
    summary.set_paper(paper.PAPERS[writer.paper][0])
    summary.set_print_scale(100)
    header, footer = paper.header_footer(f"{sheet.title}: feedback", f"{sub.name} · id {sub.student_id}")
    summary.set_header(header)
    summary.set_footer(footer)
