"""The notebooks run offline, top to bottom, and are stored with outputs cleared."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_scenarios.ipynb",
        "03_chinese_workflow.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_with_outputs_cleared(path):
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path):
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(
        book,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        output
        for cell in book.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert errors == []
    # Each notebook shows a map inline: a folium map renders as an HTML iframe of Leaflet.
    html = [
        o["data"]["text/html"]
        for cell in book.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if "text/html" in o.get("data", {})
    ]
    maps = [h for h in html if "leaflet" in h.lower()]
    assert maps
    # ... whose page is inlined: no script or stylesheet from a CDN (blank offline).
    for frame in maps:
        page = unescape(frame)
        assert "L.map(" in page
        assert not re.search(r"<(?:script|link)[^>]+(?:src|href)=[\"']?(?:https?:)?//", page)
