"""matmul: a workbook of chained matrix products, items of growing size; every second item is an
inverse item.

Item k multiplies a chain A·B·C (later items A·B·C·D) from left to right: A stands left of AB, B
above AB; AB then stands left of ABC with C above it, and so on, so each intermediate takes its
rows from the left and its columns from the factor above. In an inverse item the chain's result
R is given and the bottom-right entry x of the last factor is missing; from R's first row,
R[0, q] = Σ_{l<p} P[0, l]·F[l, q] + P[0, p]·x (P the product of the factors before the last,
F the last factor, x = F[p, q]), so the key solves x = (R[0, q] − Σ_{l<p} P[0, l]·F[l, q]) / P[0, p].
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import ops
from xlhand.model.exercise import Exercise, Source
from xlhand.model.givens import Given

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
    out = {}
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
    s.arrange(chains, "down", gap=1)


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
        left = ops.matmul(s, name, left, factor, at=s.right_of(left), role="output" if last else "computed",
                          label=f"{name} ({left.rows}×{cols})")
        s.next_to(factor, left, "up")


def _inverse_tail(s, k, letter, rows, cols, P):
    """The last product of an inverse item: R given right of P, above it the last factor with its
    bottom-right entry x missing (its last row given apart, x solved from R's first row)."""
    R = s.given("R", at=s.right_of(P), index=k, label=f"R_{k} ({P.rows}×{cols}) given")
    with s.group() as factor:
        F = s.given(letter, index=k, label=f"{letter}_{k} ({rows}×{cols})")
        Fr = s.add(f"{letter}r_{k}", (1, cols - 1), s.below(F), "given", "", values=_values(s, f"{letter}r", k))
        s.next_to(Fr, F, "down", gap=0)  # F's last row
        pr = rows - 1
        x = ops.solve_dot(s, f"x_{k}", [(P, 0, l) for l in range(pr)], [(F, l, cols - 1) for l in range(pr)],
                          (P, 0, pr), (R, 0, cols - 1), at=s.right_of(Fr, gap=0), role="output", label="")
        s.note_right(x, "← x")
    s.next_to(factor, R, "up")


def _values(s, name, k):
    spec = s.specs[name]
    return s.params[name][list(spec.items(s.dims)).index(k)]


def _derive_results(rng, items, d, p):
    """Each inverse item's R: the chain's product with a small non-zero x in the missing place."""
    return [_chain(d, p, k, x=float(rng.choice([-3, -2, -1, 1, 2, 3])))[1][-1] for k in items]


def checks(d, p) -> str | None:
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
    """Inverse items solvable; no intermediate is all zeros or too large to work by hand."""
    for k in _r_items(d):
        if _solve(d, p, k)[1] == 0:
            return False
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


EXERCISE = Exercise(
    name="matmul",
    title="Matrix-product chains: drills of growing size, with inverse items",
    source=Source(
        paper="Strang, Introduction to Linear Algebra (Wellesley-Cambridge Press), chapter 2",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Matrix Multiplication"),
    dims={"items": "drills on the sheet"},
    presets={
        "small": dict(items=2),
        "medium": dict(items=4),
        "large": dict(items=len(CHAINS)),
    },
    givens=[
        _factor("A"), _factor("B"), _factor("C"), _factor("D"),
        Given("Cr", stack=_last_row_stack("C"), low=-2, high=2),
        Given("Dr", stack=_last_row_stack("D"), low=-2, high=2),
        Given("R", stack=_r_items, derive=_derive_results),
    ],
    reference=reference,
    layout=layout,
    limits={"items": (1, len(CHAINS))},
    checks=checks,
    accept=instructive,
)
