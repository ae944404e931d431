"""Dims, presets and givens: load, check, generate and dump an exercise's numbers.

A params file (and every template) reads::

    exercise: backprop
    dims: {n_in: 2, h1: 3, h2: 2, n_out: 3, batch: 1}
    values:
      X: [[1], [2]]        # a matrix is a list of rows
      b1: [0, 1, -1]       # a column (or row) vector may be a flat list
      lr: 0.1              # a scalar is a number

Where a value comes from, in order: the params file; the template, if its shape fits the dims and
no ``--seed`` was given; otherwise fresh hand-friendly numbers from the seed (default 0).
"""
from __future__ import annotations

import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import numpy as np
import yaml

from xlhand.errors import XlhandError

# The templates/ folder of the repository, installed as the package xlhand.templates (see pyproject.toml).
TEMPLATES = "xlhand.templates"
MAX_DIM = 64
GENERATION_DRAWS = 20


class AttrDict(dict):
    """A dict whose keys read as attributes: ``dims.n_in``, ``params.W1``."""

    def __getattr__(self, key: str):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


Dims = AttrDict
Params = AttrDict
Maker = Callable[[np.random.Generator, tuple, Dims], Any]


@dataclass(frozen=True)
class Given:
    """One given of an exercise: its name (the params key), shape in dims, role and how to make it.

    ``shape`` entries are dim names, integers, or functions of the dims. ``()`` is a scalar,
    two entries a matrix, three a stack of matrices (one sheet block per first index, named
    ``NAME_1``, ``NAME_2`` …). ``kind`` is ``number``, ``text`` (one string), ``texts`` (a list of
    strings of length ``shape[0]``) or ``choice`` (one of ``choices``).

    ``stack`` makes a *ragged stack* (drills whose items grow): a function of the dims giving
    ``{item number: (rows, cols)}``, numbered from 1, possibly skipping numbers (a given only some
    items have). The value is a list of matrices in item order; the sheet has one block ``NAME_k``
    per item k (``shape`` is then unused). ``derive(rng, size, dims, params)`` makes a given from
    the givens listed before it (the given result of an inverse drill); for a stack, ``size`` is
    the stack's dict. ``check(value, dims)`` is a further test of one value against the dims that
    its shape cannot say (each sentence has ``L`` words): it returns a one-line problem or None, and
    a template value that fails it is not used (fresh numbers are made instead).

    Fresh numbers (without ``make``) are drawn from ``low``, ``low + step``, … ``high`` (leaving out 0
    when ``nonzero``: a weight of 0 cuts a path a gradient should take). ``row_sum``
    (a number or a function of the dims) then keeps them in scale whatever the width: random
    entries of each row are set to 0 until the row's absolute sum is at most ``row_sum``, so
    ``|W·u| <= row_sum · max|u|`` (a weight row of 64 entries is as readable as one of 3).
    """

    name: str
    shape: tuple = ()
    role: str = "given"
    kind: str = "number"
    low: float = -3
    high: float = 3
    choices: tuple[str, ...] = ()
    make: Maker | None = None
    describe: str = ""
    stack: Callable[[Dims], dict[int, tuple[int, int]]] | None = None
    derive: Callable[[np.random.Generator, Any, Dims, dict], Any] | None = None
    check: Callable[[Any, Dims], str | None] | None = None
    step: float = 1
    nonzero: bool = False
    row_sum: float | Callable[[Dims], float] | None = None

    def grid(self) -> np.ndarray:
        """The numbers fresh values are drawn from: ``low``, ``low + step``, … ``high`` (without 0 if ``nonzero``)."""
        grid = self.low + self.step * np.arange(round((self.high - self.low) / self.step) + 1)
        return grid[grid != 0] if self.nonzero else grid

    def size(self, dims: Dims) -> tuple[int, ...]:
        return tuple(_dim_value(s, dims) for s in self.shape)

    def items(self, dims: Dims) -> dict[int, tuple[int, int]]:
        """A ragged stack's item numbers and shapes (empty for any other given)."""
        return {int(k): (int(r), int(c)) for k, (r, c) in self.stack(dims).items()} if self.stack else {}

    def shape_words(self) -> str:
        """The shape in dim names; a function of the dims shows its name unless private (``_…``)."""
        def word(s):
            if callable(s):
                name = getattr(s, "__name__", "")
                return None if not name or name[0] in "_<" else name
            return s if isinstance(s, str) else str(s)

        return " x ".join(w for w in map(word, self.shape) if w is not None)

    def generate(self, rng: np.random.Generator, dims: Dims, params: dict | None = None):
        size = self.items(dims) if self.stack is not None else self.size(dims)
        if self.derive is not None:
            value = self.derive(rng, size, dims, params if params is not None else {})
        elif self.stack is not None and self.make is None:
            value = [rng.integers(int(self.low), int(self.high) + 1, size=shape).astype(float)
                     for shape in size.values()]
        elif self.make is not None:
            value = self.make(rng, size, dims)
        elif self.kind == "choice":
            value = self.choices[0]
        elif self.kind != "number":
            raise XlhandError(f"no numbers can be made for '{self.name}': give it in a params file")
        else:
            value = rng.choice(self.grid(), size=size)
            if self.row_sum is not None:
                most = self.row_sum(dims) if callable(self.row_sum) else self.row_sum
                value = bounded_rows(rng, value, most)
        return normalize_value(self, value, dims, "generated")


