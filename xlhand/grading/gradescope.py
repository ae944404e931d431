"""Grading inside a Gradescope autograder: the one workbook a student submitted, graded against the
class manifest uploaded with the autograder, into ``results/results.json`` in Gradescope's format.

Gradescope lays the container out as (https://gradescope-autograders.readthedocs.io/en/latest/specs/):

* ``/autograder/source``: the autograder zip, unpacked (here: ``setup.sh``, ``run_autograder`` and the
  keys folder of ``xlhand class`` with its ``manifest.json``);
* ``/autograder/submission``: the student's files; ``/autograder/submission_metadata.json``: who
  submitted (``users``: name, email, sid);
* ``/autograder/results/results.json``: what we write: ``score``, ``output``, ``visibility``,
  ``stdout_visibility``, and ``tests``, one per step (``name``, ``number``, ``score``,
  ``max_score``, ``status``, ``output``, ``visibility``).

Whatever goes wrong (no manifest, no workbook, two workbooks, a file that is not a worksheet, a bug),
a results.json is written that says what happened: score 0 and the reason, never a silent failure.
``python -m xlhand.grading.gradescope --root DIR`` runs it (``run_autograder`` calls it).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from xlhand.classroom.roster import file_stem

ROOT = Path("/autograder")
VISIBILITY = ("visible", "hidden", "after_due_date", "after_published")


def find_manifest(source: Path) -> Path:
    """The manifest uploaded with the autograder: ``source/keys/manifest.json`` or else the one
    ``manifest.json`` anywhere under ``source``."""
    preferred = source / "keys" / "manifest.json"
    if preferred.is_file():
        return preferred
    found = sorted(p for p in source.rglob("manifest.json") if p.is_file())
    if len(found) == 1:
        return found[0]
    if not found:
        raise AutograderError("instructor: no manifest.json in the autograder (zip the keys folder of 'xlhand class' "
                              "with setup.sh and run_autograder)")
    raise AutograderError(f"instructor: {len(found)} manifest.json files in the autograder "
                          f"({', '.join(str(p.relative_to(source)) for p in found[:3])}): keep one, or put it in keys/")


class AutograderError(Exception):
    """Something the autograder reports in results.json instead of a grade."""


def the_submission(folder: Path) -> Path:
    """The one .xlsx workbook the student submitted (any letter case, in any sub-folder)."""
    from xlhand.grading.intake import skip_reason

    if not folder.is_dir():
        raise AutograderError("no submission folder: nothing was submitted")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    reasons = {p: skip_reason(p.relative_to(folder)) for p in files}
    workbooks = [p for p, reason in reasons.items() if not reason]
    if len(workbooks) == 1:
        return workbooks[0]
    if not workbooks:
        others = [f"{p.relative_to(folder)}: {reasons[p]}" for p in files if not p.name.startswith(".")]
        raise AutograderError("no Excel workbook (.xlsx) in your submission"
                              + (f" ({'; '.join(others[:3])})" if others else "") + ": submit your worksheet as .xlsx")
    names = ", ".join(str(p.relative_to(folder)) for p in workbooks)
    raise AutograderError(f"{len(workbooks)} workbooks in your submission ({names}): submit only your worksheet")


def submitters(root: Path) -> list[dict]:
    """The users of ``submission_metadata.json`` (empty when it is missing or unreadable)."""
    try:
        meta = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
        return [u for u in meta.get("users", []) if isinstance(u, dict)]
    except (OSError, ValueError, AttributeError):
        return []


def _submitter_id(users: list[dict], ids: list[str]) -> str | None:
    """The manifest id of the Gradescope user who submitted (their SID, email or name)."""
    folded = {i.casefold(): i for i in ids}
    for user in users:
        for key in ("sid", "email", "name"):
            value = str(user.get(key) or "").strip().casefold()
            if value and value in folded:
                return folded[value]
    return None


def results_json(result, *, visibility: str = "visible", note: str = "", points: float | None = None) -> dict:
    """Gradescope's results.json for one StudentResult: the score, the feedback, one test per step.
    With ``points`` (the autograder's points on Gradescope) every score is scaled to them; else a
    score is the number of cells right."""
    from xlhand.grading.exports import feedback_text

    output = feedback_text(result) + (f"\n{note}" if note else "")
    if result.status != "graded":
        return {"score": 0.0, "output": output, "visibility": visibility, "stdout_visibility": "hidden", "tests": []}
    scale = points / result.max_score if points and result.max_score else 1.0
    tests = []
    for step in result.steps:
        right = step.score == step.max_score
        tests.append({
            "name": f"Step {step.number}" + (f": {step.title}" if step.title else ""),
            "number": str(step.number),
            "score": round(step.score * scale, 4), "max_score": round(step.max_score * scale, 4),
            "status": "passed" if right else "failed",
            "output": f"{step.score:g} of {step.max_score:g} cells right",
            "visibility": visibility,
        })
    return {"score": round(result.score * scale, 4), "output": output, "visibility": visibility,
            "stdout_visibility": "hidden", "tests": tests}


def failure_json(message: str, visibility: str = "visible") -> dict:
    return {"score": 0.0, "output": f"The autograder could not grade this submission: {message}",
            "visibility": visibility, "stdout_visibility": "hidden", "tests": []}


def autograde(root: Path = ROOT, *, manifest: Path | None = None, visibility: str = "visible",
              timeout: float = 60.0, points: float | None = None) -> dict:
    """Grade the one workbook in ``root/submission`` against the manifest in ``root/source`` and
    write ``root/results/results.json``; returns what was written. Never raises for a bad
    submission or setup: the reason goes into results.json."""
    root = Path(root)
    started = time.monotonic()
    try:
        data = _grade_one(root, manifest, visibility, timeout, points)
    except AutograderError as e:
        data = failure_json(str(e), visibility)
    except Exception as e:  # noqa: BLE001 - a bug: still a results.json, and the trace for the instructor's log
        traceback.print_exc()
        data = failure_json(f"internal error ({type(e).__name__}: {e}); the instructor sees the details", visibility)
    data["execution_time"] = round(time.monotonic() - started, 3)
    write_results(root, data)
    return data


def write_results(root: Path, data: dict) -> Path:
    results = Path(root) / "results"
    results.mkdir(parents=True, exist_ok=True)
    path = results / "results.json"
    tmp = results / ".results.json.tmp"
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _grade_one(root: Path, manifest_path: Path | None, visibility: str, timeout: float, points) -> dict:
    from xlhand.classroom.manifest import Manifest
    from xlhand.errors import XlhandError
    from xlhand.grading.pipeline import grade
    from xlhand.grading.zipcheck import Rejected, precheck

    manifest_path = Path(manifest_path) if manifest_path else find_manifest(root / "source")
    try:
        manifest = Manifest.load(manifest_path)
    except XlhandError as e:
        raise AutograderError(f"instructor: {e}") from None
    submission = the_submission(root / "submission")
    try:
        precheck(submission)
    except Rejected as e:
        raise AutograderError(f"Not graded: {e}") from None
    submitter = _submitter_id(submitters(root), [st.id for st in manifest.students])
    with tempfile.TemporaryDirectory(prefix="xlhand-gradescope-") as tmp:
        # the file in a folder named after the submitter: identified by its metadata first, else by
        # its name, else by this folder (as in an LMS download)
        entry = next((st for st in manifest.students if st.id == submitter), None)
        folder = Path(entry.file).stem if entry else "submission"
        staged = Path(tmp) / "in" / file_stem(folder) / submission.name
        staged.parent.mkdir(parents=True)
        shutil.copyfile(submission, staged)
        try:
            run = grade(manifest_path, [staged.parent.parent], Path(tmp) / "out", feedback=False, timeout=timeout)
        except XlhandError as e:
            raise AutograderError(str(e)) from None
    handed_in = [f for f in run.files if f.status in ("graded", "rejected")]
    if not handed_in:
        raise AutograderError("your workbook was not read (it may not be an Excel workbook)")
    result = next((r for r in run.results if r.student_id == handed_in[0].student_id), None)
    if result is None:  # set aside before anyone could be named (a workbook that cannot be read)
        raise AutograderError(f"Not graded: {handed_in[0].reason}")
    note = ""
    if result.status == "graded" and submitter is not None and result.student_id != submitter:
        note = (f"This worksheet was made for student '{result.student_id}', not for you ('{submitter}'): "
                f"it was graded as theirs; submit your own worksheet.")
    return results_json(result, visibility=visibility, note=note, points=points)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xlhand.grading.gradescope",
                                     description="Grade the submission of a Gradescope autograder into results.json.")
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("AUTOGRADER_ROOT", ROOT)),
                        help="the autograder folder (default /autograder, or $AUTOGRADER_ROOT)")
    parser.add_argument("--manifest", type=Path, help="the class manifest (default: found under ROOT/source)")
    parser.add_argument("--visibility", choices=VISIBILITY, default="visible")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--points", type=float, help="the autograder's points on Gradescope: scores scaled to them "
                                                     "(default: one point per cell)")
    args = parser.parse_args(argv)
    data = autograde(args.root, manifest=args.manifest, visibility=args.visibility, timeout=args.timeout,
                     points=args.points)
    print(f"score {data['score']:g}; wrote {args.root / 'results' / 'results.json'}")
    print(data["output"])
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BaseException as e:  # even a broken import or an interrupt leaves a results.json
        if isinstance(e, SystemExit) and e.code in (0, None):
            raise
        traceback.print_exc()
        root = Path(os.environ.get("AUTOGRADER_ROOT", ROOT))
        try:
            write_results(root, failure_json(f"internal error ({type(e).__name__}); the instructor sees the details"))
        finally:
            sys.exit(0)
