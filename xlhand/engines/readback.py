"""Reading an xlhand workbook back: metadata, where each named block is, its cells, its givens."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from xlsxwriter.utility import xl_cell_to_rowcol, xl_col_to_name

from xlhand.layout.blocks import block_name_of
from xlhand.errors import XlhandError
from xlhand.model.givens import Dims, Params, normalize_value

JSON_KEYS = ("dims", "options")


@dataclass(frozen=True)
class BlockRange:
    """Where a named block stands: sheet name and 1-based inclusive bounds."""

    sheet: str
    min_row: int
    min_col: int
    max_row: int
    max_col: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.max_row - self.min_row + 1, self.max_col - self.min_col + 1)

    def addresses(self) -> list[list[str]]:
        return [[f"{xl_col_to_name(c - 1)}{r}" for c in range(self.min_col, self.max_col + 1)]
                for r in range(self.min_row, self.max_row + 1)]


def load(path: Path, data_only: bool = False):
    import openpyxl  # imported here: building never needs it, and it takes a third of a second

    try:
        return openpyxl.load_workbook(path, data_only=data_only, keep_links=False)
    except FileNotFoundError:
        raise XlhandError(f"{path}: no such file") from None
    except Exception as e:  # openpyxl raises many kinds for a file that is not an xlsx
        raise XlhandError(f"{path}: not a readable .xlsx workbook ({type(e).__name__})") from None


def read_metadata(wb, path: Path) -> dict:
    """The ``xlhand_*`` custom properties of an openpyxl workbook, or (``wb`` None) of the file itself."""
    if wb is None:
        props = _custom_properties(path)
    else:
        props = {prop.name: prop.value for prop in wb.custom_doc_props.props}
    meta = {name[len("xlhand_"):]: value for name, value in props.items() if name.startswith("xlhand_")}
    if "exercise" not in meta:
        raise XlhandError(f"{path}: no xlhand metadata (was it made by xlhand build?)")
    for key in JSON_KEYS:
        meta[key] = json.loads(meta.get(key) or "{}")
    return meta


def _custom_properties(path: Path) -> dict[str, str]:
    """docProps/custom.xml read straight from the zip (IronCalc does not read custom properties)."""
    import zipfile

    from defusedxml import ElementTree

    try:
        with zipfile.ZipFile(path) as zf:
            if "docProps/custom.xml" not in zf.namelist():
                return {}
            root = ElementTree.fromstring(zf.read("docProps/custom.xml"))
    except FileNotFoundError:
        raise XlhandError(f"{path}: no such file") from None
    except Exception as e:  # a damaged zip or XML
        raise XlhandError(f"{path}: not a readable .xlsx workbook ({type(e).__name__})") from None
    return {prop.get("name"): "".join(prop.itertext()) for prop in root}


def block_ranges(wb) -> dict[str, BlockRange]:
    """Every xlhand block in the workbook (openpyxl's, or an evaluated engine.Workbook), found
    through its defined name."""
    if hasattr(wb, "defined_names") and callable(wb.defined_names):
        destinations = wb.defined_names()
    else:
        destinations = [(defined, sheet, ref.replace("$", ""))
                        for defined, dn in wb.defined_names.items() for sheet, ref in dn.destinations]
    out = {}
    for defined, sheet, ref in destinations:
        name = block_name_of(defined)
        if name is None:
            continue
        first, _, last = ref.partition(":")
        (r1, c1), (r2, c2) = xl_cell_to_rowcol(first), xl_cell_to_rowcol(last or first)
        out[name] = BlockRange(sheet, r1 + 1, c1 + 1, r2 + 1, c2 + 1)
    return out


def read_block(wb, where: BlockRange) -> list[list[object]]:
    if hasattr(wb, "read") and callable(wb.read):
        return wb.read(where.sheet, where.min_row, where.min_col, where.max_row, where.max_col)
    ws = wb[where.sheet]
    return [[ws.cell(r, c).value for c in range(where.min_col, where.max_col + 1)]
            for r in range(where.min_row, where.max_row + 1)]


def read_params(wb, exercise, dims: Dims, path: Path) -> Params:
    """The givens as they stand in the workbook (a student may have changed them)."""
    ranges = block_ranges(wb)
    params = Params()
    for given in exercise.givens:
        size = given.size(dims)
        if given.stack is not None:
            value = [_cells(wb, ranges, f"{given.name}_{k}", path) for k in given.items(dims)]
        elif given.kind == "number" and len(size) == 3:
            value = [_cells(wb, ranges, f"{given.name}_{k}", path) for k in range(1, size[0] + 1)]
        elif given.kind == "texts":
            value = [str(v) for row in _cells(wb, ranges, given.name, path) for v in row]  # a row or a column
        elif given.kind in ("text", "choice"):
            value = str(_cells(wb, ranges, given.name, path)[0][0])
        else:
            value = _cells(wb, ranges, given.name, path)
        params[given.name] = normalize_value(given, value, dims, str(path))
    return params


def _cells(wb, ranges: dict, name: str, path: Path):
    if name not in ranges:
        raise XlhandError(f"{path}: block '{name}' is missing (no defined name x_{name})")
    return read_block(wb, ranges[name])
