"""The tables of a report, sorted and formatted as written, and their CSV and GeoJSON."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from circle._io import geojson_bytes_of_texts, python_rounded, texts_by_key
from circle.capacity import check_matches
from circle.coords import convert_geometries, from_wgs84
from circle.coverage import SUMMARY_COLUMNS
from circle.i18n import OSM_CREDIT, category_labels, with_labels, word

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import geopandas as gpd

    from circle.capacity import CapacityResult
    from circle.coverage import CoverageResult
    from circle.i18n import Lang

__all__ = [
    "COORDINATE_DECIMALS",
    "COORDINATE_SYSTEM_NAMES",
    "FACILITY_FORMATS",
    "SCENARIO_FORMATS",
    "SUMMARY_FORMATS",
    "Format",
    "ReportTables",
    "csv_bytes",
    "fixed_texts",
    "geojson_table_bytes",
    "is_missing",
    "neutralised",
    "plain",
    "report_word",
    "rounded",
]

#: The ``coordinate_system`` member of ``neighbourhoods.geojson`` when it is not WGS-84.
COORDINATE_SYSTEM_NAMES: Final[dict[str, str]] = {"gcj02": "GCJ-02", "bd09": "BD-09"}
#: Decimals of longitude and latitude in GeoJSON and CSV (about 0.1 m).
COORDINATE_DECIMALS: Final = 6
#: Decimals of people counts, covered shares, walking minutes and metres in CSV and GeoJSON.
PEOPLE_DECIMALS: Final = 1
SHARE_DECIMALS: Final = 4
MINUTES_DECIMALS: Final = 1
METRES_DECIMALS: Final = 1
#: Decimals of places per 1,000 residents, and of capacities and shortfalls in places.
PLACES_PER_1000_DECIMALS: Final = 2
PLACES_DECIMALS: Final = 1


@dataclass(frozen=True)
class ReportTables:
    """The three tables of a report, sorted as written, with the number format of columns.

    `capacity_categories` are the categories where at least one facility has a capacity;
    coordinates are in `coords`.
    """

    summary: pd.DataFrame
    neighbourhoods: gpd.GeoDataFrame
    facilities: pd.DataFrame
    neighbourhood_formats: dict[str, Format]
    capacity: CapacityResult | None = None
    capacity_categories: tuple[str, ...] = ()
    coords: str = "wgs84"

    @classmethod
    def from_result(
        cls,
        result: CoverageResult,
        lang: Lang,
        *,
        capacity: CapacityResult | None = None,
        coords: str = "wgs84",
    ) -> ReportTables:
        """The report's tables of `result`: labels in `lang`, coordinates in `coords`."""
        summary = (
            with_labels(result.summary(), lang)
            .sort_values("category", kind="stable")
            .reset_index(drop=True)
            .loc[:, list(SUMMARY_COLUMNS)]
        )
        table = result.neighbourhood_table()
        table["missing"] = _each_distinct(
            table["missing"].tolist(), lambda m: category_labels(m.split("; "), lang) if m else ""
        )
        table = table.iloc[np.argsort(table["area_id"].astype(str).to_numpy(), kind="stable")]
        table = table.reset_index(drop=True).to_crs("EPSG:4326")
        facilities = result.facility_table()
        order = np.lexsort(
            (facilities["id"].astype(str).to_numpy(), facilities["category"].astype(str))
        )
        facilities = facilities.iloc[order].reset_index(drop=True)
        formats: dict[str, Format] = {"population": PEOPLE}
        for category in result.categories:
            formats[f"{category}_population"] = PEOPLE
            formats[f"{category}_covered_population"] = PEOPLE
            formats[f"{category}_covered_share"] = SHARE
            formats[f"{category}_median_min"] = MINUTES
            formats[f"{category}_max_min"] = MINUTES
        categories: tuple[str, ...] = ()
        if capacity is not None:
            check_matches(result, capacity)
            categories = tuple(
                c
                for c in result.categories
                if len(capacity.facility_ratio.get(c, ()))
                and f"{c}_places_per_1000" in capacity.neighbourhoods.columns
            )
            table = _with_capacity(table, capacity, categories)
            facilities = _facility_capacities(facilities, result, capacity)
            for category in categories:
                formats[f"{category}_places_per_1000"] = PLACES_PER_1000
                formats[f"{category}_target_per_1000"] = PLACES_PER_1000
                formats[f"{category}_shortfall_places"] = PLACES
        if coords != "wgs84":
            table = convert_geometries(table, source="wgs84", target=coords)
            lon, lat = from_wgs84(
                facilities["lon"].to_numpy(float), facilities["lat"].to_numpy(float), coords=coords
            )
            facilities = facilities.assign(lon=lon, lat=lat)
        return cls(summary, table, facilities, formats, capacity, categories, coords)


