"""Rosters as spreadsheets and learning-management systems export them: comma, semicolon or tab
separated, UTF-8 (with or without a byte-order mark) or Windows-1252, with the usual names for the
id and name columns; every refusal is one line naming the row or the header."""
from __future__ import annotations

import pytest

from xlhand.classroom.roster import read_roster
from xlhand.errors import XlhandError


def roster(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "roster.csv"
    path.write_bytes(text.encode(encoding))
    return read_roster(path)


def people(result) -> list[tuple[str, str]]:
    return [(s.id, s.name) for s in result.students]


def test_comma_separated_with_extra_columns(tmp_path):
    result = roster(tmp_path, "id,name,section\ns1,Ada Lovelace,A\ns2,\"Hopper, Grace\",B\n")
    assert people(result) == [("s1", "Ada Lovelace"), ("s2", "Hopper, Grace")]
    assert result.students[1].extra == {"section": "B"}
    assert result.notes == ["roster roster.csv: roster, 2 students; id from column 'id', name from 'name'"]


def test_semicolon_separated_as_european_spreadsheets_save_it(tmp_path):
    result = roster(tmp_path, "id;name;group\r\ns1;Müller, Anna;1\r\ns2;Björn Borg;2\r\n")
    assert people(result) == [("s1", "Müller, Anna"), ("s2", "Björn Borg")]
    assert result.students[0].extra == {"group": "1"}


def test_tab_separated(tmp_path):
    assert people(roster(tmp_path, "id\tname\ns1\tAda\n")) == [("s1", "Ada")]


def test_utf8_with_byte_order_mark(tmp_path):
    assert people(roster(tmp_path, "\ufeffid,name\ns1,Zoë\n")) == [("s1", "Zoë")]


def test_windows_1252_is_read_with_a_note(tmp_path):
    result = roster(tmp_path, "id;name\ns1;José Álvarez\ns2;Œdipe Façade\n", encoding="cp1252")
    assert people(result) == [("s1", "José Álvarez"), ("s2", "Œdipe Façade")]
    columns, note = result.notes
    assert "id from column 'id'" in columns
    assert "not UTF-8" in note and "Windows-1252" in note and "CSV UTF-8" in note


@pytest.mark.parametrize("header,expected", [
    ("student_id,name", "s1"),
    ("Student ID,Full Name", "s1"),
    ("Username;Student name", "s1"),
    ("email,name", "s1"),
    ("Matriculation Number,Name", "s1"),
])
def test_header_aliases(tmp_path, header, expected):
    sep = ";" if ";" in header else ","
    result = roster(tmp_path, f"{header}\ns1{sep}Ada\n")
    assert people(result) == [(expected, "Ada")]


def test_first_and_last_name_columns_are_joined(tmp_path):
    result = roster(tmp_path, "Last Name,First Name,student_id,Email\nHopper,Grace,g1,grace@x.org\n")
    assert people(result) == [("g1", "Grace Hopper")]
    assert result.students[0].extra == {"Last Name": "Hopper", "First Name": "Grace", "Email": "grace@x.org"}


def test_an_id_column_named_id_wins_over_email(tmp_path):
    assert people(roster(tmp_path, "email,id,name\na@x.org,7,Ada\n")) == [("7", "Ada")]


def test_blank_lines_are_skipped(tmp_path):
    assert people(roster(tmp_path, "id,name\ns1,Ada\n\n,\ns2,Bo\n")) == [("s1", "Ada"), ("s2", "Bo")]


@pytest.mark.parametrize("text,words", [
    ("ident,name\na,A\n", ["no id column", "ident", "student_id"]),
    ("id,nom\na,A\n", ["no name column", "nom", "first name"]),
    ("id,name\na,A\nb,B\na,C\n", ["row 4", "column 'id'", "repeats id 'a'", "row 2"]),
    ("id;name\na;A\n;B\n", ["row 3", "column 'id'", "empty id"]),
    ("id,name,id\na,A,b\n", ["row 1", "repeats the header 'id'"]),
    ("id,name\n", ["no students"]),
    ("", ["empty"]),
])
def test_refusals_are_one_line_naming_row_or_header(tmp_path, text, words):
    with pytest.raises(XlhandError) as caught:
        roster(tmp_path, text)
    message = str(caught.value)
    assert "\n" not in message and "roster.csv" in message
    assert all(w in message for w in words), message


def test_bytes_that_are_no_text_are_refused(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(b"id,name\ns1,\x81\x8d\x90\n")
    with pytest.raises(XlhandError, match="not text in UTF-8, UTF-16 or Windows-1252"):
        read_roster(path)
