"""Class sets built in parallel: the same files, byte for byte, as one after the other."""
from __future__ import annotations

from pathlib import Path

from xlhand.classroom.classset import build_class


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
