"""matmul: a workbook of matrix-product drills: single products C = A·B of any shape (dims m, k, n),
then chained products, items of growing size, every second an inverse item.

Single products ("products", dim `singles`): product j multiplies A_j (m×k) by B_j (k×n), A left of
C, B above C. They come in fours: j = 1, 5, … forward (C computed, each cell a row times a column);
j = 2, 6, … one entry of A missing; j = 3, 7, … one entry of B missing; j = 4, 8, … one entry of
the result C missing (the others given). The missing entry may stand anywhere: product j's hole is
entry number 7·j mod (rows·cols), row by row, of the matrix it is in. A hole x at A[r, c] appears in
row r of C with coefficient B[c, q] for every column q; the key solves it from the first column q
with B[c, q] ≠ 0: x = (C[r, q] − Σ_{l≠c} A[r, l]·B[l, q]) / B[c, q]. Likewise a hole at B[r, c] from
the first row i with A[i, r] ≠ 0: x = (C[i, c] − Σ_{l≠r} A[i, l]·B[l, c]) / A[i, r]; a hole at
C[r, c] is the dot product x = Σ_l A[r, l]·B[l, c]. A matrix with a hole is given as the pieces
around it, row by row: NAMEu (the rows above), NAMEl and NAMEr (its row, left and right of the
hole), NAMEd (the rows below), each present only when not empty (SA, SB, SC: the products' A, B
and C; SAB_j the computed product of a forward drill, sx_j a missing entry). The given results (SC
and C's pieces) are derived from A and B with a small x in the hole, never taken from the template
(whose A and B may not fit another size); a params file that gives them must agree with the solved
entry everywhere (checked, a one-line refusal otherwise).

Item k multiplies a chain A·B·C (later items A·B·C·D) from left to right: A stands left of AB, B
above AB; AB then stands left of ABC with C above it, and so on, so each intermediate takes its
rows from the left and its columns from the factor above. In an inverse item the chain's result
R is given and the bottom-right entry x of the last factor is missing; from R's first row,
R[0, q] = Σ_{l<p} P[0, l]·F[l, q] + P[0, p]·x (P the product of the factors before the last,
F the last factor, x = F[p, q]), so the key solves x = (R[0, q] − Σ_{l<p} P[0, l]·F[l, q]) / P[0, p].
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import DOWN, GIVEN, OUTPUT, RIGHT, UP, ops
from xlhand.model.exercise import Exercise, Source
from xlhand.model.givens import Given
from xlhand.layout import fx
from xlhand.errors import XlhandError

# Item k's chain as the sizes n_0, n_1, …: factor j is n_j × n_{j+1}. Odd items forward, even inverse.
CHAINS = (
    (2, 2, 2, 2),
    (2, 3, 2, 2),
    (2, 3, 2, 3),
    (3, 2, 3, 2),
    (2, 3, 2, 2, 3),
    (3, 2, 3, 2, 2),
    (3, 4, 2, 3, 2),
    (2, 3, 4, 2, 3),
)
LETTERS = "ABCD"


def inverse(k: int) -> bool:
    return k % 2 == 0


def factors(k: int) -> list[tuple[str, int, int]]:
    """(letter, rows, cols) of each factor of item k."""
    n = CHAINS[k - 1]
    return [(LETTERS[j], n[j], n[j + 1]) for j in range(len(n) - 1)]


def _stack(letter: str):
    """Item shapes of one factor letter; an inverse item's last factor loses its last row here."""
    def items(d):
        out = {}
        for k in range(1, d["items"] + 1):
            fs = factors(k)
            for j, (name, rows, cols) in enumerate(fs):
                if name == letter:
                    last = inverse(k) and j == len(fs) - 1
                    out[k] = (rows - 1, cols) if last else (rows, cols)
        return out
    return items


def _last_row_stack(letter: str):
    """An inverse item's last factor: its last row without the missing entry (1 × cols−1)."""
    def items(d):
        return {k: (1, factors(k)[-1][2] - 1) for k in range(1, d["items"] + 1)
                if inverse(k) and factors(k)[-1][0] == letter}
    return items


