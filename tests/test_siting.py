"""Siting: candidate coverage by hand, solvers against enumeration, recomputation on real data."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from circle.access import CompactGraph
from circle.areas import People
from circle.coverage import compute_access, evaluate_coverage
from circle.errors import InputError
from circle.facilities import FACILITY_COLUMNS
from circle.siting import (
    GREEDY_GUARANTEE,
    CoverageSets,
    candidate_coverage,
    maximal_covering,
    prepare_candidates,
    read_candidates,
    recommend,
    set_covering,
)
from circle.walking import Threshold
from tests.conftest import (
    HUNDRED_M_PER_MIN,
    METRIC_CRS,
    X0,
    Y0,
    facilities_at,
    make_network,
    points,
    square,
    street_coverage,
)

# ---------------------------------------------------------------------------------------
# Solvers on abstract instances, against enumeration


def best_by_enumeration(sets: CoverageSets, k: int) -> float:
    return max(
        sets.value(combo)
        for size in range(1, min(k, sets.n_sites) + 1)
        for combo in itertools.combinations(range(sets.n_sites), size)
    )


def fewest_by_enumeration(sets: CoverageSets, need: float) -> int:
    for size in range(1, sets.n_sites + 1):
        for combo in itertools.combinations(range(sets.n_sites), size):
            if sets.value(combo) >= need - 1e-9:
                return size
    raise AssertionError("need not reachable")


@st.composite
def instances(draw: st.DrawFn) -> CoverageSets:
    n_sites = draw(st.integers(2, 6))
    n_elements = draw(st.integers(1, 8))
    weights = draw(st.lists(st.integers(1, 20), min_size=n_elements, max_size=n_elements))
    member = draw(
        st.lists(st.booleans(), min_size=n_sites * n_elements, max_size=n_sites * n_elements)
    )
    pairs = [
        (j, e) for j in range(n_sites) for e in range(n_elements) if member[j * n_elements + e]
    ]
    return CoverageSets.from_pairs(
        [p[0] for p in pairs], [p[1] for p in pairs], weights, n_sites=n_sites
    )


@settings(max_examples=40)
@given(sets=instances(), k=st.integers(1, 3))
def test_exact_equals_enumeration_and_greedy_keeps_its_guarantee(sets, k):
    greedy, exact = maximal_covering(sets, k, exact=True, time_limit_s=10)
    optimum = best_by_enumeration(sets, k)
    assert exact is not None
    assert exact.objective == pytest.approx(optimum)
    assert greedy.objective >= GREEDY_GUARANTEE * optimum - 1e-9
    # The reported gains are what the chosen sets really cover, and bounds are bounds.
    assert greedy.objective == pytest.approx(sets.value(greedy.sites))
    assert exact.objective == pytest.approx(sets.value(exact.sites))
    assert len(greedy) <= k
    assert len(exact) <= k
    assert greedy.bound >= optimum - 1e-9
    assert exact.bound >= optimum - 1e-6


@settings(max_examples=30)
@given(sets=instances(), fraction=st.floats(0.05, 1.0))
def test_set_covering_finds_the_fewest_sites(sets, fraction):
    reachable = float(sets.coverable().sum())
    if reachable == 0:
        return
    need = fraction * reachable
    greedy, exact = set_covering(sets, np.array([need]), exact=True, time_limit_s=10)
    fewest = fewest_by_enumeration(sets, need)
    assert exact is not None
    assert len(exact) == fewest
    assert sets.value(exact.sites) >= need - 1e-9
    assert len(greedy) >= fewest
    assert sets.value(greedy.sites) >= need - 1e-9


def test_greedy_is_optimal_on_an_instance_built_for_it():
    # Sites 0 {e0, e1} = 10 and 1 {e2} = 9 are disjoint and the two largest, and every other
    # site is worth less than 9 alone: the best pair is 0 + 1, the order greedy takes.
    weights = [7, 3, 9, 1, 4, 4]
    sets = CoverageSets.from_pairs(
        [0, 0, 1, 2, 3, 4, 4], [0, 1, 2, 3, 4, 5, 1], weights, n_sites=5
    )  # site 2 {e3} = 1, site 3 {e4} = 4, site 4 {e5, e1} = 7 (shares e1 with site 0)
    greedy, exact = maximal_covering(sets, 2, exact=True)
    assert exact is not None
    assert best_by_enumeration(sets, 2) == 10 + 9
    assert greedy.sites.tolist() == [0, 1]
    assert greedy.gain.ravel().tolist() == [10, 9]
    assert exact.objective == greedy.objective == 19


def test_greedy_gap_on_the_classic_bad_instance():
    # A {1,2}, B {3,4}, C {2,3,5}: greedy takes C (2.5) then A or B (+1); optimum A+B = 4.
    sets = CoverageSets.from_pairs(
        [0, 0, 1, 1, 2, 2, 2], [0, 1, 2, 3, 1, 2, 4], [1, 1, 1, 1, 0.5], n_sites=3
    )
    greedy, exact = maximal_covering(sets, 2, exact=True)
    assert exact is not None
    assert greedy.sites[0] == 2
    assert greedy.objective == pytest.approx(3.5)
    assert exact.objective == pytest.approx(4.0)
    assert sorted(exact.sites.tolist()) == [0, 1]
    assert exact.status == "optimal"


def test_capacity_cap_serves_the_nearest_first():
    # One site reaching 5 people at 100 m and 8 at 500 m, room for 6.
    sets = CoverageSets.from_pairs(
        [0, 0], [0, 1], [5, 8], n_sites=1, distance_m=[100.0, 500.0], capacity=np.array([6.0])
    )
    greedy, exact = maximal_covering(sets, 1, exact=True)
    assert exact is not None
    taken = dict(zip(greedy.take_element.tolist(), greedy.take_amount.tolist(), strict=True))
    assert taken == {0: pytest.approx(5.0), 1: pytest.approx(1.0)}
    assert greedy.objective == exact.objective == pytest.approx(6.0)


# ---------------------------------------------------------------------------------------
# A street worked out by hand


def street_candidates(*rows):
    """Candidates (id, x, y, capacity) at relative metre coordinates."""
    return gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [f"site {r[0]}" for r in rows],
            "capacity": [r[3] for r in rows],
        },
        geometry=[shapely.Point(X0 + r[1], Y0 + r[2]) for r in rows],
        crs=METRIC_CRS,
    )


@pytest.fixture
def street():
    # 1 km street, 100 m/min, clinic threshold 3 min (300 m); c1 at x=0 covers the 10 at
    # x=100 (area A); the 20 at (400, 30) (area A) and the 70 at x=800 (area B) are not.
    return street_coverage([("c1", "clinic", 0.0, 0.0)], {"clinic": Threshold(minutes=3)})


def test_street_recommendation_by_hand(street):
    candidates = street_candidates(
        ("a", 800.0, 10.0, np.nan),  # reaches the 70 (leg 10 m)
        ("b", 400.0, 0.0, np.nan),  # reaches the 20 (their leg 30 m) and the 10 (covered)
        ("z", 2.0, 0.0, np.nan),  # 2 m from c1: a duplicate
        ("far", 500.0, 1000.0, np.nan),  # 1 km off the street
    )
    rec = recommend(street, "clinic", k=2, candidates=candidates, exact=True)
    table = rec.table()
    assert table.columns.tolist() == [
        "rank",
        "category",
        "lon",
        "lat",
        "newly_covered",
        "cumulative_covered",
        "covered_share_after",
        "candidate_id",
        "candidate_name",
        "lifted_neighbourhoods",
    ]
    assert table["candidate_id"].tolist() == ["a", "b"]
    assert table["newly_covered"].tolist() == pytest.approx([70.0, 20.0])
    assert table["cumulative_covered"].tolist() == pytest.approx([70.0, 90.0])
    assert table["covered_share_after"].tolist() == [0.8, 1.0]
    # B goes uncovered -> covered with a; A partial (10 of 30) -> covered with b.
    assert table["lifted_neighbourhoods"].tolist() == ["B", "A"]
    unused = rec.unused_candidates.set_index("candidate_id")["reason"]
    assert sorted(unused.index) == ["far", "z"]
    assert unused["z"].startswith("duplicates existing clinic facility `c1`")
    assert unused["far"].startswith("off-network: 1000 m")
    assert rec.solver.status == "optimal"
    assert rec.solver.objective == pytest.approx(90.0)
    assert rec.before["covered_share_before"].tolist() == [0.1]
    assert rec.before["covered_share_after"].tolist() == [1.0]
    facilities = rec.new_facilities()
    assert tuple(facilities.columns) == FACILITY_COLUMNS
    assert facilities["id"].tolist() == ["proposed-1", "proposed-2"]
    assert facilities["name"].tolist() == ["site a", "site b"]


def test_street_gain_is_confirmed_by_rerunning_coverage(street):
    candidates = street_candidates(("a", 800.0, 10.0, np.nan), ("b", 400.0, 0.0, np.nan))
    rec = recommend(street, "clinic", k=2, candidates=candidates)
    assert_gain_confirmed(street, rec)


def test_set_covering_on_the_street(street):
    candidates = street_candidates(("a", 800.0, 10.0, np.nan), ("b", 400.0, 0.0, np.nan))
    rec = recommend(street, "clinic", target_share=0.8, candidates=candidates, exact=True)
    assert rec.n_sites == 1
    assert rec.target_reached
    assert rec.table()["candidate_id"].tolist() == ["a"]
    # 0.95 needs both; with only b the best is 30 of 100.
    only_b = recommend(street, "clinic", target_share=0.95, candidates=candidates.iloc[[1]])
    assert only_b.target_reached is False
    assert only_b.reachable_share == {"clinic": 0.3}
    assert only_b.n_sites == 1
    assert "cannot be reached" in only_b.notes[0]


def two_service_street(capacities=None, *, with_capacity_targets=False):
    """x = 0..2000 m, 100 m/min; clinic 3 min for everyone, canteen 5 min for the elderly.

    People (total, elderly): x=0 (10, 8), x=600 (50, 5), x=1400 (30, 20), x=2000 (40, 1).
    No existing facility. Candidates at x = 0, 500, 1000, 1500, 2000.
    """
    network = make_network({i: (500.0 * i, 0.0) for i in range(5)}, [(i, i + 1) for i in range(4)])
    graph = CompactGraph(network)
    model = compute_access(
        graph,
        facilities_at(("far", "clinic", 5000.0, 0.0)),  # off-network: nobody covered
        profile=HUNDRED_M_PER_MIN,
        thresholds={"canteen": Threshold(minutes=5), "clinic": Threshold(minutes=3)},
        categories=["canteen", "clinic"],
    )
    geometry = points((0.0, 0.0), (600.0, 0.0), (1400.0, 0.0), (2000.0, 0.0))
    people = People(
        geometry,
        np.array([10.0, 50.0, 30.0, 40.0]),
        graph.snap(geometry, max_snap_m=300.0),
        "test",
        by_category={"canteen": np.array([8.0, 5.0, 20.0, 1.0])},
    )
    areas = gpd.GeoDataFrame(
        {"area_id": ["W", "E"], "name": ["west", "east"]},
        geometry=[square(-100, -100, 1000, 100), square(1000, -100, 2100, 100)],
        crs=METRIC_CRS,
    ).to_crs("EPSG:4326")
    result = evaluate_coverage(model, people, areas, np.array(["W", "W", "E", "E"], dtype=object))
    caps = capacities or [np.nan] * 5
    candidates = street_candidates(*[(f"s{x}", float(x), 0.0, c) for x, c in zip(
        (0, 500, 1000, 1500, 2000), caps, strict=True)])  # fmt: skip
    return result, candidates


# What each candidate newly covers, worked out by hand: (clinic people, canteen elderly).
HAND_SETS = {
    "s0": ({0: 10}, {0: 8}),
    "s500": ({1: 50}, {0: 8, 1: 5}),
    "s1000": ({}, {1: 5, 2: 20}),
    "s1500": ({2: 30}, {2: 20, 3: 1}),
    "s2000": ({3: 40}, {3: 1}),
}


def hand_value(sites):
    clinic, canteen = {}, {}
    for s in sites:
        clinic.update(HAND_SETS[s][0])
        canteen.update(HAND_SETS[s][1])
    return sum(clinic.values()) + sum(canteen.values())


def test_candidate_coverage_matches_the_hand_sets():
    result, candidates = two_service_street()
    usable = prepare_candidates(result, ["canteen", "clinic"], candidates)
    sets = candidate_coverage(result, usable, ["canteen", "clinic"])
    ids = usable.table["id"].tolist()
    for j, site in enumerate(ids):
        for g, category in enumerate(sets.categories):
            mine = (sets.site == j) & (sets.group[sets.element] == g)
            persons = sets.person[sets.element[mine]]
            weights = sets.weight[sets.element[mine]]
            expected = HAND_SETS[site][0 if category == "clinic" else 1]
            assert dict(zip(persons.tolist(), weights.tolist(), strict=True)) == expected


@pytest.mark.parametrize("k", [1, 2, 3])
def test_co_location_sums_the_services(k):
    result, candidates = two_service_street()
    rec = recommend(result, "clinic,canteen", k=k, candidates=candidates, exact=True)
    best = max(hand_value(c) for c in itertools.combinations(HAND_SETS, k))
    assert rec.solver.objective == pytest.approx(best)
    table = rec.table()
    assert table["newly_covered"].sum() == pytest.approx(best)
    chosen = list(dict.fromkeys(table["candidate_id"]))
    assert hand_value(chosen) == pytest.approx(best)
    # Each site has one row per service, in category order, and each row is that service's
    # own marginal gain.
    assert table["category"].tolist() == ["canteen", "clinic"] * k
    if k == 1:
        # s500: 50 clinic people + 13 elderly = 63 (the canteen alone would pick s1000: 25).
        assert chosen == ["s500"]
        assert table["newly_covered"].tolist() == pytest.approx([13.0, 50.0])
        assert table["covered_share_after"].tolist() == [round(13 / 34, 4), round(50 / 130, 4)]
        alone = recommend(result, "canteen", k=1, candidates=candidates)
        assert alone.table()["candidate_id"].tolist() == ["s1000"]


def test_capacity_cap_by_hand():
    # Clinic target 100 places per 1,000: capacity 2 serves 20 people, 2.5 serves 25.
    result, candidates = two_service_street([np.nan, 2.0, np.nan, 2.5, 1.0])
    rec = recommend(
        result, "clinic", k=1, candidates=candidates, capacity_aware=True, targets={"clinic": 100}
    )
    # s0 10 (uncapped), s500 min(50, 20), s1500 min(30, 25), s2000 min(40, 10).
    assert rec.table()["candidate_id"].tolist() == ["s1500"]
    assert rec.table()["newly_covered"].tolist() == pytest.approx([25.0])
    exact = recommend(
        result,
        "clinic",
        k=2,
        candidates=candidates,
        capacity_aware=True,
        targets={"clinic": 100},
        exact=True,
    )
    assert exact.solver.objective == pytest.approx(25 + 20)
    # Every site open serves 10 + 20 + 25 + 10 = 65 of 130: a share of 0.5 at most.
    most = recommend(
        result,
        "clinic",
        target_share=1.0,
        candidates=candidates,
        capacity_aware=True,
        targets={"clinic": 100},
        exact=True,
    )
    assert most.reachable_share == {"clinic": 0.5}
    assert most.target_reached is False
    assert most.n_sites == 4
    assert most.table()["cumulative_covered"].iloc[-1] == pytest.approx(65.0)
    with pytest.raises(InputError, match="needs a target ratio for clinic"):
        recommend(result, "clinic", k=1, candidates=candidates, capacity_aware=True)


def test_grid_candidates_lie_on_the_network(street):
    rec = recommend(street, "clinic", k=1, spacing_m=100.0)
    # People at x=100, (400, 30) and 800 fill three 100 m cells.
    assert rec.candidates.source == "grid"
    assert rec.candidates.given == 3
    graph = street.model.graph
    sites = rec.candidates.table.geometry.to_crs(graph.crs).to_numpy()
    # On the network, up to rounding to 6 decimals of a degree (under 0.1 m).
    assert graph.distance_to_network(sites).max() < 0.1
    lonlat = rec.candidates.table.geometry
    assert np.array_equal(lonlat.x.round(6), lonlat.x)
    assert "candidate_id" not in rec.table().columns
    assert rec.table()["newly_covered"].tolist() == pytest.approx([70.0])


# ---------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"k": 0}, "`k`"),
        ({"k": -2}, "`k`"),
        ({"k": 1.5}, "`k`"),
        ({"k": True}, "`k`"),
        ({"target_share": 0.0}, "target-share"),
        ({"target_share": 1.5}, "target-share"),
        ({"target_share": math.nan}, "target-share"),
        ({"k": 2, "target_share": 0.5}, "not both"),
        ({"k": 1, "time_limit_s": 0}, "time_limit_s"),
        ({"k": 1, "spacing_m": -5}, "spacing_m"),
    ],
)
def test_bad_options(street, options, match):
    with pytest.raises(InputError, match=match):
        recommend(street, "clinic", **options)


def test_unknown_category(street):
    with pytest.raises(InputError, match="unknown category `library`"):
        recommend(street, "clinic,library", k=1)


def test_no_candidate_on_the_network(street):
    candidates = street_candidates(("x", 500.0, 1000.0, np.nan), ("y", 0.0, 0.0, np.nan))
    with pytest.raises(InputError, match="none of the 2 candidate sites") as error:
        recommend(street, "clinic", k=1, candidates=candidates)
    assert "\n" not in str(error.value)


def test_empty_and_invalid_candidate_tables(street):
    with pytest.raises(InputError, match="empty"):
        recommend(street, "clinic", k=1, candidates=street_candidates())
    dup = street_candidates(("x", 800.0, 0.0, np.nan), ("x", 400.0, 0.0, -3.0))
    with pytest.raises(InputError, match="duplicate ids") as error:
        recommend(street, "clinic", k=1, candidates=dup)
    assert "`capacity` is not a positive number in row 2" in str(error.value)


def test_read_candidates_csv(tmp_path):
    good = tmp_path / "sites.csv"
    good.write_text("id,name,lon,lat,capacity\nL1,空地,24.94,60.17,30\nL2,,24.95,60.16,\n")
    table = read_candidates(good)
    assert table["id"].tolist() == ["L1", "L2"]
    assert table["name"].tolist() == ["空地", ""]
    assert table["capacity"].tolist()[0] == 30.0
    assert math.isnan(table["capacity"].tolist()[1])
    assert shapely.get_x(table.geometry.to_numpy()).tolist() == [24.94, 24.95]
    numbered = tmp_path / "no_id.csv"
    numbered.write_text("lon,lat\n24.94,60.17\n")
    assert read_candidates(numbered)["id"].tolist() == ["row-1"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("id,lon,lat\n", "has no rows"),
        ("id,lon,lat\nA,24.9,60.1\nB,abc,60.1\n", "row 2"),
        ("id,lon,lat\nA,24.9,60.1\nA,24.8,60.1\n", "duplicate `id`"),
        ("id,lon,lat,capacity\nA,24.9,60.1,-1\n", "`capacity` is not a positive number in row 1"),
        ("id,lon,lat,capacity\nA,24.9,60.1,1e308\n", "`capacity` is above 1,000,000 in row 1"),
        ("id,lon,lat\n,24.9,60.1\n", "give every candidate an id"),
        ("id,x,y\nA,24.9,60.1\n", "no `lon` column"),
    ],
)
def test_read_candidates_reports_bad_rows_in_one_line(tmp_path, text, match):
    path = tmp_path / "sites.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=match) as error:
        read_candidates(path)
    assert "\n" not in str(error.value)


def test_read_candidates_geojson_and_gcj02(tmp_path):
    from circle.coords import gcj02_to_wgs84

    path = tmp_path / "sites.geojson"
    gpd.GeoDataFrame(
        {"id": ["R1", "R2"], "capacity": [12.0, None]},
        geometry=[shapely.Point(104.07, 30.67), shapely.box(104.08, 30.68, 104.09, 30.69)],
        crs="EPSG:4326",
    ).to_file(path)
    table = read_candidates(path, coords="gcj02")
    lon, lat = gcj02_to_wgs84(104.07, 30.67)
    first = table.geometry.iloc[0]
    assert (first.x, first.y) == pytest.approx((lon, lat), abs=1e-9)
    assert table["name"].tolist() == ["", ""]
    broken = tmp_path / "broken.geojson"
    broken.write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"id": "A"}, "geometry": '
        '{"type": "Point", "coordinates": [104.07, 30.67]}},'
        '{"type": "Feature", "properties": {"id": "B"}, "geometry": null}]}'
    )
    with pytest.raises(InputError, match="missing or empty geometry in feature 2"):
        read_candidates(broken)


def test_read_candidates_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_candidates(tmp_path / "nope.geojson")


# ---------------------------------------------------------------------------------------
# Real data: every gain confirmed by recomputing coverage with the sites added


def assert_gain_confirmed(result, rec):
    """Add the first r sites as facilities, rerun coverage: the gain is cumulative_covered."""
    model = result.model
    table = rec.table()
    new = rec.new_facilities()
    existing = model.facilities.to_crs("EPSG:4326")[list(FACILITY_COLUMNS)]
    for rank in sorted(set(table["rank"])):
        added = new.loc[(table["rank"] <= rank).to_numpy()]
        facilities = gpd.GeoDataFrame(
            pd.concat([existing, added], ignore_index=True), crs="EPSG:4326"
        )
        rerun = evaluate_coverage(
            compute_access(
                model.graph,
                facilities,
                profile=model.profile,
                thresholds=model.thresholds,
                max_snap_m=model.max_snap_m,
                categories=model.categories,
            ),
            result.people,
            result.areas,
            result.person_area,
            cutoffs=result.cutoffs,
        )
        for category in rec.categories:
            weights = result.population(category) * result.counted
            gain = weights[rerun.covered(category)].sum() - weights[result.covered(category)].sum()
            row = table.loc[(table["rank"] == rank) & (table["category"] == category)]
            assert gain == pytest.approx(row["cumulative_covered"].iloc[0], rel=1e-9, abs=1e-6)


@pytest.fixture(scope="module")
def helsinki_result(helsinki_pbf):
    from circle.datasets import demo_facilities
    from circle.study import Study

    study = Study.load(helsinki_pbf, demo_facilities(), population_proxy="network", minutes=5)
    return study.coverage()


def test_helsinki_gains_confirmed_by_independent_recomputation(helsinki_result):
    rec = recommend(helsinki_result, "clinic", k=4, exact=True)
    assert rec.n_sites == 4
    assert rec.solver.status == "optimal"
    assert rec.solver.objective >= rec.solver.greedy_objective - 1e-6
    assert_gain_confirmed(helsinki_result, rec)
    greedy = recommend(helsinki_result, "clinic", k=4)
    assert_gain_confirmed(helsinki_result, greedy)


def test_helsinki_co_location_confirmed(helsinki_result):
    rec = recommend(helsinki_result, "canteen,daycare", k=2)
    assert set(rec.table()["category"]) == {"canteen", "daycare"}
    assert_gain_confirmed(helsinki_result, rec)


def test_helsinki_set_covering_reaches_the_target(helsinki_result):
    rec = recommend(helsinki_result, "clinic", target_share=0.8, exact=True)
    assert rec.target_reached
    shares = rec.table()["covered_share_after"].tolist()
    assert shares[-1] >= 0.8
    assert rec.solver.objective <= rec.solver.greedy_objective
