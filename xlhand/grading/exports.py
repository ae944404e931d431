"""Grades back into the learning-management system: one file per system, beside ``grades.csv``,
that the system imports as it is, built from the roster's own columns (kept in the manifest).

=============  ==========================  =======================================================
system         file                        what its import needs (see xlhand/classroom/lms.py)
=============  ==========================  =======================================================
canvas         ``canvas.csv``              Student, ID, SIS User ID, SIS Login ID, Section, the
                                           assignment column ``Name (id)``, a Points Possible row;
               ``canvas-feedback.csv``     per-step scores and feedback (Canvas's grade import takes
                                           no comments; a "Notes" column the export had gets them)
moodle         ``moodle.csv``              the roster's identifier column (ID number → useridnumber,
                                           email → useremail), the grade, its feedback, the steps
blackboard     ``blackboard.xls``          tab separated, every field quoted, UTF-16 as Blackboard
                                           writes it: Username and ``Name |column id``, feedback
gradescope     ``gradescope.csv``          First/Last Name, SID, Email, the score, steps, feedback
=============  ==========================  =======================================================

Every CSV is written with a byte-order mark (Excel on Windows reads the names right) and with
text cells that no spreadsheet runs as a formula (:mod:`xlhand.classroom.csvfiles`).

``--feedback-zip`` adds ``moodle-feedback.zip``: each feedback workbook in the folder Moodle's
"Download all submissions" names (``Full Name_<participant id>_assignsubmission_file``), the
shape of its "Upload multiple feedback files in a zip".
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from xlhand.build import check_writable, write_atomic
from xlhand.classroom import lms
from xlhand.classroom.lms import header_key
from xlhand.classroom.manifest import Manifest, ManifestStudent
from xlhand.classroom.csvfiles import write_csv
from xlhand.errors import XlhandError

SYSTEMS = ("canvas", "moodle", "blackboard", "gradescope")
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


# --- the inputs -------------------------------------------------------------------------------------
def results_of(run) -> list:
    """The StudentResults of a GradeRun (or a list of them as they are)."""
    return list(getattr(run, "results", run))


def feedback_text(r) -> str:
    """One short paragraph per student: the score, each step, the flags (or why not graded)."""
    if r.status == "missing":
        return "No submission."
    if r.status != "graded":
        return f"Not graded: {r.reason}." if r.reason else "Not graded."
    if getattr(r, "feedback", ""):
        return r.feedback
    parts = [f"{r.score:g} of {r.max_score:g} cells right."]
    parts += [f"Step {s.number}{': ' + s.title if s.title else ''}: {s.score:g}/{s.max_score:g}." for s in r.steps]
    if r.flags:
        parts.append("Note: " + "; ".join(dict.fromkeys(r.flags)) + ".")
    return " ".join(parts)


# --- the exports ----------------------------------------------------------------------------------
@dataclass
class Exported:
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def write_exports(run, manifest=None, out_dir: Path | None = None, systems=(), *, assignment: str | None = None,
                  assignment_id: str | None = None, points: float | None = None, feedback_zip: bool = False,
                  feedback_dir: Path | None = None) -> Exported:
    """Write each system's import file into ``out_dir`` (beside grades.csv).

    ``run``: a GradeRun or its results; ``manifest``: the class Manifest (default
    ``run.manifest``); ``out_dir`` default ``run.out_dir``. ``assignment`` names the gradebook
    column (default: the exercise), ``assignment_id`` its id (Canvas ``Name (id)``, Blackboard
    ``Name |id``; else taken from the roster export when it has a column of that name). ``points``:
    the assignment's points in the gradebook, each score scaled to them (score / cells × points,
    two decimals); default: the number of cells graded, scores as they are. With
    ``feedback_zip``, the feedback workbooks (in ``feedback_dir``, default ``out_dir/feedback``)
    zipped for Moodle's bulk feedback upload. Returns the files written and notes to show."""
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise XlhandError(f"--export {unknown[0]}: not a system xlhand exports to (choose {', '.join(SYSTEMS)})")
    manifest = manifest if manifest is not None else run.manifest
    out_dir = Path(out_dir if out_dir is not None else run.out_dir)
    check_writable(out_dir)
    m = manifest
    results = results_of(run)
    job = _Job(m, _by_student(results), assignment or m.exercise, assignment_id, points, out_dir)
    for system in dict.fromkeys(systems):
        getattr(job, system)()
    if feedback_zip:
        job.moodle_zip(Path(feedback_dir) if feedback_dir else out_dir / "feedback", results)
    return Exported(job.files, job.notes)


def _by_student(results) -> dict:
    """The result that counts for each student: a graded one, else the first."""
    out = {}
    for r in results:
        if not r.student_id or r.status == "skipped":
            continue
        if r.student_id not in out or (r.status == "graded" and out[r.student_id].status != "graded"):
            out[r.student_id] = r
    return out


