"""README's gallery: one picture of every exercise's first printed page (made by docs/gallery/make)."""
from __future__ import annotations


import pytest
from support import REPO

from xlhand.model import catalog

ROOT = REPO


@pytest.mark.parametrize("name", catalog.names())
def test_every_exercise_has_a_gallery_image_shown_in_readme(name):
    image = ROOT / "docs" / "gallery" / f"{name}.png"
    assert image.is_file() and image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"run docs/gallery/make ({image})"
    assert f"docs/gallery/{name}.png" in (ROOT / "README.md").read_text(encoding="utf-8")
