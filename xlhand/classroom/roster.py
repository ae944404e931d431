"""Rosters: the students of a class, read from a CSV as spreadsheets and learning-management
systems export it; CSV cells written so that no spreadsheet reads them as formulas; file names
made from student ids.

A roster is user input: every refusal is one line naming the file, the row and the column."""
from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from xlhand.classroom import lms
from xlhand.classroom.lms import header_key
from xlhand.errors import XlhandError


@dataclass
class Student:
    id: str
    name: str = ""
    extra: dict = field(default_factory=dict)  # the roster's other kept columns by header (first/last name too)


# Kept for callers of the old names; the lists live in lms.py.
ID_HEADERS, NAME_HEADERS = lms.ID_HEADERS, lms.NAME_HEADERS
FIRST_HEADERS, LAST_HEADERS = lms.FIRST_HEADERS, lms.LAST_HEADERS


@dataclass
class Roster:
    students: list[Student]
    notes: list[str] = field(default_factory=list)
    # What the class set stores in the manifest ("roster"): format, id_column, name_column,
    # columns (the kept headers in order), encoding, delimiter, and the export's assignments.
    info: dict = field(default_factory=dict)


def read_roster(path: Path, *, id_column: str | None = None, name_column: str | None = None) -> Roster:
    """The students of a CSV roster.

    Read as it comes: UTF-8 (with or without a byte-order mark), UTF-16 (with a byte-order mark,
    as Blackboard and Excel's "Unicode text" write it) or else Windows-1252 (with a note); comma,
    semicolon or tab separated. The gradebook exports of Canvas, Moodle, Blackboard and Gradescope
    are recognised by their headers (Canvas's "Points Possible" row and test student are skipped
    with a note); otherwise the header row names an id column and a name column (or first and last
    name) in any of the usual ways. ``id_column`` and ``name_column`` name them outright
    (``"First name+Last name"`` joins two). The first note says which columns were used."""
    path = Path(path)
    text, encoding, notes = _roster_text(path)
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as e:
        raise XlhandError(f"roster {path}: row {reader.line_num + 1}: not CSV as expected ({e})") from None
    while rows and not any(c.strip() for c in rows[0]):
        rows.pop(0)
    if not rows:
        raise XlhandError(f"roster {path}: empty (expected a header row with id, name)")
    header = [h.replace("\ufeff", "").strip() for h in rows[0]]
    _check_header(path, header)
    layout = lms.detect(header)
    body = [(line, row) for line, row in enumerate(rows[1:], start=2)]
    cells_of = lambda row: {h: (row[k].strip() if k < len(row) else "") for k, h in enumerate(header) if h}

    skipped: list[str] = []
    if layout is lms.CANVAS:
        body, skipped = _canvas_rows(path, header, body, cells_of)
    role = _first(header, lms.keys("role"))
    if layout is lms.GRADESCOPE and role:
        staff = [line for line, row in body if cells_of(row)[role] and header_key(cells_of(row)[role]) != "student"]
        if staff:
            body = [(line, row) for line, row in body if line not in staff]
            skipped.append(f"{len(staff)} rows whose Role is not Student (rows {_rows(staff)})")
    records = [(line, cells_of(row)) for line, row in body if any(c.strip() for c in row)]
    sid_col = _id_column(path, header, layout, records, id_column)
    name_cols = _name_columns(path, header, layout, name_column)

    used = {sid_col, *name_cols}
    parts = set(name_cols) if len(name_cols) > 1 else set()  # a joined name keeps its parts too (for exports)
    kept = [h for h in header if h and h != sid_col and (h in parts or (h not in used and _kept(layout, h)))]
    students, seen = [], {}
    for line, cells in records:
        sid = unicodedata.normalize("NFC", cells[sid_col])
        name = unicodedata.normalize("NFC", " ".join(cells[c] for c in name_cols if cells[c]))
        if not sid:
            raise XlhandError(f"roster {path}: row {line}, column '{sid_col}': empty id"
                              + (f" (student '{name}')" if name else ""))
        if CONTROL.search(sid) or len(sid) > MAX_ID:
            raise XlhandError(f"roster {path}: row {line}, column '{sid_col}': the id "
                              + ("holds a line break or control character" if CONTROL.search(sid)
                                 else f"is longer than {MAX_ID} characters"))
        name = re.sub(r"\s+", " ", CONTROL.sub(" ", name)).strip()
        if sid in seen:
            raise XlhandError(f"roster {path}: row {line}, column '{sid_col}': repeats id '{sid}' "
                              f"(first on row {seen[sid]})")
        seen[sid] = line
        students.append(Student(sid, name, {h: cells[h] for h in kept}))
    if not students:
        raise XlhandError(f"roster {path}: no students")

    title = layout.title if layout else "roster"
    names = " + ".join(f"'{c}'" for c in name_cols)
    line = f"roster {path.name}: {title}, {len(students)} students; id from column '{sid_col}', name from {names}"
    if skipped:
        line += "; skipped " + ", ".join(skipped)
    notes.insert(0, line)
    info = {"format": layout.format if layout else "csv", "id_column": sid_col, "name_column": " + ".join(name_cols),
            "name_columns": list(name_cols), "columns": [h for h in header if h and (h in used or h in kept)],
            "encoding": encoding, "delimiter": delimiter}
    found = lms.assignments(layout, header)
    if found:
        info["assignments"] = found
    return Roster(students, notes, info)


CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_ID = 200


def _rows(lines: list[int]) -> str:
    return ", ".join(map(str, lines[:5])) + (" …" if len(lines) > 5 else "")


# --- reading the text -------------------------------------------------------------------------------
def _roster_text(path: Path) -> tuple[str, str, list[str]]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise XlhandError(f"roster {path}: cannot be read ({e.strerror or e})") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError:
            raise XlhandError(f"roster {path}: starts as UTF-16 but is not valid UTF-16 text") from None
    if len(raw) >= 4 and raw[1:2] == b"\x00" and raw[3:4] == b"\x00" and raw[0:1] != b"\x00":
        try:
            return raw.decode("utf-16-le"), "utf-16-le", []
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise XlhandError(f"roster {path}: not text in UTF-8, UTF-16 or Windows-1252 "
                          f"(save it as 'CSV UTF-8')") from None
    note = f"roster {path} is not UTF-8: read it as Windows-1252; check the names, or save it as 'CSV UTF-8'"
    return text, "cp1252", [note]


def _delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one that splits the header row into the most cells (and the
    next rows into as many)."""
    lines = [ln for ln in text.splitlines() if ln.strip()][:20]
    if not lines:
        return ","
    best, score = ",", (0, 0)
    for d in (",", ";", "\t"):
        try:
            parsed = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=d))
        except csv.Error:
            continue
        width = len(parsed[0])
        same = sum(len(r) == width for r in parsed[1:])
        if (width, same) > score and width > 1:
            best, score = d, (width, same)
    return best


def _check_header(path: Path, header: list[str]) -> None:
    seen = {}
    for k, h in enumerate(header, start=1):
        if not h:
            continue
        if h in seen:
            raise XlhandError(f"roster {path}: row 1: column {k} repeats the header '{h}' (column {seen[h]})")
        seen[h] = k


# --- which columns ----------------------------------------------------------------------------------
def _find(header: list[str], wanted: str) -> str | None:
    key = header_key(wanted)
    return next((h for h in header if h == wanted), None) or next((h for h in header if header_key(h) == key), None)


def _first(header: list[str], aliases) -> str | None:
    by_key = {}
    for h in header:
        if h:
            by_key.setdefault(header_key(h), h)
    return next((by_key[a] for a in aliases if a in by_key), None)


def _found(header: list[str]) -> str:
    return ", ".join(h for h in header if h) or "nothing"


def _id_column(path, header, layout, records, id_column) -> str:
    if id_column:
        found = _find(header, id_column)
        if found is None:
            raise XlhandError(f"roster {path}: --id-column '{id_column}' is not in the header row "
                              f"(it has {_found(header)})")
        return found
    if layout is not None:
        present = [h for h in (_first(header, [k]) for k in layout.id_choices) if h]
        for h in present:  # the first that every student has
            if all(cells.get(h) for _, cells in records):
                return h
        if present:
            return present[-1]
    found = _first(header, lms.ID_HEADERS)
    if found is None:
        raise XlhandError(f"roster {path}: no id column (the header row has {_found(header)}; an id column is "
                          f"called id, student_id, ID number, username, email, matriculation or the like; "
                          f"or name it with --id-column)")
    return found


def _name_columns(path, header, layout, name_column) -> tuple[str, ...]:
    if name_column:
        parts = [p.strip() for p in name_column.split("+") if p.strip()]
        out = []
        for p in parts:
            found = _find(header, p)
            if found is None:
                raise XlhandError(f"roster {path}: --name-column '{p}' is not in the header row "
                                  f"(it has {_found(header)})")
            out.append(found)
        return tuple(out)
    if layout is not None:
        for choice in layout.name_columns:
            cols = [_first(header, [k]) for k in choice]
            if all(cols):
                return tuple(cols)
    name = _first(header, lms.NAME_HEADERS)
    if name is not None:
        return (name,)
    given, family = _first(header, lms.FIRST_HEADERS), _first(header, lms.LAST_HEADERS)
    if given is not None and family is not None:
        return (given, family)
    raise XlhandError(f"roster {path}: no name column (the header row has {_found(header)}; a name column is "
                      f"called name, full name, student name, or first name and last name; or name it with "
                      f"--name-column)")


def _kept(layout, header: str) -> bool:
    """A column the manifest keeps: every column of a plain roster; an export's identity columns
    only (its grade columns are left out)."""
    return layout is None or header_key(header) in layout.identity


def _canvas_rows(path, header, body, cells_of):
    """Canvas's export without its "Points Possible" row, its posting-policy row and the test student."""
    student = _first(header, lms.keys("student"))
    ids = [h for h in (_first(header, [k]) for k in lms.keys("id", "sis user id", "sis login id")) if h]
    kept, skipped = [], []
    for line, row in body:
        cells = cells_of(row)
        name = cells.get(student, "")
        if lms.is_canvas_points_row(name):
            skipped.append(f"the Points Possible row (row {line})")
        elif lms.is_canvas_test_student(name):
            skipped.append(f"the test student (row {line})")
        elif lms.is_canvas_policy_row(cells, name, [cells.get(h, "") for h in ids]):
            skipped.append(f"the posting-policy row (row {line})")
        else:
            kept.append((line, row))
    return kept, skipped


