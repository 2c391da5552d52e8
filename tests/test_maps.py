"""Maps: self-contained HTML, layers, legend, bilingual labels, escaping, basemaps, GCJ-02."""

from __future__ import annotations

import dataclasses
import html
import json
import re

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely

from circle._inline import external_asset_urls
from circle.coords import wgs84_to_gcj02
from circle.errors import InputError
from circle.i18n import category_label
from circle.isochrones import service_areas
from circle.maps import (
    SHAPE_DECIMALS,
    STATUS_CODES,
    coverage_map,
    map_html,
    mapped_categories,
    save_map,
)

EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="session")
def demo_result():
    from circle.datasets import demo_facilities, helsinki_pbf
    from circle.study import Study

    return Study.load(helsinki_pbf(), demo_facilities()).coverage()


@pytest.fixture(scope="session")
def demo_map(demo_result):
    return coverage_map(demo_result, service_areas(demo_result.model))


@pytest.fixture(scope="session")
def demo_html(demo_map):
    return map_html(demo_map)


def legend(page: str) -> str:
    """The legend box's HTML (plain HTML in the page body, not JSON-escaped)."""
    match = re.search(
        r'<div class="circle-box circle-legend">.*?</table>\s*</div>', page, re.DOTALL
    )
    assert match, "no legend in the page"
    return match.group(0)


def geojson_layers(m: folium.Map) -> dict[str, folium.GeoJson]:
    return {
        child.layer_name: child
        for child in m._children.values()
        if isinstance(child, folium.GeoJson)
    }


def points_of(layer: folium.GeoJson) -> np.ndarray:
    return np.array([f["geometry"]["coordinates"] for f in layer.data["features"]])


def test_map_is_a_folium_map_shown_inline_in_jupyter(demo_map):
    assert isinstance(demo_map, folium.Map)
    assert "iframe" in demo_map._repr_html_()


def test_default_html_is_self_contained(demo_map, demo_html, tmp_path):
    assert external_asset_urls(demo_html) == []
    assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", demo_html)
    assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", demo_html)
    assert "L.map(" in demo_html
    path = save_map(demo_map, tmp_path / "sub" / "map.html")
    assert path == tmp_path / "sub" / "map.html"
    written = path.read_text(encoding="utf-8")
    assert written.startswith("<!DOCTYPE html>")
    assert external_asset_urls(written) == []
    assert not list(path.parent.glob(".*.tmp"))
    # The assets add ~1.2 MB; the Helsinki demo's shapes are small.
    assert len(demo_html.encode()) < 3_000_000


def test_cdn_links_the_assets(demo_map):
    page = map_html(demo_map, cdn=True)
    urls = external_asset_urls(page)
    assert any("leaflet" in url for url in urls)
    assert len(page) < len(map_html(demo_map)) / 5


def test_layers_and_legend_name_every_category(demo_result, demo_map, demo_html):
    names = list(geojson_layers(demo_map))
    box = legend(demo_html)
    for category in demo_result.categories:
        label = category_label(category)
        assert f"Service area · {label} (15 min)" in names
        assert f"Facilities · {label}" in names
        assert f'data-category="{category}"' in box
        assert label in box
    assert "Walking speed: <b>4.5 km/h</b>" in box
    for word in ("uncovered", "partial", "covered", "no residents"):
        assert word in box
    assert "Neighbourhoods (all services)" in names
    assert "Off-network facilities (not used)" in names
    assert "15-minute walk to community services" in demo_html


