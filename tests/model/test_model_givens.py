"""What a user reads about givens and names: every given's whole shape (in ``describe`` and in the
shape error), the nearest exercise names for a typo."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from support import rejected_build

from xlhand.cli import cli
from xlhand.describe import describe
from xlhand.errors import XlhandError
from xlhand.model import catalog


@pytest.mark.parametrize("name,given,words", [
    ("lstm", "Wf", "d_h × (d_in + d_h)"),
    ("conv1d", "W", "c_out × c_in·k"),
    ("seq2seq-attention", "Wc", "d_h × 2·d_h"),
    ("mhc", "phi_res", "n·C × n·n"),
    ("multihead-attention", "Wq", "heads·d_h × heads·d_h"),
    ("dit", "text", "(cond − 2) × 1"),
    ("transformer-full", "PE", "max(d, d_dec) × max(n_src, n_tgt)"),
    ("backprop", "W1", "h1 × n_in"),
    ("backprop", "lr", ""),
])
def test_a_givens_whole_shape_in_words(name, given, words):
    assert catalog.get(name).given(given).shape_words() == words


def test_every_shape_names_as_many_entries_as_it_has():
    for exercise in catalog.all_exercises():
        for given in exercise.givens:
            if given.stack is None and len(given.shape) > 1:
                assert given.shape_words().count(" × ") == len(given.shape) - 1, (exercise.name, given.name)


def test_describe_shows_the_whole_shape():
    text = describe(catalog.get("lstm"))
    assert "Wf         d_h × (d_in + d_h)" in text
    assert "| `Wf` | d_h × (d_in + d_h) |" in describe(catalog.get("lstm"), markdown=True)


def test_the_shape_error_says_the_same(tmp_path):
    line = rejected_build(tmp_path, "lstm", params="values:\n  Wf: [[1, 2], [3, 4]]\n")
    assert "block 'Wf': expected shape 2x5 (d_h × (d_in + d_h)), found 2x2" in line


@pytest.mark.parametrize("typed,nearest", [
    ("lstmm", "did you mean lstm or xlstm?"),
    ("self_attention", "did you mean self-attention?"),
    ("Softmax", "did you mean softmax?"),
    ("attention", "did you mean self-attention, cross-attention or seq2seq-attention?"),
])
def test_an_unknown_exercise_suggests_the_nearest(tmp_path, typed, nearest):
    with pytest.raises(XlhandError, match=re.escape(f"unknown exercise '{typed}' ({nearest} run 'xlhand list'")):
        catalog.get(typed)
    line = rejected_build(tmp_path, typed)
    assert nearest in line


def test_a_name_far_from_any_has_no_suggestion():
    with pytest.raises(XlhandError, match=r"^unknown exercise 'nosuch' \(run 'xlhand list' to see them\)$"):
        catalog.get("nosuch")


def test_describe_of_an_unknown_name_suggests_too():
    result = CliRunner().invoke(cli, ["describe", "lstmm"])
    assert result.exit_code == 2 and "did you mean lstm" in result.output
