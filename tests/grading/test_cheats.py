"""Cheating formulas: each one, typed into every blank, would read the answer key (or uses something no
blank may use); each scores 0 and is flagged by what it used. Honest formulas still score, and
nothing saved in the file (cached results, the hidden sheets, the givens) can make a wrong answer right."""
from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from typing import Callable

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula
from xlsxwriter.utility import xl_rowcol_to_cell

from gradekit import (blank_cells, fill, key_formula_values, key_of, make_class, perfect_values, rezip,
                     with_cached)
from xlhand.grading.pipeline import grade

EXERCISE = "rnn"
KEY = "xlhand_key"  # the hidden key sheet of older worksheets: a formula naming it is still refused
CHECK = "xlhand_check"


@dataclass(frozen=True)
class Blank:
    name: str
    i: int
    j: int
    r: int  # 1-based
    c: int

    @property
    def a(self) -> str:
        return xl_rowcol_to_cell(self.r - 1, self.c - 1)


def scratch(b: Blank) -> str:
    """A cell of the visible sheet far outside the layout, one per blank."""
    return xl_rowcol_to_cell(400 + b.r, 40 + b.c)


def block_ranges(manifest) -> dict[str, tuple[int, int, int, int]]:
    """(top, left, bottom, right), 1-based, of every blank block."""
    sheet, _ = key_of(manifest, manifest["students"][0]["id"])
    return {n: (sheet.blocks[n].top + 1, sheet.blocks[n].left + 1, sheet.blocks[n].bottom, sheet.blocks[n].right)
            for n in manifest["blanks"]}


def span(top, left, bottom, right) -> str:
    return f"{xl_rowcol_to_cell(top - 1, left - 1)}:{xl_rowcol_to_cell(bottom - 1, right - 1)}"


def define_stolen(wb, manifest, blanks):
    wb.defined_names["stolen"] = DefinedName("stolen", attr_text=f"{KEY}!$A$1:$AZ$300")


def point_names_at_key(wb, manifest, blanks):
    for name in list(wb.defined_names):
        text = wb.defined_names[name].attr_text
        wb.defined_names[name] = DefinedName(name, attr_text=f"{KEY}!" + text.split("!")[-1])


def key_in_scratch_cells(wb, manifest, blanks):
    for b in blanks:
        wb.worksheets[0][scratch(b)] = f"={KEY}!{b.a}"


def arrays(anchor_above: bool):
    """One array formula per blank block reading the key's block; anchored on the block, or on the
    label cell above it (which it fills with the label) so that the blanks only receive the spilled
    values."""
    def edit(wb, manifest, blanks):
        ws = wb.worksheets[0]
        for top, left, bottom, right in block_ranges(manifest).values():
            first = top - 1 if anchor_above else top
            label = ws.cell(first, left).value
            for r in range(first, bottom + 1):
                for c in range(left, right + 1):
                    ws.cell(r, c).value = None
            ref = span(first, left, bottom, right)
            read = f"{KEY}!{ref}"
            if anchor_above:
                read = f'IF(ROW({ref})={first},"{label}",{read})'
            ws.cell(first, left).value = ArrayFormula(ref, "=" + read)
    return edit


@dataclass(frozen=True)
class Cheat:
    id: str
    flag: str  # what the flag must say
    formula: Callable[[Blank], str] | None = None
    edit: Callable | None = None  # (workbook, manifest, blanks) -> None: more changes to the file
    xml: Callable | None = None  # (zip entry name, bytes) -> bytes: changes to the saved XML


