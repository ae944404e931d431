"""The palette: one colour per role across every exercise, and the legend that explains it.

Colour is never the only cue: every block also carries a label, and the legend names each role.
"""
from __future__ import annotations

from functools import lru_cache

# role -> (fill colour, font colour, what the legend says)
PALETTE = {
    "given": ("#DDEBF7", "#1F3864", "given data (inputs)"),
    "weight": ("#FCE4D6", "#843C0C", "weights"),
    "bias": ("#FFF2CC", "#7F6000", "biases"),
    "target": ("#E4DFEC", "#3F3151", "targets"),
    "computed": ("#E2EFDA", "#375623", "computed (formula)"),
    "output": ("#A9D08E", "#1E3B10", "result / output (formula)"),
    "gradient": ("#F8CBAD", "#833C0B", "gradient (formula)"),
    "blank": ("#FFFFFF", "#000000", "your answer (fill in)"),
}

NUMBER_FORMAT = "0.0##"
INTEGER_FORMAT = "0"
COLOUR_SCALE = {"min_color": "#FFFFFF", "max_color": "#5B9BD5"}  # attention weights: white (0) to blue (max)
# a helper row under a matrix (Σ, max, mean, 1s): grey, its border dashed apart from the matrix's
HELPER = {"bg_color": "#EDEDED", "border": 3, "border_color": "#7F7F7F"}
HELPER_BLANK = {"bg_color": "#F2F2F2", "border": 8, "border_color": "#404040"}  # medium dashed: still to fill in
HELPER_LEGEND = "Σ, max, 1s"
CHECK_RIGHT = {"bg_color": "#63BE7B", "font_color": "#000000"}
CHECK_WRONG = {"bg_color": "#F8696B", "font_color": "#000000"}


def role_format(role: str, number_format: str = NUMBER_FORMAT) -> dict:
    fill, font, _ = PALETTE[role]
    fmt = {
        "bg_color": fill,
        "font_color": font,
        "border": 1,
        "border_color": "#A6A6A6",
        "align": "center",
        "num_format": number_format,
    }
    if role == "blank":
        fmt.update(border=2, border_color="#404040", locked=False)  # medium, solid: the cells to write in
    if role == "output":
        fmt["bold"] = True
    return fmt


TITLE = {"bold": True, "font_size": 14}
SUBTITLE = {"italic": True, "font_color": "#595959"}
LABEL = {"bold": True, "font_color": "#404040"}
STEP_TEXT = {"text_wrap": True, "valign": "top"}
HEADER_TEXT = {"text_wrap": True, "valign": "top"}
NAME_LINE = {"font_color": "#262626"}  # every line of the header wraps within the first page
TITLE_SCALE = 14 / 11 * 1.1  # the title's width against body text: 14 points, bold
LEGEND_NAMES = {"blank": "answer"}  # what a colour of the legend reads, where not its role's name
SIDE_LABEL = {"bold": True, "font_color": "#404040", "align": "right"}
STEP_NUMBER = {"bold": True, "font_color": "#C00000", "valign": "top"}
GLYPH = {"bold": True, "align": "center", "font_color": "#7F7F7F", "font_size": 12}
NOTE = {"italic": True, "font_color": "#595959"}
SOURCE = {"italic": True, "font_color": "#595959", "text_wrap": True, "valign": "top",
          "font_size": 9}  # where to read further
SMALL_SCALE = 9 / 11  # a 9-point line's width against body text


COLUMN_WIDTH = 7.5  # characters, as Excel measures a column
COLUMN_PIXELS = int(COLUMN_WIDTH * 7 + 5)  # Excel's width in pixels of a column that wide (Calibri 11)
CELL_PADDING_PIXELS = 7
BOLD_FACTOR = 1.1  # bold Calibri runs about a tenth wider than regular


@lru_cache(maxsize=4096)
def text_columns(text: str, bold: bool = False, scale: float = 1.0) -> int:
    """How many columns of the sheet's width a text needs so that it is not clipped or run into
    the next cell's text (Excel's character widths, as XlsxWriter's autofit uses them)."""
    from math import ceil

    from xlsxwriter.utility import xl_pixel_width

    if not text:
        return 0
    pixels = xl_pixel_width(text) * (BOLD_FACTOR if bold else 1) * scale + CELL_PADDING_PIXELS
    return max(1, ceil(pixels / COLUMN_PIXELS))


def text_lines(text: str, columns: int, scale: float = 1.0) -> int:
    """How many lines a wrapped text needs in a cell ``columns`` wide (``scale``: its font size
    and weight against the sheet's 11-point regular)."""
    from math import ceil

    from xlsxwriter.utility import xl_pixel_width

    room = columns * COLUMN_PIXELS - CELL_PADDING_PIXELS
    return max(1, ceil(xl_pixel_width(text) * 1.05 * scale / room))


# where two blocks touch (no column or row between them), the edge they share is drawn heavier, so
# that they read as two matrices, not one
FRAME = {"blank": (6, "#404040")}  # between cells to write in (medium lines): a double line
FRAME_DEFAULT = (2, "#404040")  # between filled blocks (thin grey): medium dark


def framed(fmt: dict, role: str, edges: tuple[bool, bool, bool, bool]) -> dict:
    """``fmt`` with the heavier line on the ``edges`` (top, bottom, left, right) where its cell meets
    another block."""
    if not any(edges):
        return fmt
    weight, colour = FRAME.get(role, FRAME_DEFAULT)
    out = dict(fmt)
    for side, on in zip(("top", "bottom", "left", "right"), edges):
        if on:
            out[side], out[f"{side}_color"] = weight, colour
    return out
