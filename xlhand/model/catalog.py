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
