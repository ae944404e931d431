"""vectordb: a vector database by hand (from the seed notes).

Each sentence (and the query) is split on spaces into words; OneHot has one column per word over
the vocabulary, so the lookup X = E·OneHot is a matrix product; H = ReLU(We·X + be) encodes every
word; mean pooling over the words gives one vector per sentence; the index P·pooled (2 numbers)
is what the database stores, DB = [index_1 … index_S]. The query goes the same way to q; its
scores against the database are qᵀ·DB, and the nearest sentence is the one with the largest score
(shown as text with INDEX/MATCH).

Words are compared as spreadsheets compare text, ignoring case, so a vocabulary must not hold two
words that differ only in case; a sentence's words must be in the vocabulary exactly as written.
"""
from __future__ import annotations

import numpy as np

from xlhand.model.npref import has_both_signs, relu
from xlhand.layout import BIAS, COMPUTED, DOWN, LEFT, OUTPUT, RIGHT, UP, WEIGHT, ops
from xlhand.layout.style import text_columns
from xlhand.model.exercise import Exercise, Source
from xlhand.model.givens import Given, check_vocabulary

# Sentences of random variants are drawn from the first V of these words (the defaults' six first).
WORDS = tuple(
    "how are you who am I we they is it what where here there go do see say me she he that this "
    "not can will was be my your our their and or but so if then now why when come make know like "
    "good new time day way man one two all any out up down in on at to for with".split()
)


def words_of(text: str) -> list[str]:
    return text.split(" ")


def encode(p, words):
    """The reference's pipeline for one sentence: one-hot, lookup, encoder, mean pooling, index."""
    onehot = np.array([[1.0 if v == w else 0.0 for w in words] for v in p.vocab])
    X = p.E @ onehot
    Zh = p.We @ X + p.be
    H = relu(Zh)
    pooled = H.mean(axis=1, keepdims=True)
    return onehot, X, Zh, H, pooled, p.P @ pooled


def reference(d, p):
    out = {}
    for key, text in [(str(k), t) for k, t in enumerate(p.sentences, start=1)] + [("q", p.query)]:
        onehot, X, Zh, H, pooled, index = encode(p, words_of(text))
        out.update({f"OneHot_{key}": onehot, f"X_{key}": X, f"Zh_{key}": Zh, f"H_{key}": H,
                    f"pooled_{key}": pooled, ("q" if key == "q" else f"index_{key}"): index})
    out["DB"] = np.hstack([out[f"index_{k}"] for k in range(1, len(p.sentences) + 1)])
    out["scores"] = out["q"].T @ out["DB"]
    out["nearest"] = p.sentences[int(np.argmax(out["scores"][0]))]
    return out


