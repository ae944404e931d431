"""Opening submissions defensively: every file a student hands in is treated as hostile.

Before any XML is parsed, :func:`precheck` looks at the file from the outside: its size, whether
it is a zip at all, the zip's entry count, declared uncompressed sizes and compression ratios,
macros, external links, DOCTYPE/ENTITY declarations (the XML entity attacks) and the declared
sheet dimensions. Only then is the workbook parsed, by openpyxl with defusedxml active, in a
forked child process with CPU-time and address-space limits (``resource.setrlimit``) and a
wall-clock timeout, so a file that still manages to be expensive costs one row in the grades, not
the batch. The child reads only the rectangle of cells the grader needs.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import re
import resource
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 10 * 1024 * 1024  # a worksheet is a few tens of KB
MAX_ENTRIES = 1000
MAX_TOTAL_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 100  # uncompressed / compressed, for entries over 1 MB
MAX_ROWS = 10_000
MAX_COLS = 1_000
TIMEOUT = 30.0  # seconds per file
MEMORY = 1024 * 1024 * 1024  # bytes of address space a child may add

_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3})([0-9]{1,7})(?::([A-Z]{1,3})([0-9]{1,7}))?\"")
_CELL_REF = re.compile(r"^([A-Z]{1,3})([0-9]+)$")


class Rejected(Exception):
    """A submission that is not graded, with the reason shown in grades.csv."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Extracted:
    """What the child read from a submission: metadata, sheet names and a box of cells."""

    meta: dict = field(default_factory=dict)
    sheets: list[str] = field(default_factory=list)
    values: list[list[object]] = field(default_factory=list)  # saved results (data only)
    formulas: list[list[object]] = field(default_factory=list)  # formula text or the same value
    notes: list[str] = field(default_factory=list)

    def value(self, row: int, col: int):
        """0-based row and column."""
        try:
            return self.values[row][col]
        except IndexError:
            return None

    def formula(self, row: int, col: int) -> str | None:
        try:
            v = self.formulas[row][col]
        except IndexError:
            return None
        return v if isinstance(v, str) and v.startswith("=") else None


def _col_number(letters: bytes | str) -> int:
    n = 0
    for ch in letters.decode() if isinstance(letters, bytes) else letters:
        n = n * 26 + ord(ch) - 64
    return n


# --- from the outside ----------------------------------------------------------------------
def precheck(path: Path, max_bytes: int = MAX_BYTES) -> list[str]:
    """Raise :class:`Rejected` for a file that must not be parsed; return notes otherwise."""
    notes: list[str] = []
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise Rejected(f"cannot be read ({e.strerror or e})") from None
    if size == 0:
        raise Rejected("not an xlsx: empty file")
    if size > max_bytes:
        raise Rejected(f"too large: {size / 1e6:.1f} MB (limit {max_bytes / 1e6:.1f} MB)")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise Rejected("not an xlsx: an old binary .xls or a password-encrypted workbook")
    if not head.startswith(b"PK"):
        raise Rejected("not an xlsx: not a zip archive (save it as Excel Workbook .xlsx)")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise Rejected("corrupt zip: the file is damaged or truncated") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise Rejected(f"zip bomb: {len(infos)} entries (limit {MAX_ENTRIES})")
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL_UNCOMPRESSED:
            raise Rejected(f"zip bomb: expands to {total / 1e6:.0f} MB (limit {MAX_TOTAL_UNCOMPRESSED / 1e6:.0f} MB)")
        for i in infos:
            if i.file_size > 1024 * 1024 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                raise Rejected(f"zip bomb: {i.filename} is compressed {i.file_size // max(i.compress_size, 1)}:1")
        names = {i.filename for i in infos}
        lower = {n.lower() for n in names}
        if "[content_types].xml" not in lower or "xl/workbook.xml" not in lower:
            raise Rejected("not an xlsx: a zip without an Excel workbook inside")
        try:
            if any(n.endswith("vbaproject.bin") for n in lower) or b"macroenabled" in zf.read(
                    _actual(names, "[Content_Types].xml")).lower():
                raise Rejected("macros: the workbook contains a VBA project (save as .xlsx without macros)")
            if any(n.startswith("xl/externallinks/") for n in lower):
                notes.append("external links ignored")
            for info in infos:
                if not info.filename.lower().endswith((".xml", ".rels", ".vml")):
                    continue
                with zf.open(info) as member:
                    start = member.read(4096)
                if b"<!DOCTYPE" in start.upper() or b"<!ENTITY" in start.upper():
                    raise Rejected(f"XML entity attack: {info.filename} declares a DOCTYPE/ENTITY")
                if info.filename.lower().startswith("xl/worksheets/"):
                    _check_dimension(info.filename, start)
        except Rejected:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, KeyError) as e:
            raise Rejected(f"corrupt zip: {type(e).__name__}") from None
        except Exception as e:  # zlib.error and friends
            raise Rejected(f"corrupt zip: {type(e).__name__}") from None
    return notes


def _actual(names: set[str], wanted: str) -> str:
    return next(n for n in names if n.lower() == wanted.lower())


