"""Reading planner layers (CSV with lon/lat, GeoJSON, GeoPackage, Shapefile) into WGS-84."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from circle._validate import Problems, describe_mask, one_line
from circle.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    import numpy.typing as npt

__all__ = [
    "CSV_SUFFIXES",
    "VECTOR_SUFFIXES",
    "check_ranges",
    "read_csv_text",
    "read_table",
    "read_vector",
]

logger = logging.getLogger(__name__)

CSV_SUFFIXES: Final = {".csv": ",", ".txt": ",", ".tsv": "\t"}
VECTOR_SUFFIXES: Final = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GeoPackage",
    ".shp": "Shapefile",
}
_CSV_ENCODINGS: Final = ("utf-8-sig", "gb18030")  # Excel in mainland China saves GBK CSV files


def read_csv_text(file: Path, *, sep: str, what: str = "file") -> pd.DataFrame:
    """Read a CSV as text columns (UTF-8 with or without BOM, else GB18030/GBK)."""
    for encoding in _CSV_ENCODINGS:
        try:
            frame = pd.read_csv(file, sep=sep, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            msg = f"The {what} `{file}` is empty; add a header row and data rows."
            raise InputError(msg) from None
        except (pd.errors.ParserError, OSError, ValueError) as error:
            msg = (
                f"Cannot read `{file}` as CSV: {one_line(str(error))}; check that it is "
                "comma-separated text with one header row."
            )
            raise InputError(msg) from None
        logger.info("Read %s as %s text", file, _encoding_name(file, encoding))
        frame.columns = [str(column).strip() for column in frame.columns]
        return frame
    msg = f"Cannot read `{file}` as CSV: it is neither UTF-8 nor GBK text; save it as UTF-8."
    raise InputError(msg)


def _encoding_name(file: Path, encoding: str) -> str:
    """The encoding found, in words: UTF-8 with or without BOM, or GB18030 (GBK)."""
    if encoding == "gb18030":
        return "GB18030 (GBK)"
    with file.open("rb") as stream:
        return "UTF-8 with BOM" if stream.read(3) == b"\xef\xbb\xbf" else "UTF-8"


def read_vector(file: Path, *, layer: str | None, kind: str) -> gpd.GeoDataFrame:
    """Read one layer of a GeoJSON, GeoPackage or Shapefile with pyogrio."""
    try:
        layers = [str(name) for name in pyogrio.list_layers(file)[:, 0]]
    except (RuntimeError, OSError, ValueError) as error:
        msg = (
            f"Cannot read `{file}` as {kind}: {one_line(str(error))}; check that the file "
            "is complete and really is that format."
        )
        raise InputError(msg) from None
    if layer is None and len(layers) > 1:
        msg = (
            f"`{file}` has {len(layers)} layers ({', '.join(layers)}); save the one to use "
            f"as its own file (e.g. `ogr2ogr one.gpkg {file.name} {layers[0]}`), or pass "
            "`layer=` in Python."
        )
        raise InputError(msg)
    if layer is not None and layer not in layers:
        msg = f"`{file}` has no layer {layer!r}; its layers are {', '.join(layers) or '(none)'}."
        raise InputError(msg)
    try:
        frame = gpd.read_file(file, engine="pyogrio", layer=layer)
    except (RuntimeError, OSError, ValueError) as error:
        msg = f"Cannot read `{file}` as {kind}: {one_line(str(error))}."
        raise InputError(msg) from None
    return frame


def check_ranges(
    lon: npt.NDArray[np.float64],
    lat: npt.NDArray[np.float64],
    problems: Problems,
    *,
    unit: str,
    csv: bool,
    crs_known: bool,
) -> None:
    """Record longitudes outside [-180, 180] and latitudes outside [-90, 90], with a hint."""
    known = np.isfinite(lon) & np.isfinite(lat)
    lon_bad = known & (np.abs(lon) > 180)
    lat_bad = known & (np.abs(lat) > 90)
    bad = lon_bad | lat_bad
    if not bad.any():
        return
    parts = []
    if lon_bad.any():
        parts.append(f"longitude outside [-180, 180] in {describe_mask(lon_bad, unit=unit)}")
    if lat_bad.any():
        parts.append(f"latitude outside [-90, 90] in {describe_mask(lat_bad, unit=unit)}")
    swap_fixes = bool((np.abs(lat[bad]) <= 180).all() and (np.abs(lon[bad]) <= 90).all())
    if swap_fixes:
        fix = (
            "longitude and latitude look swapped; swap `--lon-field` and `--lat-field`"
            if csv
            else "the coordinates look swapped (latitude first); write longitude first"
        )
    elif csv:
        fix = "give decimal degrees (e.g. lon 116.397, lat 39.909), not projected metres"
    elif crs_known:
        fix = "check the coordinates"
    else:
        fix = "the file declares no CRS but seems projected; save it with its CRS or in WGS-84"
    problems.add(f"{' and '.join(parts)}; {fix}")


def read_table(
    file: Path,
    *,
    layer: str | None = None,
    coords: str = "wgs84",
    lon_field: str = "lon",
    lat_field: str = "lat",
    what: str = "file",
) -> gpd.GeoDataFrame:
    """Read a layer into a GeoDataFrame in WGS-84, keeping every attribute column.

    CSV files become points from their `lon_field` / `lat_field` columns (decimal degrees);
    vector files keep their geometries, reprojected to WGS-84. GCJ-02 / BD-09 input is
    converted with :mod:`circle.coords`.

    Parameters
    ----------
    file
        The file (``.csv``/``.tsv``/``.txt``, ``.geojson``/``.json``, ``.gpkg``, ``.shp``).
    layer
        GeoPackage layer.
    coords
        {"wgs84", "gcj02", "bd09"}: the coordinate system of the longitudes/latitudes.
    lon_field, lat_field
        CSV coordinate columns.
    what
        What the file is for, in messages (``"population file"``).

    Returns
    -------
    geopandas.GeoDataFrame

    Raises
    ------
    InputError
        Unknown format, unreadable file, no rows, bad or out-of-range coordinates.
    """
    from circle.coords import check_coords, convert_geometries  # noqa: PLC0415

    coords = check_coords(coords)
    suffix = file.suffix.lower()
    if suffix in CSV_SUFFIXES:
        text = read_csv_text(file, sep=CSV_SUFFIXES[suffix], what=what)
        frame = _csv_points(file, text, lon_field=lon_field, lat_field=lat_field)
    elif suffix in VECTOR_SUFFIXES:
        frame = read_vector(file, layer=layer, kind=VECTOR_SUFFIXES[suffix])
        if frame.crs is not None and not frame.crs.equals("EPSG:4326", ignore_axis_order=True):
            if coords != "wgs84":
                msg = (
                    f"`{file}` is in {frame.crs.name}, but `--coords {coords}` applies to "
                    "longitude/latitude files only; save the file in WGS-84 first."
                )
                raise InputError(msg)
            frame = frame.to_crs("EPSG:4326")
        frame = frame.set_crs("EPSG:4326", allow_override=True)
    else:
        msg = (
            f"Cannot read `{file}`: unknown file type {suffix or '(no extension)'!r}; "
            "save it as GeoJSON (.geojson), GeoPackage (.gpkg), Shapefile (.shp) or CSV."
        )
        raise InputError(msg)
    if len(frame) == 0:
        msg = f"The {what} `{file}` has no rows; add at least one."
        raise InputError(msg)
    if coords != "wgs84":
        frame = convert_geometries(frame, source=coords, target="wgs84")
    return frame


def _csv_points(
    file: Path, text: pd.DataFrame, *, lon_field: str, lat_field: str
) -> gpd.GeoDataFrame:
    problems = Problems(str(file), note="rows counted from 1 after the header")
    values = []
    for field, role, example in (
        (lon_field, "longitude", "116.397"),
        (lat_field, "latitude", "39.909"),
    ):
        if field not in text.columns:
            columns = ", ".join(f"`{c}`" for c in text.columns)
            option = "--lon-field" if role == "longitude" else "--lat-field"
            msg = (
                f"`{file}` has no `{field}` column (columns: {columns}); rename the column to "
                f"`{field}` (facilities files: or name it with `{option}`)."
            )
            raise InputError(msg)
        raw = text[field].astype(str).str.strip()
        numbers = pd.to_numeric(raw, errors="coerce").to_numpy(float)
        empty = (raw == "").to_numpy()
        if empty.any():
            problems.add(
                f"empty `{field}` in {describe_mask(empty, unit='row')}; fill in the {role}"
            )
        bad = ~empty & ~np.isfinite(numbers)
        if bad.any():
            problems.add(
                f"`{field}` is not a number in {describe_mask(bad, unit='row')} "
                f"(e.g. {raw[bad].iloc[0]!r}); "
                f"write decimal degrees such as {example}"
            )
        values.append(numbers)
    lon, lat = values
    check_ranges(lon, lat, problems, unit="row", csv=True, crs_known=True)
    problems.raise_if_any()
    return gpd.GeoDataFrame(
        text.drop(columns=[lon_field, lat_field]),
        geometry=shapely.points(lon, lat),
        crs="EPSG:4326",
    )
