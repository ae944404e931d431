"""Fixtures shared by the whole suite.

The tests mirror the packages (tests/layout, tests/model, tests/engines, tests/classroom,
tests/grading, tests/lint, tests/cli) and tests/exercises holds one file per exercise. Helpers every
folder may import live beside this file: support.py (build and check a workbook), gradekit.py
(classes and filled-in worksheets), lintkit.py (hand-made workbooks with planted mistakes) and
lmskit.py (learning-management exports). Tests that take long are marked ``slow``: the fast tier,
``python -m pytest -m "not slow"``, leaves them out.
"""
from __future__ import annotations

import pytest
from support import build


@pytest.fixture(scope="session")
def workbook(tmp_path_factory):
    """``workbook(name, size=None, student=False)``: the key (or student worksheet) of an exercise,
    built once per test session and shared by every test that reads it without changing it."""
    folder = tmp_path_factory.mktemp("shared-workbooks")
    built = {}

    def get(name: str, size: str | None = None, student: bool = False):
        key = (name, size, student)
        if key not in built:
            filename = f"{name}-{size or 'default'}{'-student' if student else ''}.xlsx"
            built[key] = build(folder, name, filename, size=size, student=student)
        return built[key]

    return get


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    """Whatever starts LibreOffice or builds a wheel belongs to the slow tier. The tests of a module that
    share a module-wide fixture (a class graded once, one soffice batch) run on one worker, so that it
    is made once, not once per worker."""
    for item in items:
        if item.get_closest_marker("libreoffice") or item.get_closest_marker("packaging"):
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("libreoffice") or _uses_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


def _uses_a_module_fixture(item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    return bool(info) and any(d.scope == "module" for defs in info.name2fixturedefs.values() for d in defs)
