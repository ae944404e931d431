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

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from xlhand.errors import XlhandError
from xlhand.model.givens import Dims, Given

if TYPE_CHECKING:
    from xlhand.model.resolve import Resolved

# The templates/ folder of the repository, installed as the package xlhand.templates (see pyproject.toml).
TEMPLATES = "xlhand.templates"


# --- files ---------------------------------------------------------------------------------
class HumanLoader(yaml.SafeLoader):
    """YAML read as a person means it (the YAML 1.2 core schema, not PyYAML's YAML 1.1): ``1e-1``
    is a number, ``yes``, ``no``, ``on``, ``off`` and dates are words, and only true and false
    are booleans."""


_REPLACED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
             "tag:yaml.org,2002:timestamp"}
HumanLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _REPLACED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
HumanLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                  list("tTfF"))
HumanLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
                                  list("-+0123456789"))
HumanLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def _construct_int(loader: HumanLoader, node) -> int:
    text = loader.construct_scalar(node)
    base = {"0o": 8, "0x": 16}.get(text[:2], 10)
    return int(text if base == 10 else text[2:], base)  # 010 is ten, as a person reads it


HumanLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)

DOC_KEYS = ("exercise", "dims", "values", "options")


def read_yaml(path, what: str) -> dict:
    """A params file or template (a path or a packaged resource) as a checked mapping."""
    if not path.is_file():
        raise XlhandError(f"{what} {path}: no such file")
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=HumanLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise XlhandError(f"{what} {path}: not valid YAML{at}") from None
    except UnicodeDecodeError:
        raise XlhandError(f"{what} {path}: not a UTF-8 text file") from None
    if not isinstance(doc, dict):
        raise XlhandError(f"{what} {path}: expected a mapping with keys {', '.join(DOC_KEYS)}")
    unknown = set(doc) - set(DOC_KEYS)
    if unknown:
        raise XlhandError(f"{what} {path}: unknown key '{sorted(map(str, unknown))[0]}' (expected {', '.join(DOC_KEYS)})")
    for key in DOC_KEYS[1:]:
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise XlhandError(f"{what} {path}: '{key}' must be a mapping")
    return doc


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
    """Arrays as nested lists with integral numbers as ints; strings unchanged."""
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def dump_value(given: Given, value, dims: Dims):
    if given.stack is not None:
        return [plain(np.asarray(m).reshape(-1)) if 1 in np.shape(m) else plain(m) for m in value]
    size = given.size(dims)
    if given.kind == "number" and len(size) == 2 and size[1] == 1:
        return plain(np.asarray(value).reshape(-1))
    return plain(value)


class _FlowListDumper(yaml.SafeDumper):
    pass


def _represent_list(dumper, data):
    flow = all(not isinstance(x, (list, dict)) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_FlowListDumper.add_representer(list, _represent_list)


def dump_params(resolved: Resolved) -> str:
    ex = resolved.exercise
    doc = {
        "exercise": ex.name,
        "dims": dict(resolved.dims),
        "values": {g.name: dump_value(g, resolved.params[g.name], resolved.dims) for g in ex.givens},
    }
    if ex.options:
        doc["options"] = {o.name: resolved.options.get(o.name, o.default) for o in ex.options}
    return yaml.dump(doc, Dumper=_FlowListDumper, sort_keys=False, allow_unicode=True, width=120)
