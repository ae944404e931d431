"""Seconds per student of `xlhand class` (worksheet + key, both verified, and the manifest).

Run on demand:  python benchmarks/bench_class.py [N …]   (default: 100 and 1000 students)
Prints one row per exercise (backprop, lstm, alphafold-msa) and class size, with the cores used.
Target on 2 cores: 1,000 backprop students ≤ 60 s, lstm ≤ 90 s.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from xlhand.classroom.classset import build_class
from xlhand.parallel import default_jobs

EXERCISES = ("backprop", "lstm", "alphafold-msa")


def main(sizes: list[int]) -> None:
    jobs = default_jobs()
    print("| exercise | students | cores | seconds | seconds per student |")
    print("|---|---:|---:|---:|---:|")
    for name in EXERCISES:
        for n in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                roster = Path(tmp) / "roster.csv"
                roster.write_text("id,name\n" + "".join(f"s{k:04d},Student {k}\n" for k in range(n)))
                start = time.perf_counter()
                build_class(name, roster, Path(tmp) / "class", jobs=jobs)
                took = time.perf_counter() - start
            print(f"| {name} | {n} | {jobs} | {took:.1f} | {took / n:.3f} |", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000])
