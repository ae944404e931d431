"""Stage 5, fed back: the student's sheet with every graded cell marked, and a summary sheet."""
from __future__ import annotations

from collections import Counter

from xlhand.engines.compare import as_number
from xlhand.grading.report import FileGrade, _fmt
from xlhand.grading.score import CellGrade
from xlhand.layout import paper, style
from xlhand.layout.sheet import MARGIN_COLS
from xlhand.layout.writer import WorkbookWriter

# status -> (fill, symbol, words). Blue and orange rather than green and red (the pair colour-blind
# students confuse), and a symbol in every graded cell, so a cell's status reads in black and white too.
FEEDBACK = {
    "right": ("#9DC3E6", "✓", "right"),
    "ecf": ("#FFE699", "≈", "carried forward: right for your own earlier cells"),
    "wrong": ("#F4B183", "✗", "wrong"),
    "empty": ("#D9D9D9", "○", "empty"),
}


def feedback_workbook(sub: FileGrade, sheet, manifest) -> bytes:
    """The student's sheet (``sheet``, the layout they were scored on) with each graded cell marked by
    its status (a colour and a symbol), a note on every cell that was not right, a legend, and a
    summary sheet; both print like the worksheets."""
    writer = WorkbookWriter()
    ws = writer.write_sheet(sheet, manifest.sheet, blanks=frozenset(manifest.blanks), define_names=False,
                            blank_legend=False, who=f"{sub.name} · id {sub.student_id}")
    for cell in sub.cells:
        _write_graded(ws, writer, cell)
    _feedback_legend(ws, writer, sheet.note_row)
    _summary_sheet(writer, sub, sheet)
    return writer.to_bytes()


def _status_format(writer, status: str):
    fill, symbol, _ = FEEDBACK[status]
    return writer.fmt({"bg_color": fill, "border": 2, "border_color": "#404040", "align": "center",
                       "num_format": f'"{symbol} "0.0##;"{symbol} "-0.0##;"{symbol} "0'})


def _write_graded(ws, writer, cell: CellGrade) -> None:
    fmt = _status_format(writer, cell.status)
    symbol = FEEDBACK[cell.status][1]
    number = as_number(cell.got)
    if number is not None:
        ws.write_number(cell.row, cell.col, number, fmt)
    elif cell.got is None or (isinstance(cell.got, str) and not cell.got.strip()):
        ws.write_string(cell.row, cell.col, symbol, fmt)
    else:
        ws.write_string(cell.row, cell.col, f"{symbol} {cell.got}", fmt)
    if cell.status == "right":
        return
    note = f"{FEEDBACK[cell.status][2]}. Expected {_show(cell.expected)}"
    if cell.refused:
        note += f"; the formula {cell.refused}, which is not accepted"
    if cell.status == "ecf" and cell.carried is not None:
        note += f"; from your earlier cells {cell.carried:.6g}"
    ws.write_comment(cell.row, cell.col, note, {"author": "xlhand"})


def _feedback_legend(ws, writer, row: int) -> None:
    """One line above the drawing: each status's cell as it looks on the sheet, and what it means."""
    col = MARGIN_COLS
    ws.write_string(row, col, "Your cells:", writer.fmt(style.LABEL))
    col += style.text_columns("Your cells:", bold=True)
    for status, (_, symbol, words) in FEEDBACK.items():
        ws.write_string(row, col, symbol, _status_format(writer, status))
        ws.write_string(row, col + 1, words, writer.fmt(style.NOTE))
        col += 2 + style.text_columns(words)


def _summary_sheet(writer, sub: FileGrade, sheet) -> None:
    summary = writer.workbook.add_worksheet("summary")
    bold, wrap = writer.fmt(style.LABEL), writer.fmt(style.STEP_TEXT)
    rows = [("Student id", sub.student_id), ("Name", sub.name), ("File", sub.file),
            ("Identified by", sub.identified_by), ("Score", f"{_fmt(sub.score)} of {_fmt(sub.max)}"),
            ("Percent", f"{sub.percent:.1f}%")]
    for r, (k, v) in enumerate(rows):
        summary.write_string(r, 0, k, bold)
        summary.write_string(r, 1, str(v))
    r = len(rows) + 1
    for c, heading in enumerate(("Step", "Score", "Cells", "What")):
        summary.write_string(r, c, heading, bold)
    for k in sorted(sub.steps):
        r += 1
        summary.write_number(r, 0, k)
        summary.write_number(r, 1, sub.steps[k][0])
        summary.write_number(r, 2, sub.steps[k][1])
        if 1 <= k <= len(sheet.steps):
            summary.write_string(r, 3, sheet.steps[k - 1], wrap)
    r += 2
    summary.write_string(r, 0, "Your cells", bold)
    for status, (_, symbol, words) in FEEDBACK.items():
        r += 1
        summary.write_string(r, 0, symbol, _status_format(writer, status))
        summary.write_string(r, 1, words)
    r += 2
    summary.write_string(r, 0, "Flags", bold)
    for flag, count in Counter(sub.flags or ["none"]).items():  # a flag raised many times is listed once
        r += 1
        summary.write_string(r, 1, flag + (f" (×{count})" if count > 1 else ""), wrap)
    summary.set_column(0, 0, 12)
    summary.set_column(1, 2, 10)
    summary.set_column(3, 3, 55)
    summary.set_portrait()
    summary.set_paper(paper.PAPERS[writer.paper][0])
    summary.set_print_scale(100)
    header, footer = paper.header_footer(f"{sheet.title}: feedback", f"{sub.name} · id {sub.student_id}")
    summary.set_header(header)
    summary.set_footer(footer)


def _show(value) -> str:
    return f"{value:.6g}" if isinstance(value, (int, float)) else repr(str(value))
