"""Hand-made "by hand" workbooks for the lint tests, each with mistakes planted on request.

Every workbook here is written the way a person makes one in Excel: numbers in bordered, filled
rectangles with a label above, formulas typed into the first cell and filled across (written out,
or legacy ``{=MMULT(…)}`` arrays, or Excel's shared formulas), plain labels. ``build(name, plants)``
writes workbook ``name`` with the mistakes ``plants`` (keys of ``PLANTS[name]``); with no plants it is
the corrected twin. ``PLANTS[name][key]`` is what lint must report for that mistake: a list of
(rule, sheet, range), the first the mistake itself, the rest what follows from it (a cell that is
no longer read).
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Border, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula

FILLS = {"given": "DDEBF7", "weight": "FCE4D6", "bias": "FFF2CC", "computed": "E2EFDA", "output": "A9D08E"}
THIN = Side(style="thin", color="808080")


def a(row: int, col: int) -> str:
    return f"{get_column_letter(col)}{row}"


def block(ws, top: int, left: int, rows: int, cols: int, value, label: str | None = None, role: str = "given"):
    """A bordered, filled rectangle; ``value(i, j)`` gives a number or a formula text."""
    if label:
        ws.cell(top - 1, left, label)
    for i in range(rows):
        for j in range(cols):
            cell = ws.cell(top + i, left + j, value(i, j))
            cell.border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
            cell.fill = PatternFill("solid", fgColor=FILLS[role])


def numbers(values):
    return lambda i, j: values[i][j]


# --- the workbooks ---------------------------------------------------------------------------------
def linear(ws, on):
    """Z = W·X + b written out cell by cell, A = ReLU(Z)."""
    block(ws, 3, 6, 3, 2, numbers([[1, 2], [0, -1], [2, 1]]), "X")
    block(ws, 7, 2, 2, 3, numbers([[1, 0, -1], [2, 1, 0]]), "W", "weight")
    block(ws, 7, 5, 2, 1, numbers([[0.5], [-1]]), "b", "bias")

    def z(i, j):
        r, c = 7 + i, get_column_letter(6 + j)
        if on("off-by-one") and (i, j) == (0, 1):
            return f"=B{r}*G4+C{r}*G4+D{r}*G5+E{r}"
        if on("drop-term") and (i, j) == (1, 0):
            return f"=B{r}*F3+C{r}*F4+E{r}"
        return f"=B{r}*{c}3+C{r}*{c}4+D{r}*{c}5+E{r}"
    block(ws, 7, 6, 2, 2, z, "Z = W·X + b", "computed")

    def relu(i, j):
        if on("bias-not-z") and (i, j) == (1, 0):
            return "=MAX(0,E8)"
        if on("typed") and (i, j) == (0, 1):
            return 0.5
        return f"=MAX(0,{a(7 + i, 6 + j)})"
    block(ws, 11, 6, 2, 2, relu, "A = ReLU(Z)", "output")


def softmax(ws, on):
    """p = softmax(z) down a column, with Σ under it, and a cross-entropy loss."""
    block(ws, 3, 2, 3, 1, numbers([[1.0], [2.0], [0.5]]), "z")
    block(ws, 3, 3, 3, 1, lambda i, j: f"=EXP(B{3 + i})", "e^z", "computed")
    ws["B7"] = "Σ"
    block(ws, 7, 3, 1, 1, lambda i, j: "=SUM(C3:C6)" if on("sum-empty") else "=SUM(C3:C5)", role="computed")
    block(ws, 3, 4, 3, 1, lambda i, j: "=C4/$C$7" if on("p-reuse") and i == 2 else f"=C{3 + i}/$C$7",
          "p", "computed")
    block(ws, 3, 5, 3, 1, numbers([[0], [1], [0]]), "y", "given")
    log = "LOG" if on("log10") else "LN"
    block(ws, 3, 6, 3, 1, lambda i, j: f"=-E{3 + i}*{log}(D{3 + i})", "loss", "computed")
    ws["E8"] = "L"
    block(ws, 8, 6, 1, 1, lambda i, j: "=SUM(F2:F5)" if on("label-in-sum") else "=SUM(F3:F5)", role="output")


def mmult(ws, on):
    """Z = W·X and H = V·Z as legacy array formulas {=MMULT(…)}."""
    block(ws, 3, 6, 3, 2, numbers([[1, 2], [0, -1], [2, 1]]), "X")
    block(ws, 7, 2, 2, 3, numbers([[1, 0, -1], [2, 1, 0]]), "W", "weight")
    ws["F6"] = "Z = W·X"
    w = "B7:C8" if on("drops-column") else "B7:D8"
    ws["F7"] = ArrayFormula("F7:G8", f"=MMULT({w},F3:G5)")
    block(ws, 11, 2, 2, 2, numbers([[1, -1], [0, 2]]), "V", "weight")
    ws["F10"] = "H = V·Z"
    ws["F11"] = ArrayFormula("F11:G12", "=MMULT(B11:C12,F8:G9)" if on("shifted") else "=MMULT(B11:C12,F7:G8)")


def attention(ws, on):
    """Q = X·Wq, K = X·Wk and the scores S = Q·Kᵀ/√2, one written-out formula per cell."""
    block(ws, 3, 2, 3, 2, numbers([[1, 0], [0, 1], [1, 1]]), "X")
    block(ws, 3, 5, 2, 2, numbers([[1, 2], [0, 1]]), "Wq", "weight")
    block(ws, 3, 8, 2, 2, numbers([[1, 0], [1, 1]]), "Wk", "weight")
    for left, name in ((5, "Q"), (8, "K")):
        block(ws, 7, left, 3, 2, lambda i, j, left=left: f"=B{3 + i}*{a(3, left + j)}+C{3 + i}*{a(4, left + j)}",
              f"{name} = X·W{name.lower()}", "computed")

    def score(i, j):
        q = 7 if on("reuse-row") and i == 1 else 7 + i
        if on("typed-score") and (i, j) == (2, 2):
            return 0.7
        return f"=(E{q}*H{7 + j}+F{q}*I{7 + j})/SQRT(2)"
    block(ws, 12, 5, 3, 3, score, "S = Q·Kᵀ/√2", "output")


def norm(ws, on):
    """Layer norm of three rows: mean, variance, centred, normalised."""
    for r in range(3):
        ws.cell(3 + r, 1, f"x{r + 1}")
    block(ws, 3, 2, 3, 4, numbers([[1, 2, 3, 4], [2, 0, 1, 1], [5, 1, 0, 2]]), "x")
    block(ws, 3, 7, 3, 1, lambda i, j: "=AVERAGE(A4:E4)" if on("label-in-mean") and i == 1
          else f"=AVERAGE(B{3 + i}:E{3 + i})", "mean", "computed")
    block(ws, 3, 8, 3, 1, lambda i, j: "=SUMPRODUCT((B4:E4-G5)^2)/4" if on("var-shift") and i == 2
          else f"=SUMPRODUCT((B{3 + i}:E{3 + i}-G{3 + i})^2)/4", "var", "computed")
    block(ws, 8, 2, 3, 4, lambda i, j: 1.5 if on("typed") and (i, j) == (1, 1) else f"={a(3 + i, 2 + j)}-$G{3 + i}",
          "x − mean", "computed")
    block(ws, 13, 2, 3, 4, lambda i, j: f"={a(8 + i, 2 + j)}/SQRT($H{3 + i}+0.00001)", "y", "output")


def modern(ws, on):
    """Statistics of a column, written with functions every spreadsheet has (or, planted, not)."""
    block(ws, 3, 2, 4, 1, numbers([[3], [1], [4], [1]]), "x")
    ws["D2"] = "sorted"
    if on("sort"):
        ws["D3"] = ArrayFormula("D3:D6", "=_xlfn._xlws.SORT(B3:B6)")
    else:
        block(ws, 3, 4, 4, 1, lambda i, j: f"=SMALL($B$3:$B$6,{i + 1})", role="computed")
    block(ws, 3, 6, 4, 1, lambda i, j: f"=SQUARE(B{3 + i})" if on("lambda") else f"=B{3 + i}^2", "x²", "computed")
    if on("lambda"):
        ws.parent.defined_names["SQUARE"] = DefinedName("SQUARE", attr_text="_xlfn.LAMBDA(_xlpm.x,_xlpm.x^2)")
    ws["H2"] = "σ"
    ws["H3"] = "=STDEV.P(B3:B6)" if on("no-prefix") else "=_xlfn.STDEV.P(B3:B6)"
    ws["J2"] = "2·mean"
    ws["J3"] = "=_xlfn.LET(_xlpm.m,AVERAGE(B3:B6),_xlpm.m*2)" if on("let") else "=AVERAGE(B3:B6)*2"
    ws["L2"] = "Σ sorted"
    ws["L3"] = "=SUM(_xlfn.ANCHORARRAY(D3))" if on("anchor") else "=SUM(D3:D6)"
    ws["N2"] = "2x"
    block(ws, 3, 14, 4, 1, lambda i, j: None if on("spill") else f"=B{3 + i}*2", role="computed")
    if on("spill"):  # typed once in N3 and spilled down by Excel 365 (see :func:`spill`)
        ws["N3"] = ArrayFormula("N3:N6", "=B3:B6*2")


def links(ws, on):
    """Weights copied in from a colleague's workbook (planted: linked to it instead), and a rate and
    a base read through defined names (planted: names for cells of other workbooks)."""
    block(ws, 3, 2, 2, 1, numbers([[2], [3]]), "w")
    ws["C2"] = "2·w"
    ws["C3"] = "=[1]Weights!$B$2*2" if on("onedrive") else "=B3*2"
    ws["C4"] = "=B4*2"
    ws["C5"] = "='C:\\Users\\ann\\[w.xlsx]Sheet1'!$A$1*2" if on("path") else "=B4*3"
    block(ws, 3, 5, 2, 1, numbers([[0.5], [1]]), "rate, base", "weight")
    names = ws.parent.defined_names
    names["Rate"] = DefinedName("Rate", attr_text="[1]Weights!$B$4" if on("name-link") else "links!$E$3")
    names["Base"] = DefinedName("Base", attr_text="'C:\\Users\\ann\\[w.xlsx]Sheet1'!$A$2" if on("name-path")
                                else "links!$E$4")
    ws["G2"] = "w·rate + base"
    ws["G3"] = "=B3*Rate"
    ws["G4"] = "=B4+Base"


def classify(ws, on):
    """A linear classifier: scores, predictions, which are right, the accuracy."""
    block(ws, 3, 2, 1, 3, numbers([[1, -1, 0.5]]), "w", "weight")
    block(ws, 6, 2, 3, 3, numbers([[1, 0, 2], [0, 1, 1], [2, 2, 0]]), "x")
    block(ws, 6, 6, 3, 1, lambda i, j: "=SUMPRODUCT($B$3:$D$3,C8:E8)" if on("score-shift") and i == 2
          else f"=SUMPRODUCT($B$3:$D$3,B{6 + i}:D{6 + i})", "score", "computed")
    block(ws, 6, 7, 3, 1, lambda i, j: f"=IF(F{6 + i}>0,1,0)", "ŷ", "computed")
    block(ws, 6, 8, 3, 1, numbers([[1], [0], [1]]), "y")
    block(ws, 6, 9, 3, 1, lambda i, j: f"=G{6 + i}=H{6 + i}" if on("bool-right") else f"=IF(G{6 + i}=H{6 + i},1,0)",
          "right?", "output")
    ws["K5"] = "all right?"
    block(ws, 6, 11, 1, 1, lambda i, j: "=SUMPRODUCT((G6:G8=H6:H8)*1)=3" if on("bool-all")
          else "=IF(SUMPRODUCT((G6:G8=H6:H8)*1)=3,1,0)", role="output")


def rnn(ws, on):
    """h_t = tanh(0.5·x_t + 0.8·h_{t−1}) along a row, y_t = 2·h_t, and the total."""
    block(ws, 3, 2, 1, 4, numbers([[1, -1, 2, 0.5]]), "x")

    def h(i, j):
        if j == 0:
            return "=TANH(0.5*B3)"
        prev = get_column_letter(2 + j - 2) if on("skip") and j == 2 else get_column_letter(2 + j - 1)
        return f"=TANH(0.5*{a(3, 2 + j)}+0.8*{prev}6)"
    block(ws, 6, 2, 1, 4, h, "h", "computed")
    ws["A9"] = "y"
    block(ws, 9, 2, 1, 4, lambda i, j: 0.25 if on("typed-y") and j == 2 else f"=2*{a(6, 2 + j)}", role="output")
    ws["G8"] = "Σ y"
    block(ws, 9, 7, 1, 1, lambda i, j: "=SUM(A9:E9)" if on("sum-label") else "=SUM(B9:E9)", role="output")


def shared(ws, on):
    """Y = 2·X + 1 and Z = Y·Y filled with Excel's shared formulas (see :func:`share`)."""
    block(ws, 3, 2, 2, 3, numbers([[1, 2, 3], [4, 5, 6]]), "X")
    block(ws, 3, 6, 2, 3, lambda i, j: f"=2*{a(3 + i, 2 + j)}+1", "Y = 2X + 1", "computed")

    def z(i, j):
        if on("off-by-one") and (i, j) == (1, 1):
            return "=G3*G3"
        if on("typed") and (i, j) == (0, 2):
            return 49
        return f"={a(3 + i, 6 + j)}*{a(3 + i, 6 + j)}"
    block(ws, 7, 6, 2, 3, z, "Z = Y·Y", "output")


