"""Paper: every worksheet prints at full size on A4 (or Letter), its pages break between blocks,
its text is at least 8 pt, and a student's blank cells are tall enough to write in.

These read the page setup the workbook carries; tests/test_libreoffice.py renders the same
workbooks through LibreOffice and measures the PDF."""
from __future__ import annotations

import re
import zipfile

import pytest
from support import breaks, build, sheet_xml

from xlhand.model import catalog
from xlhand.layout import paper
from xlhand.build import key_sheet
from xlhand.classroom.worksheet import blank_names
from xlhand.model.resolve import resolve

CASES = [(n, size, student) for n in catalog.names() for size in ("small", "medium") for student in (False, True)]
MM_PER_POINT = 25.4 / 72


@pytest.mark.parametrize("name,size,student", CASES, ids=lambda c: str(c))
def test_prints_at_full_size_with_breaks_between_blocks(workbook, name, size, student):
    path = workbook(name, size, student)
    xml = sheet_xml(path)
    setup = re.search(r"<pageSetup[^>]*/>", xml)[0]
    assert 'paperSize="9"' in setup
    assert 'scale="100"' in setup or "scale=" not in setup
    assert "fitToPage" not in xml  # nothing is shrunk to fit
    assert "&amp;P of &amp;N" in xml  # page k of n in the footer
    sheet = key_sheet(resolve(catalog.get(name), size=size))
    rows, cols = breaks(xml, "rowBreaks"), breaks(xml, "colBreaks")
    for block in sheet.blocks.values():
        top, left, bottom, right = block.footprint().edges()
        assert not any(top < r < bottom for r in rows), f"a page break cuts {block.name} (rows {top}-{bottom})"
        assert not any(left < c < right for c in cols), f"a page break cuts {block.name} (cols {left}-{right})"


@pytest.mark.parametrize("name", catalog.names())
def test_text_is_at_least_8_points_and_blanks_6_mm_tall(tmp_path, name):
    path = build(tmp_path, name, student=True)
    with zipfile.ZipFile(path) as zf:
        styles = zf.read("xl/styles.xml").decode("utf-8")
    sizes = [float(s) for s in re.findall(r'<sz val="([\d.]+)"', styles)]
    assert sizes and min(sizes) >= 8
    sheet = key_sheet(resolve(catalog.get(name)))
    heights = {int(r) - 1: float(h) for r, h in re.findall(r'<row r="(\d+)"[^>]* ht="([\d.]+)"', sheet_xml(path))}
    for block in (sheet.blocks[name] for name in blank_names(sheet)):
        for i in range(block.rows):
            assert heights.get(block.top + i, paper.ROW_POINTS) * MM_PER_POINT >= 6, block.name


def test_letter_paper_and_the_planned_pages(tmp_path):
    from xlhand.build import key_workbook

    resolved = resolve(catalog.get("backprop"), size="large")
    path = tmp_path / "b.xlsx"
    path.write_bytes(key_workbook(resolved, paper="letter"))
    assert 'paperSize="1"' in sheet_xml(path)
    grid = paper.page_grid(key_sheet(resolved), "letter", {})
    assert grid.pages >= 1 and grid.columns >= 10
