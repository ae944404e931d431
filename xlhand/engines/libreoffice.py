"""LibreOffice headless as a second formula engine: recalculate many workbooks in one call.

A private profile forces recalculation on load (OOXMLRecalcMode = 0, "always"), so no cached
result in a file is trusted. LibreOffice exits 0 even when a file fails to load, so each
expected output is checked for.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from xlhand.errors import XlhandError

PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
</oor:items>
"""


def soffice() -> str | None:
    """The LibreOffice executable, or None where it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def recalculate(paths: list[Path], out_dir: Path, timeout: float = 600) -> dict[Path, Path | None]:
    """Open, recalculate and re-save every workbook in ``paths`` into ``out_dir`` (one soffice call).

    Returns input path -> recalculated copy, or None for a file LibreOffice could not convert.
    Input names must be unique (outputs are named after them).
    """
    return convert(paths, out_dir, "xlsx:Calc MS Excel 2007 XML", ".xlsx", timeout)


def convert(paths: list[Path], out_dir: Path, target: str, suffix: str, timeout: float = 600) -> dict[Path, Path | None]:
    """Convert every file in ``paths`` to ``target`` (an soffice --convert-to argument) into ``out_dir``
    in one call, with a private profile (recalculate on load, macros off). Returns input path ->
    output path, or None for a file LibreOffice could not convert (it exits 0 even then). A call that
    outlives ``timeout`` is killed; what it finished is kept."""
    exe = soffice()
    if exe is None:
        raise XlhandError("LibreOffice (soffice) is not installed: apt-get install -y libreoffice-calc-nogui")
    if len({p.stem for p in paths}) != len(paths):
        raise ValueError("convert: input file names must be unique")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xlhand-lo-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(PROFILE_SETTINGS)
        cmd = [exe, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
               "--nologo", "--nodefault", "--nolockcheck", "--convert-to", target,
               "--outdir", str(out_dir), *map(str, paths)]
        try:
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout,
                           check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pass  # whatever was converted before the timeout is still used
    result = {}
    for p in paths:
        out = out_dir / (p.stem + suffix)
        result[p] = out if out.exists() and out.stat().st_size > 0 else None
    return result
