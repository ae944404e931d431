"""``xlhand render``: what printing a workbook gives, as PDF (and PNG previews, one per page).

LibreOffice headless exports every workbook in one call (a private profile, macros off, a
timeout), honouring each sheet's page setup: paper, orientation, page breaks, header and footer.
``pdftoppm`` (poppler) turns each PDF into one PNG per page.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from xlhand.errors import XlhandError
from xlhand.engines.libreoffice import convert

PNG_DPI = 80
TIMEOUT = 600.0


def render(paths: list[Path], out_dir: Path, png: bool = False, timeout: float = TIMEOUT) -> dict[Path, list[Path]]:
    """PDF of every workbook into ``out_dir`` (``<stem>.pdf``), and with ``png`` ``<stem>-<page>.png``.
    Returns workbook -> files written. A file LibreOffice cannot export is a one-line error."""
    if png and shutil.which("pdftoppm") is None:
        raise XlhandError("pdftoppm is not installed (it makes the PNG previews): apt-get install -y poppler-utils")
    pdfs = convert(paths, out_dir, "pdf:calc_pdf_Export", ".pdf", timeout)
    failed = [p for p, pdf in pdfs.items() if pdf is None]
    if failed:
        raise XlhandError(f"{failed[0]}: LibreOffice could not render it to PDF"
                          + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""))
    out = {}
    for path, pdf in pdfs.items():
        out[path] = [pdf] + (pages_as_png(pdf, timeout) if png else [])
    return out


_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def pdf_pages(pdf: Path) -> int:
    """How many pages ``pdf`` has (LibreOffice writes each page's dictionary as a plain object)."""
    return len(_PAGE.findall(pdf.read_bytes()))


def pages_as_png(pdf: Path, timeout: float = TIMEOUT) -> list[Path]:
    """One PNG per page of ``pdf``, beside it: ``<stem>-1.png``, ``<stem>-2.png`` …"""
    for old in _pages_of(pdf):
        old.unlink()
    try:
        subprocess.run(["pdftoppm", "-r", str(PNG_DPI), "-png", str(pdf), str(pdf.with_suffix(""))],
                       check=True, timeout=timeout, stdin=subprocess.DEVNULL, capture_output=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        raise XlhandError(f"{pdf}: pdftoppm could not make PNG pages ({type(e).__name__})") from None
    pages = sorted(_pages_of(pdf), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    renamed = []
    for k, page in enumerate(pages, start=1):  # pdftoppm pads page numbers by the page count
        target = pdf.parent / f"{pdf.stem}-{k}.png"
        page.rename(target)
        renamed.append(target)
    return renamed


def _pages_of(pdf: Path) -> list[Path]:
    """``<stem>-<number>.png`` beside ``pdf`` (not ``<stem>-student-1.png``, another file's pages)."""
    return [p for p in pdf.parent.glob(f"{pdf.stem}-*.png") if p.stem[len(pdf.stem) + 1:].isdigit()]
