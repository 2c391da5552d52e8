"""Packaging: the demo data ships in the package; `import circle` works from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]

_IMPORTS = (
    "import circle, circle.maps; from circle import Study; from circle.maps import coverage_map; "
    "print(circle.__file__)"
)


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_chengdu_extract_is_package_data():
    from circle.datasets import chengdu_pbf

    setuptools = _pyproject()["tool"]["setuptools"]
    assert "_data/*" in setuptools["package-data"]["circle"]
    pbf = chengdu_pbf()
    assert pbf.is_file()
    assert pbf.parent.name == "_data"
    assert 200_000 < pbf.stat().st_size < 400_000  # the 0.3 MB extract, not a pointer
    readme = (pbf.parent / "README.md").read_text(encoding="utf-8")
    assert "OpenStreetMap contributors" in readme
    assert "ODbL" in readme


def test_no_top_level_folder_is_named_like_a_circle_module():
    """A folder `maps/` beside `circle/` shadowed `circle.maps` (issue 13)."""
    modules = {p.stem for p in (ROOT / "circle").iterdir() if not p.name.startswith("_")}
    top = {p.name for p in ROOT.iterdir() if p.is_dir()}
    assert not (modules & top)


def test_editable_install_is_a_path_entry_not_an_import_hook():
    """With `package-dir = {"" = "."}` setuptools writes a static .pth for `pip install -e .`.

    An import hook (setuptools' editable finder) comes after the working directory, so a
    checkout folder named `circle` in it became a namespace package and hid the real one.
    """
    editable = pytest.importorskip("setuptools.command.editable_wheel")
    package_dir = _pyproject()["tool"]["setuptools"]["package-dir"]
    assert set(package_dir) == {""}
    packages = ["circle", "circle.report"]
    assert editable._simple_layout(packages, package_dir, str(ROOT))


def test_import_works_when_python_starts_beside_a_checkout_named_circle(tmp_path):
    """Jupyter started in `~` with the clone at `~/circle`: `import circle` gives the package."""
    (tmp_path / "circle").symlink_to(ROOT, target_is_directory=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)  # the path entry the editable install's .pth adds
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).resolve() == (ROOT / "circle" / "__init__.py").resolve()