def _r_items(d):
    return {k: (CHAINS[k - 1][0], CHAINS[k - 1][-1]) for k in range(1, d["items"] + 1) if inverse(k)}


def _item(p, d, k, name):
    """Given ``name`` of item k (the list holds only the items that have it)."""
    given = {g.name: g for g in EXERCISE.givens}[name]
    return p[name][list(given.items(d)).index(k)]


def _chain(d, p, k, x=None):
    """The factors of item k as full matrices (an inverse item's missing entry set to x) and its products."""
    fs = factors(k)
    mats = []
    for j, (letter, rows, cols) in enumerate(fs):
        if inverse(k) and j == len(fs) - 1:
            last = np.append(_item(p, d, k, f"{letter}r"), [[np.nan if x is None else x]], axis=1)
            mats.append(np.vstack([_item(p, d, k, letter), last]))
        else:
            mats.append(_item(p, d, k, letter))
    products = [mats[0]]
    for m in mats[1:]:
        products.append(products[-1] @ m)
    return mats, products[1:]


def _names(k: int) -> list[str]:
    """Names of item k's products: AB_k, ABC_k, …"""
    letters = "".join(f[0] for f in factors(k))
    return [f"{letters[:j + 1]}_{k}" for j in range(1, len(letters))]


def _solve(d, p, k):
    """The inverse item's missing entry from R's first row (P·F = R, x = F[p, q])."""
    mats, products = _chain(d, p, k, x=0.0)
    P = products[-2] if len(products) > 1 else mats[0]
    F = mats[-1]
    R = _item(p, d, k, "R")
    pr, q = F.shape[0] - 1, F.shape[1] - 1
    coef = P[0, pr]
    return ((R[0, q] - P[0, :pr] @ F[:pr, q]) / coef if coef != 0 else np.nan), coef


def reference(d, p):
    out = product_reference(d, p)
    for k in range(1, d["items"] + 1):
        names = _names(k)
        if inverse(k):
            _, products = _chain(d, p, k, x=0.0)
            for name, prod in zip(names[:-1], products[:-1]):
                out[name] = prod
            out[f"x_{k}"] = np.array([[_solve(d, p, k)[0]]])
        else:
            _, products = _chain(d, p, k)
            out.update(zip(names, products))
    return out


def layout(s, d, p):
    products = _products(s, d, p)
    chains = []
    for k in range(1, d["items"] + 1):
        fs = factors(k)
        names = _names(k)
        chain = "·".join(f"{f[0]}" for f in fs)
        if inverse(k):
            title = f"Item {k} (inverse): R = {chain} is given; find x, the missing entry of {fs[-1][0]}"
        else:
            title = f"Item {k}: {chain}, " + ", then ".join(names) + " (each from its left and upper neighbour)"
        with s.step(title), s.group() as item:
            _chain_item(s, k, fs, names)
        chains.append(item)
    s.arrange(products + chains, DOWN, gap=1)


def _chain_item(s, k, fs, names):
    """A_k at the left; each product right of the one before (its rows), its factor above it (its columns)."""
    m = fs[0][1]
    left = s.given("A", index=k, label=f"A_{k} ({m}×{fs[0][2]})")
    for j, (letter, rows, cols) in enumerate(fs[1:], start=1):
        last = j == len(fs) - 1
        if last and inverse(k):
            _inverse_tail(s, k, letter, rows, cols, left)
            return
        factor = s.given(letter, index=k, label=f"{letter}_{k} ({rows}×{cols})")
        name = names[j - 1]
        left = s.place(ops.matmul(s, name, left, factor, role="output" if last else "computed",
                          label=f"{name} ({left.rows}×{cols})"), right_of=left)
        s.next_to(factor, left, UP)


def _inverse_tail(s, k, letter, rows, cols, P):
    """The last product of an inverse item: R given right of P, above it the last factor with its
    bottom-right entry x missing (its last row given apart, x solved from R's first row)."""
    R = s.given("R", index=k, label=f"R_{k} ({P.rows}×{cols}) given")
    s.place(R, right_of=P)
    with s.group() as factor:
        F = s.given(letter, index=k, label=f"{letter}_{k} ({rows}×{cols})")
        Fr = s.add(f"{letter}r_{k}", (1, cols - 1), role=GIVEN, label="", values=_values(s, f"{letter}r", k))
        s.place(Fr, below=F)
        s.next_to(Fr, F, DOWN, gap=0)  # F's last row
        pr = rows - 1
        x = ops.solve_dot(s, f"x_{k}", [(P, 0, l) for l in range(pr)], [(F, l, cols - 1) for l in range(pr)],
                          (P, 0, pr), (R, 0, cols - 1), role=OUTPUT, label="")
        s.place(x, right_of=Fr, gap=0)
        s.note_right(x, "← x")
    s.next_to(factor, R, UP)


def _values(s, name, k):
    spec = s.specs[name]
    return s.params[name][list(spec.items(s.dims)).index(k)]


def _derive_results(rng, items, d, p):
    """Each inverse item's R: the chain's product with a small non-zero x in the missing place."""
    return [_chain(d, p, k, x=float(rng.choice([-3, -2, -1, 1, 2, 3])))[1][-1] for k in items]


def checks(d, p) -> str | None:
    problem = product_checks(d, p)
    if problem:
        return problem
    for k in _r_items(d):
        x, coef = _solve(d, p, k)
        if coef == 0:
            return (f"item {k}: the first row of the product before {factors(k)[-1][0]}_{k} has a 0 where it "
                    f"meets the missing entry, so R_{k} cannot determine it; change A_{k} or B_{k}")
        _, products = _chain(d, p, k, x=x)
        R = _item(p, d, k, "R")
        if not np.allclose(products[-1], R, rtol=1e-9, atol=1e-9):
            i, j = np.argwhere(~np.isclose(products[-1], R, rtol=1e-9, atol=1e-9))[0]
            return (f"block 'R' item {k}: no value of the missing entry gives this result "
                    f"(entry [{i + 1}][{j + 1}] is {R[i, j]:g}, the chain gives {products[-1][i, j]:g})")
    return None


def instructive(d, p) -> bool:
    """No intermediate is all zeros or too large to work by hand. (Inverse items are solvable by
    construction: chain factors are drawn again while the missing entry's coefficient is 0, single
    products' entries are never 0, the given results are derived; a params file that breaks this is
    refused by checks with its reason, not by a vain search for numbers.)"""
    for value in reference(d, p).values():
        if np.abs(value).max() > 40 or (value.size > 1 and not value.any()):
            return False
    return True


def _factor(letter):
    return Given(letter, stack=_stack(letter), derive=_draw_factor(letter))


def _draw_factor(letter):
    """Each item's factor in whole numbers −2…2, drawn after the factors left of it and drawn again
    (at most 20 times) while the running product would be all zeros or hold a number beyond ±40,
    or, as the factor before an inverse item's last, would give the missing entry a coefficient
    of 0. Independent draws make long chains too large or unsolvable more often than not."""
    def derive(rng, items, d, p):
        """Whole numbers −2…2, each item's factor drawn again while the chain so far would be all
        zeros, beyond ±40, or leave an inverse item's missing entry without a single answer."""
        out = []
        for k, shape in items.items():
            left = _left_product(d, p, k, letter)
            for _ in range(20):
                M = rng.integers(-2, 3, size=shape).astype(float)
                if left is None or left.shape[1] != M.shape[0] or _readable(k, letter, left @ M):
                    break
            out.append(M)
        return out

    return derive


def _left_product(d, p, k, letter):
    """The product of the factors left of ``letter`` in item k (None for the first)."""
    before = [name for name, _, _ in factors(k)][:LETTERS.index(letter)]
    if not before:
        return None
    product = _item(p, d, k, before[0])
    for name in before[1:]:
        product = product @ _item(p, d, k, name)
    return product


def _readable(k, letter, product) -> bool:
    fs = factors(k)
    before_last = inverse(k) and len(fs) >= 2 and fs[-2][0] == letter
    return bool(product.any() and np.abs(product).max() <= 40 and not (before_last and product[0, -1] == 0))




# --- single products of any shape, the missing entry anywhere ------------------------------------
def _product_givens():
    """SA, SB (whole, in −2…2 without 0), the pieces around a hole (likewise), SC (the given results, derived
    with a small non-zero x in the hole), SC's pieces around its hole (derived: A·B)."""
    out = []
    for letter in "AB":
        out.append(Given(f"S{letter}", stack=_full_items(letter), make=_nonzero_entries,
                         describe=f"single products' {letter}, given whole"))
    for letter in "AB":
        out += [Given(f"S{letter}{q}", stack=_piece_items(letter, q), make=_nonzero_entries,
                      describe=f"{letter} around its missing entry: {PIECE_WORDS[q]}") for q in PIECES]
    out.append(Given("SC", stack=_full_items("C"), derive=_derive_products,
                     describe="single products' results, given (an entry of A or B missing)"))
    out += [Given(f"SC{q}", stack=_piece_items("C", q), derive=_derive_c_piece(q),
                  describe=f"C around its missing entry: {PIECE_WORDS[q]}") for q in PIECES]
    return out


def _nonzero_entries(rng, items, dims):
    """Whole numbers −2, −1, 1, 2: no 0, so every entry of C holds every entry of A's row and B's column
    (a missing entry is found from the first equation that holds it)."""
    return [rng.choice([-2.0, -1.0, 1.0, 2.0], size=shape) for shape in items.values()]


PIECE_WORDS = {"u": "the rows above it", "l": "its row, left of it", "r": "its row, right of it",
               "d": "the rows below it"}


def _derive_products(rng, items, d, p):
    """Each given C: A·B with a small non-zero x (−3…3) in the missing place of A or B (refused at once,
    in one line, when A or B leave the missing entry without an equation: no C could help)."""
    out = []
    for j in items:
        problem = _coefficient_problem(d, p, j)
        if problem:
            raise XlhandError(problem)
        x = float(rng.choice([-3, -2, -1, 1, 2, 3]))
        A = _matrix(p, d, "A", j, x if kind(j) == "A" else None)
        B = _matrix(p, d, "B", j, x if kind(j) == "B" else None)
        out.append(A @ B)
    return out


def _derive_c_piece(q):
    def derive(rng, items, d, p):
        """C = A·B around its missing entry."""
        return [split(_matrix(p, d, "A", j) @ _matrix(p, d, "B", j), hole(d, j))[q] for j in items]
    return derive


def _coefficient_problem(d, p, j) -> str | None:
    """Why product j's missing entry in A or B has no equation (every coefficient 0), or None."""
    what = kind(j)
    if what not in ("A", "B") or _equation(d, p, j) is not None:
        return None
    r, c = hole(d, j)
    other = "B" if what == "A" else "A"
    where = f"row {c + 1} of B_{j}" if what == "A" else f"column {r + 1} of A_{j}"
    return (f"product {j}: {where} is all 0, so no entry of C_{j} determines the missing "
            f"{what}[{r + 1},{c + 1}]; change S{other}")


def product_checks(d, p) -> str | None:
    """Every A or B hole has a non-zero coefficient, and the given entries of C agree with the solved x."""
    for j in range(1, d["singles"] + 1):
        what = kind(j)
        if what == "forward":
            continue
        problem = _coefficient_problem(d, p, j)
        if problem:
            return problem
        x = solve_product(d, p, j)
        A = _matrix(p, d, "A", j, x if what == "A" else None)
        B = _matrix(p, d, "B", j, x if what == "B" else None)
        C = _matrix(p, d, "C", j, x if what == "C" else None)
        if not np.allclose(A @ B, C, rtol=1e-9, atol=1e-9):
            i, q = np.argwhere(~np.isclose(A @ B, C, rtol=1e-9, atol=1e-9))[0]
            return (f"block 'SC' product {j}: no value of the missing entry gives this result (C[{i + 1}][{q + 1}] "
                    f"is {C[i, q]:g}, A·B gives {(A @ B)[i, q]:g})")
    return None


KINDS = ("forward", "A", "B", "C")  # product j's kind: KINDS[(j − 1) % 4]
PIECES = ("u", "l", "r", "d")  # rows above the hole, left of it, right of it, rows below


def kind(j: int) -> str:
    return KINDS[(j - 1) % 4]


def product_shapes(d) -> dict[str, tuple[int, int]]:
    return {"A": (d["m"], d["k"]), "B": (d["k"], d["n"]), "C": (d["m"], d["n"])}


def hole(d, j: int) -> tuple[int, int] | None:
    """Where product j's missing entry stands in the matrix it is in (None for a forward product)."""
    if kind(j) == "forward":
        return None
    rows, cols = product_shapes(d)[kind(j)]
    at = (7 * j) % (rows * cols)
    return at // cols, at % cols


def piece_shapes(rows: int, cols: int, where: tuple[int, int]) -> dict[str, tuple[int, int]]:
    """The non-empty pieces of a rows×cols matrix around the hole ``where``."""
    r, c = where
    shapes = {"u": (r, cols), "l": (1, c), "r": (1, cols - c - 1), "d": (rows - r - 1, cols)}
    return {p: shape for p, shape in shapes.items() if shape[0] and shape[1]}


def split(M: np.ndarray, where: tuple[int, int]) -> dict[str, np.ndarray]:
    r, c = where
    parts = {"u": M[:r], "l": M[r:r + 1, :c], "r": M[r:r + 1, c + 1:], "d": M[r + 1:]}
    return {p: m for p, m in parts.items() if m.size}


def join(pieces: dict[str, np.ndarray], shape: tuple[int, int], where: tuple[int, int], x: float) -> np.ndarray:
    """The matrix of ``shape`` from its pieces around ``where``, with x in the hole."""
    r, c = where
    M = np.zeros(shape)
    M[r, c] = x
    for p, (rows, cols) in piece_shapes(*shape, where).items():
        top, left = {"u": (0, 0), "l": (r, 0), "r": (r, c + 1), "d": (r + 1, 0)}[p]
        M[top:top + rows, left:left + cols] = pieces[p]
    return M


def _full_items(letter):
    """Products whose ``letter`` matrix is given whole: all but the one with its hole (and, for C,
    the forward products, where C is computed)."""
    def items(d):
        shape = product_shapes(d)[letter]
        return {j: shape for j in range(1, d["singles"] + 1)
                if kind(j) != letter and not (letter == "C" and kind(j) == "forward")}
    return items


def _piece_items(letter, piece):
    def items(d):
        out = {}
        for j in range(1, d["singles"] + 1):
            if kind(j) == letter:
                shapes = piece_shapes(*product_shapes(d)[letter], hole(d, j))
                if piece in shapes:
                    out[j] = shapes[piece]
        return out
    return items


def _product_value(p, d, name, j):
    """Given ``name`` of product j, or None where product j does not have it."""
    keys = list(EXERCISE.given(name).items(d))
    return p[name][keys.index(j)] if j in keys else None


def _matrix(p, d, letter, j, x=None):
    """Product j's ``letter`` matrix: given whole, or joined from its pieces with x in the hole."""
    whole = _product_value(p, d, f"S{letter}", j)
    if whole is not None:
        return np.asarray(whole, dtype=float)
    if kind(j) != letter:
        return None
    pieces = {q: _product_value(p, d, f"S{letter}{q}", j) for q in PIECES}
    return join({q: m for q, m in pieces.items() if m is not None}, product_shapes(d)[letter], hole(d, j),
                np.nan if x is None else x)


