"""Rosters: the students of a class, read from a CSV as spreadsheets and learning-management
systems export it, and CSV cells written so that no spreadsheet reads them as formulas."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from xlhand.errors import XlhandError


@dataclass
class Student:
    id: str
    name: str = ""
    extra: dict = field(default_factory=dict)


def csv_safe(value) -> str:
    """Text for a CSV cell that no spreadsheet will read as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


# Header names a spreadsheet or learning-management system gives the columns, compared after
# lower-casing and turning runs of spaces, _ - . into one space; the first that a roster has wins.
ID_HEADERS = ("id", "student id", "studentid", "student number", "student no", "username", "user name", "user",
              "login", "email", "e mail", "email address", "matriculation", "matriculation number", "matric no",
              "matrikelnummer", "sis user id")
NAME_HEADERS = ("name", "full name", "fullname", "student name", "display name")
FIRST_HEADERS = ("first name", "firstname", "given name", "forename", "vorname")
LAST_HEADERS = ("last name", "lastname", "surname", "family name", "nachname")


@dataclass
class Roster:
    students: list[Student]
    notes: list[str] = field(default_factory=list)


def read_roster(path: Path) -> Roster:
    """The students of a CSV roster: comma, semicolon or tab separated (sniffed), UTF-8 (with or
    without a byte-order mark) or else Windows-1252 (with a note), a header row naming an id
    column and a name column (or first and last name columns) in any of the usual ways."""
    text, notes = _roster_text(path)
    rows = list(csv.reader(io.StringIO(text), dialect=_dialect(text)))
    if not rows:
        raise XlhandError(f"roster {path}: empty (expected a header row with id, name)")
    header = [h.strip() for h in rows[0]]
    columns = _roster_columns(path, header)
    students, seen = [], {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {h: (row[k].strip() if k < len(row) else "") for k, h in enumerate(header)}
        sid = cells[columns["id"]]
        name = " ".join(cells[c] for c in columns["name"] if cells[c])
        if not sid:
            raise XlhandError(f"roster {path}: row {line} has an empty id")
        if sid in seen:
            raise XlhandError(f"roster {path}: row {line} repeats id '{sid}' (first on row {seen[sid]})")
        seen[sid] = line
        used = {columns["id"], *columns["name"]}
        students.append(Student(sid, name, {h.lower(): v for h, v in cells.items() if h not in used and h}))
    if not students:
        raise XlhandError(f"roster {path}: no students")
    return Roster(students, notes)


def _roster_text(path: Path) -> tuple[str, list[str]]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise XlhandError(f"roster {path}: cannot be read ({e.strerror or e})") from None
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise XlhandError(f"roster {path}: not text in UTF-8 or Windows-1252 (save it as 'CSV UTF-8')") from None
    return text, [f"roster {path} is not UTF-8: read it as Windows-1252; check the names, or save it as 'CSV UTF-8'"]


def _dialect(text: str):
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def _header_key(header: str) -> str:
    return re.sub(r"[\s_.-]+", " ", header.strip().lower()).strip()


def _roster_columns(path: Path, header: list[str]) -> dict:
    """The header cells holding the id and the name (one column, or first and last name)."""
    keys = {_header_key(h): h for h in reversed(header) if h}

    def first(aliases):
        return next((keys[a] for a in aliases if a in keys), None)

    sid, name, given, family = first(ID_HEADERS), first(NAME_HEADERS), first(FIRST_HEADERS), first(LAST_HEADERS)
    found = ", ".join(h for h in header if h) or "nothing"
    if sid is None:
        raise XlhandError(f"roster {path}: no id column (the header row has {found}; an id column is called "
                          f"id, student_id, username, email, matriculation or the like)")
    if name is not None:
        names = [name]
    elif given is not None and family is not None:
        names = [given, family]
    else:
        raise XlhandError(f"roster {path}: no name column (the header row has {found}; a name column is called "
                          f"name, full name, student name, or first name and last name)")
    return {"id": sid, "name": names}
