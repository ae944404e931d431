"""Opening submissions defensively: every file a student hands in is treated as hostile.

Before any XML is parsed, :func:`precheck` (:mod:`xlhand.grading.zipcheck`) looks at the file from the outside: its size, whether
it is a zip at all, the zip's entry count, declared uncompressed sizes and compression ratios,
macros, external links and the declared sheet dimensions, and it reads every XML part whole (in
chunks, so a declaration split between two chunks is still seen) for DOCTYPE/ENTITY declarations,
the XML entity attacks. Only UTF-8 XML is accepted: a part in UTF-16 or UTF-32, or one declaring
another encoding, is refused rather than decoded, since a byte scan cannot read it.

Only then is the workbook opened, in a forked child process with CPU-time and address-space
limits (``resource.setrlimit``) and a wall-clock timeout, so a file that still manages to be
expensive costs one row in the grades, not the batch; if the limits cannot be set, nothing is
graded (:class:`SandboxError`). In the child IronCalc loads the workbook and recalculates every
formula (results saved in the file are never read), and :mod:`xlhand.grading.policy` refuses every
blank whose value comes from a formula that reads anything but the visible sheet. The child sends
back only the rectangle of cells the grader needs.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import resource
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from xlhand.errors import XlhandError
from xlhand.grading import policy, xlsxparts
from xlhand.grading.policy import Area, Formula
from xlhand.grading.zipcheck import CHUNK, MAX_BYTES, Rejected, precheck  # noqa: F401 - read here by lint and tests

TIMEOUT = 30.0  # seconds per file
MEMORY = 1024 * 1024 * 1024  # bytes of address space a child may add


class SandboxError(XlhandError):
    """The limits a child must run under could not be set: no submission may be opened."""


@dataclass
class Extracted:
    """What the child read from a submission: metadata, sheet names and a box of recalculated cells."""

    meta: dict = field(default_factory=dict)
    sheets: list[str] = field(default_factory=list)
    values: list[list[object]] = field(default_factory=list)  # as IronCalc computes them; errors as "#DIV/0!"
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # blank -> the formula giving its value
    refused: dict[tuple[int, int], str] = field(default_factory=dict)  # blank -> why its formula is refused
    checks: dict[tuple[int, int], str] = field(default_factory=dict)  # blank -> its self-check's formula
    sheet_state: str = "visible"  # of the graded sheet: "hidden" or "veryHidden" when the file hides it
    notes: list[str] = field(default_factory=list)

    def value(self, row: int, col: int):
        """0-based row and column."""
        try:
            return self.values[row][col]
        except IndexError:
            return None

    def formula(self, row: int, col: int) -> str | None:
        """The formula that gives the blank at 0-based ``row``, ``col`` its value, if any."""
        return self.formulas.get((row, col))


# --- reading in a child ------------------------------------------------------------------------
@dataclass
class Job:
    key: object
    path: Path
    sheet: str
    rows: int
    cols: int
    blanks: tuple[tuple[int, int], ...] = ()  # 0-based cells the student fills in
    check_sheet: str = ""  # the hidden sheet whose formulas check the blanks ("": none read)


def _extract(job: Job) -> Extracted:
    """Metadata, sheet names and the box of cells as IronCalc recalculates them (in the child), with
    the formula behind each blank and, for a formula that reads what it may not, the reason."""
    from xlhand.engines.workbook import Workbook

    with zipfile.ZipFile(job.path) as zf:
        meta = {k: v for k, v in xlsxparts.custom_properties(zf).items() if k.startswith("xlhand_")}
        book = Workbook(job.path, label=Path(job.path).name)
        out = Extracted(meta=meta, sheets=list(book.sheets))
        if job.sheet not in out.sheets:
            return out
        part, out.sheet_state = xlsxparts.sheet_part(zf, job.sheet)
        arrays = xlsxparts.array_formulas(zf, part, job.sheet)
        blanks = {(r + 1, c + 1) for r, c in job.blanks}  # IronCalc counts from 1
        empty = xlsxparts.empty_cells(zf, part, {b for b in blanks if not any(b in f.area for f in arrays)})
    index = out.sheets.index(job.sheet)
    own = _cell_formulas(book, index)
    _sumproduct_as_arrays(book, index, [f for f in own if (f.area.top, f.area.left) in blanks])
    out.values = [[None if (r + 1, c + 1) in empty else book.value(index, r + 1, c + 1) for c in range(job.cols)]
                  for r in range(job.rows)]
    at = {(f.area.top, f.area.left): f.text for f in own}
    for r, c in blanks:
        text = at.get((r, c)) or next((f.text for f in arrays if (r, c) in f.area), None)
        if text:
            out.formulas[(r - 1, c - 1)] = text
    refused = policy.refused(own + arrays, blanks, job.sheet)
    out.refused = {(r - 1, c - 1): reason for (r, c), reason in refused.items()}
    if job.check_sheet in out.sheets:
        checks = book.formulas(out.sheets.index(job.check_sheet))
        out.checks = {(r - 1, c - 1): checks[(r, c)] for r, c in blanks if (r, c) in checks}
    return out


def _sumproduct_as_arrays(book, index: int, formulas: list[Formula]) -> None:
    """Evaluate again, as one-cell array formulas, the blanks where IronCalc applies implicit
    intersection inside SUMPRODUCT: ``=SUMPRODUCT(EXP(A1:A3))`` is #VALUE! in IronCalc (or, on row 1,
    e^A1), while Excel, LibreOffice and Google Sheets evaluate SUMPRODUCT's arguments as arrays."""
    again = [(f.area.top, f.area.left, policy.without_sumproduct_intersections(f.text)) for f in formulas]
    again = [(row, col, text) for row, col, text in again if text is not None]
    for row, col, text in again:
        book.model.set_user_array_formula(index, row, col, 1, 1, text)
    if again:
        book.model.evaluate()


