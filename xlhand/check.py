"""Verification: recompute a workbook with a formula engine and compare every named block with NumPy.

Three engines, each catching what another misses: IronCalc in memory (the default; see
:mod:`xlhand.engine`), the ``formulas`` package in-process, and LibreOffice headless (see
:mod:`xlhand.libreoffice`), whose recalculated and saved values are read back with openpyxl.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from xlhand.model import catalog
from xlhand.engines import readback
from xlhand.build import key_sheet
from xlhand.engines.compare import Mismatch, as_number, compare_grid
from xlhand.errors import XlhandError
from xlhand.model.exercise import expected_values
from xlhand.model.givens import Dims
from xlhand.model.resolve import Resolved

ENGINES = ("ironcalc", "formulas", "libreoffice")

CellReader = Callable[[readback.BlockRange], list[list[object]]]


@dataclass
class Report:
    path: Path
    exercise: str
    blocks: int = 0
    cells: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


@dataclass
class Rebuilt:
    """What a workbook says it is, rebuilt from its metadata and its own givens."""

    resolved: Resolved
    expected: dict
    ranges: dict
    notes: list[str]
    mismatches: list[Mismatch] = field(default_factory=list)  # found while rebuilding (a student's self-check)


def rebuild(path: Path, wb=None) -> Rebuilt:
    """Rebuild what ``path`` says it is; ``wb`` is the workbook loaded into IronCalc (loaded here
    when not given), from which the givens and the blocks' places are read."""
    meta = _metadata(path)
    if wb is None:
        wb = load_engine(path)
    exercise = catalog.get(meta["exercise"])
    dims = Dims({k: int(v) for k, v in meta["dims"].items()})
    params = readback.read_params(wb, exercise, dims, path)
    seed = int(meta["seed"]) if meta.get("seed") else None
    resolved = Resolved(exercise, dims, params, seed, exercise.check_options(meta["options"]),
                        numbers=meta.get("numbers", ""))
    notes = []
    if meta.get("params_fingerprint") and meta["params_fingerprint"] != resolved.fingerprint():
        notes.append("the givens differ from those the workbook was built with")
    sheet = key_sheet(resolved)
    expected = {name: value for name, value in expected_values(exercise, resolved, sheet).items()
                if name in sheet.blocks and sheet.blocks[name].named}
    ranges = readback.block_ranges(wb)
    rebuilt = Rebuilt(resolved, expected, ranges, notes)
    if meta.get("mode") == "student":
        _student_blocks(meta, wb, sheet, rebuilt)
    return rebuilt


def _metadata(path: Path) -> dict:
    """The workbook's xlhand metadata; a workbook xlhand did not make has nothing to be checked
    against, and the error says what can check it: ``xlhand lint``."""
    try:
        return readback.read_metadata(None, path)
    except XlhandError as e:
        if "no xlhand metadata" not in str(e):
            raise
        raise XlhandError(f"{path}: not made by xlhand (no xlhand metadata), so there is no reference to "
                          f"compare it with; to find formula mistakes in any workbook, run: xlhand lint {path}") from None


OLDER_KEY_SHEET = "xlhand_key"  # the hidden key that worksheets carried before their checks held the answers


def _student_blocks(meta: dict, wb, sheet, rebuilt: Rebuilt) -> None:
    """A student workbook's blanks are empty, and computed cells after them depend on them, so its
    computed blocks are not compared; its givens are, and (with a self-check) each check formula
    must test its blank against the reference value with the workbook's tolerance."""
    from xlhand.classroom.manifest import Tolerance
    from xlhand.classroom.worksheet import CHECK_SHEET, blank_names, self_check_mismatches, steps_from_metadata

    blanks = blank_names(sheet, steps_from_metadata(meta.get("blank_steps")))
    answers = {name: rebuilt.expected[name] for name in blanks}
    for block in sheet.blocks.values():
        if block.is_computed:
            rebuilt.expected.pop(block.name, None)
    if CHECK_SHEET not in wb.sheets:
        rebuilt.notes.append(f"student workbook without self-check ({len(blanks)} blank blocks): only the givens checked")
        return
    if OLDER_KEY_SHEET in wb.sheets:
        rebuilt.notes.append(f"an older student workbook (its self-check reads a hidden key sheet; {len(blanks)} "
                             f"blank blocks): only the givens checked")
        return
    tol = Tolerance.from_dict(json.loads(meta.get("tolerance") or "{}"))
    found = {(r - 1, c - 1): text for (r, c), text in wb.formulas(wb.sheets.index(CHECK_SHEET)).items()}
    rebuilt.mismatches.extend(self_check_mismatches(found, sheet, blanks, answers, tol))
    rebuilt.notes.append(f"student workbook ({len(blanks)} blank blocks): the givens and the expected value "
                         f"in every self-check ({sum(sheet.blocks[b].rows * sheet.blocks[b].cols for b in blanks)} "
                         f"cells) checked")


