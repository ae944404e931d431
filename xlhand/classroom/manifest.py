"""The class manifest: everything the grader needs to rebuild each student's worksheet and key.

``manifest.json`` is written by :mod:`xlhand.classroom.classset` beside the keys; here it is read
back once, checked, and held as a frozen :class:`Manifest` with typed :class:`ManifestStudent`
entries, so no stage of grading reads the raw JSON. Manifests written before rosters were recorded
(no ``roster`` entry) load with ``roster == {}``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xlhand.errors import XlhandError
from xlhand.model import catalog
from xlhand.model.givens import Dims, Params, normalize_value
from xlhand.model.resolve import Resolved

DEFAULT_RTOL = 1e-2
DEFAULT_ATOL = 1e-2


PRINTED = 0.0005  # half the last decimal a worksheet prints (number format 0.0##): below it, a value shows as 0


@dataclass(frozen=True)
class Tolerance:
    """A number is right when |got − want| ≤ the limit for ``want``: max(rtol·|want|, min(atol, |want|/2))
    for an answer the worksheet prints as non-zero (so 0, or an empty cell, is never right for it,
    however small it is: a gradient of 0.008, a probability of 0.002), and atol for one it prints
    as 0. The self-check in the worksheet computes the same limit (:func:`limit_formula`)."""

    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL

    @classmethod
    def from_dict(cls, data: dict | None) -> "Tolerance":
        """From ``{"rtol": …, "atol": …}`` as a manifest and a worksheet's metadata store it (either may
        be missing: the default)."""
        data = data or {}
        return cls(float(data.get("rtol", DEFAULT_RTOL)), float(data.get("atol", DEFAULT_ATOL)))

    def limit(self, want: float) -> float:
        size = abs(want)
        return self.atol if size < PRINTED else max(self.rtol * size, min(self.atol, size / 2))

    def close(self, got: float, want: float) -> bool:
        return bool(np.isfinite(got)) and abs(got - want) <= self.limit(want)


def limit_formula(key: str, rtol: float, atol: float) -> str:
    """:meth:`Tolerance.limit` as a worksheet formula of the key cell ``key``."""
    return f"IF(ABS({key})<{PRINTED:g},{atol:g},MAX({rtol:g}*ABS({key}),MIN({atol:g},ABS({key})/2)))"


@dataclass(frozen=True)
class ManifestStudent:
    id: str
    name: str = ""
    extra: dict = field(default_factory=dict)  # the roster's other columns
    seed: int | None = None
    numbers: str = ""
    fingerprint: str = ""
    file: str = ""  # the worksheet handed out, relative to the worksheets folder
    key_file: str = ""  # the key, relative to the manifest
    params: dict = field(default_factory=dict)  # given name -> plain value

    @classmethod
    def from_dict(cls, entry: dict) -> "ManifestStudent":
        return cls(id=str(entry["id"]), name=entry.get("name", ""), extra=dict(entry.get("extra") or {}),
                   seed=entry.get("seed"), numbers=entry.get("numbers", ""),
                   fingerprint=entry.get("fingerprint", ""), file=entry.get("file", ""),
                   key_file=entry.get("key_file", ""), params=dict(entry.get("params") or {}))


@dataclass(frozen=True)
class Manifest:
    exercise: str
    dims: dict
    options: dict
    sheet: str
    blanks: tuple[str, ...]
    blank_steps: object  # "all" or a list of step numbers
    tolerance: Tolerance
    self_check: bool
    students: tuple[ManifestStudent, ...]
    # the check sheet tests each blank against its expected value, written in its formula; a manifest
    # written before that (its worksheets' checks read a hidden key sheet) has no such key: only the
    # check sheet's presence is required of its hand-ins
    check_holds_expected: bool = False
    roster: dict = field(default_factory=dict)  # what the roster reader reported (format, columns, headers)
    class_seed: int | None = None
    params_file: str | None = None
    size: str | None = None
    password_protected: bool = False
    path: Path | None = None  # where it was loaded from

    @classmethod
    def load(cls, path: Path) -> "Manifest":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as e:
            raise XlhandError(f"manifest {path}: cannot be read ({e.strerror or e})") from None
        except (ValueError, UnicodeDecodeError):
            raise XlhandError(f"manifest {path}: not valid JSON") from None
        if not isinstance(data, dict) or data.get("xlhand_manifest") != 1:
            raise XlhandError(f"manifest {path}: not an xlhand class manifest")
        try:
            return cls.from_dict(data, Path(path))
        except (KeyError, TypeError, ValueError) as e:
            raise XlhandError(f"manifest {path}: incomplete or damaged ({type(e).__name__}: {e})") from None

    @classmethod
    def from_dict(cls, data: dict, path: Path | None = None) -> "Manifest":
        return cls(exercise=data["exercise"], dims=dict(data["dims"]), options=dict(data.get("options") or {}),
                   sheet=data["sheet"], blanks=tuple(data["blanks"]), blank_steps=data.get("blank_steps", "all"),
                   tolerance=Tolerance.from_dict(data.get("tolerance")),
                   self_check=bool(data.get("self_check", True)),
                   check_holds_expected=bool(data.get("check_holds_expected", False)),
                   students=tuple(ManifestStudent.from_dict(e) for e in data["students"]),
                   roster=dict(data.get("roster") or {}), class_seed=data.get("class_seed"),
                   params_file=data.get("params_file"), size=data.get("size"),
                   password_protected=bool(data.get("password_protected", False)), path=path)

    def student(self, student_id: str) -> ManifestStudent | None:
        return next((s for s in self.students if s.id == student_id), None)

    def resolved(self, student: ManifestStudent) -> Resolved:
        """Rebuild one student's variant (and check it against its fingerprint)."""
        exercise = catalog.get(self.exercise)
        dims = Dims({k: int(v) for k, v in self.dims.items()})
        params = Params()
        for given in exercise.givens:
            params[given.name] = normalize_value(given, student.params[given.name], dims, "manifest")
        resolved = Resolved(exercise, dims, params, student.seed, exercise.check_options(self.options),
                            numbers=student.numbers)
        if resolved.fingerprint() != student.fingerprint:
            raise XlhandError(f"manifest: the numbers of student '{student.id}' do not match their fingerprint")
        return resolved