def _cell_formulas(book, index: int) -> list[Formula]:
    """The formula of every cell of sheet ``index``, as IronCalc evaluates it."""
    return [Formula(text, Area(row, col, row, col)) for (row, col), text in book.formulas(index).items()]


def _child(conn, job: Job, timeout: float, memory: int) -> None:
    _send(conn, limited(lambda: _extract(job), timeout, memory))


def limited(work, timeout: float, memory: int) -> tuple[str, object]:
    """Run ``work()`` in this (child) process under the CPU and memory limits: ("ok", its result),
    ("rejected", why the file cannot be read) or ("sandbox", why the limits could not be set).
    Grading and lint read untrusted workbooks through it."""
    try:
        limit_resources(timeout, memory)
    except (ValueError, OSError) as e:
        return "sandbox", f"the limits for reading submissions could not be set ({e})"
    try:
        return "ok", work()
    except Rejected as e:
        return "rejected", e.reason
    except MemoryError:
        return "rejected", "too large to read: the memory limit was reached"
    except zipfile.BadZipFile:
        return "rejected", "corrupt zip: the file is damaged or truncated"
    except BaseException as e:  # noqa: BLE001 - in the child, anything (a Rust panic too) costs one row
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return "rejected", _reason(e)


def _reason(error: BaseException) -> str:
    from xlhand.engines.workbook import EngineError

    if _defused(error):
        return "XML entity attack: a DOCTYPE/ENTITY declaration (refused by defusedxml)"
    if isinstance(error, EngineError):
        return f"could not be recalculated: {error}"
    text = str(error).splitlines()[0][:120] if str(error) else ""
    return f"not a readable xlsx: {type(error).__name__}{': ' + text if text else ''}"


def _send(conn, result) -> None:
    try:
        conn.send(result)
    finally:
        conn.close()


def limit_resources(timeout: float, memory: int) -> None:
    """CPU time and address space for this (child) process; raises when they cannot be set."""
    _lower_limit(resource.RLIMIT_AS, _current_address_space() + memory)
    cpu = int(timeout) + 1
    _lower_limit(resource.RLIMIT_CPU, cpu, cpu + 1)


def _lower_limit(which: int, soft: int, hard: int | None = None) -> None:
    hard = soft if hard is None else hard
    _, ceiling = resource.getrlimit(which)
    if ceiling != resource.RLIM_INFINITY:  # a stricter limit already in force stays
        soft, hard = min(soft, ceiling), min(hard, ceiling)
    resource.setrlimit(which, (soft, hard))


def _defused(error: BaseException) -> bool:
    """Whether defusedxml refused something somewhere in the chain of ``error``."""
    from defusedxml import DefusedXmlException

    seen = 0
    while error is not None and seen < 20:
        if isinstance(error, DefusedXmlException):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _current_address_space() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


