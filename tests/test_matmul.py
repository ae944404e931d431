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
