"""Number makers: how fresh, hand-friendly numbers are drawn for a given (``Given(make=…)`` or
``derive=…``), each one keeping an exercise instructive whatever its size."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from xlhand.model.givens import Dims

Maker = Callable[[np.random.Generator, tuple, "Dims"], Any]


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
