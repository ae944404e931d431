"""``xlhand lint``: the formula mistakes of any workbook, ours or hand-made (see :mod:`.run`)."""
from xlhand.lint.findings import RULES, Finding
from xlhand.lint.run import lint_file, lint_files

__all__ = ["RULES", "Finding", "lint_file", "lint_files"]
