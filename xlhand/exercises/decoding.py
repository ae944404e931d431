"""decoding: greedy decoding with a KV cache, one column group per step.

A one-layer, one-head attention decoder over a small vocabulary. Step t = 1…steps takes the
current token (the start token, then each step's choice):
x_t = onehot(token), e_t = E·x_t (lookup), q_t = Wq·e_t, k_t = Wk·e_t, v_t = Wv·e_t;
the caches grow by one column: Kc_t = [Kc_{t−1} | k_t], Vc_t = [Vc_{t−1} | v_t] (earlier columns
are references to the previous cache, never recomputed);
s_t = Kc_tᵀ·q_t / √d, a_t = softmax(s_t), z_t = Vc_t·a_t, logits l_t = Wo·z_t;
greedy choice x_{t+1} = onehot(argmax l_t), tok_{t+1} its word. seq lists all tokens.
(No positional encoding: this toy decoder attends by content only.)
"""
from __future__ import annotations

import numpy as np

from ..npref import softmax_columns as softmax
from .. import ops
from ..exercise import Exercise
from ..params import Given, check_vocabulary, fixed, word_problem

WORDS = ("<s> the cat sat on a mat dog ran to big red".split())


def onehot(V, k):
    x = np.zeros((V, 1))
    x[k, 0] = 1.0
    return x


def reference(d, p):
    vocab = list(p.vocab)
    out = {}
    k = vocab.index(p.start)
    Kc, Vc = np.zeros((d.d, 0)), np.zeros((d.d, 0))
    seq = [p.start]
    for t in range(1, d.steps + 1):
        x = onehot(d.V, k)
        e = p.E @ x
        q, kk, v = p.Wq @ e, p.Wk @ e, p.Wv @ e
        Kc, Vc = np.hstack([Kc, kk]), np.hstack([Vc, v])  # append one column; keep the rest
        s = Kc.T @ q / np.sqrt(d.d)
        a = softmax(s)
        z = Vc @ a
        logits = p.Wo @ z
        k = int(np.argmax(logits[:, 0]))
        seq.append(vocab[k])
        out.update({f"x_{t}": x, f"e_{t}": e, f"q_{t}": q, f"k_{t}": kk, f"v_{t}": v, f"Kc_{t}": Kc,
                    f"Vc_{t}": Vc, f"s_{t}": s, f"a_{t}": a, f"z_{t}": z, f"l_{t}": logits,
                    f"x_{t + 1}": onehot(d.V, k), f"tok_{t + 1}": vocab[k]})
    out["seq"] = seq
    return out


def layout(s, d, p):
    V, dm, steps = d.V, d.d, d.steps
    r_tok = 0
    r_x = r_tok + 3
    r_e = r_x + V + 2
    r_q = r_e + dm + 2
    r_k = r_q + dm + 2
    r_v = r_k + dm + 2
    r_kc = r_v + dm + 2
    r_vc = r_kc + dm + 2
    r_s = r_vc + dm + 2
    r_z = r_s + steps + 2
    r_l = r_z + dm + 2

    def main_col(left, t):  # the column of step t's x, e, q, k, v, s: room at its left for Kc_tᵀ and Vc_t
        return left + max(dm + 1, t - 3)

    m = main_col(0, 1)
    vocab = s.given("vocab", at=(r_tok, m - 1 - V), label="vocab")
    token = s.given("start", at=(r_tok, m), label="tok_1 (start)")
    x = ops.one_hot(s, "x_1", vocab, token, at=(r_x, m), label="x_1 = onehot")
    E, Wq, Wk, Wv, Wo = "E", "Wq", "Wk", "Wv", "Wo"
    Kc = Vc = None
    tokens = [token]
    for t in range(1, steps + 1):
        with s.step(f"Step {t}: e_{t} = E·x_{t}; q_{t}, k_{t}, v_{t}; caches grow to {t} column{'s' * (t > 1)}; "
                    f"attention; logits; greedy choice"):
            e = ops.matmul(s, f"e_{t}", E, x, at=(r_e, m), label=f"e_{t} = E·x_{t}")
            q = ops.matmul(s, f"q_{t}", Wq, e, at=(r_q, m), label=f"q_{t}")
            k = ops.matmul(s, f"k_{t}", Wk, e, at=(r_k, m), label=f"k_{t}")
            v = ops.matmul(s, f"v_{t}", Wv, e, at=(r_v, m), label=f"v_{t}")
            E, Wq, Wk, Wv = (s.blocks[n] for n in ("E", "Wq", "Wk", "Wv"))
            Kc = _grow(s, f"Kc_{t}", Kc, k, (r_kc, m), f"Kc_{t} = [Kc_{t - 1} | k_{t}]" if t > 1 else "Kc_1 = [k_1]")
            Vc = _grow(s, f"Vc_{t}", Vc, v, (r_vc, m), f"Vc_{t} = [Vc_{t - 1} | v_{t}]" if t > 1 else "Vc_1 = [v_1]")
            S = ops.scores(s, f"s_{t}", Kc, q, scale=dm, at=(r_s, m), label=f"s_{t} = Kc_{t}ᵀ·q_{t}/√{dm}")
            A = ops.softmax_columns(s, f"a_{t}", S, label=f"a_{t}")
            Vc_copy = ops.copy(s, f"z_{t}_V", Vc, at=(r_z, A.left - 1 - t), label=f"Vc_{t}")
            z = ops.matmul(s, f"z_{t}", Vc_copy, A, at=(r_z, A.left), label=f"z_{t} = Vc_{t}·a_{t}")
            logits = ops.matmul(s, f"l_{t}", Wo, z, at=(r_l, A.left), label=f"l_{t} = Wo·z_{t}")
            Wo = s.blocks["Wo"]
            m = main_col(s.rightmost_col() + 1, t + 1)
            x = ops.argmax_one_hot(s, f"x_{t + 1}", logits, at=(r_x, m), label=f"x_{t + 1} = argmax l_{t}")
            token = ops.word_of(s, f"tok_{t + 1}", vocab, x, at=(r_tok, m), label=f"tok_{t + 1}")
            tokens.append(token)
    with s.step("The decoded sequence"):
        s.add("seq", (1, steps + 1), (s.lowest_row() + 2, s.blocks["x_1"].left), "output", "seq",
              formula=lambda i, j: tokens[j].cell(0, 0))
    return Kc


