"""Stage 1, found: every file under the paths given, each a hand-in or skipped with the reason."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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
