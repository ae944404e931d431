"""word2vec: the reference's gradients equal finite differences of the skip-gram loss, the step
changes only the center word's input embedding, and bad words are clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from support import finite_difference, rejected_build
from xlhand.model import catalog
from xlhand.model.resolve import resolve

EX = catalog.get("word2vec")


def loss(Win, Wout, c, o):
    """−log of the softmax probability of context o given center c, written from scratch."""
    scores = Wout @ Win[:, c]
    return float(np.log(np.sum(np.exp(scores))) - scores[o])


CASES = [dict(), dict(size="medium"), dict(size="large", seed=5), dict(sets={"V": 3, "d": 1}, seed=8),
         dict(sets={"V": 10, "d": 5}, seed=9)]


@pytest.mark.parametrize("case", CASES)
def test_gradients_match_finite_differences(case):
    r = resolve(EX, **case)
    p = r.params
    c, o = p.vocab.index(p.center), p.vocab.index(p.context)
    ref = EX.reference(r.dims, p)
    assert ref["L"] == pytest.approx(loss(p.Win, p.Wout, c, o))
    assert np.allclose(ref["dWin"], finite_difference(lambda W: loss(W, p.Wout, c, o), p.Win.copy()), atol=1e-6)
    assert np.allclose(ref["dWout"], finite_difference(lambda W: loss(p.Win, W, c, o), p.Wout.copy()), atol=1e-6)
    assert np.allclose(ref["p"].sum(), 1.0)


def test_step_changes_only_the_center_embedding_and_lowers_the_loss():
    r = resolve(EX)
    p = r.params
    c, o = p.vocab.index(p.center), p.vocab.index(p.context)
    ref = EX.reference(r.dims, p)
    changed = np.any(ref["Winn"] != p.Win, axis=0)
    assert changed.tolist() == [k == c for k in range(r.dims.V)]
    assert np.allclose(ref["h"][:, 0], p.Win[:, c])  # the lookup picks the center's column
    assert loss(ref["Winn"], ref["Woutn"], c, o) < loss(p.Win, p.Wout, c, o)


@pytest.mark.parametrize("values,needle", [
    ("center: dog", "'center': 'dog' is not in vocab"),
    ("context: mat", "'context': 'mat' is not in vocab"),
    ("vocab: [the, cat, sat, cat]", "words 2 and 4 ('cat') are the same word"),
    ("vocab: [the, cat, sat, The]", "words 1 and 4 ('The') are the same word"),
])
def test_bad_words_are_clear_errors(tmp_path, values, needle):
    message = rejected_build(tmp_path, "word2vec",
                             params=f"exercise: word2vec\ndims: {{V: 4, d: 2}}\nvalues:\n  {values}\n")
    assert needle in message, message