def layout(s, d, p):
    keys = [str(k) for k in range(1, d.S + 1)] + ["q"]
    widths = {key: d.L for key in keys[:-1]} | {"q": len(words_of(p.query))}
    room = _sentence_room(p.vocab, d.L)
    # Page 1: the givens and the tokenization, one row per sentence. Then the sentences go through
    # the encoder in bands of a few side by side (as many as a landscape page is wide), each band a
    # page: ONE copy of the weights left of the band (E left of every X, We|be left of every Zh, P
    # left of every index), the pooled vectors and their indexes in the columns the weights leave
    # free under them, and the search (DB, scores, nearest) under the last band.
    bands = _bands(d, keys, widths)
    words, onehots, X, H, pooled, index = ({} for _ in range(6))
    groups = []

    with s.step("Tokenize: split each sentence and the query on spaces"):
        vocab = s.given("vocab", label="vocabulary")
        sentences = s.given("sentences", label="sentences", down=True, text_room=room)
        rows = []
        for key in keys:
            with s.group() as row:
                if key == "q":
                    text = s.given("query", label="query")
                else:
                    text = s.add(f"text_{key}", (1, 1), role=COMPUTED, label=f"sentence {key}", text_room=room,
                                 formula=lambda i, j, k=int(key): sentences.cell(k - 1, 0),
                                 expect=lambda v, k=int(key): v["sentences"][k - 1])
                words[key] = ops.split_words(s, f"tok_{key}", text, widths[key], label=f"tok_{key}: the words")
                spaces = s.blocks[f"tok_{key}_sp"]
                s.next_to(spaces, text, RIGHT)  # the sentence, where its words end, its words: one row
                s.next_to(words[key], spaces, RIGHT, gap=0)  # past the long label of the row before it
            rows.append(row)
        tokens = s.arrange(rows, DOWN, gap=0, align="end")  # a label row parts two rows; words over words
        s.next_to(vocab, tokens, UP)
        s.next_to(sentences, s.together([vocab, tokens]), RIGHT)  # the database right of its rows

    with s.step("One-hot: OneHot[w, t] = 1 where word t is vocabulary word w"):
        for b, band in enumerate(bands):
            with s.group() as part:
                for before, key in zip([None] + band, band):
                    onehots[key] = ops.one_hot_columns(s, f"OneHot_{key}", vocab, words[key], label=f"OneHot_{key}")
                    if before is not None:
                        s.place(onehots[key], right_of=onehots[before])
                if b == 0:  # the vocabulary down the side of the first one-hot matrices names their rows
                    s.place(s.add("vocabT", (d.V, 1), role=COMPUTED, label="vocab",
                                  formula=lambda i, j: vocab.cell(0, i), expect=lambda v: [[w] for w in v["vocab"]]),
                            left_of=onehots[band[0]])
            groups.append(part)
    with s.step("Embeddings: X = E·OneHot (a lookup written as a matrix product)"):
        for b, band in enumerate(bands):
            with s.group() as part:
                if b == 0:  # placed left of the first product below (a placed block is used where it stands)
                    E = weights = s.given("E", label="E (one column per word)")
                else:
                    weights = _copy(s, f"E_{band[0]}", E)
                for key in band:
                    X[key] = ops.matmul_parts(s, f"X_{key}", [weights], onehots[key], label=f"X_{key} = E·OneHot_{key}",
                                              weights_gap=_gap(d, len(bands[0])))
                    s.place(X[key], below=onehots[key], gap=0)  # its label row parts it from its input
                    if key == band[0] and b == 0:
                        s.next_to(E, X[key], LEFT, gap=_gap(d, len(bands[0])))
                    weights = s.blocks[X[key].extra["operands"][0]]  # the same E for the band's other sentences
            groups[b].add(part)
    with s.step("Encode: Zh = We·X + be, H = ReLU(Zh)"):
        for b, band in enumerate(bands):
            with s.group() as part:
                if b == 0:
                    We, be = "We", "be"
                else:
                    We, be = _copy(s, f"We_{band[0]}", s.blocks["We"]), _copy(s, f"be_{band[0]}", s.blocks["be"])
                for key in band:
                    Zh = ops.matmul_parts(s, f"Zh_{key}", [We], X[key], be, label=f"Zh_{key} = We·X_{key} + be")
                    s.place(Zh, below=X[key], gap=0)  # under X's row of 1s
                    We, be = (s.blocks[name] for name in Zh.extra["operands"][:2])
                    H[key] = ops.relu(s, f"H_{key}", Zh)
                    s.place(H[key], below=Zh, gap=0)
            groups[b].add(part)
    with s.step("Mean pooling: pooled = the average of H over the words (one vector per sentence)"):
        for b, band in enumerate(bands):
            with s.group() as part:
                for after, key in reversed(list(zip(band[1:] + [None], band))):
                    pooled[key] = ops.row_means(s, f"pooled_{key}", H[key], label=f"pooled_{key}")
                    # in the columns the weights leave free, left of the band's first H
                    s.place(pooled[key], left_of=H[band[0]] if after is None else pooled[after])
            groups[b].add(part)
    with s.step("Index: index = P·pooled (the query's index is q)"):
        for b, band in enumerate(bands):
            with s.group() as part:
                weights = "P" if b == 0 else _copy(s, f"P_{band[0]}", s.blocks["P"])
                for key in band:
                    name = "q" if key == "q" else f"index_{key}"
                    index[key] = ops.matmul_parts(s, name, [weights], pooled[key],
                                                  role="output" if key == "q" else "computed", label=name,
                                                  weights_gap=0)  # the step says index = P·pooled
                    s.place(index[key], below=pooled[key], gap=0)
                    weights = s.blocks[index[key].extra["operands"][0]]
            groups[b].add(part)
    with s.group() as search:
        with s.step("The database: DB = [index_1 … index_S], one column per sentence"):
            DB = ops.copy_columns(s, "DB", [index[k] for k in keys[:-1]], role=COMPUTED,
                                  label="DB = [index_1 … index_S]")
            s.place(DB, below=H[bands[-1][0]], gap=0)  # level with the last indexes, right of them
        with s.step("Scores: scores = qᵀ·DB (one dot product per sentence)"):
            qT = ops.transpose(s, "qT", index["q"], label="qᵀ", role=COMPUTED)
            scores = ops.matmul(s, "scores", qT, DB, label="scores = qᵀ·DB")
            s.place(scores, below=DB, gap=0)
            s.next_to(qT, scores, LEFT)
        with s.step("Nearest: the sentence whose score is the largest (argmax of the scores)"):
            s.place(s.add("nearest", (1, 1), role=OUTPUT, label="nearest", text_room=room,
                          formula=lambda i, j: (f"INDEX({sentences.range()},"
                                                f"MATCH(MAX({scores.range()}),{scores.range()},0),1)")),
                    right_of=scores)
    groups[-1].add(search)
    s.arrange([s.together([vocab, tokens, sentences])] + groups, DOWN)


