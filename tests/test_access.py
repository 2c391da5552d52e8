"""The travel-time engine, pinned on hand-made graphs and checked against networkx."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from circle.access import (
    BUDGET_TOLERANCE_M,
    CompactGraph,
    EdgeReach,
    nearest_facilities,
    pair_distances,
)
from circle.errors import InputError
from circle.walking import ADULT, ELDERLY, WalkingProfile, walking_profile
from tests.conftest import make_network, points

# 6 km/h = 100 m per minute keeps the hand arithmetic in round numbers.
HUNDRED_M_PER_MIN = WalkingProfile("test", 6.0)


def path_network():
    """0 -- 1 -- 2 -- 3 -- 4 along x, 100 m apart."""
    coords = {i: (100.0 * i, 0.0) for i in range(5)}
    return make_network(coords, [(i, i + 1) for i in range(4)])


def run(network, facility_xy, *, limit_m=math.inf, max_snap_m=300.0):
    graph = CompactGraph(network)
    snap = graph.snap(points(*facility_xy), max_snap_m=max_snap_m)
    on = snap.subset(snap.on_network)
    return graph, nearest_facilities(graph, on, limit_m=limit_m)


def node_distances(graph, access):
    return dict(zip(graph.node_ids.tolist(), access.distance_m.tolist(), strict=True))


def test_path_from_an_end_node():
    graph, access = run(path_network(), [(0.0, 0.0)])
    assert node_distances(graph, access) == {0: 0.0, 1: 100.0, 2: 200.0, 3: 300.0, 4: 400.0}
    assert (access.facility == 0).all()
    minutes = HUNDRED_M_PER_MIN.minutes(access.distance_m)
    assert minutes.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_boundary_time_equal_to_threshold_is_covered():
    # Threshold 3 min at 100 m/min = 300 m: node 3 is exactly at it, node 4 beyond.
    budget = HUNDRED_M_PER_MIN.metres(3.0)
    graph, access = run(path_network(), [(0.0, 0.0)], limit_m=budget)
    d = node_distances(graph, access)
    assert d[3] == 300.0
    assert d[4] == math.inf
    # A person exactly 300 m away (mid-edge, 50 m leg + 250 m) is covered too.
    snap = graph.snap(points((250.0, 50.0)), max_snap_m=300.0)
    dist, fac = access.to_points(snap)
    assert dist.tolist() == [300.0]
    assert fac.tolist() == [0]
    # 1 cm farther is not.
    snap = graph.snap(points((250.0, 50.01)), max_snap_m=300.0)
    dist, fac = access.to_points(snap)
    assert dist.tolist() == [math.inf]
    assert fac.tolist() == [-1]


def test_access_legs_count_on_both_ends():
    # Facility 30 m off the path beside node 1; person 40 m off beside x=250.
    graph, access = run(path_network(), [(100.0, 30.0)])
    d = node_distances(graph, access)
    assert d == {0: 130.0, 1: 30.0, 2: 130.0, 3: 230.0, 4: 330.0}
    dist, _ = access.to_points(graph.snap(points((250.0, -40.0)), max_snap_m=300.0))
    assert dist[0] == pytest.approx(30 + 150 + 40)


def test_facility_in_the_middle_of_an_edge():
    # One 1 km edge; facility 400 m along it and 30 m off it.
    network = make_network({0: (0.0, 0.0), 1: (1000.0, 0.0)}, [(0, 1)])
    graph, access = run(network, [(400.0, 30.0)])
    assert node_distances(graph, access) == {0: 430.0, 1: 630.0}
    # People on the same edge walk straight along it, not via an end node.
    snap = graph.snap(points((500.0, 0.0), (300.0, -20.0), (900.0, 10.0)), max_snap_m=300.0)
    dist, fac = access.to_points(snap)
    assert dist.tolist() == pytest.approx([130.0, 150.0, 540.0])
    assert fac.tolist() == [0, 0, 0]


def test_grid_distances_are_manhattan():
    coords = {3 * r + c: (100.0 * c, 100.0 * r) for r in range(3) for c in range(3)}
    edges = [(3 * r + c, 3 * r + c + 1) for r in range(3) for c in range(2)]
    edges += [(3 * r + c, 3 * (r + 1) + c) for r in range(2) for c in range(3)]
    graph, access = run(make_network(coords, edges), [(0.0, 0.0)])
    d = node_distances(graph, access)
    for r in range(3):
        for c in range(3):
            assert d[3 * r + c] == 100.0 * (r + c)


def test_dead_end_and_nearest_facility_identity():
    # 0 - 1 - 2 - 3 with a dead-end spur 1 - 4 (50 m); facilities at 0 (a) and 3 (b).
    coords = {0: (0.0, 0.0), 1: (100.0, 0.0), 2: (200.0, 0.0), 3: (300.0, 0.0), 4: (100.0, 50.0)}
    network = make_network(coords, [(0, 1), (1, 2), (2, 3), (1, 4)])
    graph, access = run(network, [(0.0, 0.0), (300.0, 0.0)])
    d = node_distances(graph, access)
    assert d == {0: 0.0, 1: 100.0, 2: 100.0, 3: 0.0, 4: 150.0}
    facility = dict(zip(graph.node_ids.tolist(), access.facility.tolist(), strict=True))
    assert facility[0] == 0
    assert facility[4] == 0
    assert facility[3] == 1


def test_disconnected_island_is_unreachable():
    coords = {0: (0.0, 0.0), 1: (100.0, 0.0), 2: (5000.0, 0.0), 3: (5100.0, 0.0)}
    graph, access = run(make_network(coords, [(0, 1), (2, 3)]), [(0.0, 0.0)])
    d = node_distances(graph, access)
    assert d[1] == 100.0
    assert d[2] == math.inf
    assert d[3] == math.inf
    assert access.facility[graph.node_ids.tolist().index(2)] == -1


def test_far_points_are_off_network():
    network = path_network()
    graph = CompactGraph(network)
    snap = graph.snap(points((200.0, 299.0), (200.0, 301.0)), max_snap_m=300.0)
    assert snap.on_network.tolist() == [True, False]
    assert snap.leg_m[0] == pytest.approx(299.0)
    assert snap.leg_m[1] == math.inf
    with pytest.raises(ValueError, match="off-network"):
        nearest_facilities(graph, snap, limit_m=100.0)
    access = nearest_facilities(graph, snap.subset(snap.on_network), limit_m=math.inf)
    dist, fac = access.to_points(snap)
    assert dist[1] == math.inf
    assert fac[1] == -1


def test_no_facilities_reach_nothing():
    _, access = run(path_network(), [(0.0, 5000.0)])
    assert np.isinf(access.distance_m).all()
    assert (access.facility == -1).all()


def test_parallel_edges_use_the_shorter():
    coords = {0: (0.0, 0.0), 1: (100.0, 0.0)}
    network = make_network(coords, [(0, 1, 250.0), (0, 1)])
    graph, access = run(network, [(0.0, 0.0)])
    assert node_distances(graph, access)[1] == 100.0


def test_edge_reach_cuts_partly_reachable_edges():
    # A straight 1 km edge with a facility at one end and 600 m of reach: 600 m covered.
    network = make_network({0: (0.0, 0.0), 1: (1000.0, 0.0)}, [(0, 1)])
    _, access = run(network, [(0.0, 0.0)], limit_m=600.0)
    reach = access.edge_reach(600.0)
    assert reach.total_m == pytest.approx(600.0)
    assert reach.start_m.tolist() == [0.0]
    assert reach.end_m.tolist() == pytest.approx([600.0])


def test_edge_reach_from_a_mid_edge_facility_and_both_ends():
    # 0 --1000-- 1 --100-- 2, facility at 0 and another on edge 0-1 at 700 m (leg 0).
    network = make_network({0: (0.0, 0.0), 1: (1000.0, 0.0), 2: (1100.0, 0.0)}, [(0, 1), (1, 2)])
    _, access = run(network, [(0.0, 0.0), (700.0, 0.0)], limit_m=200.0)
    reach = access.edge_reach(200.0)
    per_edge = reach.per_edge_m()
    # Edge 0-1: [0, 200] from the end facility, [500, 900] around the mid facility,
    # plus nothing more from node 1 (at 300 m). Edge 1-2: node 1 is 300 m away: nothing.
    assert per_edge.tolist() == pytest.approx([600.0, 0.0])


def test_edge_reach_merges_overlaps():
    reach = EdgeReach.from_intervals(
        np.array([0, 0, 0, 1]),
        np.array([0.0, 50.0, 300.0, 10.0]),
        np.array([100.0, 120.0, 400.0, 20.0]),
        np.array([500.0, 30.0]),
    )
    assert reach.edge.tolist() == [0, 0, 1]
    assert reach.start_m.tolist() == [0.0, 300.0, 10.0]
    assert reach.end_m.tolist() == [120.0, 400.0, 20.0]


def test_profiles():
    assert ADULT.speed_kmh == 4.5
    assert ELDERLY.metres_per_minute == pytest.approx(54.0)  # 0.9 m/s
    assert walking_profile("elderly") is ELDERLY
    assert walking_profile("adult", speed_kmh=4.0).speed_kmh == 4.0
    with pytest.raises(InputError, match="unknown walking profile `jogger`"):
        walking_profile("jogger")
    with pytest.raises(InputError, match="positive"):
        WalkingProfile("x", -1.0)
    assert ADULT.minutes(1125.0) == pytest.approx(15.0)


@st.composite
def random_graphs(draw):
    n = draw(st.integers(min_value=2, max_value=12))
    coords = {
        i: (draw(st.floats(0, 2000, allow_nan=False)), draw(st.floats(0, 2000, allow_nan=False)))
        for i in range(n)
    }
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] != p[1]),
            min_size=1,
            max_size=3 * n,
        )
    )
    lengths = draw(
        st.lists(st.floats(0.0, 500.0, allow_nan=False), min_size=len(pairs), max_size=len(pairs))
    )
    edges = [(u, v, length) for (u, v), length in zip(pairs, lengths, strict=True)]
    # Facilities: (edge index, fraction along it).
    facilities = draw(
        st.lists(
            st.tuples(st.integers(0, len(edges) - 1), st.floats(0.0, 1.0)),
            min_size=1,
            max_size=4,
        )
    )
    limit = draw(st.one_of(st.just(math.inf), st.floats(0.0, 1500.0)))
    return coords, edges, facilities, limit


@settings(max_examples=150, deadline=None)
@given(random_graphs())
@example(  # a node exactly at the limit, behind a zero-length edge (found by hypothesis)
    (
        {0: (0.0, 0.0), 1: (1.0, 1.9850036268391023), 2: (0.0, 0.0)},
        [(0, 1, 0.0), (0, 2, 1e-06)],
        [(0, 0.5)],
        0.0,
    )
)
def test_engine_equals_networkx_multi_source_dijkstra(case):
    coords, edges, facilities, limit = case
    network = make_network(coords, edges)
    graph = CompactGraph(network)
    # Place each facility exactly on its edge, at the given fraction of its geometry.
    lines = network.edges.geometry.to_numpy()
    xy = []
    for e, t in facilities:
        p = lines[e].interpolate(t, normalized=True)
        xy.append((p.x, p.y))
    import geopandas as gpd
    import shapely

    pts = gpd.GeoSeries([shapely.Point(x, y) for x, y in xy], crs=network.crs)
    snap = graph.snap(pts, max_snap_m=1.0)
    assert snap.on_network.all()
    access = nearest_facilities(graph, snap, limit_m=limit)

    # Independent reference: split each facility's (snapped) edge in networkx.
    G = nx.MultiGraph()
    G.add_nodes_from(range(len(coords)))
    for u, v, length in edges:
        if u != v:
            G.add_edge(u, v, length=length)
    sources = set()
    for k in range(len(snap)):
        e = int(snap.edge[k])
        u, v, length = edges[e]
        node = ("f", k)
        leg = float(snap.leg_m[k])  # ~0: the point lies on the edge up to rounding
        G.add_edge(node, u, length=float(snap.offset_m[k]) + leg)
        G.add_edge(node, v, length=length - float(snap.offset_m[k]) + leg)
        sources.add(node)
    # The engine keeps distances within BUDGET_TOLERANCE_M of the limit (float sums).
    cutoff = None if math.isinf(limit) else limit + BUDGET_TOLERANCE_M
    expected = nx.multi_source_dijkstra_path_length(G, sources, cutoff=cutoff, weight="length")
    for i, node_id in enumerate(graph.node_ids.tolist()):
        if node_id in expected:
            assert access.distance_m[i] == pytest.approx(expected[node_id], abs=1e-6)
        else:
            assert access.distance_m[i] == math.inf


def test_pair_distances_by_hand():
    # 0 --1000-- 1, facilities at x=0 (a) and x=700 (b, 20 m off); people at 100, 600, 900.
    network = make_network({0: (0.0, 0.0), 1: (1000.0, 0.0)}, [(0, 1)])
    graph = CompactGraph(network)
    sources = graph.snap(points((0.0, 0.0), (700.0, 20.0)), max_snap_m=300.0)
    people = graph.snap(points((100.0, 0.0), (600.0, 0.0), (900.0, 10.0)), max_snap_m=300.0)
    source, person, distance = pair_distances(graph, sources, people, limit_m=600.0)
    pairs = {(int(s), int(p)): d for s, p, d in zip(source, person, distance, strict=True)}
    # a-person0 100, a-person1 600 (kept: equal to the limit), b-person1 20+100,
    # b-person2 20+200+10; b-person0 would be 620 and a-person2 910: beyond the limit.
    assert pairs == pytest.approx({(0, 0): 100.0, (0, 1): 600.0, (1, 1): 120.0, (1, 2): 230.0})


@settings(max_examples=100, deadline=None)
@given(random_graphs(), st.lists(st.tuples(st.floats(0, 2000), st.floats(0, 2000)), max_size=6))
def test_pair_distances_agree_with_the_nearest_search(case, people_xy):
    coords, edges, facilities, limit = case
    limit = 800.0 if math.isinf(limit) else limit
    network = make_network(coords, edges)
    graph = CompactGraph(network)
    lines = network.edges.geometry.to_numpy()
    import geopandas as gpd

    xy = [lines[e].interpolate(t, normalized=True) for e, t in facilities]
    sources = graph.snap(gpd.GeoSeries(xy, crs=network.crs), max_snap_m=1.0)
    people = graph.snap(points(*people_xy), max_snap_m=300.0)
    _, person, distance = pair_distances(graph, sources, people, limit_m=limit)
    nearest, _ = nearest_facilities(graph, sources, limit_m=limit).to_points(people)
    best = np.full(len(people), math.inf)
    np.minimum.at(best, person, distance)
    finite = np.isfinite(nearest)
    assert np.allclose(best[finite], nearest[finite], atol=1e-6)
    assert np.array_equal(np.isinf(best), np.isinf(nearest))
    assert (distance <= limit + 1e-6).all()


def test_search_matrix_keeps_the_cheapest_arc_per_pair_by_enumeration():
    # Random multigraphs with parallel edges, loops, zero-cost and direction-dependent
    # costs: each (a, b) entry is the minimum over all arcs b -> a, found by enumeration.
    from circle.access import _search_csr

    rng = np.random.default_rng(3)
    for n, m in ((1, 1), (4, 12), (30, 200)):
        u, v = rng.integers(0, n, m), rng.integers(0, n, m)
        cost_uv = rng.choice([0.0, 1.0, 2.5, 7.0], m)
        cost_vu = cost_uv * rng.choice([1.0, 1.5], m)
        cheapest: dict[tuple[int, int], float] = {}
        for a, b, forward, backward in zip(u, v, cost_uv, cost_vu, strict=True):
            if a == b:
                continue
            for row, col, cost in ((b, a, forward), (a, b, backward)):  # row <- col
                cheapest[row, col] = min(cost, cheapest.get((row, col), math.inf))
        matrix = _search_csr(u, v, cost_uv, cost_vu, n).tocoo()
        found = {
            (int(r), int(c)): float(w)
            for r, c, w in zip(matrix.row, matrix.col, matrix.data, strict=True)
        }
        assert found == cheapest  # explicit zeros included, no self-arcs
