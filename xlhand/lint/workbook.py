"""Reading an .xlsx the way Excel wrote it, for lint: every cell's value and formula text, the look
of its cell style, the array formulas with their ranges, defined names, charts and external links.

Formulas are read as written in the file: a shared formula (``<f t="shared" si="0"/>``, one formula
for a range, stored once) is expanded cell by cell with openpyxl's :class:`Translator`; a legacy
array formula (``{=MMULT(…)}``) and a spilled dynamic array keep their range; ``_xlfn.``/``_xlws.``
prefixes are kept for the rules to see. The XML is parsed with defusedxml, only after
:func:`reader.precheck` has looked at the file from the outside.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from functools import cached_property

from defusedxml import ElementTree as ET
from openpyxl.formula.translate import Translator

from xlhand.lint.formulas import address, column_number
from xlhand.lint.reader import MAX_COL, MAX_ROW, Area, Rejected, cell_of

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
EMPTY, NUMBER, TEXT, BOOLEAN, ERROR, FORMULA, ARRAY_MEMBER = "", "n", "s", "b", "e", "f", "a"


class Cell:
    """One cell: ``kind`` (one of the constants above), its value, its formula text (with ``=``) and
    its style number. A cell of an array formula's range other than its first holds ``ARRAY_MEMBER``."""

    __slots__ = ("kind", "value", "formula", "style", "spilled")

    def __init__(self, kind: str, value, formula: str | None, style: int, spilled: bool = False):
        self.kind, self.value, self.formula, self.style, self.spilled = kind, value, formula, style, spilled

    @property
    def computed(self) -> bool:
        return self.kind in (FORMULA, ARRAY_MEMBER)


@dataclass
class Style:
    fill: int = 0
    locked: bool = True


@dataclass
class Sheet:
    name: str
    state: str = "visible"
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)
    arrays: list[tuple[Area, str]] = field(default_factory=list)  # range, formula text of the array
    protected: bool = False


@dataclass
class Book:
    path: str
    sheets: list[Sheet] = field(default_factory=list)
    styles: list[Style] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # workbook-scoped defined name -> its formula text
    links: list[str] = field(default_factory=list)  # targets of external workbook links
    chart_refs: list[str] = field(default_factory=list)  # the ranges charts read
    meta: dict[str, str] = field(default_factory=dict)  # custom document properties

    def style(self, number: int) -> Style:
        return self.styles[number] if 0 <= number < len(self.styles) else Style()

    def sheet(self, name: str) -> Sheet | None:
        return self._by_name.get(name.casefold())

    @cached_property
    def _by_name(self) -> dict[str, Sheet]:
        """Each sheet by its name in any case (the first of two alike), once the book is read."""
        out: dict[str, Sheet] = {}
        for sheet in self.sheets:
            out.setdefault(sheet.name.casefold(), sheet)
        return out


def read_book(path: str) -> Book:
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        book = Book(str(path))
        book.styles = _styles(zf, names)
        strings = _shared_strings(zf, names)
        for name, part, state in _sheet_parts(zf, names, book):
            sheet = Sheet(name, state)
            _read_sheet(zf.read(part), sheet, strings)
            book.sheets.append(sheet)
        book.links = _external_links(zf, names)
        book.chart_refs = [f.text or "" for part in sorted(names) if part.startswith("xl/charts/chart")
                           and part.endswith(".xml") for f in ET.fromstring(zf.read(part)).iter()
                           if f.tag.endswith("}f")]
        book.meta = _custom_properties(zf, names)
    return book


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _styles(zf: zipfile.ZipFile, names: set[str]) -> list[Style]:
    if "xl/styles.xml" not in names:
        return []
    root = ET.fromstring(zf.read("xl/styles.xml"))
    xfs = next((e for e in root if _local(e.tag) == "cellXfs"), None)
    out = []
    for xf in xfs if xfs is not None else ():
        protection = next((e for e in xf if _local(e.tag) == "protection"), None)
        locked = protection is None or protection.get("locked") not in ("0", "false")
        out.append(Style(int(xf.get("fillId") or 0), locked))
    return out


def _shared_strings(zf: zipfile.ZipFile, names: set[str]) -> list[str]:
    if "xl/sharedStrings.xml" not in names:
        return []
    out = []
    for _, element in ET.iterparse(zf.open("xl/sharedStrings.xml")):
        if element.tag == NS + "si":
            out.append("".join(t.text or "" for t in element.iter(NS + "t")))
            element.clear()
    return out


