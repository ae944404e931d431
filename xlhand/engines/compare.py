"""Comparing what an engine computed with what the NumPy reference expects, cell by cell."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RTOL = 1e-9
ATOL = 1e-9


@dataclass
class Mismatch:
    block: str
    cell: str
    expected: object
    got: object


def as_grid(value) -> list[list[object]]:
    """An expected block value as rows of cells: numbers as floats, texts as strings."""
    if isinstance(value, str):
        return [[value]]
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [list(value)]
    if isinstance(value, list) and value and isinstance(value[0], list) and any(
            isinstance(x, str) for row in value for x in row):
        return [list(row) for row in value]
    return np.atleast_2d(np.asarray(value, dtype=float)).tolist()


def as_number(value) -> float | None:
    """A cell value as a finite float; None for anything else (text, an error, a bool, empty, NaN, ±inf).
    The one reading of "is this cell a number" shared by verification, ``check`` and grading."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def equal(want, have, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Text equal to the letter; numbers as numpy.isclose has it: |have − want| ≤ atol + rtol·|want|."""
    if isinstance(want, str):
        return isinstance(have, str) and have == want
    number = as_number(have)
    return number is not None and abs(number - want) <= atol + rtol * abs(want)


def compare_grid(name: str, expected, got: list[list[object]], addresses: list[list[str]]) -> list[Mismatch]:
    """Every cell of ``got`` (laid out like ``addresses``) against the expected block value."""
    want = as_grid(expected)
    shape = (len(want), len(want[0]))
    if shape != (len(addresses), len(addresses[0])):
        return [Mismatch(name, addresses[0][0], f"shape {shape}", f"shape {(len(addresses), len(addresses[0]))}")]
    return [Mismatch(name, addresses[i][j], want[i][j], got[i][j])
            for i in range(shape[0]) for j in range(shape[1]) if not equal(want[i][j], got[i][j])]


def show(value) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)
