"""xlhand lint on hand-made "by hand" workbooks: every planted mistake is found with its exact rule and
range, every corrected twin is clean, and the planted corpus scores recall ≥ 90 % and precision ≥ 95 %."""
from __future__ import annotations

import json
import zipfile

import pytest
from click.testing import CliRunner

import lintkit
from xlhand.cli import cli
from xlhand.lint import RULES, lint_file
from xlhand.lint.run import lint_book
from xlhand.lint.workbook import ARRAY_MEMBER, read_book

PLANTED = [(name, key) for name, plants in lintkit.PLANTS.items() for key in plants]


def found(path) -> set[tuple[str, str, str]]:
    return {(f.rule, f.sheet, f.range) for f in lint_book(path)}


@pytest.mark.parametrize("name,key", PLANTED, ids=[f"{n}-{k}" for n, k in PLANTED])
def test_each_planted_mistake_is_found_with_its_rule_and_range(tmp_path, name, key):
    assert found(lintkit.build(tmp_path, name, (key,))) == set(lintkit.PLANTS[name][key])


@pytest.mark.parametrize("name", list(lintkit.PLANTS))
def test_each_corrected_twin_is_clean(tmp_path, name):
    assert lint_book(lintkit.build(tmp_path, name)) == []


def test_every_rule_has_a_planted_mistake():
    planted_rules = {plant[0][0] for plants in lintkit.PLANTS.values() for plant in plants.values()}
    assert planted_rules == set(RULES)


def test_the_planted_corpus_scores_recall_and_precision(tmp_path):
    totals = [0, 0, 0, 0]
    books = lintkit.corpus(tmp_path)
    for path, planted in books:
        totals = [t + s for t, s in zip(totals, lintkit.score(lint_book(path), planted))]
    planted, hit, findings, right = totals
    assert len(books) >= 20 and planted >= 40  # ten and more workbooks, each with its twin
    assert hit / planted >= 0.90, f"recall {hit}/{planted}"
    assert right / findings >= 0.95, f"precision {right}/{findings}"


def test_a_finding_suggests_the_formula_its_neighbours_suggest(tmp_path):
    [finding] = lint_book(lintkit.build(tmp_path, "linear", ("off-by-one",)))
    assert finding.message.endswith("its neighbours suggest =B7*G3+C7*G4+D7*G5+E7")


def test_formulas_are_read_as_excel_writes_them(tmp_path):
    """Shared formulas expanded cell by cell, array formulas with their range, prefixes kept, spilled
    dynamic arrays known."""
    book = read_book(str(lintkit.build(tmp_path, "shared", ("off-by-one",))))
    cells = book.sheets[0].cells
    assert cells[(8, 8)].formula == "=H4*H4"  # a shared formula, given once in F7
    assert cells[(8, 7)].formula == "=G3*G3"  # the planted cell keeps its own
    book = read_book(str(lintkit.build(tmp_path, "mmult")))
    assert book.sheets[0].arrays[0][1] == "=MMULT(B7:D8,F3:G5)"
    assert cells and book.sheets[0].cells[(8, 7)].kind == ARRAY_MEMBER
    book = read_book(str(lintkit.build(tmp_path, "modern", ("sort",))))
    assert book.sheets[0].cells[(3, 4)].formula == "=_xlfn._xlws.SORT(B3:B6)"
    book = read_book(str(lintkit.build(tmp_path, "modern", ("spill",))))  # a dynamic array, cm="1"
    spilled = book.sheets[0].cells[(3, 14)]
    assert spilled.spilled and spilled.formula == "=B3:B6*2" and str(book.sheets[0].arrays[-1][0]) == "N3:N6"


def test_number_cells_read_quickly_are_read_as_the_xml_parser_reads_them(tmp_path):
    """Plain number cells are read by a regular expression, except in a part where something could
    hide markup from it (here a comment): that part is read by the XML parser alone, to the same cells."""
    path = lintkit.build(tmp_path, "norm", ("typed", "var-shift"))
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"<sheetData>", b'<sheetData><!-- <c r="Z9"><v>1</v></c> -->', 1)
    commented = tmp_path / "commented.xlsx"
    with zipfile.ZipFile(commented, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)

    def cells(book):
        return {at: (c.kind, c.value, c.formula, c.style) for at, c in book.sheets[0].cells.items()}

    assert b"<!--" in parts[sheet] and (9, 26) not in read_book(str(commented)).sheets[0].cells
    assert cells(read_book(str(commented))) == cells(read_book(str(path)))
    assert found(commented) == found(path) == {("typed-number", "norm", "C9"), ("shape", "norm", "H5")}


def test_cli_lint_reports_lines_json_and_exit_codes(tmp_path):
    bad = lintkit.build(tmp_path, "softmax", ("sum-empty",))
    good = lintkit.build(tmp_path, "softmax")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    result = CliRunner().invoke(cli, ["lint", str(good)])
    assert result.exit_code == 0 and "no findings" in result.output
    result = CliRunner().invoke(cli, ["lint", str(bad), str(good)])
    assert result.exit_code == 1
    assert result.output.strip() == (f"{bad}: softmax!C7: empty-or-text: SUM(C3:C6) takes in C6, which is empty")
    result = CliRunner().invoke(cli, ["lint", "--json", str(broken), str(bad)])
    assert result.exit_code == 2  # one file cannot be read; the other is still linted
    [item] = json.loads(result.stdout)
    assert item == {"file": str(bad), "sheet": "softmax", "range": "C7", "rule": "empty-or-text",
                    "message": "SUM(C3:C6) takes in C6, which is empty"}
    assert f"{broken}: not linted: corrupt zip" in result.stderr


def test_lint_file_reads_in_a_limited_child_and_finds_the_links(tmp_path):
    findings = lint_file(lintkit.build(tmp_path, "links", ("onedrive",)))
    assert {(f.rule, f.sheet, f.range) for f in findings} == set(lintkit.PLANTS["links"]["onedrive"])
    assert any(lintkit.LINK_TARGET in f.message for f in findings)


def test_check_on_a_workbook_xlhand_did_not_make_says_to_use_lint(tmp_path):
    path = lintkit.build(tmp_path, "linear")
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    assert "not made by xlhand" in result.output and f"xlhand lint {path}" in result.output


def test_a_row_gathering_one_cell_from_each_block_has_no_shape_to_break(tmp_path):
    """Outputs collected from blocks that stand at uneven places, one cell from each: no shape to break
    (the last block one row lower would break it); two cells from one block: the shape rule reads the row."""
    from openpyxl import Workbook

    def book(tops: tuple, sources: list[int]):
        wb = Workbook()
        ws = wb.active
        for k, top in enumerate(tops):  # four one-cell blocks
            lintkit.block(ws, top, 2, 1, 1, lambda i, j, k=k: k + 1, label=f"y_{k + 1}", role="computed")
        lintkit.block(ws, 30, 2, 1, 4, lambda i, j: f"=B{sources[j]}", label="Y", role="output")
        path = tmp_path / f"gather-{'-'.join(map(str, sources))}.xlsx"
        wb.save(path)
        return path

    assert lint_book(book((3, 9, 15, 22), [3, 9, 15, 22])) == []
    assert [(f.rule, f.range) for f in lint_book(book((3, 9, 15, 21), [3, 9, 9, 21]))] == [("shape", "D30")]
