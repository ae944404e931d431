"""Precision on our own workbooks: every workbook xlhand builds lints clean, key and student."""
from __future__ import annotations

import pytest

from xlhand.model import catalog
from xlhand.build import key_workbook
from xlhand.lint.run import lint_book
from xlhand.classroom.worksheet import student_workbook
from xlhand.model.resolve import resolve

# the exercises whose blocks are not one formula by design (masks, diagonals, caches, scans, text)
FAST = ["mlp", "softmax", "self-attention", "decoding", "deepseek", "gcn", "vectordb", "dit", "conv1d"]


def lint_built(tmp_path, exercise, size: str) -> list:
    resolved = resolve(exercise, size=size)
    findings = []
    for mode, data in (("key", key_workbook(resolved)), ("student", student_workbook(resolved))):
        path = tmp_path / f"{exercise.name}-{size}-{mode}.xlsx"
        path.write_bytes(data)
        findings += [f.line() for f in lint_book(path, path.name)]
    return findings


@pytest.mark.parametrize("name", FAST)
def test_small_workbooks_of_tricky_exercises_lint_clean(tmp_path, name):
    assert lint_built(tmp_path, catalog.get(name), "small") == []


@pytest.mark.slow
@pytest.mark.parametrize("name", catalog.names())
def test_every_exercise_at_every_preset_lints_clean(tmp_path, name):
    """One test per exercise (its presets, key and worksheet), so that the sweep spreads over workers."""
    exercise = catalog.get(name)
    findings = [f for size in exercise.presets for f in lint_built(tmp_path, exercise, size)]
    assert findings == []