def test_uncovered_neighbourhoods_are_marked(demo_result, demo_map, demo_html):
    # The default layer: uncovered where every service with facilities is uncovered (those
    # whose people live there), partial where some are reached.
    table = demo_result.neighbourhood_table()
    statuses = table[[f"{c}_status" for c in mapped_categories(demo_result)]]
    lived = statuses != "empty"
    expected = int(((statuses == "uncovered") | ~lived).all(axis=1).mul(lived.any(axis=1)).sum())
    layer = geojson_layers(demo_map)["Neighbourhoods (all services)"]
    drawn = [f["properties"]["s"] for f in layer.data["features"]]
    assert drawn.count(STATUS_CODES["uncovered"]) == expected > 0
    assert '"className": "circle-uncovered"' in demo_html
    # Each feature carries a row per category (status code, covered %, median and maximum
    # minutes); the page turns it into the popup table (tests/test_browser.py opens one).
    feature = next(f for f in layer.data["features"] if f["properties"]["s"] == "u")
    rows = feature["properties"]["r"]
    assert len(rows) == len(demo_result.categories)
    assert STATUS_CODES["uncovered"] in [row[0] for row in rows]
    row = table.set_index("name").loc[html.unescape(feature["properties"]["n"])]
    for (_code, share, median, _maximum), category in zip(
        rows, demo_result.categories, strict=True
    ):
        assert share == round(100 * row[f"{category}_covered_share"])
        if np.isfinite(row[f"{category}_median_min"]):
            assert median == round(row[f"{category}_median_min"], 1)
    assert "circleMaps.areaPopup" in demo_html
    assert "median min" in demo_html


def test_attribution_is_always_shown(demo_html):
    assert "attributionControl.addAttribution(" in demo_html
    assert "OpenStreetMap<\\/a> contributors, ODbL" in demo_html
    assert "#f2efe9" in demo_html  # no basemap: a light land colour instead


def test_chinese_labels(demo_result):
    page = map_html(coverage_map(demo_result, service_areas(demo_result.model), lang="zh"))
    box = legend(page)
    for category in demo_result.categories:
        assert category_label(category, "zh") in box
    for word in ("社区卫生服务站", "未覆盖", "部分覆盖", "无人口", "步行速度", "阈值", "分钟"):
        assert word in box, word
    assert "OpenStreetMap<\\/a> 贡献者" in page
    assert "可达比例" in page  # the summary box
    assert "15 分钟步行社区服务覆盖" in page


def test_names_from_files_are_escaped(demo_result):
    facilities = demo_result.model.facilities.copy()
    facilities.loc[0, "name"] = EVIL
    facilities.loc[1, ["on_network", "snap_m"]] = [False, 456.0]
    areas = demo_result.areas.copy()
    areas.loc[areas.index[0], "name"] = EVIL
    result = dataclasses.replace(
        demo_result,
        model=dataclasses.replace(demo_result.model, facilities=facilities),
        areas=areas,
    )
    m = coverage_map(result, service_areas(result.model), title=EVIL)
    page = map_html(m)
    assert EVIL not in page
    assert "alert(1)" in page
    layers = geojson_layers(m)
    texts = json.dumps([layer.data for layer in layers.values()])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in texts
    assert "<script>" not in texts
    # The off-network facility is in its own layer, with the reason.
    off = layers["Off-network facilities (not used)"].data["features"]
    assert len(off) == 1
    assert "More than 300 m from any walkable way (456 m)" in off[0]["properties"]["popup"]


def test_show_population(demo_result):
    m = coverage_map(demo_result, service_areas(demo_result.model), show_population=True)
    # The demo has no population data: the density is of its proxy, metres of walkable way.
    assert demo_result.people.unit == "network_m"
    layer = geojson_layers(m)["Population density (metres of walkable way per km²)"]
    assert len(layer.data["features"]) == len(demo_result.neighbourhood_table())
    assert "Population density" in legend(map_html(m))
    assert "people per km²" not in map_html(m)


def test_shapes_are_simplified_and_rounded(demo_result, demo_map):
    raw = service_areas(demo_result.model)
    raw_vertices = int(shapely.get_num_coordinates(raw.geometry.to_numpy()).sum())
    drawn = [
        layer.data for name, layer in geojson_layers(demo_map).items() if "Service area" in name
    ]
    coords = np.concatenate(
        [
            shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"])))
            for data in drawn
            for f in data["features"]
        ]
    )
    assert len(coords) < raw_vertices
    np.testing.assert_array_equal(coords, np.round(coords, SHAPE_DECIMALS))


