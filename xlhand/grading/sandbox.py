"""Opening submissions defensively: every file a student hands in is treated as hostile.

Before any XML is parsed, :func:`precheck` looks at the file from the outside: its size, whether
it is a zip at all, the zip's entry count, declared uncompressed sizes and compression ratios,
macros, external links and the declared sheet dimensions, and it reads every XML part whole (in
chunks, so a declaration split between two chunks is still seen) for DOCTYPE/ENTITY declarations,
the XML entity attacks. Only UTF-8 XML is accepted: a part in UTF-16 or UTF-32, or one declaring
another encoding, is refused rather than decoded, since a byte scan cannot read it.

Only then is the workbook opened, in a forked child process with CPU-time and address-space
limits (``resource.setrlimit``) and a wall-clock timeout, so a file that still manages to be
expensive costs one row in the grades, not the batch; if the limits cannot be set, nothing is
graded (:class:`SandboxError`). In the child IronCalc loads the workbook and recalculates every
formula (results saved in the file are never read), and :mod:`xlhand.formula_policy` refuses every
blank whose value comes from a formula that reads anything but the visible sheet. The child sends
back only the rectangle of cells the grader needs.
"""
from __future__ import annotations

import io
import multiprocessing
import multiprocessing.connection
import os
import re
import resource
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from xlhand.grading import policy
from xlhand.errors import XlhandError
from xlhand.grading.policy import Area, Formula

MAX_BYTES = 10 * 1024 * 1024  # a worksheet is a few tens of KB
MAX_ENTRIES = 1000
MAX_TOTAL_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 100  # uncompressed / compressed, for entries over 1 MB
MAX_ROWS = 10_000
MAX_COLS = 1_000
TIMEOUT = 30.0  # seconds per file
MEMORY = 1024 * 1024 * 1024  # bytes of address space a child may add
CHUNK = 64 * 1024  # bytes of an XML part scanned at a time
OVERLAP = 256  # bytes carried into the next chunk: longer than anything searched for

XML_SUFFIXES = (".xml", ".rels", ".vml")
DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")
UTF8 = (b"utf-8", b"utf8", b"us-ascii", b"ascii")
_WIDE = ((b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe\x00\x00", "UTF-32"), (b"<\x00\x00\x00", "UTF-32"),
         (b"\x00\x00\x00<", "UTF-32"), (b"\xfe\xff", "UTF-16"), (b"\xff\xfe", "UTF-16"), (b"<\x00", "UTF-16"),
         (b"\x00<", "UTF-16"))
_DECLARED_ENCODING = re.compile(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]{1,3})([0-9]{1,7})(?::([A-Z]{1,3})([0-9]{1,7}))?\"")


class Rejected(Exception):
    """A submission that is not graded, with the reason shown in grades.csv."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


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
                _scan_part(zf, info)
        except Rejected:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, KeyError) as e:
            raise Rejected(f"corrupt zip: {type(e).__name__}") from None
        except Exception as e:  # zlib.error and friends
            raise Rejected(f"corrupt zip: {type(e).__name__}") from None
    return notes


def _actual(names: set[str], wanted: str) -> str:
    return next(n for n in names if n.lower() == wanted.lower())


def _scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Read one part whole, chunk by chunk: refuse XML that is not UTF-8, declares a DOCTYPE or an
    ENTITY, or (a worksheet) declares absurd dimensions. Binary parts (pictures) are skipped."""
    name = info.filename
    with zf.open(info) as member:
        chunk = member.read(CHUNK)
        body = chunk[3:] if chunk.startswith(b"\xef\xbb\xbf") else chunk
        wide = next((encoding for prefix, encoding in _WIDE if body.startswith(prefix)), None)
        if wide:
            raise Rejected(f"not UTF-8: {name} is {wide} XML (only UTF-8 is read; save the workbook again "
                           f"from Excel or LibreOffice)")
        if not (name.lower().endswith(XML_SUFFIXES) or body.lstrip()[:1] == b"<"):
            return  # a picture or another binary part
        declared = _DECLARED_ENCODING.match(body)
        if declared and declared[1].lower() not in UTF8:
            raise Rejected(f"not UTF-8: {name} declares encoding '{declared[1].decode(errors='replace')}' "
                           f"(only UTF-8 is read)")
        dimension_seen = not name.lower().startswith("xl/worksheets/")
        tail = b""
        while chunk:
            window = tail + chunk
            upper = window.upper()
            if any(d in upper for d in DECLARATIONS):
                raise Rejected(f"XML entity attack: {name} declares a DOCTYPE/ENTITY")
            if not dimension_seen:
                dimension_seen = _check_dimension(name, window)
            tail = window[-OVERLAP:]
            chunk = member.read(CHUNK)


def _check_dimension(name: str, window: bytes) -> bool:
    """Refuse absurd declared dimensions; whether the declaration was in ``window``."""
    m = _DIMENSION.search(window)
    if not m:
        return False
    col = _col_number(m[3] or m[1])
    row = int(m[4] or m[2])
    if row > MAX_ROWS or col > MAX_COLS:
        ref = m[0].split(b'"')[1].decode()
        raise Rejected(f"absurd sheet dimensions: {name} spans {ref} (limit {MAX_ROWS} rows, {MAX_COLS} columns)")
    return True


# --- reading in a child ------------------------------------------------------------------------
@dataclass
class Job:
    key: object
    path: Path
    sheet: str
    rows: int
    cols: int
    blanks: tuple[tuple[int, int], ...] = ()  # 0-based cells the student fills in


