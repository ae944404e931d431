"""Grading a class, stage by stage, each returning a typed value:

found (:mod:`~xlhand.grading.intake`) → read (:mod:`~xlhand.grading.sandbox`) → identified
(:mod:`~xlhand.grading.identify`) → scored (:mod:`~xlhand.grading.score`, with
:mod:`~xlhand.grading.credit`) → reported (:mod:`~xlhand.grading.report`,
:mod:`~xlhand.grading.feedback`, written as a whole by :mod:`~xlhand.grading.outdir`). Each stage
is the one place that sets a file aside for its reason.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from xlhand.build import key_sheet
from xlhand.classroom.roster import file_stems
from xlhand.classroom.manifest import Manifest, Tolerance
from xlhand.classroom.worksheet import CHECK_SHEET
from xlhand.errors import XlhandError
from xlhand.grading import outdir
from xlhand.grading.feedback import feedback_workbook
from xlhand.grading.identify import identify_all
from xlhand.grading.intake import collect
from xlhand.grading.report import FileGrade, GradeRun, student_results, write_grades_csv, write_skipped_csv
from xlhand.grading.sandbox import read_all
from xlhand.grading.score import ECF_CREDIT, score_file


def grade(manifest_path: Path, paths: list[Path], out_dir: Path, *, rtol: float | None = None,
          atol: float | None = None, ecf: float = ECF_CREDIT, feedback: bool = True,
          workers: int | None = None, timeout: float = 30.0, progress: bool = False,
          keep: str = "refuse") -> GradeRun:
    """Grade the hand-ins among ``paths`` (files, or folders searched recursively). ``files`` of the
    run holds one row per file found (skipped files with status "skipped") and per missing student;
    ``results`` one per student of the manifest. ``keep`` says what to do with two files of one
    student (refuse both, keep the newest, the first or the best). A run that matches no submission
    is an error and writes nothing; otherwise ``out_dir`` is written anew as a whole. With
    ``progress``, a bar on stderr while the files are read (shown only on a terminal)."""
    manifest = Manifest.load(manifest_path)
    if not 0 <= ecf < 1:
        raise XlhandError(f"--ecf {ecf}: carried-forward credit must be at least 0 and below 1")
    tol = Tolerance(rtol if rtol is not None else manifest.tolerance.rtol,
                    atol if atol is not None else manifest.tolerance.atol)
    outdir.check_replaceable(Path(out_dir))
    found = collect(paths)
    if not any(not f.skipped for f in found):
        raise XlhandError(_nothing_to_grade(paths, found))
    layout = key_sheet(manifest.resolved(manifest.students[0]))  # every variant has this layout
    rows = max(b.bottom for b in layout.blocks.values()) + 2
    cols = max(b.right for b in layout.blocks.values()) + 2
    blanks = tuple((b.top + i, b.left + j) for b in (layout.blocks[n] for n in manifest.blanks)
                   for i in range(b.rows) for j in range(b.cols))

    reads = read_all([f for f in found if not f.skipped], manifest.sheet, rows, cols, blanks, workers, timeout,
                     progress, CHECK_SHEET if manifest.self_check else "")
    identified = identify_all(reads, manifest, keep)
    if not any(item.student for item in identified):
        raise XlhandError(_nothing_to_grade(paths, found, matched=False))
    files, sheets = [], {}
    for item in identified:
        f, student = item.found, item.student
        who = dict(student_id=student.id, name=student.name, identified_by=item.how) if student else {}
        if item.reason:
            files.append(FileGrade(f.path, f.label, **who, status="rejected", reason=item.reason,
                                   flags=item.read.notes + item.notes))
            continue
        scored = score_file(item, manifest, tol, ecf)
        flags = item.read.notes + item.notes + scored.flags
        if scored.reason:
            files.append(FileGrade(f.path, f.label, **who, status="rejected", reason=scored.reason, flags=flags))
            continue
        files.append(FileGrade(f.path, f.label, **who, score=scored.score, max=scored.max, steps=scored.steps,
                               flags=flags, cells=scored.cells))
        sheets[len(files) - 1] = scored.sheet
    if keep == "best":
        files = _keep_best(files)
    graded_ids = {s.student_id for s in files if s.student_id}
    files += [FileGrade(Path(""), "", s.id, s.name, status="missing", reason="no submission")
              for s in manifest.students if s.id not in graded_ids]
    skipped = [FileGrade(f.path, f.label, status="skipped", reason=f.skipped) for f in found if f.skipped]

    stems = file_stems(manifest.students)
    with outdir.replacing(Path(out_dir)) as staging:
        if feedback:
            (staging / "feedback").mkdir()
            for k, s in enumerate(files):
                if s.status == "graded":
                    name = Path("feedback") / f"{stems[s.student_id]}-feedback.xlsx"
                    files[k] = s = dataclasses.replace(s, feedback=Path(out_dir) / name)
                    (staging / name).write_bytes(feedback_workbook(s, sheets[k], manifest))
        write_grades_csv(staging / "grades.csv", files)
        write_skipped_csv(staging / "skipped.csv", skipped)
    return GradeRun(student_results(files, manifest, layout.steps), manifest, Path(out_dir), files + skipped)


def _keep_best(files: list[FileGrade]) -> list[FileGrade]:
    """Of two or more graded files of one student, the best scoring (the first of equals) stays graded."""
    best: dict[str, int] = {}
    for k, s in enumerate(files):
        if s.status == "graded" and (s.student_id not in best or s.score > files[best[s.student_id]].score):
            best[s.student_id] = k
    return [s if s.status != "graded" or best[s.student_id] == k else
            dataclasses.replace(s, status="rejected", reason=f"another submission of '{s.student_id}' scores "
                                f"higher: {files[best[s.student_id]].file} (--keep best)", cells=())
            for k, s in enumerate(files)]


def _nothing_to_grade(paths, found, matched: bool = True) -> str:
    where = ", ".join(str(p) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        return f"nothing to grade: {missing[0]} does not exist (nothing written)"
    if matched:
        skipped = "; ".join(f"{f.label}: {f.skipped}" for f in found[:5]) + (" …" if len(found) > 5 else "")
        return (f"nothing to grade in {where}: no .xlsx hand-in among {len(found)} files"
                + (f" ({skipped})" if found else "") + " (nothing written)")
    return (f"nothing to grade in {where}: no file matches a student of the manifest by its metadata, file name "
            f"or folder (nothing written)")
