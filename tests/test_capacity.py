"""Capacity ratios (2SFCA, E2SFCA) worked out by hand on a small street."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from circle.access import CompactGraph
from circle.areas import People
from circle.capacity import E2SFCA_BANDS, DecayBands, capacity_ratios, parse_targets
from circle.coverage import compute_access, evaluate_coverage
from circle.errors import InputError
from circle.walking import Threshold, WalkingProfile
from tests.conftest import METRIC_CRS, X0, Y0, facilities_at, make_network, points

HUNDRED_M_PER_MIN = WalkingProfile("test", 6.0)  # 5 minutes = 500 m


def street_result(facility_rows, capacities, people_rows, *, minutes=5.0, by_category=None):
    network = make_network({i: (500.0 * i, 0.0) for i in range(5)}, [(i, i + 1) for i in range(4)])
    graph = CompactGraph(network)
    facilities = facilities_at(*facility_rows)
    facilities["capacity"] = capacities
    model = compute_access(
        graph,
        facilities,
        profile=HUNDRED_M_PER_MIN,
        thresholds={"daycare": Threshold(minutes=minutes)},
        categories=["daycare"],
    )
    geometry = points(*[(x, 0.0) for x, _ in people_rows])
    people = People(
        geometry,
        np.array([p for _, p in people_rows], dtype=float),
        graph.snap(geometry, max_snap_m=300.0),
        "test",
        by_category=by_category or {},
    )
    areas = gpd.GeoDataFrame(
        {"area_id": ["all"], "name": ["all"]},
        geometry=[shapely.box(X0 - 10, Y0 - 10, X0 + 2010, Y0 + 10)],
        crs=METRIC_CRS,
    ).to_crs("EPSG:4326")
    return evaluate_coverage(
        model, people, areas, np.array(["all"] * len(people_rows), dtype=object)
    )


def test_two_facilities_sharing_a_population():
    # A at x=0 (10 places), B at x=1000 (30 places); 100 people at x=500 reach both.
    result = street_result(
        [("A", "daycare", 0.0, 0.0), ("B", "daycare", 1000.0, 0.0)], [10.0, 30.0], [(500.0, 100)]
    )
    cap = capacity_ratios(result)
    ratios = cap.facility_ratio["daycare"].set_index("id")
    assert ratios.loc["A", "places_per_1000"] == pytest.approx(100.0)  # 10 / 100 people
    assert ratios.loc["B", "places_per_1000"] == pytest.approx(300.0)
    assert cap.per_person["daycare"].tolist() == pytest.approx([400.0])
    # Balance: places x residents = total reachable capacity.
    assert (cap.per_person["daycare"] / 1000 * 100).sum() == pytest.approx(40.0)


def test_one_facility_two_separated_populations():
    # 20 places at x=500; 30 people at x=100 and 70 at x=900, both within 500 m; 50 at 1500 not.
    result = street_result(
        [("A", "daycare", 500.0, 0.0)], [20.0], [(100.0, 30), (900.0, 70), (1500.0, 50)]
    )
    cap = capacity_ratios(result, targets={"daycare": 250.0})
    assert cap.per_person["daycare"].tolist() == pytest.approx([200.0, 200.0, 0.0])
    populations = result.people.population
    assert (cap.per_person["daycare"] / 1000 * populations).sum() == pytest.approx(20.0)
    row = cap.neighbourhoods.iloc[0]
    # Neighbourhood: 20 places for 150 people = 133.3 per 1,000; target 250 -> 37.5 places.
    assert row["daycare_places_per_1000"] == pytest.approx(1000 * 20 / 150)
    assert row["daycare_shortfall_places"] == pytest.approx(0.25 * 150 - 20)
    assert bool(row["daycare_below_target"])


def test_decay_weights_at_the_band_edges():
    minutes = np.array([0.0, 5.0, 5.0001, 10.0, 10.0001, 15.0, 15.0001])
    assert E2SFCA_BANDS.weight(minutes, 15.0).tolist() == [1.0, 1.0, 0.68, 0.68, 0.22, 0.22, 0.0]
    with pytest.raises(InputError, match="decay bands"):
        DecayBands(upper=(0.5, 0.4, 1.0), weights=(1.0, 0.5, 0.2))


def test_enhanced_2sfca_by_hand():
    # 10 places at x=0. a: 10 people at 100 m (band 1); b: 10 people at 400 m (band 3).
    result = street_result([("A", "daycare", 0.0, 0.0)], [10.0], [(100.0, 10), (400.0, 10)])
    cap = capacity_ratios(result, method="e2sfca")
    ratio = 10.0 / (10 * 1.0 + 10 * 0.22)
    assert cap.per_person["daycare"].tolist() == pytest.approx([1000 * ratio, 1000 * ratio * 0.22])


def test_missing_capacity_is_counted_and_left_out():
    result = street_result(
        [("A", "daycare", 0.0, 0.0), ("B", "daycare", 1000.0, 0.0)], [np.nan, 30.0], [(500.0, 100)]
    )
    cap = capacity_ratios(result)
    assert cap.missing_capacity == {"daycare": 1}
    assert cap.per_person["daycare"].tolist() == pytest.approx([300.0])


def test_demand_group_per_category():
    # Nurseries serve children: 5 children among 100 people at x=500.
    result = street_result(
        [("A", "daycare", 0.0, 0.0)],
        [2.0],
        [(500.0, 100)],
        by_category={"daycare": np.array([5.0])},
    )
    cap = capacity_ratios(result)
    assert cap.per_person["daycare"].tolist() == pytest.approx([400.0])  # 2 places / 5 children
    assert result.summary().population.tolist() == [5]


def test_parse_targets():
    assert parse_targets("daycare=3.5", categories=["daycare"]) == {"daycare": 3.5}
    with pytest.raises(InputError, match="unknown category `park`"):
        parse_targets("park=3", categories=["daycare"])
    with pytest.raises(InputError, match="positive number"):
        parse_targets("daycare=-1", categories=["daycare"])


def test_unknown_is_not_zero():
    # No facility has a capacity: the ratios are unknown (NaN), not "0 places".
    result = street_result([("A", "daycare", 0.0, 0.0)], [np.nan], [(100.0, 10)])
    cap = capacity_ratios(result)
    assert np.isnan(cap.per_person["daycare"]).all()
    assert np.isnan(cap.neighbourhoods["daycare_places_per_1000"]).all()
    # A facility that nobody reaches has no ratio; it adds nothing to anyone.
    result = street_result(
        [("A", "daycare", 0.0, 0.0), ("B", "daycare", 2000.0, 0.0)], [10.0, 50.0], [(100.0, 10)]
    )
    cap = capacity_ratios(result)
    ratios = cap.facility_ratio["daycare"].set_index("id")["places_per_1000"]
    assert ratios["A"] == pytest.approx(1000.0)
    assert np.isnan(ratios["B"])
    assert cap.per_person["daycare"].tolist() == pytest.approx([1000.0])


def test_helsinki_report_and_map_include_capacity_when_present(helsinki_pbf, tmp_path):
    import csv

    from circle.datasets import demo_facilities
    from circle.maps import map_html
    from circle.study import Study

    facilities = demo_facilities()
    facilities["capacity"] = np.arange(1, len(facilities) + 1) * 10.0
    study = Study.load(helsinki_pbf, facilities, population_proxy="network")
    cap = study.capacity(targets="clinic=500")
    # Balance on real data: places x residents = the capacity of the clinics anyone reaches.
    result = study.coverage()
    reached = cap.facility_ratio["clinic"]
    reached = reached[reached["demand"] > 0]
    people = result.population("clinic") * result.counted
    assert (cap.per_person["clinic"] / 1000 * people).sum() == pytest.approx(
        reached["capacity"].sum()
    )
    study.report(tmp_path, targets="clinic=500")
    with (tmp_path / "neighbourhoods.csv").open() as f:
        header = next(csv.reader(f))
    assert "clinic_places_per_1000" in header
    assert "clinic_shortfall_places" in header
    assert "places per 1,000 residents" in map_html(study.map())
    # Without capacities there are no capacity columns.
    plain = Study.load(helsinki_pbf, demo_facilities(), population_proxy="network")
    plain.report(tmp_path / "plain")
    with (tmp_path / "plain" / "neighbourhoods.csv").open() as f:
        assert not any("places_per_1000" in h for h in next(csv.reader(f)))
