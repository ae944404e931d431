"""The grades folder is written anew as a whole: everything goes into a staging folder beside it,
which then takes its place, so grades.csv never stands beside an earlier run's feedback. A folder
that holds anything but an earlier run's reports is never replaced (the run is refused)."""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from xlhand.errors import XlhandError

MARK = ".xlhand-grades"  # written into every grades folder: the folder is the tool's to replace
REPORTS = {"grades.csv", "skipped.csv", "feedback", MARK}


def check_replaceable(out_dir: Path) -> None:
    """Refuse (before any work) an ``out_dir`` that is a file, or a folder of someone else's files."""
    if out_dir.exists() and not out_dir.is_dir():
        raise XlhandError(f"--out {out_dir}: is a file, not a folder")
    if not out_dir.is_dir() or (out_dir / MARK).exists():
        return
    for item in out_dir.iterdir():
        if item.name not in REPORTS or (item.name == "feedback" and not all(
                p.name.endswith("-feedback.xlsx") for p in item.iterdir())):
            raise XlhandError(f"--out {out_dir}: holds files that are not grades ({item.name}): choose another "
                              f"folder, or empty this one (it is replaced as a whole)")
    parent = out_dir.resolve().parent
    if not os.access(parent, os.W_OK):
        raise XlhandError(f"--out {out_dir}: its folder {parent} cannot be written")


@contextmanager
def replacing(out_dir: Path):
    """A staging folder to write the reports into; on success it becomes ``out_dir``."""
    parent = out_dir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(parent / f".{out_dir.name}.{os.urandom(6).hex()}.tmp")
        staging.mkdir()
        os.chmod(staging, 0o777 & ~_umask())
    except OSError as e:
        raise XlhandError(f"--out {out_dir}: cannot be written ({e.strerror or e})") from None
    try:
        (staging / MARK).write_text("written by xlhand grade; this folder is replaced as a whole by the next run\n")
        yield staging
        old = parent / f".{out_dir.name}.{os.urandom(6).hex()}.old"
        if out_dir.exists():
            out_dir.rename(old)
        staging.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
