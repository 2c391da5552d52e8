"""Service-area polygons, pinned on hand-made edges and checked on the Helsinki extract."""

from __future__ import annotations

import math
import threading

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
    ServiceAreaBuilder,
    _chains,
    _sub_lines,
    facility_service_areas,
    reachable_lines,
    service_area,
    service_areas,
    unreached,
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


_MILLIMETRES = st.floats(-500, 500).map(lambda v: round(v, 3))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        # Street coordinates in metres, to the millimetre (no subnormal numbers, which make
        # GEOS's Hausdorff distance divide by zero on degenerate segments).
        st.tuples(_MILLIMETRES, _MILLIMETRES),
        min_size=2,
        max_size=6,
        unique=True,
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


# ---------------------------------------------------------------------------------------
# Fast drawing (chains, complement, reuse) against the plain method: buffer every
# reachable line and union them all.


def plain_area(graph, reach, buffer_m=B):
    return shapely.union_all(shapely.buffer(reachable_lines(graph, reach), buffer_m))


def grid_network(side=6, spacing=100.0):
    coords = {i * side + j: (j * spacing, i * spacing) for i in range(side) for j in range(side)}
    edges = [(k, k + 1) for k in coords if k % side != side - 1]
    edges += [(k, k + side) for k in coords if k + side in coords]
    return make_network(coords, edges)


def clinic_and_daycare(metres):
    """The grid with a clinic near one corner and a daycare in the middle."""
    return model_for(
        grid_network(), ("a", "clinic", 30.0, 0.0), ("b", "daycare", 500.0, 500.0), metres=metres
    )


def assert_drawn_alike(areas, graph, reaches):
    """`areas` are those drawn one by one in one thread, and the plain union of buffers."""
    one_by_one = ServiceAreaBuilder(graph, threads=1).areas(reaches)
    assert len(areas) == len(reaches)
    for mine, theirs, reach in zip(areas, one_by_one, reaches, strict=True):
        assert mine.equals_exact(theirs, 0.0)
        plain = plain_area(graph, reach)
        assert shapely.symmetric_difference(mine, plain).area < 1e-9 * plain.area


def test_unreached_is_the_complement_of_the_reach():
    network = grid_network()
    model = model_for(network, ("a", "clinic", 30.0, 0.0), ("b", "clinic", 500.0, 340.0))
    reach = model.by_category["clinic"].edge_reach(250.0)
    rest = unreached(reach)
    length = model.graph.edge_length_m
    assert 0 < reach.total_m < length.sum()
    assert reach.per_edge_m() + rest.per_edge_m() == pytest.approx(length, abs=1e-6)
    # No overlap: on every edge the intervals of both, sorted, never cross.
    edge = np.r_[reach.edge, rest.edge]
    start, end = np.r_[reach.start_m, rest.start_m], np.r_[reach.end_m, rest.end_m]
    order = np.lexsort((start, edge))
    same = edge[order][1:] == edge[order][:-1]
    assert (start[order][1:][same] >= end[order][:-1][same] - 1e-9).all()


@pytest.mark.parametrize("share", [0.0, math.inf])
def test_grid_areas_equal_the_plain_method_by_either_route(monkeypatch, share):
    from circle import isochrones

    monkeypatch.setattr(isochrones, "_COMPLEMENT_SHARE", share)  # never / always complement
    network = grid_network()
    model = model_for(network, ("a", "clinic", 30.0, 0.0), metres=700.0)
    graph = model.graph
    builder = ServiceAreaBuilder(graph, buffer_m=30.0)  # 30 m: holes in the 100 m blocks
    for budget in (50.0, 260.0, 700.0, 1e4):
        reach = model.by_category["clinic"].edge_reach(min(budget, 700.0))
        mine, plain = builder.area(reach), plain_area(graph, reach, 30.0)
        assert mine.is_valid
        assert shapely.symmetric_difference(mine, plain).area < 1e-6 * plain.area
        assert shapely.get_num_geometries(mine) == shapely.get_num_geometries(plain)
        assert shapely.get_num_interior_rings(shapely.get_parts(mine)).sum() == (
            shapely.get_num_interior_rings(shapely.get_parts(plain)).sum()
        )


def line(*xy):
    return shapely.LineString(xy)


