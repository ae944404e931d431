"""dot-product: a workbook of drills, items of growing length; every second item is an inverse item.

Forward item k: c_k = a_k·b_k = Σ_l a_l b_l (a a row, left of c; b a column, above c).
Inverse item k: the result r_k is given and one entry x_k of a or b is missing; since
r = Σ_{known} a_l b_l + coef·x, the key solves x = (r − Σ_{known} a_l b_l) / coef, a formula like
any other computed cell (so the student sheet leaves it blank). Item k has length 1 + ⌈k/2⌉: the
forward item of each length comes first, then its inverse (the missing entry alternately at the
end of b and at the end of a).
"""
from __future__ import annotations

import numpy as np

from xlhand.layout import DOWN, LEFT, OUTPUT, ops
from xlhand.model.exercise import Exercise, Source
from xlhand.model.givens import Given

MAX_ITEMS = 16


def length(k: int) -> int:
    return 1 + (k + 1) // 2


def inverse(k: int) -> bool:
    return k % 2 == 0


def hole(k: int) -> str | None:
    """Which operand misses its last entry in item k: 'b', 'a', or None for a forward item."""
    if not inverse(k):
        return None
    return "b" if k % 4 == 2 else "a"


def _a_items(d):
    return {k: (1, length(k) - (hole(k) == "a")) for k in range(1, d["items"] + 1)}


def _b_items(d):
    return {k: (length(k) - (hole(k) == "b"), 1) for k in range(1, d["items"] + 1)}


def _r_items(d):
    return {k: (1, 1) for k in range(1, d["items"] + 1) if inverse(k)}


def _parts(d, p, k):
    """Item k as vectors: (a, b, known pairs, coefficient of x), x's place left out."""
    a, b = p.a[k - 1].ravel(), p.b[k - 1].ravel()
    if hole(k) == "b":
        return a, b, (a[:-1], b), a[-1]
    if hole(k) == "a":
        return a, b, (a, b[:-1]), b[-1]
    return a, b, None, None


def _operands(rng, items, d):
    """Whole numbers in −3…3, the last entry of each vector not 0: in an inverse item it multiplies
    the missing entry, which must have a single answer."""
    out = []
    for shape in items.values():
        v = rng.integers(-3, 4, size=shape).astype(float)
        v.reshape(-1)[-1] = rng.choice([-3, -2, -1, 1, 2, 3])
        out.append(v)
    return out


def _derive_results(rng, items, d, p):
    """Given results of the inverse items: pick a small non-zero x, then r = known + coef·x."""
    out = []
    for k in items:
        _, _, (left, right), coef = _parts(d, p, k)
        x = rng.choice([-3, -2, -1, 1, 2, 3])
        out.append(np.array([[float(left @ right + coef * x)]]))
    return out


def reference(d, p):
    out = {}
    inverse_items = list(_r_items(d))
    for k in range(1, d["items"] + 1):
        a, b, known, coef = _parts(d, p, k)
        if known is None:
            out[f"c_{k}"] = np.array([[np.sum(a * b)]])
        else:
            r = p.r[inverse_items.index(k)][0, 0]
            out[f"x_{k}"] = np.array([[(r - known[0] @ known[1]) / coef]])
    return out


def layout(s, d, p):
    items = []
    for k in range(1, d["items"] + 1):
        L, kind = length(k), hole(k)
        if kind is None:
            title = f"Item {k}: c = a·b with {L} terms"
        else:
            title = f"Item {k} (inverse): a·b = r is given; find {kind}'s missing last entry x"
        with s.step(title), s.group() as item:
            _item(s, k, L, kind)
        items.append(item)
    s.arrange(items, DOWN)  # one drill under the other: narrower than a portrait page at every length


def _item(s, k, L, kind):
    """b on top, the result under it, a left of the result; an inverse item's x where the entry is missing."""
    b = s.given("b", index=k, label=f"b_{k}")
    if kind is None:
        a = s.given("a", index=k, label=f"a_{k}")
        c = ops.matmul(s, f"c_{k}", a, b, role=OUTPUT, label=f"c_{k} = a·b")
        s.next_to(a, c, LEFT)
        return
    r = s.given("r", index=k, label=f"r_{k} = a·b")
    s.place(r, below=b)
    a = s.given("a", index=k, label=f"a_{k}")  # L entries, or L − 1 and x after them
    s.place(a, at=s.left_of(r, L))
    if kind == "b":
        x = ops.solve_dot(s, f"x_{k}", [(a, 0, l) for l in range(L - 1)], [(b, l, 0) for l in range(L - 1)],
                          (a, 0, L - 1), (r, 0, 0), role=OUTPUT, label="")
        s.place(x, below=b)
        s.next_to(x, b, DOWN, gap=0)  # in b's missing place, straight under it
        s.note_right(x, "← x")
    else:
        s.place(ops.solve_dot(s, f"x_{k}", [(a, 0, l) for l in range(L - 1)], [(b, l, 0) for l in range(L - 1)],
                      (b, L - 1, 0), (r, 0, 0), role=OUTPUT, label="x"), right_of=a, gap=0)


def _coefficients(d, p):
    return {k: _parts(d, p, k)[3] for k in _r_items(d)}


def checks(d, p) -> str | None:
    for k, coef in _coefficients(d, p).items():
        if coef == 0:
            other = "a" if hole(k) == "b" else "b"
            return (f"block '{other}' item {k}: its last entry multiplies the missing one and must not be 0 "
                    f"(the inverse item would have no single answer)")
    return None


def instructive(d, p) -> bool:
    """Inverse items solvable (non-zero coefficient); forward results not all 0."""
    if any(c == 0 for c in _coefficients(d, p).values()):
        return False
    ref = reference(d, p)
    return all(abs(v[0, 0]) <= 40 for v in ref.values()) and any(v[0, 0] != 0 for v in ref.values())


EXERCISE = Exercise(
    name="dot-product",
    title="Dot products: drills of growing length, with inverse items",
    source=Source(
        paper="Strang, Introduction to Linear Algebra (Wellesley-Cambridge Press), chapter 1",
        walkthrough="Tom Yeh, AI by Hand (byhand.ai): Dot Product"),
    dims={"items": "drills on the sheet"},
    presets={
        "small": dict(items=4),
        "medium": dict(items=6),
        "large": dict(items=10),
    },
    givens=[
        Given("a", stack=_a_items, make=_operands),
        Given("b", stack=_b_items, make=_operands),
        Given("r", stack=_r_items, derive=_derive_results),
    ],
    reference=reference,
    layout=layout,
    limits={"items": (1, MAX_ITEMS)},
    checks=checks,
    accept=instructive,
)
