"""Report extras worked out by hand: capacity columns, scenario files, GCJ-02/BD-09 layers."""

from __future__ import annotations

import csv
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from openpyxl import load_workbook
from pyproj import Transformer

from circle.access import CompactGraph
from circle.areas import People
from circle.capacity import capacity_ratios
from circle.comparison import SCENARIO_COLUMNS, scenario_table
from circle.coords import wgs84_to_bd09, wgs84_to_gcj02
from circle.coverage import compute_access, evaluate_coverage
from circle.errors import InputError
from circle.network import WalkNetwork
from circle.report import REPORT_FILES, SCENARIO_FILES, write_report, write_scenarios
from circle.walking import Threshold
from tests.conftest import HUNDRED_M_PER_MIN, street_coverage

INPUTS = {"network": "street.osm", "facilities": "services.csv", "population": "census.csv"}
DAYCARE = "childcare and elderly day care"
CLINIC = "clinic / community health station"


@pytest.fixture
def result():
    """A street x = 0..1000 m walked at 100 m/min; people 10 @ x=100, 20 @ x=400 (30 m off
    the street), 70 @ x=800. Every threshold is 5 minutes (500 m).

    - clinic c1 at x=0 without a capacity; c2 (5 places) 1 km off the street: not used.
    - daycare d1 at x=0 with 6 places (reached by the 10 and the 20: 1.0 and 4.3 min),
      d2 at x=1000 without a capacity (coverage only).
    - bathhouse b1 at x=1000 with 35 seats (reached by the 70 only: 2.0 min).

    Areas: A "west" (x 0..500: 30 people), B "east" (x 500..1000: 70), C "north" (empty).
    """
    return street_coverage(
        [
            ("c1", "clinic", 0.0, 0.0),
            ("c2", "clinic", 500.0, 1000.0),
            ("d1", "daycare", 0.0, 0.0),
            ("d2", "daycare", 1000.0, 0.0),
            ("b1", "bathhouse", 1000.0, 0.0),
        ],
        {c: Threshold(minutes=5.0) for c in ("clinic", "daycare", "bathhouse")},
        capacities=[np.nan, 5.0, 6.0, np.nan, 35.0],
    )


@pytest.fixture
def capacity(result):
    return capacity_ratios(result, targets={"daycare": 100.0}, units={"bathhouse": "seats"})


def read_csv(path):
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def header(sheet):
    return [c.value for c in sheet[1]]


def cell(sheet, row, title):
    return sheet.cell(row=row, column=header(sheet).index(title) + 1)


def method_rows(book, name="Method"):
    return {row[0]: row[1] for row in book[name].iter_rows(min_row=2, values_only=True)}


# ---------------------------------------------------------------------------------------
# Capacity


def test_neighbourhood_capacity_columns_by_hand(result, capacity, tmp_path):
    write_report(result, tmp_path, capacity=capacity)
    a, b, c = read_csv(tmp_path / "neighbourhoods.csv")
    columns = list(a)
    # After each category's status; the clinic has no capacity at all: no columns.
    assert not any(k.startswith("clinic_") and "places" in k for k in columns)
    start = columns.index("daycare_status") + 1
    assert columns[start : start + 4] == [
        "daycare_places_per_1000",
        "daycare_target_per_1000",
        "daycare_shortfall_places",
        "daycare_below_target",
    ]
    assert columns[columns.index("bathhouse_status") + 1 :] == [
        "bathhouse_places_per_1000",  # no target: no target columns
        "complete",
        "missing",
    ]
    # Daycare: d1's 6 places shared by the 30 people of A -> 200 per 1,000; B reaches only
    # d2, which has no capacity -> 0. Target 100: A needs 3 places (has 6), B needs 7.
    daycare = [
        [r[f"daycare_{k}"] for k in ("places_per_1000", "target_per_1000", "shortfall_places")]
        + [r["daycare_below_target"]]
        for r in (a, b, c)
    ]
    assert daycare == [
        ["200.00", "100.00", "0.0", "false"],
        ["0.00", "100.00", "7.0", "true"],
        ["", "100.00", "0.0", "false"],  # nobody lives in C
    ]
    # Bathhouse: 35 seats for the 70 people of B -> 500 per 1,000.
    assert [r["bathhouse_places_per_1000"] for r in (a, b, c)] == ["0.00", "500.00", ""]
    features = json.loads((tmp_path / "neighbourhoods.geojson").read_text(encoding="utf-8"))
    props = features["features"][1]["properties"]
    assert props["daycare_places_per_1000"] == 0.0
    assert props["daycare_shortfall_places"] == 7.0
    assert props["daycare_below_target"] is True
    assert features["features"][2]["properties"]["daycare_places_per_1000"] is None


