"""A formula as lint sees it: its references (with the function each stands in), the functions it
calls (with their argument counts), and its shape with the references taken out.

Formulas are tokenized by openpyxl's :class:`Tokenizer`. A workbook repeats one formula shape
thousands of times with only the row and column numbers changed (``B20*G14``, ``B21*G14``), so the
tokens of one formula are reused for every formula that differs from it only in its digits: the
text is cut at its digit runs, and each token is cut out of the new text at the same places.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from openpyxl.formula.tokenizer import Token, Tokenizer, TokenizerError

from xlhand.lint.reader import MAX_COL, MAX_ROW, Area, cell_of

PREFIXES = ("_XLFN._XLWS.", "_XLFN.", "_XLWS.")
COMPARISONS = {"=", "<>", "<", ">", "<=", ">="}
BOOLEAN_FUNCTIONS = {"AND", "OR", "NOT", "XOR", "TRUE", "FALSE", "ISNUMBER", "ISBLANK", "ISERROR", "ISERR",
                     "ISNA", "ISTEXT", "ISNONTEXT", "ISLOGICAL", "ISEVEN", "ISODD", "ISREF", "ISFORMULA",
                     "EXACT"}
_CORNER = re.compile(r"(\$?)([A-Za-z]{1,3})(\$?)([0-9]+)")


@dataclass(frozen=True)
class Ref:
    """One reference of a formula: ``area`` on ``sheet`` (None: the formula's own sheet)."""

    text: str
    sheet: str | None
    area: Area | None  # None: not a cell or range (a defined name, #REF!)
    function: str  # the innermost function it is an argument of ("" at the top level)
    external: bool = False
    absolute: tuple[bool, bool, bool, bool] = (False, False, False, False)  # $ on top, left, bottom, right
    compared: bool = False  # an operand of a comparison (=, <>, <, …), not of arithmetic

    @property
    def name(self) -> str | None:
        """The defined name this reference is, if it is one."""
        return self.text if self.area is None and not self.external and self.sheet is None else None


@dataclass(frozen=True)
class Call:
    name: str  # as written, prefixes included, upper case
    args: int

    @property
    def plain(self) -> str:
        """The function name without ``_xlfn.``/``_xlws.``."""
        for prefix in PREFIXES:
            if self.name.startswith(prefix):
                return self.name[len(prefix):]
        return self.name


@dataclass(frozen=True)
class Shape:
    """What formulas that differ only in their cell addresses share: everything but the references."""

    calls: tuple[Call, ...]
    skeleton: str  # the tokens, references replaced by '@': formulas of one shape have one skeleton
    boolean: bool  # its result is TRUE or FALSE (a comparison or a logical function at the top)
    concatenates: bool  # uses the & operator
    spans: tuple  # (type, subtype, start, end) of every token; start/end as (segment, offset)
    ranges: tuple  # (start, end, function) of every reference token

    @cached_property
    def functions(self) -> frozenset[str]:
        """The functions it calls, without prefixes."""
        return frozenset(c.plain for c in self.calls)


@dataclass(frozen=True)
class Parsed:
    text: str
    refs: tuple[Ref, ...]
    shape: Shape | None  # None: the Tokenizer could not read it

    @property
    def readable(self) -> bool:
        return self.shape is not None

    @property
    def calls(self) -> tuple[Call, ...]:
        return self.shape.calls if self.shape else ()

    @property
    def skeleton(self) -> str:
        return self.shape.skeleton if self.shape else "?" + self.text

    @property
    def boolean(self) -> bool:
        return bool(self.shape and self.shape.boolean)

    @property
    def concatenates(self) -> bool:
        return bool(self.shape and self.shape.concatenates)

    @property
    def functions(self) -> frozenset[str]:
        return self.shape.functions if self.shape else frozenset()

    def tokens(self) -> list[tuple[str, str, str]]:
        """(type, subtype, value) of every token."""
        body = _body(self.text)
        starts = _segment_starts(body)
        return [(kind, subtype, body[_position(starts, body, *a):_position(starts, body, *b)])
                for kind, subtype, a, b in self.shape.spans]


# A cell address as far as sharing shapes goes; not one followed by "(" (LOG10( is a function).
_ADDRESS = re.compile(r"\$?[A-Za-z]{1,3}\$?[0-9]+(?![0-9(])")
_SHAPES: dict[str, Shape | None] = {}


def parse(text: str) -> Parsed:
    """``text`` with or without its leading ``=``."""
    body = _body(text)
    key = _ADDRESS.sub("\x00", body)
    if key not in _SHAPES:
        if len(_SHAPES) > 100_000:
            _SHAPES.clear()
        _SHAPES[key] = _learn(body)
    shape = _SHAPES[key]
    if shape is None:
        return Parsed(text, (), None)
    starts = _segment_starts(body)
    refs = tuple(reference(body[_position(starts, body, *a):_position(starts, body, *b)], function, compared)
                 for a, b, function, compared in shape.ranges)
    return Parsed(text, refs, shape)


def _body(text: str) -> str:
    return text[1:] if text.startswith("=") else text


def _learn(body: str) -> Shape | None:
    """The shape of ``body``, read from the Tokenizer's tokens; None when it cannot be read (or a
    token boundary falls inside a cell address, so the shape cannot be shared)."""
    try:
        tokens = tuple((t.type, t.subtype, t.value) for t in Tokenizer("=" + body).items)
    except TokenizerError:
        return None
    spans = _locate(body, tokens)
    if spans is None:
        return None
    calls, skeleton, boolean, concatenates, functions = _read_tokens(tokens)
    ranges = tuple((a, b, functions[k], _compared(tokens, k)) for k, (kind, subtype, a, b) in enumerate(spans)
                   if kind == Token.OPERAND and subtype == Token.RANGE)
    return Shape(calls, skeleton, boolean, concatenates, spans, ranges)


def _compared(tokens, k: int) -> bool:
    """Whether token ``k`` stands next to a comparison operator."""
    near = [t for t in (tokens[k - 1] if k else None, tokens[k + 1] if k + 1 < len(tokens) else None) if t]
    return any(t[0] == Token.OP_IN and t[2] in COMPARISONS for t in near)


def _segment_starts(body: str) -> list[int]:
    """Start of every segment: text, address, text, address, … (a text segment may be empty)."""
    starts = [0]
    for m in _ADDRESS.finditer(body):
        starts += [m.start(), m.end()]
    return starts


def _segment_of(starts: list[int], body: str, position: int) -> tuple[int, int]:
    import bisect

    seg = bisect.bisect_right(starts, position) - 1
    offset = position - starts[seg]
    if seg % 2 == 1:  # an address: a token may only start or end at its edges
        end = starts[seg + 1] if seg + 1 < len(starts) else len(body)
        if offset not in (0, end - starts[seg]):
            raise ValueError("a token boundary inside an address")
        offset = 0 if offset == 0 else -1
    return seg, offset


def _position(starts: list[int], body: str, seg: int, offset: int) -> int:
    if offset == -1:
        return starts[seg + 1] if seg + 1 < len(starts) else len(body)
    return starts[seg] + offset


def _locate(body: str, tokens) -> tuple | None:
    starts = _segment_starts(body)
    cursor, out = 0, []
    try:
        for kind, subtype, value in tokens:
            begin = body.index(value, cursor) if value else cursor
            end = begin + len(value)
            out.append((kind, subtype, _segment_of(starts, body, begin), _segment_of(starts, body, end)))
            cursor = end
    except ValueError:
        return None
    return tuple(out)


def _read_tokens(tokens):
    """(calls, skeleton, boolean, concatenates, the function each token is an argument of)."""
    calls, skeleton, functions = [], [], []
    stack: list[list] = []  # open calls: [name, args, has content]
    depth0_compare = concatenates = False
    for kind, subtype, value in tokens:
        if kind == Token.FUNC and subtype == Token.OPEN:
            stack.append([value[:-1].lstrip("@").upper(), 0, False])
        elif kind == Token.FUNC and subtype == Token.CLOSE:
            if stack:
                name, args, content = stack.pop()
                calls.append(Call(name, args + (1 if content else 0)))
        elif kind == Token.SEP and subtype == Token.ARG and stack:
            stack[-1][1] += 1
            stack[-1][2] = False
        elif stack and kind != Token.WSPACE:
            stack[-1][2] = True
        functions.append(_plain_name(stack[-1][0]) if stack else "")
        skeleton.append("@" if kind == Token.OPERAND and subtype == Token.RANGE else value)
        if kind == Token.OP_IN:
            concatenates |= value == "&"
            depth0_compare |= value in COMPARISONS and not stack
    return tuple(calls), "\x1f".join(skeleton), depth0_compare or _boolean_call(tokens), concatenates, functions


def _boolean_call(tokens) -> bool:
    """The whole formula is one call of a logical function (``=AND(…)``), or TRUE/FALSE."""
    if len(tokens) == 1 and tokens[0][2].upper() in ("TRUE", "FALSE"):
        return True
    if not tokens or tokens[0][0] != Token.FUNC or tokens[-1][0] != Token.FUNC:
        return False
    depth = 0
    for k, (kind, subtype, _) in enumerate(tokens):
        if kind in (Token.FUNC, Token.PAREN):
            depth += 1 if subtype == Token.OPEN else -1
            if depth == 0 and k != len(tokens) - 1:
                return False
    return _plain_name(tokens[0][2][:-1].lstrip("@").upper()) in BOOLEAN_FUNCTIONS


def _plain_name(name: str) -> str:
    for prefix in PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


@lru_cache(maxsize=200_000)
def reference(token: str, function: str = "", compared: bool = False) -> Ref:
    """A reference token as written in a formula: ``B2``, ``$B$2:D4``, ``'My sheet'!A:A``,
    ``[1]Sheet1!A1``, ``'C:\\x\\[b.xlsx]S'!A1``, or a defined name."""
    text = token.lstrip("@")
    sheet, ref = split_sheet(text)
    external = text.startswith("[") or (sheet is not None and "[" in sheet)
    m = _RANGE.fullmatch(ref)
    if m and m[5] is None:
        row, col = int(m[4]), column_number(m[2])
        area, absolute = Area(row, col, row, col), (bool(m[3]), bool(m[1]), bool(m[3]), bool(m[1]))
    elif m:
        r1, c1, r2, c2 = int(m[4]), column_number(m[2]), int(m[8]), column_number(m[6])
        area = Area(min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2))
        absolute = (bool(m[3]), bool(m[1]), bool(m[7]), bool(m[5]))
    else:
        area, absolute = _area(ref.split(":"))
    if area is not None and (area.bottom > MAX_ROW or area.right > MAX_COL or area.top < 1):
        area = None
    return Ref(text, sheet, area, function, external, absolute, compared)