def grad(ws, on):
    """The gradient of a squared error: d = ŷ − y, the loss, and dW = x·dᵀ."""
    block(ws, 3, 2, 1, 3, numbers([[0.5, 1.5, -1]]), "ŷ")
    block(ws, 5, 2, 1, 3, numbers([[1, 1, 0]]), "y")
    block(ws, 3, 6, 2, 1, numbers([[2], [-1]]), "x")
    block(ws, 8, 2, 1, 3, lambda i, j: f"={a(3, 2 + j)}-{a(5, 2 + j)}", "d = ŷ − y", "computed")
    ws["F7"] = "L"
    block(ws, 8, 6, 1, 1, lambda i, j: "=SUMSQ(C8:E8)/2" if on("spill") else "=SUMSQ(B8:D8)/2", role="output")

    def dw(i, j):
        if on("typed") and (i, j) == (1, 1):
            return -0.5
        if on("off") and (i, j) == (0, 2):
            return "=$F4*D$8"
        return f"=$F{3 + i}*{get_column_letter(2 + j)}$8"
    block(ws, 11, 2, 2, 3, dw, "dW = x·dᵀ", "output")


def logistic(ws, on):
    """Logistic regression: σ(z), the cross-entropy per example, its mean and the predictions."""
    block(ws, 3, 2, 4, 1, numbers([[1], [-2], [0.5], [3]]), "z")
    block(ws, 3, 3, 4, 1, lambda i, j: "=1/(1+EXP(-B6))" if on("off") and i == 2 else f"=1/(1+EXP(-B{3 + i}))",
          "σ(z)", "computed")
    block(ws, 3, 5, 4, 1, numbers([[1], [0], [1], [1]]), "y")
    log = "LOG" if on("log10") else "LN"
    block(ws, 3, 4, 4, 1, lambda i, j: 0.3 if on("typed") and i == 1 else
          f"=-(E{3 + i}*{log}(C{3 + i})+(1-E{3 + i})*{log}(1-C{3 + i}))", "loss", "computed")
    block(ws, 3, 6, 4, 1, lambda i, j: f"=C{3 + i}>0.5" if on("bool") else f"=IF(C{3 + i}>0.5,1,0)", "ŷ", "output")
    ws["H2"] = "mean loss"
    block(ws, 3, 8, 1, 1, lambda i, j: "=AVERAGE(D3:D7)" if on("mean-empty") else "=AVERAGE(D3:D6)", role="output")