def _grow(s, name, cache, new, at, label):
    """[cache | new]: the old columns by reference, the new column from this step's key or value."""
    cols = 1 if cache is None else cache.cols + 1

    def cell(i, j):
        return new.cell(i, 0) if j == cols - 1 else cache.cell(i, j)

    return s.add(name, (new.rows, cols), at, "computed", label, formula=cell)


def checks(d, p) -> str | None:
    """The start word must be in the vocabulary, and no step's largest logit may be tied: the sheet's
    greedy choice (IF(l = MAX(l), 1, 0)) would mark every tied word."""
    problem = word_problem("start", p.start, list(p.vocab))
    if problem:
        return problem
    ref = reference(d, p)
    for t in range(1, d.steps + 1):
        logits = ref[f"l_{t}"][:, 0]
        tied = [w for w, x in zip(p.vocab, logits) if np.isclose(x, logits.max(), rtol=1e-9, atol=1e-9)]
        if len(tied) > 1:
            return (f"step {t}: the words {', '.join(repr(w) for w in tied)} tie for the largest logit "
                    f"({logits.max():g}): change Wo or E so that one word wins")
    return None


def instructive(d, p) -> bool:
    """A clear greedy choice at every step (the best logit ahead of the next by at least 0.1, so
    no tie), attention that mixes cached tokens, and more than one distinct generated token."""
    if checks(d, p):
        return False
    ref = reference(d, p)
    for t in range(1, d.steps + 1):
        top = np.sort(ref[f"l_{t}"][:, 0])[::-1]
        if d.V > 1 and top[0] - top[1] < 0.1:
            return False
        if t > 1 and ref[f"a_{t}"].max() > 0.95:
            return False
    generated = ref["seq"][1:]
    return d.steps < 2 or d.V < 3 or len(set(generated)) > 1


def _vocab(rng, size, dims):
    return list(WORDS[: dims.V])


EXERCISE = Exercise(
    name="decoding",
    title="Greedy decoding with a KV cache",
    dims={"V": "vocabulary size", "d": "model dimension", "steps": "decoding steps"},
    presets={
        "small": dict(V=4, d=2, steps=3),
        "medium": dict(V=5, d=3, steps=3),
        "large": dict(V=6, d=4, steps=4),
    },
    givens=[
        Given("vocab", ("V",), kind="texts", make=_vocab, check=check_vocabulary, describe="the vocabulary, one word a column"),
        Given("start", (), kind="text", make=fixed(WORDS[0]), describe="the first token"),
        Given("E", ("d", "V"), role="weight", low=-2, high=2, describe="token embeddings, one column a word"),
        Given("Wq", ("d", "d"), role="weight", low=-1, high=1),
        Given("Wk", ("d", "d"), role="weight", low=-1, high=1),
        Given("Wv", ("d", "d"), role="weight", low=-1, high=1),
        Given("Wo", ("V", "d"), role="weight", low=-2, high=2, describe="output layer, one row a word"),
    ],
    reference=reference,
    layout=layout,
    limits={"V": (2, len(WORDS)), "d": (1, 8), "steps": (1, 6)},
    checks=checks,
    accept=instructive,
)
