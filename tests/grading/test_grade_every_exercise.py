"""Issue 20, done when: for every exercise, a class (perfect, slip, untouched, constant guess, key
handed in) is graded as an instructor can enter it unchecked. Slow: one class per exercise."""
from __future__ import annotations

import shutil

import pytest

from gradekit import blank_cells, fill, make_class, perfect_values
from xlhand.grading.pipeline import grade
from xlhand.model import catalog

IDS = ("perfect", "slip", "untouched", "guess", "key")


@pytest.mark.slow
@pytest.mark.parametrize("name", catalog.names())
def test_a_class_of_every_kind(name, tmp_path):
    made = make_class(tmp_path, name, ids=IDS)
    sub = tmp_path / "in"
    sub.mkdir()
    fill(made.worksheets / "perfect.xlsx", sub / "perfect.xlsx", perfect_values(made.manifest, "perfect"))
    slip = perfect_values(made.manifest, "slip")
    last = next(c for c in reversed(blank_cells(made.manifest, "slip")) if not isinstance(c[5], str))
    slip[(last[3], last[4])] = last[5] + 5.0
    fill(made.worksheets / "slip.xlsx", sub / "slip.xlsx", slip)
    fill(made.worksheets / "untouched.xlsx", sub / "untouched.xlsx", {})
    fill(made.worksheets / "guess.xlsx", sub / "guess.xlsx", {rc: 0.0 for rc in perfect_values(made.manifest, "guess")})
    shutil.copy(made.manifest_path.parent / "key-key.xlsx", sub / "key.xlsx")
    subs = {s.student_id: s for s in grade(made.manifest_path, [sub], tmp_path / "grades").files}
    assert subs["perfect"].score == subs["perfect"].max > 0
    assert subs["slip"].score == subs["slip"].max - 1
    assert subs["untouched"].score == 0 and all(c.status == "empty" for c in subs["untouched"].cells)
    assert not any(c.status == "ecf" for c in subs["guess"].cells)
    assert subs["key"].status == "rejected" and subs["key"].score == 0 and "answer key" in subs["key"].reason
