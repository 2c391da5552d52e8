"""Slope-aware walking: Tobler times by hand, steps, bridges, DEM rasters, networkx checks."""

from __future__ import annotations

import itertools
import math
import warnings
import zipfile

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from circle.access import (
    BUDGET_TOLERANCE_M,
    CompactGraph,
    EdgeRates,
    Snap,
    nearest_facilities,
    pair_distances,
)
from circle.errors import InputError
from circle.terrain import (
    STEPS_FACTOR,
    compact_graph,
    edge_costs,
    load_dem,
    node_elevations,
    tobler_rate,
)
from tests.conftest import (
    METRIC_CRS,
    SHARED_DATA,
    X0,
    Y0,
    make_network,
    plane_raster,
    points,
    write_raster,
)

rasterio = pytest.importorskip("rasterio")
from affine import Affine  # noqa: E402


def issue_speed(grade: float, v_flat: float = 1.0) -> float:
    """Tobler's hiking function exactly as issue 14 writes it."""
    return v_flat * math.exp(-3.5 * abs(grade + 0.05)) / math.exp(-3.5 * 0.05)


def flat_metres(length: float, grade: float) -> float:
    """Flat-equivalent metres of walking `length` at `grade` (time x flat speed)."""
    return length / issue_speed(grade)


def tagged(network, **columns):
    """Set tag columns (lists, one value per edge) on a hand-made network's edges."""
    for name, values in columns.items():
        network.edges[name] = values
    return network


def slope_graph(network, elevation, **options):
    costs = edge_costs(network, None, node_elevation_m=np.asarray(elevation, float), **options)
    return costs, compact_graph(network, costs)


def search(graph, facility_xy, *, limit_m=math.inf):
    snap = graph.snap(points(*facility_xy), max_snap_m=300.0)
    return nearest_facilities(graph, snap.subset(snap.on_network), limit_m=limit_m)


def line_network():
    """0 --100-- 1 --100-- 2 along x."""
    return make_network({0: (0.0, 0.0), 1: (100.0, 0.0), 2: (200.0, 0.0)}, [(0, 1), (1, 2)])


# --- Tobler by hand ---------------------------------------------------------------------


def test_tobler_rate_is_the_issue_formula():
    for grade in (-0.5, -0.2, -0.1, -0.05, 0.0, 0.03, 0.1, 0.3, 1.0):
        assert tobler_rate(grade) == pytest.approx(1.0 / issue_speed(grade), rel=1e-12)
    assert tobler_rate(0.0) == 1.0  # exactly: flat ground is the profile's speed


def test_uphill_slower_than_downhill_by_the_formula():
    # 0 at 0 m, 1 at 10 m, 100 m apart: 10 % up from 0 to 1.
    network = make_network({0: (0.0, 0.0), 1: (100.0, 0.0)}, [(0, 1)])
    _, graph = slope_graph(network, [0.0, 10.0])
    assert graph.directed
    at_top = search(graph, [(100.0, 0.0)])  # facility at the top: homes walk up
    at_bottom = search(graph, [(0.0, 0.0)])  # facility at the bottom: homes walk down
    up = at_top.distance_m[0]
    down = at_bottom.distance_m[1]
    assert up == pytest.approx(flat_metres(100.0, 0.1), rel=1e-12)  # 100 x e^0.35 = 141.9
    assert up == pytest.approx(141.9067548, rel=1e-9)
    # 10 % down is as fast as the flat in Tobler's function (|-0.1 + 0.05| = 0.05).
    assert down == pytest.approx(flat_metres(100.0, -0.1), rel=1e-12)
    assert down == pytest.approx(100.0, rel=1e-12)
    assert up > down


