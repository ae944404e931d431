"""Student worksheets and class sets, built from the same sheet as the key.

A student workbook holds three sheets:

* the visible sheet: the key's layout, with the cells of the chosen steps left empty and unlocked
  (the blank role), everything else locked by sheet protection;
* ``xlhand_key`` (very hidden, protected): the same layout with every formula, computed from its own
  copy of the givens. It has no defined names, so nothing finds it by accident;
* ``xlhand_check`` (very hidden, protected): at each blank's address, 1 when the visible cell is
  right within the tolerance, -1 when it holds something wrong, 0 while it is empty.

Conditional formats on the blanks read ``xlhand_check`` (green for 1, red for -1), and a progress
cell counts the 1s, so the sheet never shows an expected value. The workbook structure is protected
so the hidden sheets cannot be unhidden from the application. ``--no-self-check`` leaves both hidden
sheets out (exams).
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from xlsxwriter.utility import xl_rowcol_to_cell

from xlhand.model import catalog
from xlhand.layout import style
from xlhand.build import key_sheet, key_workbook, metadata, sheet_name, check_writable, write_atomic
from xlhand.errors import XlhandError
from xlhand.classroom.roster import Student, read_roster
from xlhand.parallel import run_all
from xlhand.model.givens import Dims, Params, normalize_value
from xlhand.model.params_file import plain
from xlhand.model.resolve import Resolved, resolve
from xlhand.layout.sheet import Sheet
from xlhand.engines.recalc import BuildRefused, SheetCheck, reference_values, verify_built
from xlhand.layout.writer import LEGEND_COL, STEPS_COL, WorkbookWriter, fast_formulas, quote_sheet

KEY_SHEET = "xlhand_key"
CHECK_SHEET = "xlhand_check"
DEFAULT_RTOL = 1e-2
DEFAULT_ATOL = 1e-2
PROGRESS_FORMAT = {"bold": True, "font_color": "#1F3864"}


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
    names = [b.name for b in sheet.blocks.values() if b.is_computed and
             (b.step in steps if steps is not None else not b.extra.get("drawing"))]
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


def check_formula(visible: str, address: str, rtol: float, atol: float) -> str:
    """1 right (a number within tolerance, or the same text where the key is text), -1 anything
    else typed (text, an error, a wrong number), 0 empty."""
    mine = f"{quote_sheet(visible)}!{address}"
    key = f"{quote_sheet(KEY_SHEET)}!{address}"
    close = f"IF(ABS({mine}-{key})<=MAX({atol:g},{rtol:g}*ABS({key})),1,-1)"
    return (f"IF(ISBLANK({mine}),0,IF(ISERROR({mine}),-1,IF(ISNUMBER({mine}),"
            f"IF(ISNUMBER({key}),{close},-1),IF({mine}={key},1,-1))))")


# --- the student workbook ------------------------------------------------------------------
def student_workbook(resolved: Resolved, *, steps: set[int] | None = None, password: str | None = None,
                     self_check: bool = True, student: Student | None = None,
                     rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, paper: str = "a4") -> bytes:
    """A worksheet with the cells of ``steps`` blank (default: every computed block).

    Recalculated in memory before it is returned: the hidden key sheet must equal the NumPy
    reference, the givens must stand as given, and every self-check cell must read 0 (empty).
    The formulas left on the visible sheet (steps not blanked) then store the results they have
    while the blanks are empty, as any spreadsheet would show them; the hidden key stores none.
    """
    sheet = key_sheet(resolved, "student")
    blanks = blank_names(sheet, steps)
    key = key_sheet(resolved, "key") if self_check else None
    if key is not None:
        _same_layout(sheet, key)
    extra = {"blank_steps": sorted(steps) if steps else "all", "self_check": self_check,
             "tolerance": {"rtol": rtol, "atol": atol}}
    if student is not None:
        extra.update(student_id=student.id, student_name=student.name)
    parts = _StudentParts(resolved, sheet, key, blanks, password, student, rtol, atol, extra, paper)
    data = parts.write(None)
    evaluated = _verify_student(parts, data)
    shown = [b for b in sheet.blocks.values() if b.is_computed and b.name not in blanks]
    if shown:
        data = parts.write(_results_on(evaluated, parts.name))
    if key is None:
        key_workbook(resolved)  # no key sheet inside: verify the layout through the key itself
    return data


@dataclass
class _StudentParts:
    resolved: Resolved
    sheet: Sheet
    key: Sheet | None
    blanks: list[str]
    password: str | None
    student: Student | None
    rtol: float
    atol: float
    extra: dict
    paper: str

    @property
    def name(self) -> str:
        return sheet_name(self.resolved.exercise)

    def write(self, cached) -> bytes:
        sheet, name, blanks = self.sheet, self.name, self.blanks
        st = self.student
        who = "" if st is None else f"Student: {st.name} · id {st.id}" if st.name else f"Student id {st.id}"
        writer = WorkbookWriter(self.paper)
        ws = writer.write_sheet(sheet, name, blanks=frozenset(blanks), cached=cached, who=who)
        cells = blank_cells(sheet, blanks)
        label_row = sheet.header_rows - 1
        if who:
            ws.write_string(label_row, STEPS_COL, who, writer.fmt(style.LABEL))
        if self.key is not None:
            writer.write_sheet(self.key, KEY_SHEET, define_names=False, hidden=True).protect(self.password or "")
            check = writer.workbook.add_worksheet(CHECK_SHEET)
            fast_formulas(check)
            for _, _, _, r, c in cells:
                check.write_formula(r, c, "=" + check_formula(name, xl_rowcol_to_cell(r, c), self.rtol, self.atol),
                                    None, 0)
            check.very_hidden()
            check.protect(self.password or "")
            green, red = writer.fmt(style.CHECK_RIGHT), writer.fmt(style.CHECK_WRONG)
            for block in blanks:
                b = sheet.blocks[block]
                first = f"{quote_sheet(CHECK_SHEET)}!{xl_rowcol_to_cell(b.top, b.left)}"
                ws.conditional_format(b.range(), {"type": "formula", "criteria": f"={first}=1", "format": green})
                ws.conditional_format(b.range(), {"type": "formula", "criteria": f"={first}=-1", "format": red})
            rows = [r for *_, r, _ in cells]
            cols = [c for *_, c in cells]
            span = f"{xl_rowcol_to_cell(min(rows), min(cols))}:{xl_rowcol_to_cell(max(rows), max(cols))}"
            ws.write_formula(label_row, LEGEND_COL,
                             f'=COUNTIF({quote_sheet(CHECK_SHEET)}!{span},1)&" of {len(cells)} cells right"',
                             writer.fmt(PROGRESS_FORMAT), f"0 of {len(cells)} cells right")
        ws.protect(self.password or "", {"select_locked_cells": True, "select_unlocked_cells": True})
        writer.set_metadata(metadata(self.resolved, "student", **self.extra))
        return lock_structure(writer.to_bytes())


def _verify_student(parts: _StudentParts, data: bytes):
    """Recalculate the worksheet in memory: hidden key = NumPy, givens intact, self-check all 0."""
    sheet = parts.sheet
    expected = reference_values(parts.resolved, sheet)
    label = f"{parts.resolved.exercise.name} (student worksheet)"
    givens = [b for b in sheet.blocks.values() if not b.is_computed]
    checks = [SheetCheck(parts.name, sheet, givens)]
    if parts.key is not None:
        checks.append(SheetCheck(KEY_SHEET, parts.key, list(parts.key.blocks.values())))
    evaluated = verify_built(data, label, checks, expected)
    if parts.key is not None:
        index = evaluated.sheet_index(CHECK_SHEET)
        for block, i, j, r, c in blank_cells(sheet, parts.blanks):
            value = evaluated.value(index, r + 1, c + 1)
            if value != 0:
                raise BuildRefused(f"{label}: not written: the self-check of {block} {xl_rowcol_to_cell(r, c)} "
                                   f"reads {value!r} while the cell is empty (expected 0)")
    return evaluated


def _results_on(evaluated, sheet_name_: str):
    """A cached-value lookup from an evaluated workbook: what each visible formula cell computes
    (nothing for a cell that is an error while the blanks are empty)."""
    index = evaluated.sheet_index(sheet_name_)

    def value(block, i: int, j: int):
        cell = evaluated.cell(index, block.top + i + 1, block.left + j + 1)
        return None if cell.error else cell.value

    return value


def _same_layout(a: Sheet, b: Sheet) -> None:
    for name, block in a.blocks.items():
        other = b.blocks[name]
        if (block.top, block.left, block.shape) != (other.top, other.left, other.shape):
            raise RuntimeError(f"layout of block {name} differs between student and key sheets")


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


# --- class sets ----------------------------------------------------------------------------
def student_seed(class_seed: int, student_id: str) -> int:
    """A per-student seed: the same class seed and id always give the same numbers."""
    digest = hashlib.sha256(f"xlhand-class:{class_seed}:{student_id}".encode()).hexdigest()
    return int(digest[:12], 16) % 1_000_000_000


def file_stems(students: list[Student]) -> dict[str, str]:
    """A file-name-safe, unique stem per student id."""
    out, used = {}, set()
    for st in students:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", st.id).strip("._") or "student"
        stem = stem[:60]
        if stem.lower() in used:
            stem = f"{stem}-{hashlib.sha256(st.id.encode()).hexdigest()[:6]}"
        used.add(stem.lower())
        out[st.id] = stem
    return out


def default_keys_dir(out_dir: Path) -> Path:
    """Where keys and manifest go unless told: beside the worksheets, ``class`` -> ``class-keys``."""
    out_dir = Path(out_dir)
    if out_dir.name in ("", ".", ".."):
        out_dir = out_dir.resolve()
    return out_dir.with_name(f"{out_dir.name}-keys")


@dataclass
class ClassSet:
    manifest: dict
    worksheets: Path
    keys: Path
    notes: list[str]


def build_class(exercise_name: str, roster: Path, out_dir: Path, *, keys_dir: Path | None = None, size=None,
                sets=None, seed: int | None = None, params_path: Path | None = None, options=None,
                steps: set[int] | None = None, password: str | None = None, self_check: bool = True,
                rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, jobs: int | None = None,
                progress_label: str = "") -> ClassSet:
    """One student worksheet per roster row in ``out_dir`` (the folder handed out), and each
    student's key with ``manifest.json`` in ``keys_dir`` (default: ``<out_dir>-keys``), never
    among the worksheets.

    Students are built on ``jobs`` processes (default: the cores), each file identical whatever the
    number; nothing is written until every student is built (and verified), then each file is
    written whole (temporary file, then rename) and the manifest last.

    Each student's numbers come from the class seed and their id; with ``params_path`` every
    student gets the same numbers (the file's, and for givens it leaves out the template's, or
    ``seed``'s when given): one fixed version, each worksheet still carrying its student."""
    exercise = catalog.get(exercise_name)
    keys_dir = default_keys_dir(out_dir) if keys_dir is None else Path(keys_dir)
    _check_apart(Path(out_dir), keys_dir)
    listed = read_roster(roster)
    students = listed.students
    stems = file_stems(students)
    if params_path is not None:
        shared = resolve(exercise, size=size, sets=sets, params_path=params_path, seed=seed, options=options)
        variant = lambda st: shared  # noqa: E731 - one fixed version for everyone
    else:
        variant = lambda st: resolve(exercise, size=size, sets=sets, seed=student_seed(seed or 0, st.id),  # noqa: E731
                                     options=options)

    def build_one(st: Student) -> tuple:
        resolved = variant(st)
        stem = stems[st.id]
        worksheet = student_workbook(resolved, steps=steps, password=password, self_check=self_check, student=st,
                                     rtol=rtol, atol=atol)
        entry = {
            "id": st.id, "name": st.name, "extra": st.extra, "seed": resolved.seed,
            "numbers": resolved.numbers_text(), "fingerprint": resolved.fingerprint(), "file": f"{stem}.xlsx",
            "key_file": f"{stem}-key.xlsx",
            "params": {g.name: plain(resolved.params[g.name]) for g in exercise.givens},
        }
        return worksheet, key_workbook(resolved), entry

    first = variant(students[0])
    blanks = blank_names(key_sheet(first), steps)  # every variant has the same layout
    built = run_all(build_one, students, jobs, label=progress_label)
    files, entries = [], []
    for st, (worksheet, key, entry) in zip(students, built):
        files.append((out_dir / f"{stems[st.id]}.xlsx", worksheet))
        files.append((keys_dir / f"{stems[st.id]}-key.xlsx", key))
        entries.append(entry)
    check_writable(out_dir)
    check_writable(keys_dir)
    for path, data in files:
        write_atomic(path, data)
    manifest = {
        "xlhand_manifest": 1, "exercise": exercise.name, "dims": dict(first.dims), "options": first.options,
        "class_seed": None if params_path is not None else seed or 0,
        "params_file": None if params_path is None else str(params_path), "size": size,
        "blank_steps": sorted(steps) if steps else "all", "blanks": blanks,
        "self_check": self_check, "password_protected": bool(password),
        "tolerance": {"rtol": rtol, "atol": atol}, "sheet": sheet_name(exercise), "students": entries,
    }
    write_atomic(keys_dir / "manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8"))
    return ClassSet(manifest, Path(out_dir), keys_dir, listed.notes)


