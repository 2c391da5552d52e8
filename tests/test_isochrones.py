"""Service-area polygons, pinned on hand-made edges and checked on the Helsinki extract."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.ops import substring

from circle.access import CompactGraph, EdgeReach
from circle.coverage import compute_access
from circle.errors import InputError
from circle.isochrones import (
    SERVICE_AREA_BUFFER_M,
    _sub_lines,
    facility_service_areas,
    reachable_lines,
    service_area,
    service_areas,
)
from circle.walking import Threshold, WalkingProfile
from tests.conftest import METRIC_CRS, X0, Y0, facilities_at, make_network

# 6 km/h = 100 m per minute keeps the hand arithmetic in round numbers.
HUNDRED_M_PER_MIN = WalkingProfile("test", 6.0)
B = SERVICE_AREA_BUFFER_M
# GEOS draws a round cap or join with 8 segments per quarter circle: the two end caps of a
# straight line together make a regular 32-gon inscribed in the circle of radius B. Reach
# ends carry the engine's 1e-6 m budget tolerance, hence rel=1e-8 on exact areas.
CAPS_AREA = 0.5 * 32 * B**2 * math.sin(2 * math.pi / 32)


def straight_edge(length_m: float | None = None):
    """0 -- 1 along x, 1 km; `length_m` overrides the way's metric length."""
    edge = (0, 1) if length_m is None else (0, 1, length_m)
    return make_network({0: (0.0, 0.0), 1: (1000.0, 0.0)}, [edge])


def model_for(network, *facilities, metres=600.0, categories=None):
    return compute_access(
        CompactGraph(network),
        facilities_at(*facilities),
        profile=HUNDRED_M_PER_MIN,
        thresholds={"clinic": Threshold(metres=metres), "daycare": Threshold(metres=metres)},
        categories=categories or ["clinic", "daycare"],
    )


def relative(geometry):
    """The geometry moved back to the hand-made networks' relative metres."""
    return shapely.transform(geometry, lambda xy: xy - [X0, Y0])


def test_facility_at_an_end_covers_the_budget_along_the_edge():
    model = model_for(straight_edge(), ("a", "clinic", 0.0, 0.0), metres=600.0)
    lines = reachable_lines(model.graph, model.by_category["clinic"].edge_reach(600.0))
    assert len(lines) == 1
    assert relative(lines[0]).equals_exact(shapely.LineString([(0, 0), (600, 0)]), 1e-5)
    area = service_area(model, "clinic")
    # A 600 m stadium: 600 x 2B rectangle plus two half discs (the inscribed 32-gon).
    assert area.area == pytest.approx(600 * 2 * B + CAPS_AREA, rel=1e-8)
    assert area.area == pytest.approx(600 * 2 * B + math.pi * B**2, rel=1e-3)
    minx, miny, maxx, maxy = relative(area).bounds
    assert (minx, miny, maxy) == pytest.approx((-B, -B, B))
    assert maxx == pytest.approx(600 + B, abs=1e-5)  # stops at x = 650, not at 1050
    assert area.covers(shapely.Point(X0 + 640, Y0))
    assert not area.covers(shapely.Point(X0 + 660, Y0))


def test_facility_in_the_middle_reaches_both_ways():
    # 20 m access leg: 280 m left each way along the edge, [220, 780].
    model = model_for(straight_edge(), ("a", "clinic", 500.0, 20.0), metres=300.0)
    lines = reachable_lines(model.graph, model.by_category["clinic"].edge_reach(300.0))
    assert relative(lines[0]).equals_exact(shapely.LineString([(220, 0), (780, 0)]), 1e-5)
    area = service_area(model, "clinic")
    assert area.area == pytest.approx(560 * 2 * B + CAPS_AREA, rel=1e-8)
    assert relative(area).bounds == pytest.approx((220 - B, -B, 780 + B, B), abs=1e-5)


