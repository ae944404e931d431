"""Grade 100 submissions of lstm at size small and report the time.

Run: python benchmarks/bench_grade.py [N]. Setup (class, filled worksheets saved through
LibreOffice) is not timed; the grading (safe parsing in limited children, scoring with error
carried forward for the few planted mistakes, grades.csv and 100 feedback workbooks) is.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from gradekit import blank_cells, fill, make_class, perfect_values  # noqa: E402
from xlhand import libreoffice  # noqa: E402
from xlhand.grade import grade  # noqa: E402


def main(n: int = 100) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ids = [f"st{k:03d}" for k in range(n)]
        t0 = time.perf_counter()
        manifest_path, manifest = make_class(tmp, "lstm", ids=ids, size="small")
        typed = tmp / "typed"
        typed.mkdir()
        files = []
        for k, sid in enumerate(ids):
            values = perfect_values(manifest, sid)
            if k % 3 == 1:  # a third of the class slips once early on, the rest carried forward
                _, _, _, r, c, want = blank_cells(manifest, sid)[0]
                values[(r, c)] = want + 1
            files.append(fill(manifest_path.parent / f"{sid}.xlsx", typed / f"{sid}.xlsx", values))
        if libreoffice.soffice():
            converted = libreoffice.recalculate(files, tmp / "lo")
            files = [p for p in converted.values() if p]
        setup = time.perf_counter() - t0
        t0 = time.perf_counter()
        subs = grade(manifest_path, files, tmp / "grades")
        elapsed = time.perf_counter() - t0
    graded = [s for s in subs if s.status == "graded"]
    print(f"setup {setup:.1f} s; graded {len(graded)} of {len(files)} lstm-small submissions in {elapsed:.1f} s "
          f"({1000 * elapsed / max(len(files), 1):.0f} ms each)")
    print("scores:", sorted({f"{s.score:g}/{s.max:g}" for s in graded}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
