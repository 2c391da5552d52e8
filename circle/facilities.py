"""Facility tables: read and validate files and GeoDataFrames, write GeoJSON."""

from __future__ import annotations

import logging
import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circle._io import atomic_path, geojson_bytes
from circle._read import CSV_SUFFIXES as _CSV_SUFFIXES
from circle._read import VECTOR_SUFFIXES as _VECTOR_SUFFIXES
from circle._read import check_ranges, read_csv_text, read_vector
from circle._validate import (
    Problems,
    cell_text,
    check_readable_file,
    describe_mask,
    describe_rows,
    is_missing_value,
)
from circle.categories import normalize_category
from circle.coords import check_coords, to_wgs84
from circle.errors import InputError

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "COORDINATE_DECIMALS",
    "FACILITY_COLUMNS",
    "MAX_CAPACITY",
    "check_capacity",
    "check_ids",
    "empty_facilities",
    "facilities_from_frame",
    "name_texts",
    "read_facilities",
    "write_facilities",
]

logger = logging.getLogger(__name__)

FACILITY_COLUMNS: Final[tuple[str, ...]] = ("id", "name", "category", "capacity", "geometry")
"""Columns of every facilities GeoDataFrame, in this order (`facilities_from_osm` adds `osm_id`)."""

COORDINATE_DECIMALS: Final = 7
"""Decimals kept in written coordinates (1e-7 degrees is about 1 cm)."""

#: The largest capacity accepted (places, seats): no community facility holds more.
MAX_CAPACITY: Final = 1e6
_CATEGORY_HINT: Final = "canteen, clinic, daycare, gig_station or a custom name"


# --------------------------------------------------------------------------------------
# Reading facility files


