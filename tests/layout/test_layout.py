"""The layout language: arrangement, the core's refusals, the rules every exercise keeps, and the
layout snapshots (one listing per exercise at size small in tests/snapshots/)."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from support import REPO, build

from xlhand.model import catalog
from xlhand.layout import ops
from xlhand.layout.blocks import EarlyAddress
from xlhand.build import key_sheet
from xlhand.model.resolve import resolve
from xlhand.layout.sheet import EVERYTHING, LayoutError, ShapeError, Sheet
from xlhand.layout.snapshot import SNAPSHOT_SIZE, layout_text

ROOT = REPO
EXERCISES = sorted((ROOT / "xlhand" / "exercises").glob("*.py"))
SNAPSHOTS = REPO / "tests" / "snapshots"
COMPUTED_ROLES = {"computed", "output", "gradient"}
NAMES = catalog.names()


def blank_sheet() -> Sheet:
    return Sheet("test")


def values(s: Sheet, name: str, shape) -> object:
    return s.add(name, shape, role="given", label=name, values=np.ones(shape))


# --- arrangement -----------------------------------------------------------------------------
def test_arrange_in_a_row_leaves_the_gap_between_labels_and_cells():
    s = blank_sheet()
    a, b, c = (values(s, n, (2, 1)) for n in ("a", "a_long_label_name", "c"))
    s.arrange([a, b, c], "right", gap=1)
    assert a.left == 0
    assert b.left == b.footprint().left == a.footprint().right + 1
    assert c.left == b.footprint().right + 1  # after b's label, which is wider than b
    assert a.top == b.top == c.top


def test_groups_move_together_and_stack_down():
    s = blank_sheet()
    groups = []
    for k in range(3):
        with s.group() as g:
            x = values(s, f"x{k}", (2, 2))
            values(s, f"y{k}", (1, 2)).move(*np.subtract(s.below(x), (0, 0)))
        groups.append(g)
    s.arrange(groups, "down", gap=2)
    assert [g.top for g in groups] == [groups[0].top, groups[0].bottom + 2, groups[1].bottom + 2]
    assert len({g.left for g in groups}) == 1
    s.finish()


def test_grid_rows_start_under_the_tallest_of_the_row_before():
    s = blank_sheet()
    items = [values(s, f"m{k}", (k + 1, 1)) for k in range(4)]
    s.grid(items, columns=2, gap=1)
    assert items[2].footprint().top == max(items[0].bottom, items[1].bottom) + 1
    assert items[2].left == items[0].left and items[3].top == items[2].top


def test_next_to_aligns_on_the_chosen_edge():
    s = blank_sheet()
    big, small = values(s, "big", (5, 3)), values(s, "small", (1, 1))
    s.next_to(small, big, "down", align="end")
    assert small.right == big.right and small.footprint().top == big.bottom + 1


# --- make, then place ---------------------------------------------------------------------------
def test_placing_a_product_moves_the_weights_it_made_but_not_its_input_or_the_1s_under_it():
    s = Sheet("t", params={"W": np.ones((2, 3)), "b": np.ones((2, 1))},
              specs={"W": catalog.get("mlp").given("W1"), "b": catalog.get("mlp").given("b1")})
    X = values(s, "X", (3, 2))
    Z = ops.linear(s, "Z", "W", X, "b")
    W, b, ones = s.blocks["W"], s.blocks["b"], s.blocks["X_ones"]
    before = {blk.name: (blk.top, blk.left) for blk in (X, ones)}
    s.place(Z, right_of=X, gap=4)
    assert (Z.top, Z.left) == s.right_of(X, 4)
    assert W.top == b.top == Z.top and W.right == b.left and b.right + 1 == Z.left  # [W | b] still left of Z
    assert {blk.name: (blk.top, blk.left) for blk in (X, ones)} == before  # the input and its 1s stay


def test_an_arrow_from_the_input_goes_when_the_result_is_placed_elsewhere():
    s = blank_sheet()
    Z = values(s, "Z", (2, 2))
    A = ops.relu(s, "A", Z)  # right of Z, with an arrow between them
    assert [g.text for g in s.glyphs] == ["→"]
    s.place(A, below=Z)
    assert s.glyphs == []
    B = ops.relu(s, "B", Z, label="B")
    s.place(B, right_of=Z)  # where it was made: the arrow stays
    assert [g.text for g in s.glyphs] == ["→"]


def test_an_arrow_goes_when_next_to_moves_its_result_or_its_input_alone():
    s = blank_sheet()
    Z = values(s, "Z", (2, 2))
    A = ops.relu(s, "A", Z)
    s.next_to(A, Z, "down")  # the result alone moves: the arrow would point at nothing
    assert s.glyphs == []
    with s.group() as pair:
        Y = values(s, "Y", (2, 2))
        ops.relu(s, "B", Y, label="B")
    s.next_to(pair, A, "down")  # input, result and arrow move together: it stays
    assert [g.text for g in s.glyphs] == ["→"]
    s.next_to(s.together([Y, s.blocks["B"]]), pair, "right")  # the blocks without their arrow: it goes
    assert s.glyphs == []


def test_an_arrow_asked_for_where_the_operation_drew_one_is_that_one():
    """transformer-full drew Zf → Hf where ops.relu's arrow still stood: two arrows in one cell."""
    s = blank_sheet()
    Z = values(s, "Z", (2, 2))
    A = ops.relu(s, "A", Z)  # right of Z, with its arrow
    s.arrow(Z, A)
    assert [g.text for g in s.glyphs] == ["→"]
    s.place(A, right_of=Z)  # asked for, it is the sheet's own now: it stays where the blocks stay
    assert [g.text for g in s.glyphs] == ["→"] and not s.arrows_while_beside