def conv(ws, on):
    """A 1-D convolution written out, its ReLU and their total."""
    block(ws, 3, 2, 1, 6, numbers([[1, 2, -1, 0, 3, 1]]), "x")
    block(ws, 6, 2, 1, 3, numbers([[1, 0, -1]]), "k", "weight")

    def y(i, j):
        c = [get_column_letter(2 + j + m) for m in range(3)]
        if on("off") and j == 2:
            c[2] = "G"
        return f"={c[0]}3*$B$6+{c[1]}3*$C$6+{c[2]}3*$D$6"
    block(ws, 9, 2, 1, 4, y, "y = x ⋆ k", "computed")
    block(ws, 12, 2, 1, 4, lambda i, j: 0 if on("typed") and j == 1 else f"=MAX(0,{a(9, 2 + j)})", "ReLU(y)",
          "computed")
    ws["G11"] = "Σ"
    block(ws, 12, 7, 1, 1, lambda i, j: "=SUM(C12:F12)" if on("sum-shift") else "=SUM(B12:E12)", role="output")


BUILDERS = {f.__name__: f for f in (linear, softmax, mmult, attention, norm, modern, links, classify, rnn, shared,
                                    grad, logistic, conv)}

# workbook -> plant -> what lint must report: [(rule, sheet, range), …], the mistake itself first
PLANTS: dict[str, dict[str, list[tuple[str, str, str]]]] = {
    "linear": {"off-by-one": [("shape", "linear", "G7")],
               "drop-term": [("shape", "linear", "F8")],
               "bias-not-z": [("shape", "linear", "F12")],
               "typed": [("typed-number", "linear", "G11")]},
    "softmax": {"sum-empty": [("empty-or-text", "softmax", "C7")],
                "p-reuse": [("shape", "softmax", "D5")],
                "log10": [("log10", "softmax", "F3:F5")],
                "label-in-sum": [("empty-or-text", "softmax", "F8")]},
    "mmult": {"drops-column": [("partial-range", "mmult", "F7")],
              "shifted": [("partial-range", "mmult", "F11")]},
    "attention": {"reuse-row": [("unread", "attention", "E8:F8"), ("shape", "attention", "E13:G13")],
                  "typed-score": [("typed-number", "attention", "G14")]},
    "norm": {"label-in-mean": [("empty-or-text", "norm", "G4"), ("shape", "norm", "G4")],
             "var-shift": [("shape", "norm", "H5")],
             "typed": [("typed-number", "norm", "C9")]},
    "modern": {"sort": [("not-portable", "modern", "D3")],
               "lambda": [("not-portable", "modern", "F3:F6")],
               "no-prefix": [("not-portable", "modern", "H3")],
               "let": [("not-portable", "modern", "J3")],
               "anchor": [("not-portable", "modern", "L3")],
               "spill": [("not-portable", "modern", "N3")]},
    "links": {"onedrive": [("external-link", "", ""), ("external-link", "links", "C3")],
              "path": [("external-link", "links", "C5")],
              "name-link": [("external-link", "links", "G3"), ("external-link", "", "")],
              "name-path": [("external-link", "links", "G4"), ("external-link", "", "")]},
    "classify": {"score-shift": [("shape", "classify", "F8"), ("partial-range", "classify", "F8")],
                 "bool-right": [("boolean-answer", "classify", "I6:I8")],
                 "bool-all": [("boolean-answer", "classify", "K6")]},
    "rnn": {"skip": [("shape", "rnn", "D6")],
            "typed-y": [("typed-number", "rnn", "D9")],
            "sum-label": [("empty-or-text", "rnn", "G9")]},
    "shared": {"off-by-one": [("shape", "shared", "G8"), ("unread", "shared", "G4")],
               "typed": [("typed-number", "shared", "H7")]},
    "grad": {"spill": [("partial-range", "grad", "F8")],
             "typed": [("typed-number", "grad", "C12")],
             "off": [("shape", "grad", "D11")]},
    "logistic": {"off": [("shape", "logistic", "C5")],
                 "log10": [("log10", "logistic", "D3:D6")],
                 "bool": [("boolean-answer", "logistic", "F3:F6")],
                 "mean-empty": [("empty-or-text", "logistic", "H3")],
                 "typed": [("typed-number", "logistic", "D4")]},
    "conv": {"off": [("shape", "conv", "D9")],
             "typed": [("typed-number", "conv", "C12")],
             "sum-shift": [("partial-range", "conv", "G12")]},
}