def test_partly_reachable_edge_from_both_ends_keeps_the_gap():
    # A(0) -- B(100) ---- 1 km ---- C(1100) -- D(1200); facilities at A and D, 400 m:
    # 300 m into BC from each end, its middle [400, 800] (relative x) is out of reach.
    network = make_network(
        {0: (0.0, 0.0), 1: (100.0, 0.0), 2: (1100.0, 0.0), 3: (1200.0, 0.0)},
        [(0, 1), (1, 2), (2, 3)],
    )
    model = model_for(network, ("a", "clinic", 0.0, 0.0), ("d", "clinic", 1200.0, 0.0), metres=400)
    reach = model.by_category["clinic"].edge_reach(400.0)
    middle = reach.edge == 1
    assert reach.start_m[middle].tolist() == pytest.approx([0.0, 700.0])
    assert reach.end_m[middle].tolist() == pytest.approx([300.0, 1000.0])
    area = service_area(model, "clinic")
    assert isinstance(area, shapely.MultiPolygon)
    assert len(area.geoms) == 2
    assert area.area == pytest.approx(2 * (400 * 2 * B + CAPS_AREA), rel=1e-8)
    assert area.covers(shapely.Point(X0 + 400 + B - 1, Y0))
    assert not area.covers(shapely.Point(X0 + 600, Y0))
    assert area.covers(shapely.Point(X0 + 800 - B + 1, Y0))


def test_edge_reached_from_both_ends_overlapping_is_whole():
    network = make_network({0: (0.0, 0.0), 1: (1000.0, 0.0)}, [(0, 1)])
    model = model_for(network, ("a", "clinic", 0.0, 0.0), ("b", "clinic", 1000.0, 0.0), metres=600)
    lines = reachable_lines(model.graph, model.by_category["clinic"].edge_reach(600.0))
    assert len(lines) == 1
    assert lines[0] is model.graph.edge_geometry[0]  # the whole edge, not a cut copy
    assert service_area(model, "clinic").area == pytest.approx(1000 * 2 * B + CAPS_AREA)


def test_cut_uses_fractions_of_the_way_length():
    # The way is 2 km long (length_m) but drawn 1 km long: 600 m is 30 % of it, 300 m drawn.
    model = model_for(straight_edge(length_m=2000.0), ("a", "clinic", 0.0, 0.0), metres=600.0)
    lines = reachable_lines(model.graph, model.by_category["clinic"].edge_reach(600.0))
    assert relative(lines[0]).equals_exact(shapely.LineString([(0, 0), (300, 0)]), 1e-5)


def test_spot_reached_with_exactly_the_budget_is_a_point():
    # The facility's 100 m access leg uses the whole 100 m budget: only its joining spot.
    model = model_for(straight_edge(), ("a", "clinic", 500.0, 100.0), metres=100.0)
    lines = reachable_lines(model.graph, model.by_category["clinic"].edge_reach(100.0))
    assert len(lines) == 1
    assert isinstance(lines[0], shapely.Point)
    assert relative(lines[0]).equals_exact(shapely.Point(500, 0), 1e-5)
    assert service_area(model, "clinic").area == pytest.approx(CAPS_AREA, rel=1e-8)


def test_nothing_reached_gives_no_lines():
    graph = CompactGraph(straight_edge())
    empty = EdgeReach.from_intervals(
        np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), graph.edge_length_m
    )
    assert len(reachable_lines(graph, empty)) == 0


def test_category_without_facility_is_empty():
    model = model_for(straight_edge(), ("a", "clinic", 0.0, 0.0))
    area = service_area(model, "daycare")
    assert isinstance(area, shapely.Polygon)
    assert area.is_empty
    assert facility_service_areas(model, "daycare").empty


def test_service_areas_table():
    model = model_for(straight_edge(), ("a", "clinic", 0.0, 0.0), metres=600.0)
    table = service_areas(model)
    assert list(table.columns) == ["category", "threshold_min", "speed_kmh", "area_km2", "geometry"]
    assert table["category"].tolist() == model.categories == ["clinic", "daycare"]
    assert table.crs == "EPSG:4326"
    clinic = table.set_index("category").loc["clinic"]
    assert clinic["threshold_min"] == 6.0
    assert clinic["speed_kmh"] == 6.0
    # Measured in the metric CRS before reprojecting.
    assert clinic["area_km2"] == pytest.approx((600 * 2 * B + CAPS_AREA) / 1e6, rel=1e-8)
    assert table.set_index("category").loc["daycare", "area_km2"] == 0.0
    metric = service_areas(model, crs=None, categories=["clinic"], buffer_m=10.0)
    assert metric.crs == METRIC_CRS
    assert metric["category"].tolist() == ["clinic"]
    assert metric.geometry.iloc[0].area == pytest.approx(600 * 2 * 10 + CAPS_AREA / 25)


