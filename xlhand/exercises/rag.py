"""rag: retrieval weighting, how retrieval-augmented generation mixes what the retrieved documents say.

Documents are the columns of D (d × docs), the query q (d × 1). Scores s = qᵀ·D. The rank of each
document is 1 + the number of documents that score higher (no RANK function). The top k by rank form
the mask topk = [rank ≤ k]; the weights w are the softmax of s over the top k only, 0 elsewhere:
w_i = topk_i·e^(s_i − max s) / Σ_j topk_j·e^(s_j − max s). Each document scores the a candidate answers
(a column of answers, a × docs); the weighted answer is ans = answers·wᵀ and the chosen answer is the
label of its largest entry (INDEX/MATCH). Reciprocal rank fusion with a second ranking rank2 (1…docs,
from another retriever): rrf = 1/(60 + rank) + 1/(60 + rank2), and the fused rank is 1 + the number of
documents whose rrf is larger.
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import COMPUTED, EVERYTHING, LEFT, OUTPUT, UP, fx, ops
from xlhand.model.exercise import Exercise, Source
from xlhand.model.givens import Given, check_vocabulary

RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al., 2009)
ANSWERS = ("Paris", "London", "Rome", "Berlin", "Madrid", "Vienna", "Lisbon", "Oslo", "Prague", "Dublin")
TIE = 1e-9


def ranks(values) -> np.ndarray:
    """1 + how many entries are larger, for each entry of a row (ties share a rank)."""
    v = np.ravel(values)
    return (1 + (v[None, :] > v[:, None]).sum(axis=1)).astype(float)[None, :]


def reference(d, p):
    s = p.q.T @ p.D
    rank = ranks(s)
    topk = (rank <= d.k).astype(float)
    e = topk * np.exp(s - s.max())
    w = e / e.sum()
    ans = p.answers @ w.T
    rrf = 1 / (RRF_K + rank) + 1 / (RRF_K + p.rank2)
    return dict(s=s, rank=rank, topk=topk, e=e, e_sum=e.sum(), w=w, ans=ans, best=p.labels[int(np.argmax(ans[:, 0]))],
                rrf=rrf, rrf_1000=1000 * rrf, rank_rrf=ranks(rrf))


def layout(s, d, p):
    k = d.k
    with s.step("Scores s = qᵀ·D; rank = 1 + the number of larger scores"):
        D = s.given("D", label="D (one document a column)")
        qT = ops.transpose(s, "qT", s.place(s.given("q", label="q (query)"), below=EVERYTHING), label="qᵀ",
                           role=COMPUTED)
        s.place(qT, below=EVERYTHING)
        scores = ops.matmul(s, "s", qT, D, label="s = qᵀ·D")
        s.next_to(qT, scores, LEFT)
        s.next_to(s.blocks["q"], qT, UP, align="end")
        rank = _rank(s, "rank", scores, "rank = 1 + #(larger s)")
    with s.step(f"Top k = {k}: topk = [rank ≤ {k}]; w = softmax of s over the top {k} only (0 elsewhere)"):
        topk = s.add("topk", scores.shape, label=f"topk = [rank ≤ {k}]",
                     formula=lambda i, j: f"IF({rank.cell(0, j)}<={k},1,0)")
        s.place(topk, below=rank)
        e = s.add("e", scores.shape, label="e = topk·e^(s − max s)",
                  formula=lambda i, j: f"{topk.cell(0, j)}*EXP({scores.cell(0, j)}-MAX({scores.range()}))")
        s.place(e, below=topk)
        total = s.add("e_sum", (1, 1), label="Σe", formula=lambda i, j: fx.sum_range(e.range()))
        s.place(total, right_of=e)
        w = s.add("w", scores.shape, role=OUTPUT, label="w = e / Σe",
                  formula=lambda i, j: fx.div(e.cell(0, j), ops.absolute(total)))
        s.place(w, below=e)
    with s.step("Weighted answer ans = answers·wᵀ; the chosen answer: the label of the largest entry of ans"):
        wT = ops.transpose(s, "wT", w, label="wᵀ", role=COMPUTED)
        s.place(wT, right_of=w)
        ans = ops.matmul(s, "ans", "answers", wT, label="ans")
        labels = s.given("labels", label="labels (answer a is row a of answers)")
        s.place(labels, below=s.blocks["answers"])
        s.place(s.add("best", (1, 1), role=OUTPUT, label="chosen answer",
              formula=lambda i, j: f"INDEX({labels.range()},1,MATCH(MAX({ans.range()}),{ans.range()},0))"), right_of=ans)
    with s.step(f"Reciprocal rank fusion: rrf = 1/({RRF_K} + rank) + 1/({RRF_K} + rank2); the fused rank"):
        rank2 = s.given("rank2", label="rank2 (a second retriever's ranking)")
        s.place(rank2, below=labels)
        rrf = s.add("rrf", scores.shape, label=f"rrf = 1/({RRF_K} + rank) + 1/({RRF_K} + rank2)",
                    formula=lambda i, j: f"1/({RRF_K}+{rank.cell(0, j)})+1/({RRF_K}+{rank2.cell(0, j)})")
        s.place(rrf, below=rank2)
        s.place(s.add("rrf_1000", scores.shape, label="1000·rrf (to see the small differences)",
              formula=lambda i, j: f"1000*{rrf.cell(0, j)}"), below=rrf)
        _rank(s, "rank_rrf", s.blocks["rrf_1000"], "fused rank = 1 + #(larger rrf)", of=rrf)


def _rank(s, name: str, row, label: str, of=None):
    """1 + how many entries of ``of`` (default ``row``) are larger, for each entry (no RANK function),
    under ``row``."""
    of = row if of is None else of
    return s.place(s.add(name, row.shape, label=label,
                 formula=lambda i, j: f"1+SUMPRODUCT(({of.range()}>{of.cell(0, j)})*1)"), below=row)


# --- inputs ------------------------------------------------------------------------------------
def check_rank2(rank2, dims) -> str | None:
    values = sorted(np.ravel(rank2).tolist())
    if values != list(range(1, dims.docs + 1)):
        return f"a ranking gives the documents the places 1…{dims.docs}, each once; found {np.ravel(rank2).tolist()}"
    return None


def _near_ties(values):
    """Pairs (i, j) of entries equal within rounding but not exactly equal: the sheet and NumPy may
    order them differently."""
    v = np.ravel(values)
    return [(i, j) for i in range(v.size) for j in range(i + 1, v.size)
            if v[i] != v[j] and abs(v[i] - v[j]) <= TIE * (1 + abs(v[i]))]


def checks(d, p) -> str | None:
    """k at most docs; no tie at the top-k boundary (which documents are in the top k would be
    ambiguous); no scores equal but for rounding; a unique best answer."""
    if d.k > d.docs:
        return f"dim 'k' = {d.k} is larger than the number of documents, docs = {d.docs}"
    ref = reference(d, p)
    s = ref["s"][0]
    order = np.argsort(-s, kind="stable")
    if d.k < d.docs and abs(s[order[d.k - 1]] - s[order[d.k]]) <= TIE * (1 + abs(s[order[d.k]])):
        i, j = sorted((order[d.k - 1] + 1, order[d.k] + 1))
        return (f"block 'D': documents {i} and {j} tie at the top-{d.k} boundary (score {s[order[d.k]]:g}): "
                f"change q or D so that one of them ranks higher")
    for i, j in _near_ties(s):
        return (f"block 'D': the scores of documents {i + 1} and {j + 1} differ only by rounding: "
                "make them equal or apart")
    ans = ref["ans"][:, 0]
    best = [a for a in range(ans.size) if abs(ans[a] - ans.max()) <= TIE * (1 + abs(ans.max()))]
    if len(best) > 1:
        return (f"block 'answers': answers {best[0] + 1} and {best[1] + 1} ({p.labels[best[0]]}, {p.labels[best[1]]}) "
                f"tie for the largest weighted score ({ans.max():.4g})")
    return None


def instructive(d, p) -> bool:
    """A clear top k (a gap of 0.5 at the boundary), weights that are not one-hot, a best answer ahead
    by a visible margin, and a second ranking that disagrees with the first somewhere."""
    if checks(d, p):
        return False
    ref = reference(d, p)
    s = np.sort(ref["s"][0])[::-1]
    if d.k < d.docs and s[d.k - 1] - s[d.k] < 0.5:
        return False
    if d.k >= 2 and ref["w"].max() > 0.95:
        return False
    ans = np.sort(ref["ans"][:, 0])[::-1]
    if ans.size >= 2 and ans[0] - ans[1] < 0.05 * max(1.0, abs(ans[0])):
        return False
    return bool(d.docs < 2 or not np.array_equal(ref["rank"], p.rank2))


def _labels(rng, size, dims):
    """The first a of Paris, London, Rome, Berlin, … (then answer11, answer12, …)."""
    return [ANSWERS[k] if k < len(ANSWERS) else f"answer{k + 1}" for k in range(dims.a)]


def _ranking(rng, size, dims):
    """A random order of the documents: places 1…docs, each once."""
    return (rng.permutation(dims.docs) + 1.0)[None, :]


EXERCISE = Exercise(
    name="rag",
    title="Retrieval weighting: top-k softmax, weighted answer, reciprocal rank fusion",
    source=Source(
        paper="Lewis et al. (2020), Retrieval-augmented generation for knowledge-intensive NLP tasks, NeurIPS; "
              "Cormack, Clarke & Büttcher (2009), reciprocal rank fusion, SIGIR",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): RAG"),
    dims={"docs": "documents", "d": "embedding size", "k": "documents kept (top k)", "a": "candidate answers"},
    presets={
        "small": dict(docs=4, d=3, k=2, a=3),
        "medium": dict(docs=6, d=4, k=3, a=3),
        "large": dict(docs=10, d=6, k=4, a=4),
    },
    # Fresh numbers: whole-number embeddings, a query in halves (scores stay close enough for a
    # softmax that is not one-hot), answer scores 0…3, and a second ranking drawn at random.
    givens=[
        Given("D", ("d", "docs"), low=-2, high=2, describe="document embeddings, one a column"),
        Given("q", ("d", 1), low=-1, high=1, step=0.5, describe="the query's embedding"),
        Given("answers", ("a", "docs"), low=0, high=3,
              describe="each document's scores for the candidate answers, one document a column"),
        Given("labels", ("a",), kind="texts", make=_labels, check=check_vocabulary,
              describe="the candidate answers, in the order of answers' rows"),
        Given("rank2", (1, "docs"), make=_ranking, check=check_rank2,
              describe="a second ranking of the documents (1 = best), each place once"),
    ],
    reference=reference,
    layout=layout,
    limits={"docs": (4, 32), "d": (1, 16), "k": (1, 16), "a": (2, 16)},
    checks=checks,
    accept=instructive,
)
