"""From resolved params to the bytes of a workbook, and onto disk without half-written files."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from xlhand import __version__
from xlhand.errors import XlhandError
from xlhand.model.exercise import Exercise
from xlhand.model.resolve import Resolved
from xlhand.engines.recalc import SheetCheck, cached_values, reference_values, verify_built
from xlhand.layout.paper import REFUSED_NOTE, ROUNDING, PageGrid, name_line
from xlhand.layout.sheet import Sheet
from xlhand.layout.writer import WorkbookWriter


def sheet_name(exercise: Exercise) -> str:
    return exercise.name[:31]


def subtitle(resolved: Resolved, mode: str) -> str:
    unused = resolved.exercise.unused_dims(resolved.dims) if resolved.exercise.unused_dims else set()
    dims = ", ".join(f"{k}={v}" for k, v in resolved.dims.items() if k not in unused)
    return f"{dims} · numbers: {resolved.numbers_text()} · {mode} · xlhand {__version__}"


def metadata(resolved: Resolved, mode: str, **extra) -> dict:
    return {
        "version": __version__,
        "exercise": resolved.exercise.name,
        "dims": dict(resolved.dims),
        "options": resolved.options,
        "seed": "" if resolved.seed is None else str(resolved.seed),
        "numbers": resolved.numbers_text(),
        "mode": mode,
        "params_fingerprint": resolved.fingerprint(),
        **extra,
    }


KEY_LINE = f"Answer key      {ROUNDING}"


def key_sheet(resolved: Resolved, mode: str = "key") -> Sheet:
    sheet = resolved.exercise.build_sheet(resolved, subtitle(resolved, mode))
    sheet.subtitle_room = subtitle(resolved, "student")  # the key prints on its worksheet's pages
    return sheet


def key_workbook(resolved: Resolved, paper: str = "a4", *, sheet: Sheet | None = None,
                 expected: dict | None = None, answers: list[str] | None = None, sample: bool = False) -> bytes:
    """The key: every derived cell a live formula that stores its result, recalculated in memory
    and compared with the NumPy reference before anything is returned (see :mod:`xlhand.recalc`).
    ``sheet`` (and its ``expected`` values) may be a key sheet already laid out for ``resolved``.
    The rows of the ``answers`` (default: what a worksheet leaves blank) are as tall as on the
    worksheet, so that the key prints on the same pages. ``sample``: print a labelled excerpt."""
    sheet = key_sheet(resolved) if sheet is None else sheet
    expected = reference_values(resolved, sheet) if expected is None else expected
    name = sheet_name(resolved.exercise)
    writer = WorkbookWriter(paper)
    answers = sheet.answer_names() if answers is None else answers
    writer.write_sheet(sheet, name, cached=cached_values(expected), tall=frozenset(answers), name_line=KEY_LINE,
                       note=REFUSED_NOTE, sample=sample)
    writer.set_metadata(metadata(resolved, "key"))
    data = writer.to_bytes()
    verify_built(data, resolved.exercise.name, [SheetCheck(name, sheet, list(sheet.blocks.values()))], expected)
    return data


def page_plan(resolved: Resolved, paper: str = "a4", *, student: bool = False) -> PageGrid:
    """The pages the key (with ``student``, the worksheet with every answer blank) prints on, planned
    from the layout as the writer plans them, without recalculating: what the page budgets check."""
    sheet = key_sheet(resolved, "student" if student else "key")
    answers = frozenset(sheet.answer_names())
    writer = WorkbookWriter(paper)
    name = sheet_name(resolved.exercise)
    writer.write_sheet(sheet, name, blanks=answers if student else frozenset(), tall=answers,
                       name_line=name_line() if student else KEY_LINE, note=REFUSED_NOTE)
    return writer.plans[name]


def check_writable(directory: Path) -> None:
    """Create ``directory`` if needed and make sure a file can be written there."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".xlhand-probe-"):
            pass
    except OSError as e:
        raise XlhandError(f"output directory {directory}: cannot be written ({e.strerror or e})") from None


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: readers never see half a file."""
    tmp = write_temporary(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_temporary(path: Path, data: bytes, tag: str | None = None) -> Path:
    """``data`` written whole (and flushed to disk) to a temporary file beside ``path``, to be renamed
    to ``path`` by the caller: ``.<name>.<tag>.tmp``, the tag random unless given (a batch gives
    one tag to all its files, so that it can find and remove them if it fails).

    The file is created with mode 0666 for the system to reduce by the umask, as any file a program
    writes (mkstemp's 0600 would leave workbooks and grades unreadable to others whatever the
    umask); O_EXCL keeps it our own."""
    tmp = path.parent / f".{path.name}.{tag or os.urandom(8).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp
