"""`--lang zh` output is Chinese throughout: terminal, report.md, the workbook and the map.

An English word in the Chinese outputs is a missed translation. Allowed: proper names
(OpenStreetMap, AutoNavi, circle itself), data formats and standards (OSM, ODbL, H3, CSV,
GeoJSON), the category ids of the machine-readable columns, and whatever comes from the
input data (facility names and ids). Runs with a digit, a dot, a slash or an underscore
are file names, paths, ids or units (``data/facilities.geojson``, ``km/h``, ``osm-node-1``)
and are not words.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import folium
import openpyxl
import pytest
from click.testing import CliRunner

from circle.categories import BUILTIN_ORDER
from circle.cli import cli
from circle.datasets import chengdu_pbf, demo_facilities
from circle.i18n import category_label

#: Names and abbreviations that stay as they are in Chinese text.
ALLOWED: frozenset[str] = frozenset(
    {
        "circle",  # the tool's name
        "OpenStreetMap",
        "OSM",
        "ODbL",
        "AutoNavi",
        "CARTO",
        "Leaflet",
        "H3",
        "CSV",
        "GeoJSON",
        "XLSX",
        "GCJ",
        "WGS",
        "GB",
        "null",  # the JSON literal the method text names
        "km",  # the scale bar (metric units stay as symbols)
        *BUILTIN_ORDER,  # category ids in the id columns
    }
)

#: A run of Latin letters, digits and the characters of paths, ids and units.
_RUN = re.compile(r"[A-Za-z0-9_./\\:@#%&?=+\-]+")
_WORD = re.compile(r"[A-Za-z]+(?:['-][A-Za-z]+)*")


def english_words(text: str, *, allowed: frozenset[str] = ALLOWED) -> set[str]:
    """The English words in `text` (runs of two or more letters that are not allowed)."""
    found = set()
    for run in _RUN.findall(text):
        if _WORD.fullmatch(run) and len(run) >= 2 and run not in allowed:
            found.add(run)
    return found


def test_english_words_finds_words_and_lets_names_paths_and_ids_pass():
    assert english_words("人口：people 88,394（min）") == {"people", "min"}
    assert english_words("H3 hexagons, resolution 9") == {"hexagons", "resolution"}
    assert english_words("data/README.md、8940e3cce67ffff、osm-node-12、4.5 km/h、OSM") == set()
    assert english_words("每千人places") == {"places"}


@pytest.fixture(scope="module")
def demo_outputs(tmp_path_factory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("demo") / "成都"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result.output, out


@pytest.fixture(scope="module")
def input_words() -> frozenset[str]:
    """Words of the demo's own data (facility names and ids), which stay as they are."""
    facilities = demo_facilities("chengdu")
    text = " ".join(map(str, [*facilities["name"], *facilities["id"]]))
    return frozenset(english_words(text)) | ALLOWED


def test_demo_terminal_is_chinese(demo_outputs, input_words):
    terminal, _ = demo_outputs
    assert "覆盖" in terminal
    assert english_words(terminal, allowed=input_words) == set()


def test_demo_report_md_is_chinese(demo_outputs, input_words):
    _, out = demo_outputs
    text = (out / "report.md").read_text(encoding="utf-8")
    assert english_words(text, allowed=input_words) == set()


def test_demo_workbook_is_chinese(demo_outputs, input_words):
    _, out = demo_outputs
    (book,) = out.glob("*.xlsx")
    workbook = openpyxl.load_workbook(book)
    cells = [
        str(cell.value)
        for sheet in workbook
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    ]
    assert english_words(" ".join(workbook.sheetnames)) == set()
    assert english_words("\n".join(cells), allowed=input_words) == set()


def _visible_texts(m: folium.Map) -> list[str]:
    """Every text the map shows: layer names, popups, tooltips, legend, title, credits."""
    from circle.maps import _Decorations

    texts: list[str] = []

    def strings(value: Any) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                strings(item)
        elif isinstance(value, list):
            for item in value:
                strings(item)

    for child in m._children.values():
        if isinstance(child, folium.GeoJson):
            texts.append(child.layer_name)
            for feature in child.data["features"]:
                properties = dict(feature["properties"])
                # Status codes pick a style and a word of the page's own text; not shown.
                properties.pop("s", None)
                rows = properties.pop("r", [])
                strings(properties)
                strings([row[1:] for row in rows])
        elif isinstance(child, folium.TileLayer):
            texts.append(child.options.get("attribution", ""))
        elif isinstance(child, _Decorations):
            texts.extend([child.body, child.attribution])
            strings(list(json.loads(child.page_text).values()))
    # Text only: tags, class names and colours are not shown.
    return [html.unescape(re.sub(r"<[^>]+>", " ", t)) for t in texts]


@pytest.fixture(scope="module")
def chengdu_study():
    from circle.study import Study

    return Study.load(chengdu_pbf(), demo_facilities("chengdu"), population_proxy="network")


def test_chinese_map_text_is_chinese(chengdu_study, input_words):
    m = chengdu_study.map(lang="zh", show_population=True)
    texts = _visible_texts(m)
    assert any("社区" in t for t in texts)
    found = set().union(*(english_words(t, allowed=input_words) for t in texts))
    assert found == set()


def test_chinese_scenario_map_text_is_chinese(chengdu_study, input_words):
    closed_id = str(demo_facilities("chengdu")["id"].iloc[0])
    scenario = chengdu_study.scenario(close=[closed_id])
    m = scenario.map(lang="zh", comparison=scenario.compare_with(chengdu_study))
    texts = _visible_texts(m)
    found = set().union(*(english_words(t, allowed=input_words) for t in texts))
    assert found == set()


def _sheet_headers(book: Path) -> dict[str, list[str]]:
    workbook = openpyxl.load_workbook(book)
    return {
        sheet.title: [str(c.value) for c in next(sheet.iter_rows(max_row=1))] for sheet in workbook
    }


def test_demo_never_calls_metres_of_way_people(demo_outputs, tmp_path):
    """The demo has no population data: its unit is a metre of walkable way, said everywhere."""
    _, out = demo_outputs
    (book,) = out.glob("*.xlsx")
    headers = _sheet_headers(book)
    areas = headers["社区单元"]
    assert "可步行道路（米）" in areas
    assert any(h.endswith("可达道路（米）") for h in areas)
    assert not [h for h in areas if "人口" in h]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| 不可达道路（米） |" in report
    assert "未覆盖人口" not in report

    english = tmp_path / "en"
    result = CliRunner().invoke(cli, ["demo", "--lang", "en", "--out", str(english)])
    assert result.exit_code == 0, result.output
    (book,) = english.glob("*.xlsx")
    areas = _sheet_headers(book)["Neighbourhoods"]
    assert "Walkable way (m)" in areas
    assert f"{category_label('clinic')}: Way in reach (m)" in areas
    assert not [h for h in areas if "population" in h.lower() or "people" in h.lower()]
    report = (english / "report.md").read_text(encoding="utf-8")
    assert "| Walkable way not in reach (m) |" in report
    assert "people not covered" not in report.lower()
