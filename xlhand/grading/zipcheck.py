"""Looking at a submission from the outside, before any XML is parsed (see :func:`precheck`)."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

MAX_BYTES = 10 * 1024 * 1024  # a worksheet is a few tens of KB
MAX_ENTRIES = 1000
MAX_TOTAL_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 100  # uncompressed / compressed, for entries over 1 MB
MAX_ROWS = 10_000
MAX_COLS = 1_000
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


def _col_number(letters: bytes | str) -> int:
    n = 0
    for ch in letters.decode() if isinstance(letters, bytes) else letters:
        n = n * 26 + ord(ch) - 64
    return n


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
