"""Scenario edits and comparisons, pinned on a small hand-made study."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from circle.access import CompactGraph
from circle.areas import People
from circle.comparison import compare, scenario_table
from circle.errors import InputError
from circle.scenario import Scenario, load_scenarios
from circle.study import Study
from circle.walking import Threshold, WalkingProfile
from tests.conftest import METRIC_CRS, X0, Y0, facilities_at, make_network, points

HUNDRED_M_PER_MIN = WalkingProfile("test", 6.0)


def lonlat(x, y):
    p = gpd.GeoSeries([shapely.Point(X0 + x, Y0 + y)], crs=METRIC_CRS).to_crs("EPSG:4326")
    return float(p.x.iloc[0]), float(p.y.iloc[0])


@pytest.fixture
def study():
    """A 2 km street, x = 0..2000. Clinics a (x=0) and b (x=1000); people every 250 m.

    Threshold 5 min at 100 m/min = 500 m. Areas: W (x < 1000) and E (x >= 1000).
    """
    coords = {i: (500.0 * i, 0.0) for i in range(5)}
    network = make_network(coords, [(i, i + 1) for i in range(4)])
    graph = CompactGraph(network)
    facilities = facilities_at(("a", "clinic", 0.0, 0.0), ("b", "clinic", 1000.0, 0.0)).to_crs(
        "EPSG:4326"
    )
    xs = [0.0, 250.0, 500.0, 750.0, 1250.0, 1500.0, 1750.0, 2000.0]
    geometry = points(*[(x, 0.0) for x in xs])
    people = People(
        geometry, np.full(len(xs), 10.0), graph.snap(geometry, max_snap_m=300.0), "test"
    )
    areas = gpd.GeoDataFrame(
        {"area_id": ["E", "W"], "name": ["east", "west"]},
        geometry=[
            shapely.box(X0 + 1000, Y0 - 50, X0 + 2100, Y0 + 50),
            shapely.box(X0 - 100, Y0 - 50, X0 + 1000, Y0 + 50),
        ],
        crs=METRIC_CRS,
    ).to_crs("EPSG:4326")
    person_area = np.array(["W"] * 4 + ["E"] * 4, dtype=object)
    return Study(
        network=network,
        graph=graph,
        facilities=facilities,
        areas=areas,
        people=people,
        person_area=person_area,
        profile=HUNDRED_M_PER_MIN,
        thresholds={"clinic": Threshold(minutes=5.0)},
    )


def covered_people(study, category="clinic"):
    return study.coverage().covered(category).tolist()


def test_base_case_by_hand(study):
    # a covers x <= 500, b covers 500..1500: people at 0..1500 covered, 1750 and 2000 not.
    assert covered_people(study) == [True] * 6 + [False, False]
    assert study.coverage().summary().covered_population.tolist() == [60]


def test_closing_a_facility_uncovers_exactly_the_people_it_alone_served(study):
    closed = study.scenario(close=["b"])
    # b alone served 750, 1250, 1500; 500 is within reach of a (exactly 500 m).
    assert covered_people(closed) == [True, True, True, False, False, False, False, False]
    comparison = compare(study.coverage(), closed.coverage())
    row = comparison.categories.set_index("category").loc["clinic"]
    assert row.covered_population_change == -30
    assert row.covered_share_change == pytest.approx(-30 / 80, abs=1e-4)
    newly = comparison.newly_uncovered()
    assert newly.area_id.tolist() == ["E"]
    # W keeps 3 of 4 people (75 %): it drops from covered to partial.
    worse = comparison.changed.set_index("area_id").loc["W"]
    assert (worse.status_base, worse.status_other, worse.change) == ("covered", "partial", "worse")


def test_adding_a_facility_covers_the_gap(study):
    x, y = lonlat(2000.0, 0.0)
    added = study.scenario(add=[{"id": "c", "category": "社区卫生服务站", "lon": x, "lat": y}])
    assert covered_people(added) == [True] * 8
    assert compare(study.coverage(), added.coverage()).newly_covered().area_id.tolist() == ["E"]
    with pytest.raises(InputError, match="reuses existing facility ids a"):
        study.scenario(add=[{"id": "a", "category": "clinic", "lon": x, "lat": y}])


def test_moving_a_facility(study):
    x, y = lonlat(1500.0, 0.0)
    moved = study.scenario(move={"b": (x, y)})
    # a: 0..500; b at 1500: 1000..2000. 750 is now 750 m from both.
    assert covered_people(moved) == [True, True, True, False, True, True, True, True]


def test_thresholds_and_profiles(study):
    longer = study.scenario(minutes={"clinic": 7.5})  # 750 m
    assert covered_people(longer) == [True] * 7 + [False]
    slower = study.scenario(speed_kmh=3.0)  # 50 m/min: 250 m in 5 min
    assert covered_people(slower) == [True, True, False, True, True, False, False, False]
    assert slower.coverage().summary().covered_population.iloc[0] <= 60
    assert slower.profile.speed_kmh == 3.0
    # The base study is untouched.
    assert covered_people(study) == [True] * 6 + [False, False]


def test_restricting_to_a_sub_area(study):
    east = study.scenario(areas=["E"])
    summary = east.coverage().summary().iloc[0]
    assert (summary.population, summary.covered_population) == (40, 20)
    with pytest.raises(InputError, match="unknown neighbourhood ids N"):
        study.scenario(areas=["N"])


def test_unknown_ids_in_edits(study):
    with pytest.raises(InputError, match=r"scenario `x`.*unknown facility ids `zz`"):
        study.scenario(Scenario(name="x", close=["zz"]))


def test_scenario_table(study):
    table = scenario_table(study.coverage(), [("close b", study.scenario(close=["b"]).coverage())])
    assert table.scenario.tolist() == ["base", "close b"]
    assert table.covered_population_change.tolist() == [0, -30]


def test_slower_walking_never_covers_more_people_on_real_data(helsinki_pbf):
    from circle.datasets import demo_facilities

    base = Study.load(helsinki_pbf, demo_facilities(), population_proxy="network")
    elderly = base.scenario(profile="elderly")
    for category in ("clinic", "daycare"):
        fast = base.coverage().covered(category)
        slow = elderly.coverage().covered(category)
        assert not (slow & ~fast).any()
        assert slow.sum() < fast.sum()


TOML = """
[[scenario]]
name = "elderly"
profile = "elderly"

