"""Gradebook exports of Canvas, Moodle, Blackboard and Gradescope read as rosters as they come.

The fixtures are written from each system's documented export format (the format is cited above
each one; see also xlhand/classroom/lms.py), not downloaded from a live course."""
from __future__ import annotations

import pytest

from xlhand.classroom.roster import Student, file_stem, file_stems, read_roster
from xlhand.errors import XlhandError
from lmskit import CANVAS, CANVAS_POLICY, MOODLE, MOODLE_FR, BLACKBOARD, GRADESCOPE  # noqa: F401

def roster(tmp_path, text: str, encoding: str = "utf-8", **kw):
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode(encoding))
    return read_roster(path, **kw)


def people(result):
    return [(s.id, s.name) for s in result.students]


def test_canvas_export_reads_as_it_comes(tmp_path):
    result = roster(tmp_path, CANVAS)
    assert people(result) == [("S001", "Lovelace, Ada"), ("S002", "Zoë, Brontë")]
    assert result.students[0].extra == {"ID": "101", "SIS Login ID": "ada", "Section": "CS 101 A"}
    info = result.info
    assert info["format"] == "canvas" and info["id_column"] == "SIS User ID" and info["name_column"] == "Student"
    assert info["columns"] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert {"header": "Matmul by hand (4411)", "name": "Matmul by hand", "id": "4411"} in info["assignments"]
    first = result.notes[0]
    assert "Canvas gradebook export" in first and "'SIS User ID'" in first and "'Student'" in first
    assert "Points Possible row (row 2)" in first and "test student (row 5)" in first and "\n" not in first


def test_canvas_posting_policy_row_is_skipped(tmp_path):
    result = roster(tmp_path, CANVAS_POLICY)
    assert people(result) == [("S001", "Lovelace, Ada")]
    assert "posting-policy row (row 2)" in result.notes[0]


def test_canvas_without_sis_ids_uses_the_canvas_id(tmp_path):
    text = "Student,ID,SIS User ID,SIS Login ID,Section\n    Points Possible,,,,\n\"B, A\",7,,,S\n"
    result = roster(tmp_path, text)
    assert people(result) == [("7", "B, A")] and result.info["id_column"] == "ID"


def test_moodle_export_with_bom_and_semicolons(tmp_path):
    result = roster(tmp_path, MOODLE)
    assert people(result) == [("M-001", "Ada Lovelace"), ("M-002", "Łukasz Wójcik")]
    assert result.info["format"] == "moodle" and result.info["id_column"] == "ID number"
    assert result.students[0].extra == {"First name": "Ada", "Last name": "Lovelace", "Institution": "Uni",
                                         "Department": "CS", "Email address": "ada@uni.example"}
    assert "'ID number'" in result.notes[0] and "'First name' + 'Last name'" in result.notes[0]


def test_moodle_in_french_falls_back_to_the_email_when_an_id_number_is_empty(tmp_path):
    result = roster(tmp_path, MOODLE_FR)
    assert people(result) == [("marie@univ.example", "Marie Curie"), ("ada@univ.example", "Ada Lovelace")]
    assert result.info["id_column"] == "Adresse de courriel"
    assert result.students[1].extra == {"Nom": "Lovelace", "Prénom": "Ada", "Numéro d'identification": "M-001"}


def test_moodle_in_french_with_every_id_number(tmp_path):
    result = roster(tmp_path, "Nom;Prénom;Numéro d'identification\nCurie;Marie;F-1\n")
    assert people(result) == [("F-1", "Marie Curie")]


def test_blackboard_utf16_tab_separated(tmp_path):
    result = roster(tmp_path, "\ufeff" + BLACKBOARD, encoding="utf-16-le")
    assert people(result) == [("alovelace", "Ada Lovelace"), ("ghopper", "Grace Hopper")]
    assert result.info["format"] == "blackboard" and result.info["encoding"] == "utf-16"
    assert result.info["assignments"] == [{"header": "Matmul [Total Pts: 12 Score] |882211", "name": "Matmul",
                                           "id": "882211"}]
    assert result.students[0].extra == {"Last Name": "Lovelace", "First Name": "Ada", "Student ID": "B001"}


def test_utf16_big_endian_and_without_bom(tmp_path):
    assert people(roster(tmp_path, "\ufeffid\tname\ns1\tZoë\n", encoding="utf-16-be")) == [("s1", "Zoë")]
    assert people(roster(tmp_path, "id\tname\ns1\tZoë\n", encoding="utf-16-le")) == [("s1", "Zoë")]


def test_gradescope_export(tmp_path):
    result = roster(tmp_path, GRADESCOPE)
    assert people(result) == [("G001", "Ada Lovelace"), ("G002", "Grace Hopper")]
    assert result.info["format"] == "gradescope"
    assert result.students[0].extra == {"First Name": "Ada", "Last Name": "Lovelace", "Email": "ada@school.example",
                                         "Sections": "A"}


