"""The façade: `Study.load` validates what it is given, and its answers match recomputations."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import circle
from circle.errors import InputError
from circle.report import REPORT_FILES
from circle.study import MAP_FILE, Study
from tests.conftest import METRIC_CRS, X0, Y0, make_network, plane_raster, square

#: 6 km/h: 100 m per minute, so 5 minutes are 500 m.
SPEED_KMH = 6.0


def _street():
    """A 2 km street, nodes every 500 m (x = 0..2000)."""
    return make_network({i: (500.0 * i, 0.0) for i in range(5)}, [(i, i + 1) for i in range(4)])


def _points(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k not in ("x", "y")} for r in rows],
        geometry=[shapely.Point(X0 + r["x"], Y0 + r["y"]) for r in rows],
        crs=METRIC_CRS,
    )


def _facilities() -> gpd.GeoDataFrame:
    """Two clinics written as a planner might: an alias and stray spaces, no capacity column."""
    return _points(
        [
            {"id": "a", "category": " Clinic ", "x": 0.0, "y": 0.0},
            {"id": "b", "category": "诊所", "x": 1000.0, "y": 0.0},
        ]
    )


def _people() -> gpd.GeoDataFrame:
    """10 people every 250 m from x = 0 to 2000."""
    return _points([{"population": 10.0, "x": x, "y": 0.0} for x in range(0, 2001, 250)])


def _areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["W", "E"]},
        geometry=[square(-100, -50, 999, 50), square(999, -50, 2100, 50)],
        crs=METRIC_CRS,
    )


def _load(**options) -> Study:
    settings = {
        "areas": _areas(),
        "area_id_field": "code",
        "population": _people(),
        "minutes": "clinic=5",
        "speed_kmh": SPEED_KMH,
        "categories": ["clinic"],
    }
    settings.update(options)
    facilities = settings.pop("facilities", _facilities())
    return Study.load(_street(), facilities, **settings)


def test_public_api_is_exported_from_the_package():
    for name in ("Study", "Scenario", "compare", "CoverageResult", "Threshold", "WalkingProfile"):
        assert name in circle.__all__
        assert getattr(circle, name) is not None
    assert issubclass(circle.InputError, circle.CircleError)
    assert circle.Study is Study


def test_geodataframe_facilities_are_validated_like_files():
    given = _facilities()
    before = given.copy()
    study = _load(facilities=given)
    assert list(study.facilities["category"]) == ["clinic", "clinic"]
    assert list(study.facilities.columns) == ["id", "name", "category", "capacity", "geometry"]
    assert study.facilities["capacity"].isna().all()
    assert study.facilities.crs.to_epsg() == 4326
    pd.testing.assert_frame_equal(given, before)  # the planner's table is not modified


def test_report_and_map_work_without_a_capacity_column(tmp_path):
    study = _load()
    written = study.report(tmp_path / "out")
    assert [p.name for p in written] == [*REPORT_FILES, MAP_FILE]
    assert all(p.is_file() for p in written)


def test_coverage_worked_out_by_hand():
    """Clinics at 0 and 1000 m, 500 m reach: people at 0..1500 are covered, 1750 and 2000 not."""
    summary = _load().coverage().summary().set_index("category")
    assert summary.loc["clinic", "population"] == 90
    assert summary.loc["clinic", "covered_population"] == 70
    assert summary.loc["clinic", "covered_share"] == pytest.approx(70 / 90, abs=1e-4)
    table = _load().coverage().neighbourhood_table().set_index("area_id")
    assert table.loc["W", "clinic_covered_share"] == 1.0
    assert table.loc["E", "clinic_covered_share"] == pytest.approx(3 / 5)


@pytest.mark.parametrize(
    ("facilities", "message"),
    [
        (
            _points(
                [
                    {"id": "a", "category": "clinic", "x": 0.0, "y": 0.0},
                    {"id": "a", "category": "clinic", "x": 10.0, "y": 0.0},
                ]
            ),
            "duplicate `id`",
        ),
        (_points([{"id": "a", "category": "", "x": 0.0, "y": 0.0}]), "empty `category`"),
        (_points([{"id": "a", "kind": "clinic", "x": 0.0, "y": 0.0}]), "no `category` column"),
    ],
)
def test_bad_geodataframes_are_refused(facilities, message):
    with pytest.raises(InputError, match=message):
        _load(facilities=facilities)


def test_unknown_category_is_refused_with_the_known_ones():
    with pytest.raises(InputError, match=r"unknown category `clinc`.*canteen, clinic"):
        _load(categories=["clinc"])


def test_areas_geodataframe_is_validated():
    areas = _areas()
    areas.loc[1, "code"] = "W"
    with pytest.raises(InputError, match="duplicate ids"):
        _load(areas=areas)


def test_scenario_equals_a_fresh_study_without_the_facility():
    """Closing clinic b must give what loading the study without b gives."""
    closed = _load().scenario(close=["b"]).coverage().summary()
    fresh = _load(facilities=_facilities().iloc[[0]]).coverage().summary()
    pd.testing.assert_frame_equal(closed, fresh)
    assert closed.loc[0, "covered_population"] == 30  # x = 0, 250, 500


def test_scenario_adds_a_facility_in_the_studys_coordinates():
    lon, lat = (
        gpd.GeoSeries([shapely.Point(X0 + 2000, Y0)], crs=METRIC_CRS).to_crs(4326).iloc[0].coords[0]
    )
    added = _load().scenario(add=[{"id": "c", "category": "clinic", "lon": lon, "lat": lat}])
    assert added.coverage().summary().loc[0, "covered_population"] == 90
    comparison = added.compare_with(_load())
    assert list(comparison.newly_covered()["area_id"]) == ["E"]


def test_run_scenarios_writes_tables_and_maps(tmp_path):
    study = _load()
    scenarios = [
        circle.Scenario(name="No b", close=["b"]),
        circle.Scenario(name="Slow", speed_kmh=3),
    ]
    run = study.run_scenarios(scenarios, tmp_path, lang="zh")
    assert [p.name for p in run.tables] == ["scenarios.csv", "scenarios.xlsx"]
    assert [p.name for p in run.maps] == ["base.html", "01-no-b.html", "02-slow.html"]
    base = run.table[run.table["scenario"] == "base"]
    assert int(base["covered_population"].iloc[0]) == 70
    slow = run.table[run.table["scenario"] == "Slow"]
    # 3 km/h: 250 m in 5 minutes; people at 0, 250, 750, 1000, 1250 are covered.
    assert int(slow["covered_population"].iloc[0]) == 50
    assert int(slow["covered_population_change"].iloc[0]) == -20


def test_bad_scenario_fails_before_anything_is_written(tmp_path):
    scenarios = [circle.Scenario(name="ok"), circle.Scenario(name="bad", close=["zz"])]
    with pytest.raises(InputError, match="unknown facility ids `zz`"):
        _load().run_scenarios(scenarios, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_restricted_study_counts_only_its_areas():
    east = _load().restricted_to(["E"]).coverage().summary()
    assert east.loc[0, "population"] == 50
    assert east.loc[0, "covered_population"] == 30


def test_network_summary_counts_reachable_length():
    summary = _load().network_summary().set_index("category")
    # 500 m around 0 and 1000: x = 0..1500 of the 2000 m street.
    assert summary.loc["clinic", "reachable_km"] == pytest.approx(1.5)
    assert np.isclose(summary.loc["clinic", "reachable_share"], 0.75)


# ---------------------------------------------------------------------------------------
# Slope-aware walking through the façade


def _hill(tmp_path):
    """A plane rising 10 % toward +x over the whole street (50 m cells, 5 km wide)."""
    return plane_raster(
        tmp_path / "hill.tif", crs=METRIC_CRS, origin=(X0, Y0), slope_x=0.1, cell=50.0, size=100
    )


def _top_clinic() -> gpd.GeoDataFrame:
    return _points([{"id": "top", "category": "clinic", "x": 2000.0, "y": 0.0}])


def test_homes_below_a_hilltop_clinic_walk_uphill(tmp_path):
    """Home -> clinic is uphill at 10 %: Tobler's rate exp(3.5 (0.15 - 0.05)) = 1.419.

    5 minutes at 100 m/min reach 500 m on the flat (x >= 1500: 30 people) but only
    500 / 1.419 = 352 m uphill (x >= 1750: 20 people).
    """
    flat = _load(facilities=_top_clinic())
    hilly = _load(facilities=_top_clinic(), dem=_hill(tmp_path))
    assert flat.coverage().summary().loc[0, "covered_population"] == 30
    assert hilly.coverage().summary().loc[0, "covered_population"] == 20
    # Setting the DEM aside gives the flat study back; the comparison names the loss.
    back = hilly.scenario(dem=None)
    assert back.coverage().summary().loc[0, "covered_population"] == 30
    comparison = hilly.compare_with(back)
    assert comparison.categories.loc[0, "covered_population_change"] == -10
    east = hilly.coverage().neighbourhood_table().set_index("area_id").loc["E"]
    assert east["clinic_covered_share"] == pytest.approx(2 / 5)  # 3 / 5 on the flat
    assert comparison.changed.empty  # both partial: no status changes


def test_downhill_to_a_clinic_at_the_bottom_is_walked_faster_than_uphill(tmp_path):
    """Home -> clinic downhill at 10 % is Tobler's optimum: exactly the flat speed."""
    flat = _load(facilities=_facilities().iloc[[0]]).coverage().summary()
    hilly = _load(facilities=_facilities().iloc[[0]], dem=_hill(tmp_path)).coverage().summary()
    pd.testing.assert_frame_equal(flat, hilly)