def test_invalid_arguments():
    model = model_for(straight_edge(), ("a", "clinic", 0.0, 0.0))
    with pytest.raises(InputError, match="`canteen`"):
        service_area(model, "canteen")
    with pytest.raises(InputError, match="`school`"):
        service_areas(model, categories=["clinic", "school"])
    for bad in (0.0, -5.0, math.nan, math.inf):
        with pytest.raises(InputError, match="`buffer_m`"):
            service_area(model, "clinic", buffer_m=bad)


def test_facility_service_areas_one_row_per_facility():
    # Two facilities 1 km apart, 300 m each: two separate stadiums.
    network = make_network({0: (0.0, 0.0), 1: (1000.0, 0.0)}, [(0, 1)])
    model = model_for(
        network,
        ("a", "clinic", 0.0, 0.0),
        ("far", "clinic", 0.0, 900.0),  # off-network (more than 300 m away): no row
        ("b", "clinic", 1000.0, 0.0),
        metres=300.0,
    )
    table = facility_service_areas(model, "clinic", crs=None)
    assert list(table.columns) == ["id", "name", "category", "area_km2", "geometry"]
    assert table["id"].tolist() == ["a", "b"]
    assert table.crs == METRIC_CRS
    assert relative(table.geometry.iloc[0]).bounds == pytest.approx((-B, -B, 300 + B, B))
    assert relative(table.geometry.iloc[1]).bounds == pytest.approx((700 - B, -B, 1000 + B, B))
    assert table["area_km2"].tolist() == pytest.approx([(300 * 2 * B + CAPS_AREA) / 1e6] * 2)
    assert facility_service_areas(model, "clinic").crs == "EPSG:4326"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-500, 500), st.floats(-500, 500)), min_size=2, max_size=6, unique=True
    ),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
)
def test_sub_lines_match_shapely_substring(xy, a, b):
    line = shapely.LineString(xy)
    if line.length < 1.0 or abs(a - b) * line.length < 1e-3:
        return
    start, end = sorted((a * line.length, b * line.length))
    got = _sub_lines(np.array([line, line], dtype=object), np.r_[start, 0.0], np.r_[end, end])
    # Same line up to a micrometre (vertices closer than that to an end may be merged).
    for mine, expected in (
        (got[0], substring(line, start, end)),
        (got[1], substring(line, 0.0, end)),
    ):
        assert shapely.hausdorff_distance(mine, expected) < 1e-6
        assert mine.length == pytest.approx(expected.length, abs=1e-6)
        assert mine.coords[0] == pytest.approx(expected.coords[0], abs=1e-6)
        assert mine.coords[-1] == pytest.approx(expected.coords[-1], abs=1e-6)


def test_helsinki_nodes_within_budget_are_inside(helsinki_network):
    from circle.datasets import demo_facilities

    graph = CompactGraph(helsinki_network)
    model = compute_access(graph, demo_facilities())
    table = service_areas(model, crs=None).set_index("category")
    nodes = helsinki_network.nodes.geometry.to_numpy()
    checked = 0
    for category in model.categories:
        access = model.by_category[category]
        budget = model.budget_m(category)
        area = table.loc[category, "geometry"]
        if len(access.sources) == 0:
            assert area.is_empty
            continue
        inside = shapely.covers(area, nodes)
        within = access.distance_m <= budget
        assert inside[within].all()
        checked += int(within.sum())
        # The converse in network distance does not hold: the buffer reaches across blocks,
        # so nodes much farther than budget + buffer by way lie inside (~330 for clinics).
        # What holds: everything inside is within the buffer, in a straight line, of an
        # edge that touches a node within budget or holds a facility.
        touched = within[graph.edge_u] | within[graph.edge_v]
        touched[access.sources.edge] = True
        near = shapely.multilinestrings(graph.edge_geometry[touched])
        assert (shapely.distance(nodes[inside], near) <= B + 1.0).all()
    assert checked > 1000


def test_helsinki_facility_areas_make_up_the_category_area(helsinki_network):
    from circle.datasets import demo_facilities

    model = compute_access(CompactGraph(helsinki_network), demo_facilities())
    per_facility = facility_service_areas(model, "clinic", crs=None)
    assert len(per_facility) == len(model.source_rows("clinic")) > 1
    together = shapely.union_all(per_facility.geometry.to_numpy())
    area = service_area(model, "clinic")
    # Reach of the nearest facility = union of each facility's own reach.
    assert shapely.symmetric_difference(together, area).area < 1e-6 * area.area