def extract_many(jobs: list[Job], *, workers: int | None = None, timeout: float = TIMEOUT,
                 memory: int = MEMORY, on_done=None) -> dict[object, Extracted | Rejected]:
    """Read every job's file in its own limited child, ``workers`` at a time, each with its own
    ``timeout``: a file that stalls costs its own row only. Raises :class:`SandboxError` (and
    stops every child) when a child cannot set its limits. ``on_done()`` is called as each file is
    finished (a progress bar)."""
    import defusedxml.ElementTree  # noqa: F401 - imported once here, not in every child
    import ironcalc  # noqa: F401

    ctx = multiprocessing.get_context("fork")
    workers = max(1, workers or os.cpu_count() or 1)
    pending = list(jobs)
    running: dict = {}  # sentinel -> (job, process, conn, started)
    done = []  # children that answered, left to exit while the next ones start
    results: dict[object, Extracted | Rejected] = {}
    try:
        while pending or running:
            while pending and len(running) < workers:
                job = pending.pop(0)
                parent, child = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(child, job, timeout, memory), daemon=True)
                proc.start()
                child.close()
                running[proc.sentinel] = (job, proc, parent, time.monotonic())
            ready = multiprocessing.connection.wait(list(running) + [c for _, _, c, _ in running.values()],
                                                    timeout=0.5)
            done = [proc for proc in done if proc.exitcode is None]  # (exitcode reaps those that exited)
            now = time.monotonic()
            for sentinel, (job, proc, conn, started) in list(running.items()):
                outcome = _outcome(proc, conn, ready, sentinel)
                if outcome is None and now - started > timeout:
                    proc.kill()
                    outcome = Rejected(f"took too long to read (over {timeout:g} s)")
                if outcome is not None:
                    conn.close()
                    del running[sentinel]
                    done.append(proc)
                    results[job.key] = outcome
                    if on_done is not None:
                        on_done()
    finally:  # children still running here are left by an error (SandboxError)
        for _, proc, conn, _ in running.values():
            proc.kill()
            conn.close()
            done.append(proc)
        for proc in done:
            _stop(proc)
    return results


def _outcome(proc, conn, ready, sentinel) -> Extracted | Rejected | None:
    if conn not in ready and sentinel not in ready:
        return None
    try:
        if conn.poll():
            status, payload = conn.recv()
            if status == "sandbox":
                raise SandboxError(f"cannot grade safely: {payload}")
            return payload if status == "ok" else Rejected(payload)
    except (EOFError, OSError):
        pass
    if proc.exitcode is None:
        proc.join(0.1)
    if proc.exitcode is not None:
        return Rejected("could not be read within the limits (the reader was stopped)")
    return None


def _stop(proc) -> None:
    proc.join(1)
    if proc.is_alive():
        proc.kill()
        proc.join(1)




# --- the read stage ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Read:
    """A hand-in after reading: what the sandboxed child extracted, or why it was not read."""

    found: object  # intake.Found
    extracted: Extracted | None = None
    reason: str = ""  # why it was not read ("" when it was)
    notes: tuple[str, ...] = ()  # from the outside check (external links ignored …)


def read_all(found: list, sheet: str, rows: int, cols: int, blanks, workers=None, timeout: float = TIMEOUT,
             progress: bool = False, check_sheet: str = "") -> list[Read]:
    """Precheck every file, then read (and recalculate) each in its own limited child: the one place
    where a file is refused for what it is (a bad zip, an attack, a file too slow to read)."""
    from xlhand.parallel import progress_bar

    jobs, notes, refused = [], {}, {}
    for k, f in enumerate(found):
        try:
            notes[k] = tuple(precheck(f.path))
            jobs.append(Job(k, f.path, sheet, rows, cols, blanks, check_sheet))
        except Rejected as e:
            refused[k] = e.reason
    with progress_bar(len(jobs), "reading hand-ins" if progress else "") as bar:
        results = extract_many(jobs, workers=workers, timeout=timeout, on_done=lambda: bar.update(1))
    out = []
    for k, f in enumerate(found):
        result = results.get(k)
        if k in refused:
            out.append(Read(f, reason=refused[k]))
        elif isinstance(result, Rejected):
            out.append(Read(f, reason=result.reason))
        else:
            out.append(Read(f, extracted=result, notes=notes[k]))
    return out