def test_the_report_says_slopes_were_used(tmp_path):
    study = _load(facilities=_top_clinic(), dem=_hill(tmp_path))
    study.report(tmp_path / "out", write_map=False)
    text = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "hill.tif" in text
    assert "Tobler" in text
    assert "from home to facility" in text
    assert "steps walked at 0.5" in text


def test_step_free_and_a_missing_dem(tmp_path):
    with pytest.raises(InputError, match=r"nope\.tif"):
        _load(dem=tmp_path / "nope.tif")
    step_free = _load(step_free=True)
    # Step-free routes need no DEM and no steps factor: the graph is the flat one.
    assert step_free.terrain is None
    assert step_free.step_free is True
    assert step_free.access().step_free == set(step_free.categories)
    # The street has no steps: the same coverage as without the rule.
    pd.testing.assert_frame_equal(step_free.coverage().summary(), _load().coverage().summary())


def test_andorra_report_shows_the_drop_from_flat_to_hilly_for_elderly_walkers(
    andorra_pbf, tmp_path
):
    """The scenarios report of a hilly study against `slopes = false` shows what hills cost."""
    tile = andorra_pbf.parent / "N42E001.hgt.zip"
    if not tile.is_file():
        pytest.skip("the SRTM tile of Andorra is not present")
    from circle.osm_tags import facilities_from_osm

    clinics = facilities_from_osm(andorra_pbf)
    study = Study.load(
        andorra_pbf,
        clinics,
        profile="elderly",
        population_proxy="network",
        categories=["clinic"],
        dem=tile,
    )
    run = study.run_scenarios([circle.Scenario(name="flat", slopes=False)], tmp_path)
    rows = run.table.set_index("scenario")
    change = int(rows.loc["flat", "covered_population_change"])
    assert change > 0  # on the flat, more people reach a clinic
    flat = study.scenario(dem=None).coverage().summary()
    assert int(flat.loc[0, "covered_population"]) == int(rows.loc["flat", "covered_population"])
    text = (tmp_path / "scenarios.csv").read_text(encoding="utf-8")
    assert "flat,clinic," in text