# --- file names -------------------------------------------------------------------------------------
UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
RESERVED = {"con", "prn", "aux", "nul", *(f"com{k}" for k in range(1, 10)), *(f"lpt{k}" for k in range(1, 10))}
MAX_STEM = 60


def file_stem(text: str, fallback: str = "student") -> str:
    """A file name (without extension) that keeps the text's letters in any script (NFC, so a
    ``ë`` typed either way is one name): only what a file system refuses or misreads is replaced
    by ``_`` (``/ \\ : * ? " < > |``, control characters, white space), no leading or trailing dots,
    no Windows device names (``con``, ``nul`` …), at most 60 characters."""
    text = unicodedata.normalize("NFC", str(text))
    stem = UNSAFE.sub("_", text)
    stem = re.sub(r"\s+", "_", stem)
    stem = stem[:MAX_STEM].strip("._ ") or fallback
    if stem.split(".")[0].casefold() in RESERVED:
        stem = "_" + stem
    return stem


def file_stems(students) -> dict[str, str]:
    """A unique file stem per student id (unique also where the file system ignores letter case:
    two ids that differ only by case get a short hash each after the first)."""
    out, used = {}, set()
    for st in students:
        stem = file_stem(st.id)
        if stem.casefold() in used:
            stem = f"{stem[:MAX_STEM - 7]}-{hashlib.sha256(st.id.encode()).hexdigest()[:6]}"
        used.add(stem.casefold())
        out[st.id] = stem
    return out
