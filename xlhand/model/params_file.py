"""Params files and templates: reading them (YAML 1.2, as a person means it) and writing them.

A params file (and every template) reads::

    exercise: backprop
    dims: {n_in: 2, h1: 3, h2: 2, n_out: 3, batch: 1}
    values:
      X: [[1], [2]]        # a matrix is a list of rows
      b1: [0, 1, -1]       # a column (or row) vector may be a flat list
      lr: 0.1              # a scalar is a number
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from ruamel.yaml import YAML, YAMLError
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.representer import SafeRepresenter

from xlhand.errors import XlhandError
from xlhand.model.givens import Dims, Given

if TYPE_CHECKING:
    from xlhand.model.resolve import Resolved

# The templates/ folder of the repository, installed as the package xlhand.templates (see pyproject.toml).
TEMPLATES = "xlhand.templates"


# --- files ---------------------------------------------------------------------------------
class _Constructor(SafeConstructor):
    """ruamel.yaml's YAML 1.2 reading, where a date stays the words it was written as."""


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", SafeConstructor.construct_yaml_str)


def _yaml() -> YAML:
    """YAML 1.2 as a person means it: ``1e-1`` and ``.5`` are numbers, ``010`` is ten, only true
    and false are booleans, and ``yes``, ``no``, ``on``, ``off`` and dates are words."""
    reader = YAML(typ="safe", pure=True)
    reader.Constructor = _Constructor
    return reader


DOC_KEYS = ("exercise", "dims", "values", "options")


def read_yaml(path, what: str) -> dict:
    """A params file or template (a path or a packaged resource) as a checked mapping."""
    if not path.is_file():
        raise XlhandError(f"{what} {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise XlhandError(f"{what} {path}: not a UTF-8 text file") from None
    try:
        doc = _yaml().load(text)
    except YAMLError as e:
        raise XlhandError(f"{what} {path}: {_yaml_problem(e, text)}") from None
    if not isinstance(doc, dict):
        raise XlhandError(f"{what} {path}: expected a mapping with keys {', '.join(DOC_KEYS)}")
    unknown = set(doc) - set(DOC_KEYS)
    if unknown:
        raise XlhandError(f"{what} {path}: unknown key '{sorted(map(str, unknown))[0]}' (expected {', '.join(DOC_KEYS)})")
    for key in DOC_KEYS[1:]:
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise XlhandError(f"{what} {path}: '{key}' must be a mapping")
    return doc


def _yaml_problem(error: YAMLError, text: str) -> str:
    """What is wrong with a file that is not YAML, in one line: a tab where YAML wants spaces, or
    where and why the parser stopped (a key given twice, a bracket left open)."""
    mark = getattr(error, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = " ".join(str(getattr(error, "problem", "") or "").split())
    lines = text.splitlines()
    where = lines[line - 1] if line is not None and line <= len(lines) else ""
    indent = where[:len(where) - len(where.lstrip())]
    if "\\t" in problem or "\t" in problem or "\t" in indent:
        return (f"line {line} has a tab: YAML indents and separates with spaces, never tabs "
                "(replace each tab with spaces)")
    at = f" (line {line})" if line is not None else ""
    return f"not valid YAML{at}: {problem}" if problem else f"not valid YAML{at}"


@dataclass
class ParamsFile:
    path: Path
    dims: dict
    values: dict
    options: dict = field(default_factory=dict)


def load_params_file(exercise, path, what: str = "params file") -> ParamsFile:
    """Every key optional; an ``exercise`` key, when given, must name this exercise."""
    doc = read_yaml(path, what)
    if doc.get("exercise") is not None and doc["exercise"] != exercise.name:
        raise XlhandError(f"{what} {path}: is for exercise '{doc['exercise']}', not '{exercise.name}'")
    values = doc.get("values") or {}
    known = {g.name for g in exercise.givens}
    for key in values:
        if key in {o.name for o in exercise.options}:
            raise XlhandError(f"{what} {path}: '{key}' is an option of {exercise.name}, not a block: write it "
                              f"under options ('options: {{{key}: {values[key]}}}') or give --opt {key}={values[key]}")
        if key not in known:
            raise XlhandError(f"{what} {path}: unknown block '{key}' (givens: {', '.join(sorted(known))})")
    options = exercise.read_options(doc.get("options") or {}, f"{what} {path}")
    return ParamsFile(path, dict(doc.get("dims") or {}), dict(values), options)


def template_path(exercise):
    """The exercise's template: a file of the installed package (a path in an editable install)."""
    return resources.files(TEMPLATES) / f"{exercise.name}.yaml"


# --- dumping -------------------------------------------------------------------------------
def plain(value):
    """Arrays as nested lists with integral numbers as ints, NumPy scalars as Python's; strings unchanged."""
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)  # a NumPy string (a word drawn from a vocabulary) as a plain one
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    return value


def dump_value(given: Given, value, dims: Dims):
    if given.stack is not None:
        return [plain(np.asarray(m).reshape(-1)) if 1 in np.shape(m) else plain(m) for m in value]
    size = given.size(dims)
    if given.kind == "number" and len(size) == 2 and size[1] == 1:
        return plain(np.asarray(value).reshape(-1))
    return plain(value)


class _Representer(SafeRepresenter):
    """A list of numbers or words on one line (``[1, -2, 0.5]``); a list of lists, one per line."""

    def represent_list(self, data):
        flow = all(not isinstance(x, (list, dict)) for x in data)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Representer.add_representer(list, _Representer.represent_list)


def dump_params(resolved: Resolved) -> str:
    """The params file of ``resolved``: ``build --params`` reads it back to the same numbers."""
    ex = resolved.exercise
    doc = {
        "exercise": ex.name,
        "dims": {k: int(v) for k, v in resolved.dims.items()},
        "values": {g.name: dump_value(g, resolved.params[g.name], resolved.dims) for g in ex.givens},
    }
    if ex.options:
        doc["options"] = {o.name: plain(resolved.options.get(o.name, o.default)) for o in ex.options}
    writer = YAML(typ="safe", pure=True)
    writer.Representer = _Representer
    writer.default_flow_style = False
    writer.sort_base_mapping_type_on_output = False  # keys in the order of the exercise
    writer.allow_unicode = True
    writer.width = 120
    out = io.StringIO()
    writer.dump(doc, out)
    return out.getvalue()
