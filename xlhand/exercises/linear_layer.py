"""linear-layer: one fully connected layer, Z = W·X + b, as PyTorch's nn.Linear(n_in, n_out).

W (n_out × n_in) left of Z, X (n_in × batch) above Z, b as W's last column against a row of 1s
under X. Then the layer's size, counted by formulas: n_out·n_in + n_out parameters, and
n_out·n_in multiplications per sample.

Inverse items (dim `items`: item 1 is the layer above, items 2, 3, … inverse items, as the
dot-product drills have): the output Y = W·X + b is given, of the same sizes, and one entry is
missing, in turn of W (items 2, 5, …), of b (3, 6, …) and of X (4, 7, …), anywhere in its matrix:
item k's hole is entry number 7·k mod (rows·cols), row by row. A hole at W[r, c] appears in row r
of Y with coefficient X[c, q]; the key solves it from the first column q with X[c, q] ≠ 0:
x = (Y[r, q] − Σ_{l≠c} W[r, l]·X[l, q] − b[r]) / X[c, q]. A hole at b[r]: x = Y[r, 1] − Σ_l W[r, l]·X[l, 1].
A hole at X[r, c]: from the first row i with W[i, r] ≠ 0, x = (Y[i, c] − Σ_{l≠r} W[i, l]·X[l, c] − b[i]) / W[i, r].
Givens of inverse items: Wi, bi, Xi where whole; the pieces around a hole, row by row, Wiu (rows
above), Wil, Wir (its row, left and right of it), Wid (rows below), likewise biu, bid, Xiu, Xil,
Xir, Xid; the output Yi, derived from the others with a small x in the hole; miss_k the answer.
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import BIAS, COMPUTED, DOWN, LEFT, OUTPUT, TARGET, UP, WEIGHT, ops
from xlhand.model.exercise import Exercise, Source
from xlhand.model.npref import has_both_signs
from xlhand.model.givens import Given
from xlhand.layout import fx
from xlhand.errors import XlhandError

KINDS = ("W", "b", "X")  # inverse item k's missing entry: KINDS[(k − 2) % 3]
PIECES = ("u", "l", "r", "d")
MAX_ITEMS = 10


def reference(d, p):
    out = dict(Z=p.W @ p.X + p.b, nparams=np.array(p.W.size + p.b.size, dtype=float),
               nmults=np.array(p.W.size * p.X.shape[1], dtype=float))
    for k in range(2, d.get("items", 1) + 1):
        out[f"miss_{k}"] = np.array([[solve(d, p, k)]])
    return out


# --- inverse items -------------------------------------------------------------------------------
def kind(k: int) -> str:
    return KINDS[(k - 2) % 3]


def shapes(d) -> dict[str, tuple[int, int]]:
    return {"W": (d["n_out"], d["n_in"]), "b": (d["n_out"], 1), "X": (d["n_in"], d["batch"]),
            "Y": (d["n_out"], d["batch"])}


def hole(d, k: int) -> tuple[int, int]:
    rows, cols = shapes(d)[kind(k)]
    at = (7 * k) % (rows * cols)
    return at // cols, at % cols


def piece_shapes(rows, cols, where):
    r, c = where
    out = {"u": (r, cols), "l": (1, c), "r": (1, cols - c - 1), "d": (rows - r - 1, cols)}
    return {q: s for q, s in out.items() if s[0] and s[1]}


def _inverse_items(d):
    return range(2, d["items"] + 1)


def _whole_items(name):
    def items(d):
        return {k: shapes(d)[name] for k in _inverse_items(d) if kind(k) != name}
    return items


def _piece_items(name, q):
    def items(d):
        out = {}
        for k in _inverse_items(d):
            if kind(k) == name:
                found = piece_shapes(*shapes(d)[name], hole(d, k))
                if q in found:
                    out[k] = found[q]
        return out
    return items


def _y_items(d):
    return {k: shapes(d)["Y"] for k in _inverse_items(d)}


def _value(p, d, given, k):
    keys = list(EXERCISE.given(given).items(d))
    return np.asarray(p[given][keys.index(k)], dtype=float) if k in keys else None


def matrix(p, d, name, k, x=np.nan):
    """Item k's W, b or X: given whole, or joined from the pieces around its hole with x in it."""
    whole = _value(p, d, f"{name}i", k)
    if whole is not None:
        return whole
    rows, cols = shapes(d)[name]
    r, c = hole(d, k)
    M = np.full((rows, cols), np.nan)
    M[r, c] = x
    for q, (h, w) in piece_shapes(rows, cols, (r, c)).items():
        top, left = {"u": (0, 0), "l": (r, 0), "r": (r, c + 1), "d": (r + 1, 0)}[q]
        M[top:top + h, left:left + w] = _value(p, d, f"{name}i{q}", k)
    return M