_RANGE = re.compile(r"(\$?)([A-Za-z]{1,3})(\$?)([0-9]{1,7})(?::(\$?)([A-Za-z]{1,3})(\$?)([0-9]{1,7}))?")


def address(text: str) -> tuple[int, int] | None:
    """(row, col), 1-based, of a cell address such as ``B7``; None if it is not one."""
    m = _RANGE.fullmatch(text)
    if m is None or m[5] is not None:
        return None
    row, col = int(m[4]), column_number(m[2])
    return (row, col) if 1 <= row <= MAX_ROW and col <= MAX_COL else None


@lru_cache(maxsize=20_000)
def column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def split_sheet(text: str) -> tuple[str | None, str]:
    """(sheet or None, the rest) of ``Sheet!A1`` / ``'It''s'!A1`` / ``A1``."""
    if text.startswith("'"):
        end = text.find("'!")
        while end != -1 and text[1:end].replace("''", "").count("'"):
            end = text.find("'!", end + 1)
        if end != -1:
            return text[1:end].replace("''", "'"), text[end + 2:]
    if "!" in text:
        sheet, _, rest = text.rpartition("!")
        return sheet, rest
    return None, text


def _area(corners: list[str]) -> tuple[Area | None, tuple[bool, bool, bool, bool]]:
    none = (False, False, False, False)
    if not 1 <= len(corners) <= 2:
        return None, none
    ends = []
    for corner in corners:
        m = _CORNER.fullmatch(corner)
        if m:
            ends.append((cell_of(corner), bool(m[3]), bool(m[1])))
        elif re.fullmatch(r"\$?[A-Za-z]{1,3}", corner) and len(corners) == 2:
            col = cell_of(corner.replace("$", "") + "1")
            ends.append(((1 if not ends else MAX_ROW, col[1]), False, "$" in corner) if col else (None, 0, 0))
        elif re.fullmatch(r"\$?[0-9]+", corner) and len(corners) == 2:
            row = int(corner.lstrip("$"))
            ends.append(((row, 1 if not ends else MAX_COL), "$" in corner, False))
        else:
            return None, none
        if ends[-1][0] is None:
            return None, none
    (r1, c1), (r2, c2) = ends[0][0], ends[-1][0]
    absolute = (ends[0][1], ends[0][2], ends[-1][1], ends[-1][2])
    return Area(min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)), absolute
