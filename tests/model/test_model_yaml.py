"""Params files are YAML 1.2 read by ruamel.yaml (no resolver of our own), and ``xlhand params`` writes,
for every exercise at every preset and seed, a file that ``build --params`` reads back to the very same
numbers, words and options."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from support import slow_but
from xlhand.cli import cli
from xlhand.model import catalog
from xlhand.model.params_file import dump_params, read_yaml
from xlhand.model.resolve import resolve

SEEDS = (0, 1, 2)
PRESETS = [(name, size) for name in catalog.names() for size in catalog.get(name).presets]


def read_text(tmp_path, text: str):
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    return read_yaml(path, "params file")


@pytest.mark.parametrize("text,value", [
    ("1e-1", 0.1), ("-2.5E+1", -25.0), (".5", 0.5), ("+3", 3), ("010", 10), ("0o17", 15), ("0x1f", 31),
    ("1_000", 1000), ("true", True), ("False", False),
    ("no", "no"), ("yes", "yes"), ("on", "on"), ("off", "off"), ("y", "y"), ("n", "n"),
    ("2024-01-02", "2024-01-02"), ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"), ("1:30", "1:30"),
])
def test_scalars_are_read_as_yaml_1_2(tmp_path, text, value):
    read = read_text(tmp_path, f"values:\n  v: {text}\n")["values"]["v"]
    assert read == value and type(read) is type(value)


def test_no_resolver_of_our_own_is_left():
    import xlhand.model.params_file as params_file

    source = open(params_file.__file__, encoding="utf-8").read()
    assert "add_implicit_resolver" not in source and "import yaml" not in source


@pytest.mark.parametrize("text,words", [
    ("values:\n\tX: [[1]]\n", ["line 2 has a tab", "spaces"]),
    ("values:\n  X:\t[[1]]\n", ["line 2 has a tab"]),
    ("values: [1, 2\n", ["not valid YAML (line 2)"]),
    ("values:\n  X: [[1]]\n  X: [[2]]\n", ["not valid YAML (line 3)", "duplicate key"]),
])
def test_a_file_that_is_not_yaml_says_why_in_one_line(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", "lstm", "--params", str(path), "--out", str(out)])
    assert result.exit_code == 2
    line, = result.output.strip().splitlines()
    assert "bad.yaml" in line and all(w in line for w in words), line
    assert not out.exists()


def test_transformer_full_params_print_as_yaml():
    """Words drawn from a vocabulary (NumPy strings) are written as plain words."""
    for args in ([], ["--size", "medium"], ["--size", "large"]):
        result = CliRunner().invoke(cli, ["params", "transformer-full", "--seed", "0", *args])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("exercise: transformer-full\n") and "!!" not in result.output


def same(a, b) -> bool:
    """Exactly the same value: texts the same words, numbers the same floats in the same shape."""
    if isinstance(a, (list, tuple)) and not all(isinstance(x, (int, float)) for x in a):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and str(a) == str(b)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("name,size", slow_but(PRESETS, [p for p in PRESETS if p[1] in ("small", "medium")]))
def test_params_files_read_back_to_the_same_numbers(tmp_path, name, size):
    exercise = catalog.get(name)
    for seed in SEEDS:
        first = resolve(exercise, size=size, seed=seed)
        path = tmp_path / f"{name}-{size}-{seed}.yaml"
        path.write_text(dump_params(first), encoding="utf-8")
        again = resolve(exercise, params_path=path)
        assert dict(again.dims) == dict(first.dims)
        assert again.options == first.options
        assert set(again.sources.values()) == {"params file"}
        for given in exercise.givens:
            assert same(again.params[given.name], first.params[given.name]), (size, seed, given.name)
        assert again.fingerprint() == first.fingerprint()