def _equation(d, p, j):
    """The equation that gives product j's missing entry: (result (i, q) of C, the pairs (A[i, l], B[l, q])
    it sums, the coefficient's place, as (matrix letter, row, col)), or None for a forward product."""
    r, c = hole(d, j) or (None, None)
    if kind(j) == "A":
        B = _matrix(p, d, "B", j)
        q = next((q for q in range(B.shape[1]) if B[c, q] != 0), None)
        if q is None:
            return None
        return (r, q), [(("A", r, l), ("B", l, q)) for l in range(d["k"]) if l != c], ("B", c, q)
    if kind(j) == "B":
        A = _matrix(p, d, "A", j)
        i = next((i for i in range(A.shape[0]) if A[i, r] != 0), None)
        if i is None:
            return None
        return (i, c), [(("A", i, l), ("B", l, c)) for l in range(d["k"]) if l != r], ("A", i, r)
    return None


def solve_product(d, p, j) -> float:
    """Product j's missing entry, from the math: C's hole is a row of A times a column of B; an A or
    B hole is solved from the first equation (a row or column of C) whose coefficient is not 0."""
    if kind(j) == "C":
        r, c = hole(d, j)
        return float(_matrix(p, d, "A", j)[r] @ _matrix(p, d, "B", j)[:, c])
    eq = _equation(d, p, j)
    if eq is None:
        return float("nan")
    (i, q), pairs, (letter, a, b) = eq
    mats = {"A": _matrix(p, d, "A", j, 0.0), "B": _matrix(p, d, "B", j, 0.0), "C": _matrix(p, d, "C", j)}
    known = sum(mats[x[0]][x[1], x[2]] * mats[y[0]][y[1], y[2]] for x, y in pairs)
    return float((mats["C"][i, q] - known) / mats[letter][a, b])


def product_reference(d, p) -> dict:
    out = {}
    for j in range(1, d["singles"] + 1):
        if kind(j) == "forward":
            out[f"SAB_{j}"] = _matrix(p, d, "A", j) @ _matrix(p, d, "B", j)
        else:
            out[f"sx_{j}"] = np.array([[solve_product(d, p, j)]])
    return out


def _products(s, d, p):
    """Each single product in a step of its own, one under the other; returns their groups."""
    items = []
    for j in range(1, d["singles"] + 1):
        m, k, n = d["m"], d["k"], d["n"]
        what = kind(j)
        if what == "forward":
            title = f"Product {j}: C = A·B, ({m}×{k})·({k}×{n}) = {m}×{n}, each cell a row of A times a column of B"
        else:
            r, c = hole(d, j)
            title = (f"Product {j} (inverse): C = A·B with {what}[{r + 1},{c + 1}] missing; find x"
                     + (" (a row of A times a column of B)" if what == "C" else " from an entry of C"))
        with s.step(title), s.group() as item:
            _product(s, d, p, j)
        items.append(item)
    return items


def _product(s, d, p, j):
    """A_j left of C_j, B_j above it; the matrix with the hole made of its pieces and x."""
    shapes = product_shapes(d)
    what = kind(j)
    label = {"A": f"A ({shapes['A'][0]}×{shapes['A'][1]})", "B": f"B ({shapes['B'][0]}×{shapes['B'][1]})",
             "C": "C = A·B given" if what in ("A", "B") else "C = A·B"}
    if what == "forward":
        A = s.given("SA", index=j, label=label["A"])
        B = s.given("SB", index=j, label=label["B"])
        C = ops.matmul(s, f"SAB_{j}", A, B, role=OUTPUT, label="C = A·B")
        s.place(C, right_of=A)
        s.next_to(B, C, UP)
        return
    whole = {letter: s.given(f"S{letter}", index=j, label=label[letter]) for letter in "ABC" if letter != what}
    cells = {letter: (lambda i, q, b=b: (b, i, q)) for letter, b in whole.items()}
    holed, cells[what] = _holed(s, d, p, j, what, label[what], cells)
    parts = {**whole, what: holed}
    s.next_to(parts["C"], parts["A"], RIGHT)
    s.next_to(parts["B"], parts["C"], UP)


