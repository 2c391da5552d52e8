"""Step-free routes per category: worked out by hand on a block with a staircase shortcut.

The block (metres; 6 km/h, so 100 m per minute)::

    3 (0,400) ---- e2 footway 300 m ---- 2 (300,400)
    |                                    |
    e3 steps 400 m                       e1 footway 400 m
    |                                    |
    0 (0,0) ------ e0 footway 300 m ---- 1 (300,0)

Steps are walked at half the flat speed (``steps_factor=0.5``): 2 flat-equivalent metres per
metre, both ways. A clinic and a day-care centre stand together at (100, 410): on e2, 200 m
from node 2, 100 m from node 3, access leg 10 m. Two homes of 10 people:

- H at (-6, 80): its nearest way is the staircase (6 m away, 80 m up from node 0). Walking
  the stairs to the facilities: 6 + 320 x 2 + 100 + 10 = 756 m. On a step-free route H joins
  the nearest other way, e0 at node 0 (sqrt(6^2 + 80^2) = 80.2247 m away), and walks round:
  80.2247 + 300 + 400 + 200 + 10 = 990.2247 m.
- G at (150, -5) on e0: 5 + 150 + 400 + 200 + 10 = 765 m either way (no steps on its route).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from circle.access import CompactGraph
from circle.areas import people_from_points
from circle.coverage import compute_access, evaluate_coverage
from circle.errors import InputError
from circle.isochrones import service_areas
from circle.siting import candidate_coverage, prepare_candidates
from circle.study import Study
from circle.terrain import compact_graph, edge_costs, step_free_graph
from tests.conftest import METRIC_CRS, X0, Y0, make_network, square

H_STAIRS = 6 + 320 * 2 + 100 + 10
H_ROUND = math.hypot(6, 80) + 300 + 400 + 200 + 10
G_ANY = 5 + 150 + 400 + 200 + 10


def _block():
    network = make_network(
        {0: (0.0, 0.0), 1: (300.0, 0.0), 2: (300.0, 400.0), 3: (0.0, 400.0)},
        [(0, 1), (1, 2), (2, 3), (0, 3)],
    )
    network.edges["highway"] = ["footway", "footway", "footway", "steps"]
    return network


def _frame(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k not in ("x", "y")} for r in rows],
        geometry=[shapely.Point(X0 + r["x"], Y0 + r["y"]) for r in rows],
        crs=METRIC_CRS,
    )


def _facilities(x: float = 100.0, y: float = 410.0) -> gpd.GeoDataFrame:
    return _frame(
        [
            {"id": "c", "category": "clinic", "capacity": 10.0, "x": x, "y": y},
            {"id": "d", "category": "daycare", "capacity": 10.0, "x": x, "y": y},
        ]
    )


def _homes() -> gpd.GeoDataFrame:
    return _frame(
        [{"population": 10.0, "x": -6.0, "y": 80.0}, {"population": 10.0, "x": 150.0, "y": -5.0}]
    )


def _load(*, facilities=None, minutes="clinic=8,daycare=8", **options) -> Study:
    areas = gpd.GeoDataFrame(
        {"id": ["block"]}, geometry=[square(-50, -50, 350, 450)], crs=METRIC_CRS
    )
    return Study.load(
        _block(),
        _facilities() if facilities is None else facilities,
        areas=areas,
        population=_homes(),
        minutes=minutes,
        speed_kmh=6.0,
        categories=["clinic", "daycare"],
        steps_factor=0.5,
        **options,
    )


def test_a_step_free_category_walks_round_the_stairs_and_the_others_climb_them():
    study = _load(step_free=["托育机构"])  # an alias of daycare
    assert study.step_free == ("daycare",)
    result = study.coverage()
    np.testing.assert_allclose(result.minutes["clinic"], [H_STAIRS / 100, G_ANY / 100])
    np.testing.assert_allclose(result.minutes["daycare"], [H_ROUND / 100, G_ANY / 100])
    summary = result.summary().set_index("category")["covered_population"]
    assert summary.to_dict() == {"clinic": 20, "daycare": 10}
    # The step-free category searched a graph without the staircase; the clinic did not.
    model = study.access()
    assert model.graph_for("clinic") is model.graph
    free = model.graph_for("daycare")
    assert not free.rates.passable[3] and free.rates.passable[:3].all()
    assert model.people_snap(study.people, "daycare").edge.tolist() == [0, 0]
    assert model.people_snap(study.people, "clinic").edge.tolist() == [3, 0]
    # Cached per graph: asking again gives the same snaps, not a new search.
    assert model.people_snap(study.people, "daycare") is model.people_snap(study.people, "daycare")


def test_no_rule_and_every_category_bracket_the_per_category_rule():
    climbing = _load().coverage()
    np.testing.assert_allclose(climbing.minutes["daycare"], [H_STAIRS / 100, G_ANY / 100])
    everyone = _load(step_free=True).coverage()
    for category in ("clinic", "daycare"):
        np.testing.assert_allclose(everyone.minutes[category], [H_ROUND / 100, G_ANY / 100])
    assert everyone.model.step_free == {"clinic", "daycare"}


def test_a_facility_on_the_stairs_joins_the_nearest_other_way_for_step_free_categories():
    """Both facilities at (-8, 150): 8 m from the stairs, 150 up from node 0.

    Clinic: G walks 5 + 150 to node 0, then 150 m of stairs (300) and the 8 m leg: 463 m.
    Day care: the facility joins e0 at node 0 (sqrt(8^2 + 150^2) = 150.2131 m away):
    G walks 5 + 150 + 150.2131 = 305.2131 m; H joins node 0 too: 80.2247 + 150.2131 m.
    """
    study = _load(facilities=_facilities(-8.0, 150.0), step_free=["daycare"])
    facilities = study.access().facilities.set_index("id")
    assert facilities.loc["c", "snap_m"] == pytest.approx(8.0)
    assert facilities.loc["d", "snap_m"] == pytest.approx(math.hypot(8, 150))
    result = study.coverage()
    np.testing.assert_allclose(result.minutes["clinic"], [(6 + 70 * 2 + 8) / 100, 4.63])
    np.testing.assert_allclose(
        result.minutes["daycare"],
        [(math.hypot(6, 80) + math.hypot(8, 150)) / 100, (155 + math.hypot(8, 150)) / 100],
    )


def test_capacity_counts_only_the_people_a_step_free_route_brings_in_reach():
    """8 minutes: the clinic's 10 places serve H and G (500 per 1,000 each); the step-free
    day care's 10 places serve G alone (1,000 per 1,000) and H none."""
    capacity = _load(step_free=["daycare"]).capacity()
    np.testing.assert_allclose(capacity.per_person["clinic"], [500.0, 500.0])
    np.testing.assert_allclose(capacity.per_person["daycare"], [0.0, 1000.0])
    ratios = capacity.facility_ratio["daycare"]
    assert ratios["demand"].tolist() == [10.0]


