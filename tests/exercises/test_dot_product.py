"""dot-product drills: forward items against a written-out sum, inverse items by substituting the
solved entry back, the growing sizes, the ragged params format, and bad inputs."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from support import rejected_build

from xlhand.model import catalog
from xlhand.engines import readback
from xlhand.build import key_sheet
from xlhand.cli import cli
from xlhand.model.resolve import resolve

EX = catalog.get("dot-product")


def full_operands(k, p, x, r_items):
    """Item k's a and b with the missing entry (if any) put back as x."""
    a, b = list(p.a[k - 1].ravel()), list(p.b[k - 1].ravel())
    if len(a) < len(b):
        a.append(x)
    elif len(b) < len(a):
        b.append(x)
    return a, b


@pytest.mark.parametrize("size", ["small", "medium", "large"])
@pytest.mark.parametrize("seed", [None, 0, 9])
def test_forward_items_and_inverse_items_substituted_back(size, seed):
    r = resolve(EX, size=size, seed=seed)
    d, p = r.dims, r.params
    ref = EX.reference(d, p)
    inverse_items = [k for k in range(1, d["items"] + 1) if f"x_{k}" in ref]
    assert inverse_items == list(range(2, d["items"] + 1, 2))
    for k in range(1, d["items"] + 1):
        if k in inverse_items:
            x = ref[f"x_{k}"][0, 0]
            a, b = full_operands(k, p, x, inverse_items)
            given = p.r[inverse_items.index(k)][0, 0]
            assert sum(u * v for u, v in zip(a, b)) == pytest.approx(given, abs=1e-12)
            if seed is not None or size == "small":  # generated (and default) answers are small integers
                assert x == round(x) and 1 <= abs(x) <= 3
        else:
            a, b = full_operands(k, p, None, inverse_items)
            assert ref[f"c_{k}"][0, 0] == sum(u * v for u, v in zip(a, b))


def test_items_grow_and_alternate_forward_inverse():
    d = resolve(EX, size="large").dims
    sheet = key_sheet(resolve(EX, size="large"))
    lengths = []
    for k in range(1, d["items"] + 1):
        a, b = sheet.blocks[f"a_{k}"], sheet.blocks[f"b_{k}"]
        lengths.append(max(a.cols, b.rows))
        assert (f"x_{k}" in sheet.blocks) == (k % 2 == 0) and (f"c_{k}" in sheet.blocks) == (k % 2 == 1)
    assert lengths == sorted(lengths) and lengths[0] == 2 and lengths[-1] == 6
    x2 = sheet.blocks["x_2"]
    assert x2.left == sheet.blocks["b_2"].left and x2.top == sheet.blocks["b_2"].bottom  # b's missing last entry
    x4 = sheet.blocks["x_4"]
    assert x4.top == sheet.blocks["a_4"].top and x4.left == sheet.blocks["a_4"].right  # a's missing last entry


def test_ragged_params_round_trip(tmp_path):
    runner = CliRunner()
    text = runner.invoke(cli, ["params", "dot-product", "--seed", "4", "--set", "items=5"]).output
    path = tmp_path / "p.yaml"
    path.write_text(text)
    for name, args in (("a", ["--params", str(path)]), ("b", ["--seed", "4", "--set", "items=5"])):
        result = runner.invoke(cli, ["build", "dot-product", *args, "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    prints = [readback.read_metadata(readback.load(tmp_path / n / "dot-product.xlsx"), n)["params_fingerprint"]
              for n in "ab"]
    assert prints[0] == prints[1]
    assert runner.invoke(cli, ["check", str(tmp_path / "a" / "dot-product.xlsx")]).exit_code == 0


@pytest.mark.parametrize("values,words", [
    ("  a: [[2, 1], [0, 0], [1, 2, 3], [1, 1]]\n", ["'a' item 2", "must not be 0"]),
    ("  a: [[2, 1], [1, 2]]\n", ["'a'", "4 matrices"]),
    ("  b: [[3, -1], [3, 4], [2, 1, -1], [1, 3, 2]]\n", ["'b' item 2", "1x1"]),
])
def test_bad_items_are_one_line_exit_2_and_no_file(tmp_path, values, words):
    message = rejected_build(tmp_path, "dot-product",
                             params=f"exercise: dot-product\ndims: {{items: 4}}\nvalues:\n{values}")
    assert all(w in message for w in words), message