def test_facility_capacity_columns_by_hand(result, capacity, tmp_path):
    write_report(result, tmp_path, capacity=capacity)
    rows = read_csv(tmp_path / "facilities.csv")
    assert list(rows[0])[-2:] == ["capacity", "places_per_1000"]
    assert [(r["id"], r["capacity"], r["places_per_1000"]) for r in rows] == [
        ("b1", "35.0", "500.00"),  # 35 seats / 70 people
        ("c1", "", ""),  # no capacity
        ("c2", "5.0", ""),  # off the network: not used
        ("d1", "6.0", "200.00"),  # 6 places / 30 people
        ("d2", "", ""),
    ]


def test_enhanced_2sfca_facility_ratio_by_hand(result, tmp_path):
    # 10 people at 1.0 min (weight 1.00), 20 at 4.3 min of 5 (beyond 2/3: 0.22).
    cap = capacity_ratios(result, method="e2sfca", targets={"daycare": 100.0})
    write_report(result, tmp_path, capacity=cap, inputs=INPUTS)
    d1 = {r["id"]: r for r in read_csv(tmp_path / "facilities.csv")}["d1"]
    assert d1["places_per_1000"] == f"{1000 * 6 / (10 * 1.0 + 20 * 0.22):.2f}" == "416.67"
    # One facility: its 6 places still add up over the 30 people of A.
    a = read_csv(tmp_path / "neighbourhoods.csv")[0]
    assert a["daycare_places_per_1000"] == "200.00"
    method = method_rows(load_workbook(tmp_path / "gaps.xlsx"))
    assert method["Places per 1,000 residents"].startswith("enhanced two-step floating")
    assert "≤ 33%: 1.00, ≤ 67%: 0.68, ≤ 100%: 0.22" in method["Places per 1,000 residents"]


def test_capacity_in_the_workbook(result, capacity, tmp_path):
    write_report(result, tmp_path, capacity=capacity, inputs=INPUTS)
    book = load_workbook(tmp_path / "gaps.xlsx")
    areas = book["Neighbourhoods"]
    places = cell(areas, 2, f"{DAYCARE}: places per 1,000 residents")
    assert (places.value, places.number_format) == (200.0, "0.00")
    shortfall = cell(areas, 3, f"{DAYCARE}: shortfall (places)")
    assert (shortfall.value, shortfall.number_format) == (7.0, "#,##0.0")
    below = header(areas).index(f"{DAYCARE}: below target") + 1
    assert [areas.cell(row=r, column=below).value for r in (2, 3, 4)] == ["no", "yes", "no"]
    assert cell(areas, 3, "bathhouse: seats per 1,000 residents").value == 500.0
    facilities = book["Facilities"]
    assert header(facilities)[6:] == [
        "Capacity",
        "Places per 1,000 residents in reach",
        "Longitude",
        "Latitude",
    ]
    assert cell(facilities, 5, "Places per 1,000 residents in reach").value == 200.0
    assert cell(facilities, 3, "Capacity").value is None  # c1: missing
    method = method_rows(book)
    assert method["Places per 1,000 residents"].startswith(
        "two-step floating catchment area (2SFCA"
    )
    assert method["Capacity units"] == f"{DAYCARE}: places; bathhouse: seats"
    assert method["Targets"] == f"{DAYCARE}: 100 places per 1,000 residents"
    assert method["Facility capacities"] == (
        f"{CLINIC}: no capacities given: coverage only; "
        f"{DAYCARE}: 1 of 2 without a capacity: counted for coverage only, "
        "not in places per 1,000; bathhouse: all 1 have a capacity"
    )
    assert method["Software"].startswith("circle ")  # still the last rows
    assert "Coordinates" not in method


def test_capacity_in_the_markdown(result, capacity, tmp_path):
    write_report(result, tmp_path, capacity=capacity, inputs=INPUTS)
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    section = text.split("## Places per 1,000 residents within walking reach")[1]
    section = section.split("## Off-network facilities")[0]
    # Overall daycare: (30 x 200 + 70 x 0) / 100 = 60; bathhouse: 70 x 500 / 100 = 350.
    assert f"| {DAYCARE} | places | 60.00 | 100 | 1 of 2 | 7.0 | 1 |" in section
    assert "| bathhouse | seats | 350.00 | – | – | – | 0 |" in section
    assert CLINIC not in section
    shortfall = section.split(f"### {DAYCARE}: neighbourhoods with the largest shortfall")[1]
    assert "| east (B) | 0.00 | 7.0 |" in shortfall
    assert "west (A)" not in shortfall
    assert f"- **Facility capacities**: {CLINIC}: no capacities given" in text