CHEATS = [
    Cheat("indirect", "formula uses INDIRECT", lambda b: f'=INDIRECT("{KEY}"&CHAR(33)&"{b.a}")'),
    Cheat("indirect-lower", "formula uses INDIRECT", lambda b: f'=indirect("{KEY}!{b.a}")'),
    Cheat("indirect-r1c1", "formula uses INDIRECT", lambda b: f'=INDIRECT("{KEY}!R{b.r}C{b.c}",FALSE)'),
    Cheat("key", f"formula reads another sheet '{KEY}'", lambda b: f"={KEY}!{b.a}"),
    Cheat("key-quoted", f"formula reads another sheet '{KEY}'", lambda b: f"='{KEY}'!{b.a}"),
    Cheat("key-case", "formula reads another sheet 'XLHAND_KEY'", lambda b: f"=XLHAND_KEY!{b.a.lower()}"),
    Cheat("key-spaces", f"formula reads another sheet '{KEY}'", lambda b: f"=  {KEY}!{b.a}  +  0 "),
    Cheat("key-r1c1", f"formula reads another sheet '{KEY}'", lambda b: f"={KEY}!R{b.r}C{b.c}"),
    Cheat("key-inside-if", f"formula reads another sheet '{KEY}'", lambda b: f"=IF(1>0,{KEY}!{b.a},0)"),
    Cheat("key-range", f"formula reads another sheet '{KEY}'", lambda b: f"=SUMPRODUCT({KEY}!{b.a}:{b.a})"),
    Cheat("check-sheet", "formula reads another sheet 'xlhand_check'", lambda b: f"=xlhand_check!{b.a}*0+{KEY}!{b.a}"),
    Cheat("check-mark", f"formula reads another sheet '{CHECK}'", lambda b: f"={CHECK}!{b.a}"),
    Cheat("check-indirect", "formula uses INDIRECT", lambda b: f'=LEN(INDIRECT("{CHECK}!{b.a}"))'),
    Cheat("3d", "formula uses a 3-D reference", lambda b: f"=SUM({EXERCISE}:{KEY}!{b.a})"),
    Cheat("external", "formula reads an external workbook", lambda b: f"=[1]{KEY}!{b.a}"),
    Cheat("block-name", "formula uses the defined name x_", lambda b: f"=INDEX(x_{b.name},{b.i + 1},{b.j + 1})"),
    Cheat("block-name-alone", "formula uses the defined name x_", lambda b: f"=x_{b.name}"),
    Cheat("own-name", "formula uses the defined name stolen", lambda b: f"=INDEX(stolen,{b.r},{b.c})", define_stolen),
    Cheat("names-at-key", "formula uses the defined name x_", lambda b: f"=INDEX(x_{b.name},{b.i + 1},{b.j + 1})",
          point_names_at_key),
    Cheat("offset", "formula uses OFFSET", lambda b: f"=OFFSET({KEY}!A1,{b.r - 1},{b.c - 1})"),
    Cheat("hyperlink", "formula uses HYPERLINK", lambda b: f'=HYPERLINK("#{KEY}!{b.a}",{KEY}!{b.a})'),
    Cheat("webservice", "formula uses WEBSERVICE", lambda b: f'=WEBSERVICE("https://example.com/?cell={b.a}")'),
    Cheat("cell", "formula uses CELL", lambda b: f'=CELL("contents",{KEY}!{b.a})'),
    Cheat("now", "formula uses NOW", lambda b: f"=NOW()*0+{KEY}!{b.a}"),
    Cheat("rand", "formula uses RAND", lambda b: "=RAND()"),
    Cheat("single", f"formula reads another sheet '{KEY}'", lambda b: f"=_xlfn.SINGLE({KEY}!{b.a})"),
    Cheat("scratch-cell", f"formula reads another sheet '{KEY}' (in ", lambda b: f"={scratch(b)}",
          key_in_scratch_cells),
    Cheat("array-on-blanks", f"formula reads another sheet '{KEY}'", None, arrays(anchor_above=False)),
    Cheat("array-spilled", f"formula reads another sheet '{KEY}' (in ", None, arrays(anchor_above=True)),
    # the array formula's type written as a character reference, which every XML reader decodes
    Cheat("char-reference", f"formula reads another sheet '{KEY}' (in ", None, arrays(anchor_above=True),
          lambda name, data: data.replace(b't="array"', b't="&#97;rray"') if "worksheets" in name else data),
]


def honest_on_sheet(manifest, sid):
    """The key's formulas with every reference written with the visible sheet's own name."""
    sheet = manifest["sheet"]
    out = {}
    for (r, c), formula in key_formula_values(manifest, sid).items():
        tokens = openpyxl.formula.tokenizer.Tokenizer(formula)
        for t in tokens.items:
            if t.type == "OPERAND" and t.subtype == "RANGE":
                t.value = f"'{sheet}'!{t.value.lower()}"
        out[(r, c)] = tokens.render()
    return out


def honest_constants(manifest, sid):
    """Each answer smuggled in as an array constant: judged by its value."""
    return {(r, c): f"=INDEX({{{want!r},99}},1)" for (r, c), want in perfect_values(manifest, sid).items()}