def _sheet_parts(zf: zipfile.ZipFile, names: set[str], book: Book):
    """(name, zip entry, state) of every worksheet; the defined names go into ``book.names``."""
    root = ET.fromstring(zf.read("xl/workbook.xml"))
    rels = {}
    if "xl/_rels/workbook.xml.rels" in names:
        rels = {e.get("Id"): e.get("Target") or "" for e in ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))}
    for element in root.iter():
        tag = _local(element.tag)
        if tag == "definedName" and element.get("localSheetId") is None:
            book.names[element.get("name") or ""] = element.text or ""
        if tag != "sheet":
            continue
        target = rels.get(element.get(REL), "")
        part = target[1:] if target.startswith("/") else posixpath.normpath("xl/" + target)
        if part in names:
            yield element.get("name") or "", part, element.get("state") or "visible"


def _read_sheet(data: bytes, sheet: Sheet, strings: list[str]) -> None:
    """The cells of one worksheet part. Worksheets are the bulk of a workbook, so they are parsed
    with the standard library's C parser: :func:`reader.precheck` has already refused every part
    that declares a DOCTYPE or an ENTITY, which is what defusedxml's slower pure-Python parser
    guards against (the small parts are still read with defusedxml). The plain number cells go
    first, quicker still (:func:`_read_plain_numbers`)."""
    import io
    from xml.etree.ElementTree import iterparse

    data = _read_plain_numbers(data, sheet)
    shared: dict[str, Translator] = {}
    c_tag, f_tag, v_tag, is_tag, row_tag = NS + "c", NS + "f", NS + "v", NS + "is", NS + "row"
    cells = sheet.cells
    for _, element in iterparse(io.BytesIO(data)):
        tag = element.tag
        if tag == c_tag:
            if len(element) == 1 and element[0].tag == v_tag and element.get("t") is None:
                _read_number(element, cells, sheet.name)  # the common cell, read quickly
            else:
                _read_cell(element, sheet, strings, shared, f_tag, v_tag, is_tag)
            element.clear()
        elif tag == row_tag:
            element.clear()
        elif tag == NS + "sheetProtection":
            sheet.protected = element.get("sheet") in ("1", "true")


# A cell that holds only a number, as Excel, XlsxWriter and openpyxl write one: <c r="B2" s="3"><v>1.5</v></c>
_PLAIN_NUMBER = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"(?: s="([0-9]{1,9})")?(?: t="n")?>'
                           rb'<v>(-?[0-9]+(?:\.[0-9]+)?(?:[Ee][-+]?[0-9]+)?)</v></c>')
_DEFAULT_NAMESPACE = f'xmlns="{NS[1:-1]}"'.encode()
_DEFAULT_DECLARATION = re.compile(rb"xmlns\s*=")


def _read_plain_numbers(data: bytes, sheet: Sheet) -> bytes:
    """Read the plain number cells of a worksheet part with one regular expression, and give back
    the part without them for the XML parser: a data sheet is hundreds of thousands of such cells,
    read this way in about half the time. Only in a part where each match is a cell just as the
    parser reads it (see :func:`_markup_in_plain_sight`); other parts are left whole."""
    if not _markup_in_plain_sight(data):
        return data

    def read(match) -> bytes:
        letters, digits, style, number = match.groups()
        col, row = _COLUMN_OF.get(letters) or _column_of(letters), int(digits)
        if not col or not 1 <= row <= MAX_ROW:
            raise Rejected(f"not a readable xlsx: a cell of sheet '{sheet.name}' has no valid address")
        sheet.cells[(row, col)] = Cell(NUMBER, float(number), None, int(style or 0))
        return b""

    return _PLAIN_NUMBER.sub(read, data)


def _markup_in_plain_sight(data: bytes) -> bool:
    """Whether nothing in a worksheet part can hide markup from a regular expression or change what
    an element is: no comment, CDATA section or processing instruction (an XML declaration at the
    start only), and the spreadsheet namespace is its one default namespace, so that ``<c …>`` is
    a cell wherever it stands."""
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0  # (a byte order mark)
    declared = data.startswith(b"<?xml ", start) and data.find(b"?>", start) < data.find(b"<", start + 1)
    return (b"<!" not in data and data.count(b"<?") == (1 if declared else 0) and
            len(_DEFAULT_DECLARATION.findall(data)) == 1 and _DEFAULT_NAMESPACE in data)


_COLUMN_OF: dict[bytes, int] = {}  # the column letters met so far -> their column number


def _column_of(letters: bytes) -> int:
    """The column number of ``letters`` (``AB``), remembered; 0 past the last column."""
    col = column_number(letters.decode())
    if col > MAX_COL:
        return 0
    _COLUMN_OF[letters] = col
    return col


def _cell_address(text: str) -> tuple[int, int] | None:
    """(row, col) of a cell's ``r`` attribute (``B2``); None if it is not a plain address."""
    letters = text.rstrip("0123456789")
    digits = text[len(letters):]
    if not (digits and letters.isalpha() and letters.isupper() and len(letters) <= 3):
        return address(text)  # let the full rule decide (and refuse)
    row, col = int(digits), column_number(letters)
    return (row, col) if 1 <= row <= MAX_ROW and col <= MAX_COL else None