#: Columns of ``CapacityResult.neighbourhoods`` per category, in the order reports show them.
CAPACITY_SUFFIXES: Final = (
    "_places_per_1000",
    "_target_per_1000",
    "_shortfall_places",
    "_below_target",
)


def _with_capacity(
    table: gpd.GeoDataFrame, capacity: CapacityResult, categories: Sequence[str]
) -> gpd.GeoDataFrame:
    """The neighbourhood table with each category's capacity columns after its status."""
    cap = capacity.neighbourhoods
    cap = cap.set_index(cap["area_id"].astype(str)).reindex(table["area_id"].astype(str))
    after_status = {f"{c}_status": c for c in categories}
    extra: dict[str, np.ndarray] = {}
    order: list[str] = []
    for column in map(str, table.columns):
        order.append(column)
        category = after_status.get(column)
        if category is None:
            continue
        for suffix in CAPACITY_SUFFIXES:
            name = category + suffix
            if name in cap.columns:
                extra[name] = cap[name].to_numpy()
                order.append(name)
    return table.assign(**extra).loc[:, order]


def _facility_capacities(
    facilities: pd.DataFrame, result: CoverageResult, capacity: CapacityResult
) -> pd.DataFrame:
    """Facilities with ``capacity`` and ``places_per_1000`` (``1000 R_j``) at the end.

    ``places_per_1000`` is empty (NaN) where the facility has no capacity, is off the
    network (not used), or nobody lives within its reach (the ratio is undefined there).
    """
    model = result.model.facilities
    raw = (
        pd.to_numeric(model["capacity"], errors="coerce")
        if "capacity" in model.columns
        else pd.Series(np.nan, index=model.index)
    )
    by_key = pd.Series(raw.to_numpy(float), index=_facility_keys(model))
    keys = _facility_keys(facilities)
    capacities = by_key[~by_key.index.duplicated()].reindex(keys).to_numpy(float)
    frames = [f.assign(category=c) for c, f in capacity.facility_ratio.items() if len(f)]
    places = np.full(len(facilities), np.nan)
    if frames:
        ratios = pd.concat(frames, ignore_index=True)
        values = pd.Series(
            np.where(
                ratios["demand"].to_numpy(float) > 0,
                ratios["places_per_1000"].to_numpy(float),
                np.nan,
            ),
            index=_facility_keys(ratios),
        )
        places = values[~values.index.duplicated()].reindex(keys).to_numpy(float)
    return facilities.assign(capacity=capacities, places_per_1000=places)


def _facility_keys(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [frame["category"].astype(str).to_numpy(), frame["id"].astype(str).to_numpy()]
    )


@dataclass(frozen=True)
class Format:
    """How a numeric column is written: decimals in CSV/GeoJSON, number format in Excel."""

    decimals: int | None
    excel: str = "General"


PEOPLE = Format(PEOPLE_DECIMALS, "#,##0")
SHARE = Format(SHARE_DECIMALS, "0.0%")
MINUTES = Format(MINUTES_DECIMALS, "0.0")
COORDINATE = Format(COORDINATE_DECIMALS, "0.000000")
PLACES_PER_1000 = Format(PLACES_PER_1000_DECIMALS, "0.00")
PLACES = Format(PLACES_DECIMALS, "#,##0.0")
FACILITY_FORMATS: Final[dict[str, Format]] = {
    "snap_m": Format(METRES_DECIMALS, "0.0"),
    "served_population": PEOPLE,
    "lon": COORDINATE,
    "lat": COORDINATE,
    "capacity": PLACES,
    "places_per_1000": PLACES_PER_1000,
}