def test_service_areas_in_any_crs(demo_result):
    areas = service_areas(demo_result.model, crs="EPSG:3857")
    m = coverage_map(demo_result, areas)
    layer = geojson_layers(m)["Service area · clinic / community health station (15 min)"]
    lon, lat = shapely.get_coordinates(
        shapely.from_geojson(json.dumps(layer.data["features"][0]["geometry"]))
    ).mean(axis=0)
    assert 24.9 < lon < 25.0
    assert 60.1 < lat < 60.2
    with pytest.raises(InputError, match="`service_areas` has no CRS"):
        coverage_map(
            demo_result,
            gpd.GeoDataFrame(areas.drop(columns="geometry"), geometry=list(areas.geometry)),
        )


@pytest.mark.parametrize(
    ("tiles", "url_part", "credit"),
    [
        ("osm", "tile.openstreetmap.org", "OpenStreetMap"),
        ("cartodb", "basemaps.cartocdn.com/light_all", "CARTO"),
    ],
)
def test_named_tiles(demo_result, tiles, url_part, credit):
    page = map_html(coverage_map(demo_result, service_areas(demo_result.model), tiles=tiles))
    assert url_part in page
    assert credit in page
    assert external_asset_urls(page) == []  # tiles are not assets


def test_custom_tiles_need_an_attribution(demo_result):
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    with pytest.raises(InputError, match="tiles_attribution"):
        coverage_map(demo_result, service_areas(demo_result.model), tiles=url)
    page = map_html(
        coverage_map(
            demo_result,
            service_areas(demo_result.model),
            tiles=url,
            tiles_attribution="© Example City",
        )
    )
    assert "tiles.example.org" in page
    assert "Example City" in page


@pytest.mark.parametrize("options", [{"tiles": "google"}, {"lang": "fr"}])
def test_bad_options(demo_result, options):
    with pytest.raises(InputError):
        coverage_map(demo_result, service_areas(demo_result.model), **options)


# A small street grid in Shanghai, where GCJ-02 shifts coordinates by ~500 m.
LON0, LAT0, STEP, N = 121.47, 31.23, 0.001, 8