def test_capacity_in_chinese(result, capacity, tmp_path):
    write_report(result, tmp_path, capacity=capacity, lang="zh")
    book = load_workbook(tmp_path / "gaps.xlsx")
    areas = book["社区单元"]
    assert "托育与日间照料 每千人名额" in header(areas)
    assert "托育与日间照料 缺口（名额）" in header(areas)
    below = header(areas).index("托育与日间照料 低于目标") + 1
    assert [areas.cell(row=r, column=below).value for r in (2, 3)] == ["否", "是"]
    method = method_rows(book, "方法说明")
    assert method["每千人名额"].startswith("两步移动搜寻法（2SFCA")
    assert "托育与日间照料：2 处中 1 处缺少容量" in method["设施容量"]
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| 托育与日间照料 | 名额 | 60.00 | 100 | 1 / 2 | 7.0 | 1 |" in text


def test_without_capacity_the_report_is_unchanged(result, tmp_path):
    write_report(result, tmp_path / "default", inputs=INPUTS)
    write_report(result, tmp_path / "none", inputs=INPUTS, capacity=None, out_coords="wgs84")
    for name in REPORT_FILES:
        if name.endswith(".xlsx"):
            continue
        default = (tmp_path / "default" / name).read_bytes()
        assert default == (tmp_path / "none" / name).read_bytes()
    assert b"places_per_1000" not in (tmp_path / "default" / "facilities.csv").read_bytes()
    book = load_workbook(tmp_path / "none" / "gaps.xlsx")
    assert "Capacity" not in header(book["Facilities"])


def test_capacity_output_is_deterministic(result, capacity, tmp_path):
    for folder in ("one", "two"):
        write_report(result, tmp_path / folder, capacity=capacity, inputs=INPUTS)
    for name in REPORT_FILES:
        if not name.endswith(".xlsx"):
            one = (tmp_path / "one" / name).read_bytes()
            assert one == (tmp_path / "two" / name).read_bytes()


def test_capacity_of_another_result_is_refused(result, tmp_path):
    other = capacity_ratios(shanghai_result())
    with pytest.raises(InputError, match="`capacity` was computed for other"):
        write_report(result, tmp_path, capacity=other)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------
# Scenarios


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "scenario": ["base", "base", "New daycare", "New daycare", "Nobody"],
            "category": ["clinic", "daycare", "clinic", "daycare", "daycare"],
            "label": [CLINIC, DAYCARE, CLINIC, DAYCARE, DAYCARE],
            "threshold_min": [5.0, 5.0, 5.0, 5.0, 5.0],
            "speed_kmh": [6.0, 6.0, 6.0, 6.0, 6.0],
            "facilities": [1, 1, 1, 2, 1],
            "population": [100, 100, 100, 100, 0],
            "covered_population": [30, 10, 30, 80, 0],
            "covered_share": [0.3, 0.1, 0.3, 0.8, np.nan],
            "covered_population_change": [0, 0, 0, 70, -10],
            "covered_share_change": [0.0, 0.0, 0.0, 0.7, np.nan],
        }
    )


def test_scenarios_csv(table, tmp_path):
    written = write_scenarios(table, tmp_path / "out", inputs=INPUTS)
    assert [p.name for p in written] == list(SCENARIO_FILES)
    text = (tmp_path / "out" / "scenarios.csv").read_text(encoding="utf-8")
    assert text == (
        ",".join(SCENARIO_COLUMNS) + "\n"
        f"base,clinic,{CLINIC},5.0,6.0,1,100,30,0.3000,0,0.0000\n"
        f"base,daycare,{DAYCARE},5.0,6.0,1,100,10,0.1000,0,0.0000\n"
        f"New daycare,clinic,{CLINIC},5.0,6.0,1,100,30,0.3000,0,0.0000\n"
        f"New daycare,daycare,{DAYCARE},5.0,6.0,2,100,80,0.8000,70,0.7000\n"
        f"Nobody,daycare,{DAYCARE},5.0,6.0,1,0,0,,-10,\n"
    )
    write_scenarios(table, tmp_path / "again", lang="zh")
    again = (tmp_path / "again" / "scenarios.csv").read_text(encoding="utf-8")
    assert again == text  # stable ids, whatever the language


