"""What the learning-management systems put in their gradebook exports, so that a roster reads as
it comes and the grades go back in the shape each system imports.

Each system is recognised by the header names of its own export (in the languages Moodle is
used in most); ``Layout`` says which columns hold the student's identity, which hold grades (left
out of the manifest), and which rows are not students (Canvas's "Points Possible" row, its test
student). Header names are compared by :func:`header_key` (case, accents, spacing and punctuation
folded), so ``Numéro d'identification`` and ``numero  d'identification`` are the same header.

Sources, one per system:

* Canvas: "How do I export grades in the Gradebook?" / "How do I import grades in the Gradebook?"
  (Canvas Instructor Guide): ``Student, ID, SIS User ID, SIS Login ID, Section`` then one column per
  assignment ``Name (assignment id)``, a "Points Possible" row, read-only score columns.
* Moodle: "Grade export" and "Grade import" (docs.moodle.org): ``First name, Last name, ID number,
  Institution, Department, Email address``, the grade items, ``Last downloaded from this course``;
  on import the identifier column is mapped to ``useridnumber`` or ``useremail``.
* Blackboard Learn (Original): "Work offline with grade data" (help.blackboard.com): tab separated,
  UTF-16, ``Last Name, First Name, Username, Student ID, Last Access, Availability`` and one column
  per grade item ``Name [Total Pts: N Score] |column id``; the upload matches Username and the id.
* Gradescope: "Exporting grades" / "Roster" (help.gradescope.com): ``First Name, Last Name, SID,
  Email, Sections`` then per assignment ``Name``, ``Name - Max Points``, ``Name - Submission Time``,
  ``Name - Lateness (H:M:S)``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


def header_key(header: str) -> str:
    """A header as compared: lower case, accents dropped, runs of spaces and ``_ - . , ' ’ ( ) : /`` one space."""
    text = unicodedata.normalize("NFKD", str(header).replace("\ufeff", ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[\s_.,\-'’():/]+", " ", text).strip()


def keys(*names: str) -> tuple[str, ...]:
    return tuple(header_key(n) for n in names)


# --- generic names (any roster) -------------------------------------------------------------------
ID_HEADERS = keys("id", "student id", "studentid", "student number", "student no", "id number", "idnumber",
                  "username", "user name", "user", "login", "sis user id", "sis login id", "sid",
                  "matriculation", "matriculation number", "matric no", "matrikelnummer",
                  "numéro d'identification", "numero d identification", "numéro étudiant", "id-nummer",
                  "número de id", "número de identificación", "email", "e mail", "email address",
                  "adresse de courriel", "adresse courriel", "e-mail-adresse", "dirección de correo",
                  "dirección email")
NAME_HEADERS = keys("name", "full name", "fullname", "student name", "display name", "student", "nom complet",
                    "vollständiger name", "nombre completo")
FIRST_HEADERS = keys("first name", "firstname", "given name", "forename", "vorname", "prénom", "nombre")
LAST_HEADERS = keys("last name", "lastname", "surname", "family name", "nachname", "nom", "nom de famille",
                    "apellido", "apellidos", "apellido s")
EMAIL_HEADERS = keys("email", "e mail", "email address", "adresse de courriel", "adresse courriel",
                     "e-mail-adresse", "dirección de correo", "dirección email")
MOODLE_IDNUMBER = keys("id number", "idnumber", "numéro d'identification", "id-nummer", "número de id",
                       "número de identificación")


@dataclass(frozen=True)
class Layout:
    """One system's export: how to recognise it and what its columns are."""
    format: str
    title: str
    id_choices: tuple[str, ...]  # header keys, the first one every student has wins
    name_columns: tuple[tuple[str, ...], ...]  # one full-name column, or first + last
    identity: tuple[str, ...]  # header keys kept in the manifest (the rest are grades)


CANVAS = Layout("canvas", "Canvas gradebook export", keys("sis user id", "sis login id", "id"),
                (keys("student"),), keys("student", "id", "sis user id", "sis login id", "integration id",
                                           "section", "notes"))
MOODLE = Layout("moodle", "Moodle grade export", MOODLE_IDNUMBER + EMAIL_HEADERS,
                (keys("first name", "last name"), keys("prénom", "nom"), keys("vorname", "nachname"),
                 keys("nombre", "apellido s"), keys("nombre", "apellidos"), keys("full name"), keys("nom complet")),
                MOODLE_IDNUMBER + EMAIL_HEADERS + keys(
                    "first name", "last name", "prénom", "nom", "vorname", "nachname", "nombre", "apellido s",
                    "apellidos", "institution", "department", "département", "abteilung", "departamento",
                    "identifier", "identifiant", "full name", "nom complet", "username", "nom d utilisateur"))
BLACKBOARD = Layout("blackboard", "Blackboard Grade Center download", keys("username"),
                    (keys("first name", "last name"),),
                    keys("last name", "first name", "username", "student id", "child course id"))
GRADESCOPE = Layout("gradescope", "Gradescope grades export", keys("sid", "email"),
                    (keys("name"), keys("first name", "last name")),
                    keys("first name", "last name", "name", "sid", "email", "sections", "role"))
LAYOUTS = {layout.format: layout for layout in (CANVAS, MOODLE, BLACKBOARD, GRADESCOPE)}


def detect(header: list[str]) -> Layout | None:
    """The system whose export this header row is, or None."""
    have = {header_key(h) for h in header}
    if {"student", "id"} <= have and have & set(keys("sis user id", "sis login id")):
        return CANVAS
    if "username" in have and {"last name", "first name"} <= have and (
            have & set(keys("last access", "availability")) or any("|" in h for h in header)):
        return BLACKBOARD
    if "sid" in have and "email" in have and ("name" in have or {"first name", "last name"} <= have):
        return GRADESCOPE
    names = any(set(choice) <= have for choice in MOODLE.name_columns[:5])  # first and last name, any language
    downloaded = any(k.startswith(("last downloaded from", "dernier telechargement")) for k in have)
    if names and (have & set(MOODLE_IDNUMBER) or (have & set(EMAIL_HEADERS) and downloaded)):
        return MOODLE
    if "identifier" in have and have & set(EMAIL_HEADERS) and "full name" in have:
        return MOODLE  # Moodle's assignment grading worksheet
    return None


CANVAS_ASSIGNMENT = re.compile(r"^(?P<name>.*\S)\s*\((?P<id>\d+)\)\s*$")
BLACKBOARD_COLUMN = re.compile(r"^(?P<name>.*?)\s*(?:\[[^\]]*\])?\s*\|\s*(?P<id>\d+)\s*$")


def assignments(layout: Layout | None, header: list[str]) -> list[dict]:
    """The grade columns of an export that name an assignment id: Canvas ``Name (id)``,
    Blackboard ``Name [Total Pts: …] |id`` (so an export can target one by its name)."""
    pattern = {"canvas": CANVAS_ASSIGNMENT, "blackboard": BLACKBOARD_COLUMN}.get(layout.format if layout else "")
    if pattern is None:
        return []
    out = []
    for h in header:
        m = pattern.match(h)
        if m and header_key(h) not in (layout.identity if layout else ()):
            out.append({"header": h, "name": m["name"].strip(), "id": m["id"]})
    return out


def is_canvas_points_row(name: str) -> bool:
    return header_key(name) == "points possible"


def is_canvas_test_student(name: str) -> bool:
    return header_key(name) in ("student test", "test student")


def is_canvas_policy_row(cells: dict[str, str], name: str, ids: list[str]) -> bool:
    """Canvas's second header row in newer exports: no student, "Manual Posting" / "(read only)" cells."""
    return not name and not any(ids) and any(
        header_key(v) in ("manual posting", "read only") for v in cells.values())


def moodle_participant(text: str) -> str | None:
    """The participant id in Moodle's worksheet ("Participant 123") or download folder
    (``Full Name_123_assignsubmission_file_``)."""
    m = re.fullmatch(r"\s*(?:participant|participante?|teilnehmer/in|teilnehmer)\s*(\d+)\s*", text or "", re.IGNORECASE)
    if m:
        return m[1]
    m = re.match(r"^[^/]*?_(\d+)_assignsubmission_", text or "")
    return m[1] if m else None
