"""vectordb: the reference's nearest sentence against a brute-force search, random variants made
of vocabulary words with a unique nearest neighbour, and the bad inputs of a params file."""
from __future__ import annotations

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.model.givens import AttrDict
from xlhand.model.resolve import resolve

EX = catalog.get("vectordb")


def brute_force_nearest(p):
    """Embed every sentence word by word (a column of E per word, no one-hot matrix), then try
    every sentence and keep the best dot product with the query's index."""

    def index(text):
        hidden = [np.maximum(p.We @ p.E[:, [p.vocab.index(w)]] + p.be, 0) for w in text.split(" ")]
        return p.P @ (sum(hidden) / len(hidden))

    q = index(p.query)
    best, best_score = None, -np.inf
    scores = []
    for text in p.sentences:
        score = float((q.T @ index(text))[0, 0])
        scores.append(score)
        if score > best_score:
            best, best_score = text, score
    return best, np.array(scores)


@pytest.mark.parametrize("seed", range(5))
def test_nearest_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    vocab = ["how", "are", "you", "who", "am", "I", "we"]
    sentences = [" ".join(rng.choice(vocab, size=3)) for _ in range(4)]
    p = AttrDict(vocab=vocab, sentences=sentences, query=" ".join(rng.choice(vocab, size=2)),
                 E=rng.normal(size=(3, 7)), We=rng.normal(size=(4, 3)), be=rng.normal(size=(4, 1)),
                 P=rng.normal(size=(2, 4)))
    ref = EX.reference(None, p)
    nearest, scores = brute_force_nearest(p)
    np.testing.assert_allclose(ref["scores"][0], scores, rtol=1e-12)
    assert ref["nearest"] == nearest
    assert ref["OneHot_1"].sum(axis=0).tolist() == [1, 1, 1]


def test_defaults_find_who_am_i():
    r = resolve(EX)
    assert set(r.sources.values()) == {"template"}
    assert r.params.sentences == ["how are you", "who are you", "who am I"]
    assert EX.reference(r.dims, r.params)["nearest"] == "who am I"
    assert brute_force_nearest(r.params)[0] == "who am I"


@pytest.mark.parametrize("seed,size", [(1, None), (2, "medium"), (3, "large"), (4, "small")])
def test_random_variants_are_valid_with_a_unique_nearest(seed, size):
    r = resolve(EX, seed=seed, size=size)
    d, p = r.dims, r.params
    assert len(p.sentences) == d.S
    for text in p.sentences + [p.query]:
        assert all(w in p.vocab for w in text.split(" "))
    assert all(len(t.split(" ")) == d.L for t in p.sentences)
    scores = np.sort(EX.reference(d, p)["scores"][0])
    assert scores[-1] - scores[-2] >= 0.1


def test_other_sentence_length_without_a_seed_makes_fresh_sentences():
    r = resolve(EX, sets={"L": 4})
    assert r.sources["sentences"] == "seed" and r.sources["vocab"] == "template"
    assert all(len(t.split(" ")) == 4 for t in r.params.sentences)


def run_bad(tmp_path, values: str) -> str:
    return rejected_build(tmp_path, "vectordb", params="exercise: vectordb\nvalues:\n" + values)


def test_vocabulary_missing_a_sentence_word(tmp_path):
    out = run_bad(tmp_path, "  vocab: [how, are, you, who, am, me]\n  query: am you\n")
    assert "'sentences'" in out and "'I'" in out and "vocab" in out


def test_sentence_of_the_wrong_length(tmp_path):
    out = run_bad(tmp_path, "  sentences: [how are you, who are, who am I]\n")
    assert "'sentences'" in out and "sentence 2" in out and "L = 3" in out


def test_query_word_not_in_the_vocabulary(tmp_path):
    out = run_bad(tmp_path, "  query: am I them\n")
    assert "'query'" in out and "'them'" in out


def test_too_many_sentences_for_the_dims(tmp_path):
    out = run_bad(tmp_path, "  sentences: [how are you, who are you, who am I, am I you]\n")
    assert "'sentences'" in out and "expected 3" in out


def test_vocabulary_words_differing_only_in_case(tmp_path):
    out = run_bad(tmp_path, "  vocab: [how, are, you, who, How, I]\n")
    assert "'vocab'" in out and "ignoring case" in out


@pytest.mark.parametrize("size, bands", [("small", [["1", "2"], ["3", "q"]]), ("medium", [["1", "2"], ["3", "4"], ["q"]])])
def test_sentences_share_one_copy_of_the_weights_per_band(size, bands):
    """The sentences go through the encoder side by side in bands, each a landscape page wide: the
    weights stand once per band, left of the band's first product, and every product of the band
    reads that one copy (row for row: its results in the weights' rows)."""
    from xlhand.build import key_sheet

    blocks = key_sheet(resolve(EX, size=size)).blocks
    for b, band in enumerate(bands):
        suffix = "" if b == 0 else f"_{band[0]}"
        for weights, result in [("E", "X"), ("We", "Zh"), ("P", "index")]:
            W = blocks[weights + suffix]
            for key in band:
                name = "q" if (result, key) == ("index", "q") else f"{result}_{key}"
                assert blocks[name].extra["operands"][0] == W.name
                assert blocks[name].top == W.top and blocks[name].left > W.left
    keys = [key for band in bands for key in band]
    copies = {f"{w}_{key}" for w in ("E", "We", "be", "P") for key in keys}
    assert copies & set(blocks) == {f"{w}_{band[0]}" for w in ("E", "We", "be", "P") for band in bands[1:]}
