"""The names that used to live here, for code that still imports them: worksheets are in
:mod:`xlhand.classroom.worksheet`, class sets in :mod:`xlhand.classroom.classset`, the manifest in
:mod:`xlhand.classroom.manifest`."""
from __future__ import annotations

from xlhand.classroom.classset import ClassSet, build_class, default_keys_dir, student_seed  # noqa: F401
from xlhand.classroom.manifest import (DEFAULT_ATOL, DEFAULT_RTOL, Manifest, ManifestStudent,  # noqa: F401
                                       load_manifest)
from xlhand.classroom.worksheet import (CHECK_SHEET, KEY_SHEET, blank_cells, blank_names, check_formula,  # noqa: F401
                                        lock_structure, parse_steps, steps_from_metadata, student_workbook)


def resolved_for(manifest, entry):
    """One student's variant from a manifest and its entry (a :class:`Manifest` or the JSON dict)."""
    if isinstance(manifest, dict):
        manifest = Manifest.from_dict(manifest)
    if isinstance(entry, dict):
        entry = ManifestStudent.from_dict(entry)
    return manifest.resolved(entry)
