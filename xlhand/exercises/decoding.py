"""decoding: greedy decoding with a KV cache, one panel per step.

A one-layer, one-head attention decoder over a small vocabulary. Step t = 1…steps takes the
current token (the start token, then each step's choice):
x_t = onehot(token), e_t = E·x_t (lookup), q_t = Wq·e_t, k_t = Wk·e_t, v_t = Wv·e_t;
the caches grow by one column: Kc_t = [Kc_{t−1} | k_t], Vc_t = [Vc_{t−1} | v_t] (earlier columns
are references to the previous cache, never recomputed);
s_t = Kc_tᵀ·q_t / √d, a_t = softmax(s_t), z_t = Vc_t·a_t, logits l_t = Wo·z_t;
greedy choice x_{t+1} = onehot(argmax l_t), tok_{t+1} its word. seq lists all tokens.
(No positional encoding: this toy decoder attends by content only.)
On the sheet each step is a panel a landscape page wide, in two columns read one after the other:
left, x_t, e_t, k_t and v_t down one column with their weights left (the givens at step 1, copies
of them at every later step, so that each product prints on its weights' page) and the grown
caches under them; right, from the panel's top, a copy of e_t over q_t, the scores under q_t, their
exponentials under them with the weights a_t beside, z_t and l_t under a_t.
"""
from __future__ import annotations

import numpy as np

from xlhand.model.npref import one_hot, softmax_columns as softmax
from xlhand.layout import COMPUTED, DOWN, EVERYTHING, OUTPUT, RIGHT, UP, WEIGHT, ops
from xlhand.model.exercise import Exercise, Source, STABLE_SOFTMAX
from xlhand.model.givens import Given, check_vocabulary, word_problem
from xlhand.model.makers import fixed

WORDS = ("<s> the cat sat on a mat dog ran to big red".split())


def reference(d, p):
    vocab = list(p.vocab)
    out = {}
    k = vocab.index(p.start)
    Kc, Vc = np.zeros((d.d, 0)), np.zeros((d.d, 0))
    seq = [p.start]
    for t in range(1, d.steps + 1):
        x = one_hot(d.V, k)
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
                    f"x_{t + 1}": one_hot(d.V, k), f"tok_{t + 1}": vocab[k]})
    out["seq"] = seq
    return out


def layout(s, d, p):
    # One panel per step, a landscape page wide, in two columns read one after the other as in a
    # newspaper, each stage right under the one before (its label row the only gap). Left: x_t (with
    # tok_t), e_t = E·x_t, k_t and v_t with their weights left (the givens at step 1, copies of them at
    # every later step, so that each product prints on its weights' page), the grown caches Kc_t and
    # Vc_t side by side under them. Right, from the panel's top: a copy of e_t over q_t = Wq·e_t, the
    # scores under q_t, their exponentials under them with a_t beside, z_t and l_t under a_t. The
    # panels flow down the pages; the greedy choice after the last step closes the last panel.
    panels, tokens, heads, lefts = [], [], [], []
    Kc = Vc = logits = vocab = None
    for t in range(1, d.steps + 2):
        with s.group() as panel, s.step(_describe(t, d)):
            if t == 1:
                vocab = s.given("vocab", label="vocab")
                x = ops.one_hot(s, "x_1", vocab, s.given("start", label="tok_1 (start)"),
                                label="x_1 = onehot(tok_1)")
                token = s.blocks["start"]
            else:  # the greedy choice of the step before heads the panel
                x = ops.argmax_one_hot(s, f"x_{t}", logits, label=f"x_{t} = argmax l_{t - 1}")
                token = ops.word_of(s, f"tok_{t}", vocab, x, label=f"tok_{t}")
                if t <= d.steps:
                    s.place(x, below=EVERYTHING)
                else:  # under the last panel's left column, in the column of its x_t
                    s.place(x, below=lefts[-1], in_columns_of=heads[-1], gap=0)
            with s.group() as left:
                s.place(token, left_of=x, gap=2)
                if t <= d.steps:
                    Kc, Vc, e = _attend(s, t, x, Kc, Vc)
                    if t == 1:
                        s.next_to(vocab, s.blocks["E"], UP, gap=0)  # the words over E's columns
            tokens.append(token)
            if t <= d.steps:
                heads.append(x)
                lefts.append(left)
                right, logits = _right_column(s, t, e, Kc, Vc, d.d)
                # both columns from the panel's top (tok_t's row), the right one clear of the left
                s.next_to(right, s.together([token, left]), RIGHT, gap=0, align="start")
            else:
                seq = s.add("seq", (1, d.steps + 1), role=OUTPUT, label="seq = the decoded tokens",
                            formula=lambda i, j: tokens[j].cell(0, 0))
                s.next_to(seq, token, DOWN, gap=0, align="end")  # under tok_t, beside x_t
        if t <= d.steps:
            panels.append(panel)
        else:  # the greedy choice after the last step closes the last panel
            panels[-1].add(panel)
    ops.flow(s, panels)
    return Kc