def equation(d, p, k):
    """(Y's entry (i, q), the place of x's coefficient as (name, row, col)) of the equation that gives
    item k's missing entry; the coefficient is None where every candidate is 0."""
    r, c = hole(d, k)
    if kind(k) == "W":
        X = matrix(p, d, "X", k)
        q = next((q for q in range(X.shape[1]) if X[c, q] != 0), None)
        return (r, q), (None if q is None else ("X", c, q))
    if kind(k) == "b":
        return (r, 0), "one"
    W = matrix(p, d, "W", k)
    i = next((i for i in range(W.shape[0]) if W[i, r] != 0), None)
    return (i, c), (None if i is None else ("W", i, r))


def solve(d, p, k) -> float:
    """Item k's missing entry from the math: x times its coefficient is Y's entry minus the known terms."""
    (i, q), coef = equation(d, p, k)
    if coef is None:
        return float("nan")
    W, b, X = (matrix(p, d, n, k, 0.0) for n in ("W", "b", "X"))
    Y = _value(p, d, "Yi", k)
    known = W[i] @ X[:, q] + b[i, 0]  # with 0 in the hole: every term but x's
    return float((Y[i, q] - known) / (1.0 if coef == "one" else {"W": W, "X": X}[coef[0]][coef[1], coef[2]]))


def _coefficient_problem(d, p, k) -> str | None:
    if equation(d, p, k)[1] is not None:
        return None
    r, c = hole(d, k)
    if kind(k) == "W":
        return (f"item {k}: row {c + 1} of X is all 0, so no entry of Y determines the missing W[{r + 1},{c + 1}]; "
                "change Xi")
    return (f"item {k}: column {r + 1} of W is all 0, so no entry of Y determines the missing X[{r + 1},{c + 1}]; "
            "change Wi")


def checks(d, p) -> str | None:
    """Every missing entry has an equation, and the given Y agrees with the solved entry everywhere."""
    for k in _inverse_items(d):
        problem = _coefficient_problem(d, p, k)
        if problem:
            return problem
        x = solve(d, p, k)
        W, b, X = (matrix(p, d, n, k, x) for n in ("W", "b", "X"))
        Y = _value(p, d, "Yi", k)
        if not np.allclose(W @ X + b, Y, rtol=1e-9, atol=1e-9):
            i, q = np.argwhere(~np.isclose(W @ X + b, Y, rtol=1e-9, atol=1e-9))[0]
            return (f"block 'Yi' item {k}: no value of the missing entry gives this output (Y[{i + 1}][{q + 1}] is "
                    f"{Y[i, q]:g}, W·X + b gives {(W @ X + b)[i, q]:g})")
    return None


def layout(s, d, p):
    with s.group() as layer:
        _layer(s, d)
    s.arrange([layer] + [_inverse_item(s, d, p, k) for k in _inverse_items(d)], DOWN, gap=1)


