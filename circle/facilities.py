"""Read and validate facility files; OSM tag presets."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyrosm
import shapely
from pyrosm.exceptions import PBFException

from circle._io import atomic_path
from circle._read import CSV_SUFFIXES as _CSV_SUFFIXES
from circle._read import VECTOR_SUFFIXES as _VECTOR_SUFFIXES
from circle._read import check_ranges, read_csv_text, read_vector
from circle._validate import Problems, check_readable_file, describe_mask, describe_rows, one_line
from circle.categories import category_order_key, normalize_category
from circle.coords import to_wgs84
from circle.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = [
    "COORDINATE_DECIMALS",
    "COORD_SYSTEMS",
    "FACILITY_COLUMNS",
    "OSM_TAG_MAPPING",
    "TagMapping",
    "TagRule",
    "facilities_from_osm",
    "load_tag_mapping",
    "read_facilities",
    "validate_tag_mapping",
    "write_facilities",
]

logger = logging.getLogger(__name__)

FACILITY_COLUMNS: Final[tuple[str, ...]] = ("id", "name", "category", "capacity", "geometry")
"""Columns of every facilities GeoDataFrame, in this order (`facilities_from_osm` adds `osm_id`)."""

COORD_SYSTEMS: Final[tuple[str, ...]] = ("wgs84", "gcj02", "bd09")
"""Accepted values of `coords`: WGS-84 (GPS, OSM), GCJ-02 (Amap, Tencent), BD-09 (Baidu)."""

COORDINATE_DECIMALS: Final = 7
"""Decimals kept in written coordinates (1e-7 degrees is about 1 cm)."""

_CATEGORY_HINT: Final = "canteen, clinic, daycare, gig_station or a custom name"

TagRule: TypeAlias = Mapping[str, Sequence[str]]
"""One OSM tag rule: every key must match one of its values (AND across keys).

Value patterns: ``"clinic"`` matches exactly (each part of a ``;``-separated OSM value is
tried); ``"*"`` matches any value except ``"no"``; ``"~text"`` matches values containing
``text``; ``"!value"`` forbids a value (a key with only ``!`` patterns also holds when the
tag is absent). A rule needs at least one key with a required (non-``!``) value.
"""

TagMapping: TypeAlias = Mapping[str, Sequence[TagRule]]
"""Category id -> rules; a feature belongs to the category when any rule matches (OR)."""

_FOOD_OR_SOCIAL_AMENITIES: Final = (
    "restaurant",
    "fast_food",
    "canteen",
    "food_court",
    "social_facility",
    "community_centre",
)

OSM_TAG_MAPPING: Final[TagMapping] = {
    # Elderly / community canteens (长者食堂). OSM has no dedicated tag, so:
    # - amenity=canteen: a place serving meals to a limited group; workplace and school
    #   canteens closed to the public (access=private/no) are left out.
    # - amenity=social_facility + social_facility=soup_kitchen: free or cheap community meals.
    # - amenity=community_centre + community_centre:for=senior|elderly: senior centres, which
    #   commonly run the meal service; review them locally.
    # - food or social amenities whose name says 长者食堂/老年食堂/社区食堂/长者饭堂/老人食堂,
    #   which is how mappers in China usually record them.
    # Not included: nursing homes and other residential social facilities for seniors (they
    # feed residents, not the neighbourhood) and amenity=social_centre (a place to socialise,
    # not to eat).
    "canteen": (
        {"amenity": ("canteen",), "access": ("!private", "!no")},
        {"amenity": ("social_facility",), "social_facility": ("soup_kitchen",)},
        {"amenity": ("community_centre",), "community_centre:for": ("senior", "elderly")},
        {
            "amenity": _FOOD_OR_SOCIAL_AMENITIES,
            "name": ("~长者食堂", "~老年食堂", "~社区食堂", "~长者饭堂", "~老人食堂"),
        },
    ),
    # Clinics / community health stations (社区卫生服务站): places to see a doctor.
    # Hospitals count (they run outpatient clinics open to walk-in patients). Dentists,
    # pharmacies, alternative medicine, blood donation, laboratories and therapists do not:
    # the 15-minute standard asks for primary care; map those as custom categories if needed.
    "clinic": (
        {"amenity": ("clinic", "doctors", "hospital")},
        {"healthcare": ("clinic", "doctor", "centre", "hospital")},
    ),
    # Childcare and elderly day care (托育机构, 日间照料中心). OSM uses amenity=kindergarten for
    # nursery schools and many day nurseries; drop it in your own mapping if 幼儿园 must not
    # count. social_facility=day_care covers day care for children and for seniors.
    "daycare": (
        {"amenity": ("childcare", "kindergarten")},
        {"social_facility": ("day_care",)},
        {
            "amenity": ("social_facility", "community_centre"),
            "name": ("~托育", "~托儿所", "~日间照料"),
        },
    ),
    # Gig-worker job stations (零工驿站, 零工市场). office=employment_agency is the OSM tag for
    # job agencies, public or private; public employment offices mapped as government offices
    # carry office=government + government=employment|employment_agency. There is no
    # documented amenity=job_centre, so it is not used. Chinese stations are matched by name.
    "gig_station": (
        {"office": ("employment_agency",)},
        {"office": ("government",), "government": ("employment", "employment_agency")},
        {"office": ("*",), "name": ("~零工驿站", "~零工市场", "~零工之家")},
        {"amenity": ("*",), "name": ("~零工驿站", "~零工市场", "~零工之家")},
    ),
}
"""Default OSM tag rules per built-in category, used by `facilities_from_osm`.