# what a mistake may also give when another mistake of its workbook is planted beside it: the typed
# number in Z leaves H3 unread, which is reported once the off-by-one cell reads G3 twice
ALSO = {("shared", "typed"): [("unread", "shared", "H3")]}

LINK_TARGET = "https://d.docs.live.net/4f2a9c1e/Documents/weights.xlsx"


def build(directory: Path, name: str, plants=()) -> Path:
    """Write workbook ``name`` with the mistakes ``plants`` (none: the corrected twin)."""
    unknown = set(plants) - set(PLANTS[name])
    assert not unknown, f"no plant {unknown} in {name}"
    wb = Workbook()
    ws = wb.active
    ws.title = name
    BUILDERS[name](ws, lambda key: key in plants)
    tag = "-".join(sorted(plants)) or "twin"
    path = Path(directory) / f"{name}-{tag}.xlsx"
    wb.save(path)
    if name == "shared":
        share(path, name, ["F3:H4", "F7:H8"])
    if name == "links" and {"onedrive", "name-link"} & set(plants):
        add_external_link(path, LINK_TARGET)
    if name == "modern" and "spill" in plants:
        spill(path, "N3")
    return path


def share(path: Path, sheet: str, ranges: list[str]) -> None:
    """Rewrite the plain formulas of each range as one Excel shared formula, as Excel saves a range
    filled by dragging; a cell whose formula is not the first one's, moved, keeps its own."""
    from openpyxl.formula.translate import Translator
    from openpyxl.utils.cell import range_boundaries

    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for si, rng in enumerate(ranges):
        left, top, right, bottom = range_boundaries(rng)
        first = a(top, left)
        master = re.search(rf'<c r="{first}"[^>]*><f>([^<]*)</f>', xml)[1]
        for r in range(top, bottom + 1):
            for c in range(left, right + 1):
                ref = a(r, c)
                m = re.search(rf'(<c r="{ref}"[^>]*>)<f>([^<]*)</f>', xml)
                if m is None:
                    continue
                if ref == first:
                    new = f'<f t="shared" ref="{rng}" si="{si}">{master}</f>'
                elif Translator("=" + master, origin=first).translate_formula(ref)[1:] == m[2]:
                    new = f'<f t="shared" si="{si}"/>'
                else:
                    continue
                xml = xml.replace(m[0], m[1] + new, 1)
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    _rezip(path, parts)