def test_service_areas_leave_the_stairs_out_for_step_free_categories():
    """The middle of the stairs, (0, 200), is 10 + 100 + 200 x 2 = 510 m from the clinic, in
    its 8-minute area; 200 m from any other way, outside the step-free day care's."""
    study = _load(step_free=["daycare"])
    areas = service_areas(study.access(), crs=None).set_index("category").geometry
    middle = shapely.Point(X0, Y0 + 200)
    assert areas["clinic"].contains(middle)
    assert not areas["daycare"].contains(middle)
    reach = study.access().by_category["daycare"].edge_reach(800.0).per_edge_m()
    assert reach[3] == 0.0
    assert reach[2] == pytest.approx(300.0)


def test_siting_searches_each_category_on_its_own_graph():
    """A candidate at (-8, 150), 7 minutes: nobody is covered by the existing facilities.

    Clinic: H walks 6 + 70 x 2 (stairs) + 8 = 154 m; G 463 m (see above).
    Day care: the candidate and H both join e0 at node 0: 80.2247 + 150.2131 m; G 305.2131 m.
    """
    study = _load(minutes="clinic=7,daycare=7", step_free=["daycare"])
    result = study.coverage()
    assert result.summary()["covered_population"].tolist() == [0, 0]
    candidates = prepare_candidates(
        result, ["clinic", "daycare"], _frame([{"id": "x", "x": -8.0, "y": 150.0}])
    )
    sets = candidate_coverage(result, candidates, ["clinic", "daycare"])
    got = {
        (sets.categories[g], int(sets.person[e])): d
        for g, e, d in zip(sets.group[sets.element], sets.element, sets.distance_m, strict=True)
    }
    free = math.hypot(8, 150)
    assert got == pytest.approx(
        {
            ("clinic", 0): 154.0,
            ("clinic", 1): 463.0,
            ("daycare", 0): math.hypot(6, 80) + free,
            ("daycare", 1): 155 + free,
        }
    )


