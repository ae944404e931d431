"""Grade N submissions of an exercise (default: 100 of lstm at size small) whose blanks hold formulas.

Run: python benchmarks/bench_grade.py [N] [EXERCISE]. The target is 100 lstm submissions in at most
10 s on a 2-core machine.

Untimed setup: a class of N, every blank of every worksheet filled with the key's own formula (what
an honest student types), and in a third of them the first blank typed as a wrong number instead, so
that every formula after it is graded with error carried forward. Timed: exactly what
``xlhand grade`` does, one call of :func:`xlhand.grading.pipeline.grade`: precheck, reading and recalculating
each file with IronCalc in its own limited child, the formula policy, scoring with carried-forward
credit, grades.csv and N feedback workbooks.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from gradekit import blank_cells, fill, key_formula_values, make_class  # noqa: E402
from xlhand.grading.pipeline import grade  # noqa: E402


def main(n: int = 100, exercise: str = "lstm") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ids = [f"st{k:03d}" for k in range(n)]
        t0 = time.perf_counter()
        manifest_path, manifest, worksheets = make_class(tmp, exercise, ids=ids, size="small")
        typed = tmp / "typed"
        typed.mkdir()
        files = []
        for k, sid in enumerate(ids):
            values = key_formula_values(manifest, sid)
            if k % 3 == 1:
                _, _, _, r, c, want = blank_cells(manifest, sid)[0]
                values[(r, c)] = want + 1.5  # never 0, which carries nothing
            files.append(fill(worksheets / f"{sid}.xlsx", typed / f"{sid}.xlsx", values))
        setup = time.perf_counter() - t0

        t0 = time.perf_counter()
        subs = grade(manifest_path, files, tmp / "grades").files
        elapsed = time.perf_counter() - t0
    graded = [s for s in subs if s.status == "graded"]
    cells = sum(len(s.cells) for s in graded)
    print(f"graded {len(graded)} of {len(files)} {exercise}-small submissions ({cells} formula cells) in "
          f"{elapsed:.2f} s ({1000 * elapsed / max(len(files), 1):.0f} ms each; target 100 in 10 s); "
          f"setup {setup:.1f} s, untimed")
    print("scores:", sorted({f"{s.score:g}/{s.max:g}" for s in graded}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100, sys.argv[2] if len(sys.argv) > 2 else "lstm")