def test_chains_go_straight_through_crossings():
    # A plus sign of four arms (two drawn towards the centre) and a T: the arms pair
    # with their straight continuations; at the T two arms join and the third is alone.
    plus = [
        line((0, 0), (-10, 0)),
        line((10, 0), (0, 0)),
        line((0, 0), (0, 10)),
        line((0, -10), (0, 0)),
    ]
    tee = [line((100, 0), (90, 0)), line((100, 0), (110, 0)), line((100, 0), (100, 10))]
    chains = _chains(np.array([*plus, *tee], dtype=object))
    assert len(chains) == 4
    got = sorted(sorted(map(tuple, shapely.get_coordinates(c).tolist())) for c in chains)
    assert got[:2] == [[(-10, 0), (0, 0), (10, 0)], [(0, -10), (0, 0), (0, 10)]]
    assert sorted(map(len, got[2:])) == [2, 3]
    for chain in chains:  # each walked end to end, not folded back on itself
        xy = shapely.get_coordinates(chain)
        assert len(xy) == len(np.unique(xy, axis=0))
        assert chain.length == pytest.approx(10.0 * (len(xy) - 1))


def test_chains_close_cycles_and_keep_points():
    square = [
        line((0, 0), (10, 0)),
        line((10, 10), (10, 0)),
        line((10, 10), (0, 10)),
        line((0, 0), (0, 10)),
    ]
    spot = shapely.Point(50, 50)
    chains = _chains(np.array([*square, spot], dtype=object))
    assert len(chains) == 2
    ring, point = chains
    assert point.equals(spot)
    assert ring.is_closed
    assert shapely.get_num_coordinates(ring) == 5
    assert ring.length == pytest.approx(40.0)


def test_chains_buffer_like_the_lines_on_a_grid():
    network = grid_network(side=7, spacing=80.0)
    lines = CompactGraph(network).edge_geometry
    chains = _chains(np.asarray(lines, dtype=object))
    # Every vertex kept once, plus each joint shared by two lines counted once.
    joints = len(lines) - len(chains)
    assert shapely.get_num_coordinates(chains).sum() == (
        shapely.get_num_coordinates(lines).sum() - joints
    )
    # Inside the grid every crossing is passed straight through, by two chains.
    x0, y0 = shapely.get_coordinates(lines).min(axis=0)
    straight = 0
    for chain in chains:
        xy = shapely.get_coordinates(chain) - [x0, y0]
        inner = (xy[1:-1] > 0).all(axis=1) & (xy[1:-1] < 480).all(axis=1)
        middle = xy[1:-1][inner]
        assert np.allclose(xy[:-2][inner] + xy[2:][inner], 2 * middle)
        straight += int(inner.sum())
    assert straight == 2 * 5 * 5
    mine = shapely.union_all(shapely.buffer(chains, 30.0))
    plain = shapely.union_all(shapely.buffer(lines, 30.0))
    assert shapely.symmetric_difference(mine, plain).area < 1e-9 * plain.area


def test_tiles_give_the_area_of_one_piece(monkeypatch):
    from circle import isochrones

    network = grid_network(side=7, spacing=80.0)
    lines = np.asarray(CompactGraph(network).edge_geometry, dtype=object)
    whole = isochrones._dissolve(lines, 30.0)
    monkeypatch.setattr(isochrones, "_TILE_M", 150.0)  # 9 tiles on this 480 m grid
    monkeypatch.setattr(isochrones, "_TILED_MIN", 1)
    for threads in (1, 3):
        tiled = isochrones._dissolve(lines, 30.0, threads=threads)
        assert tiled.is_valid
        assert shapely.symmetric_difference(tiled, whole).area < 1e-9 * whole.area
        assert shapely.get_num_interior_rings(tiled) == shapely.get_num_interior_rings(whole) == 36


@pytest.mark.parametrize("edges_max", [0, 10**9])  # areas one by one / side by side
def test_areas_by_tiles_in_threads_are_the_same(monkeypatch, edges_max):
    from circle import isochrones

    monkeypatch.setattr(isochrones, "_TILE_M", 150.0)
    monkeypatch.setattr(isochrones, "_TILED_MIN", 1)
    monkeypatch.setattr(isochrones, "_AREAS_IN_THREADS_EDGES_MAX", edges_max)
    model = clinic_and_daycare(450.0)
    reaches = [model.by_category[c].edge_reach(450.0) for c in ("clinic", "daycare")]
    in_threads = ServiceAreaBuilder(model.graph, threads=3).areas(reaches)
    assert_drawn_alike(in_threads, model.graph, reaches)