def test_scenarios_workbook(table, tmp_path):
    write_scenarios(table, tmp_path, inputs=INPUTS)
    book = load_workbook(tmp_path / "scenarios.xlsx")
    assert book.sheetnames == ["Scenarios", "Method"]
    sheet = book["Scenarios"]
    assert sheet.freeze_panes == "B2"
    assert all(c.font.bold for c in sheet[1])
    assert header(sheet) == [
        "Scenario",
        "Category id",
        "Service",
        "Threshold (min)",
        "Walking speed (km/h)",
        "Facilities used",
        "Population",
        "Covered population",
        "Covered share",
        "Change in covered population",
        "Change in covered share",
    ]
    share = cell(sheet, 5, "Covered share")
    assert (share.value, share.number_format) == (0.8, "0.0%")
    change = cell(sheet, 5, "Change in covered share")
    assert (change.value, change.number_format) == (0.7, "+0.0%;-0.0%;0.0%")
    people = cell(sheet, 6, "Change in covered population")
    assert (people.value, people.number_format) == (-10, "+#,##0;-#,##0;0")
    assert cell(sheet, 6, "Covered share").value is None
    assert cell(sheet, 2, "Population").number_format == "#,##0"
    method = method_rows(book)
    assert method["Walking network"] == "street.osm"
    assert method["Population"] == "census.csv"
    assert method["Neighbourhoods"] == "not recorded"
    assert "against the base" in method["Scenarios"]


def test_scenarios_workbook_in_chinese(table, tmp_path):
    write_scenarios(table, tmp_path, lang="zh", inputs=INPUTS)
    book = load_workbook(tmp_path / "scenarios.xlsx")
    assert book.sheetnames == ["情景", "方法说明"]
    sheet = book["情景"]
    assert header(sheet)[:3] == ["情景", "类别", "服务"]
    assert header(sheet)[-4:] == ["覆盖人口", "覆盖率", "覆盖人口变化", "覆盖率变化"]
    assert sheet.cell(row=2, column=1).value == "基准"
    assert sheet.cell(row=4, column=1).value == "New daycare"
    assert method_rows(book, "方法说明")["步行路网"] == "street.osm"


def test_scenarios_from_scenario_table(result, tmp_path):
    table = scenario_table(result, [("same", result)])
    write_scenarios(table, tmp_path)
    rows = read_csv(tmp_path / "scenarios.csv")
    assert [r["scenario"] for r in rows] == ["base"] * 3 + ["same"] * 3
    assert {r["covered_share_change"] for r in rows} == {"0.0000"}


def test_scenarios_refuse_other_tables(table, tmp_path):
    with pytest.raises(InputError, match="`covered_share_change`"):
        write_scenarios(table.drop(columns="covered_share_change"), tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="is a file"):
        write_scenarios(table, tmp_path / "file")


# ---------------------------------------------------------------------------------------
# GCJ-02 and BD-09 layers

#: UTM 51N, where Shanghai is; the street starts at 121.47 E, 31.23 N.
SHANGHAI_CRS = "EPSG:32651"
SX0, SY0 = Transformer.from_crs("EPSG:4326", SHANGHAI_CRS, always_xy=True).transform(121.47, 31.23)


def shanghai_network(coords, edges):
    """Like conftest's make_network, but in Shanghai (UTM 51N)."""
    ids = np.array(sorted(coords), dtype=np.int64)
    nodes = gpd.GeoDataFrame(
        index=pd.Index(ids, name="osmid"),
        geometry=[shapely.Point(SX0 + coords[i][0], SY0 + coords[i][1]) for i in ids],
        crs=SHANGHAI_CRS,
    )
    lines = [
        shapely.LineString(
            [(SX0 + coords[u][0], SY0 + coords[u][1]), (SX0 + coords[v][0], SY0 + coords[v][1])]
        )
        for u, v in edges
    ]
    frame = gpd.GeoDataFrame(
        {
            "u": [u for u, _ in edges],
            "v": [v for _, v in edges],
            "length_m": [line.length for line in lines],
            "highway": "footway",
        },
        geometry=lines,
        crs=SHANGHAI_CRS,
    )
    return WalkNetwork(nodes=nodes, edges=frame, source="test")


