"""Stage 5, reported: one row per file (and per missing student), grades.csv, skipped.csv, and the
typed results a learning-management export reads (:class:`StudentResult`, :class:`GradeRun`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xlhand.classroom.manifest import Manifest
from xlhand.classroom.csvfiles import write_csv


@dataclass(frozen=True)
class FileGrade:
    """What became of one file found (or, with an empty path, of a student who handed nothing in)."""

    path: Path
    label: str = ""  # the file as reports name it: its path under the folder it was found in
    student_id: str = ""
    name: str = ""
    identified_by: str = ""
    status: str = "graded"  # graded | rejected | missing | skipped
    reason: str = ""
    score: float = 0.0
    max: float = 0.0
    steps: dict = field(default_factory=dict)  # step -> (score, max)
    flags: tuple[str, ...] = ()
    cells: tuple = ()  # score.CellGrade of every blank cell
    feedback: Path | None = None

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max if self.max else 0.0

    @property
    def file(self) -> str:
        return self.label or (self.path.name if str(self.path) else "")


@dataclass(frozen=True)
class StepScore:
    number: int
    title: str
    score: float
    max_score: float


@dataclass(frozen=True)
class StudentResult:
    """One student of the manifest, as a learning-management system records them."""

    student_id: str
    name: str
    file: str  # the file graded (or set aside); "" when nothing was handed in
    status: str  # graded | missing | rejected
    reason: str
    score: float
    max_score: float
    steps: tuple[StepScore, ...] = ()
    flags: tuple[str, ...] = ()
    feedback: str = ""  # one or two plain sentences for a comment column


@dataclass(frozen=True)
class GradeRun:
    results: list[StudentResult]  # one per student, in manifest order
    manifest: Manifest
    out_dir: Path
    files: list[FileGrade]  # every file found (graded, set aside, skipped) and every missing student


def student_results(files: list[FileGrade], manifest: Manifest, step_titles: list[str]) -> list[StudentResult]:
    """Each student's row: their graded file, else the file of theirs that was set aside, else missing."""
    out = []
    for student in manifest.students:
        theirs = [f for f in files if f.student_id == student.id and f.status in ("graded", "rejected")]
        f = next((f for f in theirs if f.status == "graded"), theirs[0] if theirs else None)
        if f is None:
            out.append(StudentResult(student.id, student.name, "", "missing", "no submission", 0.0, 0.0, (), (),
                                     "No submission was found."))
            continue
        steps = tuple(StepScore(k, step_titles[k - 1] if 1 <= k <= len(step_titles) else "", s, m)
                      for k, (s, m) in sorted(f.steps.items()))
        out.append(StudentResult(student.id, student.name, f.file, f.status, f.reason,
                                 f.score if f.status == "graded" else 0.0, f.max, steps, f.flags, _summary(f)))
    return out


def _summary(f: FileGrade) -> str:
    if f.status != "graded":
        return f"Not graded: {f.reason}."
    count = {status: sum(c.status == status for c in f.cells) for status in ("right", "ecf", "wrong", "empty")}
    text = (f"{_fmt(f.score)} of {_fmt(f.max)} points ({f.percent:.0f}%): {count['right']} cells right, "
            f"{count['ecf']} carried forward, {count['wrong']} wrong, {count['empty']} empty.")
    if f.flags:
        text += f" Note: {f.flags[0]}" + (f" (and {len(f.flags) - 1} more notes)." if len(f.flags) > 1 else ".")
    return text


def write_grades_csv(path: Path, files: list[FileGrade]) -> None:
    steps = sorted({k for s in files for k in s.steps})
    rows = [["student_id", "name", "file", "identified_by", "status", "score", "max", "percent",
             *[f"step_{k}" for k in steps], "reason", "flags"]]
    for s in files:
        graded = s.status == "graded"
        rows.append([s.student_id, s.name, s.file, s.identified_by, s.status,
                     _fmt(s.score) if graded else "", _fmt(s.max) if graded else "",
                     f"{s.percent:.1f}" if graded else "",
                     *[(_fmt(s.steps[k][0]) + "/" + _fmt(s.steps[k][1])) if k in s.steps else "" for k in steps],
                     s.reason, "; ".join(s.flags)])
    write_csv(path, rows)


def write_skipped_csv(path: Path, skipped: list[FileGrade]) -> None:
    """Every file found that is not a hand-in, with the reason (written even when there is none, so
    an old list never stands beside new grades)."""
    write_csv(path, [["file", "reason"], *[[s.file, s.reason] for s in skipped]])


def _fmt(x: float) -> str:
    return f"{x:g}"


def report_lines(files: list[FileGrade], out_dir: Path) -> list[str]:
    """What `xlhand grade` prints: a line per file (or missing student), then the counts."""
    lines = []
    for s in files:
        if s.status == "graded":
            lines.append(f"{s.file}: {s.student_id} ({s.identified_by}) {s.score:g}/{s.max:g}"
                         + (f" [{'; '.join(s.flags)}]" if s.flags else ""))
        elif s.status in ("rejected", "skipped"):
            lines.append(f"{s.file}: {'not graded' if s.status == 'rejected' else 'skipped'}: {s.reason}")
        else:
            lines.append(f"{s.student_id}: {s.reason}")
    count = {status: sum(s.status == status for s in files) for status in ("graded", "rejected", "missing", "skipped")}
    lines.append(f"{count['graded']} graded, {count['rejected']} not graded, {count['missing']} missing, "
                 f"{count['skipped']} files skipped; wrote {out_dir / 'grades.csv'} and {out_dir / 'skipped.csv'}")
    return lines
