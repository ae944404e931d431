"""Work spread over the machine's cores, results in their original order, with a progress bar.

Workers are forked, so a job is just an index into work the parent already holds (nothing is
pickled on the way in; only each job's result comes back). Where fork is not available, or one job
is asked for, everything runs in this process. The output never depends on the number of workers:
results come back in the order of the inputs.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from contextlib import nullcontext
from typing import Callable, Sequence

import click

_WORK: tuple[Callable, Sequence] | None = None  # (function, inputs), set before the workers fork


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_all(fn: Callable, inputs: Sequence, jobs: int | None = None, label: str = "") -> list:
    """``[fn(x) for x in inputs]`` on ``jobs`` processes (default: the cores), in order. With a
    ``label``, a progress bar on stderr (shown only on a terminal)."""
    global _WORK
    jobs = max(1, min(jobs or default_jobs(), len(inputs)))
    with progress_bar(len(inputs), label) as progress:
        if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
            return [_advance(progress, fn(x)) for x in inputs]
        _WORK = (fn, inputs)
        try:
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                chunk = max(1, len(inputs) // (jobs * 8))
                return [_advance(progress, r) for r in pool.imap(_run_one, range(len(inputs)), chunksize=chunk)]
        finally:
            _WORK = None


class _Silent:
    def update(self, steps: int) -> None:
        pass


def progress_bar(length: int, label: str):
    """A progress bar on stderr when it is a terminal and there is a label; otherwise one that says nothing."""
    if label and sys.stderr.isatty():
        return click.progressbar(length=length, label=label, file=sys.stderr)
    return nullcontext(_Silent())


def _run_one(index: int):
    fn, inputs = _WORK
    return fn(inputs[index])


def _advance(progress, result):
    progress.update(1)
    return result