def _dim_value(entry, dims: Dims) -> int:
    if callable(entry):
        return int(entry(dims))
    if isinstance(entry, str):
        return int(dims[entry])
    return int(entry)


def bounded_rows(rng: np.random.Generator, matrix: np.ndarray, most: float) -> np.ndarray:
    """``matrix`` with entries of each row (last axis) set to 0 in a random order until the row's
    absolute sum is at most ``most``."""
    out = np.array(matrix, dtype=float)
    rows = out.reshape(-1, out.shape[-1])
    order = np.argsort(rng.random(rows.shape), axis=1)
    sizes = np.take_along_axis(np.abs(rows), order, axis=1)
    before = np.abs(rows).sum(axis=1, keepdims=True) - np.cumsum(sizes, axis=1) + sizes
    kept = np.where(before > most, 0.0, np.take_along_axis(rows, order, axis=1))
    np.put_along_axis(rows, order, kept, axis=1)
    return out


def fixed(value) -> Maker:
    """A maker that always gives ``value`` (a learning rate, a default state)."""
    def make(rng: np.random.Generator, size: tuple, dims: Dims):
        return value

    make.__doc__ = f"Always {value}."
    return make


def _minus(x: float) -> str:
    return f"{x:g}".replace("-", "−")


def both_signs(low: int, high: int) -> Maker:
    """Whole numbers in ``low``..``high``, at least one positive and one negative (given two or more)."""
    def make(rng: np.random.Generator, size: tuple, dims: Dims) -> np.ndarray:
        value = rng.integers(low, high + 1, size=size).astype(float)
        flat = value.reshape(-1)
        if flat.size >= 2:
            plus, minus = rng.choice(flat.size, size=2, replace=False)
            flat[plus], flat[minus] = rng.integers(1, high + 1), -rng.integers(1, 1 - low)
        return value

    make.__doc__ = f"Whole numbers {_minus(low)}…{_minus(high)}, at least one positive and one negative."
    return make


def relu_bias(layer: int) -> Callable:
    """A ``derive`` for the bias ``b<layer>`` of a ReLU network X → (W1, b1) → (W2, b2) → …: each
    unit's pre-activation, averaged over the columns, lands on a whole number in −1…2 with units
    of both signs, so the ReLU both passes and shuts something whatever the layer's width (a single
    unit lands on 1: it passes, so gradients reach the layers before it)."""
    def derive(rng: np.random.Generator, size: tuple, dims: Dims, params: dict) -> np.ndarray:
        a = params["X"]
        for k in range(1, layer):
            a = np.maximum(params[f"W{k}"] @ a + params[f"b{k}"], 0.0)
        z = params[f"W{layer}"] @ a
        centres = both_signs(-1, 2)(rng, size, dims) if size[0] > 1 else np.ones(size)
        return centres - np.round(z.mean(axis=1, keepdims=True))

    derive.__doc__ = (f"Chosen after W{layer}: each unit's pre-activation, averaged over the columns, on a whole "
                      f"number in −1…2, units of both signs (the ReLU both passes and shuts).")
    return derive


def sparse_signs(most: int) -> Maker:
    """Rows (the last axis) of 0s with 1 to ``most`` entries ±1 at random places: no row of zeros,
    and ``|w·u| <= most · max|u|`` whatever the width."""
    def make(rng: np.random.Generator, size: tuple, dims: Dims) -> np.ndarray:
        out = np.zeros(size)
        for row in out.reshape(-1, size[-1]):
            k = int(rng.integers(1, min(most, row.size) + 1))
            row[rng.choice(row.size, size=k, replace=False)] = rng.choice([-1.0, 1.0], size=k)
        return out

    make.__doc__ = f"Rows of 0s with 1 to {most} entries ±1 at random places."
    return make