def _read_number(element, cells: dict, sheet: str) -> None:
    """A cell holding only a number: ``<c r="B2" s="3"><v>1.5</v></c>``."""
    where = _cell_address(element.get("r") or "")
    if where is None:
        raise Rejected(f"not a readable xlsx: a cell of sheet '{sheet}' has no valid address")
    text = element[0].text
    try:
        kind, value = (NUMBER, float(text)) if text is not None else (EMPTY, None)
    except ValueError:
        kind, value = TEXT, text
    style = int(element.get("s") or 0)
    member = cells.get(where)
    if member is not None and member.kind == ARRAY_MEMBER:  # placed by its array formula
        member.value, member.style = value, style
    else:
        cells[where] = Cell(kind, value, None, style)


def _read_cell(element, sheet: Sheet, strings, shared, f_tag, v_tag, is_tag) -> None:
    where = _cell_address(element.get("r") or "")
    if where is None:
        raise Rejected(f"not a readable xlsx: a cell of sheet '{sheet.name}' has no valid address")
    style = int(element.get("s") or 0)
    f = text = inline = None
    for child in element:  # <f>, <v>, <is>: one pass
        tag = child.tag
        if tag == v_tag:
            text = child.text
        elif tag == f_tag:
            f = child
        elif tag == is_tag:
            inline = "".join(child.itertext())
    kind, value = _value(element.get("t"), text, inline, strings)
    if f is None:
        member = sheet.cells.get(where)
        if member is not None and member.kind == ARRAY_MEMBER:  # placed by its array formula
            member.value, member.style = value, style
        else:
            sheet.cells[where] = Cell(kind, value, None, style)
        return
    formula = _formula_text(f, element.get("r"), shared)
    sheet.cells[where] = Cell(FORMULA, value, "=" + formula, style, spilled=element.get("cm") is not None)
    if f.get("t") == "array" and f.get("ref"):
        _place_array(sheet, f.get("ref"), formula, where, style)


def _value(t: str | None, text: str | None, inline: str | None, strings: list[str]):
    """(kind, value) of a cell of type ``t`` whose <v> holds ``text`` (``inline``: an inline string)."""
    if t is None or t == "n":
        if text is None:
            return EMPTY, None
        try:
            return NUMBER, float(text)
        except ValueError:
            return TEXT, text
    if t == "inlineStr":
        return TEXT, inline or ""
    if text is None:
        return EMPTY, None
    if t == "s":
        k = int(text)
        return TEXT, strings[k] if 0 <= k < len(strings) else ""
    if t == "b":
        return BOOLEAN, text in ("1", "true")
    if t == "e":
        return ERROR, text
    return TEXT, text  # "str": a formula's text result


def _formula_text(f, address: str, shared: dict[str, Translator]) -> str:
    """The formula of this cell as written, a shared formula expanded for this cell."""
    text = f.text or ""
    if f.get("t") != "shared":
        return text
    index = f.get("si") or ""
    if text:
        shared[index] = Translator("=" + text, origin=address)
        return text
    master = shared.get(index)
    if master is None:
        raise Rejected(f"not a readable xlsx: shared formula {index} is used before it is given")
    return master.translate_formula(address)[1:]


def _place_array(sheet: Sheet, ref: str, text: str, anchor: tuple[int, int], style: int) -> None:
    ends = [cell_of(part) for part in ref.split(":")]
    if not 1 <= len(ends) <= 2 or None in ends:
        raise Rejected(f"not a readable xlsx: an array formula in sheet '{sheet.name}' has no valid range")
    (r1, c1), (r2, c2) = ends[0], ends[-1]
    area = Area(min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))
    sheet.arrays.append((area, "=" + text))
    if area.size > 1_000_000:
        raise Rejected(f"not a readable xlsx: an array formula in sheet '{sheet.name}' spans {area}")
    for cell in area.cells():
        if cell != anchor:
            old = sheet.cells.get(cell)
            value = old.value if old is not None else None
            sheet.cells[cell] = Cell(ARRAY_MEMBER, value, None, old.style if old is not None else style)


def _external_links(zf: zipfile.ZipFile, names: set[str]) -> list[str]:
    """Where each external link points (a path or a URL); never followed."""
    out = []
    for part in sorted(n for n in names if n.startswith("xl/externalLinks/") and n.endswith(".xml")):
        folder, file = posixpath.split(part)
        rels = f"{folder}/_rels/{file}.rels"
        targets = [e.get("Target") or "" for e in ET.fromstring(zf.read(rels))] if rels in names else []
        out.append(targets[0] if targets else part)
    return out


def _custom_properties(zf: zipfile.ZipFile, names: set[str]) -> dict[str, str]:
    if "docProps/custom.xml" not in names:
        return {}
    return {p.get("name") or "": "".join(p.itertext()) for p in ET.fromstring(zf.read("docProps/custom.xml"))}
