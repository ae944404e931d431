"""Reading the parts of an xlsx that IronCalc does not report: custom properties, array formulas
with their ranges, and which zip entry (and visibility) a sheet has. Every part is parsed with
defusedxml, in the sandboxed child (:mod:`xlhand.grading.sandbox`)."""
from __future__ import annotations

import io
import zipfile

from xlhand.grading import policy
from xlhand.grading.policy import Area, Formula
from xlhand.grading.zipcheck import Rejected


def custom_properties(zf: zipfile.ZipFile) -> dict:
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


def array_formulas(zf: zipfile.ZipFile, part: str, sheet: str) -> list[Formula]:
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


def sheet_part(zf: zipfile.ZipFile, sheet: str) -> tuple[str, str]:
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


def empty_cells(zf: zipfile.ZipFile, part: str, cells: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of ``cells`` (1-based) are empty in the file: absent, or a ``<c>`` with neither a value, a
    formula nor inline text (openpyxl and other tools write ``<c r="G22" s="13" t="n"/>`` for a styled
    empty cell, which IronCalc reads as 0; Excel and LibreOffice read it as empty, and so does the
    grader). Cells of an array formula's range are given their value by it, and are not passed here."""
    import defusedxml.ElementTree as ET

    filled = set()
    with io.BytesIO(zf.read(part)) as stream:
        for _, element in ET.iterparse(stream):
            tag = _local(element.tag)
            if tag == "c":
                at = policy.cell_of(element.get("r") or "")
                if at in cells and any(_local(child.tag) in ("f", "is") or (_local(child.tag) == "v" and
                                                                           (child.text or "") != "")
                                       for child in element):
                    filled.add(at)
            elif tag == "row":
                element.clear()
    return cells - filled