def test_below_everything_leaves_out_what_is_being_placed():
    s = blank_sheet()
    X = values(s, "X", (3, 1))
    Y = values(s, "Y", (5, 1))  # made at the origin too: not yet placed
    s.place(Y, below=EVERYTHING)
    assert Y.top == X.bottom + 2 + 1 and Y.left == X.left


def test_below_everything_in_the_columns_of_a_block():
    s = blank_sheet()
    X = values(s, "X", (3, 1))
    Z = s.place(values(s, "Z", (2, 2)), right_of=X)
    Y = values(s, "Y", (2, 1))
    s.place(Y, below=EVERYTHING, in_columns_of=Z)  # was silently at the leftmost column
    assert Y.top == X.bottom + 2 + 1 and Y.left == Z.left


def test_a_block_set_aside_stands_right_of_the_drawing_off_paper():
    from xlhand.layout import paper

    s = blank_sheet()
    X = values(s, "X", (3, 2))
    unused = values(s, "unused", (2, 2))
    s.place(unused, below=X)
    s.set_aside(unused)
    s.finish()
    assert unused.left >= X.right + 2 and unused not in s.printed() and X in s.printed()
    grid = paper.page_grid(s, "a4", {})
    assert grid.pages == 1 and not grid.col_breaks


def test_place_takes_exactly_one_relation():
    s = blank_sheet()
    X, Y = values(s, "X", (1, 1)), values(s, "Y", (1, 1))
    with pytest.raises(LayoutError, match="exactly one relation"):
        s.place(Y, below=X, right_of=X)


def test_operand_places_a_given_once():
    s = Sheet("t", params={"W": np.ones((2, 2))}, specs={"W": catalog.get("mlp").given("W1")})
    first = s.operand("W")
    assert s.operand("W") is first and len(s.blocks) == 1


# --- the core refuses ---------------------------------------------------------------------------
def test_an_address_before_the_layout_is_final_raises():
    s = blank_sheet()
    a = values(s, "a", (1, 1))
    with pytest.raises(EarlyAddress, match="before the layout was final"):
        a.cell(0, 0)
    s.finish()
    assert a.cell(0, 0)


def test_a_product_of_mismatched_shapes_names_both_operands():
    s = blank_sheet()
    A, B = values(s, "A", (2, 3)), values(s, "B", (2, 2))
    with pytest.raises(ShapeError, match=r"C = A·B: A is 2x3 but B is 2x2"):
        ops.matmul(s, "C", A, B)


def test_a_column_against_a_row_is_not_broadcast_by_accident():
    s = blank_sheet()
    col, row = values(s, "col", (3, 1)), values(s, "row", (1, 3))
    with pytest.raises(ShapeError, match="row is 1x3 and cannot be broadcast against col 3x1|col is 3x1"):
        ops.elementwise(s, "P", lambda a, b: f"{a}*{b}", [col, row])
    outer = ops.outer(s, "O", lambda a, b: f"{a}*{b}", col, row)
    assert outer.shape == (3, 3)