def test_scenarios_redraw_only_the_service_areas_they_change(monkeypatch):
    """One builder serves the study and its scenarios: unchanged categories are not drawn."""
    from circle.isochrones import ServiceAreaBuilder

    drawn = []
    original = ServiceAreaBuilder._prepare  # every area drawn is prepared once

    def counting(self, reach):
        drawn.append(reach)
        return original(self, reach)

    monkeypatch.setattr(ServiceAreaBuilder, "_prepare", counting)
    study = _load(
        categories=None,
        facilities=_points(
            [
                {"id": "a", "category": "clinic", "x": 0.0, "y": 0.0},
                {"id": "d", "category": "daycare", "x": 2000.0, "y": 0.0},
            ]
        ),
    )
    study.service_areas()
    first = len(drawn)
    assert first == 2  # clinic and daycare; the categories without facilities reach nothing
    changed = study.scenario(minutes="clinic=3").service_areas()
    assert len(drawn) == first + 1  # only the clinic's area is drawn again
    before = study.service_areas().set_index("category").geometry
    after = changed.set_index("category").geometry
    assert after["daycare"].equals(before["daycare"])
    assert after["clinic"].area < before["clinic"].area


def test_no_facility_at_all_is_zero_coverage_not_an_error():
    """A place with no facility near it (a batch area) is reached by nobody: 0 %, all uncovered."""
    study = _load(facilities=_facilities().iloc[0:0], categories=["clinic"])
    summary = study.coverage().summary().set_index("category")
    assert summary.loc["clinic", "facilities"] == 0
    assert summary.loc["clinic", "covered_population"] == 0
    assert summary.loc["clinic", "uncovered_neighbourhoods"] == 2


