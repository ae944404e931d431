"""Seconds per student of `xlhand class` (worksheet + key, both verified, and the manifest).

Run on demand:  python benchmarks/bench_class.py [N …]   (default: 100 and 1000 students)
Prints one row per exercise (backprop, lstm, alphafold-msa) and class size, with the cores used:
each class is built three times (a shared virtual machine's timings vary by a quarter from run to
run), and the row gives every run, the best and the median.
Target on 2 cores: 1,000 backprop students ≤ 60 s, lstm ≤ 90 s.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from xlhand.classroom.classset import build_class
from xlhand.parallel import default_jobs

EXERCISES = ("backprop", "lstm", "alphafold-msa")
REPEATS = 3


def main(sizes: list[int]) -> None:
    jobs = default_jobs()
    print("| exercise | students | cores | seconds (runs) | per student: best | median |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in EXERCISES:
        for n in sizes:
            runs = [_build_once(name, n, jobs) for _ in range(REPEATS)]
            print(f"| {name} | {n} | {jobs} | {', '.join(f'{t:.1f}' for t in runs)} | {min(runs) / n:.3f} | "
                  f"{statistics.median(runs) / n:.3f} |", flush=True)


def _build_once(name: str, n: int, jobs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        roster = Path(tmp) / "roster.csv"
        roster.write_text("id,name\n" + "".join(f"s{k:04d},Student {k}\n" for k in range(n)))
        start = time.perf_counter()
        build_class(name, roster, Path(tmp) / "class", jobs=jobs)
        return time.perf_counter() - start


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000])