def test_columns_named_outright(tmp_path):
    text = "Matrikel;Anzeigename;Vorname;Nachname\n42;Ada L.;Ada;Lovelace\n"
    result = roster(tmp_path, text, id_column="matrikel", name_column="Vorname+Nachname")
    assert people(result) == [("42", "Ada Lovelace")]
    assert result.info["id_column"] == "Matrikel" and result.info["name_columns"] == ["Vorname", "Nachname"]
    # naming the columns overrides what an LMS export would choose
    result = roster(tmp_path, CANVAS, id_column="ID", name_column="Student")
    assert [s.id for s in result.students][:2] == ["101", "102"]


@pytest.mark.parametrize("kw,words", [
    ({"id_column": "Matrikel"}, ["--id-column 'Matrikel'", "not in the header row", "SIS User ID"]),
    ({"name_column": "Nom+Prénom"}, ["--name-column 'Nom'", "not in the header row"]),
])
def test_named_columns_that_do_not_exist(tmp_path, kw, words):
    with pytest.raises(XlhandError) as caught:
        roster(tmp_path, CANVAS, **kw)
    message = str(caught.value)
    assert "\n" not in message and "export.csv" in message and all(w in message for w in words), message


def test_an_empty_id_names_file_row_column_and_student(tmp_path):
    text = "First name,Last name,ID number,Email address\nAda,Lovelace,M1,a@x\nBo,Li,M2,\nCy,Ng,M3,c@x\n"
    result = roster(tmp_path, text)  # ID number complete: the email column may be empty
    assert [s.id for s in result.students] == ["M1", "M2", "M3"]
    with pytest.raises(XlhandError, match=r"export.csv: row 3, column 'Email address': empty id \(student 'Bo Li'\)"):
        roster(tmp_path, text, id_column="Email address")


def test_file_stems_keep_letters_of_any_script():
    assert file_stem("zoë0") == "zoë0" and file_stem("łuka4") == "łuka4"
    assert file_stem("zoe\u0308") == "zoë"  # NFD typed: the same name as NFC
    assert file_stem("a/b\\c:d*e?f\"g<h>i|j") == "a_b_c_d_e_f_g_h_i_j"
    assert file_stem("Ada Lovelace") == "Ada_Lovelace" and file_stem("ada@uni.example") == "ada@uni.example"
    assert file_stem("..") == "student" and file_stem("con") == "_con" and file_stem("CON.txt") == "_CON.txt"
    assert file_stem("学生07") == "学生07" and len(file_stem("x" * 200)) == 60


def test_file_stems_are_unique_ignoring_case():
    stems = file_stems([Student("Zoë"), Student("zoë"), Student("zoe\u0308"), Student("a/b"), Student("a_b")])
    assert stems["Zoë"] == "Zoë"
    assert len({s.casefold() for s in stems.values()}) == len(stems)


def test_gradescope_roster_leaves_out_staff(tmp_path):
    # help.gradescope.com "Roster": the course roster download names each member's Role
    result = roster(tmp_path, "Name,Email,SID,Role\nAda Lovelace,ada@x,G1,Student\nTA Tom,tom@x,,TA\n"
                              "Prof P,p@x,,Instructor\n")
    assert people(result) == [("G1", "Ada Lovelace")]
    assert "2 rows whose Role is not Student (rows 3, 4)" in result.notes[0]


@pytest.mark.parametrize("text,words", [
    ('id,name\n"s\n1",Ada\n', ["row 2", "column 'id'", "line break or control character"]),
    ("id,name\n" + "x" * 201 + ",Ada\n", ["row 2", "longer than 200"]),
    ('id,name\ns1,"' + "x" * 200_000 + '"\n', ["not CSV as expected", "field larger"]),
])
def test_hostile_rosters_are_refused_in_one_line(tmp_path, text, words):
    with pytest.raises(XlhandError) as caught:
        roster(tmp_path, text)
    message = str(caught.value)
    assert "\n" not in message and "export.csv" in message and all(w in message for w in words), message


def test_names_lose_line_breaks(tmp_path):
    assert people(roster(tmp_path, 'id,name\ns1,"Ada\nLovelace"\n')) == [("s1", "Ada Lovelace")]


def test_a_plain_roster_with_an_id_number_keeps_its_columns(tmp_path):
    result = roster(tmp_path, "ID number,Name,Section\n7,Ada,A\n")
    assert result.info["format"] == "csv" and result.students[0].extra == {"Section": "A"}
    assert people(result) == [("7", "Ada")]


@pytest.mark.parametrize("encoding,bom,newline", [("utf-8", "\ufeff", "\r\n"), ("cp1252", "", "\r\n"),
                                                  ("utf-16-le", "\ufeff", "\n")])
def test_canvas_export_in_any_encoding_and_line_end(tmp_path, encoding, bom, newline):
    text = bom + CANVAS.replace("Zoë, Brontë", "Zoë, Brontë").replace("\n", newline)
    result = roster(tmp_path, text, encoding=encoding)
    assert people(result) == [("S001", "Lovelace, Ada"), ("S002", "Zoë, Brontë")]
