"""Helpers shared by the tests: build a workbook into a temporary folder and check it."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from xlhand.model import catalog
from xlhand.build import key_workbook, write_atomic
from xlhand.cli import cli
from xlhand.layout.fx import PORTABLE_FUNCTIONS
from xlhand.classroom.worksheet import student_workbook
from xlhand.model.resolve import resolve
from xlhand.check import check_file

REPO = Path(__file__).resolve().parent.parent  # the repository: README, docs, templates
FUNCTION_CALL = re.compile(r"([A-Z][A-Z0-9_.]*)\(")


def build(tmp_path: Path, name: str, filename: str | None = None, student: bool = False, **kw) -> Path:
    """Build the key (or, with ``student``, the student worksheet) of exercise ``name``."""
    resolved = resolve(catalog.get(name), **kw)
    path = tmp_path / (filename or f"{name}.xlsx")
    write_atomic(path, student_workbook(resolved) if student else key_workbook(resolved))
    return path


def rejected_build(tmp_path: Path, name: str, *args: str, params: str | dict | None = None) -> str:
    """Run ``xlhand build NAME *ARGS`` (with ``--params`` holding ``params``, a YAML text or a mapping,
    when given) into a fresh output folder; assert that it is refused with exit code 2 and exactly one
    line of output, and that nothing was written (the folder is not even created). Return that line."""
    if params is not None:
        path = tmp_path / "rejected-params.yaml"
        path.write_text(params if isinstance(params, str) else yaml.safe_dump(params))
        args = (*args, "--params", str(path))
    out = tmp_path / "rejected-out"
    assert not out.exists(), f"{out} is not fresh"
    result = CliRunner().invoke(cli, ["build", name, *args, "--out", str(out)])
    assert result.exit_code == 2, f"exit code {result.exit_code}, output:\n{result.output}"
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, f"expected one line of output, got {len(lines)}:\n{result.output}"
    assert not any(out.rglob("*.xlsx")), f"a workbook was written: {sorted(out.rglob('*.xlsx'))}"
    assert not out.exists(), f"the refused build left {out}: {sorted(out.rglob('*'))}"
    return lines[0]


def assert_verified(path: Path, engines: tuple[str, ...] = ("ironcalc", "formulas")) -> None:
    """Each engine agrees with the NumPy reference on every named block."""
    for engine in engines:
        assert_report_ok(check_file(path, engine), f"{path.name} ({engine})")


def assert_report_ok(report, what: str) -> None:
    shown = "\n".join(f"{m.block} {m.cell}: expected {m.expected!r}, got {m.got!r}"
                      for m in report.mismatches[:20])
    assert report.ok, f"{what}: {len(report.mismatches)} mismatches\n{shown}"
    assert report.blocks > 0 and report.cells > 0


FORMULA = re.compile(r"<f(?:\s[^>]*)?>([^<]*)</f>")


def formula_texts(path: Path) -> list[str]:
    """Every formula of every worksheet, ``=…`` as typed (read from the sheets' XML, where the
    writer puts each formula whole: much faster than loading the workbook)."""
    from html import unescape

    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet") and n.endswith(".xml")]
        return ["=" + unescape(f) for name in sheets for f in FORMULA.findall(z.read(name).decode("utf-8"))]


def functions_used(path: Path) -> set[str]:
    return {m for f in formula_texts(path) for m in FUNCTION_CALL.findall(f)}


def non_portable(path: Path) -> set[str]:
    return functions_used(path) - PORTABLE_FUNCTIONS


def finite_difference(f, value, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar function ``f`` with respect to every entry of ``value``."""
    value = np.array(value, dtype=float)
    grad = np.zeros_like(value)
    for idx in np.ndindex(value.shape):
        up, down = value.copy(), value.copy()
        up[idx] += h
        down[idx] -= h
        grad[idx] = (f(up) - f(down)) / (2 * h)
    return grad


# --- the page setup a workbook carries ---------------------------------------------------------
def sheet_xml(path) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/worksheets/sheet1.xml").decode("utf-8")


def breaks(xml: str, kind: str) -> list[int]:
    block = re.search(rf"<{kind}[^>]*>(.*?)</{kind}>", xml)
    return [int(b) for b in re.findall(r'<brk id="(\d+)"', block[1])] if block else []


def slow_but(values, fast) -> list:
    """``values`` as pytest params, each marked ``slow`` unless it is one of ``fast`` (the fast tier's
    representatives of a sweep)."""
    return [v if v in fast else pytest.param(*(v if isinstance(v, tuple) else (v,)), marks=pytest.mark.slow)
            for v in values]
