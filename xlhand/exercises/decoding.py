"""decoding: greedy decoding with a KV cache, the steps side by side.

A one-layer, one-head attention decoder over a small vocabulary. Step t = 1…steps takes the
current token (the start token, then each step's choice):
x_t = onehot(token), e_t = E·x_t (lookup), q_t = Wq·e_t, k_t = Wk·e_t, v_t = Wv·e_t;
the caches grow by one column: Kc_t = [Kc_{t−1} | k_t], Vc_t = [Vc_{t−1} | v_t] (earlier columns
are references to the previous cache, never recomputed);
s_t = Kc_tᵀ·q_t / √d, a_t = softmax(s_t), z_t = Vc_t·a_t, logits l_t = Wo·z_t;
greedy choice x_{t+1} = onehot(argmax l_t), tok_{t+1} its word. seq lists all tokens.
(No positional encoding: this toy decoder attends by content only.)
On the sheet the steps stand side by side, one column each, so that one copy of each weight
serves them all (weights left, inputs above): first x_t (its word beside it), e_t = E·x_t, k_t and
v_t down each step's column, E, Wk and Wv at the left, the key cache Kc_t under each column; then
the attention in columns of its own, a copy of e_t over q_t = Wq·e_t, the scores under q_t (Kc_tᵀ
left of them), their exponentials with a_t beside, z_t under a_t with the value cache Vc_t itself
left of it, and l_t under z_t, Wq and Wo at the left. Steps that do not fit across a landscape
page start a new row of steps with copies of the weights (never at the sizes small and medium).
"""
from __future__ import annotations

import numpy as np

from xlhand.model.npref import one_hot, softmax_columns as softmax
from xlhand.layout import COMPUTED, DOWN, LEFT, OUTPUT, RIGHT, UP, WEIGHT, ops
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
    # The steps stand side by side, one column each, so that ONE copy of every weight serves them
    # all (weights left, inputs above, results where row meets column), in two stages, each a band
    # of rows across the page:
    # - the lookup and the projections: x_t (its word beside it), e_t = E·x_t, k_t = Wk·e_t and
    #   v_t = Wv·e_t, with E, Wk and Wv once at the left; the key cache Kc_t under each column;
    # - the attention, in columns of its own (wider: the caches grow): a copy of e_t over
    #   q_t = Wq·e_t, the scores s_t = Kc_tᵀ·q_t/√d (Kc_tᵀ left of them), their exponentials with
    #   a_t beside (under them with a stable softmax), z_t = Vc_t·a_t under a_t with the value cache
    #   Vc_t itself as the left operand, and
    #   l_t = Wo·z_t, with Wq and Wo once at the left.
    # Steps that do not fit across a landscape page start a new row of steps under the last one,
    # with copies of the weights (none at the sizes small and medium). The greedy choice after the
    # last step stands under its logits, with the decoded sequence.
    T, dm = d.steps, d.d
    gap = _weights_gap(d)
    # a_t beside its exponentials, as the walkthrough has it; a stable softmax's e^(s − max) is a
    # wider label: beside it where the rows of steps still fit the page (without the column between
    # Wq and q_t and between Kc_tᵀ and s_t if need be), else under it
    beside = not s.settings.get("stable") or _beside_fits(d, gap)
    if not beside and _beside_fits(d, 0):
        gap, beside = 0, True
    rows = _rows_of_steps(d, gap)
    parts: dict[str, list] = {k: [] for k in ("x", "tok", "e", "k", "v", "Kc", "Vc", "ec", "q", "s", "Kt", "max",
                                              "exp", "sum", "a", "z", "l")}
    weights: dict[str, object] = {}
    logits = vocab = seq = None
    for t in range(1, T + 2):
        with s.step(_describe(t, d)):
            if t == 1:
                vocab = s.given("vocab", label="vocab")
                token = s.given("start", label="tok_1")
                x = ops.one_hot(s, "x_1", vocab, token, label="x_1 = onehot(tok_1)")
            else:  # the greedy choice of the step before
                x = ops.argmax_one_hot(s, f"x_{t}", logits, label=f"x_{t} = argmax l_{t - 1}" if t <= T else f"x_{t}")
                token = ops.word_of(s, f"tok_{t}", vocab, x, label="tok")
            parts["x"].append(x)
            parts["tok"].append(token)
            if t > T:
                seq = s.add("seq", (1, T + 1), role=OUTPUT, label="seq = the decoded tokens",
                            formula=lambda i, j: parts["tok"][j].cell(0, 0))
                break
            if any(row[0] == t for row in rows):  # a row of steps: its own weights (step 1: the givens)
                weights = {name: _weights(s, t, name) for name in ("E", "Wk", "Wv", "Wq", "Wo")}
            logits = _step(s, t, x, parts, weights, dm, gap, beside)
    for row in rows:
        _place_row(s, parts, row, d, gap, vocab if row[0] == 1 else None, beside)
    # the greedy choice after the last step, under its logits; the decoded sequence beside it
    x, tok = parts["x"][T], parts["tok"][T]
    s.place(x, below=parts["l"][T - 1], gap=0)
    s.next_to(tok, x, LEFT, gap=0, align="end")
    s.next_to(seq, tok, LEFT, gap=1, align="end")
    return parts["Kc"][-1]