def read_facilities(
    path: str | os.PathLike[str],
    *,
    lon_field: str = "lon",
    lat_field: str = "lat",
    id_field: str = "id",
    name_field: str = "name",
    category_field: str = "category",
    capacity_field: str = "capacity",
    layer: str | None = None,
    coords: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Read a facilities file, check every row, and return one point per facility.

    GeoJSON and GeoPackage files are read with pyogrio; their geometries give the
    locations. Polygons and lines (such as building footprints) are replaced by a point
    inside them (shapely ``point_on_surface``), with a warning. Files in another CRS are
    reprojected to WGS-84. CSV files give the location in two columns of decimal degrees.

    All problems in the file are collected and reported together in one `InputError`.
    Rows are counted from 1 like a planner counts data rows in a spreadsheet (the CSV
    header is not counted); features of a GeoJSON/GeoPackage are counted from 1 too.

    Parameters
    ----------
    path
        A ``.geojson``/``.json``, ``.gpkg`` or ``.csv``/``.tsv``/``.txt`` file. CSV files
        may be UTF-8 (with or without BOM) or GB18030/GBK.
    lon_field, lat_field
        CSV columns holding longitude and latitude in decimal degrees.
    id_field
        Column of unique facility ids. When the default column is absent, ids are made
        from row numbers (``"row-1"``, ``"row-2"``, ...).
    name_field
        Column of facility names (optional; ``""`` where absent).
    category_field
        Column of categories: ids, Chinese or English aliases (see `circle.categories`),
        or any custom name.
    capacity_field
        Column of capacities, positive numbers (optional; NaN where absent or empty).
    layer
        GeoPackage layer to read; required when the file holds several layers.
    coords
        Coordinate system of the lon/lat values, one of {"wgs84", "gcj02", "bd09"}.
        GCJ-02 and BD-09 (Chinese web maps) are converted to WGS-84.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``id`` (str), ``name`` (str), ``category`` (canonical id), ``capacity``
        (float, NaN where missing) and ``geometry`` (Point), in EPSG:4326, in file order,
        with a fresh RangeIndex.

    Raises
    ------
    InputError
        If the file is missing, unreadable or empty, a column is missing, or any row has
        a missing category, a missing/invalid geometry or coordinates, coordinates out of
        range, a duplicate id, or a capacity that is not a positive number.
    """
    file = check_readable_file(path, what="facilities file")
    coords = check_coords(coords)
    suffix = file.suffix.lower()
    if suffix in _CSV_SUFFIXES:
        frame = read_csv_text(file, sep=_CSV_SUFFIXES[suffix], what="facilities file")
        unit, note = "row", "rows counted from 1 after the header"
    elif suffix in _VECTOR_SUFFIXES:
        frame = read_vector(file, layer=layer, kind=_VECTOR_SUFFIXES[suffix])
        unit, note = "feature", "features counted from 1"
    else:
        msg = (
            f"Cannot read `{file}`: unknown file type {suffix or '(no extension)'!r}; "
            "save it as GeoJSON (.geojson), GeoPackage (.gpkg) or CSV (.csv)."
        )
        raise InputError(msg)
    return _facility_table(
        frame,
        source=str(file),
        unit=unit,
        note=note,
        fields={
            "lon": lon_field,
            "lat": lat_field,
            "id": id_field,
            "name": name_field,
            "category": category_field,
            "capacity": capacity_field,
        },
        coords=coords,
    )


def empty_facilities() -> gpd.GeoDataFrame:
    """A facilities table without rows, in the columns of :data:`FACILITY_COLUMNS`.

    For a part of a study with no facility near it (every category is reached by nobody
    there); a file must always list facilities.
    """
    columns: dict[str, pd.Series[Any]] = {
        c: pd.Series(dtype=object) for c in FACILITY_COLUMNS if c != "geometry"
    }
    columns["capacity"] = pd.Series(dtype="float64")
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([], crs="EPSG:4326"))


def facilities_from_frame(
    frame: gpd.GeoDataFrame,
    *,
    id_field: str = "id",
    name_field: str = "name",
    category_field: str = "category",
    capacity_field: str = "capacity",
    source: str = "the facilities GeoDataFrame",
) -> gpd.GeoDataFrame:
    """Check a GeoDataFrame of facilities the way :func:`read_facilities` checks a file.

    Categories are normalised (``" Clinic "`` and ``"诊所"`` become ``clinic``), a missing
    ``name`` or ``capacity`` column is added (empty names, NaN capacities), ids must be
    unique, geometries present and valid (polygons become a point inside them), and the
    result is in WGS-84. `frame` itself is not modified.

    Parameters
    ----------
    frame
        Facilities with a geometry column; without a CRS, WGS-84 is assumed.
    id_field, name_field, category_field, capacity_field
        Columns, as for :func:`read_facilities`.
    source
        How messages name the table.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns :data:`FACILITY_COLUMNS`, in EPSG:4326.

    Raises
    ------
    InputError
        As :func:`read_facilities`.
    """
    return _facility_table(
        frame,
        source=source,
        unit="feature",
        note="rows counted from 1",
        fields={
            "id": id_field,
            "name": name_field,
            "category": category_field,
            "capacity": capacity_field,
        },
        coords="wgs84",
    )


def _facility_table(
    frame: pd.DataFrame,
    *,
    source: str,
    unit: str,
    note: str,
    fields: dict[str, str],
    coords: str,
) -> gpd.GeoDataFrame:
    """Validate a table read from a file or given in Python; one facility per row."""
    if len(frame) == 0:
        msg = f"`{source}` has no facilities (no rows); add at least one facility."
        raise InputError(msg)
    defaults = {"lon": "lon", "lat": "lat", "id": "id", "name": "name"}
    defaults |= {"category": "category", "capacity": "capacity"}
    roles = {
        role: (name, defaults[role], role in ("category", "lon", "lat"))
        for role, name in fields.items()
        if unit == "row" or role not in ("lon", "lat")
    }
    columns = _resolve_columns(source, frame, roles)

    problems = Problems(source, note=note)
    categories = _check_categories(frame[columns["category"]], problems, unit=unit)
    ids = check_ids(frame, columns.get("id"), problems, unit=unit, source=source)
    names = name_texts(frame, columns.get("name"))
    capacity = check_capacity(frame, columns.get("capacity"), problems, unit=unit)
    if unit == "row":
        lon, lat = _check_csv_coordinates(frame, columns, problems)
        crs_was_given = True
    else:
        lon, lat, crs_was_given = _check_vector_geometry(source, frame, problems, coords=coords)
    check_ranges(lon, lat, problems, unit=unit, csv=unit == "row", crs_known=crs_was_given)
    problems.raise_if_any()

    if coords != "wgs84":
        lon, lat = to_wgs84(lon, lat, coords=coords)
    result = gpd.GeoDataFrame(
        {
            "id": pd.Series(ids, dtype=object),
            "name": pd.Series(names, dtype=object),
            "category": pd.Series(categories, dtype=object),
            "capacity": pd.Series(capacity, dtype="float64"),
        },
        geometry=shapely.points(lon, lat),
        crs="EPSG:4326",
    )
    logger.info("Read %d facilities from %s", len(result), source)
    return result


def _resolve_columns(
    source: str, frame: pd.DataFrame, fields: dict[str, tuple[str, str, bool]]
) -> dict[str, str]:
    """Map each role to a column; a case-insensitive match is accepted if unique."""
    present = [str(column) for column in frame.columns if column != "geometry"]
    by_fold: dict[str, list[str]] = {}
    for column in present:
        by_fold.setdefault(column.casefold(), []).append(column)
    problems = Problems(source)
    resolved: dict[str, str] = {}
    for role, (name, default, required) in fields.items():
        if name in present:
            resolved[role] = name
            continue
        candidates = by_fold.get(name.casefold(), [])
        if len(candidates) == 1:
            resolved[role] = candidates[0]
            continue
        if not required and name == default:
            if role == "id":
                logger.info(
                    "%s has no %r column; facility ids are made from row numbers (row-1, ...)",
                    source,
                    name,
                )
            continue
        option = f"{role}_field"
        listed = ", ".join(f"`{column}`" for column in present) or "(none)"
        problems.add(
            f"no `{name}` column (columns present: {listed}); name the {role} column with "
            f"`--{option.replace('_', '-')}` (`{option}=` in Python)"
        )
    problems.raise_if_any()
    return resolved


def name_texts(frame: pd.DataFrame, column: str | None) -> npt.NDArray[np.object_]:
    """The names of `column` as stripped text ("" where missing, or everywhere without one)."""
    if column is None:
        return np.full(len(frame), "", dtype=object)
    return _texts(frame[column])[0]


def _texts(series: pd.Series[Any]) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    """Return the stripped text of each value ("" where missing) and the missing mask."""
    values = series.astype(object).to_numpy()
    texts = np.array(
        ["" if is_missing_value(value) else cell_text(value) for value in values], dtype=object
    )
    return texts, texts == ""


def _numbers(texts: npt.NDArray[np.object_]) -> npt.NDArray[np.float64]:
    """Parse texts as floats; NaN where empty or not a number (a new, writable array)."""
    parsed = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce")
    return np.array(parsed.to_numpy(dtype="float64", na_value=np.nan), dtype="float64")


def _check_categories(
    series: pd.Series[Any], problems: Problems, *, unit: str
) -> npt.NDArray[np.object_]:
    texts, missing = _texts(series)
    if missing.any():
        problems.add(
            f"empty `{series.name}` in {describe_mask(missing, unit=unit)}; fill in a category "
            f"({_CATEGORY_HINT})"
        )
    lookup = {text: normalize_category(text) for text in set(texts[~missing])}
    return np.array([lookup.get(text, "") for text in texts], dtype=object)


def check_ids(
    frame: pd.DataFrame,
    column: str | None,
    problems: Problems,
    *,
    unit: str,
    source: str,
    thing: str = "facility",
) -> npt.NDArray[np.object_]:
    """The ids of `column` as text, empty and duplicate ones added to `problems`.

    Without a column the rows are numbered ``row-1``, ``row-2``, ...; `thing` names what
    each row is in the messages (a facility, a candidate site).
    """
    if column is None:
        return np.array([f"row-{number}" for number in range(1, len(frame) + 1)], dtype=object)
    texts, missing = _texts(frame[column])
    if missing.any():
        problems.add(
            f"empty `{column}` in {describe_mask(missing, unit=unit)}; "
            f"give every {thing} an id, or "
            "remove the id column to number the rows automatically"
        )
    positions: dict[str, list[int]] = {}
    for number, text in enumerate(texts, start=1):
        if text:
            positions.setdefault(text, []).append(number)
    duplicated = {text: numbers for text, numbers in positions.items() if len(numbers) > 1}
    if duplicated:
        listed = ", ".join(
            f"{text!r} ({describe_rows(numbers, unit=unit)})"
            for text, numbers in list(duplicated.items())[:5]
        )
        more = f" and {len(duplicated) - 5} more" if len(duplicated) > 5 else ""
        problems.add(
            f"duplicate `{column}` values {listed}{more}; make each id unique in `{source}`"
        )
    return texts


def check_capacity(
    frame: pd.DataFrame, column: str | None, problems: Problems, *, unit: str
) -> npt.NDArray[np.float64]:
    """The capacities of `column` (NaN where empty); bad ones added to `problems`.

    A capacity must be a positive number of at most :data:`MAX_CAPACITY`.
    """
    if column is None:
        return np.full(len(frame), np.nan)
    texts, missing = _texts(frame[column])
    numbers = _numbers(texts)
    not_number = ~missing & ~np.isfinite(numbers)
    if not_number.any():
        example = texts[not_number][0]
        problems.add(
            f"`{column}` is not a number in {describe_mask(not_number, unit=unit)} "
            f"(e.g. {example!r}); "
            "write a positive number such as 40, or leave it empty"
        )
    not_positive = ~missing & np.isfinite(numbers) & (numbers <= 0)
    if not_positive.any():
        example = texts[not_positive][0]
        problems.add(
            f"`{column}` is not a positive number in {describe_mask(not_positive, unit=unit)} "
            f"(e.g. {example!r}); write a number above 0, or leave it empty if unknown"
        )
    too_large = ~missing & np.isfinite(numbers) & (numbers > MAX_CAPACITY)
    if too_large.any():
        example = texts[too_large][0]
        problems.add(
            f"`{column}` is above {MAX_CAPACITY:,.0f} in {describe_mask(too_large, unit=unit)} "
            f"(e.g. {example!r}); write the places or seats of one facility"
        )
    numbers[missing] = np.nan
    return numbers


def _check_csv_coordinates(
    frame: pd.DataFrame, columns: dict[str, str], problems: Problems
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    values = []
    for role in ("lon", "lat"):
        column = columns[role]
        texts, missing = _texts(frame[column])
        numbers = _numbers(texts)
        if missing.any():
            problems.add(
                f"empty `{column}` in {describe_mask(missing, unit='row')}; fill in the "
                f"{'longitude' if role == 'lon' else 'latitude'} in decimal degrees"
            )
        bad = ~missing & ~np.isfinite(numbers)
        if bad.any():
            problems.add(
                f"`{column}` is not a number in {describe_mask(bad, unit='row')} "
                f"(e.g. {texts[bad][0]!r}); write decimal degrees such as "
                f"{'116.397' if role == 'lon' else '39.909'}"
            )
        values.append(numbers)
    return values[0], values[1]


def _check_vector_geometry(
    source: str, frame: gpd.GeoDataFrame, problems: Problems, *, coords: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], bool]:
    """Check geometries; return WGS-84 lon/lat of one point per feature (NaN where bad)."""
    geometry = frame.geometry.to_numpy()
    missing = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    if missing.any():
        problems.add(
            f"missing or empty geometry in {describe_mask(missing, unit='feature')}; give each "
            "facility a location"
        )
    present = ~missing
    finite = np.zeros(len(geometry), dtype=bool)
    if present.any():
        coordinates = shapely.get_coordinates(geometry[present])
        counts = shapely.get_num_coordinates(geometry[present])
        owners = np.repeat(np.flatnonzero(present), counts)
        bad_owner = np.zeros(len(geometry), dtype=bool)
        bad_owner[owners[~np.isfinite(coordinates).all(axis=1)]] = True
        finite = present & ~bad_owner
    invalid = present & (~finite | ~shapely.is_valid(geometry))
    if invalid.any():
        problems.add(
            f"invalid geometry in {describe_mask(invalid, unit='feature')}; repair it (in QGIS: "
            "Vector > Geometry Tools > Fix Geometries) or replace it with a point"
        )
    usable = present & ~invalid
    kinds = shapely.get_type_id(geometry)
    area_or_line = usable & (kinds != shapely.GeometryType.POINT)
    if area_or_line.any():
        warnings.warn(
            f"`{source}`: {int(area_or_line.sum())} facilities are polygons, lines or "
            "multi-points; circle uses a point inside each (shapely point_on_surface).",
            UserWarning,
            stacklevel=3,
        )
    points = np.full(len(geometry), None, dtype=object)
    points[usable] = shapely.point_on_surface(geometry[usable])

    crs = frame.crs
    crs_known = crs is not None
    if crs is None:
        logger.info("%s declares no CRS; assuming WGS-84 longitude/latitude", source)
    elif not crs.equals("EPSG:4326", ignore_axis_order=True):
        if coords != "wgs84":
            msg = (
                f"`{source}` is in {crs.name}, but `coords={coords!r}` applies to longitude/"
                "latitude files only; save the file in WGS-84 (EPSG:4326) first."
            )
            raise InputError(msg)
        logger.info("Reprojecting %s from %s to EPSG:4326", source, crs.name)
        points = gpd.GeoSeries(points, crs=crs).to_crs("EPSG:4326").to_numpy()
    lon = np.full(len(geometry), np.nan)
    lat = np.full(len(geometry), np.nan)
    lon[usable] = shapely.get_x(points[usable])
    lat[usable] = shapely.get_y(points[usable])
    return lon, lat, crs_known


def write_facilities(gdf: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """Write facilities to a GeoJSON file, atomically and byte-for-byte reproducibly.

    Rows are sorted by category then id (when those columns exist), coordinates are
    rounded to `COORDINATE_DECIMALS` decimals in WGS-84, properties keep the column order,
    missing values become ``null``, and each feature sits on its own line so that
    differences between two versions are easy to read.

    Parameters
    ----------
    gdf
        Facilities with point geometries, such as from `read_facilities` or
        `facilities_from_osm`. A missing CRS is taken as WGS-84.
    path
        The ``.geojson`` file to create or replace.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InputError
        If a geometry is missing or not a point.
    """
    target = Path(path)
    frame = gdf if gdf.crs is None else gdf.to_crs("EPSG:4326")
    geometry = frame.geometry.to_numpy()
    not_point = shapely.is_missing(geometry) | (
        shapely.get_type_id(geometry) != shapely.GeometryType.POINT
    )
    not_point |= ~shapely.is_missing(geometry) & shapely.is_empty(geometry)
    if not_point.any():
        msg = (
            f"Cannot write `{target}`: facilities must be points, but "
            f"{describe_rows((np.flatnonzero(not_point) + 1).tolist())} are not."
        )
        raise InputError(msg)
    sort_by = [column for column in ("category", "id") if column in frame.columns]
    if sort_by:
        frame = frame.sort_values(sort_by, kind="mergesort")
    properties = [column for column in frame.columns if column != frame.geometry.name]
    rows = frame[properties].astype(object).to_numpy()
    content = geojson_bytes(
        [
            {column: _json_value(value) for column, value in zip(properties, values, strict=True)}
            for values in rows
        ],
        frame.geometry.to_numpy(),
        coordinate_decimals=COORDINATE_DECIMALS,
    )
    with atomic_path(target) as tmp:
        tmp.write_bytes(content)
    logger.info("Wrote %d facilities to %s", len(rows), target)
    return target


def _json_value(value: Any) -> Any:
    if is_missing_value(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return str(value)
