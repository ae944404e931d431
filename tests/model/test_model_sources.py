"""Every exercise names its source, the paper and the by-hand walkthrough it follows, in ``describe``,
in docs/exercises.md and in one line on the sheet, so a student can read further."""
from __future__ import annotations


import openpyxl
import pytest
from support import REPO, build

from xlhand.describe import describe
from xlhand.model import catalog

NAMES = catalog.names()
DOCS = REPO / "docs" / "exercises.md"


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_names_a_paper_and_a_walkthrough(name):
    source = catalog.get(name).source
    assert source is not None and source.paper.strip() and source.walkthrough.strip()
    assert "(" in source.paper and any(ch.isdigit() for ch in source.paper)  # authors (year) or an edition
    text = describe(catalog.get(name))
    assert f"Paper: {source.paper}\n" in text and f"Walkthrough: {source.walkthrough}\n" in text


def test_docs_name_every_source():
    docs = DOCS.read_text(encoding="utf-8")
    for exercise in catalog.all_exercises():
        assert f"Paper: {exercise.source.paper}" in docs and f"Walkthrough: {exercise.source.walkthrough}" in docs


@pytest.mark.parametrize("name", ["lstm", "autograd", "transformer-full"])
def test_the_sheet_names_the_source_in_one_line(tmp_path, name):
    source = catalog.get(name).source
    ws = openpyxl.load_workbook(build(tmp_path, name))[name]
    line = ws.cell(4, 2).value  # under the screen row, the title and the subtitle
    assert line == f"Read further: {source.paper} · walkthrough: {source.walkthrough}"
    assert ws.cell(5, 2).value in ("given", "weight")  # the colours start the row under the source
