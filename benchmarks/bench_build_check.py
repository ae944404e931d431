"""Time `build` and `check` for every exercise and preset; print cells written and verified per second.

Run on demand:  python benchmarks/bench_build_check.py [EXERCISE …]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from xlhand import catalog
from xlhand.build import key_sheet, key_workbook, write_atomic
from xlhand.params import resolve
from xlhand.verify import check_file


def measure(name: str, size: str, out: Path) -> tuple[int, int, float, float]:
    start = time.perf_counter()
    resolved = resolve(catalog.get(name), size=size)
    data = key_workbook(resolved)
    path = out / f"{name}-{size}.xlsx"
    write_atomic(path, data)
    built = time.perf_counter() - start
    sheet = key_sheet(resolved)
    cells = sum(b.rows * b.cols for b in sheet.blocks.values())
    formulas = sum(b.rows * b.cols for b in sheet.computed_blocks())
    start = time.perf_counter()
    report = check_file(path)
    checked = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(f"{path}: check failed")
    return cells, formulas, built, checked


def main(names: list[str]) -> None:
    print(f"{'exercise':<22}{'size':<8}{'cells':>7}{'formulas':>9}{'build s':>9}{'cells/s':>9}"
          f"{'check s':>9}{'verified/s':>11}")
    totals = [0, 0.0, 0.0]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            for size in catalog.get(name).presets:
                cells, formulas, built, checked = measure(name, size, Path(tmp))
                totals[0] += cells
                totals[1] += built
                totals[2] += checked
                print(f"{name:<22}{size:<8}{cells:>7}{formulas:>9}{built:>9.3f}{cells / built:>9.0f}"
                      f"{checked:>9.2f}{cells / checked:>11.0f}")
    print(f"{'total':<30}{totals[0]:>7}{'':>9}{totals[1]:>9.2f}{totals[0] / totals[1]:>9.0f}"
          f"{totals[2]:>9.2f}{totals[0] / totals[2]:>11.0f}")


if __name__ == "__main__":
    main(sys.argv[1:] or catalog.names())