def compare(rebuilt: Rebuilt, read_cells: CellReader, path: Path) -> Report:
    report = Report(path, rebuilt.resolved.exercise.name, notes=list(rebuilt.notes),
                    mismatches=list(rebuilt.mismatches))
    for name, expected in rebuilt.expected.items():
        where = rebuilt.ranges.get(name)
        if where is None:
            report.mismatches.append(Mismatch(name, "-", "a defined name x_" + name, "none"))
            continue
        report.blocks += 1
        report.mismatches.extend(compare_grid(name, expected, read_cells(where), where.addresses()))
        report.cells += where.shape[0] * where.shape[1]
    return report


# --- engines ---------------------------------------------------------------------------------
_KEY = re.compile(r"^'\[[^\]]*\](?P<sheet>.+)'!(?P<cell>[A-Z]+[0-9]+)$")


def formulas_cells(path: Path) -> CellReader:
    """Recompute every formula with the ``formulas`` engine; read cells of the result."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # formulas shows progress bars otherwise
    import formulas  # imported here: it takes a second to import

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = formulas.ExcelModel().loads(str(path)).finish()
        solution = model.calculate()
    cells: dict[tuple[str, str], object] = {}
    for key, ranges in solution.items():
        m = _KEY.match(key)
        if m:
            cells[(m["sheet"].upper(), m["cell"])] = _plain(ranges.value[0][0])

    def read(where: readback.BlockRange) -> list[list[object]]:
        sheet = where.sheet.upper()
        return [[cells.get((sheet, a)) for a in row] for row in where.addresses()]

    return read


def _plain(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    number = as_number(value)
    if number is not None:
        return number
    if isinstance(value, str):
        return value
    text = str(value)
    return None if text in ("", "empty") else f"#{text.lstrip('#')}" if text.startswith("#") else text


def saved_cells(path: Path) -> CellReader:
    """Read the cached values a spreadsheet application saved (LibreOffice after recalculation)."""
    wb = readback.load(path, data_only=True)
    return lambda where: readback.read_block(wb, where)


def load_engine(path: Path):
    from xlhand.engines.workbook import Workbook

    if not path.is_file():
        raise XlhandError(f"{path}: no such file")
    return Workbook(path)


def check_file(path: Path, engine: str = "ironcalc", recalculated: Path | None = None) -> Report:
    """Check one workbook with ``engine`` (``ironcalc``, ``formulas``), or ``saved`` to read the values
    of ``recalculated`` (the same workbook after LibreOffice recalculated it: see :func:`check_files`)."""
    wb = load_engine(path)
    rebuilt = rebuild(path, wb)
    if engine == "ironcalc":
        reader = lambda where: readback.read_block(wb, where)  # noqa: E731
    elif engine == "formulas":
        reader = formulas_cells(path)
    elif engine == "saved":
        reader = saved_cells(recalculated or path)
    else:
        raise XlhandError(f"unknown engine '{engine}' (engines: {', '.join(ENGINES)})")
    return compare(rebuilt, reader, path)


def check_files(paths: list[Path], engine: str = "ironcalc") -> list[Report | XlhandError]:
    """Check every file, each on its own: a bad file gives its error and the others are still checked.
    With ``libreoffice``, every file is recalculated in one batch call first."""
    if engine not in ENGINES:
        raise XlhandError(f"unknown engine '{engine}' (engines: {', '.join(ENGINES)})")
    if engine != "libreoffice":
        return [_checked(lambda p=p: check_file(p, engine)) for p in paths]
    import tempfile

    from xlhand.engines.libreoffice import recalculate

    with tempfile.TemporaryDirectory(prefix="xlhand-check-") as tmp:
        copies = {}
        for k, p in enumerate(paths):
            copy = Path(tmp) / "in" / f"f{k:05d}.xlsx"
            copy.parent.mkdir(exist_ok=True)
            if p.is_file():
                copy.write_bytes(p.read_bytes())
            copies[p] = copy
        converted = recalculate([c for c in copies.values() if c.exists()], Path(tmp) / "out")
        out = []
        for p, copy in copies.items():
            done = converted.get(copy)
            if done is None:
                out.append(XlhandError(f"{p}: no such file" if not p.is_file() else
                                       f"{p}: LibreOffice could not open it"))
            else:
                out.append(_checked(lambda p=p, d=done: check_file(p, "saved", d)))
        return out


def _checked(fn) -> Report | XlhandError:
    try:
        return fn()
    except XlhandError as e:
        return e


def layout_order(wb, path: Path, ranges: dict) -> list[str]:
    """The workbook's blocks in the order its exercise lays them out, step by step (rebuilt from its
    metadata and givens); blocks that layout does not name, or all of them when the workbook
    cannot be rebuilt, follow in reading order (sheet, row, column)."""
    try:
        meta = readback.read_metadata(wb, path)
        exercise = catalog.get(meta["exercise"])
        dims = Dims({k: int(v) for k, v in meta["dims"].items()})
        params = readback.read_params(wb, exercise, dims, path)
        laid_out = list(key_sheet(Resolved(exercise, dims, params, None, exercise.check_options(meta["options"]))).blocks)
    except XlhandError:
        laid_out = []
    rest = sorted((name for name in ranges if name not in laid_out),
                  key=lambda n: (ranges[n].sheet, ranges[n].min_row, ranges[n].min_col))
    return [name for name in laid_out if name in ranges] + rest
