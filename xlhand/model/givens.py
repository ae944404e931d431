"""What an exercise's givens are: each one's shape in dims, role and kind (:class:`Given`), the dims
and params they are read into, and the checks that turn a value (from a params file, a template,
a seed or a workbook) into float arrays or texts of the right shape, or a one-line error."""
from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from xlhand.errors import XlhandError
from xlhand.model.makers import Maker, bounded_rows

MAX_DIM = 64


class AttrDict(dict):
    """A dict whose keys read as attributes: ``dims.n_in``, ``params.W1``."""

    def __getattr__(self, key: str):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


Dims = AttrDict
Params = AttrDict


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
        """The whole shape in dim names, as the exercise's math writes it: ``d_h × (d_in + d_h)``
        (a function of the dims shows its expression, or its name where it has no one-line formula)."""
        words = [dim_words(s) for s in self.shape]
        if len(words) < 2:
            return "".join(words)
        return " × ".join(f"({w})" if _is_sum(w) else w for w in words)

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


def dim_words(entry) -> str:
    """One shape entry in words: a dim name, a number, or a function of the dims written as the
    expression it returns (``lambda d: d.d_in + d.d_h`` reads ``d_in + d_h``, ``2 * d.latent`` reads
    ``2·latent``); a function with no such one-line formula shows its name."""
    if not callable(entry):
        return str(entry)
    expression = _expression(entry)
    return expression if expression is not None else getattr(entry, "__name__", "?").strip("_<>")


_ALLOWED_CALLS = {"max", "min"}


def _is_sum(words: str) -> bool:
    """A + or − outside parentheses: the entry needs parentheses beside another one."""
    depth = 0
    for k, ch in enumerate(words):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and ch in "+−" and k > 0:
            return True
    return False


def _expression(fn) -> str | None:
    """The expression ``fn`` returns, in dim names, or None when it is not a plain formula of the
    dims (it calls a helper, reads something else)."""
    code = getattr(fn, "__code__", None)
    try:
        tree = ast.parse(inspect.getsource(inspect.getmodule(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    if code is None:
        return None
    if fn.__name__ == "<lambda>":
        found = [(n.args, n.body) for n in ast.walk(tree)
                 if isinstance(n, ast.Lambda) and n.lineno == code.co_firstlineno]
    else:
        found = []
        for n in ast.walk(tree):
            if isinstance(n, ast.FunctionDef) and n.name == fn.__name__ and n.lineno == code.co_firstlineno:
                body = [b for b in n.body if not (isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant))]
                if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
                    found.append((n.args, body[0].value))
    if len(found) != 1 or len(found[0][0].args) != 1:
        return None
    arg, body = found[0][0].args[0].arg, found[0][1]

    class Words(ast.NodeTransformer):
        def visit_Attribute(self, node):  # d.d_in -> d_in
            if isinstance(node.value, ast.Name) and node.value.id == arg:
                return ast.Name(node.attr)
            raise ValueError

        def visit_Subscript(self, node):  # dims["d_in"] -> d_in
            if (isinstance(node.value, ast.Name) and node.value.id == arg and isinstance(node.slice, ast.Constant)
                    and isinstance(node.slice.value, str)):
                return ast.Name(node.slice.value)
            raise ValueError

        def visit_Call(self, node):
            if not (isinstance(node.func, ast.Name) and node.func.id in _ALLOWED_CALLS) or node.keywords:
                raise ValueError
            node.args = [self.visit(a) for a in node.args]
            return node

        def visit_Name(self, node):  # a module constant (T_BITS = 2) reads as its number
            value = fn.__globals__.get(node.id)
            if node.id == arg or callable(value) or value is None and node.id in fn.__globals__:
                raise ValueError
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return ast.Constant(value)
            if node.id in fn.__globals__:
                raise ValueError
            return node

        def generic_visit(self, node):
            if not isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Constant, ast.operator, ast.unaryop,
                                     ast.expr_context)):
                raise ValueError
            return super().generic_visit(node)

    try:
        text = ast.unparse(Words().visit(body))
    except ValueError:
        return None
    return text.replace(" * ", "·").replace(" - ", " − ").replace(" // ", " // ")


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