def _layer(s, d):
    with s.step(f"Z = W·X + b: each cell is one row of [W | b] times one column of [X; 1] "
                f"(nn.Linear({d.n_in}, {d.n_out}))"):
        X = s.given("X", label="X (one sample per column)")
        ops.linear(s, "Z", "W", X, "b", role=OUTPUT, label="Z = W·X + b")
    W, b, ones = s.blocks["W"], s.blocks["b"], ops.ones_row(s, X)
    with s.step("Count: parameters = entries of W and b; multiplications = entries of W × samples"):
        n = s.add("nparams", (1, 1), role=COMPUTED, label="parameters",
                  formula=lambda i, j: f"COUNT({W.range()})+COUNT({b.range()})")
        s.place(n, below=W)
        s.place(s.add("nmults", (1, 1), role=COMPUTED, label="multiplications",
              formula=lambda i, j: f"COUNT({W.range()})*COUNT({ones.range()})"), right_of=n)


def _inverse_item(s, d, p, k):
    """X above Y, [W | b] left of Y as in the layer above; the matrix with the hole made of its
    pieces with x, solved by formula, in it."""
    what = kind(k)
    r, c = hole(d, k)
    where = f"b[{r + 1}]" if what == "b" else f"{what}[{r + 1},{c + 1}]"
    with s.step(f"Item {k} (inverse): Y = W·X + b is given, {where} is missing; find x from an entry of Y"), \
            s.group() as item:
        Y = s.given("Yi", index=k, label="Y = W·X + b given")
        cells = {}
        parts = {}
        for name, label in (("X", "X"), ("W", "W"), ("b", "b")):
            if name != what:
                block = s.given(f"{name}i", index=k, label=label)
                parts[name], cells[name] = block, (lambda i, q, block=block: block.cell(i, q))
        parts[what], cells[what] = _holed(s, d, p, k, what, what, cells, Y)
        s.next_to(parts["X"], Y, UP)
        s.next_to(parts["b"], Y, LEFT)
        s.next_to(parts["W"], parts["b"], LEFT, gap=0)
    return item


def _holed(s, d, p, k, name, label, cells, Y):
    """Item k's ``name`` from its pieces (givens <name>iu, l, r, d) with x in the hole, row by row;
    returns the group and its cells (i, q) -> address. A shared step with matmul's single products:
    a candidate for ops."""
    rows, cols = shapes(d)[name]
    r, c = hole(d, k)
    found = piece_shapes(rows, cols, (r, c))
    pieces = {}
    labels = [label]

    def first_label():
        return labels.pop() if labels else ""

    def piece(q, **where):
        values = s.params[f"{name}i{q}"][list(s.specs[f"{name}i{q}"].items(s.dims)).index(k)]
        pieces[q] = s.add(f"{name}i{q}_{k}", found[q], role=s.specs[f"{name}i{q}"].role, label=first_label(),
                          values=values)
        return s.place(pieces[q], **where) if where else pieces[q]

    def cell(i, q):
        if (i, q) == (r, c):
            return x.cell(0, 0)
        if i < r:
            return pieces["u"].cell(i, q)
        if i > r:
            return pieces["d"].cell(i - r - 1, q)
        return pieces["l"].cell(0, q) if q < c else pieces["r"].cell(0, q - c - 1)

    cells = {**cells, name: cell}
    with s.group() as group:
        above = piece("u") if "u" in found else None
        start = {} if above is None else {"adjoining": above}  # straight under, no label row between
        left = piece("l", **start) if "l" in found else None
        x = s.add(f"miss_{k}", (1, 1), role=OUTPUT, label=first_label(),
                  formula=lambda i_, q_: _solve_formula(d, p, k, cells, Y))
        if left is not None:
            s.place(x, right_of=left, gap=0)
        elif start:
            s.place(x, **start)
        right = piece("r", right_of=x, gap=0) if "r" in found else None
        if "d" in found:
            piece("d", adjoining=left if left is not None else x)
        if right is None and name != "W":
            s.note_right(x, "← x")
    return group, cell


