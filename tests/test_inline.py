"""Tests for circle._inline: Folium's scripts and stylesheets inlined from shipped copies."""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser
from importlib import resources

import folium
import pytest

from circle._inline import UnvendoredAssetError, external_asset_urls, inline_assets
from circle.errors import CircleError

ASSETS = resources.files("circle") / "_assets"
MANIFEST = json.loads((ASSETS / "manifest.json").read_text(encoding="utf-8"))
# Folium's defaults plus what vendor_assets.py inlines; well under the size of one map tile set.
MAX_ASSETS_BYTES = 2_000_000


def _asset(path: str):
    location = ASSETS
    for part in path.split("/"):
        location = location / part
    return location


def _facility_map() -> folium.Map:
    fmap = folium.Map(location=[31.23, 121.47], zoom_start=15)
    for lat, lon, icon, colour in [
        (31.231, 121.471, "school", "blue"),
        (31.229, 121.468, "hospital", "red"),
        (31.232, 121.466, "cart-shopping", "green"),
    ]:
        folium.Marker(
            [lat, lon], tooltip=icon, icon=folium.Icon(icon=icon, prefix="fa", color=colour)
        ).add_to(fmap)
    folium.Marker([31.228, 121.473], icon=folium.Icon(icon="info-sign")).add_to(fmap)
    folium.Marker([31.227, 121.470]).add_to(fmap)  # Leaflet's default blue pin
    area = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "15-minute area"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [121.46, 31.22],
                            [121.48, 31.22],
                            [121.48, 31.24],
                            [121.46, 31.24],
                            [121.46, 31.22],
                        ]
                    ],
                },
            }
        ],
    }
    folium.GeoJson(area, name="coverage", tooltip=folium.GeoJsonTooltip(["name"])).add_to(fmap)
    folium.LayerControl().add_to(fmap)
    return fmap


@pytest.fixture(scope="module")
def page() -> str:
    return _facility_map().get_root().render()


@pytest.fixture(scope="module")
def inlined(page: str) -> str:
    return inline_assets(page)


class _ScriptCollector(HTMLParser):
    """Collect the bodies of <script> and <style> elements as a browser would split them."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._open = tag
            self.bodies.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._open:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.bodies[-1] += data


def test_folium_page_links_cdn_assets(page: str) -> None:
    assert external_asset_urls(page) == list(MANIFEST["assets"])


def test_inlined_page_loads_no_script_or_stylesheet_from_the_internet(inlined: str) -> None:
    assert external_asset_urls(inlined) == []
    tags = re.findall(r"<(?:script|link)\b[^>]*>", inlined, flags=re.IGNORECASE)
    assert [tag for tag in tags if re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", tag)] == []


def test_inlined_page_holds_the_libraries(inlined: str) -> None:
    assert "Leaflet 1.9.3, a JS library for interactive maps" in inlined
    assert "L.AwesomeMarkers.Icon" in inlined
    assert '"Font Awesome 6 Free"' in inlined
    assert "data:font/woff2;base64," in inlined
    assert "fa-rotate-90{" in inlined
    assert ".glyphicon-info-sign:before" in inlined


def test_inlined_scripts_are_whole_elements(inlined: str) -> None:
    parser = _ScriptCollector()
    parser.feed(inlined)
    bodies = set(parser.bodies)
    for entry in MANIFEST["assets"].values():
        text = _asset(entry["path"]).read_text(encoding="utf-8")
        end = "</script" if entry["kind"] == "js" else "</style"
        escaped = re.sub(end, "<\\/" + end[2:], text, flags=re.IGNORECASE)
        assert escaped in bodies, entry["path"]


def test_closing_tags_inside_a_library_are_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    from circle import _inline

    url = next(iter(MANIFEST["assets"]))
    _inline._manifest()  # read the real manifest before faking the files
    monkeypatch.setattr(_inline, "_asset_file", lambda _path: _FakeFile('x = "</SCRIPT>";'))
    _inline._inline_tag.cache_clear()
    try:
        out = inline_assets(f'<script src="{url}"></script>')
    finally:
        _inline._inline_tag.cache_clear()
    assert out == '<script>x = "<\\/SCRIPT>";</script>'


class _FakeFile:
    def __init__(self, text: str) -> None:
        self.text = text

    def read_text(self, encoding: str) -> str:
        return self.text


def test_inlining_is_idempotent(inlined: str) -> None:
    assert inline_assets(inlined) == inlined


def test_manifest_covers_every_asset_folium_links_by_default() -> None:
    folium_urls = [url for _, url in [*folium.Map.default_js, *folium.Map.default_css]]
    assert sorted(MANIFEST["assets"]) == sorted(folium_urls)
    assert MANIFEST["folium_version"] == folium.__version__


def test_vendored_files_match_manifest() -> None:
    for url, entry in MANIFEST["assets"].items():
        data = _asset(entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], url
        assert entry["package"] in MANIFEST["packages"]
        assert entry["kind"] == ("js" if entry["path"].endswith(".js") else "css")


def test_every_vendored_package_has_its_licence() -> None:
    for name, package in MANIFEST["packages"].items():
        licence = _asset(package["licence_file"]).read_text(encoding="utf-8")
        assert package["licence"], name
        assert re.search(r"licen[cs]e|permission is hereby granted", licence, re.IGNORECASE), name


def test_stylesheets_fetch_nothing() -> None:
    for entry in MANIFEST["assets"].values():
        if entry["kind"] != "css":
            continue
        text = _asset(entry["path"]).read_text(encoding="utf-8")
        targets = [t.strip("'\" ") for t in re.findall(r"url\(([^)]*)\)", text)]
        assert [t for t in targets if not t.startswith(("data:", "#"))] == [], entry["path"]
        assert "@import" not in text


def test_assets_stay_small() -> None:
    total = sum(len(_asset(entry["path"]).read_bytes()) for entry in MANIFEST["assets"].values())
    assert total < MAX_ASSETS_BYTES


def test_unshipped_asset_is_reported_and_raises(page: str) -> None:
    plugin_url = "https://cdn.example.org/leaflet.fancy/1.0/fancy.min.js"
    extra = page.replace("</head>", f'<script src="{plugin_url}"></script>\n</head>', 1)
    with pytest.raises(UnvendoredAssetError, match=re.escape(plugin_url)) as caught:
        inline_assets(extra)
    assert isinstance(caught.value, CircleError)
    assert external_asset_urls(extra)[-1] == plugin_url


def test_tags_inside_inline_scripts_are_not_assets() -> None:
    html = (
        "<script>var s = '<script src=\"https://x.org/a.js\"></scr' + 'ipt>';</script>"
        '<!-- <link rel="stylesheet" href="https://x.org/b.css"> -->'
        "<link rel='stylesheet' href='//x.org/c.css'>"
    )
    assert external_asset_urls(html) == ["//x.org/c.css"]
