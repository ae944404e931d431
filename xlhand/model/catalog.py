"""The registry of exercises: name -> module, in the order ``xlhand list`` shows them."""
from __future__ import annotations

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
        raise XlhandError(f"unknown exercise '{name}' (run 'xlhand list' to see them)")
    return importlib.import_module(f"xlhand.exercises.{_module_name(name)}").EXERCISE


def names() -> list[str]:
    return [m.replace("_", "-") for m in MODULES]


def all_exercises() -> list:
    return [get(n) for n in names()]