PAGE_COLUMNS = ops.page_columns("letter", landscape=True)  # a landscape page on the narrower paper


def _left_columns(d, n: int) -> int:
    """Columns left of a band of ``n`` sentences: E (V wide), We|be, and under them P with the
    pooled vectors and their indexes, one column and a gap each (their labels run into the gap)."""
    return max(d.V, d.d + 2 * n, d.d_e + 2)


def _gap(d, n: int) -> int:
    """Columns between E and the band's first X: one where the columns left of the band allow."""
    return 1 if _left_columns(d, n) > d.V else 0


def _bands(d, keys, widths) -> list[list[str]]:
    """The sentences (and the query) in bands of as many side by side as a landscape page holds
    right of the weights (at least one): each band a page."""
    def width(n):
        return _left_columns(d, n) + sum(sorted(widths.values(), reverse=True)[:n]) + n - 1

    n = max([k for k in range(1, len(keys) + 1) if width(k) <= PAGE_COLUMNS] or [1])
    return [keys[k:k + n] for k in range(0, len(keys), n)]


def _sentence_room(vocab, words: int) -> int:
    """Columns the longest sentence of ``words`` vocabulary words needs: the same for every variant
    of a class (the vocabulary is the same), so that every worksheet has the same layout."""
    longest = max((str(w) for w in vocab), key=text_columns)
    return text_columns(" ".join([longest] * words))


def _copy(s, name, src):
    """A copy of the weights ``src`` made where it must stand, left of a product (see :class:`ops.Part`)."""
    return ops.copied_part(s, name, src, label=src.name)


# --- checks ---------------------------------------------------------------------------------
def _spacing(text: str) -> str | None:
    if not text.strip():
        return "is empty"
    if text != " ".join(text.split()):
        return "must separate its words by single spaces (no leading, trailing or double spaces)"
    return None


def check_sentences(sentences, dims) -> str | None:
    for k, text in enumerate(sentences, start=1):
        problem = _spacing(text)
        if problem:
            return f"sentence {k} {text!r} {problem}"
        if len(words_of(text)) != dims.L:
            return f"sentence {k} '{text}' has {len(words_of(text))} words, expected L = {dims.L}"
    return None


def check_query(query, dims) -> str | None:
    problem = _spacing(query)
    return f"{query!r} {problem}" if problem else None


def _scores(p) -> np.ndarray:
    return reference(None, p)["scores"][0]


