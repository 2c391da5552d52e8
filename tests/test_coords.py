"""Tests for circle.coords: WGS-84 / GCJ-02 / BD-09 conversion."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from circle import coords
from circle.coords import (
    COORD_SYSTEMS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_coords,
    convert_geometries,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from circle.errors import InputError

GEOD = Geod(ellps="WGS84")

# Published reference pairs, (lon, lat) -> (lon, lat), all from the same forward formulas.
# googollee/eviltransform test suites (go/transform_test.go, python/test.py, javascript/test.js,
# csharp/EvilTransformUnitTest.cs, matlab/test/testSuite.m; stored there as lat, lng):
EVILTRANSFORM_WGS84_GCJ02 = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing
]
# wandergis/coordtransform example (116.404, 39.915), reproduced in the tests of
# athxx/coordtransform-rs and dromara/hutool (CoordinateUtilTest):
WANDERGIS_POINT = (116.404, 39.915)
WANDERGIS_WGS84_TO_GCJ02 = (116.41024449916938, 39.91640428150164)
WANDERGIS_GCJ02_TO_BD09 = (116.41036949371029, 39.92133699351021)
WANDERGIS_BD09_TO_GCJ02 = (116.39762729119315, 39.90865673957631)
WANDERGIS_WGS84_TO_BD09 = (116.41662724378733, 39.922699552216216)
# wandergis inverts GCJ-02 in one approximate step, so these are only good to about a metre:
WANDERGIS_GCJ02_TO_WGS84_APPROX = (116.39775550083061, 39.91359571849836)
WANDERGIS_BD09_TO_WGS84_APPROX = (116.3913836995125, 39.907253214522164)
# dromara/hutool CoordinateUtilTest.wgs84toBd09Test2 (checked there against tool.lu/coordinate):
HUTOOL_WGS84_BD09 = ((122.99395597, 44.99804071), (123.00636516028885, 45.0063690918959))
# eviltransform matlab/test/testSuite.m, BD-09 <-> GCJ-02 in Beijing, given to 5 decimals:
EVILTRANSFORM_BD09_GCJ02 = ((116.43351, 39.90851), (116.42703, 39.90245))

OUTSIDE_CHINA = {
    "Helsinki": (24.9384, 60.1699),
    "London": (-0.1276, 51.5072),
    "New York": (-74.0060, 40.7128),
    "Denver": (-104.9903, 39.7392),  # eviltransform edge cases
    "Brisbane": (153.0251, -27.4698),
    "Rio de Janeiro": (-43.1729, -22.9068),
}

# The GCJ-02 offset is at most ~0.011 degrees anywhere in the China box, so points at least this
# far inside it stay inside after conversion and round-trip exactly.
BOX_MARGIN_DEG = 0.02
MAX_ROUND_TRIP_M = 0.5


def _metres(lon_a, lat_a, lon_b, lat_b) -> np.ndarray:
    lon_a, lat_a, lon_b, lat_b = np.broadcast_arrays(lon_a, lat_a, lon_b, lat_b)
    return np.asarray(GEOD.inv(lon_a, lat_a, lon_b, lat_b)[2])


@pytest.fixture(scope="module")
def china_grid() -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.arange(75.0, 135.01, 2.5), np.arange(18.0, 53.01, 2.5))
    lon, lat = lon.ravel(), lat.ravel()
    inside = (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)
    return lon[inside], lat[inside]


# --- names -----------------------------------------------------------------------------------


def test_coord_systems() -> None:
    assert COORD_SYSTEMS == ("wgs84", "gcj02", "bd09")


@pytest.mark.parametrize(("given_name", "canonical"), [("WGS84", "wgs84"), (" Gcj02 ", "gcj02")])
def test_check_coords_is_case_insensitive(given_name: str, canonical: str) -> None:
    assert check_coords(given_name) == canonical


def test_check_coords_lists_valid_names() -> None:
    with pytest.raises(InputError, match="not a known coordinate system") as info:
        check_coords("wgs-84")
    for name in COORD_SYSTEMS:
        assert f"`{name}`" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_dispatchers_reject_unknown_name() -> None:
    with pytest.raises(InputError, match="`gcj02`"):
        to_wgs84(116.4, 39.9, coords="mars")
    with pytest.raises(InputError, match="`bd09`"):
        from_wgs84(116.4, 39.9, coords="baidu")


# --- reference pairs -------------------------------------------------------------------------


def test_wgs84_to_gcj02_matches_eviltransform() -> None:
    for (lon, lat), (want_lon, want_lat) in EVILTRANSFORM_WGS84_GCJ02:
        got_lon, got_lat = wgs84_to_gcj02(lon, lat)
        assert got_lon == pytest.approx(want_lon, abs=1e-9)
        assert got_lat == pytest.approx(want_lat, abs=1e-9)


def test_wgs84_to_gcj02_matches_eviltransform_vectorised() -> None:
    wgs = np.array([pair[0] for pair in EVILTRANSFORM_WGS84_GCJ02])
    gcj = np.array([pair[1] for pair in EVILTRANSFORM_WGS84_GCJ02])
    got_lon, got_lat = wgs84_to_gcj02(wgs[:, 0], wgs[:, 1])
    np.testing.assert_allclose(got_lon, gcj[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(got_lat, gcj[:, 1], rtol=0, atol=1e-9)


def test_gcj02_to_wgs84_inverts_eviltransform_pairs() -> None:
    wgs = np.array([pair[0] for pair in EVILTRANSFORM_WGS84_GCJ02])
    gcj = np.array([pair[1] for pair in EVILTRANSFORM_WGS84_GCJ02])
    got_lon, got_lat = gcj02_to_wgs84(gcj[:, 0], gcj[:, 1])
    assert _metres(got_lon, got_lat, wgs[:, 0], wgs[:, 1]).max() < 0.01


def test_matches_wandergis_coordtransform() -> None:
    lon, lat = WANDERGIS_POINT
    for func, want in [
        (wgs84_to_gcj02, WANDERGIS_WGS84_TO_GCJ02),
        (gcj02_to_bd09, WANDERGIS_GCJ02_TO_BD09),
        (bd09_to_gcj02, WANDERGIS_BD09_TO_GCJ02),
        (wgs84_to_bd09, WANDERGIS_WGS84_TO_BD09),
    ]:
        assert func(lon, lat) == pytest.approx(want, abs=1e-9), func.__name__


def test_inverse_agrees_with_wandergis_one_step_approximation() -> None:
    lon, lat = WANDERGIS_POINT
    for func, want in [
        (gcj02_to_wgs84, WANDERGIS_GCJ02_TO_WGS84_APPROX),
        (bd09_to_wgs84, WANDERGIS_BD09_TO_WGS84_APPROX),
    ]:
        got = func(lon, lat)
        assert _metres(*got, *want) < 1.0, func.__name__


def test_wgs84_to_bd09_matches_hutool() -> None:
    (lon, lat), want = HUTOOL_WGS84_BD09
    assert wgs84_to_bd09(lon, lat) == pytest.approx(want, abs=1e-9)


def test_bd09_gcj02_matches_eviltransform_to_five_decimals() -> None:
    bd, gcj = EVILTRANSFORM_BD09_GCJ02
    assert bd09_to_gcj02(*bd) == pytest.approx(gcj, abs=1e-5)
    assert gcj02_to_bd09(*gcj) == pytest.approx(bd, abs=1e-5)


# --- round trips -----------------------------------------------------------------------------


def test_gcj02_round_trip_over_china(china_grid: tuple[np.ndarray, np.ndarray]) -> None:
    lon, lat = china_grid
    assert lon.size > 300
    back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert _metres(lon, lat, back_lon, back_lat).max() < MAX_ROUND_TRIP_M
    # The other way: a GCJ-02 point's WGS-84 image maps back onto it.
    fwd_lon, fwd_lat = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert _metres(lon, lat, fwd_lon, fwd_lat).max() < MAX_ROUND_TRIP_M


def test_gcj02_inverse_converges_to_tolerance(china_grid: tuple[np.ndarray, np.ndarray]) -> None:
    lon, lat = china_grid
    fwd_lon, fwd_lat = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    tolerance = 10 * coords.GCJ02_INVERSE_TOLERANCE_DEG
    assert np.abs(fwd_lon - lon).max() < tolerance
    assert np.abs(fwd_lat - lat).max() < tolerance


def test_bd09_round_trips_over_china(china_grid: tuple[np.ndarray, np.ndarray]) -> None:
    lon, lat = china_grid
    for forward, inverse in [
        (gcj02_to_bd09, bd09_to_gcj02),
        (bd09_to_gcj02, gcj02_to_bd09),
        (wgs84_to_bd09, bd09_to_wgs84),
        (bd09_to_wgs84, wgs84_to_bd09),
    ]:
        back_lon, back_lat = inverse(*forward(lon, lat))
        error_m = _metres(lon, lat, back_lon, back_lat).max()
        assert error_m < MAX_ROUND_TRIP_M, (forward.__name__, error_m)


def test_offsets_are_hundreds_of_metres_in_china(china_grid: tuple[np.ndarray, np.ndarray]) -> None:
    lon, lat = china_grid
    assert _metres(lon, lat, *wgs84_to_gcj02(lon, lat)).min() > 10.0
    assert _metres(lon, lat, *wgs84_to_bd09(lon, lat)).min() > 100.0


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(72.004 + BOX_MARGIN_DEG, 137.8347 - BOX_MARGIN_DEG),
    lat=st.floats(0.8293 + BOX_MARGIN_DEG, 55.8271 - BOX_MARGIN_DEG),
)
def test_round_trips_inside_box_property(lon: float, lat: float) -> None:
    for forward, inverse in [
        (wgs84_to_gcj02, gcj02_to_wgs84),
        (gcj02_to_wgs84, wgs84_to_gcj02),
        (wgs84_to_bd09, bd09_to_wgs84),
    ]:
        back = inverse(*forward(lon, lat))
        assert _metres(lon, lat, *back) < MAX_ROUND_TRIP_M


@pytest.mark.parametrize("city", sorted(OUTSIDE_CHINA))
def test_gcj02_is_wgs84_outside_china(city: str) -> None:
    lon, lat = OUTSIDE_CHINA[city]
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_mixed_inside_and_outside_and_nan() -> None:
    lon = np.array([24.9384, 121.5272106, np.nan])
    lat = np.array([60.1699, 31.1774276, 30.0])
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    assert (gcj_lon[0], gcj_lat[0]) == (24.9384, 60.1699)
    assert gcj_lon[1] == pytest.approx(121.531541859215, abs=1e-9)
    assert np.isnan(gcj_lon[2])
    back_lon, back_lat = gcj02_to_wgs84(gcj_lon, gcj_lat)
    np.testing.assert_allclose(back_lon[:2], lon[:2], rtol=0, atol=1e-8)
    np.testing.assert_allclose(back_lat[:2], lat[:2], rtol=0, atol=1e-8)
    assert np.isnan(back_lon[2])


# --- shapes and dispatch ---------------------------------------------------------------------

ALL_CONVERTERS = [
    wgs84_to_gcj02,
    gcj02_to_wgs84,
    gcj02_to_bd09,
    bd09_to_gcj02,
    wgs84_to_bd09,
    bd09_to_wgs84,
]


@pytest.mark.parametrize("func", ALL_CONVERTERS)
def test_scalars_give_floats(func) -> None:
    for lon, lat in [(121.5, 31.2), (121, 31), (np.float64(121.5), np.float64(31.2))]:
        out = func(lon, lat)
        assert isinstance(out, tuple)
        assert len(out) == 2
        assert all(type(value) is float for value in out)


@pytest.mark.parametrize("func", ALL_CONVERTERS)
def test_arrays_keep_shape(func) -> None:
    lon = np.array([[121.5, 116.4, 24.9], [113.9, 104.1, -0.1]])
    lat = np.array([[31.2, 39.9, 60.2], [22.5, 30.7, 51.5]])
    out_lon, out_lat = func(lon, lat)
    assert isinstance(out_lon, np.ndarray)
    assert out_lon.shape == lon.shape
    assert out_lat.shape == lat.shape
    assert out_lon.dtype == np.float64
    flat_lon, flat_lat = func(lon.ravel(), lat.ravel())
    np.testing.assert_array_equal(out_lon.ravel(), flat_lon)
    np.testing.assert_array_equal(out_lat.ravel(), flat_lat)
    # Lists work too; the inputs are not modified.
    list_lon, _ = func([121.5, 116.4], [31.2, 39.9])
    assert isinstance(list_lon, np.ndarray)
    assert lon[0, 0] == 121.5


def test_empty_arrays() -> None:
    for func in ALL_CONVERTERS:
        out_lon, out_lat = func(np.array([]), np.array([]))
        assert out_lon.shape == (0,)
        assert out_lat.shape == (0,)


def test_mismatched_shapes_are_input_errors() -> None:
    with pytest.raises(InputError, match="same shape"):
        wgs84_to_gcj02([121.0, 122.0, 123.0], [31.0, 32.0])
    with pytest.raises(InputError, match="numbers"):
        wgs84_to_gcj02("east", 31.0)


def test_dispatchers_match_direct_functions() -> None:
    lon = np.array([121.5272106, 116.377817])
    lat = np.array([31.1774276, 39.911954])
    for name, forward, inverse in [
        ("gcj02", wgs84_to_gcj02, gcj02_to_wgs84),
        ("BD09", wgs84_to_bd09, bd09_to_wgs84),
    ]:
        np.testing.assert_array_equal(from_wgs84(lon, lat, coords=name), forward(lon, lat))
        np.testing.assert_array_equal(to_wgs84(lon, lat, coords=name), inverse(lon, lat))
    same_lon, _ = to_wgs84(lon, lat, coords="wgs84")
    np.testing.assert_array_equal(same_lon, lon)
    assert same_lon is not lon
    scalar_lon, _ = from_wgs84(121.5, 31.2, coords="gcj02")
    assert isinstance(scalar_lon, np.ndarray)
    assert scalar_lon.shape == ()


# --- geometries ------------------------------------------------------------------------------


@pytest.fixture
def shapes() -> gpd.GeoDataFrame:
    polygon = shapely.Polygon(
        [(121.47, 31.23), (121.49, 31.23), (121.49, 31.25), (121.47, 31.25)],
        holes=[[(121.475, 31.235), (121.48, 31.235), (121.48, 31.24)]],
    )
    line = shapely.LineString([(116.39, 39.90), (116.40, 39.91), (116.41, 39.905)])
    return gpd.GeoDataFrame(
        {"name": ["block", "street", "point", "none"]},
        geometry=[polygon, line, shapely.Point(113.9, 22.5, 7.0), None],
        crs="EPSG:4326",
    )


def _expected(geometry: shapely.Geometry, func) -> shapely.Geometry:
    def each_vertex(xy: np.ndarray) -> np.ndarray:
        out = xy.copy()
        for i, (lon, lat) in enumerate(xy[:, :2]):
            out[i, 0], out[i, 1] = func(float(lon), float(lat))
        return out

    return shapely.transform(geometry, each_vertex, include_z=True)


def test_convert_geometries_converts_every_vertex(shapes: gpd.GeoDataFrame) -> None:
    before = shapes.copy()
    out = convert_geometries(shapes, source="WGS84", target="gcj02")
    assert isinstance(out, gpd.GeoDataFrame)
    assert out is not shapes
    assert out.crs == shapes.crs
    assert list(out["name"]) == list(shapes["name"])
    for got, original in zip(out.geometry[:3], shapes.geometry[:3], strict=True):
        assert got.geom_type == original.geom_type
        assert shapely.get_num_coordinates(got) == shapely.get_num_coordinates(original)
        assert shapely.equals_exact(got, _expected(original, wgs84_to_gcj02), tolerance=1e-12)
        assert shapely.hausdorff_distance(got, original) > 1e-3  # every part moved
    assert out.geometry[2].has_z
    assert out.geometry[2].z == 7.0
    assert out.geometry[3] is None
    # The input is untouched.
    assert shapes.geometry.geom_equals_exact(before.geometry, tolerance=0).iloc[:3].all()


def test_convert_geometries_on_geoseries_round_trips(shapes: gpd.GeoDataFrame) -> None:
    series = shapes.geometry.iloc[:3]
    bd = convert_geometries(series, source="wgs84", target="bd09")
    assert isinstance(bd, gpd.GeoSeries)
    assert bd.index.equals(series.index)
    assert shapely.equals_exact(bd.iloc[1], _expected(series.iloc[1], wgs84_to_bd09), 1e-12)
    back = convert_geometries(bd, source="bd09", target="wgs84")
    # The standard BD-09 -> GCJ-02 closed form is good to ~0.2 m, i.e. ~2e-6 degrees.
    assert back.geom_equals_exact(series, tolerance=5e-6).all()


def test_convert_geometries_multi_parts_without_crs() -> None:
    multi = shapely.MultiPolygon(
        [shapely.box(121.0, 31.0, 121.01, 31.01), shapely.box(121.02, 31.0, 121.03, 31.01)]
    )
    series = gpd.GeoSeries([multi])
    out = convert_geometries(series, source="gcj02", target="wgs84")
    assert out.crs is None
    assert shapely.equals_exact(out.iloc[0], _expected(multi, gcj02_to_wgs84), tolerance=1e-12)


def test_convert_geometries_rejects_projected_crs(shapes: gpd.GeoDataFrame) -> None:
    projected = shapes.to_crs("EPSG:32651")
    with pytest.raises(InputError, match=r"EPSG:32651.*to_crs\('EPSG:4326'\)"):
        convert_geometries(projected, source="wgs84", target="gcj02")


def test_convert_geometries_rejects_unknown_name(shapes: gpd.GeoDataFrame) -> None:
    with pytest.raises(InputError, match="not a known coordinate system"):
        convert_geometries(shapes, source="wgs84", target="google")