def shanghai_result():
    """A 500 m street in Shanghai; a clinic at its start; 40 people 100 m along it."""
    graph = CompactGraph(shanghai_network({0: (0.0, 0.0), 1: (500.0, 0.0)}, [(0, 1)]))
    facilities = gpd.GeoDataFrame(
        {"id": ["c1"], "name": ["c1"], "category": ["clinic"], "capacity": [4.0]},
        geometry=[shapely.Point(SX0, SY0)],
        crs=SHANGHAI_CRS,
    )
    model = compute_access(
        graph,
        facilities,
        profile=HUNDRED_M_PER_MIN,
        thresholds={"clinic": Threshold(minutes=5.0)},
        categories=["clinic"],
    )
    geometry = gpd.GeoSeries([shapely.Point(SX0 + 100.0, SY0)], crs=SHANGHAI_CRS)
    people = People(geometry, np.array([40.0]), graph.snap(geometry, max_snap_m=300.0), "test")
    areas = gpd.GeoDataFrame(
        {"area_id": ["S"], "name": ["Huangpu"]},
        geometry=[shapely.box(SX0 - 50, SY0 - 50, SX0 + 550, SY0 + 50)],
        crs=SHANGHAI_CRS,
    ).to_crs("EPSG:4326")
    return evaluate_coverage(model, people, areas, np.array(["S"], dtype=object))


@pytest.mark.parametrize(
    ("coords", "name", "convert"),
    [("gcj02", "GCJ-02", wgs84_to_gcj02), ("bd09", "BD-09", wgs84_to_bd09)],
)
def test_layers_in_chinese_coordinate_systems(coords, name, convert, tmp_path):
    china = shanghai_result()
    write_report(china, tmp_path, out_coords=coords.upper(), inputs=INPUTS)
    facility = china.facility_table().iloc[0]
    assert facility["lon"] == pytest.approx(121.47) and facility["lat"] == pytest.approx(31.23)
    lon, lat = convert(float(facility["lon"]), float(facility["lat"]))
    row = read_csv(tmp_path / "facilities.csv")[0]
    assert (row["lon"], row["lat"]) == (f"{lon:.6f}", f"{lat:.6f}")
    assert abs(float(row["lon"]) - facility["lon"]) > 1e-3  # a shift of hundreds of metres
    data = json.loads((tmp_path / "neighbourhoods.geojson").read_text(encoding="utf-8"))
    assert data["coordinate_system"] == name
    ring = {tuple(xy) for xy in data["features"][0]["geometry"]["coordinates"][0]}
    vertex = shapely.get_coordinates(china.areas.geometry.iloc[0])[0]
    expected = tuple(round(float(v), 6) for v in convert(float(vertex[0]), float(vertex[1])))
    assert expected in ring
    book = load_workbook(tmp_path / "gaps.xlsx")
    assert header(book["Facilities"])[-2:] == [f"Longitude ({name})", f"Latitude ({name})"]
    method = method_rows(book)
    assert method["Coordinates"].startswith(f"{name} (")
    assert "not WGS-84" in method["Coordinates"]
    assert "RFC 7946" in method["Coordinates"]
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"- **Coordinates**: {name}" in text
    header_row = next(csv.reader([(tmp_path / "facilities.csv").read_text().splitlines()[0]]))
    assert header_row[-2:] == ["lon", "lat"]  # stable ids


def test_wgs84_layers_have_no_coordinate_system_member(tmp_path):
    write_report(shanghai_result(), tmp_path)
    data = json.loads((tmp_path / "neighbourhoods.geojson").read_text(encoding="utf-8"))
    assert "coordinate_system" not in data
    assert list(data) == ["type", "attribution", "features"]


def test_unknown_coordinate_system_is_refused(result, tmp_path):
    with pytest.raises(InputError, match="not a known coordinate system"):
        write_report(result, tmp_path, out_coords="utm")
    assert list(tmp_path.iterdir()) == []


def test_capacity_and_gcj02_together(tmp_path):
    china = shanghai_result()
    write_report(
        china,
        tmp_path,
        capacity=capacity_ratios(china, targets={"clinic": 50.0}),
        out_coords="gcj02",
    )
    # 4 places for 40 people: 100 per 1,000, above the target of 50.
    row = read_csv(tmp_path / "neighbourhoods.csv")[0]
    assert (row["clinic_places_per_1000"], row["clinic_shortfall_places"]) == ("100.00", "0.0")
    facility = read_csv(tmp_path / "facilities.csv")[0]
    assert (facility["capacity"], facility["places_per_1000"]) == ("4.0", "100.00")
    assert list(facility)[-4:] == ["lon", "lat", "capacity", "places_per_1000"]