def test_small_graph_areas_are_drawn_in_the_background(monkeypatch):
    """start_areas returns while the areas are still being drawn (the caller writes files
    meanwhile), and waiting gives the areas drawn one by one in this thread."""
    from circle import isochrones

    started, release = threading.Event(), threading.Event()
    original = isochrones._union_buffers

    def held(geometries, buffer_m):
        started.set()
        assert release.wait(10), "start_areas did not return before the drawing ended"
        return original(geometries, buffer_m)

    model = clinic_and_daycare(450.0)
    reaches = [model.by_category[c].edge_reach(450.0) for c in ("clinic", "daycare")]
    monkeypatch.setattr(isochrones, "_union_buffers", held)
    wait = ServiceAreaBuilder(model.graph, threads=2).start_areas(reaches)
    assert started.wait(10)  # a drawing thread is at work, held, and we are here
    release.set()
    got = wait()
    monkeypatch.setattr(isochrones, "_union_buffers", original)
    assert_drawn_alike(got, model.graph, reaches)


def test_one_core_is_left_to_the_caller_who_draws_the_rest_when_it_waits(monkeypatch):
    """On 2 threads one draws in the background; the caller, once it waits, draws the areas
    that thread has not begun (with 2 drawing threads this waits forever and fails)."""
    from circle import isochrones

    caller = threading.get_ident()
    background, by_caller = threading.Event(), []
    release = threading.Event()
    original = isochrones._union_buffers

    def watched(geometries, buffer_m):
        if threading.get_ident() == caller:
            by_caller.append(len(geometries))
            if len(by_caller) == 2:
                release.set()
        else:  # the background thread: held until the caller has drawn two areas
            assert not background.is_set(), "a second area was begun in the background"
            background.set()
            assert release.wait(10), "the caller did not draw the waiting areas"
        return original(geometries, buffer_m)

    model = clinic_and_daycare(450.0)
    reaches = [
        model.by_category["clinic"].edge_reach(450.0),
        model.by_category["daycare"].edge_reach(450.0),
        model.by_category["clinic"].edge_reach(250.0),
    ]
    monkeypatch.setattr(isochrones, "_union_buffers", watched)
    wait = ServiceAreaBuilder(model.graph, threads=2).start_areas(reaches)
    assert background.wait(10)
    got = wait()
    assert len(by_caller) == 2
    monkeypatch.setattr(isochrones, "_union_buffers", original)
    assert_drawn_alike(got, model.graph, reaches)


def test_the_caller_draws_its_areas_tiles_one_at_a_time_like_the_threads(monkeypatch):
    """With several areas each is drawn by one thread, tiles one at a time: the caller
    joining in too (a pool of tile threads there oversubscribed the cores)."""
    from circle import isochrones

    calls: list[tuple[bool, int]] = []
    caller = threading.get_ident()
    original = isochrones._dissolve

    def recorded(geometries, buffer_m, *, threads=1):
        calls.append((threading.get_ident() == caller, threads))
        return original(geometries, buffer_m, threads=threads)

    monkeypatch.setattr(isochrones, "_TILED_MIN", 2)  # every area drawn by tiles
    monkeypatch.setattr(isochrones, "_dissolve", recorded)
    model = clinic_and_daycare(250.0)
    reaches = [
        model.by_category["clinic"].edge_reach(250.0),
        model.by_category["daycare"].edge_reach(250.0),
        model.by_category["clinic"].edge_reach(150.0),
        model.by_category["daycare"].edge_reach(150.0),
    ]
    got = ServiceAreaBuilder(model.graph, threads=2).areas(reaches)
    assert len(calls) == 4
    assert {threads for _, threads in calls} == {1}
    monkeypatch.setattr(isochrones, "_dissolve", original)
    assert_drawn_alike(got, model.graph, reaches)


def test_builder_reuses_areas_and_checks_its_graph():
    network = grid_network()
    model = model_for(network, ("a", "clinic", 30.0, 0.0), ("b", "daycare", 500.0, 500.0))
    builder = ServiceAreaBuilder(model.graph)
    first = service_areas(model, crs=None, builder=builder)
    again = service_areas(model, crs=None, builder=builder)
    for one, two in zip(first.geometry, again.geometry, strict=True):
        assert one is two  # drawn once
    assert not first.geometry.iloc[0].equals(first.geometry.iloc[1])
    other = model_for(network, ("a", "clinic", 30.0, 0.0))
    with pytest.raises(InputError, match="another graph"):
        service_area(other, "clinic", builder=builder)
    with pytest.raises(InputError, match="`buffer_m`"):
        service_area(model, "clinic", buffer_m=10.0, builder=builder)


