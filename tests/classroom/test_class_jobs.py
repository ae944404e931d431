"""Class sets built in parallel: the same files, byte for byte, as one after the other."""
from __future__ import annotations

from pathlib import Path

import pytest

from xlhand.classroom.classset import build_class
from xlhand.engines.recalc import BuildRefused


def test_two_jobs_and_one_job_write_identical_files(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"s{k},Student {k}\n" for k in range(5)))
    for jobs in (1, 2):
        build_class("mlp", roster, tmp_path / f"out{jobs}", jobs=jobs)

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    for folder in ("out{}", "out{}-keys"):
        one, two = files(tmp_path / folder.format(1)), files(tmp_path / folder.format(2))
        assert one and one == two


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_student_that_cannot_be_built_leaves_nothing_behind(tmp_path, monkeypatch, jobs):
    """Files are written by the workers as temporary files and renamed once every student is built:
    a class set that fails at its fourth student leaves no file and no folder it made; a folder that
    was there keeps what it held."""
    from xlhand.classroom import classset

    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"s{k},Student {k}\n" for k in range(6)))
    built = classset.key_workbook

    def refuse_s3(resolved, **kw):
        if resolved.seed == classset.student_seed(0, "s3"):
            raise BuildRefused("s3: not written: a planted refusal")
        return built(resolved, **kw)
    monkeypatch.setattr(classset, "key_workbook", refuse_s3)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "notes.txt").write_text("mine")
    with pytest.raises(BuildRefused):
        build_class("mlp", roster, tmp_path / "out", keys_dir=tmp_path / "keys", jobs=jobs)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["notes.txt"]
