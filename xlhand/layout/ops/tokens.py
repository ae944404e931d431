"""Words by hand: split a text on spaces, one-hot columns over a vocabulary, a greedy choice, and the
word a one-hot column stands for."""
from __future__ import annotations

import numpy as np

from xlhand.layout import fx
from xlhand.layout.blocks import Block
from xlhand.layout.sheet import ShapeError, Sheet, op
from xlhand.layout.ops.shared import shape_text

Position = tuple[int, int]


@op
def one_hot(s: Sheet, name: str, vocab: Block, word: Block, *, at: Position | None = None,
            role: str = "computed", label: str | None = None, expect=None) -> Block:
    """The one-hot column of ``word`` (a 1x1 text cell) over ``vocab`` (a 1xV row of words):
    row i is ``IF(vocab_i = word, 1, 0)``, so a lookup ``E·onehot`` is a matrix product."""
    return s.add(name, (vocab.cols, 1), at=at, role=role, label=label or f"{name} = onehot({word.name})",
                 formula=lambda i, j: f"IF({vocab.cell(0, i)}={word.cell(0, 0)},1,0)", expect=expect)


@op
def argmax_one_hot(s: Sheet, name: str, scores: Block, *, at: Position | None = None, role: str = "computed",
                   label: str | None = None, expect=None) -> Block:
    """Greedy choice over a column of scores: row i is ``IF(score_i = MAX(scores), 1, 0)``
    (a tie gives several 1s, so callers should avoid ties in their numbers)."""
    if scores.cols != 1:
        raise ShapeError(f"{name}: {scores.name} is {shape_text(scores)}, expected one column")
    return s.add(name, (scores.rows, 1), at=at, role=role, label=label or f"{name} = argmax({scores.name})",
                 formula=lambda i, j: f"IF({scores.cell(i, 0)}=MAX({scores.range()}),1,0)", expect=expect)


@op
def word_of(s: Sheet, name: str, vocab: Block, onehot: Block, *, at: Position | None = None, role: str = "output",
            label: str | None = None, expect=None) -> Block:
    """The word a one-hot column stands for: ``INDEX(vocab, 1, MATCH(1, onehot, 0))`` (1x1 text)."""
    return s.add(name, (1, 1), at=at, role=role, label=label or name,
                 formula=lambda i, j: f"INDEX({vocab.range()},1,MATCH(1,{onehot.range()},0))", expect=expect)


def _text_of(value) -> str:
    while isinstance(value, (list, tuple)):
        value = value[0]
    return str(value)


def _words_of(value) -> list[str]:
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
        value = value[0]
    return [str(w) for w in value]


@op
def split_words(s: Sheet, name: str, text: Block, n: int, *, at: Position | None = None, role: str = "computed",
                label: str | None = None) -> Block:
    """Tokenize on spaces, by hand: the ``n`` words of the text in the 1x1 block ``text``, whose words
    are separated by single spaces (the caller checks that it has exactly ``n``).

    A helper row ``NAME_sp`` at ``at`` holds where each word ends: the position of the space after
    word j in ``text & " "`` (``FIND`` from just after the previous one); the words row under it
    takes each word with ``MID``. Returns the words block (1 x n text).
    """
    def ends(v) -> np.ndarray:
        return np.cumsum([len(w) + 1 for w in _text_of(v[text.name]).split(" ")])[None, :].astype(float)

    # addresses are read inside the formulas: they are final only when the sheet is written
    sp = s.add(f"{name}_sp", (1, n), at=at, role="computed", label=f"{name}: where each word ends (its space)",
               formula=lambda i, j: fx.find('" "', f'{text.cell(0, 0)}&" "',
                                            None if j == 0 else f"{sp.cell(0, j - 1)}+1"),
               expect=ends)
    s.anchor(sp)

    def word(i: int, j: int) -> str:
        if j == 0:
            return fx.mid(text.cell(0, 0), "1", f"{sp.cell(0, 0)}-1")
        return fx.mid(text.cell(0, 0), f"{sp.cell(0, j - 1)}+1", f"{sp.cell(0, j)}-{sp.cell(0, j - 1)}-1")

    return s.add(name, (1, n), at=s.below(sp), role=role, label=label or f"{name} = the words of {text.name}",
                 formula=word, expect=lambda v: [_text_of(v[text.name]).split(" ")])


@op
def one_hot_columns(s: Sheet, name: str, vocab: Block, words: Block, *, at: Position | None = None,
                    role: str = "computed", label: str | None = None, expect=None) -> Block:
    """One one-hot column per word of ``words`` (a 1xn row of words) over ``vocab`` (a 1xV row):
    cell (i, j) is ``IF(vocab_i = word_j, 1, 0)``, so ``E·OneHot`` looks up every word's embedding
    at once. Spreadsheets compare text ignoring case: keep vocabularies unique ignoring case."""

    def default(v):
        vocab_words, row = _words_of(v[vocab.name]), _words_of(v[words.name])
        return np.array([[1.0 if a == w else 0.0 for w in row] for a in vocab_words])

    return s.add(name, (vocab.cols, words.cols), at=at, role=role, label=label or f"{name} = onehot({words.name})",
                 formula=lambda i, j: f"IF({vocab.cell(0, i)}={words.cell(0, j)},1,0)", expect=expect or default)