def check_real_areas(network, facilities, monkeypatch):
    """Fast areas within 0.5 % of the plain method's (and, in fact, far closer)."""
    from circle import isochrones

    graph = CompactGraph(network)
    model = compute_access(graph, facilities, profile=WalkingProfile("adult", 4.5))
    drawn = 0
    # Chains alone, by 1 km tiles; complement wherever anything is unreached, in one piece.
    for share, tiled_min in ((0.0, 1), (math.inf, 10**9)):
        monkeypatch.setattr(isochrones, "_COMPLEMENT_SHARE", share)
        monkeypatch.setattr(isochrones, "_TILED_MIN", tiled_min)
        monkeypatch.setattr(isochrones, "_TILE_M", 1000.0)
        builder = ServiceAreaBuilder(graph)
        for category in model.categories:
            access = model.by_category[category]
            if len(access.sources) == 0:
                continue
            reach = access.edge_reach(model.budget_m(category))
            mine, plain = builder.area(reach), plain_area(graph, reach)
            assert mine.is_valid
            assert mine.area == pytest.approx(plain.area, rel=0.005)
            assert shapely.symmetric_difference(mine, plain).area < 0.005 * plain.area
            assert shapely.get_num_geometries(mine) == shapely.get_num_geometries(plain)
            drawn += 1
    assert drawn >= 2


def test_helsinki_fast_areas_equal_the_plain_method(helsinki_network, monkeypatch):
    from circle.datasets import demo_facilities

    check_real_areas(helsinki_network, demo_facilities(), monkeypatch)


def test_andorra_fast_areas_equal_the_plain_method(andorra_pbf, monkeypatch):
    import geopandas as gpd

    from circle.network import load_network

    network = load_network(andorra_pbf, use_cache=False)
    rng = np.random.default_rng(7)
    chosen = rng.choice(len(network.nodes), size=300, replace=False)
    facilities = gpd.GeoDataFrame(
        {
            "id": [f"f{i}" for i in range(300)],
            "name": "",
            "category": ["clinic", "daycare"] * 150,  # 150 each: most of the network reached
            "capacity": np.nan,
        },
        geometry=network.nodes.geometry.iloc[chosen].to_numpy(),
        crs=network.crs,
    )
    check_real_areas(network, facilities, monkeypatch)


@pytest.mark.parametrize("share", [0.0, math.inf])
def test_parallel_street_out_of_reach_does_not_cut_the_area(monkeypatch, share):
    from circle import isochrones

    monkeypatch.setattr(isochrones, "_COMPLEMENT_SHARE", share)
    # Street A (y = 0) and street B (y = 45) run side by side, 100 m edges, joined only by a
    # 1.2 km detour from their east ends: from A's west end, 1 km reaches all of A, none of
    # B. With 30 m buffers the two strips overlap between them (45 < 2 x 30): the area is
    # A's whole stadium, which the complement must give back where B's buffer cut into it.
    coords = {i: (100.0 * i, 0.0) for i in range(11)}
    coords.update({20 + i: (100.0 * i, 45.0) for i in range(11)})
    coords[40] = (1000.0, 600.0)
    edges = [(i, i + 1) for i in range(10)] + [(20 + i, 21 + i) for i in range(10)]
    edges += [(10, 40), (40, 30)]
    model = model_for(make_network(coords, edges), ("a", "clinic", 0.0, 0.0), metres=1000.0)
    reach = model.by_category["clinic"].edge_reach(1000.0)
    area = ServiceAreaBuilder(model.graph, buffer_m=30.0).area(reach)
    assert area.area == pytest.approx(1000 * 60 + CAPS_AREA * (30 / B) ** 2, rel=1e-6)
    assert area.covers(shapely.Point(X0 + 500, Y0 + 29))
    assert not area.covers(shapely.Point(X0 + 500, Y0 + 31))


def test_areas_drawn_in_threads_are_the_same():
    model = clinic_and_daycare(450.0)
    reaches = [model.by_category[c].edge_reach(450.0) for c in ("clinic", "daycare")]
    side_by_side = ServiceAreaBuilder(model.graph, threads=2).areas(reaches)
    assert_drawn_alike(side_by_side, model.graph, reaches)
    for mine, reach in zip(side_by_side, reaches, strict=True):
        assert mine.equals_exact(ServiceAreaBuilder(model.graph).area(reach), 0.0)
    with pytest.raises(InputError, match="`threads`"):
        ServiceAreaBuilder(model.graph, threads=0)