def test_the_report_names_the_step_free_categories(tmp_path):
    study = _load(step_free=["daycare"])
    study.report(tmp_path / "en", write_map=False)
    text = (tmp_path / "en" / "report.md").read_text(encoding="utf-8")
    assert "steps walked at 0.5" in text
    assert "step-free routes (steps left out, for prams and wheelchairs) for childcare" in text
    every = _load(step_free=True)
    every.report(tmp_path / "all", write_map=False, lang="zh")
    text = (tmp_path / "all" / "report.md").read_text(encoding="utf-8")
    assert "无障碍路线：不走台阶" in text


def test_unknown_step_free_category_is_refused():
    with pytest.raises(InputError, match=r"--step-free-for.*library"):
        _load(step_free=["library"])


def test_step_free_everywhere_matches_the_old_step_free_graph(helsinki_network):
    """With no person or facility on a staircase, searching step-free categories on the
    step-free graph (snaps carried over) gives exactly what the former engine gave: one
    graph without steps for everything, everything snapped on it."""
    network = helsinki_network
    graph = compact_graph(network, edge_costs(network, None))
    rng = np.random.default_rng(14)
    west, south, east, north = network.nodes.total_bounds
    xy = rng.uniform([west, south], [east, north], size=(400, 2))
    homes = gpd.GeoDataFrame(
        {"population": rng.integers(1, 20, 400).astype(float)},
        geometry=shapely.points(xy),
        crs=network.crs,
    )
    # The first clinic stands on a staircase (the middle of the first steps way).
    steps = network.edges["highway"].to_numpy() == "steps"
    on_stairs = shapely.line_interpolate_point(
        network.edges.geometry.to_numpy()[steps][0], 0.5, normalized=True
    )
    places = shapely.points(rng.uniform([west, south], [east, north], size=(12, 2)))
    places[0] = on_stairs
    facilities = gpd.GeoDataFrame(
        {
            "id": [f"f{i}" for i in range(12)],
            "name": "",
            "category": ["clinic", "daycare", "canteen"] * 4,
        },
        geometry=places,
        crs=network.crs,
    )
    areas = gpd.GeoDataFrame(
        {"area_id": ["all"], "name": ["all"]},
        geometry=[shapely.box(west, south, east, north)],
        crs=network.crs,
    ).to_crs("EPSG:4326")
    old_graph = compact_graph(network, edge_costs(network, None, step_free=True))
    old_people = people_from_points(old_graph, homes)
    old_model = compute_access(old_graph, facilities, categories=["clinic", "daycare", "canteen"])
    old = evaluate_coverage(old_model, old_people, areas, np.full(400, "all", dtype=object))

    people = people_from_points(graph, homes)
    # Some homes' nearest way is a staircase: the carried-over snaps are exercised.
    assert steps[people.snap.edge[people.snap.on_network]].sum() >= 5
    model = compute_access(
        graph,
        facilities,
        categories=["clinic", "daycare", "canteen"],
        step_free=["clinic", "daycare", "canteen"],
        step_free_graph=step_free_graph(graph, network),
    )
    new = evaluate_coverage(model, people, areas, np.full(400, "all", dtype=object))
    for category in ("clinic", "daycare", "canteen"):
        np.testing.assert_array_equal(new.minutes[category], old.minutes[category])
    pd.testing.assert_frame_equal(new.summary(), old.summary())
    pd.testing.assert_frame_equal(
        new.model.facilities.drop(columns="geometry"), old.model.facilities.drop(columns="geometry")
    )


def test_without_a_rule_the_graph_and_snaps_are_the_flat_engine_s():
    """No step-free category: every category searches the one graph with the people's own
    snaps, exactly as before step-free routes existed."""
    study = _load()
    model = study.access()
    assert model.step_free == frozenset()
    for category in model.categories:
        assert model.graph_for(category) is study.graph
        assert model.people_snap(study.people, category) is study.people.snap
    plain = CompactGraph(_block())
    assert step_free_graph(plain, _block()).rates.passable.tolist() == [True] * 3 + [False]
