"""One pyrosm parse per extract and load (circle._pbf): the same network and buildings."""

from __future__ import annotations

import os
import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import pyrosm
import pytest
import shapely

from circle import _pbf
from circle.areas import residential_buildings
from circle.datasets import chengdu_pbf, demo_facilities
from circle.network import _json_tags, network_from_pbf
from circle.study import Study


@pytest.fixture
def out_of_core(monkeypatch):
    """Every extract read out of core (pyrosm's default engine), as before circle._pbf."""
    monkeypatch.setattr(_pbf, "IN_MEMORY_MAX_BYTES", -1)


@pytest.fixture
def readers_made(monkeypatch):
    """How many pyrosm readers were made, by engine."""
    made: list[str] = []
    original = pyrosm.OSM

    def counted(*args, **kwargs):
        made.append(kwargs.get("engine", "out_of_core"))
        return original(*args, **kwargs)

    monkeypatch.setattr(pyrosm, "OSM", counted)
    return made


def test_small_extracts_are_read_in_memory_and_shared_inside_a_block(readers_made, tmp_path):
    pbf = chengdu_pbf()
    assert pbf.stat().st_size <= _pbf.IN_MEMORY_MAX_BYTES
    outside = [_pbf.osm_reader(pbf), _pbf.osm_reader(pbf)]
    assert outside[0] is not outside[1]  # nothing kept outside a block
    with _pbf.shared_reads():
        inside = _pbf.osm_reader(pbf)
        assert _pbf.osm_reader(str(pbf)) is inside
        with _pbf.shared_reads():  # an inner block starts afresh
            assert _pbf.osm_reader(pbf) is not inside
        assert _pbf.osm_reader(pbf) is inside
        # Another thread has its own context: no reader is handed across.
        other: list[object] = []
        thread = threading.Thread(target=lambda: other.append(_pbf.osm_reader(pbf)))
        thread.start()
        thread.join()
        assert other[0] is not inside
        # A file that changed is parsed again.
        copy = tmp_path / "copy.osm.pbf"
        copy.write_bytes(pbf.read_bytes())
        first = _pbf.osm_reader(copy)
        os.utime(copy, ns=(1, 1))
        assert _pbf.osm_reader(copy) is not first
    assert _pbf.osm_reader(pbf) is not inside
    assert set(readers_made) == {"in_memory"}


def test_large_extracts_are_read_out_of_core(readers_made, out_of_core):
    _pbf.osm_reader(chengdu_pbf())
    assert readers_made == ["out_of_core"]


def test_in_memory_reads_give_the_out_of_core_network_and_buildings(monkeypatch):
    pbf = chengdu_pbf()
    network = network_from_pbf(pbf)
    homes = residential_buildings(pbf, network.crs, use_cache=False)
    monkeypatch.setattr(_pbf, "IN_MEMORY_MAX_BYTES", -1)
    reference = network_from_pbf(pbf)
    reference_homes = residential_buildings(pbf, network.crs, use_cache=False)

    pd.testing.assert_frame_equal(network.nodes, reference.nodes)
    pd.testing.assert_frame_equal(network.edges, reference.edges)
    assert homes is not None and reference_homes is not None
    pd.testing.assert_frame_equal(homes[0], reference_homes[0])
    assert homes[1:] == reference_homes[1:]
    assert len(homes[0]) > 100  # Chengdu's extract has residential buildings


def test_a_study_parses_its_extract_once(readers_made):
    Study.load(
        chengdu_pbf(),
        demo_facilities("chengdu"),
        population_proxy="buildings",
        use_cache=False,
    )
    assert readers_made == ["in_memory"]


def test_json_tags_are_found_in_text_and_dicts():
    raw = pd.Series(
        [
            '{"foot":"yes"}',
            None,
            {"foot": "no"},
            '{"name":"\\"foot\\" path"}',  # the name only mentions the tag
            'not JSON "foot"',
            3.0,
            "[1]",
            '{"sidewalk":"both","foot":1}',
            "",
        ]
    )
    got = _json_tags(raw, ["foot", "sidewalk"])
    assert got["foot"].tolist() == ["yes", "", "no", "", "", "", "", "1", ""]
    assert got["sidewalk"].tolist() == ["", "", "", "", "", "", "", "both", ""]
    assert all(isinstance(v, str) for v in np.concatenate(list(got.values())))


def test_edges_drawn_from_their_nodes_are_the_projected_ways(monkeypatch):
    """Lines built from the projected nodes equal the ways' own coordinates projected."""
    from circle import network

    fast = network_from_pbf(chengdu_pbf())
    monkeypatch.setattr(network, "_segments_from_nodes", lambda *args: None)
    reference = network_from_pbf(chengdu_pbf())
    assert bool(
        shapely.equals_exact(fast.edges.geometry.values, reference.edges.geometry.values, 0.0).all()
    )


def test_only_two_point_ways_on_their_nodes_are_drawn_from_the_nodes():
    from circle.network import _segments_from_nodes

    nodes = pd.DataFrame({"lon": [0.0, 1.0, 2.0], "lat": [0.0, 0.0, 1.0]}, index=[10, 11, 12])
    xy = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 100.0]])

    def edges(*lines):
        return gpd.GeoDataFrame(
            {"u": [10] * len(lines), "v": [11] * len(lines)},
            geometry=list(lines),
            crs="EPSG:4326",
        )

    straight = edges(shapely.LineString([(0, 0), (1, 0)]))
    got = _segments_from_nodes(straight, nodes, xy)
    assert got is not None and got[0].equals_exact(shapely.LineString([(0, 0), (100, 0)]), 0.0)
    bent = edges(shapely.LineString([(0, 0), (0.5, 0.2), (1, 0)]))
    elsewhere = edges(shapely.LineString([(0, 0), (1, 0.001)]))
    backwards = edges(shapely.LineString([(1, 0), (0, 0)]))
    high = edges(shapely.LineString([(0, 0, 5), (1, 0, 5)]))
    for frame in (bent, elsewhere, backwards, high):
        assert _segments_from_nodes(frame, nodes, xy) is None
