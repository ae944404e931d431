"""rag: the reference against a sort-based retrieval written separately, the default numbers (the
weighted answer differs from the top document's, fusion reorders the documents), the bad inputs,
and the workbook verifying."""
from __future__ import annotations

import math

import numpy as np
import pytest
from support import assert_verified, build, rejected_build

from xlhand.model import catalog
from xlhand.model.givens import Dims, Params
from xlhand.model.resolve import resolve

EX = catalog.get("rag")


def by_sorting(p, k):
    """Sort the documents by score (best first), give each the place of the first document with its
    score, keep the first k places, softmax their scores (no shift), mix their answer columns; fuse
    the two rankings with a dictionary of reciprocal ranks."""
    scores = [float(sum(p.q[r, 0] * p.D[r, j] for r in range(p.D.shape[0]))) for j in range(p.D.shape[1])]
    ordered = sorted(scores, reverse=True)
    place = [ordered.index(v) + 1 for v in scores]
    kept = [j for j in range(len(scores)) if place[j] <= k]
    z = sum(math.exp(scores[j]) for j in kept)
    weights = [math.exp(scores[j]) / z if j in kept else 0.0 for j in range(len(scores))]
    answer = [sum(weights[j] * p.answers[a, j] for j in range(len(scores))) for a in range(p.answers.shape[0])]
    fused = {j: 1 / (60 + place[j]) + 1 / (60 + p.rank2[0, j]) for j in range(len(scores))}
    fused_order = sorted(fused.values(), reverse=True)
    return dict(s=scores, rank=place, w=weights, ans=answer, best=p.labels[answer.index(max(answer))],
                rrf=[fused[j] for j in range(len(scores))], rank_rrf=[fused_order.index(fused[j]) + 1 for j in fused])


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_reference_equals_retrieval_by_sorting(size):
    d = Dims(EX.presets[size])
    rng = np.random.default_rng(5)
    p = Params(D=rng.normal(size=(d.d, d.docs)), q=rng.normal(size=(d.d, 1)),
               answers=rng.uniform(0, 3, size=(d.a, d.docs)), labels=[f"w{k}" for k in range(d.a)],
               rank2=(rng.permutation(d.docs) + 1.0)[None, :])
    ref = EX.reference(d, p)
    loop = by_sorting(p, d.k)
    for name in ("s", "rank", "w", "rrf", "rank_rrf"):
        np.testing.assert_allclose(ref[name][0], loop[name], rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(ref["ans"][:, 0], loop["ans"], rtol=1e-12)
    assert ref["best"] == loop["best"]
    assert ref["topk"].sum() == d.k and ref["w"].sum() == pytest.approx(1)


def test_ties_share_a_rank():
    from xlhand.exercises.rag import ranks

    assert ranks([3, 5, 3, 1]).tolist() == [[2, 1, 2, 4]]


def test_the_default_numbers():
    r = resolve(EX)
    assert set(r.sources.values()) == {"template"}
    ref = EX.reference(r.dims, r.params)
    assert ref["s"][0].tolist() == [-0.5, 1, 0.5, -1.5] and ref["rank"][0].tolist() == [3, 1, 2, 4]
    sigma = 1 / (1 + math.exp(-0.5))  # two kept documents whose scores differ by 0.5
    np.testing.assert_allclose(ref["w"][0], [0, sigma, 1 - sigma, 0], rtol=1e-12)
    top = int(np.argmin(ref["rank"][0]))
    assert r.params.labels[int(np.argmax(r.params.answers[:, top]))] == "Paris"  # the best document alone
    assert ref["best"] == "London"  # the weighted answer
    assert ref["rank_rrf"][0].tolist() == [1, 3, 2, 4]  # fusion lifts document 1


def test_each_build_verifies(tmp_path):
    assert_verified(build(tmp_path, "rag"))
    assert_verified(build(tmp_path, "rag", size="medium", seed=4), ("ironcalc",))


def test_k_larger_than_the_documents_is_refused(tmp_path):
    line = rejected_build(tmp_path, "rag", "--set", "k=5")
    assert "'k'" in line and "docs = 4" in line


def test_a_tie_at_the_top_k_boundary_is_refused(tmp_path):
    # q = [0.5, 0.5, 0]: scores [1, 1, 0, 0]; documents 3 and 4 tie for place 3 (k = 3)
    line = rejected_build(tmp_path, "rag", "--set", "k=3",
                          params="exercise: rag\nvalues:\n  q: [0.5, 0.5, 0]\n")
    assert "'D'" in line and "tie at the top-3 boundary" in line and "documents 3 and 4" in line


def test_a_ranking_that_is_not_one_place_each_is_refused(tmp_path):
    line = rejected_build(tmp_path, "rag", params="exercise: rag\nvalues:\n  rank2: [[1, 1, 2, 3]]\n")
    assert "'rank2'" in line and "each once" in line


def test_a_tie_for_the_best_answer_is_refused(tmp_path):
    values = "  answers: [[1, 2, 3, 2], [2, 2, 3, 0], [3, 1, 3, 0]]\n"  # Paris and London both 2.378
    line = rejected_build(tmp_path, "rag", params="exercise: rag\nvalues:\n" + values)
    assert "'answers'" in line and "tie" in line and "Paris" in line