[[scenario]]
name = "new clinic"
add = [{{ id = "c", category = "clinic", lon = {x}, lat = {y} }}]
close = ["a"]
minutes = {{ clinic = 10 }}
"""


def test_load_and_apply_toml(tmp_path, study):
    x, y = lonlat(2000.0, 0.0)
    path = tmp_path / "s.toml"
    path.write_text(TOML.format(x=x, y=y))
    scenarios = load_scenarios(path)
    assert [s.name for s in scenarios] == ["elderly", "new clinic"]
    new = study.scenario(scenarios[1])
    assert new.thresholds["clinic"].minutes == 10
    assert sorted(new.facilities.id) == ["b", "c"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[scenario]]\nname = "s1"\nclose = ["nope"]\n',
            r"scenario `s1`.*unknown facility ids `nope`",
        ),
        (
            '[[scenario]]\nname = "s2"\nminutes = { park = 10 }\n',
            r"scenario `s2`.*unknown category `park`",
        ),
        (
            '[[scenario]]\nname = "s3"\nminutes = { clinic = -5 }\n',
            r"scenario `s3`, `minutes.clinic`: must be a positive",
        ),
        (
            '[[scenario]]\nname = "s4"\nminutes = -5\n',
            r"scenario `s4`, `minutes`: must be a positive",
        ),
        ('[[scenario]]\nname = "s5"\nspeed = 3\n', r"scenario `s5`: unknown field\(s\) speed"),
        ("[[scenario]\n", "is not valid TOML"),
        ('title = "x"\n', "has no `\\[\\[scenario\\]\\]` tables"),
    ],
)
def test_toml_mistakes_name_the_scenario_and_field(tmp_path, study, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        for scenario in load_scenarios(path):
            study.scenario(scenario)


def test_sub_area_scenarios_compare_with_the_same_sub_area(study):
    east = study.scenario(areas=["E"])
    row = compare(study.coverage(), east.coverage()).categories.iloc[0]
    # Same facilities, same people in E: nothing changed (not "-40 people").
    assert (row.covered_population_base, row.covered_population, row.covered_population_change) == (
        20,
        20,
        0,
    )
    table = scenario_table(study.coverage(), [("east only", east.coverage())])
    assert table.covered_population_change.tolist() == [0, 0]
    closed = study.scenario(areas=["E"], close=["b"])
    row = compare(study.coverage(), closed.coverage()).categories.iloc[0]
    assert row.covered_population_change == -20  # 1250 and 1500 lose b
