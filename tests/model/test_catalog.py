"""Every exercise in the catalog, at every preset and at random sizes and seeds: the workbook's
formulas, recomputed by the ``formulas`` engine, equal the NumPy reference on every named block."""
from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import slow_but, REPO, assert_verified, build, formula_texts, non_portable
from xlhand.model import catalog
from xlhand.engines import readback
from xlhand.build import key_sheet
from xlhand.layout.fx import rule_problems
from xlhand.classroom.worksheet import blank_names
from xlhand.model.resolve import resolve
from xlhand.model.params_file import load_params_file, template_path

NAMES = catalog.names()
PRESETS = [(n, size) for n in NAMES for size in catalog.get(n).presets]
# large and lecture sizes are hundreds to thousands of cells: the slow tier; formulas-engine sweeps keep a
# few representatives fast
FAST_PRESETS = [p for p in PRESETS if p[1] in ("small", "medium")]
FAST_NAMES = ("backprop", "lstm", "relu", "softmax", "conv1d", "mlp", "self-attention")
FORMULAS_ON_WORKSHEETS = ("relu", "softmax", "conv1d", "mlp")  # a worksheet holds its formulas twice


@pytest.mark.parametrize("name", NAMES)
def test_default_template_verifies(tmp_path, name):
    assert_verified(build(tmp_path, name), ("ironcalc",))


@pytest.mark.parametrize("name", FAST_NAMES)
def test_default_template_verifies_in_formulas(tmp_path, name):
    """The design card's engine too, on the fast tier's representatives (about 3 ms a formula to load);
    tests/engines/test_libreoffice.py recalculates every default template with it."""
    assert_verified(build(tmp_path, name), ("formulas",))


@pytest.mark.parametrize("name,size", slow_but(PRESETS, FAST_PRESETS))
def test_preset_verifies(tmp_path, name, size):
    """IronCalc here; test_libreoffice recalculates every preset with all three engines."""
    assert_verified(build(tmp_path, name, size=size), ("ironcalc",))


@st.composite
def random_case(draw, name):
    ex = catalog.get(name)
    large = ex.presets["large"]
    sets = {}
    for dim in ex.dims:
        least, most = ex.limit(dim)
        sets[dim] = draw(st.integers(least, max(least, min(most, large[dim]))))
    return sets, draw(st.integers(0, 10_000))


@pytest.mark.parametrize("name", slow_but(NAMES, FAST_NAMES))
def test_random_sizes_and_seeds_verify(tmp_path_factory, name):
    @settings(max_examples=3, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(random_case(name))
    def check(case):
        sets, seed = case
        assert_verified(build(tmp_path_factory.mktemp(name), name, sets=sets, seed=seed))

    check()


@pytest.mark.parametrize("name", NAMES)
def test_templates_match_their_dims(name):
    ex = catalog.get(name)
    template = load_params_file(ex, template_path(ex), "template")
    assert set(template.dims) == set(ex.dims)
    assert {g.name for g in ex.givens if g.name in template.values} == set(template.values)


@pytest.mark.parametrize("name", NAMES)
def test_byte_identical_rebuild(tmp_path, name):
    first = build(tmp_path, name, "a.xlsx", seed=7)
    second = build(tmp_path, name, "b.xlsx", seed=7)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()


@pytest.mark.parametrize("name", NAMES)
def test_metadata_recorded(tmp_path, name):
    path = build(tmp_path, name, seed=3)
    meta = readback.read_metadata(readback.load(path), path)
    assert meta["exercise"] == name
    assert meta["mode"] == "key"
    assert meta["seed"] == "3"
    assert set(meta["dims"]) == set(catalog.get(name).dims)
    assert len(meta["params_fingerprint"]) == 16
    assert meta["version"]


@pytest.mark.parametrize("name", slow_but(NAMES, FAST_NAMES))
def test_student_worksheet_verifies(tmp_path, name):
    """Every exercise's student worksheet: blanks empty on the visible sheet, and its hidden key
    (which the self-check compares against) equal to NumPy."""
    path = build(tmp_path, name, student=True)
    # the formulas engine checks these formulas in the key (test_default_template_verifies_in_formulas);
    # on a worksheet, holding them twice (its hidden key), it is the slowest check of the suite
    assert_verified(path, ("ironcalc", "formulas") if name in FORMULAS_ON_WORKSHEETS else ("ironcalc",))
    wb = readback.load(path)
    ranges = readback.block_ranges(wb)
    sheet = key_sheet(resolve(catalog.get(name)))
    blanks = blank_names(sheet)
    assert set(blanks) == {b.name for b in sheet.computed_blocks() if not b.extra.get("drawing")}
    for block in blanks:
        where = ranges[block]
        assert where.sheet == name
        assert all(c is None for row in readback.read_block(wb, where) for c in row), block
    assert non_portable(path) == set()


@pytest.mark.parametrize("name,size", slow_but(PRESETS, FAST_PRESETS))
def test_only_portable_functions(tmp_path, name, size):
    """Portable functions only, used the way every engine evaluates them (see fx.rule_problems)."""
    path = build(tmp_path, name, size=size)
    assert non_portable(path) == set()
    problems = {f: rule_problems(f) for f in set(formula_texts(path))}
    assert {f: p for f, p in problems.items() if p} == {}


def test_readme_lists_every_exercise():

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [n for n in NAMES if f"| `{n}` |" not in readme]
    assert missing == []


OPTION_CASES = [(name, option.name, value) for name in NAMES for option in catalog.get(name).options
                for value in option.allowed if value != option.default]


@pytest.mark.parametrize("name, option, value",
                         slow_but(OPTION_CASES, [c for c in OPTION_CASES if c[0] in FAST_NAMES]))
def test_every_option_value_builds_and_verifies(tmp_path, name, option, value):
    """Each option at each value it allows (sheet options too, such as a stable softmax)."""
    assert_verified(build(tmp_path, name, options={option: value}), ("ironcalc",))
