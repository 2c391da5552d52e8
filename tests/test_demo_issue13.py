"""Issue 13: Chengdu demo, honest units, population rasters, per-category profiles, metres."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin

from circle.cli import cli
from circle.datasets import REPO_DATA, chengdu_pbf, demo_facilities
from circle.study import Study
from circle.walking import ELDERLY, Threshold, parse_profiles
from tests.conftest import METRIC_CRS, X0, Y0, facilities_at, make_network

STREET = {1: (0.0, 0.0), 2: (200.0, 0.0), 3: (400.0, 0.0)}


def _street():
    return make_network(STREET, [(1, 2), (2, 3)])


def _raster(path, values, *, crs=METRIC_CRS, transform=None, nodata=-1.0):
    array = np.asarray(values, dtype="float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=array.shape[0],
        width=array.shape[1],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform or from_origin(X0, Y0 + 100, 200, 200),
        nodata=nodata,
    ) as dst:
        dst.write(array, 1)
    return path


# --- population rasters ------------------------------------------------------------------


def test_raster_cells_spread_over_the_network_inside_them(tmp_path):
    # Row 1: 100 people on the left half of the street, 300 on the right, a negative cell
    # (water in some products) beyond its end; row 2 is nodata below the street.
    tif = _raster(tmp_path / "pop.tif", [[100, 300, -99999], [-1, -1, -1]])
    study = Study.load(
        _street(),
        facilities_at(("c1", "clinic", 0.0, 0.0)),
        population=tif,
        minutes={"clinic": Threshold(metres=200)},
        categories=["clinic"],
    )
    assert study.people.total == pytest.approx(400)
    row = study.coverage().summary().set_index("category").loc["clinic"]
    # The left cell's people live on the first 200 m, all within 200 m of the clinic.
    assert row["population"] == 400
    assert row["covered_population"] == 100
    assert row["covered_share"] == pytest.approx(0.25)
    assert study.people.unit == "people"
    assert "pop.tif" in study.people.describe("en")


def test_raster_in_another_crs_keeps_the_total(tmp_path):
    # One WGS-84 cell around the whole street: every person lands on the street.
    import geopandas as gpd
    import shapely

    corner = gpd.GeoSeries([shapely.Point(X0 - 100, Y0 + 100)], crs=METRIC_CRS).to_crs(4326)
    lon, lat = corner.x.iloc[0], corner.y.iloc[0]
    tif = _raster(
        tmp_path / "wgs.tif",
        [[1234.0]],
        crs="EPSG:4326",
        transform=from_origin(lon, lat, 0.02, 0.01),
    )
    study = Study.load(_street(), facilities_at(("c1", "clinic", 0.0, 0.0)), population=tif)
    assert study.people.total == pytest.approx(1234.0)
    assert len(study.people) > 10  # spread along the street, not one point


def test_raster_without_crs_or_people_is_refused(tmp_path):
    from circle.errors import InputError

    path = tmp_path / "nocrs.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=1,
        width=1,
        count=1,
        dtype="float32",
        transform=from_origin(X0, Y0 + 100, 200, 200),
    ) as dst:
        dst.write(np.ones((1, 1), dtype="float32"), 1)
    with pytest.raises(InputError, match="no coordinate system"):
        Study.load(_street(), facilities_at(("c1", "clinic", 0.0, 0.0)), population=path)
    empty = _raster(tmp_path / "empty.tif", [[0, -5, -1]])
    with pytest.raises(InputError, match="no people"):
        Study.load(_street(), facilities_at(("c1", "clinic", 0.0, 0.0)), population=empty)


# --- walking profile per category --------------------------------------------------------


def test_profile_per_category_walks_each_category_at_its_speed():
    facilities = facilities_at(("c1", "clinic", 0.0, 0.0), ("k1", "canteen", 0.0, 0.0))
    both = Study.load(_street(), facilities, profile="canteen=elderly", minutes=3)
    summary = both.coverage().summary().set_index("category")
    assert summary.loc["canteen", "speed_kmh"] == ELDERLY.speed_kmh
    assert summary.loc["clinic", "speed_kmh"] == both.profile.speed_kmh
    # Each category matches a one-profile run at its own speed.
    adult = Study.load(_street(), facilities, minutes=3).coverage().summary().set_index("category")
    elderly = (
        Study.load(_street(), facilities, profile="elderly", minutes=3)
        .coverage()
        .summary()
        .set_index("category")
    )
    assert summary.loc["clinic", "covered_share"] == adult.loc["clinic", "covered_share"]
    assert summary.loc["canteen", "covered_share"] == elderly.loc["canteen", "covered_share"]
    assert elderly.loc["canteen", "covered_share"] < adult.loc["canteen", "covered_share"]
    # The service area follows the slower speed too.
    areas = both.service_areas().set_index("category")
    assert areas.loc["canteen", "area_km2"] < areas.loc["clinic", "area_km2"]


def test_parse_profiles_and_unknown_category():
    from circle.errors import InputError

    default, own = parse_profiles("elderly,clinic=adult")
    assert default.name == "elderly"
    assert own["clinic"].name == "adult"
    with pytest.raises(InputError, match="unknown category"):
        Study.load(_street(), facilities_at(("c1", "clinic", 0.0, 0.0)), profile="canten2=elderly")


# --- distances in metres -----------------------------------------------------------------


def test_distance_threshold_is_reported_in_metres_and_kept_by_the_profile():
    facilities = facilities_at(("c1", "clinic", 0.0, 0.0))
    minutes = {"clinic": Threshold(metres=300)}
    adult = Study.load(_street(), facilities, minutes=minutes, categories=["clinic"])
    slow = Study.load(
        _street(), facilities, minutes=minutes, categories=["clinic"], profile="elderly"
    )
    a = adult.coverage().summary().iloc[0]
    s = slow.coverage().summary().iloc[0]
    assert list(adult.coverage().summary().columns[:4]) == [
        "category",
        "threshold_min",
        "threshold_m",
        "speed_kmh",
    ]
    assert a["threshold_m"] == s["threshold_m"] == 300
    assert a["covered_share"] == s["covered_share"]
    assert s["threshold_min"] == pytest.approx(300 / (ELDERLY.speed_kmh * 1000 / 60), abs=0.01)


# --- the Chengdu demo --------------------------------------------------------------------


def test_chengdu_facilities_and_gcj02_list_are_the_same_places():
    from circle.facilities import read_facilities

    geojson = demo_facilities("chengdu")
    assert (geojson["category"].value_counts().to_dict()) == {"clinic": 31, "daycare": 6}
    if not (REPO_DATA / "facilities-gcj02.csv").is_file():
        pytest.skip("no source checkout")
    raw = (REPO_DATA / "facilities-gcj02.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, as Excel saves
    header = next(csv.reader([raw.decode("utf-8-sig").splitlines()[0]]))
    assert header[:5] == ["编号", "名称", "类别", "经度", "纬度"]
    listed = read_facilities(
        REPO_DATA / "facilities-gcj02.csv",
        coords="gcj02",
        id_field="编号",
        name_field="名称",
        category_field="类别",
        lon_field="经度",
        lat_field="纬度",
    ).set_index("id")
    base = geojson.set_index("id").loc[listed.index]
    assert (listed["category"] == base["category"]).all()
    # GCJ-02 really is shifted (hundreds of metres), and converts back to the GeoJSON points.
    assert np.abs(listed.geometry.x.to_numpy() - base.geometry.x.to_numpy()).max() < 2e-6
    from circle.coords import wgs84_to_gcj02

    shifted, _ = wgs84_to_gcj02(base.geometry.x.to_numpy(), base.geometry.y.to_numpy())
    assert np.abs(np.asarray(shifted) - base.geometry.x.to_numpy()).min() > 1e-3  # ~250 m
    assert np.allclose(listed.geometry.x, base.geometry.x, atol=2e-6)
    assert np.allclose(listed.geometry.y, base.geometry.y, atol=2e-6)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "chengdu"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)], terminal_width=60)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_demo_is_chengdu_in_chinese_by_default(demo_run):
    out, output = demo_run
    assert "成都" in output
    assert (out / "map.html").is_file()
    assert "成都" in (out / "report.md").read_text(encoding="utf-8")
    assert chengdu_pbf().name in (out / "report.md").read_text(encoding="utf-8")


def test_demo_never_calls_metres_people(demo_run):
    out, output = demo_run
    # The demo has no population data: counts are metres of walkable way.
    assert "覆盖人口" not in output and "可达道路（米）" in output
    report = (out / "report.md").read_text(encoding="utf-8")
    summary_table = report.split("## ")[2]
    assert "可步行道路（米）" in summary_table and "| 人口 |" not in summary_table
    from openpyxl import load_workbook

    sheet = load_workbook(out / "gaps.xlsx").worksheets[0]
    headers = [c.value for c in sheet[1]]
    assert "可步行道路（米）" in headers and "人口" not in headers


def test_demo_shares_come_first_and_numbers_are_whole(demo_run):
    _, output = demo_run
    # 60 columns: no cell is cut with an ellipsis.
    assert "…" not in output
    assert re.search(r"\d+\.\d%", output)


def test_demo_helsinki_in_english(tmp_path):
    result = CliRunner().invoke(
        cli, ["demo", "--city", "helsinki", "--out", str(tmp_path / "h")], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert "Helsinki" in result.output and "Way in reach (m)" in result.output
    assert "People covered" not in result.output


# --- per-input coordinate systems, fields and encodings ----------------------------------


def test_gcj02_facility_list_with_chinese_headers_gives_the_same_coverage(tmp_path):
    if not (REPO_DATA / "facilities-gcj02.csv").is_file():
        pytest.skip("no source checkout")
    out = tmp_path / "r"
    args = [
        "report",
        "--network",
        str(chengdu_pbf()),
        "--facilities",
        str(REPO_DATA / "facilities-gcj02.csv"),
        "--facilities-coords",
        "gcj02",
        "--id-field",
        "编号",
        "--name-field",
        "名称",
        "--category-field",
        "类别",
        "--lon-field",
        "经度",
        "--lat-field",
        "纬度",
        "--population-proxy",
        "network",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(cli, args, terminal_width=200)
    assert result.exit_code == 0, result.output
    from_csv = (out / "summary.csv").read_text(encoding="utf-8")
    base = Study.load(chengdu_pbf(), demo_facilities("chengdu"), population_proxy="network")
    expected = base.coverage().summary()
    got = __import__("pandas").read_csv(out / "summary.csv")
    assert got["covered_population"].tolist() == expected["covered_population"].tolist()
    names = (out / "facilities.csv").read_text(encoding="utf-8")
    assert "成都市中医医院" in names and "成都市中医医院" in from_csv + names


def test_csv_encoding_is_detected_and_logged(tmp_path, caplog):
    import logging

    from circle.facilities import read_facilities

    rows = "编号,名称,类别,经度,纬度\nk1,东区医院,诊所,104.1,30.68\n"
    for encoding, said in (("gbk", "GB18030"), ("utf-8-sig", "UTF-8 with BOM"), ("utf-8", "UTF-8")):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(rows.encode(encoding))
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="circle"):
            table = read_facilities(
                path,
                id_field="编号",
                name_field="名称",
                category_field="类别",
                lon_field="经度",
                lat_field="纬度",
            )
        assert table["name"].tolist() == ["东区医院"]
        assert table["category"].tolist() == ["clinic"]
        assert any(said in r.getMessage() for r in caplog.records), encoding