def _holed(s, d, p, j, letter, label, cells):
    """Product j's ``letter`` matrix from its pieces (givens S<letter>u, l, r, d) with x, solved by
    formula, in the hole, placed row by row: the rows above, then [left | x | right], then the rows
    below; returns the group and a function (i, q) -> (block, row, col) of its cells."""
    rows, cols = product_shapes(d)[letter]
    r, c = hole(d, j)
    shapes = piece_shapes(rows, cols, (r, c))
    pieces = {}
    labels = [label]  # the first block placed carries the matrix's label

    def first_label():
        return labels.pop() if labels else ""

    def piece(q, **where):
        pieces[q] = s.add(f"S{letter}{q}_{j}", shapes[q], role=GIVEN, label=first_label(),
                          values=_values(s, f"S{letter}{q}", j))
        return s.place(pieces[q], **where) if where else pieces[q]

    def cell(i, q):
        if i < r:
            return pieces["u"], i, q
        if i > r:
            return pieces["d"], i - r - 1, q
        return (pieces["l"], 0, q) if q < c else (pieces["r"], 0, q - c - 1)

    cells = {**cells, letter: cell}
    with s.group() as group:
        above = piece("u") if "u" in shapes else None
        start = {} if above is None else {"adjoining": above}  # straight under, no label row between
        left = piece("l", **start) if "l" in shapes else None
        x = s.add(f"sx_{j}", (1, 1), role=OUTPUT, label=first_label(),
                  formula=lambda i_, q_: _solve_formula(d, p, j, cells))
        if left is not None:
            s.place(x, right_of=left, gap=0)
        elif start:
            s.place(x, **start)
        right = piece("r", right_of=x, gap=0) if "r" in shapes else None
        first = left if left is not None else x
        if "d" in shapes:
            piece("d", adjoining=first)
        if right is None:
            s.note_right(x, "← x")
    return group, cell


def _solve_formula(d, p, j, cells) -> str:
    """x's formula (read when the sheet is written, every block placed): C's hole a row of A times a
    column of B; an A or B hole (C[i, q] − Σ known pairs) / coefficient, the equation of _equation."""
    if kind(j) == "C":
        r, c = hole(d, j)
        return fx.dot([_ref(cells["A"](r, l)) for l in range(d["k"])], [_ref(cells["B"](l, c)) for l in range(d["k"])])
    (i, q), pairs, (cl, ca, cb) = _equation(d, p, j)
    known = fx.dot([_ref(cells[a[0]](a[1], a[2])) for a, _ in pairs], [_ref(cells[b[0]](b[1], b[2])) for _, b in pairs])
    result = _ref(cells["C"](i, q))
    return fx.div(f"{result}-({known})" if known else result, _ref(cells[cl](ca, cb)))


def _ref(cell) -> str:
    block, i, q = cell
    return block.cell(i, q)


EXERCISE = Exercise(
    name="matmul",
    title="Matrix products, single and chained, with inverse items",
    source=Source(
        paper="Strang, Introduction to Linear Algebra (Wellesley-Cambridge Press), chapter 2",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Matrix Multiplication"),
    dims={"items": "chain drills on the sheet", "singles": "single products on the sheet (before the chains)",
          "m": "rows of A and C in a single product", "k": "columns of A, rows of B in a single product",
          "n": "columns of B and C in a single product"},
    presets={
        "small": dict(items=2, singles=4, m=2, k=3, n=2),
        "medium": dict(items=4, singles=4, m=3, k=2, n=3),
        "large": dict(items=len(CHAINS), singles=8, m=3, k=4, n=2),
    },
    givens=[
        _factor("A"), _factor("B"), _factor("C"), _factor("D"),
        Given("Cr", stack=_last_row_stack("C"), low=-2, high=2),
        Given("Dr", stack=_last_row_stack("D"), low=-2, high=2),
        Given("R", stack=_r_items, derive=_derive_results),
        *_product_givens(),
    ],
    reference=reference,
    layout=layout,
    limits={"items": (1, len(CHAINS)), "singles": (1, 12), "m": (1, 6), "k": (1, 6), "n": (1, 6)},
    checks=checks,
    accept=instructive,
)
