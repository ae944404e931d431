"""``xlhand lint``: the formula mistakes of any workbook, ours or hand-made (see :mod:`.run`)."""
from .findings import RULES, Finding
from .run import lint_file, lint_files

__all__ = ["RULES", "Finding", "lint_file", "lint_files"]