#: threshold_min and speed_kmh keep their (rounded) value; people are whole numbers.
SUMMARY_FORMATS: Final[dict[str, Format]] = {"covered_share": SHARE}
SCENARIO_FORMATS: Final[dict[str, Format]] = {
    "covered_share": SHARE,
    "covered_share_change": SHARE,
}


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds."""
    return value.item() if isinstance(value, np.generic) else value


def is_missing(value: Any) -> bool:
    """True for None, NaN and infinite numbers (written as empty cells)."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def rounded(value: Any, fmt: Format | None) -> Any:
    """A cell as a JSON value: fixed decimals, ``None`` for missing or infinite numbers."""
    value = plain(value)
    if is_missing(value) or value is pd.NA:
        return None
    if fmt is not None and fmt.decimals is not None and isinstance(value, (int, float)):
        return round(float(value), fmt.decimals)
    return value


#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    """A text cell that no spreadsheet runs as a formula: a leading ``'`` where it could.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a single
    quote in front, as OWASP recommends against CSV injection; other text is unchanged.
    Numbers are never passed here, so a negative number stays a number.

    Examples
    --------
    >>> neutralised("=HYPERLINK(1)"), neutralised("-neg"), neutralised("clinic")
    ("'=HYPERLINK(1)", "'-neg", 'clinic')
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(value: Any, fmt: Format | None) -> str:
    """A cell as CSV text: fixed decimals, empty for missing or infinite numbers.

    Text is :func:`neutralised`; numbers and booleans are written as they are.
    """
    value = plain(value)
    if is_missing(value) or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if fmt is not None and fmt.decimals is not None:
            return f"{float(value):.{fmt.decimals}f}"
        return str(value)
    return neutralised(str(value))


def _fixed_decimals(values: pd.Series, fmt: Format | None) -> int | None:
    """The decimals of `fmt` where `values` is a plain numpy number column, else None."""
    if fmt is None or fmt.decimals is None:
        return None
    numeric = isinstance(values.dtype, np.dtype) and values.dtype.kind in ("i", "u", "f")
    return fmt.decimals if numeric else None


def _csv_column(values: pd.Series, fmt: Format | None) -> list[str]:
    """:func:`csv_text` of each value; a number column with fixed decimals in one pass."""
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "b":
        return np.where(values.to_numpy(), "true", "false").tolist()  # type: ignore[no-any-return]
    decimals = _fixed_decimals(values, fmt)
    if decimals is None:
        cells = values.tolist()
        if all(c.__class__ is str for c in cells):
            return _each_distinct(cells, neutralised)
        return [csv_text(c, fmt) for c in cells]
    return fixed_texts(values.to_numpy(dtype=float), decimals)


#: Below this, ``x * 10**decimals`` is a float so far from its precision limit that
#: ``round(x, decimals)`` formats with `decimals` decimals exactly as ``x`` does.
_FIXED_SAFE: Final = 2.0**40


def fixed_texts(numbers: np.ndarray, decimals: int) -> list[str]:
    """``f"{x:.{decimals}f}"`` of each number, ``""`` where not finite.

    Formatting picks the decimal nearest ``x`` with `decimals` decimals, which the float
    ``round(x, decimals)`` (:func:`circle._io.python_rounded`) stands for exactly while
    ``|x| * 10**decimals`` stays well inside a float's precision; so each distinct rounded
    value (sign of zero included) is formatted once. Larger numbers are formatted one by one.
    """
    texts = np.full(len(numbers), "", dtype=object)
    with np.errstate(over="ignore", invalid="ignore"):
        safe = np.abs(numbers) * 10.0**decimals < _FIXED_SAFE  # False for NaN and infinity
    rounded = python_rounded(numbers[safe], decimals)
    texts[safe] = texts_by_key(
        rounded.view(np.int64),  # the bits: -0.0 apart from 0.0
        lambda first: [f"{x:.{decimals}f}" for x in rounded[first].tolist()],
    )
    large = np.flatnonzero(~safe & np.isfinite(numbers))
    texts[large] = [f"{x:.{decimals}f}" for x in numbers[large].tolist()]
    return texts.tolist()


