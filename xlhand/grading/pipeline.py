"""Grading a class, stage by stage, each returning a typed value:

found (:mod:`~xlhand.grading.intake`) → read (:mod:`~xlhand.grading.sandbox`) → identified
(:mod:`~xlhand.grading.identify`) → scored (:mod:`~xlhand.grading.score`, with
:mod:`~xlhand.grading.credit`) → reported (:mod:`~xlhand.grading.report`,
:mod:`~xlhand.grading.feedback`). Each stage is the one place that sets a file aside for its reason.
"""
from __future__ import annotations

from pathlib import Path

from xlhand.build import check_writable, key_sheet, write_atomic
from xlhand.classroom.classset import file_stems
from xlhand.classroom.manifest import Manifest, Tolerance
from xlhand.errors import XlhandError
from xlhand.grading.feedback import feedback_workbook
from xlhand.grading.identify import identify_all
from xlhand.grading.intake import collect
from xlhand.grading.report import FileGrade, GradeRun, student_results, write_grades_csv, write_skipped_csv
from xlhand.grading.sandbox import read_all
from xlhand.grading.score import ECF_CREDIT, score_file


def grade(manifest_path: Path, paths: list[Path], out_dir: Path, *, rtol: float | None = None,
          atol: float | None = None, ecf: float = ECF_CREDIT, feedback: bool = True,
          workers: int | None = None, timeout: float = 30.0, progress: bool = False) -> GradeRun:
    """Grade the hand-ins among ``paths`` (files, or folders searched recursively). ``files`` of the
    run holds one row per file found (skipped files with status "skipped") and per missing student;
    ``results`` one per student of the manifest. With ``progress``, a bar on stderr while the files
    are read (shown only on a terminal)."""
    manifest = Manifest.load(manifest_path)
    if not 0 <= ecf < 1:
        raise XlhandError(f"--ecf {ecf}: carried-forward credit must be at least 0 and below 1")
    tol = Tolerance(rtol if rtol is not None else manifest.tolerance.rtol,
                    atol if atol is not None else manifest.tolerance.atol)
    check_writable(out_dir)
    layout = key_sheet(manifest.resolved(manifest.students[0]))  # every variant has this layout
    rows = max(b.bottom for b in layout.blocks.values()) + 2
    cols = max(b.right for b in layout.blocks.values()) + 2
    blanks = tuple((b.top + i, b.left + j) for b in (layout.blocks[n] for n in manifest.blanks)
                   for i in range(b.rows) for j in range(b.cols))

    found = collect(paths)
    reads = read_all([f for f in found if not f.skipped], manifest.sheet, rows, cols, blanks, workers, timeout,
                     progress)
    identified = identify_all(reads, manifest)
    stems = file_stems(manifest.students)
    files, sheets = [], {}
    for item in identified:
        f, student = item.found, item.student
        who = dict(student_id=student.id, name=student.name, identified_by=item.how) if student else {}
        if item.reason:
            files.append(FileGrade(f.path, f.label, **who, status="rejected", reason=item.reason,
                                   flags=item.read.notes))
            continue
        scored = score_file(item, manifest, tol, ecf)
        flags = item.read.notes + scored.flags
        if scored.reason:
            files.append(FileGrade(f.path, f.label, **who, status="rejected", reason=scored.reason, flags=flags))
            continue
        out = out_dir / "feedback" / f"{stems[student.id]}-feedback.xlsx" if feedback else None
        files.append(FileGrade(f.path, f.label, **who, score=scored.score, max=scored.max, steps=scored.steps,
                               flags=flags, cells=scored.cells, feedback=out))
        sheets[id(files[-1])] = scored.sheet
    graded_ids = {s.student_id for s in files if s.student_id}
    files += [FileGrade(Path(""), "", s.id, s.name, status="missing", reason="no submission")
              for s in manifest.students if s.id not in graded_ids]
    skipped = [FileGrade(f.path, f.label, status="skipped", reason=f.skipped) for f in found if f.skipped]

    write_grades_csv(out_dir / "grades.csv", files)
    write_skipped_csv(out_dir / "skipped.csv", skipped)
    if feedback:
        check_writable(out_dir / "feedback")
        for s in files:
            if s.feedback is not None:
                write_atomic(s.feedback, feedback_workbook(s, sheets[id(s)], manifest))
    return GradeRun(student_results(files, manifest, layout.steps), manifest, Path(out_dir), files + skipped)
