"""What an exercise module declares, and what the core does with it.

An exercise module defines ``EXERCISE = Exercise(...)`` with its dims, presets, givens, a
``reference(dims, params)`` in plain NumPy (the oracle) and a ``layout(sheet, dims, params,
options)`` that places numbered steps of blocks. The core turns those into a workbook and
checks one against the other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import XlhandError
from .params import MAX_DIM, Dims, Given, Params, Resolved
from .sheet import Sheet


@dataclass
class Exercise:
    name: str
    title: str
    dims: dict[str, str]  # dim name -> what it counts
    presets: dict[str, dict[str, int]]
    givens: list[Given]
    reference: Callable[..., dict]
    layout: Callable[..., None]
    options: dict[str, object] = field(default_factory=dict)  # option -> default
    limits: dict[str, tuple[int, int]] = field(default_factory=dict)  # dim -> (least, most) it allows
    checks: Callable[[Dims, Params], str | None] | None = None
    accept: Callable[[Dims, Params], bool] | None = None

    def given(self, name: str) -> Given:
        return next(g for g in self.givens if g.name == name)

    def limit(self, dim: str) -> tuple[int, int]:
        return self.limits.get(dim, (1, MAX_DIM))

    def check_options(self, options: dict) -> dict:
        for key in options:
            if key not in self.options:
                known = ", ".join(self.options) or "none"
                raise XlhandError(f"{self.name}: unknown option '{key}' (options: {known})")
        return {**self.options, **options}

    def validate(self, dims: Dims, params: Params, origin: str) -> None:
        """Checks that span several givens (a word missing from a vocabulary, …)."""
        if self.checks is not None:
            problem = self.checks(dims, params)
            if problem:
                raise XlhandError(f"{origin}: {problem}")

    def run_reference(self, resolved: Resolved) -> dict[str, np.ndarray]:
        return self.reference(resolved.dims, resolved.params, **_option_kwargs(self, resolved))

    def build_sheet(self, resolved: Resolved, subtitle: str = "") -> Sheet:
        sheet = Sheet(title=f"{self.name}: {self.title}", subtitle=subtitle,
                      params=resolved.params, specs={g.name: g for g in self.givens}, dims=resolved.dims)
        self.layout(sheet, resolved.dims, resolved.params, **_option_kwargs(self, resolved))
        sheet.finish()
        return sheet


def _option_kwargs(exercise: Exercise, resolved: Resolved) -> dict:
    return {key: resolved.options.get(key, default) for key, default in exercise.options.items()}


def expected_values(exercise: Exercise, resolved: Resolved, sheet: Sheet) -> dict[str, object]:
    """Every named block's expected content: givens, the reference, and the core's own
    NumPy for helper blocks (a transpose, a softmax's exponentials) that the reference omits."""
    values: dict[str, object] = {}
    for given in exercise.givens:
        value = resolved.params[given.name]
        values[given.name] = value
        if given.stack is not None:
            values.update({f"{given.name}_{k}": m for k, m in zip(given.items(resolved.dims), value)})
        elif given.kind == "number" and len(given.size(resolved.dims)) == 3:
            for k, matrix in enumerate(value, start=1):
                values[f"{given.name}_{k}"] = matrix
    values.update(exercise.run_reference(resolved))
    for block in sheet.blocks.values():
        if block.name in values:
            continue
        if block.values is not None:
            values[block.name] = block.values
        elif block.expect is not None:
            values[block.name] = block.expect(values)
        elif block.text is not None:
            values[block.name] = block.text
        else:
            raise KeyError(f"{exercise.name}: computed block {block.name} has no reference value")
    return values