Edit a copy, or write your own as JSON or TOML and read it with `load_tag_mapping`; see
`TagRule` for the value patterns.
"""

# pyrosm columns that are not OSM tags
_PYROSM_STRUCTURAL: Final = frozenset(
    {"id", "lon", "lat", "tags", "visible", "version", "timestamp", "changeset", "geometry"}
    | {"osm_type", "nodes", "members", "changeset_id", "uid", "user"}
)


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
    if coords not in COORD_SYSTEMS:
        msg = f"`coords` must be one of {', '.join(COORD_SYSTEMS)}, not {coords!r}."
        raise InputError(msg)
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
    if len(frame) == 0:
        msg = f"The facilities file `{file}` has no rows; add at least one facility."
        raise InputError(msg)

    fields = {
        "category": (category_field, "category", True),
        "id": (id_field, "id", False),
        "name": (name_field, "name", False),
        "capacity": (capacity_field, "capacity", False),
    }
    if unit == "row":
        fields["lon"] = (lon_field, "lon", True)
        fields["lat"] = (lat_field, "lat", True)
    columns = _resolve_columns(file, frame, fields)

    problems = Problems(str(file), note=note)
    categories = _check_categories(frame[columns["category"]], problems, unit=unit)
    ids = _check_ids(frame, columns.get("id"), problems, unit=unit, source=str(file))
    names = _texts(frame[columns["name"]])[0] if "name" in columns else _blank(len(frame))
    capacity = _check_capacity(frame, columns.get("capacity"), problems, unit=unit)
    if unit == "row":
        lon, lat = _check_csv_coordinates(frame, columns, problems)
        crs_was_given = True
    else:
        lon, lat, crs_was_given = _check_vector_geometry(file, frame, problems, coords=coords)
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
    logger.info("Read %d facilities from %s", len(result), file)
    return result


def _resolve_columns(
    file: Path, frame: pd.DataFrame, fields: dict[str, tuple[str, str, bool]]
) -> dict[str, str]:
    """Map each role to a column; a case-insensitive match is accepted if unique."""
    present = [str(column) for column in frame.columns if column != "geometry"]
    by_fold: dict[str, list[str]] = {}
    for column in present:
        by_fold.setdefault(column.casefold(), []).append(column)
    problems = Problems(str(file))
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
                    file,
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


def _blank(count: int) -> npt.NDArray[np.object_]:
    return np.full(count, "", dtype=object)


def _as_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _texts(series: pd.Series[Any]) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.bool_]]:
    """Return the stripped text of each value ("" where missing) and the missing mask."""
    values = series.astype(object).to_numpy()
    texts = np.array(
        ["" if _is_missing(value) else _as_text(value) for value in values], dtype=object
    )
    return texts, texts == ""


def _numbers(texts: npt.NDArray[np.object_]) -> npt.NDArray[np.float64]:
    """Parse texts as floats; NaN where empty or not a number (a new, writable array)."""
    parsed = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce")
    return np.array(parsed.to_numpy(dtype="float64", na_value=np.nan), dtype="float64")


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


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


def _check_ids(
    frame: pd.DataFrame, column: str | None, problems: Problems, *, unit: str, source: str
) -> npt.NDArray[np.object_]:
    if column is None:
        return np.array([f"row-{number}" for number in range(1, len(frame) + 1)], dtype=object)
    texts, missing = _texts(frame[column])
    if missing.any():
        problems.add(
            f"empty `{column}` in {describe_mask(missing, unit=unit)}; "
            "give every facility an id, or "
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


def _check_capacity(
    frame: pd.DataFrame, column: str | None, problems: Problems, *, unit: str
) -> npt.NDArray[np.float64]:
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
    file: Path, frame: gpd.GeoDataFrame, problems: Problems, *, coords: str
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
            f"`{file}`: {int(area_or_line.sum())} facilities are polygons, lines or "
            "multi-points; circle uses a point inside each (shapely point_on_surface).",
            UserWarning,
            stacklevel=3,
        )
    points = np.full(len(geometry), None, dtype=object)
    points[usable] = shapely.point_on_surface(geometry[usable])

    crs = frame.crs
    crs_known = crs is not None
    if crs is None:
        logger.info("%s declares no CRS; assuming WGS-84 longitude/latitude", file)
    elif not crs.equals("EPSG:4326", ignore_axis_order=True):
        if coords != "wgs84":
            msg = (
                f"`{file}` is in {crs.name}, but `coords={coords!r}` applies to longitude/"
                "latitude files only; save the file in WGS-84 (EPSG:4326) first."
            )
            raise InputError(msg)
        logger.info("Reprojecting %s from %s to EPSG:4326", file, crs.name)
        points = gpd.GeoSeries(points, crs=crs).to_crs("EPSG:4326").to_numpy()
    lon = np.full(len(geometry), np.nan)
    lat = np.full(len(geometry), np.nan)
    lon[usable] = shapely.get_x(points[usable])
    lat[usable] = shapely.get_y(points[usable])
    return lon, lat, crs_known


# --------------------------------------------------------------------------------------
# OSM tag mappings


def validate_tag_mapping(mapping: Any, *, source: str = "tag_mapping") -> TagMapping:
    """Check a tag mapping and return it with canonical category ids and tuple values.

    Parameters
    ----------
    mapping
        Category -> list of rules; each rule maps OSM keys to a value pattern or a list of
        them (see `TagRule`). A single rule may be given without the list. Categories may
        be ids, aliases (``"诊所"``) or custom names.
    source
        Name of the input for messages (a file path or parameter name).

    Returns
    -------
    TagMapping
        ``{category_id: (rule, ...)}`` with each rule ``{key: (pattern, ...)}``.

    Raises
    ------
    InputError
        Listing every problem: not a table, no categories, empty rules, keys or values
        that are not non-empty text, rules that only forbid values, or two names for the
        same category.
    """
    problems = Problems(source)
    if not isinstance(mapping, Mapping) or not mapping:
        msg = (
            f"`{source}` must map category names to tag rules, e.g. "
            '{"clinic": [{"amenity": ["clinic", "doctors"]}]}.'
        )
        raise InputError(msg)
    result: dict[str, tuple[dict[str, tuple[str, ...]], ...]] = {}
    seen: dict[str, str] = {}
    for raw_category, raw_rules in mapping.items():
        if not isinstance(raw_category, str) or not raw_category.strip():
            problems.add(f"category {raw_category!r} is not a name; use e.g. `clinic`")
            continue
        category = normalize_category(raw_category)
        if category in seen:
            problems.add(
                f"categories `{seen[category]}` and `{raw_category}` both mean `{category}`; "
                "merge their rules"
            )
            continue
        seen[category] = raw_category
        rules_list = [raw_rules] if isinstance(raw_rules, Mapping) else raw_rules
        if isinstance(rules_list, str) or not isinstance(rules_list, Sequence) or not rules_list:
            problems.add(f"category `{raw_category}` needs a list of one or more rules")
            continue
        rules = []
        for number, raw_rule in enumerate(rules_list, start=1):
            rule = _validate_rule(raw_rule, problems, where=f"`{raw_category}` rule {number}")
            if rule is not None:
                rules.append(rule)
        result[category] = tuple(rules)
    problems.raise_if_any()
    return result


def _validate_rule(
    raw_rule: Any, problems: Problems, *, where: str
) -> dict[str, tuple[str, ...]] | None:
    if not isinstance(raw_rule, Mapping) or not raw_rule:
        problems.add(
            f'{where} must be a table of OSM keys and values, e.g. {{"amenity": "clinic"}}'
        )
        return None
    rule: dict[str, tuple[str, ...]] = {}
    ok = True
    for key, raw_values in raw_rule.items():
        values = [raw_values] if isinstance(raw_values, str) else raw_values
        if not isinstance(key, str) or not key.strip():
            problems.add(f"{where} has an empty key")
            ok = False
        elif (
            not isinstance(values, Sequence)
            or not values
            or not all(isinstance(value, str) and value.strip() for value in values)
        ):
            problems.add(
                f"{where}, key `{key}`: values must be a text or a list of texts "
                '(e.g. "clinic", "*" or ["clinic", "doctors"])'
            )
            ok = False
        else:
            rule[key.strip()] = tuple(value.strip() for value in values)
    if ok and not any(_required_patterns(values) for values in rule.values()):
        problems.add(f"{where} only forbids values (`!`); add a key with a required value")
        ok = False
    return rule if ok else None


def load_tag_mapping(path: str | os.PathLike[str]) -> TagMapping:
    """Read OSM tag rules per category from a JSON or TOML file.

    The file maps each category to a list of rules (see `TagRule`). In TOML::

        [[clinic]]
        amenity = ["clinic", "doctors", "hospital"]

        [[clinic]]
        healthcare = ["clinic", "doctor"]

    (quote category names that are not plain ASCII words: ``[["诊所"]]``), and the same
    in JSON: ``{"clinic": [{"amenity": ["clinic", "doctors", "hospital"]},
    {"healthcare": ["clinic", "doctor"]}]}``.

    Parameters
    ----------
    path
        A ``.json`` or ``.toml`` file.

    Returns
    -------
    TagMapping
        The validated mapping, ready for `facilities_from_osm`.

    Raises
    ------
    InputError
        If the file is missing, not JSON/TOML, cannot be parsed, or a rule is malformed.
    """
    file = check_readable_file(path, what="tag mapping file")
    suffix = file.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(file.read_text(encoding="utf-8-sig"))
        elif suffix == ".toml":
            data = tomllib.loads(file.read_text(encoding="utf-8-sig"))
        else:
            msg = f"Cannot read the tag mapping `{file}`: use a .json or .toml file."
            raise InputError(msg)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        msg = f"Cannot parse the tag mapping `{file}`: {one_line(str(error))}."
        raise InputError(msg) from None
    return validate_tag_mapping(data, source=str(file))


def _required_patterns(patterns: Sequence[str]) -> list[str]:
    return [pattern for pattern in patterns if not pattern.startswith("!")]


def _condition_holds(value: str | None, patterns: Sequence[str]) -> bool:
    """Whether an OSM tag value (None when absent) satisfies a key's patterns."""
    parts = [part.strip() for part in value.split(";")] if value else []
    forbidden = {pattern[1:] for pattern in patterns if pattern.startswith("!")}
    if forbidden.intersection(parts):
        return False
    required = _required_patterns(patterns)
    if not required:
        return True
    if value is None:
        return False
    for pattern in required:
        if pattern == "*":
            if value != "no":
                return True
        elif pattern.startswith("~"):
            if pattern[1:] and pattern[1:].casefold() in value.casefold():
                return True
        elif pattern in parts:
            return True
    return False


