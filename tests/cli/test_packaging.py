"""A non-editable install works: the wheel carries the templates (templates/ installed as the
package xlhand.templates), and `xlhand build --all` runs from a fresh virtual environment."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support import REPO

from xlhand.model import catalog



def run(*args, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, args))}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of what the package is made of (the working tree stays clean)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for name in ("xlhand", "templates"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", tmp / "dist", source, cwd=tmp)
    (built,) = (tmp / "dist").glob("xlhand-*.whl")
    return built


@pytest.mark.packaging
def test_the_wheel_carries_every_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"xlhand/templates/{name}.yaml" for name in catalog.names()} <= names


@pytest.mark.packaging
def test_build_all_from_a_fresh_venv(wheel, tmp_path):
    venv = tmp_path / "venv"
    # the system site-packages provide the dependencies (no download); the wheel goes into the venv itself
    run(sys.executable, "-m", "venv", "--system-site-packages", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--ignore-installed", wheel, cwd=tmp_path)
    where = run(python, "-c", "import xlhand.model.resolve as p; print(p.__file__)", cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the installed copy, not the working tree
    result = run(venv / "bin" / "xlhand", "build", "--all", "--out", tmp_path / "out", cwd=tmp_path)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.xlsx")) == sorted(f"{n}.xlsx" for n in catalog.names())
    assert result.stdout.count("wrote ") == len(catalog.names())
