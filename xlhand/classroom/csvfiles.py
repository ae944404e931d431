"""CSV files xlhand writes (grades, skipped files, LMS imports): a byte-order mark, so Excel on
Windows reads accented names right, CRLF line ends, and text cells no spreadsheet runs as a formula."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from xlhand.build import write_atomic


def csv_safe(value) -> str:
    """Text for a CSV cell that no spreadsheet will read as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def cell(value) -> str:
    """A CSV cell: numbers as short decimals (12, 7.5), text made formula-safe, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return csv_safe(value)


def csv_bytes(rows, *, delimiter: str = ",", quote_all: bool = False, encoding: str = "utf-8") -> bytes:
    """The rows as CSV with a byte-order mark (``utf-8`` or ``utf-16``), CRLF line ends."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n",
                   quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    for row in rows:
        w.writerow([cell(v) for v in row])
    text = buf.getvalue()
    if encoding == "utf-16":
        return "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")
    return b"\xef\xbb\xbf" + text.encode("utf-8")


def write_csv(path: Path, rows, **kw) -> Path:
    """Write rows with :func:`csv_bytes` (whole, or not at all)."""
    write_atomic(Path(path), csv_bytes(rows, **kw))
    return Path(path)