def _weights(s, t, name):
    """The weights ``name`` for step t: the given at step 1, a copy of it left of the product after."""
    if t == 1:
        return name
    src = s.blocks[name]
    return ops.Part(src.cols, lambda spot: s.place(ops.carry(s, f"{name}_step{t}", src, label=name), at=spot))


def _attend(s, t, x, Kc, Vc):
    """The left column of step t under x_t: the lookup e_t, k_t and v_t under it, each right under
    the one before, the grown caches side by side under them. Returns (Kc_t, Vc_t, e_t)."""
    # at step 1 the words (vocab) stand over E, beside x_1 under tok_1: a one-hot of two words
    # leaves them no room there, so E goes a row lower
    e = s.place(ops.matmul_parts(s, f"e_{t}", [_weights(s, t, "E")], x, label=f"e_{t} = E·x_{t}"),
                below=x, gap=1 if t == 1 and x.rows < 3 else 0)
    k = s.place(ops.matmul_parts(s, f"k_{t}", [_weights(s, t, "Wk")], e, label=f"k_{t}"), below=e, gap=0)
    v = s.place(ops.matmul_parts(s, f"v_{t}", [_weights(s, t, "Wv")], e, label=f"v_{t}"), below=k, gap=0)
    Kc = _grow(s, f"Kc_{t}", Kc, k, f"Kc_{t} = [Kc_{t - 1} | k_{t}]" if t > 1 else "Kc_1 = [k_1]")
    Vc = _grow(s, f"Vc_{t}", Vc, v, f"Vc_{t} = [Vc_{t - 1} | v_{t}]" if t > 1 else "Vc_1 = [v_1]")
    s.place(Kc, below=v, gap=0, in_columns_of=s.blocks["E" if t == 1 else f"E_step{t}"])
    s.next_to(Vc, Kc, RIGHT)
    return Kc, Vc, e


def _right_column(s, t, e, Kc, Vc, dm):
    """The right column of step t, from the panel's top: a copy of e_t over q_t, the scores s_t
    under q_t (Kc_tᵀ left of them), their exponentials under them with a_t beside, z_t = Vc_t·a_t
    and the logits l_t under a_t. Returns (the column as a group, l_t)."""
    with s.group() as right:
        e_q = s.place(ops.copy(s, f"q_{t}_e", e, label=f"e_{t} (copy)"), right_of=e)
        q = s.place(ops.matmul_parts(s, f"q_{t}", [_weights(s, t, "Wq")], e_q, label=f"q_{t}"),
                    below=e_q, gap=0)
        S = s.place(ops.scores(s, f"s_{t}", Kc, q, scale=dm, label=f"s_{t} = Kc_{t}ᵀ·q_{t}/√{dm}"),
                    below=q, gap=0)
        A = ops.heat(ops.softmax(s, f"a_{t}", S, label=f"a_{t}", direction="down"))
        s.place(A, below=S, gap=0)
        s.next_to(A, s.blocks[f"a_{t}_exp"], RIGHT, gap=0)  # the weights beside the exponentials they divide
        z = ops.matmul(s, f"z_{t}", ops.copy_part(s, f"z_{t}_V", Vc, label=f"Vc_{t}"), A, label=f"z_{t}")
        logits = s.place(ops.matmul_parts(s, f"l_{t}", [_weights(s, t, "Wo")], z, label=f"l_{t}"),
                         below=z, gap=0)
    return right, logits


def _describe(t: int, d) -> str:
    if t == 1:
        return f"Step 1: e = E·x, k/v/q = Wk/Wv/Wq·e, s = Kcᵀ·q/√{d.d}, a = softmax(s), z = Vc·a, l = Wo·z"
    if t <= d.steps:
        return f"Step {t}: x_{t} = onehot(argmax l_{t - 1}), tok_{t}; as step 1, caches grown to {t} columns"
    return f"Greedy choice x_{t} = onehot(argmax l_{t - 1}), tok_{t}; the decoded sequence seq"


def _grow(s, name, cache, new, label):
    """[cache | new]: the old columns by reference, the new column from this step's key or value."""
    cols = 1 if cache is None else cache.cols + 1

    def cell(i, j):
        return new.cell(i, 0) if j == cols - 1 else cache.cell(i, j)

    return s.add(name, (new.rows, cols), role=COMPUTED, label=label, formula=cell)


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
    if word_problem("start", p.start, list(p.vocab)):
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
    """The first V words of a fixed list, the start token <s> first."""
    return list(WORDS[: dims.V])


