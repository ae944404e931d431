"""Fresh numbers teach: for every exercise at every preset, the numbers of 200 seeds pass the
exercise's own ``accept`` test, and where no draw can pass, generation is a one-line error."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from support import rejected_build

from xlhand.model import catalog
from xlhand.errors import XlhandError
from xlhand.model.givens import Dims
from xlhand.model.params_file import load_params_file, template_path
from xlhand.model.resolve import generate, resolve

SEEDS = range(200)
OPTION_SEEDS = range(40)  # with each option changed: fewer seeds keep the test fast


def preset_dims(exercise, size: str) -> Dims:
    template = load_params_file(exercise, template_path(exercise), "template")
    return Dims({**template.dims, **exercise.presets[size]})


def option_variants(exercise) -> list[dict]:
    """Each option on its own at its last allowed value other than the default (an option may
    change what teaches: incoming edges, more iterations)."""
    return [{o.name: [v for v in o.allowed if v != o.default][-1]} for o in exercise.options]


@pytest.mark.parametrize("name", catalog.names())
def test_every_seed_gives_instructive_numbers(name):
    exercise = catalog.get(name)
    for size in exercise.presets:
        dims = preset_dims(exercise, size)
        for seed in SEEDS:
            params = generate(exercise, dims, seed)
            assert exercise.instructive(dims, params), (size, seed)
        for options in option_variants(exercise):
            for seed in OPTION_SEEDS:
                params = generate(exercise, dims, seed, options=options)
                assert exercise.instructive(dims, params, options), (size, options, seed)


def test_generation_is_reproducible():
    exercise = catalog.get("lstm")
    dims = preset_dims(exercise, "lecture")
    first, second = generate(exercise, dims, 11), generate(exercise, dims, 11)
    assert all(np.array_equal(first[k], second[k]) for k in first)


def test_no_instructive_draw_is_an_error_naming_exercise_dims_and_seed():
    never = dataclasses.replace(catalog.get("relu"), accept=lambda dims, params: False)
    with pytest.raises(XlhandError) as caught:
        generate(never, Dims(n=4, batch=2), 3)
    message = str(caught.value)
    assert "relu" in message and "n=4, batch=2" in message and "seed 3" in message
    assert "\n" not in message


def test_given_numbers_that_no_draw_can_make_instructive_are_refused(tmp_path):
    # every gate of step 1 saturates whatever the weights: |x| = 40 against rows summing to 3
    params = {"exercise": "lstm", "dims": {"d_in": 3, "d_h": 2, "T": 3},
              "values": {"X": [[40, 40, 40]] * 3}}
    line = rejected_build(tmp_path, "lstm", "--seed", "0", params=params)
    assert "lstm" in line and "no instructive numbers" in line and "seed 0" in line


def test_resolve_records_which_givens_came_from_the_seed():
    resolved = resolve(catalog.get("backprop"), size="large", seed=5)
    assert set(resolved.sources.values()) == {"seed"}
    assert resolved.exercise.accept(resolved.dims, resolved.params)