def checks(d, p) -> str | None:
    """Every word in the vocabulary, and one sentence nearest to the query."""
    vocab = set(p.vocab)
    for k, text in enumerate(p.sentences, start=1):
        for word in words_of(text):
            if word not in vocab:
                return (f"block 'sentences': sentence {k} '{text}' uses '{word}', "
                        f"which is not in vocab ({', '.join(p.vocab)})")
    for word in words_of(p.query):
        if word not in vocab:
            return f"block 'query': '{word}' is not in vocab ({', '.join(p.vocab)})"
    scores = _scores(p)
    best = int(np.argmax(scores))
    for k, score in enumerate(scores):
        if k != best and p.sentences[k] != p.sentences[best] and abs(score - scores[best]) <= 1e-9 * (1 + abs(score)):
            return (f"block 'query': sentences {best + 1} and {k + 1} tie for nearest (score {score:g}); "
                    "change the query, the sentences or the weights")
    return None


def instructive(d, p) -> bool:
    """Valid words, the ReLU zeroes some units and passes others, and one sentence is clearly the
    nearest (its score beats every other by a visible margin)."""
    if checks(d, p):
        return False
    ref = reference(d, p)
    zh = np.hstack([ref[f"Zh_{k}"] for k in range(1, d.S + 1)])
    if not has_both_signs(zh):
        return False
    scores = np.sort(ref["scores"][0])
    return bool(len(scores) < 2 or scores[-1] - scores[-2] >= 0.1 * max(1.0, abs(scores[-1])))


def _vocab(rng, size, dims):
    """The first V words of a fixed list."""
    return list(WORDS[: dims.V])


def _sentence(rng, vocab, n, replace=None):
    replace = n >= len(vocab) if replace is None else replace
    return " ".join(str(w) for w in rng.choice(vocab, size=n, replace=replace))


def _sentences(rng, size, dims, params):
    """Sentences of vocabulary words, each a different bag of words where the vocabulary allows:
    sentences that differ only in word order pool to the same vector and would tie."""
    out, bags = [], set()
    for _ in range(dims.S):
        for attempt in range(50):
            text = _sentence(rng, params["vocab"], dims.L, replace=None if attempt < 25 else True)
            if tuple(sorted(text.split(" "))) not in bags:
                break
        bags.add(tuple(sorted(text.split(" "))))
        out.append(text)
    return out


def _query(rng, size, dims, params):
    """A sentence of L vocabulary words."""
    return _sentence(rng, params["vocab"], dims.L)


EXERCISE = Exercise(
    name="vectordb",
    title="A vector database by hand",
    source=Source(
        paper="Johnson, Douze & Jégou (2019), Billion-scale similarity search with GPUs, "
              "IEEE Transactions on Big Data",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Vector Database"),
    dims={"V": "vocabulary size", "d_e": "word embedding size", "d": "encoder size", "d_p": "index size",
          "S": "sentences in the database", "L": "words per sentence"},
    presets={
        "small": dict(V=6, d_e=3, d=4, d_p=2, S=3, L=3),
        "medium": dict(V=8, d_e=3, d=4, d_p=2, S=4, L=3),
        "large": dict(V=10, d_e=4, d=5, d_p=2, S=5, L=4),
    },
    givens=[
        Given("vocab", ("V",), kind="texts", make=_vocab, check=check_vocabulary,
              describe="the vocabulary, one word a column"),
        Given("sentences", ("S",), kind="texts", derive=_sentences, check=check_sentences,
              describe="the database's sentences, L words each, separated by spaces"),
        Given("query", (), kind="text", derive=_query, check=check_query, describe="the query sentence"),
        Given("E", ("d_e", "V"), role=WEIGHT, low=-2, high=2, describe="word embeddings, one column a word"),
        Given("We", ("d", "d_e"), role=WEIGHT, low=-2, high=2, describe="encoder weights"),
        Given("be", ("d", 1), role=BIAS, low=-1, high=1, describe="encoder bias"),
        Given("P", ("d_p", "d"), role=WEIGHT, low=-2, high=2, describe="projection to the index"),
    ],
    reference=reference,
    layout=layout,
    limits={"V": (3, len(WORDS)), "S": (2, 64), "L": (2, 64)},
    checks=checks,
    accept=instructive,
)
