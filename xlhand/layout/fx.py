"""Formula text builders. Each returns a formula body without the leading ``=``.

Only functions in :data:`PORTABLE_FUNCTIONS` may appear: they mean the same in Excel 2010+,
LibreOffice Calc, Google Sheets and the ``formulas`` engine. Array maths inside one cell goes
through SUMPRODUCT, which every engine evaluates as an array (``SUM(EXP(range))`` does not).
"""
from __future__ import annotations

from typing import Iterable, Sequence

PORTABLE_FUNCTIONS = frozenset(
    "SUM SUMPRODUCT SUMSQ MMULT TRANSPOSE EXP LN SQRT TANH COS SIN PI MAX MIN ABS IF AND OR "
    "AVERAGE INDEX MATCH ROUND POWER COUNT COUNTIF ISNUMBER ISBLANK NOT".split()
    # ATAN (one argument, so no order to disagree on; unlike ATAN2, whose argument order differs
    # between spreadsheets and programming languages), FIND(find, within, [start]) and
    # MID(text, start, count) mean the same in Excel 2010+, LibreOffice, Google Sheets and formulas.
    + "ATAN FIND MID".split()
    # The student self-check: ISERROR turns a typed error value into "wrong" in every engine.
    + ["ISERROR"]
)

# Functions XlsxWriter writes as they are (none needs an ``_xlfn.`` prefix): see writer.fast_formulas.
PLAIN_FUNCTIONS = PORTABLE_FUNCTIONS

# Functions that count or aggregate their arguments as given: over a computed array (``COUNT(A1:A3*2)``)
# IronCalc returns 0, so they may take plain ranges and cells only.
RANGE_ONLY_FUNCTIONS = frozenset({"COUNT", "COUNTIF"})


def rule_problems(formula: str) -> list[str]:
    """What in ``formula`` breaks the portable-formula rules, one phrase each (empty when none):

    * a function outside :data:`PORTABLE_FUNCTIONS`;
    * a function applied to a range inside SUMPRODUCT (``SUMPRODUCT(EXP(A1:A3))``): IronCalc, like
      Excel without array entry, intersects the range with the cell's row or column and gives
      #VALUE! or a wrong number. Plain operators on ranges (``(A1:A3-B1)^2``) are fine;
    * COUNT or COUNTIF over anything but plain ranges and cells (IronCalc counts a computed array as 0).
    """
    from openpyxl.formula.tokenizer import Token, Tokenizer

    problems: list[str] = []
    stack: list[tuple[str, bool]] = []  # open functions: (name, has a range argument)
    for token in Tokenizer(formula if formula.startswith("=") else "=" + formula).items:
        if token.type == Token.FUNC and token.subtype == Token.OPEN:
            name = token.value[:-1].upper()
            if name not in PORTABLE_FUNCTIONS:
                problems.append(f"{name} is not a portable function")
            if name not in RANGE_ONLY_FUNCTIONS and any(n in RANGE_ONLY_FUNCTIONS for n, _ in stack[-1:]):
                problems.append(f"{stack[-1][0]} over a computed array ({name})")
            stack.append((name, False))
        elif token.type == Token.FUNC and token.subtype == Token.CLOSE:
            name, had_range = stack.pop()
            if had_range and name != "SUMPRODUCT" and any(n == "SUMPRODUCT" for n, _ in stack):
                problems.append(f"{name} applied to a range inside SUMPRODUCT")
        elif token.type == Token.OPERAND and token.subtype == Token.RANGE and stack:
            if ":" in token.value:
                stack[-1] = (stack[-1][0], True)
        elif token.type == Token.OP_IN and stack and stack[-1][0] in RANGE_ONLY_FUNCTIONS:
            problems.append(f"{stack[-1][0]} over a computed array")
    return problems


def wrap(x: str) -> str:
    """Parenthesise an operand unless it is a plain cell reference or number."""
    plain = x.replace("$", "").replace(".", "").replace("_", "")
    return x if plain.isalnum() else f"({x})"


def dot(row: Sequence[str], col: Sequence[str]) -> str:
    """Dot product written out term by term: ``B3*F1+C3*F2+D3*F3``."""
    if len(row) != len(col):
        raise ValueError(f"dot product of {len(row)} and {len(col)} terms")
    return "+".join(f"{a}*{b}" for a, b in zip(row, col))


def total(cells: Iterable[str]) -> str:
    return "+".join(cells)


def sum_range(rng: str) -> str:
    return f"SUM({rng})"


def sigmoid(x: str) -> str:
    return f"1/(1+EXP(-{wrap(x)}))"


def tanh(x: str) -> str:
    return f"TANH({x})"


def relu(x: str) -> str:
    return f"MAX(0,{x})"


def leaky_relu(x: str, alpha: str) -> str:
    return f"IF({x}>0,{x},{alpha}*{x})"


def step_mask(z: str, d: str) -> str:
    """``d`` where ``z > 0``, else 0: the ReLU derivative applied to an upstream gradient."""
    return f"IF({z}>0,{d},0)"


def exp(x: str) -> str:
    return f"EXP({x})"


def ln(x: str) -> str:
    return f"LN({x})"


def sqrt(x: str) -> str:
    return f"SQRT({x})"


def mul(*factors: str) -> str:
    return "*".join(wrap(f) for f in factors)


def div(a: str, b: str) -> str:
    return f"{wrap(a)}/{wrap(b)}"


def sub(a: str, b: str) -> str:
    return f"{a}-{wrap(b)}"


def add(*terms: str) -> str:
    return "+".join(terms)


def average(rng: str) -> str:
    return f"AVERAGE({rng})"


def sumsq(rng: str) -> str:
    return f"SUMSQ({rng})"


def sumproduct(*ranges: str) -> str:
    return f"SUMPRODUCT({','.join(ranges)})"


def atan(x: str) -> str:
    return f"ATAN({x})"


def find(needle: str, text: str, start: str | None = None) -> str:
    """The position (from 1) of ``needle`` in ``text``, searching from ``start``; case-sensitive."""
    return f"FIND({needle},{text}" + (f",{start})" if start is not None else ")")


def mid(text: str, start: str, count: str) -> str:
    """``count`` characters of ``text`` from position ``start`` (from 1)."""
    return f"MID({text},{start},{count})"
