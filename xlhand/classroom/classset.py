"""Class sets: one worksheet per roster row, each student's key, and the manifest that rebuilds them."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from xlhand.build import check_writable, key_sheet, key_workbook, sheet_name, write_atomic, write_temporary
from xlhand.classroom.manifest import DEFAULT_ATOL, DEFAULT_RTOL, Manifest
from xlhand.classroom.roster import Student, file_stems, read_roster
from xlhand.classroom.worksheet import blank_names, student_workbook
from xlhand.engines.recalc import reference_values
from xlhand.errors import XlhandError
from xlhand.model import catalog
from xlhand.model.params_file import plain
from xlhand.model.resolve import resolve
from xlhand.parallel import run_all


def student_seed(class_seed: int, student_id: str) -> int:
    """A per-student seed: the same class seed and id always give the same numbers."""
    digest = hashlib.sha256(f"xlhand-class:{class_seed}:{student_id}".encode()).hexdigest()
    return int(digest[:12], 16) % 1_000_000_000


def default_keys_dir(out_dir: Path) -> Path:
    """Where keys and manifest go unless told: beside the worksheets, ``class`` -> ``class-keys``."""
    out_dir = Path(out_dir)
    if out_dir.name in ("", ".", ".."):
        out_dir = out_dir.resolve()
    return out_dir.with_name(f"{out_dir.name}-keys")


@dataclass
class ClassSet:
    manifest: Manifest
    worksheets: Path
    keys: Path
    notes: list[str]


def build_class(exercise_name: str, roster: Path, out_dir: Path, *, keys_dir: Path | None = None, size=None,
                sets=None, seed: int | None = None, params_path: Path | None = None, options=None,
                steps: set[int] | None = None, password: str | None = None, self_check: bool = True,
                rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, jobs: int | None = None,
                progress_label: str = "", id_column: str | None = None,
                name_column: str | None = None) -> ClassSet:
    """One student worksheet per roster row in ``out_dir`` (the folder handed out), and each
    student's key with ``manifest.json`` in ``keys_dir`` (default: ``<out_dir>-keys``), never
    among the worksheets.

    Students are built on ``jobs`` processes (default: the cores), each file identical whatever the
    number; nothing is written until every student is built (and verified), then each file is
    written whole (temporary file, then rename) and the manifest last.

    Each student's numbers come from the class seed and their id; with ``params_path`` every
    student gets the same numbers (the file's, and for givens it leaves out the template's, or
    ``seed``'s when given): one fixed version, each worksheet still carrying its student."""
    exercise = catalog.get(exercise_name)
    keys_dir = default_keys_dir(out_dir) if keys_dir is None else Path(keys_dir)
    _check_apart(Path(out_dir), keys_dir)
    listed = read_roster(roster, id_column=id_column, name_column=name_column)
    students = listed.students
    stems = file_stems(students)
    if params_path is not None:
        shared = resolve(exercise, size=size, sets=sets, params_path=params_path, seed=seed, options=options)
        variant = lambda st: shared  # noqa: E731 - one fixed version for everyone
    else:
        variant = lambda st: resolve(exercise, size=size, sets=sets, seed=student_seed(seed or 0, st.id),  # noqa: E731
                                     options=options)

    created = [d for d in (Path(out_dir), keys_dir) if not d.exists()]
    check_writable(out_dir)
    check_writable(keys_dir)
    tag = f"{os.urandom(8).hex()}.class"  # every temporary file of this run, found again if it fails

    def build_one(st: Student) -> tuple:
        """One student's worksheet and key, verified and written to temporary files (by the worker:
        the files are written side by side, and nothing but their names comes back)."""
        resolved = variant(st)
        stem = stems[st.id]
        key = key_sheet(resolved)  # laid out once: the worksheet and the key workbook share it
        expected = reference_values(resolved, key)
        worksheet = student_workbook(resolved, steps=steps, password=password, self_check=self_check, student=st,
                                     rtol=rtol, atol=atol, key=key, expected=expected, key_verified=True)
        entry = {
            "id": st.id, "name": st.name, "extra": st.extra, "seed": resolved.seed,
            "numbers": resolved.numbers_text(), "fingerprint": resolved.fingerprint(), "file": f"{stem}.xlsx",
            "key_file": f"{stem}-key.xlsx",
            "params": {g.name: plain(resolved.params[g.name]) for g in exercise.givens},
        }
        key_data = key_workbook(resolved, sheet=key, expected=expected, answers=blanks)
        files = [(out_dir / f"{stem}.xlsx", worksheet), (keys_dir / f"{stem}-key.xlsx", key_data)]
        return [(path, write_temporary(path, data, tag)) for path, data in files], entry

    first = variant(students[0])
    blanks = blank_names(key_sheet(first), steps)  # every variant has the same layout
    entries = []
    try:
        built = run_all(build_one, students, jobs, label=progress_label)
        for files, entry in built:  # every student built and verified: now the files take their names
            for path, tmp in files:
                os.replace(tmp, path)
            entries.append(entry)
    except BaseException:
        _remove_unfinished(tag, created, (Path(out_dir), keys_dir))
        raise
    manifest = {
        "xlhand_manifest": 1, "exercise": exercise.name, "dims": dict(first.dims), "options": first.options,
        "class_seed": None if params_path is not None else seed or 0,
        "params_file": None if params_path is None else str(params_path), "size": size,
        "blank_steps": sorted(steps) if steps else "all", "blanks": blanks,
        "self_check": self_check, "check_holds_expected": self_check, "password_protected": bool(password),
        "tolerance": {"rtol": rtol, "atol": atol}, "sheet": sheet_name(exercise), "students": entries,
    }
    if listed.info:  # what the roster reader found (format, columns): the LMS exports write it back
        manifest["roster"] = listed.info
    write_atomic(keys_dir / "manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8"))
    return ClassSet(Manifest.from_dict(manifest, keys_dir / "manifest.json"), Path(out_dir), keys_dir, listed.notes)


def _remove_unfinished(tag: str, created: list[Path], folders) -> None:
    """A class set that failed leaves nothing behind: its temporary files, and the folders it made."""
    for folder in folders:
        for tmp in folder.glob(f".*.{tag}.tmp"):
            tmp.unlink(missing_ok=True)
    for folder in created:
        try:
            folder.rmdir()
        except OSError:
            pass


def _check_apart(out_dir: Path, keys_dir: Path) -> None:
    """The keys may not lie in the folder that is handed out."""
    out, keys = out_dir.resolve(), keys_dir.resolve()
    if keys == out or out in keys.parents:
        raise XlhandError(f"--keys {keys_dir} lies inside --out {out_dir}, the folder of worksheets handed out: "
                          f"choose a folder apart (default {default_keys_dir(out_dir)})")