def _check_apart(out_dir: Path, keys_dir: Path) -> None:
    """The keys may not lie in the folder that is handed out."""
    out, keys = out_dir.resolve(), keys_dir.resolve()
    if keys == out or out in keys.parents:
        raise XlhandError(f"--keys {keys_dir} lies inside --out {out_dir}, the folder of worksheets handed out: "
                          f"choose a folder apart (default {default_keys_dir(out_dir)})")


def load_manifest(path: Path) -> dict:
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise XlhandError(f"manifest {path}: cannot be read ({e.strerror or e})") from None
    except (ValueError, UnicodeDecodeError):
        raise XlhandError(f"manifest {path}: not valid JSON") from None
    if not isinstance(manifest, dict) or manifest.get("xlhand_manifest") != 1:
        raise XlhandError(f"manifest {path}: not an xlhand class manifest")
    return manifest


def resolved_for(manifest: dict, entry: dict) -> Resolved:
    """Rebuild one student's variant from the manifest (and check it against its fingerprint)."""
    exercise = catalog.get(manifest["exercise"])
    dims = Dims({k: int(v) for k, v in manifest["dims"].items()})
    params = Params()
    for given in exercise.givens:
        params[given.name] = normalize_value(given, entry["params"][given.name], dims, "manifest")
    resolved = Resolved(exercise, dims, params, entry.get("seed"), exercise.check_options(manifest["options"]),
                        numbers=entry.get("numbers", ""))
    if resolved.fingerprint() != entry.get("fingerprint"):
        raise XlhandError(f"manifest: the numbers of student '{entry['id']}' do not match their fingerprint")
    return resolved