def _distinct_columns(rng, size, d):
    """Embeddings: whole numbers in −2…2, no column 0 and (where the dimension allows) no two
    columns pointing the same way or opposite, so every word's value vector differs."""
    rows, cols = size
    out = []
    for _ in range(cols):
        for _ in range(20):
            e = rng.integers(-2, 3, size=rows).astype(float)
            if e.any() and all(abs(e @ f) < 0.99 * np.linalg.norm(e) * np.linalg.norm(f) for f in out):
                break
        out.append(e)
    return np.column_stack(out)


def _signed_permutation(rng, size, d):
    """Wv with one ±1 in each row and column: v_t is e_t reordered, with signs."""
    return np.eye(size[0])[rng.permutation(size[0])] * rng.choice([-1.0, 1.0], size=(size[0], 1))


def _context(d, p, tokens):
    """z for the last of ``tokens``: its query attends over the keys and values of all of them
    (as ``reference`` computes z_t along the greedy sequence)."""
    emb = p["E"][:, tokens]
    K, V, q = p["Wk"] @ emb, p["Wv"] @ emb, p["Wq"] @ emb[:, -1:]
    return (V @ softmax(K.T @ q / np.sqrt(d.d)))[:, 0]


def _fitted_output(rng, size, d, p):
    """Wo fitted so that greedy decoding writes a sequence that moves on. The sequence is chosen
    first: after each step comes a token other than the current one, the one whose context z
    points most unlike the earlier ones (a linear layer must give contexts that point the same
    way the same token). Then a perceptron in whole numbers −2…2 moves the wanted token's row
    towards z_t and the strongest rival's away until every choice leads by 0.5. (Random output
    weights mostly decode one token over and over.)"""
    tokens = [list(p["vocab"]).index(p["start"])] if p["start"] in p["vocab"] else [0]
    contexts = [_context(d, p, tokens)]
    for _ in range(d.steps):
        def overlap(k):
            z = _context(d, p, tokens + [k])
            return max(_cosine(c, z) for c in contexts)

        fresh = [int(k) for k in rng.permutation(d.V) if k != tokens[-1]]
        tokens.append(min(fresh, key=overlap))
        contexts.append(_context(d, p, tokens))
    Wo = rng.integers(-1, 2, size=size).astype(float)
    for _ in range(60):
        settled = True
        for z, target in zip(contexts, tokens[1:]):
            logits = Wo @ z
            others = np.where(np.arange(d.V) == target, -np.inf, logits)
            rival = int(np.argmax(others))
            if logits[target] - others[rival] < 0.5:
                settled = False
                step = np.round(z / max(np.abs(z).max(), 1e-9))
                Wo[target] = np.clip(Wo[target] + step, -2, 2)
                Wo[rival] = np.clip(Wo[rival] - step, -2, 2)
                break
        if settled:
            break
    return Wo


def _cosine(a, b):
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norms) if norms > 0 else 1.0


EXERCISE = Exercise(
    name="decoding",
    title="Greedy decoding with a KV cache",
    source=Source(
        paper="Pope et al. (2023), Efficiently scaling transformer inference, MLSys (the KV cache)",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): KV Cache"),
    dims={"V": "vocabulary size", "d": "model dimension", "steps": "decoding steps"},
    presets={
        "small": dict(V=4, d=2, steps=3),
        "medium": dict(V=5, d=3, steps=3),
        "large": dict(V=6, d=4, steps=4),
    },
    # Fresh numbers: embeddings of different directions, Wv a signed permutation, small query and
    # key weights (attention mixes the cache), and Wo fitted so that the decoded tokens move on.
    givens=[
        Given("vocab", ("V",), kind="texts", make=_vocab, check=check_vocabulary,
              describe="the vocabulary, one word a column"),
        Given("start", (), kind="text", make=fixed(WORDS[0]), describe="the first token"),
        Given("E", ("d", "V"), role=WEIGHT, make=_distinct_columns, describe="token embeddings, one column a word"),
        Given("Wq", ("d", "d"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=0.5),
        Given("Wk", ("d", "d"), role=WEIGHT, low=-1, high=1, step=0.5, row_sum=1),
        Given("Wv", ("d", "d"), role=WEIGHT, make=_signed_permutation),
        Given("Wo", ("V", "d"), role=WEIGHT, derive=_fitted_output, describe="output layer, one row a word"),
    ],
    reference=reference,
    layout=layout,
    limits={"V": (2, len(WORDS)), "d": (1, 8), "steps": (1, 6)},
    checks=checks,
    accept=instructive,
    options=[STABLE_SOFTMAX],
)
