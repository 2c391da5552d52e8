"""Coverage per person and per neighbourhood, pinned by hand and checked against networkx."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from circle.access import CompactGraph
from circle.areas import People
from circle.coverage import (
    StatusCutoffs,
    _weighted_median_and_max,
    compute_access,
    evaluate_coverage,
)
from circle.errors import InputError
from circle.walking import Threshold, WalkingProfile, parse_thresholds
from tests.conftest import METRIC_CRS, X0, Y0, facilities_at, make_network, points

HUNDRED_M_PER_MIN = WalkingProfile("test", 6.0)


def square(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def people_at(graph, rows):
    geometry = points(*[(x, y) for x, y, _ in rows])
    snap = graph.snap(geometry, max_snap_m=300.0)
    return People(geometry, np.array([p for _, _, p in rows], dtype=float), snap, "test")


def line_case(minutes=5.0):
    """A 1 km path with a clinic at x=0; three groups of people; areas split at x=500."""
    network = make_network({0: (0.0, 0.0), 1: (500.0, 0.0), 2: (1000.0, 0.0)}, [(0, 1), (1, 2)])
    graph = CompactGraph(network)
    model = compute_access(
        graph,
        facilities_at(("c1", "clinic", 0.0, 0.0)),
        profile=HUNDRED_M_PER_MIN,
        thresholds={"clinic": Threshold(minutes=minutes)},
        categories=["clinic"],
    )
    people = people_at(graph, [(100.0, 0.0, 10), (400.0, 30.0, 20), (800.0, 0.0, 70)])
    areas = gpd.GeoDataFrame(
        {"area_id": ["A", "B"], "name": ["west", "east"]},
        geometry=[square(0, -100, 500, 100), square(500, -100, 1000, 100)],
        crs=METRIC_CRS,
    ).to_crs("EPSG:4326")
    person_area = np.array(["A", "A", "B"], dtype=object)
    return evaluate_coverage(model, people, areas, person_area)


def test_population_weighted_coverage_by_hand():
    result = line_case()
    # Minutes at 100 m/min: 1.0, 4.0 + 0.3 leg = 4.3, 8.0.
    assert result.minutes["clinic"].tolist() == pytest.approx([1.0, 4.3, 8.0])
    summary = result.summary().set_index("category").loc["clinic"]
    assert summary.population == 100
    assert summary.covered_population == 30
    assert summary.covered_share == 0.3
    assert summary.neighbourhoods == 2
    assert summary.uncovered_neighbourhoods == 1
    table = result.neighbourhood_table().set_index("area_id")
    assert table.loc["A", "clinic_covered_share"] == 1.0
    assert table.loc["A", "clinic_median_min"] == pytest.approx(4.3)  # 10 @ 1, 20 @ 4.3
    assert table.loc["A", "clinic_max_min"] == pytest.approx(4.3)
    assert table.loc["A", "clinic_status"] == "covered"
    assert table.loc["B", "clinic_covered_share"] == 0.0
    assert table.loc["B", "clinic_status"] == "uncovered"
    assert table.loc["B", "clinic_median_min"] == pytest.approx(8.0)
    assert bool(table.loc["A", "complete"]) is True
    assert table.loc["B", "missing"] == "clinic"  # ids; reports translate them
    facilities = result.facility_table()
    assert facilities.served_population.tolist() == [30.0]


def test_threshold_equal_to_walking_time_is_covered():
    # The farthest group walks exactly 8.0 minutes: an 8-minute threshold covers it.
    result = line_case(minutes=8.0)
    assert result.covered("clinic").tolist() == [True, True, True]
    result = line_case(minutes=7.99)
    assert result.covered("clinic").tolist() == [True, True, False]


def test_threshold_in_metres():
    result = line_case()
    model = result.model
    assert model.budget_m("clinic") == 500.0
    metres = Threshold(metres=800.0)
    assert metres.budget_m(HUNDRED_M_PER_MIN) == 800.0
    assert metres.minutes_at(HUNDRED_M_PER_MIN) == 8.0
    assert str(metres) == "800 m"


def test_weighted_median_and_max_by_hand():
    code = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2])
    minutes = np.array([10.0, 1.0, 3.0, 2.0, 1.0, 2.0, 3.0, 10.0, math.inf])
    weight = np.array([1.0, 1.0, 1.0, 1.0, 3.0, 1.0, 1.0, 1.0, 5.0])
    median, maximum = _weighted_median_and_max(code, minutes, weight, 4)
    # Group 0: sorted 1,2,3,10 equal weights; half the people reach within 2 min.
    # Group 1: 3 of 6 people at 1 min. Group 2: everyone beyond reach. Group 3: nobody.
    assert median[:3].tolist() == [2.0, 1.0, math.inf]
    assert maximum[:3].tolist() == [10.0, 10.0, math.inf]
    assert math.isnan(median[3])
    assert math.isnan(maximum[3])


def test_statuses_at_the_cut_offs():
    cutoffs = StatusCutoffs()
    shares = np.array([1.0, 0.8, 0.7999, 0.2, 0.1999, 0.0, np.nan])
    assert cutoffs.status(shares).tolist() == [
        "covered",
        "covered",
        "partial",
        "partial",
        "uncovered",
        "uncovered",
        "empty",
    ]
    assert StatusCutoffs(covered=0.5, uncovered=0.5).status(np.array([0.5, 0.49])).tolist() == [
        "covered",
        "uncovered",
    ]
    with pytest.raises(InputError, match="cut-offs"):
        StatusCutoffs(covered=0.2, uncovered=0.8)


def test_person_joins_the_edge_it_is_closest_to():
    # Two parallel streets 100 m apart, joined only at x=0. Clinic at (500, 0).
    coords = {0: (0.0, 0.0), 1: (500.0, 0.0), 2: (0.0, 100.0), 3: (500.0, 100.0)}
    network = make_network(coords, [(0, 1), (0, 2), (2, 3)])
    graph = CompactGraph(network)
    model = compute_access(
        graph,
        facilities_at(("c", "clinic", 500.0, 0.0)),
        profile=HUNDRED_M_PER_MIN,
        categories=["clinic"],
    )
    people = people_at(graph, [(400.0, 40.0, 1), (400.0, 60.0, 1)])
    result = evaluate_coverage(model, people, gpd.GeoDataFrame(), np.array([None, None]))
    # 40 m off the lower street: 40 + 100. 60 m off it but 40 m off the upper street,
    # which it joins: 40 + 400 + 100 + 500 = 1040 m.
    assert result.minutes["clinic"].tolist() == pytest.approx([1.4, 10.4])


def test_parse_thresholds():
    known = ["canteen", "clinic", "daycare"]
    t = parse_thresholds("clinic=10, daycare=12.5", categories=known)
    assert (t["canteen"].minutes, t["clinic"].minutes, t["daycare"].minutes) == (15, 10, 12.5)
    assert {c: x.minutes for c, x in parse_thresholds("20", categories=known).items()} == {
        "canteen": 20,
        "clinic": 20,
        "daycare": 20,
    }
    with pytest.raises(InputError, match=r"`--minutes` must be a positive number .* `-5`"):
        parse_thresholds("-5", categories=known)
    with pytest.raises(InputError, match=r"`--minutes clinic` must be a positive .* `abc`"):
        parse_thresholds("clinic=abc", categories=known)
    with pytest.raises(InputError, match="unknown category `park`; known categories: canteen"):
        parse_thresholds("park=10", categories=known)
    with pytest.raises(InputError, match="positive"):
        parse_thresholds("0", categories=known)
    with pytest.raises(InputError, match="`clinic:10` is not `category=minutes`"):
        parse_thresholds("clinic=10,clinic:10", categories=known)


# ---------------------------------------------------------------------------------------
# Independent brute force on the real Helsinki extract


def _brute_force_minutes(network, facilities, people_points, speed_kmh, max_snap_m):
    """Per person, minutes to the nearest facility, by networkx on a graph with every
    facility and person inserted into its nearest edge (found by brute force)."""
    edges = network.edges
    lines = edges.geometry.to_numpy()
    graph = nx.Graph()
    for u, v, way_length in zip(edges.u, edges.v, edges.length_m, strict=True):
        shortest = min(way_length, graph[u][v]["length"]) if graph.has_edge(u, v) else way_length
        graph.add_edge(int(u), int(v), length=float(shortest))
    inserts: dict[int, list[tuple[float, object]]] = {}
    legs = {}
    for kind, geoms in (("f", facilities), ("p", people_points)):
        for k, geom in enumerate(geoms):
            distances = shapely.distance(geom, lines)
            e = int(np.argmin(distances))
            if distances[e] > max_snap_m:
                continue
            line = lines[e]
            fraction = line.project(geom) / line.length
            inserts.setdefault(e, []).append((fraction * edges.length_m.iloc[e], (kind, k)))
            legs[(kind, k)] = float(distances[e])
    # Split each edge at its inserted points, in order along it (parallel edges: a fresh
    # path beside the shortest edge is exactly what the edge offers).
    for e, items in inserts.items():
        u, v, length = int(edges.u.iloc[e]), int(edges.v.iloc[e]), float(edges.length_m.iloc[e])
        chain = [(0.0, u), *sorted(items, key=lambda item: item[0]), (length, v)]
        for (a, na), (b, nb) in itertools.pairwise(chain):
            if not graph.has_edge(na, nb):
                graph.add_edge(na, nb, length=b - a)
    for node, leg in legs.items():
        graph.add_edge(("leg", node), node, length=leg)
    sources = [("leg", ("f", k)) for k in range(len(facilities)) if ("f", k) in legs]
    if not sources:
        return np.full(len(people_points), math.inf)
    dist = nx.multi_source_dijkstra_path_length(graph, sources, weight="length")
    metres = np.array([dist.get(("leg", ("p", k)), math.inf) for k in range(len(people_points))])
    return metres / (speed_kmh * 1000 / 60)


def test_helsinki_covered_population_matches_networkx_brute_force(helsinki_pbf):
    from circle.datasets import demo_facilities
    from circle.study import Study

    network_study = Study.load(helsinki_pbf, demo_facilities(), population_proxy="network")
    network = network_study.network
    rng = np.random.default_rng(20261129)
    west, south, east, north = network.nodes.to_crs("EPSG:4326").total_bounds
    n = 400
    population = gpd.GeoDataFrame(
        {"population": rng.integers(1, 200, n)},
        geometry=gpd.points_from_xy(rng.uniform(west, east, n), rng.uniform(south, north, n)),
        crs="EPSG:4326",
    )
    facilities = demo_facilities()
    # Add a generated canteen set so every comparison has several sources.
    canteens = gpd.GeoDataFrame(
        {"id": ["g1", "g2", "g3"], "name": "", "category": "canteen", "capacity": np.nan},
        geometry=gpd.points_from_xy(rng.uniform(west, east, 3), rng.uniform(south, north, 3)),
        crs="EPSG:4326",
    )
    facilities = pd.concat([facilities, canteens], ignore_index=True)
    study = Study.load(network, facilities, population=population)
    result = study.coverage()
    summary = result.summary().set_index("category")

    people_points = population.to_crs(network.crs).geometry.to_numpy()
    projected = facilities.to_crs(network.crs)
    for category in ("canteen", "clinic", "daycare"):
        chosen = projected.loc[projected.category == category].geometry.to_numpy()
        minutes = _brute_force_minutes(network, chosen, people_points, 4.5, 300.0)
        covered = minutes <= 15.0 + 1e-9
        expected = int(population.population.to_numpy()[covered].sum())
        assert summary.loc[category, "covered_population"] == expected, category
        # And per person, the minutes agree (where finite within the horizon).
        engine = result.minutes[category]
        finite = np.isfinite(engine)
        assert np.allclose(engine[finite], minutes[finite], atol=1e-6)
        assert (minutes[~finite] > 30.0 - 1e-9).all()
    assert summary.loc["gig_station", "covered_population"] == 0
    assert summary.loc["clinic", "population"] == int(population.population.sum())


@pytest.mark.parametrize("n_groups", [3, 300, 70_000])
def test_weighted_median_and_max_match_brute_force(n_groups):
    # Whole-number weights: every running sum is exact, so the brute force finds the same
    # person as the vectorised search, ties in minutes included (few distinct minutes).
    rng = np.random.default_rng(n_groups)
    size = 5_000
    code = rng.integers(0, n_groups, size)
    minutes = rng.choice([0.0, 1.5, 2.0, 7.25, 30.0, math.inf], size)
    weight = rng.integers(0, 4, size).astype(float)  # zero weights are ignored
    median, maximum = _weighted_median_and_max(code, minutes, weight, n_groups)
    people: dict[int, list[tuple[float, float]]] = {}
    for c, m, w in zip(code.tolist(), minutes.tolist(), weight.tolist(), strict=True):
        if w > 0:
            people.setdefault(c, []).append((m, w))
    for group in range(n_groups):
        if group not in people:
            assert math.isnan(median[group])
            assert math.isnan(maximum[group])
            continue
        ordered = sorted(people[group])
        total = sum(w for _, w in ordered)
        reached = list(itertools.accumulate(w for _, w in ordered))
        # The smallest time within which half of them arrive.
        half = next(i for i, r in enumerate(reached) if r >= total / 2)
        assert median[group] == ordered[half][0]
        assert maximum[group] == ordered[-1][0]


def test_tables_are_built_once_and_handed_out_as_copies():
    result = line_case()
    first = result.facility_table()
    first.loc[0, "served_population"] = -1.0
    assert result.facility_table().served_population.tolist() == [30.0]
    counted = result.counted
    assert counted.tolist() == [True, True, True]
    assert result.counted is counted
    assert not counted.flags.writeable
