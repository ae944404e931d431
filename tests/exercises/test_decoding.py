"""decoding: the cached run equals recomputing attention from scratch at every step (all keys
and values rebuilt from the tokens so far), the cache reuses its old columns, and bad words
are clear errors."""
from __future__ import annotations

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.model.resolve import resolve

EX = catalog.get("decoding")


def from_scratch(p, steps, d):
    """No cache: at each step embed every token so far and recompute all keys and values."""
    vocab = list(p.vocab)
    tokens = [vocab.index(p.start)]
    logits_per_step = []
    for _ in range(steps):
        emb = p.E[:, tokens]  # d x t
        K, V = p.Wk @ emb, p.Wv @ emb
        q = p.Wq @ emb[:, -1]
        scores = np.einsum("dt,d->t", K, q) / np.sqrt(d)
        w = np.exp(scores - scores.max())
        w /= w.sum()
        logits = p.Wo @ (V @ w)
        logits_per_step.append(logits)
        tokens.append(int(np.argmax(logits)))
    return [vocab[k] for k in tokens], logits_per_step


CASES = [dict(), dict(size="medium"), dict(size="large"), dict(sets={"V": 2, "d": 1, "steps": 5}, seed=3),
         dict(sets={"V": 9, "d": 3, "steps": 6}, seed=4)]


@pytest.mark.parametrize("case", CASES)
def test_cached_run_equals_recomputing_from_scratch(case):
    r = resolve(EX, **case)
    ref = EX.reference(r.dims, r.params)
    seq, logits = from_scratch(r.params, r.dims.steps, r.dims.d)
    assert ref["seq"] == seq
    for t, l in enumerate(logits, start=1):
        assert np.allclose(ref[f"l_{t}"][:, 0], l, rtol=1e-12, atol=1e-12)
        assert ref[f"Kc_{t}"].shape == (r.dims.d, t)


def test_cache_keeps_earlier_columns():
    r = resolve(EX, size="large")
    ref = EX.reference(r.dims, r.params)
    for t in range(2, r.dims.steps + 1):
        assert np.array_equal(ref[f"Kc_{t}"][:, :-1], ref[f"Kc_{t - 1}"])
        assert np.array_equal(ref[f"Vc_{t}"][:, -1:], ref[f"v_{t}"])


def test_defaults_decode_the_cat_sat():
    r = resolve(EX)
    assert EX.reference(r.dims, r.params)["seq"] == ["<s>", "the", "cat", "sat"]


@pytest.mark.parametrize("values,needle", [
    ("start: dog", "'start': 'dog' is not in vocab"),
    ("vocab: [<s>, the, the, sat]", "words 2 and 3 ('the') are the same word"),
])
def test_bad_words_are_clear_errors(tmp_path, values, needle):
    message = rejected_build(tmp_path, "decoding",
                             params=f"exercise: decoding\ndims: {{V: 4, d: 2, steps: 3}}\nvalues:\n  {values}\n")
    assert needle in message, message
