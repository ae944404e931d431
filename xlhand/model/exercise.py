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

from xlhand.errors import XlhandError
from xlhand.model.givens import MAX_DIM, Dims, Given, Params
from xlhand.model.resolve import Resolved
from xlhand.layout.sheet import Sheet


@dataclass(frozen=True)
class Source:
    """Where an exercise comes from, so a student can read further: the paper, and the by-hand
    walkthrough the exercise follows."""

    paper: str
    walkthrough: str

    def line(self) -> str:
        """One line for the sheet: the paper, then the walkthrough."""
        return f"Read further: {self.paper} · walkthrough: {self.walkthrough}"


@dataclass(frozen=True)
class Option:
    """An exercise option: its name, default and allowed values (a bool option takes true or
    false), passed to ``reference`` and ``layout`` as a keyword argument of the same name; or, for
    a sheet option (``sheet=True``), a setting of the shared steps that they read from the sheet
    (``s.settings``), such as :data:`STABLE_SOFTMAX`."""

    name: str
    default: object
    choices: tuple = ()
    describe: str = ""
    sheet: bool = False

    @property
    def allowed(self) -> tuple:
        return (False, True) if isinstance(self.default, bool) else self.choices

    def allowed_words(self) -> str:
        return ", ".join(_word(v) for v in self.allowed)

    def check(self, value, where: str):
        """``value`` (from a params file, metadata, or the text of ``--opt NAME=VALUE``) as the
        option's type, or a one-line error naming the option and the values it allows."""
        if isinstance(value, str):
            typed = value.strip().lower() if isinstance(self.default, bool) else value.strip()
            value = next((v for v in self.allowed if _word(v) == typed), value)
        if any(value == v and type(value) is type(v) for v in self.allowed):
            return value
        raise XlhandError(f"{where}: option '{self.name}' must be one of {self.allowed_words()}, found {value!r}")


STABLE_SOFTMAX = Option(
    "stable", False, sheet=True,
    describe="softmax subtracts each column's max first, as a step of its own (for scores whose e^x is beyond 1e6)")


def _word(value) -> str:
    """An allowed value as it is typed: true/false for booleans, digits for numbers."""
    return str(value).lower() if isinstance(value, bool) else str(value)


LARGE_PRINT_SCALE = 0.7  # a large sheet prints at 70 % or more
LECTURE_PRINT_SCALE = 0.25  # a lecture sheet shrinks to keep whole blocks, down to a quarter


@dataclass
class Exercise:
    name: str
    title: str
    dims: dict[str, str]  # dim name -> what it counts
    presets: dict[str, dict[str, int]]
    givens: list[Given]
    reference: Callable[..., dict]
    layout: Callable[..., None]
    options: list[Option] = field(default_factory=list)
    limits: dict[str, tuple[int, int]] = field(default_factory=dict)  # dim -> (least, most) it allows
    checks: Callable[[Dims, Params], str | None] | None = None
    accept: Callable[[Dims, Params], bool] | None = None
    source: Source | None = None  # the paper and the by-hand walkthrough
    unused_dims: Callable[[Dims], set[str]] | None = None  # dims these sizes leave unused: not in the subtitle

    def given(self, name: str) -> Given:
        return next(g for g in self.givens if g.name == name)

    def limit(self, dim: str) -> tuple[int, int]:
        return self.limits.get(dim, (1, MAX_DIM))

    def option(self, name: str, where: str = "options") -> Option:
        for option in self.options:
            if option.name == name:
                return option
        known = ", ".join(o.name for o in self.options) or "none"
        raise XlhandError(f"{where}: {self.name} has no option '{name}' (options: {known})")

    def read_options(self, options: dict, where: str = "options") -> dict:
        """The options given, each name and value checked (defaults not filled in)."""
        return {name: self.option(name, where).check(value, where) for name, value in options.items()}

    def check_options(self, options: dict, where: str = "options") -> dict:
        """Every option's value: the defaults, overridden by ``options`` (checked)."""
        return {**{o.name: o.default for o in self.options}, **self.read_options(options, where)}

    def option_kwargs(self, options: dict) -> dict:
        """Every option's value (its default where ``options`` does not give it), as keyword arguments
        (sheet options are not: the shared steps read them from the sheet)."""
        return {o.name: options.get(o.name, o.default) for o in self.options if not o.sheet}

    def sheet_settings(self, options: dict) -> dict:
        """The value of every sheet option (its default where ``options`` does not give it)."""
        return {o.name: options.get(o.name, o.default) for o in self.options if o.sheet}

    def instructive(self, dims: Dims, params: Params, options: dict | None = None) -> bool:
        """The exercise's ``accept`` test of fresh numbers (True when it has none)."""
        return self.accept is None or bool(self.accept(dims, params, **self.option_kwargs(options or {})))

    def accept_words(self) -> str:
        """What the ``accept`` test asks of fresh numbers, in the words of its docstring."""
        doc = (self.accept.__doc__ or "") if self.accept is not None else ""
        return " ".join(doc.split()).rstrip(".") or "its accept test"

    def problem(self, dims: Dims, params: Params) -> str | None:
        """What the checks that span several givens find wrong (a word missing from a vocabulary, …)."""
        return self.checks(dims, params) if self.checks is not None else None

    def validate(self, dims: Dims, params: Params, origin: str) -> None:
        problem = self.problem(dims, params)
        if problem:
            raise XlhandError(f"{origin}: {problem}")

    def run_reference(self, resolved: Resolved) -> dict[str, np.ndarray]:
        return self.reference(resolved.dims, resolved.params, **self.option_kwargs(resolved.options))

    def build_sheet(self, resolved: Resolved, subtitle: str = "") -> Sheet:
        sheet = Sheet(title=self.title, exercise=self.name, subtitle=subtitle,
                      source=self.source.line() if self.source is not None else "",
                      params=resolved.params, specs={g.name: g for g in self.givens}, dims=resolved.dims,
                      settings=self.sheet_settings(resolved.options))
        self.layout(sheet, resolved.dims, resolved.params, **self.option_kwargs(resolved.options))
        sheet.min_scale = self.print_scale_floor(resolved.dims)
        sheet.finish()
        return sheet

    def print_scale_floor(self, dims) -> float:
        """How far a sheet of ``dims`` may shrink on paper: not at all up to the medium preset (a
        handout at full size), to 70 % up to the large one, and beyond it as far as whole blocks
        need (a lecture size; ``render --sample`` prints an excerpt at full size instead)."""
        def within(size: str) -> bool:
            preset = self.presets.get(size)
            return preset is not None and all(dims[k] <= v for k, v in preset.items() if k in dims)

        if within("small") or within("medium"):
            return 1.0
        return LARGE_PRINT_SCALE if within("large") else LECTURE_PRINT_SCALE


def expected_values(exercise: Exercise, resolved: Resolved, sheet: Sheet) -> dict[str, object]:
    """Every named block's expected content: givens, the reference, and the core's own
    NumPy for helper blocks (a transpose, a softmax's exponentials) that the reference omits."""
    values: dict[str, object] = {}
    for given in exercise.givens:
        value = resolved.params[given.name]
        values[given.name] = value
        placed = sheet.blocks.get(given.name)
        if given.kind == "texts" and placed is not None and placed.cols == 1 < placed.rows:
            values[given.name] = [[text] for text in value]  # placed down a column (Sheet.given, down)
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
