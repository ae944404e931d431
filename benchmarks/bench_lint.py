"""How long ``xlhand lint`` takes on a 5 MB hand-made-style workbook.

The workbook is what an instructor's big "by hand" file looks like: a data sheet of measured numbers
(the bulk of the bytes) and sheets of worked steps, each a column of blocks: X given, W and b given,
Z = W·X + b written out cell by cell, A = ReLU(Z), e^A, Σ and p = softmax down each column, all with
borders, fills and labels. Run: ``PYTHONPATH=. python benchmarks/bench_lint.py [--keep FILE]``.
"""
from __future__ import annotations

import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell as cell

from xlhand.lint import lint_file

DATA_ROWS, DATA_COLS = 9_000, 40
STEP_SHEETS, PANELS = 8, 70  # sheets of worked steps, panels down each sheet
N = 4  # matrices are N×N


def build(path: Path) -> None:
    rnd = random.Random(2026)
    wb = xlsxwriter.Workbook(str(path))
    given = wb.add_format({"border": 1, "bg_color": "#DDEBF7"})
    weight = wb.add_format({"border": 1, "bg_color": "#FCE4D6"})
    computed = wb.add_format({"border": 1, "bg_color": "#E2EFDA"})
    data = wb.add_worksheet("data")
    for c in range(DATA_COLS):
        data.write(0, c, f"feature {c + 1}")
    for r in range(1, DATA_ROWS):
        for c in range(DATA_COLS):
            data.write_number(r, c, rnd.gauss(0, 1), given)
    for s in range(STEP_SHEETS):
        ws = wb.add_worksheet(f"steps{s + 1}")
        for p in range(PANELS):
            _panel(ws, 1 + p * (2 * N + 6), rnd, given, weight, computed)
    wb.close()


def _panel(ws, top: int, rnd, given, weight, computed) -> None:
    """X above Z, W left of Z, b beside W; A right of Z; e^A, Σ and p under A."""
    ws.write(top, 6, "X")
    for i in range(N):
        for j in range(N):
            ws.write_number(top + 1 + i, 6 + j, rnd.randint(-3, 3), given)
    z = top + N + 2
    ws.write(z - 1, 1, "W"), ws.write(z - 1, 5, "b"), ws.write(z - 1, 6, "Z = W·X + b")
    ws.write(z - 1, 11, "A = ReLU(Z)"), ws.write(z - 1, 16, "e^A")
    for i in range(N):
        for k in range(N):
            ws.write_number(z + i, 1 + k, rnd.randint(-2, 2), weight)
        ws.write_number(z + i, 5, rnd.randint(-1, 1), weight)
        for j in range(N):
            terms = "+".join(f"{cell(z + i, 1 + k)}*{cell(top + 1 + k, 6 + j)}" for k in range(N))
            ws.write_formula(z + i, 6 + j, f"={terms}+{cell(z + i, 5)}", computed)
            ws.write_formula(z + i, 11 + j, f"=MAX(0,{cell(z + i, 6 + j)})", computed)
            ws.write_formula(z + i, 16 + j, f"=EXP({cell(z + i, 11 + j)})", computed)
            ws.write_formula(z + N + 1 + i, 16 + j,
                             f"={cell(z + i, 16 + j)}/{cell(z + N, 16 + j, row_abs=True)}", computed)
    ws.write(z + N, 15, "Σ")
    for j in range(N):
        ws.write_formula(z + N, 16 + j, f"=SUM({cell(z, 16 + j)}:{cell(z + N - 1, 16 + j)})", computed)


def main() -> None:
    keep = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(keep or Path(tmp) / "big-by-hand.xlsx")
        build(path)
        size = path.stat().st_size
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        findings = lint_file(path, timeout=600)  # (the default limit is 30 s)
        took = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    formulas = STEP_SHEETS * PANELS * (4 * N * N + N)
    print(f"{size / 1e6:.1f} MB, {DATA_ROWS * DATA_COLS + STEP_SHEETS * PANELS * (N * N + N * N + N)} numbers, "
          f"{formulas} formulas: linted in {took:.2f} s ({cpu:.2f} s of CPU in the reading child; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs), {len(findings)} findings")


if __name__ == "__main__":
    main()