def _rule_matches(tags: Mapping[str, str], rule: TagRule) -> bool:
    return all(_condition_holds(tags.get(key), patterns) for key, patterns in rule.items())


# --------------------------------------------------------------------------------------
# Facilities from OpenStreetMap


def facilities_from_osm(
    pbf_path: str | os.PathLike[str], *, tag_mapping: TagMapping = OSM_TAG_MAPPING
) -> gpd.GeoDataFrame:
    """Extract facilities from an OpenStreetMap ``.osm.pbf`` file with tag rules.

    Nodes, ways and relations are read with pyrosm. A feature belongs to a category when
    any of the category's rules matches its tags. Ways and relations become a point inside
    them (shapely ``point_on_surface``). The name is OSM ``name``, else ``name:zh``, else
    ``name:en``, else ``""``; capacity is a numeric ``capacity`` tag (other values are
    ignored).

    Parameters
    ----------
    pbf_path
        An OpenStreetMap PBF extract.
    tag_mapping
        Category -> tag rules; defaults to `OSM_TAG_MAPPING`. See `load_tag_mapping`.

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of `read_facilities` plus ``osm_id`` (``"node/123"``), in EPSG:4326,
        sorted by category then id. Ids look like ``"osm-node-123"``; a feature matching
        several categories appears once per category with the category appended to its
        id (``"osm-node-123-clinic"``).

    Raises
    ------
    InputError
        If the file is missing or is not a readable PBF, or `tag_mapping` is malformed.
    """
    file = check_readable_file(pbf_path, what="OSM PBF file")
    mapping = validate_tag_mapping(tag_mapping)
    pois = _read_pois(file, mapping)
    if pois is None or len(pois) == 0:
        logger.info("No OSM features in %s carry the keys of the tag mapping", file)
        return _empty_osm_facilities()

    tags = [_feature_tags(row) for row in pois.to_dict("records")]
    order = sorted(mapping, key=category_order_key)
    matches = [
        [category for category in order if any(_rule_matches(t, r) for r in mapping[category])]
        for t in tags
    ]
    positions = [position for position, found in enumerate(matches) for _ in found]
    if not positions:
        logger.info("No OSM features in %s match the tag mapping", file)
        return _empty_osm_facilities()

    osm_types = pois["osm_type"].astype(str).to_numpy()
    osm_numbers = pois["id"].astype("int64").to_numpy()
    records: dict[str, list[Any]] = {
        "id": [],
        "name": [],
        "category": [],
        "capacity": [],
        "osm_id": [],
    }
    for position, found in enumerate(matches):
        if not found:
            continue
        base = f"osm-{osm_types[position]}-{osm_numbers[position]}"
        osm_id = f"{osm_types[position]}/{osm_numbers[position]}"
        name = _feature_name(tags[position])
        capacity = _feature_capacity(tags[position], osm_id)
        for category in found:
            records["id"].append(f"{base}-{category}" if len(found) > 1 else base)
            records["name"].append(name)
            records["category"].append(category)
            records["capacity"].append(capacity)
            records["osm_id"].append(osm_id)
    geometry = pois.geometry.to_numpy()[positions]
    points = shapely.point_on_surface(geometry)
    result = gpd.GeoDataFrame(
        {
            "id": pd.Series(records["id"], dtype=object),
            "name": pd.Series(records["name"], dtype=object),
            "category": pd.Series(records["category"], dtype=object),
            "capacity": pd.Series(records["capacity"], dtype="float64"),
            "osm_id": pd.Series(records["osm_id"], dtype=object),
        },
        geometry=shapely.points(shapely.get_x(points), shapely.get_y(points)),
        crs=pois.crs or "EPSG:4326",
    ).to_crs("EPSG:4326")
    result = result.drop_duplicates(subset=["id"])
    result = result.sort_values(["category", "id"], kind="mergesort").reset_index(drop=True)
    logger.info(
        "Found %d facilities in %s: %s",
        len(result),
        file,
        ", ".join(f"{k} {v}" for k, v in result["category"].value_counts(sort=False).items()),
    )
    return result


