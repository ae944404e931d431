"""Carried-forward credit: the sheet as the student's own numbers make it (:class:`World`)."""
from __future__ import annotations

from functools import lru_cache

from openpyxl.formula.tokenizer import Token, Tokenizer

from xlhand.engines.compare import as_number
from xlhand.engines.workbook import guarded
from xlhand.grading import policy

WORLD, CARRIED = "world", "carried"


class World:
    """The sheet as the student's own numbers make it: the givens of their variant, their numbers
    in the blanks (the keys of ``student``), and every other computed cell recomputed by IronCalc
    from those. A blank mapped to ``None`` is no attempt: nothing is carried from it, nor from any
    computed cell that reads it, however far downstream.

    ``carried(address)`` is the key's formula of ``address`` evaluated on that sheet: for a blank,
    what the student should have got from their own earlier cells. Nothing here recurses, so no
    sheet is too long: IronCalc orders the evaluation itself (chains of 100,000 cells are fine) and
    the taint is followed breadth first."""

    def __init__(self, sheet, student: dict[str, float | None], guesses: frozenset[str] | set[str] = frozenset()):
        self.sheet, self.student = sheet, student
        self.guesses = set(guesses)  # blanks holding a guess (a number typed where it is wrong in many blanks)
        self.formulas = key_formulas(sheet)
        self.precedents = {a: _precedents(text) for a, (_, _, _, text) in self.formulas.items()}
        self.dependents: dict[str, set[str]] = {}
        for address, reads in self.precedents.items():
            for p in reads:
                self.dependents.setdefault(p, set()).add(address)
        self.tainted = self.downstream([a for a, v in student.items() if v is None], through_blanks=False)
        self._model = None

    def distrust(self, addresses) -> None:
        """Carry nothing from ``addresses`` (blanks) any more, nor from what reads them."""
        self.tainted |= self.downstream(list(addresses), through_blanks=False)

    def downstream(self, start, through_blanks: bool = True) -> set[str]:
        """``start`` and every computed cell reading any of them, however far (blanks hold the
        student's numbers, so unless ``through_blanks`` nothing passes through one)."""
        seen, todo = set(start), list(start)
        while todo:
            for d in self.dependents.get(todo.pop(), ()):
                if d not in seen and (through_blanks or d not in self.student):
                    seen.add(d)
                    todo.append(d)
        return seen

    def blanks_before(self, address: str) -> set[str]:
        """The blanks ``address``'s key formula reads, directly or through computed cells."""
        found, seen, todo = set(), set(), list(self.precedents.get(address, ()))
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            if p in self.student:
                found.add(p)
            else:
                todo.extend(self.precedents.get(p, ()))
        return found

    def value(self, address: str) -> float | None:
        if address in self.tainted:
            return None
        return self._read(WORLD, address)

    def carried(self, address: str) -> float | None:
        if address not in self.formulas or any(p in self.tainted for p in self.precedents[address]):
            return None
        return self._read(CARRIED, address)

    def _read(self, sheet: str, address: str) -> float | None:
        if self._model is None:
            self._model = guarded("carried-forward credit", _world_model, self.sheet, self.formulas,
                                   self.student)
        row, col = policy.cell_of(address)
        return as_number(guarded("carried-forward credit", self._model.get_cell_value,
                                0 if sheet == WORLD else 1, row, col))


def key_formulas(sheet) -> dict[str, tuple[object, int, int, str]]:
    """address -> (block, i, j, formula text) of every computed cell of the key."""
    out = {}
    for block in sheet.blocks.values():
        if block.formula is None:
            continue
        for i in range(block.rows):
            for j in range(block.cols):
                out[block.cell(i, j)] = (block, i, j, block.formula(i, j))
    return out


@lru_cache(maxsize=65536)
def _precedents(text: str) -> tuple[str, ...]:
    """The cells a key formula reads (each distinct formula is parsed once)."""
    return tuple(a for area in policy.areas("=" + text, "") for a in area.addresses())


@lru_cache(maxsize=65536)
def _on_sheet(text: str, sheet: str) -> str:
    """A key formula reading ``sheet``: every reference prefixed with its name."""
    tokens = Tokenizer("=" + text)
    for token in tokens.items:
        if token.type == Token.OPERAND and token.subtype == Token.RANGE:
            token.value = f"{sheet}!{token.value}"
    return tokens.render()


def _world_model(sheet, formulas, student):
    """An in-memory IronCalc model: sheet 0 the world, sheet 1 the key's formula of every blank
    reading the world."""
    import ironcalc

    model = ironcalc.create(WORLD, "en", "UTC")
    model.rename_sheet(0, WORLD)
    model.add_sheet(CARRIED)
    for block in sheet.blocks.values():
        for i in range(block.rows):
            for j in range(block.cols):
                r, c = block.top + i + 1, block.left + j + 1
                if block.values is not None:
                    model.update_cell_with_number(0, r, c, float(block.values[i, j]))
                elif block.text is not None:
                    model.update_cell_with_text(0, r, c, str(block.text[i][j]))
    for address, (block, i, j, text) in formulas.items():
        r, c = block.top + i + 1, block.left + j + 1
        if address in student:
            if student[address] is not None:
                model.update_cell_with_number(0, r, c, float(student[address]))
            model.update_cell_with_formula(1, r, c, _on_sheet(text, WORLD))
        else:
            model.update_cell_with_formula(0, r, c, "=" + text)
    model.evaluate()
    return model
