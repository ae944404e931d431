"""Params files read as a person means them: every key optional, numbers such as 1e-1 are numbers,
words such as no are words, and options live under `options:` like every option on the command line."""
from __future__ import annotations

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.errors import XlhandError
from xlhand.model.params_file import dump_params
from xlhand.model.resolve import resolve


def params_file(tmp_path, text: str):
    path = tmp_path / "mine.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_without_exercise_key_is_accepted(tmp_path):
    r = resolve(catalog.get("linear-layer"), params_path=params_file(tmp_path, "values:\n  b: [3, -3]\n"))
    assert r.params.b.ravel().tolist() == [3, -3] and r.sources["b"] == "params file"


def test_a_file_for_another_exercise_is_refused(tmp_path):
    line = rejected_build(tmp_path, "linear-layer", params="exercise: relu\n")
    assert "is for exercise 'relu', not 'linear-layer'" in line


def test_exponent_notation_in_a_block(tmp_path):
    path = params_file(tmp_path, "values:\n  b: [1e-1, -2.5e0]\n")
    r = resolve(catalog.get("linear-layer"), params_path=path)
    np.testing.assert_array_equal(r.params.b.ravel(), [0.1, -2.5])


def test_vocabulary_words_no_and_on_stay_words(tmp_path):
    text = "dims: {V: 4}\nvalues:\n  vocab: [yes, no, on, off]\n  center: no\n  context: on\n"
    r = resolve(catalog.get("word2vec"), params_path=params_file(tmp_path, text), seed=1)
    assert list(r.params.vocab) == ["yes", "no", "on", "off"]
    assert (r.params.center, r.params.context) == ("no", "on")


def test_options_in_a_params_file_and_the_command_line_overrides(tmp_path):
    path = params_file(tmp_path, "options:\n  with_sine: true\n")
    assert resolve(catalog.get("dft"), params_path=path).options == {"with_sine": True}
    assert resolve(catalog.get("dft"), params_path=path, options={"with_sine": "false"}).options == {"with_sine": False}


def test_dumped_params_carry_options_and_read_back(tmp_path):
    first = resolve(catalog.get("alphafold-triangle"), seed=3, options={"direction": "incoming"})
    text = dump_params(first)
    assert "options:\n  direction: incoming\n" in text
    again = resolve(catalog.get("alphafold-triangle"), params_path=params_file(tmp_path, text))
    assert again.options == {"direction": "incoming"} and again.fingerprint() == first.fingerprint()


def test_an_option_given_as_a_block_gets_a_clear_error(tmp_path):
    line = rejected_build(tmp_path, "alphafold-triangle", params="values:\n  direction: incoming\n")
    assert "'direction' is an option of alphafold-triangle, not a block" in line
    assert "options: {direction: incoming}" in line and "--opt direction=incoming" in line


@pytest.mark.parametrize("text,words", [
    ("options:\n  with_sine: maybe\n", ["option 'with_sine'", "false, true", "'maybe'"]),
    ("options:\n  with_sinee: true\n", ["no option 'with_sinee'", "with_sine"]),
    ("options: [with_sine]\n", ["'options' must be a mapping"]),
])
def test_bad_options_in_a_params_file(tmp_path, text, words):
    line = rejected_build(tmp_path, "dft", params=text)
    assert all(w in line for w in words) and "rejected-params.yaml" in line


def test_seed_must_be_a_whole_number_from_zero():
    with pytest.raises(XlhandError, match="--seed -1"):
        resolve(catalog.get("relu"), seed=-1)