def test_labels_that_would_run_into_each_other_are_refused():
    s = blank_sheet()
    values(s, "a_block_with_a_long_label", (1, 1))
    b = values(s, "b", (1, 1))
    b.move(0, 1)
    with pytest.raises(LayoutError, match="overlaps"):
        s.finish()


# --- the rules every exercise keeps ----------------------------------------------------------------
PLACEMENT_ATTRIBUTES = {"top", "left", "bottom", "right", "footprint"}
HAND_PLACEMENT_CALLS = {"note", "glyph", "lowest_row", "rightmost_in_rows", "rightmost_col", "leftmost_col", "move"}


def hand_coordinates(path: Path) -> list[str]:
    """Places where an exercise computes a row or column number itself instead of placing relative
    to other blocks: an ``at=`` tuple, a read of a block's edges, or a call that takes raw positions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "at" and isinstance(kw.value, ast.Tuple):
                    found.append(f"{path.name}:{node.lineno}: at=(…) tuple")
            if isinstance(node.func, ast.Attribute) and node.func.attr in HAND_PLACEMENT_CALLS:
                found.append(f"{path.name}:{node.lineno}: .{node.func.attr}(…)")
            if isinstance(node.func, ast.Attribute) and node.func.attr == "add" and len(node.args) >= 3 \
                    and isinstance(node.args[2], ast.Tuple):
                found.append(f"{path.name}:{node.lineno}: add(…, (row, col))")
        if isinstance(node, ast.Attribute) and node.attr in PLACEMENT_ATTRIBUTES and isinstance(node.ctx, ast.Load):
            found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_no_exercise_computes_a_row_or_column_by_hand(path):
    assert hand_coordinates(path) == []


def placed_at_creation(path: Path) -> list[str]:
    """Calls that place a block while making it (``at=…``) instead of making it, then placing it
    with ``s.place``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Attribute) and node.func.attr == "place"):
            found += [f"{path.name}:{node.lineno}: at=" for kw in node.keywords if kw.arg == "at"]
    return found


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_every_exercise_makes_a_block_then_places_it(path):
    assert placed_at_creation(path) == []


def test_the_lint_finds_a_block_placed_at_creation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('X = ops.relu(s, "A", Z, at=s.below(Z))\nY = s.place(ops.relu(s, "B", Z), below=Z)\n')
    assert placed_at_creation(bad) == ["bad.py:1: at="]


# The shared steps keep the same rule: they place through the sheet's relations, listed here, and
# never do arithmetic on a position (``at[1] - GAP - width``) or with the gap.
OPS_MODULES = sorted((ROOT / "xlhand" / "layout" / "ops").glob("*.py"))
SHEET_PRIMITIVES = {
    "add", "given", "operand", "given_shape", "step", "group", "chart", "arrow", "note_right",  # placing things
    "place", "anchor", "hanging_off",  # an operation's unit: what moves with its result
    "below", "adjoining", "right_of", "left_of", "above", "clear_right", "below_all",  # where, relative to
    "next_to", "arrange", "grid", "together",  # moving things next to each other
    "numbered",  # a label as the sheet writes it (the room a part's label needs)
}
SHEET_DATA = {"title", "exercise", "blocks", "params", "specs", "dims", "settings", "steps"}


