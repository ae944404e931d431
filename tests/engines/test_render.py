"""What printing gives, measured on the PDF LibreOffice makes (one batch call for all): the pages
are the ones planned (LibreOffice adds no break of its own), no text is smaller than 8 pt, and every
chart is on the page."""
from __future__ import annotations

import re
import subprocess

import pytest
from support import breaks, sheet_xml

from xlhand.model import catalog
from xlhand.engines import libreoffice
from xlhand.build import key_sheet, page_plan
from xlhand.layout.fx import PORTABLE_FUNCTIONS
from xlhand.model.resolve import resolve
from xlhand.engines.render import render

CASES = [(n, size, student) for n in catalog.names() for size in ("small", "medium") for student in (False, True)]
MIN_POINTS = 8.0

pytestmark = [
    pytest.mark.libreoffice,
    pytest.mark.skipif(libreoffice.soffice() is None,
                       reason="LibreOffice (soffice) is not installed: apt-get install -y libreoffice-calc-nogui"),
]


def case_id(case) -> str:
    name, size, student = case
    return f"{name}-{size}{'-student' if student else ''}"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, workbook):
    out = tmp_path_factory.mktemp("pdf")
    books = {case: workbook(*case) for case in CASES}
    pdfs = render(list(books.values()), out)
    return {case: (path, pdfs[path][0]) for case, path in books.items()}


def words(pdf) -> list[tuple[str, float]]:
    """(word, height in points) of every word pdftotext finds."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [(w, float(y2) - float(y1)) for y1, y2, w in
            re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>', html)]


def page_count(pdf) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info)[1])


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_pdf_has_the_planned_pages_and_readable_text(rendered, case):
    name, size, _ = case
    book, pdf = rendered[case]
    xml = sheet_xml(book)
    planned = (len(breaks(xml, "rowBreaks")) + 1) * (len(breaks(xml, "colBreaks")) + 1)
    # LibreOffice added no break of its own (every planned page fits); it leaves out empty pages
    assert 1 <= page_count(pdf) <= planned
    resolved = resolve(catalog.get(name), size=size)
    plan = page_plan(resolved, student=case[2])
    if not plan.cuts:  # the pages planned, empty ones left out (a block cut across pages may spill)
        assert page_count(pdf) == plan.pages
    sheet = key_sheet(resolved)
    found = words(pdf)
    assert found
    # a lone symbol's box is its glyph's (a minus sign is 5 pt high in 11 pt text): measure words
    small = [(w, round(h, 1)) for w, h in found if h < MIN_POINTS and any(ch.isalnum() for ch in w)]
    assert small == []
    text = " ".join(w for w, _ in found)
    for chart in sheet.charts:
        assert chart.title.split()[0] in text, f"chart {chart.title!r} is not on the pages"


def page_text(pdf, page: int) -> str:
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_first_page_holds_every_step_and_paper_names_no_function(rendered, case):
    name, size, _ = case
    _, pdf = rendered[case]
    sheet = key_sheet(resolve(catalog.get(name), size=size))
    first = page_text(pdf, 1)
    missing = [k for k in range(1, len(sheet.steps) + 1) if f"[{k}]" not in first]
    assert not missing, f"steps {missing} are not on page 1"
    everything = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    named = sorted(set(re.findall(r"\b(" + "|".join(sorted(PORTABLE_FUNCTIONS, key=len, reverse=True)) + r")\b",
                                  everything)))
    assert not named, f"{', '.join(named)} printed"


def test_render_builds_an_exercise_with_its_options_and_sizes(tmp_path):
    """``xlhand render backprop --opt iters=2 --set batch=2 --student`` lays out what build would: the
    PDF has the pages planned for that variant."""
    from click.testing import CliRunner

    from xlhand.cli import cli

    result = CliRunner().invoke(cli, ["render", "backprop", "--opt", "iters=2", "--set", "batch=2", "--student",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    planned = page_plan(resolve(catalog.get("backprop"), sets={"batch": 2}, options={"iters": 2}), "a4",
                        student=True).pages
    assert f"backprop-student.pdf ({planned} pages)" in result.output
    assert page_count(tmp_path / "backprop-student.pdf") == planned