def _json_column(values: pd.Series, fmt: Format | None) -> list[str]:
    """Each value's JSON text, as ``json.dumps(rounded(value, fmt))`` gives it.

    Plain numpy number and boolean columns, and columns of text only, are encoded in one
    pass; others value by value.
    """
    dtype = values.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return np.where(values.to_numpy(), "true", "false").tolist()  # type: ignore[no-any-return]
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        decimals = _fixed_decimals(values, fmt)
        if dtype.kind != "f" and decimals is None:
            return list(map(repr, values.tolist()))  # Python ints
        numbers = values.to_numpy(dtype=float)
        if decimals is not None:
            numbers = python_rounded(numbers, decimals)
        texts = np.asarray(list(map(repr, numbers.tolist())), dtype=object)
        texts[~np.isfinite(values.to_numpy(dtype=float))] = "null"
        return texts.tolist()  # type: ignore[no-any-return]
    cells = values.tolist()
    if all(c.__class__ is str for c in cells):  # text as it is (rounded() leaves it)
        # What json.dumps(c, ensure_ascii=False) gives for text, without a new encoder each time.
        return _each_distinct(cells, encode_basestring)
    return [json.dumps(rounded(c, fmt), ensure_ascii=False, allow_nan=False) for c in cells]


def _each_distinct(texts: list[str], func: Callable[[str], str]) -> list[str]:
    """``[func(t) for t in texts]``, calling `func` once per distinct text."""
    done = {t: func(t) for t in dict.fromkeys(texts)}
    return [done[t] for t in texts]


def csv_bytes(table: pd.DataFrame, formats: Mapping[str, Format]) -> bytes:
    """`table` as UTF-8 CSV with LF line ends, numbers with the decimals of `formats`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = [str(c) for c in table.columns]
    writer.writerow([neutralised(c) for c in columns])
    cells = [_csv_column(table[c], formats.get(c)) for c in columns]
    writer.writerows(zip(*cells, strict=True))
    return buffer.getvalue().encode("utf-8")


def geojson_table_bytes(
    table: gpd.GeoDataFrame,
    formats: Mapping[str, Format],
    *,
    coordinate_system: str | None = None,
) -> bytes:
    """A report layer as GeoJSON (see :func:`circle._io.geojson_bytes`).

    Numbers get the decimals of `formats`; the OSM attribution is a top-level member, and
    `coordinate_system` (``"GCJ-02"``, ``"BD-09"``) another where the coordinates are not
    WGS-84.
    """
    columns = [str(c) for c in table.columns if c != table.geometry.name]
    # Each feature's properties as json.dumps of {column: rounded value} gives them.
    keys = [json.dumps(c, ensure_ascii=False) + ": " for c in columns]
    cells = [
        [key + text for text in _json_column(table[c], formats.get(c))]
        for key, c in zip(keys, columns, strict=True)
    ]
    properties = (
        ["{" + ", ".join(row) + "}" for row in zip(*cells, strict=True)]
        if columns
        else ["{}"] * len(table)
    )
    members = {"attribution": OSM_CREDIT}
    if coordinate_system is not None:
        members["coordinate_system"] = coordinate_system
    return geojson_bytes_of_texts(
        properties,
        table.geometry.to_numpy(),
        coordinate_decimals=COORDINATE_DECIMALS,
        members=members,
    )


def report_word(key: str, lang: Lang, **values: object) -> str:
    """A word of the reports (section ``report`` of :mod:`circle.i18n`)."""
    return word(f"report.{key}", lang, **values)