def raw_positions(path: Path) -> list[str]:
    """In a core module: arithmetic with the gap or on a position's row or column (``at[0]``), and any
    use of the sheet ``s`` other than the primitives listed in SHEET_PRIMITIVES and its data."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        operands = (node.left, node.right) if isinstance(node, ast.BinOp) else ()
        if any(isinstance(x, ast.Name) and x.id == "GAP" for x in operands):
            found.append(f"{path.name}:{node.lineno}: arithmetic with GAP")
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and (node.value.id == "at" or node.value.id.endswith("_at")):
            found.append(f"{path.name}:{node.lineno}: {node.value.id}[…]: a position taken apart")
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "s" \
                and node.attr not in SHEET_PRIMITIVES | SHEET_DATA:
            found.append(f"{path.name}:{node.lineno}: s.{node.attr} is not a listed primitive")
    return found


@pytest.mark.parametrize("path", OPS_MODULES, ids=lambda p: p.stem)
def test_no_shared_step_computes_a_row_or_column_by_hand(path):
    assert hand_coordinates(path) + raw_positions(path) == []


def test_the_lint_finds_coordinates_by_hand(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(s, X, at):\n    W = s.add('W', (1, 1), (at[0], at[1] - GAP - 2))\n"
                   "    s.glyph(X.bottom, X.left, '→')\n    return s.lowest_row()\n", encoding="utf-8")
    found = " ".join(hand_coordinates(bad) + raw_positions(bad))
    for what in ("add(…, (row, col))", ".glyph(…)", ".bottom", ".left", "arithmetic with GAP", "at[…]",
                 "s.glyph is not", "s.lowest_row is not"):
        assert what in found


def test_adjoining_is_the_row_touching_a_block_from_below():
    s = blank_sheet()
    X = values(s, "X", (2, 3))
    assert s.adjoining(X) == (X.bottom, X.left)
    assert s.below(X) == (X.bottom + 2, X.left)


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_no_exercise_imports_another(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    siblings = {p.stem for p in EXERCISES}
    assert [m for m in imported if m.lstrip(".").split(".")[0] in siblings or m.startswith("xlhand.exercises")] == []


@pytest.mark.parametrize("name", NAMES)
def test_every_block_holds_what_its_role_says(tmp_path, name):
    """Computed, output and gradient blocks hold formulas in every cell; givens never do (chosen by
    role, named or not)."""
    path = build(tmp_path, name)
    ws = openpyxl.load_workbook(path).worksheets[0]
    for block in key_sheet(resolve(catalog.get(name))).blocks.values():
        cells = [ws.cell(block.top + i + 1, block.left + j + 1).value
                 for i in range(block.rows) for j in range(block.cols)]
        formulas = [isinstance(c, str) and c.startswith("=") for c in cells]
        if block.role in COMPUTED_ROLES:
            assert all(formulas), f"{block.name} ({block.role}) holds a value that is not a formula"
        else:
            assert not any(formulas), f"{block.name} ({block.role}) holds a formula"


@pytest.mark.parametrize("name", NAMES)
def test_layout_snapshot(name):
    """The layout at size small equals tests/snapshots/<exercise>.txt. After a deliberate change:
    xlhand layout --all --write tests/snapshots, and review the diff."""
    expected = (SNAPSHOTS / f"{name}.txt").read_text(encoding="utf-8")
    assert layout_text(resolve(catalog.get(name), size=SNAPSHOT_SIZE)) == expected


def test_two_touching_blocks_are_drawn_apart_where_they_meet():
    """Blocks that touch (no column between them: weights against their product where a page is
    narrow, V against F) read as one grid unless the edge they share is drawn heavier."""
    import io

    import openpyxl

    from xlhand.layout.writer import WorkbookWriter, _touching_sides
    s = blank_sheet()
    W = values(s, "W", (2, 2))
    b = values(s, "b", (2, 1))
    s.place(b, right_of=W, gap=0)
    ones = s.add("W_ones", (1, 2), role="given", label="", values=np.ones((1, 2)), side_label="1s")
    s.place(ones, adjoining=W)  # a helper row keeps its own dashed border
    far = values(s, "far", (2, 2))
    s.place(far, right_of=b)
    s.finish()
    assert _touching_sides(s) == {"W": (False, False, False, True), "b": (False, False, True, False)}
    writer = WorkbookWriter()
    writer.write_sheet(s, "t")
    ws = openpyxl.load_workbook(io.BytesIO(writer.to_bytes())).worksheets[0]
    right_of_w = ws.cell(W.top + 1, W.right).border  # openpyxl counts from 1: W's last column
    left_of_b = ws.cell(b.top + 1, b.left + 1).border
    inside_w = ws.cell(W.top + 1, W.left + 1).border
    assert right_of_w.right.style == left_of_b.left.style == "medium"
    assert inside_w.right.style == "thin" and inside_w.left.style == "thin"


def test_a_product_plus_a_block_adds_it_cell_by_cell_and_checks_its_shape():
    """S = I·R + F (resnet's shortcut) as one product: each cell a dot product plus F's cell."""
    from xlhand.layout.sheet import ShapeError

    s = blank_sheet()
    R = values(s, "R", (2, 3))
    F = s.place(values(s, "F", (2, 3)), right_of=R)
    S = s.place(ops.matmul_parts(s, "S", [ops.identity_part(s, "I", 2)], R, plus=F), below=R)
    s.finish()
    assert S.formula(1, 2).endswith(f"+{F.cell(1, 2)}")
    with pytest.raises(ShapeError, match="added to a 2x3 product"):
        ops.matmul_parts(s, "T", [ops.identity_part(s, "I2", 2)], R, plus=values(s, "G", (3, 3)))
