"""The registry of exercises: name -> module, in the order ``xlhand list`` shows them."""
from __future__ import annotations

import difflib
import importlib

from xlhand.errors import XlhandError

MODULES = [
    "backprop",
    "lstm",
    "autoencoder",
    "dft",
    "vectordb",
    "mlp",
    "rnn",
    "self_attention",
    "cross_attention",
    "multihead_attention",
    "autograd",
    "softmax",
    "relu",
    "temperature",
    "linear_layer",
    "conv1d",
    "dot_product",
    "matmul",
    "word2vec",
    "seq2seq_attention",
    "transformer",
    "decoding",
    "mhc",
    "alphafold_triangle",
    "alphafold_msa",
    "gcn",
    "resnet",
    "svm",
    "mamba",
    "rag",
    "xlstm",
    "dit",
    "deepseek",
    "transformer_full",
]


def _module_name(name: str) -> str:
    return name.replace("-", "_")


def get(name: str):
    """The :class:`~xlhand.exercise.Exercise` called ``name``."""
    if name not in names():
        near = nearest(name)
        words = f"{', '.join(near[:-1])} or {near[-1]}" if len(near) > 1 else "".join(near)
        hint = f"did you mean {words}? " if near else ""
        raise XlhandError(f"unknown exercise '{name}' ({hint}run 'xlhand list' to see them)")
    return importlib.import_module(f"xlhand.exercises.{_module_name(name)}").EXERCISE


def nearest(name: str) -> list[str]:
    """The exercises whose names are closest to ``name`` (a typo, ``_`` for ``-``, another case)."""
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    if key in names():
        return [key]
    return difflib.get_close_matches(key, names(), n=3, cutoff=0.6)


def names() -> list[str]:
    return [m.replace("_", "-") for m in MODULES]


def all_exercises() -> list:
    return [get(n) for n in names()]


def parse_opts(items: tuple[str, ...]) -> dict:
    """``('with_sine=true',)`` -> ``{'with_sine': 'true'}``; each exercise reads the text as its option's type."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise XlhandError(f"--opt {item}: expected NAME=VALUE")
        out[name.strip().replace("-", "_")] = value.strip()
    return out


def options_for(names: list[str], options: dict) -> dict[str, dict]:
    """Each exercise's share of the options: one exercise gets them all (and refuses one it does
    not know); of several, each takes the options it knows, and one that none knows is an error."""
    if len(names) == 1:
        return {names[0]: options}
    known = {name: {o.name for o in get(name).options} for name in names}
    for key in options:
        if not any(key in names_known for names_known in known.values()):
            offered = ", ".join(f"{o} ({name})" for name, opts in known.items() for o in sorted(opts)) or "none"
            raise XlhandError(f"--opt {key}: no exercise built here has this option (options: {offered})")
    return {name: {k: v for k, v in options.items() if k in known[name]} for name in names}