def add_external_link(path: Path, target: str) -> None:
    """Add the parts Excel writes for a formula that reads another workbook (``[1]Weights!B2``)."""
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    parts["xl/externalLinks/externalLink1.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<externalBook r:id="rId1"><sheetNames><sheetName val="Weights"/></sheetNames></externalBook>'
        '</externalLink>').encode()
    parts["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        f'externalLinkPath" Target="{target}" TargetMode="External"/></Relationships>').encode()
    _rezip(path, parts)


def spill(path: Path, cell: str) -> None:
    """Make the array formula in ``cell`` a spilled dynamic array, as Excel 365 saves a formula typed
    into one cell that fills the cells below it: the cell points (``cm="1"``) at the dynamic-array
    metadata, a part of its own."""
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    assert f'<c r="{cell}"' in sheet
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(f'<c r="{cell}"', f'<c r="{cell}" cm="1"', 1).encode()
    parts["xl/metadata.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<metadata xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray">'
        '<metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" '
        'pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1" '
        'clearComments="1" assign="1" coerce="1" cellMeta="1"/></metadataTypes>'
        '<futureMetadata name="XLDAPR" count="1"><bk><extLst><ext uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}">'
        '<xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk></futureMetadata>'
        '<cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata></metadata>').encode()
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(b"</Types>", (
        '<Override PartName="/xl/metadata.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"/>'
        '</Types>').encode())
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(b"</Relationships>", (
        '<Relationship Id="rIdMeta" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'sheetMetadata" Target="metadata.xml"/></Relationships>').encode())
    _rezip(path, parts)


def _rezip(path: Path, parts: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def corpus(directory: Path) -> list[tuple[Path, list[tuple[str, str, str]], list[list[tuple[str, str, str]]]]]:
    """Every workbook with all its plants, and its twin: (path, [], plants' expected findings)."""
    out = []
    for name, plants in PLANTS.items():
        out.append((build(directory, name, tuple(plants)),
                    [expected + ALSO.get((name, key), []) for key, expected in plants.items()]))
        out.append((build(directory, name), []))
    return out


def score(found, planted) -> tuple[int, int, int, int]:
    """(mistakes planted, mistakes found, findings, findings that point at a planted mistake).

    A mistake is found when a finding has its rule and overlaps its range; a finding is right when
    it has the rule of, and overlaps, anything a planted mistake should give."""
    def overlaps(f, rule, sheet, rng):
        return f.rule == rule and f.sheet == sheet and (f.range == rng or _overlap(f.range, rng))

    expected = [e for plant in planted for e in plant]
    hit = sum(any(overlaps(f, *plant[0]) for f in found) for plant in planted)
    right = sum(any(overlaps(f, *e) for e in expected) for f in found)
    return len(planted), hit, len(found), right


def _overlap(x: str, y: str) -> bool:
    from openpyxl.utils.cell import range_boundaries

    if not x or not y:
        return False
    l1, t1, r1, b1 = range_boundaries(x)
    l2, t2, r2, b2 = range_boundaries(y)
    return not (r1 < l2 or r2 < l1 or b1 < t2 or b2 < t1)