@dataclass
class _Job:
    m: Manifest
    results: dict
    assignment: str
    assignment_id: str | None
    points: float | None
    out_dir: Path
    files: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    # helpers
    @property
    def format(self) -> str:
        return self.m.roster.get("format", "")

    def value(self, st: ManifestStudent, header: str) -> str:
        """The roster's value of ``header`` for a student (the id and name columns included)."""
        info = self.m.roster
        if header == info.get("id_column"):
            return st.id
        names = info.get("name_columns") or []
        if names == [header]:
            return st.name
        return st.extra.get(header, "")

    def column(self, *aliases: str) -> str | None:
        """The roster's header for one of ``aliases`` (compared as header keys)."""
        wanted = {header_key(a) for a in aliases}
        return next((h for h in self.m.roster.get("columns", []) if header_key(h) in wanted), None)

    def result(self, st: ManifestStudent):
        return self.results.get(st.id)

    def score(self, st: ManifestStudent):
        r = self.result(st)
        if r is None or r.status != "graded":
            return None
        if self.points is None:
            return r.score
        return round(r.score / r.max_score * self.points, 2) if r.max_score else 0.0

    def max_points(self) -> float:
        if self.points is not None:
            return self.points
        graded = [r.max_score for r in self.results.values() if r.status == "graded"]
        if not graded:
            self.notes.append("no submission was graded: the Points Possible are 0 (give --points)")
        return max(graded, default=0.0)

    def step_numbers(self) -> list[int]:
        return sorted({s.number for r in self.results.values() for s in r.steps})

    def steps(self, st: ManifestStudent, numbers) -> list:
        r = self.result(st)
        have = {s.number: s for s in (r.steps if r is not None and r.status == "graded" else ())}
        return [have[k].score if k in have else None for k in numbers]

    def feedback(self, st: ManifestStudent) -> str:
        r = self.result(st)
        return feedback_text(r) if r is not None else "No submission."

    def named_column(self, pattern_format: str):
        """The export's own column for the assignment (by id, else by name), or None."""
        if self.format != pattern_format:
            return None
        for a in self.m.roster.get("assignments", []):
            if (self.assignment_id and a["id"] == str(self.assignment_id)) or (
                    not self.assignment_id and header_key(a["name"]) == header_key(self.assignment)):
                return a
        return None

    def write(self, name: str, rows, **kw) -> None:
        self.files.append(write_csv(self.out_dir / name, rows, **kw))

    def missing_note(self, system: str) -> None:
        left = [st.id for st in self.m.students if self.score(st) is None]
        if left:
            self.notes.append(f"{system}: {len(left)} students have no grade (missing or not graded): their cells "
                              f"are empty, so the import leaves their grades as they are")

    # the systems
    def canvas(self) -> None:
        own = self.named_column("canvas")
        assignment_id = self.assignment_id or (own["id"] if own else None)
        title = own["name"] if own else self.assignment
        heading = f"{title} ({assignment_id})" if assignment_id else title
        if "final" in title.casefold():
            self.notes.append(f"canvas: the assignment name '{title}' contains 'final': Canvas's grade import ignores "
                              f"such columns (it takes them for the read-only final score): rename it")
        if not assignment_id:
            self.notes.append(f"canvas: no assignment id (--assignment-id, or a roster exported from Canvas with "
                              f"a column '{title} (id)'): Canvas creates a new assignment '{title}' on import")
        if self.format == "canvas":
            identity = [h for h in CANVAS_IDENTITY if h in self.m.roster.get("columns", [])]
            who = lambda st: [self.value(st, h) for h in identity]
        else:
            identity = list(CANVAS_IDENTITY)
            who = lambda st: [st.name, "", st.id, "", ""]
            self.notes.append("canvas: the roster was not a Canvas export: student ids are written as SIS User ID, "
                              "which Canvas matches only if they are the SIS ids")
        notes_col = self.column("notes") if self.format == "canvas" else None
        points = self.max_points()
        rows = [[*identity, heading] + (["Notes"] if notes_col else []),
                ["    Points Possible", *[""] * (len(identity) - 1), points] + ([""] if notes_col else [])]
        for st in self.m.students:
            rows.append([*who(st), self.score(st)] + ([self.feedback(st)] if notes_col else []))
        self.write("canvas.csv", rows)
        numbers = self.step_numbers()
        detail = [[*identity, heading, *[f"Step {k}" for k in numbers], "Feedback"]]
        detail += [[*who(st), self.score(st), *self.steps(st, numbers), self.feedback(st)] for st in self.m.students]
        self.write("canvas-feedback.csv", detail)
        self.missing_note("canvas")

    def moodle(self) -> None:
        id_col = self.m.roster.get("id_column", "")
        key = header_key(id_col)
        if self.format == "moodle" and (key in lms.MOODLE_IDNUMBER or key in lms.EMAIL_HEADERS):
            header, field_ = id_col, "useridnumber" if key in lms.MOODLE_IDNUMBER else "useremail"
        elif self.m.students and all("@" in st.id for st in self.m.students):
            header, field_ = "Email address", "useremail"
        else:
            header, field_ = "ID number", "useridnumber"
            if self.format != "moodle":
                self.notes.append("moodle: the roster was not a Moodle export: student ids are written as ID number, "
                                  "which Moodle matches only if they are the users' ID numbers")
        self.notes.append(f"moodle: on import map '{header}' to {field_}, '{self.assignment}' to the grade item and "
                          f"'{self.assignment} (feedback)' to its feedback")
        names = [c for c in (self.m.roster.get("name_columns") or []) if c != header] or ["Full name"]
        numbers = self.step_numbers()
        rows = [[header, *names, self.assignment, f"{self.assignment} (feedback)", *[f"Step {k}" for k in numbers]]]
        for st in self.m.students:
            name_cells = [self.value(st, c) for c in names] if names != ["Full name"] else [st.name]
            rows.append([st.id, *name_cells, self.score(st), self.feedback(st), *self.steps(st, numbers)])
        self.write("moodle.csv", rows)
        self.missing_note("moodle")

    def blackboard(self) -> None:
        own = self.named_column("blackboard")
        if own:
            heading = own["header"]
        elif self.assignment_id:
            heading = f"{self.assignment} |{self.assignment_id}"
        else:
            heading = self.assignment
            self.notes.append(f"blackboard: no column id (--assignment-id, or a Grade Center download with a column "
                              f"'{self.assignment} |id'): Blackboard adds a new text column")
        if self.format == "blackboard":
            identity = [h for h in ("Last Name", "First Name", "Username", "Student ID")
                        if h in self.m.roster.get("columns", [])]
            who = lambda st: [self.value(st, h) for h in identity]
        else:
            identity = ["Last Name", "First Name", "Username"]
            who = lambda st: ["", st.name, st.id]
            self.notes.append("blackboard: the roster was not a Grade Center download: student ids are written as "
                              "Username, which Blackboard matches only if they are the usernames")
        rows = [[*identity, heading, "Feedback to Learner", "Feedback Format"]]
        rows += [[*who(st), self.score(st), self.feedback(st), "SMART_TEXT"] for st in self.m.students]
        self.write("blackboard.xls", rows, delimiter="\t", quote_all=True, encoding="utf-16")
        self.missing_note("blackboard")

    def gradescope(self) -> None:
        if self.format == "gradescope":
            identity = [h for h in ("First Name", "Last Name", "Name", "SID", "Email")
                        if h in self.m.roster.get("columns", [])]
            who = lambda st: [self.value(st, h) for h in identity]
        else:
            email = self.column(*lms.EMAIL_HEADERS)
            identity = ["Name", "SID", "Email"]
            who = lambda st: [st.name, st.id, self.value(st, email) if email else ""]
        numbers = self.step_numbers()
        rows = [[*identity, self.assignment, *[f"Step {k}" for k in numbers], "Feedback"]]
        rows += [[*who(st), self.score(st), *self.steps(st, numbers), self.feedback(st)] for st in self.m.students]
        self.write("gradescope.csv", rows)
        self.missing_note("gradescope")

    def moodle_zip(self, feedback_dir: Path, results) -> None:
        """Each graded student's feedback workbook in ``Full Name_<participant>_assignsubmission_file/``."""
        by_id = {r.student_id: r for r in results if r.status == "graded"}
        identifier = self.column("identifier", "identifiant")
        entries, without = [], []
        for st in self.m.students:
            r = by_id.get(st.id)
            if r is None:
                continue
            workbook = feedback_dir / f"{Path(st.file).stem}-feedback.xlsx"
            if not workbook.is_file():
                without.append(f"{st.id} (no {workbook.name})")
                continue
            folder = _download_folder(r.file)
            if folder is None:
                pid = lms.moodle_participant(st.extra.get(identifier, "")) if identifier else None
                if pid is None:
                    without.append(f"{st.id} (no participant id)")
                    continue
                folder = f"{moodle_name(st.name)}_{pid}_assignsubmission_file"
            entries.append((f"{folder}/{workbook.name}", workbook.read_bytes()))
        if without:
            self.notes.append(f"moodle-feedback.zip: left out {len(without)}: {', '.join(without[:5])}"
                              f"{' …' if len(without) > 5 else ''} (the participant id comes from the folder of "
                              f"Moodle's download or the 'Identifier' column of its grading worksheet)")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in entries:
                info = zipfile.ZipInfo(name, ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.flag_bits |= 0x800  # the name is UTF-8
                z.writestr(info, data)
        path = self.out_dir / "moodle-feedback.zip"
        write_atomic(path, buf.getvalue())
        self.files.append(path)


def moodle_name(name: str) -> str:
    """A full name as a Moodle folder name part: no ``_`` (Moodle splits the folder name on it)
    and no characters a file system refuses."""
    text = re.sub(r'[_/\\:*?"<>|\x00-\x1f]+', " ", name).strip()
    return re.sub(r"\s+", " ", text) or "Student"


def _download_folder(label: str) -> str | None:
    """The folder of Moodle's own download a submission came from (``…_123_assignsubmission_file_``)."""
    for part in reversed(Path(label or "").parts[:-1]):
        if lms.moodle_participant(part):
            return part
    return None