def test_a_flat_dem_gives_exactly_the_flat_engine():
    coords = {i: (100.0 * (i % 3), 100.0 * (i // 3)) for i in range(9)}
    edges = [(i, i + 1) for i in range(9) if i % 3 != 2] + [(i, i + 3) for i in range(6)]
    edges.append((0, 4, 180.0))
    network = make_network(coords, edges)
    flat = CompactGraph(network)
    _, level = slope_graph(network, np.full(9, 312.5))
    assert not level.directed
    facilities = [(0.0, 0.0), (150.0, 210.0), (200.0, 40.0)]
    people = points((10.0, 5.0), (120.0, 100.0), (190.0, 160.0), (50.0, 200.0), (30.0, 0.0))
    for limit in (math.inf, 150.0):
        a = search(flat, facilities, limit_m=limit)
        b = search(level, facilities, limit_m=limit)
        assert np.array_equal(a.distance_m, b.distance_m)
        assert np.array_equal(a.facility, b.facility)
        snap = flat.snap(people, max_snap_m=300.0)
        assert np.array_equal(a.to_points(snap)[0], b.to_points(snap)[0])
        budget = min(limit, 250.0)
        ra, rb = a.edge_reach(budget), b.edge_reach(budget)
        assert np.array_equal(ra.start_m, rb.start_m)
        assert np.array_equal(ra.end_m, rb.end_m)
        pa = pair_distances(flat, a.sources, snap, limit_m=budget)
        pb = pair_distances(level, b.sources, snap, limit_m=budget)
        assert all(np.array_equal(x, y) for x, y in zip(pa, pb, strict=True))
    # The flat rates built explicitly give the same matrix as no rates at all.
    explicit = CompactGraph(network, rates=EdgeRates.flat(len(network.edges)))
    assert (explicit.csr != flat.csr).nnz == 0


# --- steps, bridges, tunnels ------------------------------------------------------------


def test_steps_at_their_factor_both_ways_and_absent_when_step_free():
    # Edge 1-2 is steps climbing 50 m: the DEM is ignored on steps.
    network = tagged(line_network(), highway=["footway", "steps"])
    costs, graph = slope_graph(network, [0.0, 0.0, 50.0])
    assert costs.steps_edges == 1
    from_0 = search(graph, [(0.0, 0.0)]).distance_m  # homes walk toward node 0
    from_2 = search(graph, [(200.0, 0.0)]).distance_m
    assert from_0.tolist() == [0.0, 100.0, 100.0 + 100.0 / STEPS_FACTOR]
    assert from_2.tolist() == [100.0 + 100.0 / STEPS_FACTOR, 100.0 / STEPS_FACTOR, 0.0]
    _, slow = slope_graph(network, [0.0, 0.0, 50.0], steps_factor=0.25)
    assert search(slow, [(0.0, 0.0)]).distance_m[2] == 100.0 + 400.0

    costs, free = slope_graph(network, [0.0, 0.0, 50.0], step_free=True)
    assert costs.step_free
    assert costs.step_free
    assert search(free, [(0.0, 0.0)]).distance_m.tolist() == [0.0, 100.0, math.inf]
    # Nothing joins the steps: a point beside them joins the footway's end instead.
    snap = free.snap(points((160.0, 5.0)), max_snap_m=300.0)
    assert snap.edge.tolist() == [0]
    assert snap.offset_m.tolist() == [100.0]
    # The steps are no part of any service area.
    reach = search(free, [(0.0, 0.0)], limit_m=1000.0).edge_reach(1000.0)
    assert reach.per_edge_m().tolist() == [100.0, 0.0]
    with pytest.raises(InputError, match="steps_factor"):
        edge_costs(network, None, steps_factor=0.0)


def test_a_bridge_over_a_valley_is_walked_at_flat_speed():
    # Rims at 100 m, the DEM under the middle node shows the valley floor at 20 m.
    network = line_network()
    elevation = [100.0, 20.0, 100.0]
    _, plain = slope_graph(network, elevation)
    down_then_up = flat_metres(100.0, -0.8) + flat_metres(100.0, 0.8)
    assert search(plain, [(200.0, 0.0)]).distance_m[0] == pytest.approx(down_then_up, rel=1e-12)
    for tag in ("bridge", "tunnel"):
        network = tagged(line_network(), **{tag: ["yes", "viaduct"]})
        costs, structure = slope_graph(network, elevation)
        assert costs.structure_edges == 2
        assert costs.grade.tolist() == [0.0, 0.0]
        assert search(structure, [(200.0, 0.0)]).distance_m[0] == 200.0
    untagged = tagged(line_network(), bridge=["no", ""], tunnel=["no", None])
    costs, _ = slope_graph(untagged, elevation)
    assert costs.structure_edges == 0
    assert costs.grade.tolist() == pytest.approx([-0.8, 0.8])


# --- parts of edges ---------------------------------------------------------------------


def test_a_home_mid_way_on_a_sloped_edge_gets_the_split_times():
    # One edge 0 -> 1, 100 m, 10 % up from 0 to 1. Homes at x = 40 (leg 0) and x = 90 (leg 30).
    network = make_network({0: (0.0, 0.0), 1: (100.0, 0.0)}, [(0, 1)])
    _, graph = slope_graph(network, [0.0, 10.0])
    up, down = flat_metres(1.0, 0.1), flat_metres(1.0, -0.1)
    homes = graph.snap(points((40.0, 0.0), (90.0, 30.0)), max_snap_m=300.0)

    at_top = search(graph, [(100.0, 0.0)])
    distance, _ = at_top.to_points(homes)
    assert distance == pytest.approx([60.0 * up, 10.0 * up + 30.0], rel=1e-12)

    at_bottom = search(graph, [(0.0, 0.0)])
    distance, _ = at_bottom.to_points(homes)
    assert distance == pytest.approx([40.0 * down, 90.0 * down + 30.0], rel=1e-12)

    # A facility on the edge at x = 70, 5 m off: the home at 40 walks 30 m up to it, the
    # home at 90 walks 20 m down; the nodes: 0 walks 70 m up, 1 walks 30 m down.
    mid = search(graph, [(70.0, 5.0)])
    assert mid.distance_m == pytest.approx([70.0 * up + 5.0, 30.0 * down + 5.0], rel=1e-12)
    distance, _ = mid.to_points(homes)
    assert distance == pytest.approx([30.0 * up + 5.0, 20.0 * down + 5.0 + 30.0], rel=1e-12)
    _, person, metres = pair_distances(graph, mid.sources, homes, limit_m=1000.0)
    assert person.tolist() == [0, 1]
    assert metres == pytest.approx(distance, rel=1e-12)

    # Service area of the facility at the top for 50 flat metres: homes from which the walk
    # up fits, x >= 100 - 50 / up (64.8 m).
    limited = search(graph, [(100.0, 0.0)], limit_m=50.0)
    reach = limited.edge_reach(50.0)
    assert reach.start_m == pytest.approx([100.0 - 50.0 / up], abs=2 * BUDGET_TOLERANCE_M)
    assert reach.end_m.tolist() == [100.0]
    # The facility at the bottom reaches 50 m of the way up: walking down costs 1 per metre.
    reach = search(graph, [(0.0, 0.0)], limit_m=50.0).edge_reach(50.0)
    assert reach.end_m == pytest.approx([50.0 / down], abs=2 * BUDGET_TOLERANCE_M)
    # Around the mid-edge facility with 20 flat metres left after its 5 m leg.
    reach = search(graph, [(70.0, 5.0)], limit_m=25.0).edge_reach(25.0)
    assert reach.start_m == pytest.approx([70.0 - 20.0 / up], abs=2 * BUDGET_TOLERANCE_M)
    assert reach.end_m == pytest.approx([70.0 + 20.0 / down], abs=2 * BUDGET_TOLERANCE_M)


# --- DEM rasters ------------------------------------------------------------------------


def test_a_plane_dem_gives_the_hand_worked_times(tmp_path):
    # A plane rising 10 % toward +x in the network's own CRS (UTM 35N), 10 m cells.
    tif = plane_raster(tmp_path / "plane.tif", crs=METRIC_CRS, origin=(X0, Y0), slope_x=0.1)
    network = line_network()
    dem = load_dem(tif)
    elevation = node_elevations(network, dem)
    assert elevation == pytest.approx([0.0, 10.0, 20.0], abs=1e-9)  # bilinear is exact
    costs = edge_costs(network, dem)
    assert costs.nodata_nodes == 0
    graph = compact_graph(network, costs)
    top = search(graph, [(200.0, 0.0)])
    bottom = search(graph, [(0.0, 0.0)])
    assert top.distance_m[0] == pytest.approx(flat_metres(200.0, 0.1), rel=1e-9)
    assert bottom.distance_m[2] == pytest.approx(flat_metres(200.0, -0.1), rel=1e-9)


def test_a_dem_in_another_crs_is_sampled_where_the_nodes_are(tmp_path):
    # A plane in Web Mercator metres (EPSG:3857), 5 % toward +x and 2 % toward -y.
    network = line_network()
    mercator = network.nodes.to_crs("EPSG:3857").geometry
    origin = (float(mercator.x.iloc[0]), float(mercator.y.iloc[0]))
    tif = plane_raster(
        tmp_path / "mercator.tif",
        crs="EPSG:3857",
        origin=origin,
        slope_x=0.05,
        slope_y=-0.02,
        cell=20.0,
    )
    expected = 0.05 * (mercator.x.to_numpy() - origin[0]) - 0.02 * (
        mercator.y.to_numpy() - origin[1]
    )
    elevation = node_elevations(network, load_dem(tmp_path))  # a folder of tiles
    assert elevation == pytest.approx(expected, abs=1e-6)
    graph = compact_graph(network, edge_costs(network, load_dem(tif)))
    up = sum(flat_metres(100.0, (expected[k + 1] - expected[k]) / 100.0) for k in (0, 1))
    assert search(graph, [(200.0, 0.0)]).distance_m[0] == pytest.approx(up, rel=1e-6)


def test_several_tiles_and_nodata_cells(tmp_path):
    network = line_network()
    # West tile covers x < 150 only, at 7 m; east tile covers everything at 9 m except a
    # nodata hole around node 2 (x = 200).
    west = write_raster(
        tmp_path / "a_west.tif",
        np.full((40, 20), 7.0),
        crs=METRIC_CRS,
        west=X0 - 50,
        north=Y0 + 200,
        cell=10.0,
    )
    hole = np.full((40, 60), 9.0)
    hole[18:22, 23:27] = -9999.0  # cells around x = 200 (col 25), y = 0 (row 20)
    east = write_raster(
        tmp_path / "b_east.tif",
        hole,
        crs=METRIC_CRS,
        west=X0 - 50,
        north=Y0 + 200,
        cell=10.0,
        nodata=-9999.0,
    )
    elevation = node_elevations(network, load_dem([west, east]))
    assert elevation[:2].tolist() == [7.0, 7.0]  # the first file wins
    assert math.isnan(elevation[2])
    costs = edge_costs(network, load_dem([west, east]))
    assert costs.nodata_nodes == 1
    assert costs.grade.tolist() == [0.0, 0.0]  # the edge to node 2 falls back to flat


def test_dem_errors_name_the_file(tmp_path):
    network = line_network()
    far = plane_raster(tmp_path / "far.tif", crs=METRIC_CRS, origin=(X0 + 5e5, Y0), slope_x=0.1)
    with pytest.raises(InputError, match=r"`far.tif` does not overlap the walking network") as err:
        edge_costs(network, load_dem(far))
    assert "\n" not in str(err.value)
    empty = write_raster(
        tmp_path / "empty.tif",
        np.full((40, 60), -1.0),
        crs=METRIC_CRS,
        west=X0 - 100,
        north=Y0 + 200,
        cell=10.0,
        nodata=-1.0,
    )
    with pytest.raises(InputError, match=r"`empty.tif` is nodata at every node"):
        node_elevations(network, load_dem(empty))
    with pytest.raises(InputError, match=r"`.*missing.tif` does not exist"):
        load_dem(tmp_path / "missing.tif")
    (tmp_path / "junk.tif").write_text("not a raster")
    with pytest.raises(InputError, match=r"`.*junk.tif` could not be read"):
        load_dem(tmp_path / "junk.tif")
    (tmp_path / "void").mkdir()
    with pytest.raises(InputError, match="holds no raster files"):
        load_dem(tmp_path / "void")
    no_crs = tmp_path / "nocrs.tif"
    with rasterio.open(
        no_crs,
        "w",
        driver="GTiff",
        height=2,
        width=2,
        count=1,
        dtype="float32",
        transform=Affine(10.0, 0.0, X0, 0.0, -10.0, Y0),
    ) as dst:
        dst.write(np.zeros((2, 2), dtype="float32"), 1)
    with pytest.raises(InputError, match=r"`.*nocrs.tif` has no coordinate reference system"):
        load_dem(no_crs)
    no_transform = tmp_path / "plain.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(
            no_transform, "w", driver="GTiff", height=2, width=2, count=1, dtype="float32"
        ) as dst:
            dst.write(np.zeros((2, 2), dtype="float32"), 1)
    with pytest.raises(InputError, match=r"`.*plain.tif` is not georeferenced"):
        load_dem(no_transform)


def test_a_zipped_tile_is_read_through_vsizip(tmp_path):
    network = line_network()
    tif = plane_raster(tmp_path / "tile.tif", crs=METRIC_CRS, origin=(X0, Y0), slope_x=0.1)
    archive = tmp_path / "tile.tif.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tif, "tile.tif")
    dem = load_dem(archive)
    assert dem.datasets[0].startswith("/vsizip/")
    assert node_elevations(network, dem) == pytest.approx([0.0, 10.0, 20.0], abs=1e-9)


# --- directed times against networkx ----------------------------------------------------


@st.composite
def sloped_graphs(draw):
    n = draw(st.integers(min_value=2, max_value=9))
    coords = {
        i: (draw(st.floats(0, 1000, allow_nan=False)), draw(st.floats(0, 1000, allow_nan=False)))
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
        st.lists(st.floats(20.0, 400.0, allow_nan=False), min_size=len(pairs), max_size=len(pairs))
    )
    kinds = draw(
        st.lists(
            st.sampled_from(["footway", "footway", "footway", "steps", "bridge"]),
            min_size=len(pairs),
            max_size=len(pairs),
        )
    )
    # Grades up to 100 % (20 m over the shortest, 20 m edges).
    elevation = draw(st.lists(st.floats(0.0, 20.0), min_size=n, max_size=n))
    facilities = draw(
        st.lists(
            st.tuples(st.integers(0, len(pairs) - 1), st.floats(0.0, 1.0)), min_size=1, max_size=3
        )
    )
    homes = draw(
        st.lists(st.tuples(st.integers(0, len(pairs) - 1), st.floats(0.0, 1.0)), max_size=4)
    )
    # Homes on the facilities' own edges too (same-edge walks and intervals around them).
    homes += [(e, min(max(t + draw(st.floats(-0.3, 0.3)), 0.0), 1.0)) for e, t in facilities]
    limit = draw(st.one_of(st.just(math.inf), st.floats(0.0, 1200.0)))
    step_free = draw(st.booleans())
    edges = [(u, v, length) for (u, v), length in zip(pairs, lengths, strict=True)]
    return coords, edges, kinds, elevation, facilities, homes, limit, step_free


def reference_graph(graph, snaps):
    """A networkx DiGraph of walking directions, each edge split at the snapped spots.

    Spot nodes ("s", kind, i) lie on the edge; each is joined to its point ("p", kind, i)
    by the access leg in both directions.
    """
    G = nx.DiGraph()
    G.add_nodes_from(range(graph.n_nodes))

    def add(a, b, w):
        if not G.has_edge(a, b) or G[a][b]["w"] > w:
            G.add_edge(a, b, w=w)

    on_edge = {}
    for kind, snap in snaps.items():
        for i in range(len(snap)):
            if snap.edge[i] >= 0:
                on_edge.setdefault(int(snap.edge[i]), []).append((float(snap.offset_m[i]), kind, i))
    for e in range(graph.n_edges):
        if not graph.rates.passable[e]:
            continue
        u, v = int(graph.edge_u[e]), int(graph.edge_v[e])
        fwd, bwd = graph.rate_forward[e], graph.rate_backward[e]
        chain = [(0.0, u)]
        for offset, kind, i in sorted(on_edge.get(e, [])):
            spot = ("s", kind, i)
            chain.append((offset, spot))
            leg = float(snaps[kind].leg_m[i])
            add(spot, ("p", kind, i), leg)
            add(("p", kind, i), spot, leg)
        chain.append((float(graph.edge_length_m[e]), v))
        for (o1, a), (o2, b) in itertools.pairwise(chain):
            if a == b:
                continue
            add(a, b, (o2 - o1) * fwd)
            add(b, a, (o2 - o1) * bwd)
    return G


@settings(max_examples=120, deadline=None)
@given(sloped_graphs())
def test_directed_times_agree_with_networkx(case):
    coords, edges, kinds, elevation, facility_at, home_at, limit, step_free = case
    network = tagged(
        make_network(coords, edges),
        highway=["steps" if k == "steps" else "footway" for k in kinds],
        bridge=["yes" if k == "bridge" else "" for k in kinds],
    )
    _, graph = slope_graph(network, elevation, step_free=step_free)
    lines = network.edges.geometry.to_numpy()

    def on_edges(where):
        pts = [lines[e].interpolate(t, normalized=True) for e, t in where]
        return gpd.GeoSeries([shapely.Point(p.x, p.y + 7.0) for p in pts], crs=network.crs)

    sources = graph.snap(on_edges(facility_at), max_snap_m=300.0)
    sources = sources.subset(sources.on_network)
    homes = graph.snap(on_edges(home_at), max_snap_m=300.0)
    access = nearest_facilities(graph, sources, limit_m=limit)

    G = reference_graph(graph, {"f": sources, "h": homes})
    targets = [("p", "f", k) for k in range(len(sources))]
    cutoff = None if math.isinf(limit) else limit + BUDGET_TOLERANCE_M
    # Walking toward the facilities = a search from them on the reversed graph.
    expected = (
        nx.multi_source_dijkstra_path_length(G.reverse(), targets, cutoff=cutoff, weight="w")
        if targets
        else {}
    )
    for i in range(graph.n_nodes):
        want = expected.get(i, math.inf)
        assert access.distance_m[i] == pytest.approx(want, rel=1e-12, abs=1e-6)
    distance, _ = access.to_points(homes)
    for i in range(len(homes)):
        want = expected.get(("p", "h", i), math.inf)
        assert distance[i] == pytest.approx(want, rel=1e-12, abs=1e-6)

    # Service areas: a spot on an edge is inside the reach exactly when walking from it
    # (no access leg) reaches a facility within the limit.
    if math.isfinite(limit):
        on = homes.subset(homes.on_network)
        spots = Snap(on.edge, on.offset_m, np.zeros(len(on)))
        reached = access.to_points(spots)[0] <= limit + BUDGET_TOLERANCE_M
        reach = access.edge_reach(limit)
        for i in range(len(on)):
            mine = reach.edge == on.edge[i]
            lo, hi = reach.start_m[mine], reach.end_m[mine]
            x = on.offset_m[i]
            if np.min(np.abs(np.r_[lo, hi, np.inf] - x)) < 1e-5:
                continue  # on a boundary: either side by rounding
            assert bool(((lo <= x) & (x <= hi)).any()) == bool(reached[i])

    # Every (facility, home) pair within the limit, one search per facility.
    budget = 600.0 if math.isinf(limit) else limit
    source, person, metres = pair_distances(graph, sources, homes, limit_m=budget)
    got = {(int(s), int(p)): d for s, p, d in zip(source, person, metres, strict=True)}
    want_pairs = {}
    for k in range(len(sources)):
        lengths = nx.single_source_dijkstra_path_length(
            G.reverse(), ("p", "f", k), cutoff=budget + BUDGET_TOLERANCE_M, weight="w"
        )
        for i in range(len(homes)):
            if ("p", "h", i) in lengths:
                want_pairs[(k, i)] = lengths[("p", "h", i)]
    # Pairs right at the limit may fall either side of it by rounding.
    near = {p for p, d in want_pairs.items() if abs(d - budget) < 1e-6}
    assert set(got) - near == set(want_pairs) - near
    for pair in set(got) & set(want_pairs):
        assert got[pair] == pytest.approx(want_pairs[pair], rel=1e-12, abs=1e-6)


# --- the network keeps the tags ---------------------------------------------------------


def test_network_keeps_bridge_and_tunnel_tags(tmp_path):
    from circle.network import load_network, save_graphml

    osm = tmp_path / "hill.osm"
    osm.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" lat="60.1700" lon="24.9400"/>
  <node id="2" lat="60.1700" lon="24.9420"/>
  <node id="3" lat="60.1700" lon="24.9440"/>
  <node id="4" lat="60.1710" lon="24.9440"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/>
    <tag k="bridge" v="yes"/></way>
  <way id="11"><nd ref="2"/><nd ref="3"/><tag k="highway" v="footway"/>
    <tag k="tunnel" v="yes"/></way>
  <way id="12"><nd ref="3"/><nd ref="4"/><tag k="highway" v="steps"/></way>
</osm>
""",
        encoding="utf-8",
    )
    network = load_network(osm)
    by_nodes = network.edges.set_index(["u", "v"])
    assert by_nodes.loc[(1, 2), "bridge"] == "yes"
    assert by_nodes.loc[(2, 3), "tunnel"] == "yes"
    assert by_nodes.loc[(3, 4), "bridge"] == ""
    costs = edge_costs(network, None)
    assert (costs.structure_edges, costs.steps_edges) == (2, 1)
    save_graphml(network, tmp_path / "hill.graphml")
    again = load_network(tmp_path / "hill.graphml")
    assert sorted(again.edges["bridge"]) == ["", "", "yes"]
    assert sorted(again.edges["tunnel"]) == ["", "", "yes"]
    assert sorted(again.edges["highway"]) == ["footway", "footway", "steps"]


# --- real data --------------------------------------------------------------------------


def test_andorra_srtm_tile(andorra_pbf):
    tile = SHARED_DATA / "N42E001.hgt.zip"
    if not tile.is_file():
        pytest.skip(f"shared development data not present at {tile}")
    from circle.network import load_network

    network = load_network(andorra_pbf)
    dem = load_dem(tile)
    elevation = node_elevations(network, dem)
    known = elevation[np.isfinite(elevation)]
    # Andorra lies between 840 m (Gran Valira at the Spanish border) and 2,942 m (Comapedrosa).
    assert known.size > 0.99 * len(elevation)
    assert known.min() > 800.0
    assert known.max() < 2950.0
    # Bilinear values lie between the four cells around each node (checked independently).
    lonlat = network.nodes.to_crs("EPSG:4326").geometry
    rng = np.random.default_rng(7)
    picks = rng.choice(np.flatnonzero(np.isfinite(elevation)), size=200, replace=False)
    with rasterio.open(dem.datasets[0]) as src:
        grid = src.read(1).astype(float)
        for i in picks:
            inverse = ~src.transform
            x, y = lonlat.x.iloc[i], lonlat.y.iloc[i]
            col = inverse.a * x + inverse.b * y + inverse.c
            row = inverse.d * x + inverse.e * y + inverse.f
            r0, c0 = math.floor(row - 0.5), math.floor(col - 0.5)
            cells = grid[r0 : r0 + 2, c0 : c0 + 2]
            assert cells.min() - 1e-9 <= elevation[i] <= cells.max() + 1e-9
    costs = edge_costs(network, dem, node_elevation_m=elevation)
    assert costs.structure_edges > 100  # Andorra's road bridges and tunnels are tagged
    assert costs.steps_edges > 0
    graph = compact_graph(network, costs)
    assert graph.directed
    # Hills cost time: over the whole network, the mean rate both ways exceeds the flat.
    mean = (graph.rate_forward + graph.rate_backward).mean() / 2
    assert mean > 1.0
    # Directed times from every node to the nearest of a few facilities, checked against
    # networkx on the reversed walking graph (edge costs from the formula and the elevations).
    facility_nodes = rng.choice(len(network.nodes), size=5, replace=False)
    snap = graph.snap(network.nodes.geometry.iloc[facility_nodes], max_snap_m=1.0)
    limit = 2000.0
    access = nearest_facilities(graph, snap, limit_m=limit)
    u, v, length = graph.edge_u, graph.edge_v, graph.edge_length_m
    steps = network.edges["highway"].to_numpy() == "steps"

    def cost(grade):  # the issue's speed formula, v_flat = 1, steps at their factor
        speed = np.exp(-3.5 * np.abs(grade + 0.05)) / np.exp(-3.5 * 0.05)
        return np.where(steps, length / STEPS_FACTOR, length / speed)

    arcs = [
        *zip(u.tolist(), v.tolist(), cost(costs.grade).tolist(), strict=True),
        *zip(v.tolist(), u.tolist(), cost(-costs.grade).tolist(), strict=True),
    ]
    walk = nx.DiGraph()
    for x, y, weight in sorted(arcs, reverse=True):  # the cheapest parallel arc comes last
        if x != y:
            walk.add_edge(x, y, w=weight)
    expected = nx.multi_source_dijkstra_path_length(
        walk.reverse(copy=False), {int(i) for i in facility_nodes}, cutoff=limit, weight="w"
    )
    reached = np.flatnonzero(np.isfinite(access.distance_m))
    assert set(reached.tolist()) == set(expected)
    for node, want in expected.items():
        assert access.distance_m[node] == pytest.approx(want, rel=1e-9, abs=1e-6)


def test_with_rates_swaps_costs_and_keeps_the_flat_graph():
    network = tagged(line_network(), highway=["footway", "steps"])
    flat = CompactGraph(network)
    costs = edge_costs(network, None, node_elevation_m=np.array([0.0, 10.0, 10.0]))
    hilly = flat.with_rates(costs.rates)
    assert not flat.directed
    assert hilly.directed
    assert search(flat, [(200.0, 0.0)]).distance_m.tolist() == [200.0, 100.0, 0.0]
    assert search(hilly, [(200.0, 0.0)]).distance_m == pytest.approx(
        [flat_metres(100.0, 0.1) + 100.0 / STEPS_FACTOR, 100.0 / STEPS_FACTOR, 0.0], rel=1e-12
    )
    back = hilly.with_rates(None)
    assert (back.csr != flat.csr).nnz == 0
    # The same passable edges: snaps agree; step-free: nothing joins the steps.
    near_steps = points((150.0, 3.0))
    assert hilly.snap(near_steps, max_snap_m=50.0).edge.tolist() == [1]
    free = flat.with_rates(edge_costs(network, None, step_free=True).rates)
    assert free.snap(near_steps, max_snap_m=50.0).edge.tolist() == [-1]
    with pytest.raises(ValueError, match="positive and finite"):
        EdgeRates(np.array([1.0, 0.0]), np.ones(2), np.ones(2, dtype=bool))
