"""Regenerate the demo facility files in data/ from the OSM extracts (byte-identical each run).

- data/facilities.geojson: Chengdu, WGS-84, from circle's OSM tag mapping.
- data/facilities-gcj02.csv: the same list as a planner receives it from Gaode (GCJ-02,
  Chinese headers, UTF-8 with BOM so that Excel opens it).
- data/helsinki-facilities.geojson: Helsinki, WGS-84.

Run from the repository root: ``python tools/demo_data.py``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from circle.coords import wgs84_to_gcj02
from circle.datasets import REPO_DATA, chengdu_pbf, helsinki_pbf
from circle.facilities import COORDINATE_DECIMALS, write_facilities
from circle.i18n import category_label
from circle.osm_tags import facilities_from_osm

#: The Chinese headers of the GCJ-02 list, in order (what a Gaode export usually carries).
GCJ02_HEADERS = ("编号", "名称", "类别", "经度", "纬度", "来源")


def gcj02_csv_text(facilities: object) -> str:
    """The facilities as CSV text in GCJ-02 with Chinese headers and category labels."""
    import geopandas as gpd

    assert isinstance(facilities, gpd.GeoDataFrame)
    table = facilities.sort_values(["category", "id"]).reset_index(drop=True)
    lon, lat = wgs84_to_gcj02(table.geometry.x.to_numpy(), table.geometry.y.to_numpy())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(GCJ02_HEADERS)
    for row, x, y in zip(table.itertuples(), np.asarray(lon), np.asarray(lat), strict=True):
        name = "" if not isinstance(row.name, str) else row.name
        writer.writerow(
            [
                row.id,
                name,
                category_label(str(row.category), "zh"),
                f"{x:.{COORDINATE_DECIMALS}f}",
                f"{y:.{COORDINATE_DECIMALS}f}",
                f"OpenStreetMap {row.osm_id}",
            ]
        )
    return buffer.getvalue()


def main() -> None:
    """Write the three files."""
    chengdu = facilities_from_osm(chengdu_pbf())
    write_facilities(chengdu, REPO_DATA / "facilities.geojson")
    text = gcj02_csv_text(chengdu)
    Path(REPO_DATA / "facilities-gcj02.csv").write_bytes(text.encode("utf-8-sig"))
    write_facilities(facilities_from_osm(helsinki_pbf()), REPO_DATA / "helsinki-facilities.geojson")
    print(f"wrote {len(chengdu)} Chengdu facilities (GeoJSON and GCJ-02 CSV) to {REPO_DATA}")


if __name__ == "__main__":
    main()