def spread_columns(low: int, high: int, least: float = 0.2) -> Maker:
    """Whole numbers in ``low``..``high`` whose columns (of each matrix) each vary, with a variance
    of at least ``least``: a LayerNorm over them has something to normalise. A column that does
    not is drawn again."""
    def make(rng: np.random.Generator, size: tuple, dims: Dims) -> np.ndarray:
        out = rng.integers(low, high + 1, size=size).astype(float)
        if size[-2] < 2:
            return out
        for matrix in out.reshape(-1, *size[-2:]):
            for j in range(size[-1]):
                while matrix[:, j].var() < least:
                    matrix[:, j] = rng.integers(low, high + 1, size=size[-2])
        return out

    make.__doc__ = f"Whole numbers {_minus(low)}…{_minus(high)}, every column varying (variance at least {least:g})."
    return make


def winner_scores(rng: np.random.Generator, size: tuple, dims: Dims) -> np.ndarray:
    """Distinct scores with one clear winner, in random order: the others are distinct halves from
    2 downwards (−2 and below only when there are more than 9), the winner 0.5, 1 or 1.5 above
    them all. Whatever their number, their softmax's largest probability is then between 0.39
    and 0.82: never flat, never one-hot, and the greedy choice is unique."""
    n = int(np.prod(size))
    grid = 2 - 0.5 * np.arange(max(9, n - 1))
    others = rng.choice(grid, size=n - 1, replace=False)
    winner = (others.max() if n > 1 else 0) + rng.choice([0.5, 1.0, 1.5])
    return rng.permutation(np.append(others, winner)).reshape(size)


def one_hot_columns(rng: np.random.Generator, size: tuple, dims: Dims) -> np.ndarray:
    """Targets: each column one-hot at a random class."""
    rows, cols = size
    y = np.zeros(size)
    y[rng.integers(0, rows, size=cols), np.arange(cols)] = 1.0
    return y


# --- checking values -----------------------------------------------------------------------
def normalize_value(given: Given, value, dims: Dims, where: str):
    """Check ``value`` against the given's kind and shape, then against the given's own ``check``;
    return it as float arrays / strings."""
    value = _normalize_kind(given, value, dims, where)
    if given.check is not None:
        problem = given.check(value, dims)
        if problem:
            raise XlhandError(f"{where}: block '{given.name}': {problem}")
    return value


def _normalize_kind(given: Given, value, dims: Dims, where: str):
    key = f"{where}: block '{given.name}'"
    if given.kind == "choice":
        if not isinstance(value, str) or value not in given.choices:
            raise XlhandError(f"{key}: expected one of {', '.join(given.choices)}, found {value!r}")
        return value
    if given.kind == "text":
        if not isinstance(value, str):
            raise XlhandError(f"{key}: expected text, found {value!r}")
        return value
    if given.stack is not None:
        return _normalize_stack(given, value, dims, key)
    size = given.size(dims)
    if given.kind == "texts":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise XlhandError(f"{key}: expected a list of texts, found {value!r}")
        if size and len(value) != size[0]:
            raise XlhandError(f"{key}: expected {size[0]} texts ({given.shape_words()}), found {len(value)}")
        return list(value)
    array = _numeric_array(value, key)
    if not size:
        if array.size != 1 or array.ndim > 1 and array.shape != (1, 1):
            raise XlhandError(f"{key}: expected a number, found shape {_shape_text(array.shape)}")
        return float(array.reshape(-1)[0])
    if len(size) == 2 and array.ndim == 1 and 1 in size and array.size == size[0] * size[1]:
        array = array.reshape(size)  # a flat list for a column or row vector
    if array.shape != size:
        raise XlhandError(
            f"{key}: expected shape {_shape_text(size)} ({given.shape_words()}), "
            f"found {_shape_text(array.shape)}"
        )
    return array


