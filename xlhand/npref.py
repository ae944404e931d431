"""NumPy building blocks for the exercises' references (the oracle), in the column convention.

Plain NumPy, written from the math and never from the layout code: every exercise's ``reference()``
uses these, so one activation or normalisation is written once for all of them.
"""
from __future__ import annotations

import numpy as np

LAYERNORM_EPS = 1e-5


def one_hot(n: int, k: int) -> np.ndarray:
    """The n×1 column with a 1 in row k (0-based)."""
    x = np.zeros((n, 1))
    x[k, 0] = 1.0
    return x


def has_both_signs(z) -> bool:
    """Entries above and below 0 (a ReLU that both passes and blocks); trivially true for one entry."""
    z = np.asarray(z)
    return bool(z.size < 2 or ((z > 0).any() and (z < 0).any()))


def relu(z):
    return np.maximum(z, 0.0)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax_columns(z):
    """Softmax over each column (shifted by the column's maximum, which leaves it unchanged)."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def layernorm_columns(x, eps: float = LAYERNORM_EPS):
    """LayerNorm over the rows of each column: population variance, no gain or shift."""
    mean = x.mean(axis=0, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=0, keepdims=True) + eps)


def rnn_states(X, h0, Wx, Wh, b) -> dict:
    """A tanh RNN over X's columns: ``u_t = [x_t; h_{t−1}]``, ``z_t = Wx·x_t + Wh·h_{t−1} + b``,
    ``h_t = tanh(z_t)``; returns ``{u_t, z_t, h_t}`` for t = 1…T and ``H = [h_1 … h_T]``."""
    out = {}
    h = h0
    T = X.shape[1]
    for t in range(1, T + 1):
        x = X[:, t - 1:t]
        out[f"u_{t}"] = np.vstack([x, h])
        out[f"z_{t}"] = Wx @ x + Wh @ h + b
        h = out[f"h_{t}"] = np.tanh(out[f"z_{t}"])
    out["H"] = np.hstack([out[f"h_{t}"] for t in range(1, T + 1)])
    return out