def _read_pois(file: Path, mapping: TagMapping) -> gpd.GeoDataFrame | None:
    keys = sorted(
        {
            next(key for key, patterns in rule.items() if _required_patterns(patterns))
            for rules in mapping.values()
            for rule in rules
        }
    )
    custom_filter = {key: True for key in keys}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            osm = pyrosm.OSM(str(file))
            pois = osm.get_pois(custom_filter=custom_filter)
    except (PBFException, RuntimeError, OSError, ValueError, KeyError) as error:
        msg = (
            f"Cannot read `{file}` as an OpenStreetMap PBF file: {one_line(str(error))}; "
            "download a fresh .osm.pbf extract."
        )
        raise InputError(msg) from None
    for warning in caught:
        logger.debug("pyrosm: %s", one_line(str(warning.message)))
    if pois is None:
        return None
    return gpd.GeoDataFrame(pois)


def _feature_tags(row: Mapping[str, Any]) -> dict[str, str]:
    """All OSM tags of one pyrosm row: its tag columns merged with its `tags` JSON."""
    tags: dict[str, str] = {}
    extra = row.get("tags")
    if isinstance(extra, str) and extra:
        try:
            parsed = json.loads(extra)
        except json.JSONDecodeError:
            parsed = {}
        if isinstance(parsed, dict):
            tags.update({str(k): str(v) for k, v in parsed.items() if v is not None})
    elif isinstance(extra, Mapping):
        tags.update({str(k): str(v) for k, v in extra.items() if v is not None})
    for key, value in row.items():
        if key in _PYROSM_STRUCTURAL or _is_missing(value):
            continue
        if isinstance(value, str):
            if value:
                tags[key] = value
        elif isinstance(value, int | float | np.integer | np.floating | bool):
            tags[key] = _as_text(value)
    return tags