def honest_scratch(manifest, sid):
    """Each answer typed into a scratch cell of the visible sheet, the blank reading it."""
    return {(r, c): f"={scratch(Blank('', 0, 0, r, c))}" for (r, c) in perfect_values(manifest, sid)}


def honest_scratch_edit(manifest, sid):
    def edit(wb):
        for (r, c), want in perfect_values(manifest, sid).items():
            wb.worksheets[0][scratch(Blank("", 0, 0, r, c))] = want
    return edit


def honest_array_constants(manifest, sid):
    def edit(wb):
        ws = wb.worksheets[0]
        want = perfect_values(manifest, sid)
        for top, left, bottom, right in block_ranges(manifest).values():
            rows = ";".join(",".join(repr(want[(r, c)]) for c in range(left, right + 1))
                            for r in range(top, bottom + 1))
            ref = span(top, left, bottom, right)
            ws.cell(top, left).value = ArrayFormula(ref, f"={{{rows}}}")
    return edit


HONEST = ["key-formulas", "own-sheet-lowercase", "array-constants", "scratch-numbers", "array-formulas"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cheats")
    ids = [c.id for c in CHEATS] + HONEST + ["stale-cache", "edited-check", "changed-givens", "borrowed",
                                             "key-handed-in", "check-sheet-renamed"]
    manifest_path, manifest, cls = make_class(tmp, EXERCISE, ids=ids)
    sub = tmp / "sub"
    sub.mkdir()
    files = []
    for cheat in CHEATS:
        blanks = [Blank(n, i, j, r, c) for n, i, j, r, c, _ in blank_cells(manifest, cheat.id)]
        values = {(b.r, b.c): cheat.formula(b) for b in blanks} if cheat.formula else {}
        edit = (lambda wb, e=cheat.edit, b=blanks: e(wb, manifest, b)) if cheat.edit else None
        path = fill(cls / f"{cheat.id}.xlsx", sub / f"{cheat.id}.xlsx", values, edit=edit)
        files.append(rezip(path, path, lambda n, d, x=cheat.xml: x(n, d) if n else d) if cheat.xml else path)

    files.append(fill(cls / "key-formulas.xlsx", sub / "key-formulas.xlsx", key_formula_values(manifest, "key-formulas")))
    files.append(fill(cls / "own-sheet-lowercase.xlsx", sub / "own-sheet-lowercase.xlsx",
                      honest_on_sheet(manifest, "own-sheet-lowercase")))
    files.append(fill(cls / "array-constants.xlsx", sub / "array-constants.xlsx",
                      honest_constants(manifest, "array-constants")))
    files.append(fill(cls / "scratch-numbers.xlsx", sub / "scratch-numbers.xlsx", honest_scratch(manifest, "scratch-numbers"),
                      edit=honest_scratch_edit(manifest, "scratch-numbers")))
    files.append(fill(cls / "array-formulas.xlsx", sub / "array-formulas.xlsx", {},
                      edit=honest_array_constants(manifest, "array-formulas")))

    # a formula giving a wrong number, saved with the right answer as its cached result
    cells = blank_cells(manifest, "stale-cache")
    stale = fill(cls / "stale-cache.xlsx", sub / "stale-plain.xlsx", {(r, c): "=-12345+0" for *_, r, c, _ in cells})
    files.append(with_cached(stale, sub / "stale-cache.xlsx",
                             {xl_rowcol_to_cell(r - 1, c - 1): want for *_, r, c, want in cells}))
    stale.unlink()

    # wrong numbers typed, and the hidden check sheet edited to agree, so the sheet goes green
    def agree(wb):
        for *_, r, c, _ in blank_cells(manifest, "edited-check"):
            wb[CHECK].cell(r, c).value = '="right"'
    files.append(fill(cls / "edited-check.xlsx", sub / "edited-check.xlsx",
                      {(r, c): 7 for *_, r, c, _ in blank_cells(manifest, "edited-check")}, edit=agree))

    # every given changed, honest formulas computing on them
    sheet, _ = key_of(manifest, "changed-givens")

    def shift_givens(wb):
        for block in sheet.blocks.values():
            if block.values is not None:
                for i in range(block.rows):
                    for j in range(block.cols):
                        wb.worksheets[0].cell(block.top + i + 1, block.left + j + 1).value = \
                            float(block.values[i, j]) + 1
    files.append(fill(cls / "changed-givens.xlsx", sub / "changed-givens.xlsx",
                      key_formula_values(manifest, "changed-givens"), edit=shift_givens))

    # another student's perfect workbook, with this student's id written into its metadata
    def relabel(wb):
        for p in wb.custom_doc_props.props:
            if p.name == "xlhand_student_id":
                p.value = "borrowed"
    files.append(fill(cls / "key-formulas.xlsx", sub / "borrowed.xlsx", perfect_values(manifest, "key-formulas"),
                      edit=relabel))

    # the student's own answer key (from the keys folder), handed in under the worksheet's name
    files.append(shutil.copy(manifest_path.parent / "key-handed-in-key.xlsx", sub / "key-handed-in.xlsx"))
    # the hidden check sheet renamed to the visible sheet's name (and the visible one renamed away)
    sheet_name = manifest["sheet"].encode()
    files.append(rezip(cls / "check-sheet-renamed.xlsx", sub / "check-sheet-renamed.xlsx", lambda n, d: d.replace(
        b'name="' + sheet_name + b'"', b'name="mine"').replace(b'name="xlhand_check"', b'name="' + sheet_name + b'"')
        if n == "xl/workbook.xml" else d))

    out = tmp / "grades"
    subs = {s.student_id: s for s in grade(manifest_path, files, out, feedback=False).files}
    rows = {r["student_id"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8-sig", newline=""))}
    return manifest, subs, rows


def test_the_corpus_is_large_enough():
    assert len(CHEATS) >= 20 and len({c.id for c in CHEATS}) == len(CHEATS)


@pytest.mark.parametrize("cheat", CHEATS, ids=[c.id for c in CHEATS])
def test_cheat_scores_zero_and_is_flagged_by_name(graded, cheat):
    _, subs, rows = graded
    s = subs[cheat.id]
    assert s.status == "graded", s.reason
    assert s.max > 0 and s.score == 0, [(c.address, c.got, c.status) for c in s.cells if c.points][:5]
    assert all(c.refused for c in s.cells), [(c.address, c.got) for c in s.cells if not c.refused][:5]
    assert any(cheat.flag in f for f in s.flags), s.flags
    assert cheat.flag in rows[cheat.id]["flags"]


@pytest.mark.parametrize("sid", HONEST)
def test_honest_formulas_score_full_marks(graded, sid):
    s = graded[1][sid]
    assert s.status == "graded", s.reason
    assert s.score == s.max > 0, [(c.address, c.got, c.expected, c.refused) for c in s.cells if c.status != "right"][:5]
    assert not any("formula" in f for f in s.flags), s.flags


def test_a_saved_result_is_never_trusted(graded):
    s = graded[1]["stale-cache"]
    assert all(c.got == -12345 for c in s.cells)
    assert not any(c.status == "right" for c in s.cells)  # (copies of its own wrong cells carry forward)


def test_editing_the_hidden_check_is_not_the_worksheet_handed_out(graded):
    s = graded[1]["edited-check"]
    assert s.status == "rejected" and s.score == 0 and "its self-check of" in s.reason, s.reason


def test_every_given_changed_is_not_the_worksheet_handed_out(graded):
    # (issue 20, 5) honest formulas on numbers that are not the student's: scores 0, with the reason
    s = graded[1]["changed-givens"]
    assert s.status == "rejected" and s.score == 0
    assert "givens are not the student's numbers" in s.reason, s.reason


def test_a_borrowed_workbook_scores_zero_with_the_reason(graded):
    s = graded[1]["borrowed"]
    assert s.identified_by == "metadata"
    assert "the workbook was built for another student's numbers" in s.flags
    assert s.status == "rejected" and s.score == 0 and "numbers of student 'key-formulas'" in s.reason


def test_an_answer_key_handed_in_is_flagged(graded):
    s = graded[1]["key-handed-in"]
    assert s.identified_by == "file name"
    assert any("not a student worksheet but a 'key' workbook" in f for f in s.flags), s.flags
    assert s.status == "rejected" and s.score == 0 and "an answer key" in s.reason


def test_the_hidden_check_renamed_to_the_graded_sheet_scores_zero(graded):
    # the tell is the sheet's state
    s = graded[1]["check-sheet-renamed"]
    assert s.status == "rejected" and s.score == 0 and "not the worksheet handed out" in s.reason
    assert any("is veryHidden in this workbook" in f for f in s.flags), s.flags