def _normalize_stack(given: Given, value, dims: Dims, key: str) -> list[np.ndarray]:
    """A ragged stack: a list with one matrix per item, each of its own shape."""
    items = given.items(dims)
    if not isinstance(value, (list, tuple)):
        raise XlhandError(f"{key}: expected a list of {len(items)} matrices (one per item), found {value!r}")
    if len(value) != len(items):
        raise XlhandError(f"{key}: expected {len(items)} matrices (items {', '.join(map(str, items))}), "
                          f"found {len(value)}")
    out = []
    for (k, size), item in zip(items.items(), value):
        array = _numeric_array(item, f"{key} item {k}")
        if array.ndim == 1 and 1 in size and array.size == size[0] * size[1]:
            array = array.reshape(size)
        elif array.ndim == 0 and size == (1, 1):
            array = array.reshape(size)
        if array.shape != size:
            raise XlhandError(f"{key} item {k}: expected shape {_shape_text(size)}, found {_shape_text(array.shape)}")
        out.append(array)
    return out


def _numeric_array(value, key: str) -> np.ndarray:
    def check(x, path):
        if isinstance(x, list):
            for k, item in enumerate(x):
                check(item, path + [k + 1])
        elif isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
            where = "".join(f"[{p}]" for p in path)
            raise XlhandError(f"{key}: entry {where or ''} is not a number: {x!r}".replace("  ", " "))
        elif not np.isfinite(x):
            raise XlhandError(f"{key}: entry {''.join(f'[{p}]' for p in path)} is not finite: {x!r}")

    if isinstance(value, np.ndarray):
        return value.astype(float)
    check(value, [])
    try:
        return np.array(value, dtype=float)
    except ValueError:
        raise XlhandError(f"{key}: rows of different lengths") from None


def _shape_text(shape: tuple) -> str:
    return "x".join(str(s) for s in shape) if shape else "scalar"


def check_vocabulary(words, dims) -> str | None:
    """A vocabulary given: single words, unique ignoring case (spreadsheets compare text ignoring
    case, so "The" and "the" would light up the same one-hot row)."""
    seen = {}
    for k, word in enumerate(words, start=1):
        if not word or any(ch.isspace() for ch in word):
            return f"word {k} {word!r} must be one word without spaces"
        if word.lower() in seen:
            return (f"words {seen[word.lower()]} and {k} ('{word}') are the same word "
                    "(spreadsheets compare words ignoring case)")
        seen[word.lower()] = k
    return None


def word_problem(key: str, word: str, vocabulary) -> str | None:
    """Why ``word`` (the given ``key``) cannot be looked up in ``vocabulary``, or None."""
    if word not in vocabulary:
        return f"block '{key}': '{word}' is not in vocab ({', '.join(vocabulary)})"
    return None


# --- dims ------------------------------------------------------------------------------------
def parse_set(items: tuple[str, ...]) -> dict[str, int]:
    """``('d_h=4', 'T=5')`` -> ``{'d_h': 4, 'T': 5}``."""
    out = {}
    for item in items:
        name, sep, number = item.partition("=")
        if not sep:
            raise XlhandError(f"--set {item}: expected DIM=N")
        try:
            out[name.strip()] = int(number)
        except ValueError:
            raise XlhandError(f"--set {item}: '{number}' is not a whole number") from None
    return out


def check_dims(exercise, dims: dict, where: str) -> Dims:
    for name, value in dims.items():
        if name not in exercise.dims:
            raise XlhandError(f"{where}: unknown dim '{name}' for {exercise.name} (dims: {', '.join(exercise.dims)})")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise XlhandError(f"{where}: dim '{name}' must be a positive whole number, found {value!r}")
        least, most = exercise.limit(name)
        if not least <= value <= most:
            raise XlhandError(f"{where}: dim '{name}' = {value} is outside {least}..{most} for {exercise.name}")
    return Dims({name: dims[name] for name in exercise.dims if name in dims})


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


# --- resolving what to build ---------------------------------------------------------------
@dataclass
class Resolved:
    """Everything that determines a workbook: exercise, dims, givens, seed, options."""

    exercise: Any
    dims: Dims
    params: Params
    seed: int | None
    options: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)  # given -> "params file", "template" or "seed"
    numbers: str = ""  # where the numbers came from, in words (see numbers_text)

    def fingerprint(self) -> str:
        return params_fingerprint(self.exercise, self.params)

    def numbers_text(self) -> str:
        """Where the givens came from: "params file mine.yaml", "template", "seed 4", or a mix
        such as "params file mine.yaml + seed 0 for W2, b2". Rebuilt from metadata (no record of
        sources), the seed or "template"."""
        if self.numbers:
            return self.numbers
        return "template" if self.seed is None else f"seed {self.seed}"


