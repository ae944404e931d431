"""Everything lint takes from the rest of xlhand, in one place.

Lint reads any workbook with the same defensive reader as grading: :func:`precheck` (size, zip,
macros, entity declarations, absurd dimensions) before any XML is parsed, then the reading itself in a
forked child under the same CPU-time and memory limits (:func:`limited`). Formula areas use
grading's :class:`Area`. Keeping every import of another xlhand module here keeps lint movable.
"""
from __future__ import annotations

from xlhand.errors import XlhandError
from xlhand.grading.policy import MAX_COL, MAX_ROW, Area, cell_of
from xlhand.grading.sandbox import MEMORY, TIMEOUT, limited
from xlhand.grading.zipcheck import Rejected, precheck

__all__ = ["Area", "cell_of", "MAX_ROW", "MAX_COL", "precheck", "Rejected", "limited", "TIMEOUT",
           "MEMORY", "XlhandError"]
