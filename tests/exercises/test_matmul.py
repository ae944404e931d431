"""matmul chains: forward items against numpy.linalg.multi_dot, inverse items by substituting the
solved entry back, the by-hand layout of each chain, and bad inputs."""
from __future__ import annotations

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.build import key_sheet
from xlhand.model.resolve import resolve

EX = catalog.get("matmul")
LETTERS = "ABCD"


def item(p, r, name, k):
    """Item k's matrix of given ``name`` (a ragged stack lists only the items that have it)."""
    keys = list(EX.given(name).items(r.dims))
    return p[name][keys.index(k)] if k in keys else None


def full_factors(r, k, x=None):
    p, out = r.params, []
    for letter in LETTERS:
        m = item(p, r, letter, k)
        if m is None:
            break
        out.append(m)
    if x is not None:  # an inverse item: the last factor's last row is given apart, x at its end
        last = np.append(item(p, r, f"{LETTERS[len(out) - 1]}r", k), [[x]], axis=1)
        out[-1] = np.vstack([out[-1], last])
    return out


@pytest.mark.parametrize("size", ["small", "medium", "large"])
@pytest.mark.parametrize("seed", [None, 0, 13])
def test_chains_against_multi_dot_and_inverse_items_substituted_back(size, seed):
    r = resolve(EX, size=size, seed=seed)
    ref = EX.reference(r.dims, r.params)
    for k in range(1, r.dims["items"] + 1):
        if k % 2 == 1:
            fs = full_factors(r, k)
            assert len(fs) >= 3
            letters = LETTERS[:len(fs)]
            for j in range(2, len(fs) + 1):
                np.testing.assert_allclose(ref[f"{letters[:j]}_{k}"], np.linalg.multi_dot(fs[:j])
                                           if j > 2 else fs[0] @ fs[1], rtol=1e-12)
        else:
            x = ref[f"x_{k}"][0, 0]
            fs = full_factors(r, k, x)
            assert len(fs) >= 3
            np.testing.assert_allclose(np.linalg.multi_dot(fs), item(r.params, r, "R", k), rtol=1e-12, atol=1e-12)
            assert x == round(x) and 1 <= abs(x) <= 3  # generated and default answers are small integers
            letters = LETTERS[:len(fs)]
            for j in range(2, len(fs)):
                np.testing.assert_allclose(ref[f"{letters[:j]}_{k}"], np.linalg.multi_dot(fs[:j])
                                           if j > 2 else fs[0] @ fs[1], rtol=1e-12)


def test_each_product_takes_rows_from_its_left_and_columns_from_above():
    sheet = key_sheet(resolve(EX, size="large"))
    for k in range(1, 9):
        left = sheet.blocks[f"A_{k}"]
        for j, letter in enumerate(LETTERS[1:], start=2):
            name = f"{LETTERS[:j]}_{k}"
            factor = sheet.blocks.get(f"{letter}_{k}")
            if factor is None or name not in sheet.blocks:
                break
            product = sheet.blocks[name]
            assert product.top == left.top and product.rows == left.rows and product.left > left.right - 1
            assert factor.left == product.left and factor.cols == product.cols and factor.bottom < product.top
            left = product
        if k % 2 == 0:  # the missing entry sits at the bottom-right of the last factor, R below it
            x, R = sheet.blocks[f"x_{k}"], sheet.blocks[f"R_{k}"]
            assert x.left == R.right - 1 and x.bottom < R.top and R.top == left.top


@pytest.mark.parametrize("values,words", [
    # item 2's AB has first row [2, 0]: its 0 meets C's missing entry
    ("  A:\n  - [[1, 2], [0, -1]]\n  - [[0, 1, 0], [-1, 1, 0]]\n", ["item 2", "cannot determine"]),
    # R = [[5, 5], [1, -2]]: its first row gives x = 2, its last entry then disagrees
    ("  R:\n  - [[5, 5], [1, -2]]\n", ["'R' item 2", "[2][2]"]),
])
def test_bad_inverse_items_are_one_line_exit_2_and_no_file(tmp_path, values, words):
    message = rejected_build(tmp_path, "matmul", params=f"exercise: matmul\ndims: {{items: 2}}\nvalues:\n{values}")
    assert all(w in message for w in words), message


# --- single products of any shape, the missing entry anywhere ------------------------------------
def product(r, j, x=None):
    """Product j's A, B, C as full matrices, assembled here from the givens (the hole gets x)."""
    from xlhand.exercises.matmul import hole, kind
    p, d = r.params, r.dims
    shapes = {"A": (d["m"], d["k"]), "B": (d["k"], d["n"]), "C": (d["m"], d["n"])}
    out = {}
    for letter in "ABC":
        whole = item(p, r, f"S{letter}", j)
        if whole is not None:
            out[letter] = whole
            continue
        if kind(j) != letter:
            continue
        rows, cols = shapes[letter]
        hr, hc = hole(d, j)
        known = []  # the entries row by row around the hole, from the pieces
        for q in "ulrd":
            m = item(p, r, f"S{letter}{q}", j)
            if m is not None:
                known.append((q, m))
        M = np.full((rows, cols), np.nan)
        for q, m in known:
            top, left = {"u": (0, 0), "l": (hr, 0), "r": (hr, hc + 1), "d": (hr + 1, 0)}[q]
            M[top:top + m.shape[0], left:left + m.shape[1]] = m
        M[hr, hc] = x if x is not None else np.nan
        assert np.isnan(M).sum() == (1 if x is None else 0)  # the pieces cover every entry but the hole
        out[letter] = M
    return out


