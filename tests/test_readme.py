"""The README's Python examples run as written on the demo data, offline, in a fresh folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from circle.datasets import REPO_DATA

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    """The ```python fenced blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_python_blocks_are_found():
    assert python_blocks("a\n```python\nx = 1\n```\n```bash\nls\n```\n") == ["x = 1\n"]


def test_readme_examples_run_on_the_demo(tmp_path, monkeypatch):
    # As a user running from the repository's folder: data/ is beside them.
    shutil.copytree(REPO_DATA, tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    namespace: dict[str, object] = {"__name__": "readme"}
    for number, block in enumerate(blocks):
        try:
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)  # noqa: S102
        except Exception as error:  # noqa: BLE001
            pytest.fail(f"README python block {number} fails: {error!r}\n{block}")
    # What the examples say they write is there.
    assert (tmp_path / "reports" / "city" / "map.html").is_file()
    assert (tmp_path / "reports" / "city" / "report.md").is_file()
    assert any((tmp_path / "reports" / "scenarios").iterdir())
    # The closed facility is a real demo facility, and closing it changes something.
    closed = namespace["closed"]
    assert "osm-node-1949246070" not in set(closed.coverage().facility_table()["id"])
