"""IronCalc: the fast formula engine, used in memory to recalculate a workbook.

IronCalc (PyPI ``ironcalc``, a spreadsheet engine written in Rust) loads and evaluates an .xlsx in
about 30 µs per formula cell, roughly a hundred times faster than the ``formulas`` package. It is
the default engine of ``xlhand check``, of the verification inside ``build`` and of grading.

It is only ever used to *read*: its ``save_to_xlsx`` drops sheet protection and custom document
properties, so xlhand never writes a file with it. A Rust panic inside it arrives as pyo3's
``PanicException``, a ``BaseException``; every call goes through :func:`guarded`, which turns that
(and any other failure) into :class:`EngineError`, one line naming the file.

Values come back as Python values: numbers as ``float``, text as ``str``, booleans as ``bool``,
error values as their text (``"#DIV/0!"``; :func:`is_error` tells them from ordinary text because
the engine reports the cell's type), and empty cells as ``None``.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from xlhand.errors import XlhandError

ERROR_PREFIX = "#"


class EngineError(XlhandError):
    """IronCalc could not load or evaluate a workbook."""


@dataclass(frozen=True)
class Cell:
    """One evaluated cell: its value and whether the engine calls it an error."""

    value: object
    error: bool = False


def guarded(what: str, fn: Callable, *args):
    try:
        return fn(*args)
    except BaseException as e:  # noqa: BLE001 - a Rust panic is a BaseException (pyo3 PanicException)
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EngineError(f"{what}: IronCalc failed ({type(e).__name__}: {detail[:200]})") from None


class Workbook:
    """A workbook loaded into IronCalc and evaluated; read cells by sheet name and 1-based position."""

    def __init__(self, path: Path, label: str | None = None):
        import ironcalc  # imported here: only the commands that recalculate need it

        self._ic = ironcalc
        self.label = label or str(path)
        self.model = guarded(self.label, ironcalc.load_from_xlsx, str(path), "en", "UTC")
        guarded(self.label, self.model.evaluate)
        props = guarded(self.label, self.model.get_worksheets_properties)
        self.sheets = [p["name"] for p in props]
        self._index = {name.upper(): k for k, name in enumerate(self.sheets)}
        self._error_type = ironcalc.CellType.ErrorValue

    @classmethod
    def from_bytes(cls, data: bytes, label: str) -> "Workbook":
        """Evaluate a workbook held in memory (IronCalc reads .xlsx only from a path)."""
        fd, tmp = tempfile.mkstemp(prefix="xlhand-ic-", suffix=".xlsx")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            return cls(Path(tmp), label)
        finally:
            os.unlink(tmp)

    def sheet_index(self, sheet: str) -> int:
        try:
            return self._index[sheet.upper()]
        except KeyError:
            raise EngineError(f"{self.label}: no sheet '{sheet}'") from None

    def cell(self, sheet: int, row: int, col: int) -> Cell:
        """The evaluated cell at 1-based ``row``, ``col`` of sheet number ``sheet`` (0-based)."""
        model = self.model
        value = guarded(self.label, model.get_cell_value, sheet, row, col)
        if value is None:
            return Cell(None)
        if isinstance(value, str):
            kind = guarded(self.label, model.get_cell_type, sheet, row, col)
            return Cell(value, error=kind == self._error_type)
        if isinstance(value, bool):
            return Cell(value)
        return Cell(float(value))

    def value(self, sheet: int, row: int, col: int) -> object:
        return self.cell(sheet, row, col).value

    def defined_names(self) -> list[tuple[str, str, str]]:
        """(name, sheet, A1 range without $) of every workbook-scoped defined name."""
        out = []
        for item in guarded(self.label, self.model.get_defined_name_list):
            sheet, bang, ref = item["formula"].lstrip("=").rpartition("!")
            if item.get("scope") is None and bang:
                out.append((item["name"], sheet.strip("'").replace("''", "'"), ref.replace("$", "")))
        return out

    def read(self, sheet: str, min_row: int, min_col: int, max_row: int, max_col: int) -> list[list[object]]:
        """The values of a rectangle of cells (1-based, inclusive bounds)."""
        index = self.sheet_index(sheet)
        return [[self.value(index, r, c) for c in range(min_col, max_col + 1)] for r in range(min_row, max_row + 1)]

    def formulas(self, sheet: int) -> dict[tuple[int, int], str]:
        """(row, col), 1-based -> formula text, for every cell of the sheet that holds a formula."""
        model, out = self.model, {}
        for s, row, col in guarded(self.label, model.get_all_cells):
            if s == sheet:
                content = guarded(self.label, model.get_cell_content, s, row, col)
                if content.startswith("="):
                    out[(row, col)] = content
        return out

    def formula_cells(self, sheet: int) -> Iterator[tuple[int, int]]:
        """(row, col), 1-based, of every cell of the sheet that holds a formula."""
        yield from self.formulas(sheet)

    def errors(self, sheet: int) -> Iterator[tuple[int, int, str]]:
        """(row, col, error text), 1-based, of every formula cell of the sheet that evaluates to an error."""
        for row, col in self.formula_cells(sheet):
            cell = self.cell(sheet, row, col)
            if cell.error:
                yield row, col, str(cell.value)


def is_error(value: object) -> bool:
    """An error value as the other engines give it back (``#DIV/0!``, ``#NUM!`` …)."""
    return isinstance(value, str) and value.startswith(ERROR_PREFIX) and value.endswith(("!", "?", "A"))