def test_people_outside_a_sub_area_are_logged_not_warned(caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="circle.coverage"):
        _load().restricted_to(["E"]).coverage()
    outside = [r for r in caplog.records if "lie outside every neighbourhood" in r.message]
    assert [r.levelname for r in outside] == ["INFO"]


def test_areas_drawn_while_the_study_loads_are_the_same_and_drawn_once(monkeypatch):
    """`draw_service_areas` starts the drawing before people load; the study then waits for
    it (no second drawing) and gets the areas and coverage a plain study gets."""
    from circle import study as study_module

    events: list[str] = []
    start, load_people = study_module._start_drawing, study_module._load_people

    def started(*args, **kwargs):
        events.append("drawing")
        return start(*args, **kwargs)

    def people(*args, **kwargs):
        events.append("people")
        return load_people(*args, **kwargs)

    monkeypatch.setattr(study_module, "_start_drawing", started)
    monkeypatch.setattr(study_module, "_load_people", people)
    facilities = _points(
        [
            {"id": "a", "category": "clinic", "x": 0.0, "y": 0.0},
            {"id": "d", "category": "daycare", "x": 2000.0, "y": 0.0},
        ]
    )
    early = _load(categories=None, facilities=facilities, draw_service_areas=True)
    assert events == ["drawing", "people"]
    plain = _load(categories=None, facilities=facilities)
    assert events == ["drawing", "people", "people"]
    plain_areas = plain.service_areas()
    early.map()  # waits for the drawing under way
    early_areas = early.service_areas()
    assert events.count("drawing") == 2  # one each: nothing started twice
    pd.testing.assert_frame_equal(
        early_areas.drop(columns="geometry"), plain_areas.drop(columns="geometry")
    )
    assert bool(early_areas.geometry.geom_equals_exact(plain_areas.geometry, 0.0).all())
    pd.testing.assert_frame_equal(early.coverage().summary(), plain.coverage().summary())


def test_step_free_searches_started_early_match_the_plain_ones():
    facilities = _points(
        [
            {"id": "a", "category": "clinic", "x": 0.0, "y": 0.0},
            {"id": "d", "category": "daycare", "x": 2000.0, "y": 0.0},
        ]
    )
    options = {"categories": None, "facilities": facilities, "step_free": ["daycare"]}
    early = _load(**options, draw_service_areas=True)
    plain = _load(**options)
    for category in plain.categories:
        mine, theirs = early.access().by_category[category], plain.access().by_category[category]
        np.testing.assert_array_equal(mine.distance_m, theirs.distance_m)
        np.testing.assert_array_equal(mine.facility, theirs.facility)
    assert early.access().by_category["daycare"].graph is early.step_free_graph()
    assert early.step_free_categories == plain.step_free_categories == ["daycare"]