def _read_custom_properties(zf: zipfile.ZipFile) -> dict:
    import defusedxml.ElementTree as ET

    name = next((n for n in zf.namelist() if n.lower() == "docprops/custom.xml"), None)
    if name is None:
        return {}
    out = {}
    for prop in ET.fromstring(zf.read(name)):
        key = prop.get("name")
        if key and len(prop):
            out[key] = prop[0].text or ""
    return out


def _extract(job: Job) -> Extracted:
    """Metadata, sheet names and the box of cells as IronCalc recalculates them (in the child), with
    the formula behind each blank and, for a formula that reads what it may not, the reason."""
    from xlhand.engines.workbook import Workbook

    with zipfile.ZipFile(job.path) as zf:
        meta = {k: v for k, v in _read_custom_properties(zf).items() if k.startswith("xlhand_")}
        book = Workbook(job.path, label=Path(job.path).name)
        out = Extracted(meta=meta, sheets=list(book.sheets))
        if job.sheet not in out.sheets:
            return out
        part, out.sheet_state = _sheet_part(zf, job.sheet)
        arrays = _array_formulas(zf, part, job.sheet)
    index = out.sheets.index(job.sheet)
    blanks = {(r + 1, c + 1) for r, c in job.blanks}  # IronCalc counts from 1
    own = _cell_formulas(book, index)
    _sumproduct_as_arrays(book, index, [f for f in own if (f.area.top, f.area.left) in blanks])
    out.values = [[book.value(index, r + 1, c + 1) for c in range(job.cols)] for r in range(job.rows)]
    at = {(f.area.top, f.area.left): f.text for f in own}
    for r, c in blanks:
        text = at.get((r, c)) or next((f.text for f in arrays if (r, c) in f.area), None)
        if text:
            out.formulas[(r - 1, c - 1)] = text
    refused = policy.refused(own + arrays, blanks, job.sheet)
    out.refused = {(r - 1, c - 1): reason for (r, c), reason in refused.items()}
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


def _array_formulas(zf: zipfile.ZipFile, part: str, sheet: str) -> list[Formula]:
    """The array formulas of ``sheet`` (zip entry ``part``) with the ranges they fill: IronCalc shows
    the other cells of such a range as plain numbers, so the range can only be read from the XML."""
    import defusedxml.ElementTree as ET

    data = zf.read(part)
    if b"array" not in data and b"&#" not in data:  # (a character reference could spell "array")
        return []
    out = []
    with io.BytesIO(data) as stream:
        for _, element in ET.iterparse(stream):
            tag = _local(element.tag)
            if tag == "f" and element.get("t") == "array":
                area = _area(element.get("ref") or "")
                if area is None:
                    raise Rejected(f"not a readable xlsx: an array formula in sheet '{sheet}' has no valid range")
                out.append(Formula("=" + (element.text or ""), area))
            elif tag == "row":
                element.clear()
    return out


def _sheet_part(zf: zipfile.ZipFile, sheet: str) -> tuple[str, str]:
    """The zip entry of ``sheet``, found exactly as IronCalc finds it (xl/workbook.xml, then
    xl/_rels/workbook.xml.rels, a target taken relative to xl/), so both read the same XML; and
    the sheet's state (visible, hidden, veryHidden)."""
    import defusedxml.ElementTree as ET

    unreadable = Rejected(f"not a readable xlsx: no part for sheet '{sheet}'")
    book = ET.fromstring(zf.read("xl/workbook.xml"))
    sheets = [e for e in book.iter() if _local(e.tag) == "sheet"]
    folded = [(e.get("name") or "").casefold() for e in sheets]
    twins = sorted({n for n in folded if folded.count(n) > 1})
    if twins:
        raise Rejected(f"two sheets with the same name ('{twins[0]}', ignoring letter case)")
    element = next((e for e in sheets if e.get("name") == sheet), None)
    rid = next((v for k, v in element.attrib.items() if _local(k) == "id"), None) if element is not None else None
    if rid is None or "xl/_rels/workbook.xml.rels" not in zf.namelist():
        raise unreadable
    rels = [e for e in ET.fromstring(zf.read("xl/_rels/workbook.xml.rels")) if e.get("Id") == rid]
    if len(rels) != 1 or not rels[0].get("Target"):
        raise unreadable
    target = rels[0].get("Target")
    part = target[1:] if target.startswith("/") else "xl/" + target
    if part not in zf.namelist():
        raise unreadable
    return part, element.get("state") or "visible"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _area(ref: str) -> Area | None:
    ends = [policy.cell_of(part) for part in ref.replace("$", "").split(":")]
    if not 1 <= len(ends) <= 2 or any(e is None for e in ends):
        return None
    (r1, c1), (r2, c2) = ends[0], ends[-1]
    return Area(min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))


def _child(conn, job: Job, timeout: float, memory: int) -> None:
    try:
        _limit_resources(timeout, memory)
    except (ValueError, OSError) as e:
        _send(conn, ("sandbox", f"the limits for reading submissions could not be set ({e})"))
        return
    try:
        result = ("ok", _extract(job))
    except Rejected as e:
        result = ("rejected", e.reason)
    except MemoryError:
        result = ("rejected", "too large to read: the memory limit was reached")
    except zipfile.BadZipFile:
        result = ("rejected", "corrupt zip: the file is damaged or truncated")
    except BaseException as e:  # noqa: BLE001 - in the child, anything (a Rust panic too) costs one row
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        result = ("rejected", _reason(e))
    _send(conn, result)


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


def _limit_resources(timeout: float, memory: int) -> None:
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