def _spacing(d, last: int, gap: int) -> tuple[int, int]:
    """The columns from one step to the next in a row of steps ending with step ``last``: in the
    lookup (x_t's label, three columns; the key cache of the step before and a column between) and
    in the attention (Kc_tᵀ, d wide, ``gap`` columns left of s_t; the cache Vc_t against z_t and a
    column between it and z of the step before)."""
    return max(3, last), max(d.d + 2 + gap, last + 2, 4)


def _rows_of_steps(d, gap: int) -> list[list[int]]:
    """The steps in rows as wide as a landscape page (all in one row at the sizes small and medium)."""
    page = ops.page_columns("letter", landscape=True)
    rows: list[list[int]] = []
    for t in range(1, d.steps + 1):
        row = rows[-1] + [t] if rows else [t]
        lookup, attention = _spacing(d, t, gap)
        wide = max(d.V + 1 + (len(row) - 1) * lookup + max(3, t), d.d + gap + (len(row) - 1) * attention + 2)
        if rows and wide <= page:
            rows[-1] = row
        else:
            rows.append([t])
    return rows


def _beside_fits(d, gap: int) -> bool:
    """Whether a_t fits beside a stable softmax's e^(s − max) (two columns wide with its label) in
    every row of steps: the last step's a_t in the page's last column at most."""
    page = ops.page_columns("letter", landscape=True)
    return all(d.d + gap + (len(row) - 1) * _spacing(d, row[-1], gap)[1] + 3 <= page
               for row in _rows_of_steps(d, gap))


def _weights_gap(d) -> int:
    """A column between Wq and q_t and between Kc_tᵀ and s_t where the steps fit across the page as
    well with it (at the size small); none where it would cost a row of steps (medium), but for a
    Kc_tᵀ one column wide (its label is two)."""
    return 1 if d.d < 2 or len(_rows_of_steps(d, 1)) == len(_rows_of_steps(d, 0)) else 0


def _weights(s, t, name):
    """The weights ``name`` for a row of steps starting at step t: the given at step 1, a copy of it
    left of the row's first product after."""
    if t == 1:
        return name
    src = s.blocks[name]
    return ops.copied_part(s, f"{name}_step{t}", src, label=name)


def _step(s, t, x, parts, weights, dm, gap, beside):
    """Make the blocks of decoding step t (placed afterwards, band by band) with the row's weights
    (a copy, made with its first product, serves the rest of the row); returns l_t."""
    def product(name, weight, operand, **kw):
        block = ops.matmul_parts(s, name, [weights[weight]], operand, **kw)
        if isinstance(weights[weight], ops.Part):  # the copy it made serves the rest of the row
            weights[weight] = s.blocks[f"{weight}_step{t}"]
        return block

    e = product(f"e_{t}", "E", x, label=f"e_{t} = E·x_{t}")
    k = product(f"k_{t}", "Wk", e, label=f"k_{t}")
    v = product(f"v_{t}", "Wv", e, label=f"v_{t}")
    old_k, old_v = (parts["Kc"][-1], parts["Vc"][-1]) if t > 1 else (None, None)
    Kc = _grow(s, f"Kc_{t}", old_k, k, f"Kc_{t} = [Kc_{t - 1} | k_{t}]" if t > 1 else "Kc_1 = [k_1]")
    Vc = _grow(s, f"Vc_{t}", old_v, v, f"Vc_{t}")
    e_copy = ops.copy(s, f"q_{t}_e", e, label=f"e_{t} (copy)")
    q = product(f"q_{t}", "Wq", e_copy, label=f"q_{t}", weights_gap=gap)
    S = ops.scores(s, f"s_{t}", Kc, q, scale=dm, label=f"s_{t}", weights_gap=gap)  # s_t = Kc_tᵀ·q_t / √d
    A = ops.heat(ops.softmax(s, f"a_{t}", S, label=f"a_{t}", direction="down", z_label="s"))
    exps = s.blocks[f"a_{t}_exp"]
    z = ops.matmul(s, f"z_{t}", Vc, A, label=f"z_{t}")  # the value cache itself, left of z_t
    # l_t under z_t, in the column of a_t: beside the exponentials, or under them (a stable
    # softmax's e^(s − max) is a wider label), in s_t's column, where Wo stands closer
    logits = product(f"l_{t}", "Wo", z, label=f"l_{t}", weights_gap=1 if beside else gap)
    # (the max row under the scores of a stable softmax, the Σ row under the exponentials)
    for key, block in (("e", e), ("k", k), ("v", v), ("Kc", Kc), ("Vc", Vc), ("ec", e_copy), ("q", q),
                       ("s", S), ("Kt", s.blocks[f"s_{t}_Kt"]), ("max", s.blocks.get(f"a_{t}_max")),
                       ("exp", exps), ("sum", s.blocks[f"a_{t}_sum"]), ("a", A), ("z", z), ("l", logits)):
        parts[key].append(block)
    return logits