def _check_dimension(name: str, start: bytes) -> None:
    m = _DIMENSION.search(start)
    if not m:
        return
    col = _col_number(m[3] or m[1])
    row = int(m[4] or m[2])
    if row > MAX_ROWS or col > MAX_COLS:
        ref = m[0].split(b'"')[1].decode()
        raise Rejected(f"absurd sheet dimensions: {name} spans {ref} (limit {MAX_ROWS} rows, {MAX_COLS} columns)")


# --- parsing in a child ----------------------------------------------------------------------
def _read_custom_properties(path: Path) -> dict:
    import defusedxml.ElementTree as ET

    with zipfile.ZipFile(path) as zf:
        name = next((n for n in zf.namelist() if n.lower() == "docprops/custom.xml"), None)
        if name is None:
            return {}
        root = ET.fromstring(zf.read(name))
    out = {}
    for prop in root:
        key = prop.get("name")
        if key and len(prop):
            out[key] = prop[0].text or ""
    return out


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    text = getattr(value, "text", None)  # ArrayFormula
    if isinstance(text, str):
        return text if text.startswith("=") else "=" + text
    return str(value)


def _extract(path: str, sheet: str, rows: int, cols: int) -> Extracted:
    import openpyxl

    if not openpyxl.DEFUSEDXML:
        raise Rejected("refused: defusedxml is not active in openpyxl (pip install defusedxml)")
    p = Path(path)
    meta = {k: v for k, v in _read_custom_properties(p).items() if k.startswith("xlhand_")}
    out = Extracted(meta=meta)
    for data_only in (True, False):
        wb = openpyxl.load_workbook(p, read_only=True, data_only=data_only, keep_links=False)
        try:
            out.sheets = list(wb.sheetnames)
            if sheet not in out.sheets:
                return out
            box = [[_plain(v) for v in row]
                   for row in wb[sheet].iter_rows(min_row=1, max_row=rows, min_col=1, max_col=cols, values_only=True)]
        finally:
            wb.close()
        box += [[None] * cols for _ in range(rows - len(box))]
        box = [row + [None] * (cols - len(row)) for row in box]
        if data_only:
            out.values = box
        else:
            out.formulas = box
    return out


def _child(conn, path: str, sheet: str, rows: int, cols: int, timeout: float, memory: int) -> None:
    try:
        vm = _current_address_space()
        resource.setrlimit(resource.RLIMIT_AS, (vm + memory, vm + memory))
        cpu = int(timeout) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    except (ValueError, OSError):
        pass
    try:
        result = ("ok", _extract(path, sheet, rows, cols))
    except Rejected as e:
        result = ("rejected", e.reason)
    except MemoryError:
        result = ("rejected", "too large to parse: the memory limit was reached")
    except zipfile.BadZipFile:
        result = ("rejected", "corrupt zip: the file is damaged or truncated")
    except Exception as e:
        if _defused(e):
            result = ("rejected", "XML entity attack: a DOCTYPE/ENTITY declaration (refused by defusedxml)")
            conn.send(result)
            conn.close()
            return
        text = str(e).splitlines()[0][:120] if str(e) else ""
        result = ("rejected", f"not a readable xlsx: {type(e).__name__}{': ' + text if text else ''}")
    try:
        conn.send(result)
    finally:
        conn.close()


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
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 512 * 1024 * 1024


@dataclass
class Job:
    key: object
    path: Path
    sheet: str
    rows: int
    cols: int


def extract_many(jobs: list[Job], *, workers: int | None = None, timeout: float = TIMEOUT,
                 memory: int = MEMORY) -> dict[object, Extracted | Rejected]:
    """Parse every job's file in its own limited child, ``workers`` at a time."""
    ctx = multiprocessing.get_context("fork")
    workers = max(1, workers or os.cpu_count() or 1)
    pending = list(jobs)
    running: dict = {}  # sentinel -> (job, process, conn, started)
    results: dict[object, Extracted | Rejected] = {}
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(child, str(job.path), job.sheet, job.rows, job.cols,
                                                    timeout, memory), daemon=True)
            proc.start()
            child.close()
            running[proc.sentinel] = (job, proc, parent, time.monotonic())
        ready = multiprocessing.connection.wait(list(running) + [c for _, _, c, _ in running.values()],
                                                timeout=0.5)
        now = time.monotonic()
        for sentinel, (job, proc, conn, started) in list(running.items()):
            outcome = None
            if conn in ready or sentinel in ready:
                try:
                    if conn.poll():
                        status, payload = conn.recv()
                        outcome = payload if status == "ok" else Rejected(payload)
                except (EOFError, OSError):
                    pass
                if outcome is None and proc.exitcode is None:
                    proc.join(0.1)
                if outcome is None and proc.exitcode is not None:
                    outcome = Rejected("could not be parsed within the limits (the parser was stopped)")
            if outcome is None and now - started > timeout:
                proc.kill()
                outcome = Rejected(f"took too long to parse (over {timeout:g} s)")
            if outcome is not None:
                proc.join(1)
                if proc.is_alive():
                    proc.kill()
                    proc.join(1)
                conn.close()
                del running[sentinel]
                results[job.key] = outcome
    return results


def extract_one(path: Path, sheet: str, rows: int, cols: int, **kw) -> Extracted | Rejected:
    try:
        notes = precheck(path)
    except Rejected as e:
        return e
    out = extract_many([Job(0, path, sheet, rows, cols)], **kw)[0]
    if isinstance(out, Extracted):
        out.notes.extend(notes)
    return out