def _feature_name(tags: Mapping[str, str]) -> str:
    for key in ("name", "name:zh", "name:en"):
        value = tags.get(key, "").strip()
        if value:
            return value
    return ""


def _feature_capacity(tags: Mapping[str, str], osm_id: str) -> float:
    raw = tags.get("capacity")
    if raw is None:
        return math.nan
    try:
        value = float(raw.strip())
    except ValueError:
        logger.debug("Ignoring capacity=%r of %s: not a number", raw, osm_id)
        return math.nan
    if not math.isfinite(value) or value <= 0:
        logger.debug("Ignoring capacity=%r of %s: not a positive number", raw, osm_id)
        return math.nan
    return value


def _empty_osm_facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": pd.Series([], dtype=object),
            "name": pd.Series([], dtype=object),
            "category": pd.Series([], dtype=object),
            "capacity": pd.Series([], dtype="float64"),
            "osm_id": pd.Series([], dtype=object),
        },
        geometry=gpd.GeoSeries([], crs="EPSG:4326"),
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------------------
# Writing


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
    lon = np.round(shapely.get_x(frame.geometry.to_numpy()), COORDINATE_DECIMALS)
    lat = np.round(shapely.get_y(frame.geometry.to_numpy()), COORDINATE_DECIMALS)
    rows = frame[properties].astype(object).to_numpy()
    lines = []
    for values, x, y in zip(rows, lon.tolist(), lat.tolist(), strict=True):
        feature = {
            "type": "Feature",
            "properties": {
                column: _json_value(value) for column, value in zip(properties, values, strict=True)
            },
            "geometry": {"type": "Point", "coordinates": [x + 0.0, y + 0.0]},
        }
        lines.append(json.dumps(feature, ensure_ascii=False, allow_nan=False))
    body = ",\n".join(lines)
    text = f'{{"type": "FeatureCollection", "features": [\n{body}\n]}}\n'
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="\n")
    logger.info("Wrote %d facilities to %s", len(lines), target)
    return target


def _json_value(value: Any) -> Any:
    if _is_missing(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return str(value)
