"""word2vec: one skip-gram training step for one (center, context) pair, full softmax.

x = onehot(center) (V×1); h = Win·x (the center's embedding: a lookup written as a product);
u = Wout·h (a score per vocabulary word); p = softmax(u); y = onehot(context); L = −Σ y ⊙ ln p.
Gradients (softmax with cross-entropy): du = p − y, dWout = du·hᵀ, dh = Woutᵀ·du, dWin = dh·xᵀ
(only the center's column is non-zero). One step of gradient descent: Woutn = Wout − lr·dWout,
Winn = Win − lr·dWin, whose center column is the updated embedding.
"""
from __future__ import annotations

import numpy as np

from ..npref import softmax_columns as softmax
from .. import fx, ops
from ..exercise import Exercise
from ..params import Given, check_vocabulary, fixed, word_problem

WORDS = ("the cat sat on mat dog ran to a big red ball and it was very fast so we saw".split())


def onehot(vocab, word):
    return np.array([[1.0] if v == word else [0.0] for v in vocab])


def reference(d, p):
    x, y = onehot(p.vocab, p.center), onehot(p.vocab, p.context)
    h = p.Win @ x
    u = p.Wout @ h
    probs = softmax(u)
    L = -np.sum(y * np.log(probs))
    du = probs - y
    dWout = du @ h.T
    dh = p.Wout.T @ du
    dWin = dh @ x.T
    return dict(x=x, h=h, u=u, p=probs, y=y, L=L, du=du, dWout=dWout, dh=dh, dWin=dWin,
                Woutn=p.Wout - p.lr * dWout, Winn=p.Win - p.lr * dWin)


def layout(s, d, p):
    V = d.V
    col = V + 1  # the column of x, h, u: Win (d×V) stands left of it
    with s.step("One-hot: x = onehot(center) over the vocabulary"):
        vocab = s.given("vocab", at=(0, 0), label="vocab")
        center = s.given("center", at=(0, col), label="center")
        context = s.given("context", at=(0, col + 2), label="context")
        x = ops.one_hot(s, "x", vocab, center, at=(3, col), label="x = onehot(center)")
        s.arrow(center, x)
    with s.step("Embedding lookup: h = Win·x (picks the center's column of Win)"):
        h = ops.matmul(s, "h", "Win", x, label="h = Win·x")
    with s.step("Scores: u = Wout·h (one score per vocabulary word)"):
        u = ops.matmul(s, "u", "Wout", h, label="u = Wout·h")
    with s.step("Probabilities: p = softmax(u)"):
        probs = ops.softmax_columns(s, "p", u, role="output")
    with s.step("Loss: y = onehot(context), L = −Σ y ⊙ ln p = −ln p[context]"):
        y = ops.one_hot(s, "y", vocab, context, at=s.right_of(probs), role="target", label="y = onehot(context)")
        terms = lambda: [f"{yc}*LN({pc})" for yc, pc in zip(y.cells(), probs.cells())]  # addresses are final only later
        L = s.add("L", (1, 1), s.right_of(y), "output", "L = −Σ y⊙ln p", formula=lambda i, j: f"-({fx.total(terms())})")
    with s.step("Score gradient (softmax with cross-entropy): du = p − y"):
        du = ops.elementwise(s, "du", fx.sub, [probs, y], at=(s.lowest_row() + 2, probs.left), role="gradient",
                             label="du = p − y")
    with s.step("Output-embedding gradient: dWout = du·hᵀ"):
        dWout, _ = ops.weight_gradient(s, "dWout", None, du, h)
    with s.step("Back to the embedding: dh = Woutᵀ·du"):
        dh = ops.input_gradient(s, "dh", s.blocks["Wout"], du)
    with s.step("Input-embedding gradient: dWin = dh·xᵀ (only the center's column is non-zero)"):
        dWin, _ = ops.weight_gradient(s, "dWin", None, dh, x)
    with s.step("Gradient descent: Woutn = Wout − lr·dWout, Winn = Win − lr·dWin"):
        row = s.lowest_row() + 2
        lr = s.given("lr", at=(row, s.leftmost_col()), label="lr")
        Winn = ops.sgd_step(s, "Winn", s.blocks["Win"], dWin, lr, at=(row, lr.right + 1),
                            label="Winn = Win − lr·dWin (new embeddings)")
        ops.sgd_step(s, "Woutn", s.blocks["Wout"], dWout, lr, at=s.right_of(Winn, gap=2))
    return L


def checks(d, p) -> str | None:
    return word_problem("center", p.center, list(p.vocab)) or word_problem("context", p.context, list(p.vocab))


def instructive(d, p) -> bool:
    """Two different words, a softmax that is not one-hot, a context word that is not already
    likely, and an embedding h that is not all zero."""
    if checks(d, p) or p.center == p.context:
        return False
    ref = reference(d, p)
    return bool(ref["p"].max() < 0.9 and np.any(ref["h"] != 0) and np.sum(ref["y"] * ref["p"]) < 0.8)


def _vocab(rng, size, dims):
    return list(WORDS[: dims.V])


def _center(rng, size, dims):
    return WORDS[int(rng.integers(dims.V))]


def _context(rng, size, dims):
    return WORDS[int(rng.integers(dims.V))]


EXERCISE = Exercise(
    name="word2vec",
    title="One skip-gram step",
    dims={"V": "vocabulary size", "d": "embedding dimension"},
    presets={"small": dict(V=4, d=2), "medium": dict(V=6, d=3), "large": dict(V=8, d=4)},
    givens=[
        Given("vocab", ("V",), kind="texts", make=_vocab, check=check_vocabulary, describe="the vocabulary, one word a column"),
        Given("center", (), kind="text", make=_center, describe="the center word"),
        Given("context", (), kind="text", make=_context, describe="a word seen near the center"),
        Given("Win", ("d", "V"), role="weight", low=-2, high=2, describe="input embeddings, one column a word"),
        Given("Wout", ("V", "d"), role="weight", low=-2, high=2, describe="output embeddings, one row a word"),
        Given("lr", (), make=fixed(0.5)),
    ],
    reference=reference,
    layout=layout,
    limits={"V": (3, len(WORDS)), "d": (1, 8)},
    checks=checks,
    accept=instructive,
)