SHAPES = [dict(m=2, k=3, n=2), dict(m=1, k=1, n=1), dict(m=3, k=1, n=4), dict(m=1, k=4, n=1), dict(m=4, k=2, n=3),
          dict(m=6, k=6, n=6)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("seed", [None, 1, 7])
def test_single_products_against_numpy_and_the_missing_entries_substituted_back(shape, seed):
    from xlhand.exercises.matmul import kind
    if seed is None and shape != SHAPES[0]:
        seed = 2  # the template is for 2×3 by 3×2
    r = resolve(EX, sets={"singles": 12, **shape}, seed=seed)
    ref = EX.reference(r.dims, r.params)
    for j in range(1, 13):
        if kind(j) == "forward":
            mats = product(r, j)
            np.testing.assert_allclose(ref[f"SAB_{j}"], np.einsum("ik,kj->ij", mats["A"], mats["B"]), rtol=1e-12)
            continue
        x = ref[f"sx_{j}"][0, 0]
        mats = product(r, j, x)
        # substituted back, A·B gives every entry of C (every redundant equation agrees)
        np.testing.assert_allclose(mats["A"] @ mats["B"], mats["C"], rtol=1e-12, atol=1e-12)
        # and least squares over every equation that holds x finds the same value
        if kind(j) != "C":
            lo, hi = product(r, j, 0.0), product(r, j, 1.0)
            coef = (hi["A"] @ hi["B"] - lo["A"] @ lo["B"]).ravel()
            rest = (mats["C"] - lo["A"] @ lo["B"]).ravel()
            assert x == pytest.approx(np.linalg.lstsq(coef[:, None], rest, rcond=None)[0][0], rel=1e-9)
        assert x == round(x) and (x != 0 or kind(j) == "C")


def test_the_missing_entry_stands_anywhere():
    from xlhand.exercises.matmul import hole, kind
    d = {"m": 3, "k": 4, "n": 2, "singles": 12}
    places = {(kind(j), hole(d, j)) for j in range(1, 13) if kind(j) != "forward"}
    assert {k for k, _ in places} == {"A", "B", "C"}
    assert any(h[0] not in (0, 2) and h[1] != 0 for k, h in places if k == "A")  # not only at an edge
    assert len({h for _, h in places}) >= 5


def test_default_products_by_hand():
    r = resolve(EX)
    derived = {"SC", "SCr", "SCd"}  # derived from A and B, so they agree with them at every size
    assert {g for g, source in r.sources.items() if source != "template"} == derived
    ref = EX.reference(r.dims, r.params)
    assert ref["SAB_1"].tolist() == [[1, 2], [-1, -2]]
    assert (ref["sx_2"][0, 0], ref["sx_3"][0, 0], ref["sx_4"][0, 0]) == (1, -1, -2)


@pytest.mark.parametrize("sets", [{"singles": 5}, {"k": 2}, {"m": 1, "n": 4}, {"singles": 12}, {"m": 3}])
def test_other_sizes_without_a_seed_stay_consistent(sets):
    """Template numbers that fit a new size mix with fresh ones; the derived results follow them."""
    r = resolve(EX, sets=sets)
    assert EX.checks(r.dims, r.params) is None


@pytest.mark.parametrize("size,sets", [("small", {}), ("small", {"m": 3, "k": 1, "n": 4, "singles": 8})])
def test_single_products_build_and_verify(tmp_path, size, sets):
    from support import assert_verified, build
    assert_verified(build(tmp_path, "matmul", size=size, sets=sets, seed=None if not sets else 5))


def test_products_stand_by_hand_a_left_b_above():
    sheet = key_sheet(resolve(EX))
    A, B, C = sheet.blocks["SA_1"], sheet.blocks["SB_1"], sheet.blocks["SAB_1"]
    assert C.top == A.top and C.left > A.right - 1 and B.left == C.left and B.bottom < C.top
    x = sheet.blocks["sx_2"]  # A[1,3]: right of A's first row's known entries
    left = sheet.blocks["SAl_2"]
    assert x.top == left.top and x.left == left.right


@pytest.mark.parametrize("values,words", [
    # product 3 misses B[2,2]; column 2 of A all 0: no entry of C holds it
    ("  SA:\n  - [[-1, 1, 1], [0, -1, 0]]\n  - [[-1, 0, 0], [1, 0, 0]]\n  - [[-2, 0, -2], [-2, -1, 1]]\n",
     ["product 3", "column 2 of A_3"]),
    # product 2's C disagrees with itself: C[2,2] says another x
    ("  SC:\n  - [[1, 0], [0, 2]]\n  - [[3, 2], [-2, -1]]\n", ["'SC' product 2", "[2][2]"]),
])
def test_bad_single_products_are_refused(tmp_path, values, words):
    message = rejected_build(tmp_path, "matmul", params=f"exercise: matmul\nvalues:\n{values}")
    assert all(w in message for w in words), message


def test_a_bad_product_shape_is_refused(tmp_path):
    line = rejected_build(tmp_path, "matmul", "--set", "k=9")
    assert "'k'" in line and "1..6" in line


@pytest.mark.libreoffice
def test_new_structures_agree_in_libreoffice(tmp_path):
    """LibreOffice recalculates the new structures (one soffice call) and agrees with NumPy."""
    from support import assert_report_ok, build
    from xlhand.check import check_file
    from xlhand.engines import libreoffice
    if libreoffice.soffice() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    built = [build(tmp_path, "matmul", f"case{i}.xlsx", **kw) for i, kw in enumerate([dict(), dict(sets={"singles": 8, "m": 3, "k": 1, "n": 4}, seed=5), dict(student=True)])]
    converted = libreoffice.recalculate(built, tmp_path / "recalculated")
    for path in built:
        assert_report_ok(check_file(path, engine="saved", recalculated=converted[path]), f"{path.name} (LibreOffice)")