def numbers_text(sources: dict, params_path: Path | None, seed: int | None) -> str:
    """The source that gave most givens by name, every other one with the givens it gave."""
    labels = {"params file": f"params file {Path(params_path).name}" if params_path else "params file",
              "template": "template", "seed": f"seed {seed}"}
    groups = {source: [name for name, s in sources.items() if s == source] for source in labels}
    groups = {source: names for source, names in groups.items() if names}
    main = max(groups, key=lambda source: len(groups[source]), default=None)
    return " + ".join(labels[source] if source == main else f"{labels[source]} for {', '.join(names)}"
                      for source, names in groups.items())


def resolve(exercise, *, size: str | None = None, sets: dict | None = None, params_path: Path | None = None,
            seed: int | None = None, options: dict | None = None) -> Resolved:
    template = load_params_file(exercise, template_path(exercise), "template")
    dims = dict(check_dims(exercise, template.dims, f"template {template.path}"))
    if size is not None:
        if size not in exercise.presets:
            raise XlhandError(f"unknown size '{size}' for {exercise.name} (sizes: {', '.join(exercise.presets)})")
        dims.update(exercise.presets[size])
    user = load_params_file(exercise, params_path) if params_path is not None else None
    if user is not None:
        dims.update(check_dims(exercise, user.dims, f"params file {user.path}"))
    dims.update(check_dims(exercise, sets or {}, "--set"))
    dims = Dims(check_dims(exercise, dims, "dims"))
    missing = [d for d in exercise.dims if d not in dims]
    if missing:
        raise XlhandError(f"{exercise.name}: dim '{missing[0]}' has no value")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise XlhandError(f"--seed {seed}: a seed is a whole number, 0 or more")
    options = exercise.check_options({**(user.options if user is not None else {}),
                                      **exercise.read_options(options or {}, "--opt")})

    params, sources = Params(), {}
    for given in exercise.givens:
        if user is not None and given.name in user.values:
            params[given.name] = normalize_value(given, user.values[given.name], dims, f"params file {user.path}")
            sources[given.name] = "params file"
        elif seed is None and given.name in template.values and _fits(given, template.values[given.name], dims):
            params[given.name] = normalize_value(given, template.values[given.name], dims, f"template {template.path}")
            sources[given.name] = "template"
    to_generate = [g for g in exercise.givens if g.name not in params]
    used_seed = None
    if to_generate:
        used_seed = 0 if seed is None else seed
        params = generate(exercise, dims, used_seed, params, to_generate, options)
        sources.update({g.name: "seed" for g in to_generate})
    elif seed is not None:
        used_seed = seed
    exercise.validate(dims, params, _origin(user))
    return Resolved(exercise, dims, params, used_seed, options, sources,
                    numbers_text(sources, params_path, used_seed))


def _origin(user: ParamsFile | None) -> str:
    return f"params file {user.path}" if user is not None else "params"


def _fits(given: Given, value, dims: Dims) -> bool:
    try:
        normalize_value(given, value, dims, "template")
        return True
    except XlhandError:
        return False


def generate(exercise, dims: Dims, seed: int, params: Params | None = None,
             givens: list[Given] | None = None, options: dict | None = None) -> Params:
    """Fresh numbers from ``seed`` for ``givens`` (default: all), beside the ``params`` already known.

    Each given's numbers are drawn in a scale that keeps the exercise instructive (``row_sum``,
    ``step``, an exercise's own maker), so nearly every draw passes the exercise's ``accept`` test;
    of at most ``GENERATION_DRAWS`` draws the first that passes is kept, and if none does that is
    an error, never numbers that do not teach."""
    params = Params(params or {})
    givens = list(exercise.givens) if givens is None else givens
    streams = [(given, zlib.crc32(exercise.name.encode()), zlib.crc32(given.name.encode())) for given in givens]
    for draw in range(GENERATION_DRAWS):
        for given, name_key, given_key in streams:
            # each given its own stream (as np.random.default_rng would make it, at half the cost)
            rng = np.random.Generator(np.random.PCG64([seed, draw, name_key, given_key]))
            params[given.name] = given.generate(rng, dims, params)
        if exercise.instructive(dims, params, options):
            return params
    sizes = ", ".join(f"{k}={v}" for k, v in dims.items())
    names = ", ".join(g.name for g in givens)
    raise XlhandError(f"{exercise.name} ({sizes}): no instructive numbers for {names} from seed {seed} "
                      f"in {GENERATION_DRAWS} draws (try another seed or size, or give them in a params file)")


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


def params_fingerprint(exercise, params: Params) -> str:
    canonical = {g.name: plain(params[g.name]) for g in exercise.givens}
    text = json.dumps({"exercise": exercise.name, "values": canonical}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
