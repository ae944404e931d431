"""word2vec: one skip-gram training step for one (center, context) pair, full softmax.

x = onehot(center) (V×1); h = Win·x (the center's embedding: a lookup written as a product);
u = Wout·h (a score per vocabulary word); p = softmax(u); y = onehot(context); L = −Σ y ⊙ ln p.
Gradients (softmax with cross-entropy): du = p − y, dWout = du·hᵀ, dh = Woutᵀ·du, dWin = dh·xᵀ
(only the center's column is non-zero). One step of gradient descent: Woutn = Wout − lr·dWout,
Winn = Win − lr·dWin, whose center column is the updated embedding.
"""
from __future__ import annotations

import numpy as np

from xlhand.model.npref import one_hot, softmax_columns as softmax
from xlhand.layout import COMPUTED, DOWN, EVERYTHING, GRADIENT, LEFT, OUTPUT, RIGHT, WEIGHT, fx, ops
from xlhand.model.exercise import Exercise, Source, STABLE_SOFTMAX
from xlhand.model.givens import Given, check_vocabulary, word_problem
from xlhand.model.makers import fixed

WORDS = ("the cat sat on mat dog ran to a big red ball and it was very fast so we saw".split())


def reference(d, p):
    vocab = list(p.vocab)
    x, y = one_hot(d.V, vocab.index(p.center)), one_hot(d.V, vocab.index(p.context))
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
    with s.group() as forward:
        with s.step("One-hot: x = onehot(center) over the vocabulary"):
            vocab = s.given("vocab", label="vocab")  # above Win: one word a column
            center = s.given("center", label="center")
            s.place(center, right_of=vocab)
            context = s.given("context", label="context")
            s.place(context, right_of=center)
            x = ops.one_hot(s, "x", vocab, center, label="x = onehot(center)")
            s.place(x, below=center)
            s.arrow(center, x)
        with s.step("Embedding lookup: h = Win·x (picks the center's column of Win)"):
            h = ops.matmul(s, "h", "Win", x, label="h = Win·x")
        with s.step("Scores: u = Wout·h (one score per vocabulary word)"):
            u = ops.matmul(s, "u", "Wout", h, label="u = Wout·h")
        with s.step("Probabilities: p = softmax(u)"):
            # a stable softmax's e^(u − max) is a column wider than e^u: where the sheet is a
            # portrait page wide (V + 7 columns: the vocabulary, x, e^u, p), down under u keeps it so
            down = s.settings.get("stable") and d.V + 7 <= ops.page_columns("letter", landscape=False)
            probs = ops.softmax(s, "p", u, role=OUTPUT, label="p", direction="down" if down else "right")
        with s.step("Loss: y = onehot(context) under p, L = −Σ y ⊙ ln p = −ln p[context]"):
            y = ops.one_hot(s, "y", vocab, context, label="y")
            s.place(y, below=probs)
            L = ops.cross_entropy(s, "L", y, probs, label="L")
            s.place(L, below=y, gap=0)  # right under y: a page keeps the two together
    with s.group() as backward:  # du and dh in the column of u and h, whose gradients they are
        with s.step("Score gradient (softmax with cross-entropy): du = p − y"):
            du = ops.elementwise(s, "du", fx.sub, [probs, y], role=GRADIENT,
                                 label="du = p − y")
            s.place(du, below=EVERYTHING)
        with s.step("Output-embedding gradient: dWout = du·hᵀ"):
            with s.group() as beside:
                dWout, _ = ops.weight_gradient(s, "dWout", None, du, h)
            s.next_to(beside, du, RIGHT, align="end")  # hᵀ over dWout, dWout level with du
        with s.step("Back to the embedding: dh = Woutᵀ·du"):
            # dh low enough under du that the next step's xᵀ (a gap, its label, its row, a gap)
            # stands under dWout, so that dWin is under dWout rather than right of it
            WoutT = ops.transpose(s, "WoutT", s.operand("Wout"), role=COMPUTED)
            s.place(WoutT, below=EVERYTHING)
            dh = ops.matmul(s, "dh", WoutT, du, role=GRADIENT, label="dh")  # its formula: the step's text
            s.place(dh, below=du, gap=4)
            s.next_to(WoutT, dh, LEFT)
        with s.step("Input-embedding gradient: dWin = dh·xᵀ (only the center's column is non-zero)"):
            with s.group() as beside:
                dWin, _ = ops.weight_gradient(s, "dWin", None, dh, x)
            s.next_to(beside, dh, RIGHT, align="end")  # dWin level with dh, right of it, xᵀ above
    s.next_to(backward, forward, DOWN)
    with s.step("Gradient descent: Winn = Win − lr·dWin, Woutn = Wout − lr·dWout"):
        ops.gradient_descent(s, "lr", [(s.operand("Win"), dWin), (s.operand("Wout"), dWout)])
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
    """The first V words of a fixed list."""
    return list(WORDS[: dims.V])


def _center(rng, size, dims):
    """A word of the vocabulary."""
    return WORDS[int(rng.integers(dims.V))]


def _context(rng, size, dims, params):
    """A word other than the center (a word is not its own context)."""
    others = [w for w in params["vocab"] if w != params["center"]]
    return str(rng.choice(others)) if others else params["center"]


EXERCISE = Exercise(
    name="word2vec",
    title="One skip-gram step",
    source=Source(
        paper="Mikolov et al. (2013), Distributed representations of words and phrases and their compositionality, "
              "NeurIPS",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Word2Vec"),
    dims={"V": "vocabulary size", "d": "embedding dimension"},
    presets={"small": dict(V=4, d=2), "medium": dict(V=6, d=3), "large": dict(V=8, d=4)},
    givens=[
        Given("vocab", ("V",), kind="texts", make=_vocab, check=check_vocabulary,
              describe="the vocabulary, one word a column"),
        Given("center", (), kind="text", make=_center, describe="the center word"),
        Given("context", (), kind="text", derive=_context, describe="a word seen near the center"),
        Given("Win", ("d", "V"), role=WEIGHT, low=-2, high=2, describe="input embeddings, one column a word"),
        Given("Wout", ("V", "d"), role=WEIGHT, low=-1, high=1, step=0.5,
              describe="output embeddings, one row a word"),
        Given("lr", (), make=fixed(0.5)),
    ],
    reference=reference,
    layout=layout,
    limits={"V": (3, len(WORDS)), "d": (1, 8)},
    checks=checks,
    accept=instructive,
    options=[STABLE_SOFTMAX],
)