@pytest.fixture(scope="module")
def shanghai_result(tmp_path_factory):
    from circle.study import Study

    path = tmp_path_factory.mktemp("shanghai") / "grid.osm"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    ident = lambda i, j: 1 + i * N + j  # noqa: E731
    lines += [
        f'<node id="{ident(i, j)}" lat="{LAT0 + i * STEP:.7f}" lon="{LON0 + j * STEP:.7f}"/>'
        for i in range(N)
        for j in range(N)
    ]
    for k in range(N):
        row = "".join(f'<nd ref="{ident(k, j)}"/>' for j in range(N))
        column = "".join(f'<nd ref="{ident(i, k)}"/>' for i in range(N))
        lines.append(f'<way id="{100 + k}">{row}<tag k="highway" v="footway"/></way>')
        lines.append(f'<way id="{200 + k}">{column}<tag k="highway" v="footway"/></way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines))
    facilities = gpd.GeoDataFrame(
        {"id": ["c1", "k1"], "name": ["卫生站", "食堂"], "category": ["clinic", "canteen"]},
        geometry=gpd.points_from_xy([LON0 + 0.0021, LON0 + 0.0052], [LAT0 + 0.0013, LAT0 + 0.006]),
        crs="EPSG:4326",
    )
    rng = np.random.default_rng(3)
    people = gpd.GeoDataFrame(
        {"population": rng.integers(1, 50, 60)},
        geometry=gpd.points_from_xy(
            LON0 + rng.uniform(0, STEP * (N - 1), 60), LAT0 + rng.uniform(0, STEP * (N - 1), 60)
        ),
        crs="EPSG:4326",
    )
    study = Study.load(path, facilities, population=people, minutes=5)
    return study.coverage()


def test_gaode_tiles_shift_every_overlay_to_gcj02(shanghai_result):
    plain = geojson_layers(
        coverage_map(shanghai_result, service_areas(shanghai_result.model), lang="zh", tiles=None)
    )
    m = coverage_map(
        shanghai_result, service_areas(shanghai_result.model), tiles="gaode", lang="zh"
    )
    shifted = geojson_layers(m)
    name = f"设施 · {category_label('clinic', 'zh')}"
    ((lon, lat),) = points_of(plain[name])
    ((gcj_lon, gcj_lat),) = points_of(shifted[name])
    expected = wgs84_to_gcj02(lon, lat)
    assert gcj_lon == pytest.approx(expected[0], abs=2e-6)
    assert gcj_lat == pytest.approx(expected[1], abs=2e-6)
    assert abs(gcj_lon - lon) + abs(gcj_lat - lat) > 1e-3  # hundreds of metres
    # Polygons move by the same offset.
    for layer_name in (name.replace("设施", "服务范围").split(" · ")[0], "社区单元"):
        before = next(v for k, v in plain.items() if k.startswith(layer_name))
        after = next(v for k, v in shifted.items() if k.startswith(layer_name))
        first = [
            shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"])))[0]
            for f in (before.data["features"][0], after.data["features"][0])
        ]
        # Each is rounded to SHAPE_DECIMALS: half a unit of the last decimal either way.
        np.testing.assert_allclose(first[1], wgs84_to_gcj02(*first[0]), atol=10.0**-SHAPE_DECIMALS)
    page = map_html(m)
    assert "webrd0{s}.is.autonavi.com" in page
    assert "AutoNavi" in page
    assert '"subdomains": "1234"' in page


def test_one_status_layer_per_service(demo_result, demo_map, demo_html):
    # Hidden by default; each colours the neighbourhoods by that service's own status.
    html = demo_html.replace("\\u00b7", "·")
    layers = geojson_layers(demo_map)
    overall = layers["Neighbourhoods (all services)"]
    table = demo_result.neighbourhood_table()
    for i, category in enumerate(demo_result.categories):
        label = category_label(category, "en")
        assert f"Neighbourhoods · {label}" in html
        layer = layers[f"Neighbourhoods · {label}"]
        assert layer.show is False
        # It draws the overall layer's shapes (written once in the page), coloured by the
        # category's own status, which each feature carries in its rows.
        assert layer.source is overall
        assert f"{overall.get_name()}_data" in layer._template.module.script(layer, {})
        assert f"properties.r[{i}][0]" in layer.style_js
        statuses = [f["properties"]["r"][i][0] for f in layer.data["features"]]
        assert statuses == [STATUS_CODES[s] for s in table[f"{category}_status"].astype(str)]
    # The shapes are written once however many layers draw them: one data block for the
    # neighbourhoods and one per service area.
    assert html.count("_data = circleMaps.decode(") == 1 + len(demo_result.categories)
    # The clinic layer's tooltips give each neighbourhood's own clinic status (see
    # tests/test_browser.py for the tooltip drawn in the page).
    assert "circleMaps.categoryTooltip(feature.properties, " in html


# --- maps a planner can read (issue 13) ---------------------------------------------------


def _street_study(**options):
    """Clinic c1 at node 1 of a 400 m street, canteen k1 at node 3; options of Study.load."""
    from circle.study import Study
    from tests.conftest import facilities_at, make_network

    street = make_network({1: (0.0, 0.0), 2: (200.0, 0.0), 3: (400.0, 0.0)}, [(1, 2), (2, 3)])
    facilities = facilities_at(("c1", "clinic", 0.0, 0.0), ("k1", "canteen", 400.0, 0.0))
    return Study.load(street, facilities, **options)


def test_default_basemap_follows_the_language(demo_result):
    areas = service_areas(demo_result.model)
    chinese = map_html(coverage_map(demo_result, areas, lang="zh"))
    english = map_html(coverage_map(demo_result, areas))
    assert "autonavi.com" in chinese
    assert "cartocdn.com" not in chinese
    assert "cartocdn.com" in english
    assert "autonavi.com" not in english
    for none in (None, "none"):
        page = map_html(coverage_map(demo_result, areas, tiles=none, lang="zh"))
        assert "L.tileLayer" not in page


def test_default_chinese_basemap_shifts_overlays_to_gcj02(shanghai_result):
    areas = service_areas(shanghai_result.model)
    default = geojson_layers(coverage_map(shanghai_result, areas, lang="zh"))
    gaode = geojson_layers(coverage_map(shanghai_result, areas, lang="zh", tiles="gaode"))
    plain = geojson_layers(coverage_map(shanghai_result, areas, lang="zh", tiles=None))
    name = f"设施 · {category_label('clinic', 'zh')}"
    assert np.array_equal(points_of(default[name]), points_of(gaode[name]))
    assert not np.array_equal(points_of(default[name]), points_of(plain[name]))


def test_scale_is_metric_only(demo_html):
    assert "L.control.scale({imperial: false})" in demo_html
    assert "L.control.scale()" not in demo_html


def test_default_layer_leaves_out_categories_without_facilities():
    # Hand-made: the clinic serves the street, gig stations and day care have no facility
    # at all; the worst-status layer is the clinic's and canteen's, the legend says which
    # categories have none.
    study = _street_study(minutes=10)
    result = study.coverage()
    assert set(result.categories) >= {"clinic", "canteen", "daycare", "gig_station"}
    assert mapped_categories(result) == ["canteen", "clinic"]
    m = coverage_map(result, study.service_areas(), tiles=None)
    layer = geojson_layers(m)["Neighbourhoods (all services)"]
    statuses = [f["properties"]["s"] for f in layer.data["features"]]
    table = result.neighbourhood_table()
    assert (table["daycare_status"] == "uncovered").all()
    assert STATUS_CODES["uncovered"] not in statuses
    assert (
        statuses.count(STATUS_CODES["covered"])
        == int((table["clinic_status"] == "covered").sum())
        > 0
    )
    box = legend(map_html(m))
    note = re.search(r'<div class="circle-no-facilities">(.*?)</div>', box).group(1)
    assert category_label("daycare") in note
    assert category_label("gig_station") in note
    assert category_label("clinic") not in note


def test_scenario_map_marks_closed_facilities_and_hides_the_overall_layer():
    base = _street_study(minutes=10, categories=["clinic", "canteen"])
    closed = base.scenario(close=["c1"])
    m = closed.map(comparison=closed.compare_with(base), tiles=None)
    layers = geojson_layers(m)
    assert layers["Neighbourhoods (all services)"].show is False
    assert layers["Changes against the base"].show is not False
    marked = layers["Closed in the scenario"]
    ((lon, lat),) = points_of(marked)
    c1 = base.coverage().facility_table().set_index("id").loc["c1"]
    assert (lon, lat) == (round(c1["lon"], 6), round(c1["lat"], 6))
    assert "c1" in marked.data["features"][0]["properties"]["tooltip"]
    assert "fa-xmark" in legend(map_html(m))
    # Without a comparison: the worst-status layer is on and nothing is marked closed.
    plain = geojson_layers(base.map(tiles=None))
    assert plain["Neighbourhoods (all services)"].show is True
    assert "Closed in the scenario" not in plain


def test_legend_gives_each_category_its_speed_when_profiles_differ():
    from circle.walking import ADULT, ELDERLY

    mixed = _street_study(minutes=10, categories=["clinic", "canteen"], profile="canteen=elderly")
    box = legend(map_html(mixed.map(tiles=None)))
    assert f"{ELDERLY.speed_kmh:g} km/h" in box
    assert f"{ADULT.speed_kmh:g} km/h" in box
    rows = re.findall(r'<tr class="circle-legend-category".*?</tr>', box)
    assert f"{ELDERLY.speed_kmh:g} km/h" in next(r for r in rows if 'data-category="canteen"' in r)
    assert f"{ADULT.speed_kmh:g} km/h" in next(r for r in rows if 'data-category="clinic"' in r)
    same = legend(map_html(_street_study(minutes=10, categories=["clinic"]).map(tiles=None)))
    assert "Walking speed: <b>" in same


def test_distance_thresholds_are_metres_in_the_map():
    study = _street_study(preset="gb50180", categories=["clinic", "canteen"])
    model = study.coverage().model
    page = map_html(study.map(tiles=None))
    box = legend(page)
    for category in ("clinic", "canteen"):
        assert model.is_distance(category)
        assert f"{model.threshold_metres(category):g} m (" in box
    layers = geojson_layers(study.map(tiles=None))
    assert any(f"{model.threshold_metres('clinic'):g} m" in name for name in layers)


def test_the_population_proxy_is_never_called_people(demo_result, demo_html):
    assert demo_result.people.unit == "network_m"
    assert "Walkable way (m)" in demo_html  # the popups' population label
    assert "Unit: metres of walkable way" in demo_html  # the summary box
    assert "Walkable way in reach within" in demo_html  # the facilities' popups
    assert "People served" not in demo_html
    assert "of people" not in demo_html


def test_notebook_view_loads_nothing_from_the_internet(demo_result):
    import html as html_module

    from circle.maps import InlineMap, show

    m = coverage_map(demo_result, service_areas(demo_result.model), tiles=None)
    assert isinstance(m, InlineMap)
    frame = m._repr_html_()
    page = html_module.unescape(re.search(r'srcdoc="(.*?)"', frame, re.DOTALL).group(1))
    assert "L.map(" in page
    # The same page save_map writes (of a map built alike: folium's layer control adds to a
    # map's script each time it is drawn).
    assert page == map_html(coverage_map(demo_result, service_areas(demo_result.model), tiles=None))
    assert not re.search(r"<(?:script|link)[^>]+(?:src|href)=[\"']?(?:https?:)?//", page)
    # folium's own view of a plain map links the CDNs; show() inlines them.
    plain = folium.Map(location=[60.17, 24.94], tiles=None)
    assert re.search(r"src=&quot;https://", plain._repr_html_())
    shown = html_module.unescape(show(plain)._repr_html_())
    assert "srcdoc=" in shown
    assert not re.search(r"<(?:script|link)[^>]+(?:src|href)=[\"']?(?:https?:)?//", shown)


def test_many_facilities_are_drawn_as_light_circle_markers(demo_result, monkeypatch):
    import circle.maps

    table = demo_result.facility_table()
    per_layer = table[table["on_network"]].groupby("category").size()
    monkeypatch.setattr(circle.maps, "MANY_MARKERS", int(per_layer.min()) - 1)
    m = coverage_map(demo_result, service_areas(demo_result.model), tiles=None)
    page = map_html(m)
    for category in per_layer.index:
        layer = geojson_layers(m)[f"Facilities · {category_label(category)}"]
        # Every facility is still there, with its popup; drawn as a dot in its colour.
        assert len(layer.data["features"]) == per_layer[category]
        assert isinstance(layer.marker, folium.CircleMarker)
        assert layer.marker.options["fillColor"] == circle.maps.category_colour(
            category, demo_result.categories
        )
    assert "new L.CircleMarker(latlng, opts)" in page
    assert "circle-facility-dot" in page
    # Layers with fewer facilities keep their badges.
    off = geojson_layers(m)["Off-network facilities (not used)"]
    assert len(off.data["features"]) <= circle.maps.MANY_MARKERS
    assert isinstance(off.marker, folium.Marker)


def test_polygons_are_delta_encoded_in_whole_units_of_the_last_decimal():
    from circle.maps import polygon_collection_text

    square = shapely.Polygon([(24.9, 60.1), (24.90012, 60.1), (24.90012, 60.10003), (24.9, 60.1)])
    two = shapely.MultiPolygon([square, shapely.affinity.translate(square, 0.001, 0.0)])
    text = polygon_collection_text([square, None, two], [{"a": "</script>"}, {"b": 1}, {}])
    assert "</" not in text  # safe inside <script>
    data = json.loads(text)
    # The missing geometry is left out; both are MultiPolygons.
    assert data["properties"] == [{"a": "</script>"}, {}]
    ((ring,),) = data["coordinates"][0]
    # First vertex absolute, then steps, in units of 1e-5 degree, worked out by hand.
    assert ring == [[2490000, 6010000], [12, 0], [0, 3], [-12, -3]]
    second = data["coordinates"][1]
    assert [part[0][0] for part in second] == [[2490000, 6010000], [2490100, 6010000]]


def test_the_chengdu_demo_map_tells_covered_from_uncovered_by_default():
    """The issue's first look: the default layer is not one colour on the demo."""
    from circle.datasets import chengdu_pbf, demo_facilities
    from circle.study import Study

    study = Study.load(chengdu_pbf(), demo_facilities("chengdu"), population_proxy="network")
    layer = geojson_layers(study.map(lang="zh", tiles=None))["社区单元（综合）"]
    assert layer.show
    drawn = [f["properties"]["s"] for f in layer.data["features"]]
    # Near the clinics part of the life circle is reached, far from them nothing is.
    assert drawn.count(STATUS_CODES["uncovered"]) > 0
    assert drawn.count(STATUS_CODES["partial"]) + drawn.count(STATUS_CODES["covered"]) > 100


def test_vertex_texts_are_those_of_each_pair_written_one_by_one():
    from circle.maps import _pair_texts

    rng = np.random.default_rng(3)
    small = rng.integers(-5, 6, size=(2_000, 2))  # many repeats
    wide = np.array([[2**31 - 1, -(2**31) + 1], [-(2**31) + 1, 2**31 - 1], [0, -1], [-1, 0]])
    for pairs in (small, wide, np.vstack([small, [[2**40, 1]]]), np.zeros((0, 2), np.int64)):
        assert _pair_texts(pairs) == [f"[{x},{y}]" for x, y in pairs.tolist()]


def test_page_is_the_same_as_numbering_ids_and_inlining_over_the_whole_page(demo_result):
    """map_html sets the polygon data aside while it scans the page; nothing else changes."""
    from circle._inline import inline_assets
    from circle.maps import _set_aside, _stable_ids

    areas = demo_result.areas.copy()
    areas["name"] = [f"{i:032x} <!-- {EVIL}" for i in range(len(areas))]  # hex runs, tags
    result = dataclasses.replace(demo_result, areas=areas)
    areas_drawn = service_areas(result.model)
    fast = map_html(coverage_map(result, areas_drawn, title=EVIL))
    root = coverage_map(result, areas_drawn, title=EVIL).get_root()  # the same map again
    page = root.render()
    assert fast == inline_assets(_stable_ids(root, page))
    # The data of the neighbourhoods and of each service area is set aside.
    rest, payloads = _set_aside(root, page)
    assert len(payloads) == 1 + len(result.categories)
    assert "circleMaps.decode({" in page
    assert "circleMaps.decode({" not in rest
    assert "circleMaps.decode(" in fast
    assert "\x00" not in fast


def test_popup_contents_get_numbered_ids_kept_apart_and_named_alike():
    """A popup's content (folium's ``Html``, outside the element tree) is numbered too."""

    def page() -> str:
        m = folium.Map(location=[60.17, 24.94], tiles=None)
        for k, text in enumerate(["first", "second"]):
            folium.Marker([60.17, 24.94 + k / 100], popup=folium.Popup(text)).add_to(m)
        return map_html(m, cdn=True)

    one = page()
    assert one == page()
    names = re.findall(r"var (html_[0-9a-f]{32}) = ", one)
    assert len(set(names)) == 2
    for name, text in zip(names, ["first", "second"], strict=True):
        assert f'id="{name}"' in one
        assert f".setContent({name});" in one
        assert re.search(rf'var {name} = .*?<div id="{name}"[^>]*>{text}</div>', one)
    assert all(i.startswith("0" * 13) for i in re.findall(r"[0-9a-f]{32}", one))
