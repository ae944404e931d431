"""Linting files: each read from the outside first (:func:`reader.precheck`), then read and checked in
a forked child under CPU-time and memory limits, as grading reads submissions. Macros are never run
and links never followed: nothing in the file is executed, only its XML read."""
from __future__ import annotations

import gc
import multiprocessing
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from xlhand.lint import chain, functions, ranges, shape
from xlhand.lint.context import build_context
from xlhand.lint.findings import Finding, Hit, gather
from xlhand.lint.reader import MEMORY, TIMEOUT, Rejected, limited, precheck
from xlhand.lint.workbook import read_book

SHEET_RULES = (shape.check, ranges.check, chain.check, functions.check)


@dataclass
class Outcome:
    """What linting some files gave: the findings, and why each file that could not be read was not."""

    findings: list[Finding] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)  # file -> reason


def lint_book(path: Path, label: str | None = None) -> list[Finding]:
    """Every finding of the workbook at ``path`` (in this process: see :func:`lint_file`)."""
    with _collector_paused():
        book = read_book(str(path))
        ctx = build_context(book)
        hits: list[Hit] = functions.check_book(ctx)
        for sheet in book.sheets:
            if _self_check(book, sheet):
                continue
            for rule in SHEET_RULES:
                hits += rule(ctx, sheet)
        return gather(label or str(path), hits)


def _self_check(book, sheet) -> bool:
    """xlhand's own self-check sheet of a student worksheet: a mark per blank, each formula holding
    its blank's expected value as a constant by design (see :mod:`xlhand.classroom.worksheet`)."""
    if sheet.state != "veryHidden" or book.meta.get("xlhand_mode") != "student":
        return False
    from xlhand.classroom.worksheet import CHECK_SHEET  # here: most workbooks never need it

    return sheet.name == CHECK_SHEET


@contextmanager
def _collector_paused():
    """Python's cycle collector paused: a big workbook is hundreds of thousands of small objects that
    all live until the end, and the collector would walk them again and again (a third of the time)
    to free nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def lint_file(path: Path, timeout: float = TIMEOUT, memory: int = MEMORY) -> list[Finding]:
    """The findings of one file, read in a limited child; raises :class:`Rejected` when it cannot be read."""
    path = Path(path)
    precheck(path)
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, path, timeout, memory), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise Rejected(f"took too long to read (over {timeout:g} s)")
        status, payload = parent.recv()
    except EOFError:
        raise Rejected("could not be read within the limits (the reader was stopped)") from None
    finally:
        parent.close()
        if proc.is_alive():
            proc.kill()
        proc.join(1)
    if status != "ok":
        raise Rejected(payload)
    return [Finding(**f) for f in payload]


def _child(conn, path: Path, timeout: float, memory: int) -> None:
    try:
        conn.send(limited(lambda: [f.as_dict() for f in lint_book(path, str(path))], timeout, memory))
    finally:
        conn.close()


def lint_files(paths: list[Path]) -> Outcome:
    """Lint every file, each on its own: an unreadable file is noted and the others still linted."""
    out = Outcome()
    for path in paths:
        try:
            out.findings += lint_file(Path(path))
        except Rejected as e:
            out.unreadable[str(path)] = e.reason
    return out
