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


MASKED = -1e9


def causal_mask(S):
    """Scores S (row j = key j, column i = query i) with every key after its query set to −1e9, so
    that a softmax over each column gives it weight 0 (a decoder attends only to the past)."""
    S = np.asarray(S, dtype=float)
    return np.where(np.tri(*S.shape, -1, dtype=bool), MASKED, S)


def layernorm_columns(x, eps: float = LAYERNORM_EPS):
    """LayerNorm over the rows of each column: population variance, no gain or shift."""
    mean = x.mean(axis=0, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=0, keepdims=True) + eps)


def attention(Q, K, V) -> dict:
    """Scaled dot-product attention in the column convention: ``S = Kᵀ·Q/√d_k`` (row j = key j,
    column i = query i), ``A`` = softmax of each column, ``F = V·A``; returns ``{S, A, F}``."""
    S = K.T @ Q / np.sqrt(K.shape[0])
    A = softmax_columns(S)
    return dict(S=S, A=A, F=V @ A)


def attention_mixes(A) -> bool:
    """Attention weights that are neither one-hot nor uniform (when there are keys to choose from):
    every weight below 0.9 and some query's weights spread by more than 0.1."""
    A = np.asarray(A)
    if A.shape[0] < 2:
        return True
    return bool(A.max() < 0.9 and np.ptp(A, axis=0).max() > 0.1)

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


def iteration_name(name: str, it: int, params: tuple[str, ...]) -> str:
    """A block's name in gradient-descent iteration ``it``: unchanged in the first, with the suffix
    ``_it`` after (``Z1_2``); an update ``W1n`` of a parameter in ``params`` becomes ``W1_2n``, the
    update of ``W1_2``."""
    if it == 1:
        return name
    if name.endswith("n") and name[:-1] in params:
        return f"{name[:-1]}_{it}n"
    return f"{name}_{it}"


def descent(one_iteration, W: dict, b: dict, iters: int, params: tuple[str, ...]) -> dict:
    """``iters`` iterations of gradient descent. ``one_iteration(W, b)`` returns one iteration's
    blocks, its updates among them as ``W{k}n``, ``b{k}n``; each later iteration starts from them.
    Returns every iteration's blocks under their iteration names (see :func:`iteration_name`), the
    weights each later iteration starts from (``W1_2`` …) and, with several, ``losses`` (1×iters)."""
    out = {}
    for it in range(1, iters + 1):
        if it > 1:
            out.update({f"W{k}_{it}": W[k] for k in W} | {f"b{k}_{it}": b[k] for k in b})
        step = one_iteration(W, b)
        out.update({iteration_name(name, it, params): value for name, value in step.items()})
        W = {k: step[f"W{k}n"] for k in W}
        b = {k: step[f"b{k}n"] for k in b}
    if iters > 1:
        out["losses"] = np.array([[out[iteration_name("L", it, params)] for it in range(1, iters + 1)]])
    return out