def _place_row(s, parts, row, d, gap, vocab, beside):
    """Place a row of steps, band by band, under the rows before: the lookup and projections in
    columns three (or more) apart, then the attention in columns far enough apart for the widest of
    its bands, each band right under the one before (its label row between; an empty row where a
    page may break: under the projections, the key caches and the scores)."""
    first, steps = row[0], [t - 1 for t in row]
    x, tok, e, k, v, Kc, Vc, ec, q, S, Kt, maxima, exps, sums, A, z, l = (
        [parts[key][i] for i in steps]
        for key in ("x", "tok", "e", "k", "v", "Kc", "Vc", "ec", "q", "s", "Kt", "max", "exp", "sum", "a", "z", "l"))
    lookup, attention = _spacing(d, row[-1], gap)
    E, Wq = (s.blocks[name] if first == 1 else s.blocks[f"{name}_step{first}"] for name in ("E", "Wq"))
    # the lookup and projections: the row's first step down one column, E, Wk and Wv left of it
    if first > 1:  # under the rows before, in the columns of step 1
        s.place(x[0], below=s.together(parts["l"][:first - 1]), in_columns_of=parts["x"][0], gap=1)
    s.place(e[0], below=x[0], gap=0)
    s.place(k[0], below=e[0], gap=0)
    s.place(v[0], below=k[0], gap=0)
    if vocab is not None:
        s.next_to(vocab, E, UP, gap=0)  # the words over E's columns
        s.place(tok[0], left_of=x[0], gap=0)
    else:
        s.next_to(tok[0], x[0], LEFT, gap=0, align="end")
    for i in range(1, len(row)):  # then each step a few columns right of the one before
        s.place(k[i], right_of=k[i - 1], gap=lookup - 1)
        s.place(e[i], above=k[i], gap=0)
        s.place(x[i], above=e[i], gap=0)
        s.place(v[i], below=k[i], gap=0)
        s.next_to(tok[i], x[i], LEFT, gap=0, align="end")  # its word at the one-hot's foot
    for i in range(len(row)):  # each key cache under its step's column (a row between: a page may break)
        s.place(Kc[i], below=v[i], gap=1)
    # the attention: the row's first step d (+ gap) columns in from the left edge (Wq, Kc_tᵀ, Wo there)
    s.place(q[0], below=ec[0], gap=0)
    s.next_to(s.together([ec[0], q[0], Wq]), s.together([*Kc, E]), DOWN, gap=1)
    for i in range(len(row)):
        if i:
            s.place(q[i], right_of=q[i - 1], gap=attention - 1)
            s.place(ec[i], above=q[i], gap=0)
        s.place(S[i], below=q[i], gap=0)
    scores = s.together(S + Kt + [m for m in maxima if m is not None])
    for i in range(len(row)):
        s.place(A[i], below=scores, in_columns_of=S[i], gap=1)
        if beside:  # the weights beside the exponentials they divide (else under them)
            s.next_to(A[i], exps[i], RIGHT, gap=0)
    softmaxes = s.together(A + exps + sums)
    for i, t in enumerate(row):
        s.place(z[i], below=softmaxes, in_columns_of=A[i], gap=0)
        s.place(Vc[i], left_of=z[i], gap=0 if t > 1 else 1)  # the cache itself, the left operand of z_t
        s.place(l[i], below=z[i], gap=0)


def _describe(t: int, d) -> str:
    if t == 1:
        return (f"Step 1: e = E·x, k/v/q = Wk/Wv/Wq·e, caches Kc = [k], Vc = [v]; s = Kcᵀ·q/√{d.d}, "
                "a = softmax(s), z = Vc·a, l = Wo·z")
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
