"""Stage 3, identified: whose worksheet each hand-in is, by its metadata, its file name or its folder.

The one place a read file is set aside for who it is (or is not): a file that matches no student,
two files for one student, a workbook without the exercise's sheet.
"""
from __future__ import annotations

import dataclasses
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from xlhand.classroom.manifest import Manifest, ManifestStudent
from xlhand.grading.sandbox import Read

SEPARATORS = " _-.("


KEEP = ("refuse", "newest", "first", "best")


@dataclass(frozen=True)
class Identified:
    read: Read
    student: ManifestStudent | None = None
    how: str = ""  # metadata | file name | folder name
    reason: str = ""  # why it is not graded ("" when it is to be scored)
    notes: tuple[str, ...] = ()  # where the metadata, the file name and the folder disagree

    @property
    def found(self):
        return self.read.found


def identify_all(reads: list[Read], manifest: Manifest, keep: str = "refuse") -> list[Identified]:
    """Who handed in each file. Two files for one student are both set aside (``keep`` "refuse"),
    or all but the newest (by modification time) or the first (in path order) are; with "best" all
    are scored and the caller keeps the best."""
    if keep not in KEEP:
        raise ValueError(f"keep must be one of {KEEP}")
    out = []
    for read in reads:
        student, how, notes = identify(read, manifest)
        reason = read.reason
        if student is None and not reason:
            reason = "matches no student in the manifest (metadata, file or folder name)"
        out.append(Identified(read, student, how, reason, notes))
    by_student: dict[str, list[int]] = {}
    for k, item in enumerate(out):
        if item.student is not None:
            by_student.setdefault(item.student.id, []).append(k)
    for sid, group in by_student.items():
        if len(group) < 2:
            continue
        names = ", ".join(out[k].found.label or out[k].found.path.name for k in group)
        readable = [k for k in group if not out[k].reason]
        if keep == "refuse" or not readable:
            for k in group:
                out[k] = dataclasses.replace(out[k], reason=f"{len(group)} submissions for student '{sid}' ({names}): "
                                                            f"not graded; choose with --keep newest|first|best")
        elif keep in ("newest", "first"):
            kept = max(readable, key=lambda k: (_mtime(out[k]), -k)) if keep == "newest" else readable[0]
            label = out[kept].found.label or out[kept].found.path.name
            for k in group:
                if k != kept:
                    out[k] = dataclasses.replace(out[k], reason=f"another submission of '{sid}' is graded: {label} "
                                                                f"(--keep {keep})")
    for k, item in enumerate(out):
        if not item.reason and manifest.sheet not in item.read.extracted.sheets:
            found_sheets = ", ".join(item.read.extracted.sheets[:5])
            out[k] = dataclasses.replace(item, reason=f"sheet '{manifest.sheet}' renamed or missing "
                                                      f"(sheets: {found_sheets})")
    return out


def _mtime(item: Identified) -> float:
    try:
        return item.found.path.stat().st_mtime
    except OSError:
        return 0.0


def identify(read: Read, manifest: Manifest) -> tuple[ManifestStudent | None, str, tuple[str, ...]]:
    """The student of a hand-in: by the student id in its metadata, else by its file name, else by
    the folders it was found in (an LMS names them after the student); and a note when these
    disagree (s01's worksheet in the folder of s02)."""
    students = manifest.students
    claims = []  # (how, student) of every source that names a student
    if read.extracted is not None:
        sid = read.extracted.meta.get("xlhand_student_id")
        student = manifest.student(sid)
        if student is not None:
            claims.append(("metadata", student))
    student = _by_id(read.found.path.stem, students)
    if student is not None:
        claims.append(("file name", student))
    for folder in read.found.folders:
        student = _by_id(folder, students) or _by_name(folder, students)
        if student is not None:
            claims.append(("folder name", student))
            break
    if not claims:
        return None, "", ()
    how, student = claims[0]
    notes = ()
    if len({s.id for _, s in claims}) > 1:
        notes = ("identity disagrees: " + ", ".join(f"{h} says '{s.id}'" for h, s in claims) +
                 f" (credited to '{student.id}' by its {how})",)
    return student, how, notes


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold().strip()


def _by_id(text: str, students) -> ManifestStudent | None:
    """The student whose id (or worksheet file name) is ``text``, or the longest one it begins with
    before a separator: ``ab-c`` is student ``ab-c``, not ``ab``."""
    text = _fold(text)
    best, longest = None, 0
    for student in students:
        for candidate in {_fold(student.id), _fold(Path(student.file).stem)}:
            if len(candidate) > longest and _begins(text, candidate):
                best, longest = student, len(candidate)
    return best


def _by_name(text: str, students) -> ManifestStudent | None:
    """The student whose full name (unique in the class) starts the folder name, as in an LMS
    bulk download (``José Álvarez_123_assignsubmission_file_``)."""
    text = _fold(text)
    names = Counter(_fold(s.name) for s in students)
    best, longest = None, 0
    for student in students:
        name = _fold(student.name)
        if name and names[name] == 1 and len(name) > longest and _begins(text, name):
            best, longest = student, len(name)
    return best


def _begins(text: str, prefix: str) -> bool:
    return text == prefix or (text.startswith(prefix) and text[len(prefix)] in SEPARATORS)
