"""The saved demo map works in headless Chromium with every network request blocked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from circle.i18n import category_label
from circle.maps import mapped_categories
from tests.test_chinese_output import english_words

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if not missing:
        return
    reason = (
        f"headless Chromium is not installed ({', '.join(missing)} missing); "
        "install it with `apt-get install chromium chromium-driver`"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; under CI the browser test must run.")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def demo_result():
    from circle.datasets import demo_facilities, helsinki_pbf
    from circle.study import Study

    return Study.load(helsinki_pbf(), demo_facilities()).coverage()


@pytest.fixture
def offline_driver(tmp_path):
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]})
        yield driver
    finally:
        driver.quit()


def test_offline_map_draws_layers_gaps_and_legend(demo_result, offline_driver, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from circle.isochrones import service_areas
    from circle.maps import coverage_map, save_map

    m = coverage_map(demo_result, service_areas(demo_result.model), tiles=None)
    path = save_map(m, tmp_path / "map.html")
    driver = offline_driver
    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script(
            "return typeof L !== 'undefined' && !!document.querySelector('.leaflet-container')"
        )
    )
    # Nothing came from the internet, yet Leaflet is there.
    assert driver.execute_script("return typeof L") == "object"
    overlays = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-layers-overlays").text
    legend = driver.find_element(By.CSS_SELECTOR, ".circle-legend").text
    for category in demo_result.categories:
        label = category_label(category)
        assert f"Service area · {label}" in overlays
        assert f"Facilities · {label}" in overlays
        assert label in legend
    statuses = demo_result.neighbourhood_table()[
        [f"{c}_status" for c in mapped_categories(demo_result)]
    ]
    lived = statuses != "empty"
    uncovered_expected = int(
        (((statuses == "uncovered") | ~lived).all(axis=1) & lived.any(axis=1)).sum()
    )
    assert uncovered_expected > 0
    drawn = driver.find_elements(By.CSS_SELECTOR, "path.circle-uncovered")
    assert len(drawn) == uncovered_expected
    # Facility badges are drawn with their Font Awesome glyphs (fonts are inlined data: URIs).
    assert driver.find_elements(By.CSS_SELECTOR, ".circle-facility .fa-house-medical")
    glyph_font = driver.execute_script(
        "const i = document.querySelector('.circle-facility i');"
        "return getComputedStyle(i, '::before').fontFamily;"
    )
    assert "Font Awesome" in glyph_font
    attribution = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-attribution").text
    assert "OpenStreetMap contributors" in attribution
    shot = tmp_path / "map.png"
    driver.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000

    # Hovering an uncovered neighbourhood names what it lacks; clicking it opens the table.
    driver.execute_script(
        "const path = document.querySelector('path.circle-uncovered');"
        "const box = path.getBoundingClientRect();"
        "const at = {bubbles: true, clientX: box.x + box.width / 2,"
        " clientY: box.y + box.height / 2};"
        "for (const type of ['mouseover', 'mousemove', 'click']) {"
        "  path.dispatchEvent(new MouseEvent(type, at));"
        "}"
    )
    tooltip = driver.find_element(By.CSS_SELECTOR, ".leaflet-tooltip").text
    assert "uncovered" in tooltip
    assert "Missing:" in tooltip
    popup = driver.find_element(By.CSS_SELECTOR, ".leaflet-popup-content")
    assert "median min" in popup.text
    rows = popup.find_elements(By.CSS_SELECTOR, "table.circle-area tr")
    assert len(rows) == len(demo_result.categories) + 1
    for category in demo_result.categories:
        assert category_label(category) in popup.text
    shot = tmp_path / "map_popup.png"
    driver.save_screenshot(str(shot))
    print(f"screenshot with a popup: {shot}")

    # The page decodes the delta-encoded shapes back to the map's degrees.
    from tests.test_maps import geojson_layers

    overall = geojson_layers(m)["Neighbourhoods (all services)"]
    decoded = driver.execute_script(
        "const name = Object.keys(window).find(k => /^geo_json_\\w+_data$/.test(k) &&"
        " window[k].features.length > 1);"
        "return window[name].features.map(f => f.geometry.coordinates[0][0]);"
    )
    expected = [f["geometry"]["coordinates"][0] for f in overall.data["features"]]
    assert len(decoded) == len(expected)
    for ring, want in zip(decoded, expected, strict=True):
        assert ring == [list(xy) for xy in want]
    # Switching on one category's layer draws each neighbourhood in that category's status.
    clinic = category_label("clinic")
    driver.execute_script(
        "const labels = document.querySelectorAll('.leaflet-control-layers-overlays label');"
        "for (const label of labels) {"
        f"  if (label.textContent.includes('Neighbourhoods · {clinic}')) {{"
        "    label.querySelector('input').click();"
        "  }"
        "}"
    )
    table = demo_result.neighbourhood_table()
    for status in ("uncovered", "partial", "covered"):
        drawn = driver.find_elements(By.CSS_SELECTOR, f"path.circle-category-{status}")
        assert len(drawn) == int((table["clinic_status"] == status).sum())
    driver.execute_script(
        "const path = document.querySelector('path.circle-category-uncovered');"
        "const box = path.getBoundingClientRect();"
        "const at = {bubbles: true, clientX: box.x + box.width / 2,"
        " clientY: box.y + box.height / 2};"
        "for (const type of ['mouseover', 'mousemove']) {"
        "  path.dispatchEvent(new MouseEvent(type, at));"
        "}"
    )
    tips = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".leaflet-tooltip")]
    assert any(f"{clinic}: uncovered" in tip for tip in tips), tips


def test_chinese_demo_map_works_offline_with_its_basemap_and_shows_no_english(
    offline_driver, tmp_path
):
    """`circle demo` (Chengdu, Chinese, Gaode basemap by default) opened with no network."""
    from click.testing import CliRunner
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from circle.cli import cli
    from circle.datasets import demo_facilities
    from tests.test_chinese_output import ALLOWED

    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "autonavi.com" in page  # the default basemap of a Chinese map
    driver = offline_driver
    driver.get((out / "map.html").resolve().as_uri())
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script(
            "return typeof L !== 'undefined' && !!document.querySelector('path.circle-covered')"
        )
    )
    # The tiles were asked for and blocked; the overlays are drawn on the plain background.
    assert driver.find_elements(By.CSS_SELECTOR, "img.leaflet-tile")
    assert driver.find_elements(By.CSS_SELECTOR, ".circle-facility .fa-house-medical")
    # No script error: at most the failed tile requests are logged.
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert [e for e in errors if "autonavi.com" not in e["message"]] == []
    # The scale is metric only.
    scale = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-scale").text
    assert " m" in scale or "km" in scale
    assert "ft" not in scale and "mi" not in scale

    # Open a neighbourhood's tooltip and popup, then read everything the page shows.
    driver.execute_script(
        "const path = document.querySelector('path.circle-uncovered, path.circle-partial');"
        "const box = path.getBoundingClientRect();"
        "const at = {bubbles: true, clientX: box.x + box.width / 2,"
        " clientY: box.y + box.height / 2};"
        "for (const type of ['mouseover', 'mousemove', 'click']) {"
        "  path.dispatchEvent(new MouseEvent(type, at));"
        "}"
    )
    # The popup may open above the window's edge: read its text, shown or not.
    popup = driver.find_element(By.CSS_SELECTOR, ".leaflet-popup-content")
    popup_text = popup.get_attribute("textContent")
    assert "覆盖率" in popup_text
    assert english_words(popup_text) == set()
    visible = driver.execute_script("return document.body.innerText")
    facilities = demo_facilities("chengdu")
    allowed = ALLOWED | english_words(" ".join(map(str, facilities["name"])))
    assert "图例" in visible
    assert english_words(visible, allowed=allowed) == set()
    shot = tmp_path / "chengdu.png"
    driver.save_screenshot(str(shot))
    print(f"screenshot: {shot}")