def _solve_formula(d, p, k, cells, Y) -> str:
    """x = (Y[i, q] − Σ known W[i, l]·X[l, q] − b[i]) / coefficient, the equation of ``equation``."""
    (i, q), coef = equation(d, p, k)
    what = kind(k)
    r, c = hole(d, k)
    terms = [(l_, cells["W"](i, l_), cells["X"](l_, q)) for l_ in range(d["n_in"])]
    if what == "W":
        terms = [t for t in terms if t[0] != c]
    elif what == "X":
        terms = [t for t in terms if t[0] != r]
    known = fx.dot([a for _, a, _ in terms], [b for _, _, b in terms])
    rest = f"{Y.cell(i, q)}-({known})" if known else Y.cell(i, q)
    if what == "b":
        return rest
    rest = f"{rest}-{cells['b'](i, 0)}"
    return fx.div(rest, cells[coef[0]](coef[1], coef[2]))


def instructive(d, p) -> bool:
    """Outputs of both signs and no output left equal to its bias alone; inverse items' outputs small."""
    Z = reference(d, p)["Z"]
    if any(np.abs(_value(p, d, "Yi", k)).max() > 20 for k in _inverse_items(d)):
        return False
    return bool(has_both_signs(Z) and np.abs(Z).max() <= 20 and not (p.W == 0).all(axis=1).any())


def _nonzero(rng, items, dims):
    """Whole numbers −2, −1, 1, 2: no 0, so every entry of Y holds the missing entry it could."""
    return [rng.choice([-2.0, -1.0, 1.0, 2.0], size=shape) for shape in items.values()]


def _derive_outputs(rng, items, d, p):
    """Y = W·X + b with a small non-zero x (−3…3) in the hole (refused in one line when no entry of Y
    could determine it)."""
    out = []
    for k in items:
        problem = _coefficient_problem(d, p, k)
        if problem:
            raise XlhandError(problem)
        x = float(rng.choice([-3, -2, -1, 1, 2, 3]))
        W, b, X = (matrix(p, d, n, k, x) for n in ("W", "b", "X"))
        out.append(W @ X + b)
    return out


WORDS = {"u": "the rows above it", "l": "its row, left of it", "r": "its row, right of it", "d": "the rows below it"}


def _inverse_givens():
    roles = {"W": "weight", "b": "bias", "X": "given"}
    out = [Given(f"{n}i", stack=_whole_items(n), role=roles[n], make=_nonzero,
                 describe=f"inverse items' {n}, given whole") for n in ("X", "W", "b")]
    for n in ("X", "W", "b"):
        out += [Given(f"{n}i{q}", stack=_piece_items(n, q), role=roles[n], make=_nonzero,
                      describe=f"{n} around its missing entry: {WORDS[q]}") for q in PIECES]
    out.append(Given("Yi", stack=_y_items, role=TARGET, derive=_derive_outputs,
                     describe="inverse items' given output Y = W·X + b"))
    return out


EXERCISE = Exercise(
    name="linear-layer",
    title="A linear layer: Z = W·X + b",
    source=Source(
        paper="Rosenblatt (1958), The perceptron, Psychological Review 65(6)",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Linear Layer"),
    dims={"n_in": "input features", "n_out": "output features", "batch": "samples (columns)",
          "items": "items on the sheet: the layer, then inverse items (one entry of W, b or X missing)"},
    presets={
        "small": dict(n_in=3, n_out=2, batch=2, items=1),
        "medium": dict(n_in=4, n_out=3, batch=3, items=1),
        "large": dict(n_in=8, n_out=5, batch=4, items=1),
    },
    givens=[
        Given("X", ("n_in", "batch"), low=-2, high=3),
        Given("W", ("n_out", "n_in"), role=WEIGHT, low=-2, high=2),
        Given("b", ("n_out", 1), role=BIAS, low=-2, high=2),
        *_inverse_givens(),
    ],
    reference=reference,
    layout=layout,
    limits={"n_in": (1, 16), "n_out": (1, 16), "batch": (1, 12), "items": (1, MAX_ITEMS)},
    checks=checks,
    accept=instructive,
)
