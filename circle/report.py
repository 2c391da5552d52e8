"""Write gap reports: CSV, GeoJSON, Excel and Markdown."""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import unicodedata
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import shapely
import shapely.geometry
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from circle._io import atomic_path
from circle.categories import category_label
from circle.coverage import HORIZON_FACTOR, SUMMARY_COLUMNS
from circle.errors import InputError
from circle.i18n import ATTRIBUTION, STATUS_WORDS, Lang, check_lang

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Mapping, Sequence

    import geopandas as gpd

    from circle.coverage import CoverageResult, Threshold

__all__ = ["OSM_ATTRIBUTION", "REPORT_FILES", "WORST_NEIGHBOURHOODS", "write_report"]

logger = logging.getLogger(__name__)

#: The files :func:`write_report` writes, in the order it returns them.
REPORT_FILES: Final[tuple[str, ...]] = (
    "summary.csv",
    "neighbourhoods.csv",
    "neighbourhoods.geojson",
    "facilities.csv",
    "gaps.xlsx",
    "report.md",
)
#: The attribution member of ``neighbourhoods.geojson`` (RFC 7946 allows foreign members).
OSM_ATTRIBUTION: Final = "© OpenStreetMap contributors, ODbL 1.0"
#: Neighbourhoods listed per category in ``report.md``, largest gaps first.
WORST_NEIGHBOURHOODS: Final = 10
#: Decimals of longitude and latitude in GeoJSON and CSV (about 0.1 m).
COORDINATE_DECIMALS: Final = 6
#: Decimals of people counts, covered shares, walking minutes and metres in CSV and GeoJSON.
PEOPLE_DECIMALS: Final = 1
SHARE_DECIMALS: Final = 4
MINUTES_DECIMALS: Final = 1
METRES_DECIMALS: Final = 1

#: Light cell fills of neighbourhood statuses in ``gaps.xlsx`` (green, amber, red, grey).
STATUS_FILLS: Final[dict[str, str]] = {
    "covered": "C6EFCE",
    "partial": "FFEB9C",
    "uncovered": "FFC7CE",
    "empty": "EDEDED",
}
_MIN_WIDTH, _MAX_WIDTH = 8, 40

#: Every word the report writes, by language. ``{label}`` is a service's label.
_LABELS: Final[dict[str, dict[str, str]]] = {
    "en": {
        # sheet names (at most 31 characters, none of \ / ? * [ ] :)
        "sheet_summary": "Summary",
        "sheet_neighbourhoods": "Neighbourhoods",
        "sheet_facilities": "Facilities",
        "sheet_method": "Method",
        # Summary columns
        "category": "Category id",
        "label": "Service",
        "threshold_min": "Threshold (min)",
        "speed_kmh": "Walking speed (km/h)",
        "facilities": "Facilities used",
        "facilities_off_network": "Off-network facilities",
        "population": "Population",
        "covered_population": "Covered population",
        "covered_share": "Covered share",
        "neighbourhoods": "Neighbourhoods with residents",
        "uncovered_neighbourhoods": "Uncovered neighbourhoods",
        # Neighbourhood columns
        "area_id": "Neighbourhood id",
        "name": "Neighbourhood",
        "c_population": "{label}: people it serves",
        "c_covered_population": "{label}: covered population",
        "c_covered_share": "{label}: covered share",
        "c_median_min": "{label}: median minutes",
        "c_max_min": "{label}: longest minutes",
        "c_status": "{label}: status",
        "complete": "Every service covered",
        "missing": "Services not covered",
        # Facility columns
        "id": "Id",
        "facility_name": "Name",
        "service": "Service",
        "on_network": "On the walking network",
        "snap_m": "Distance to the network (m)",
        "served_population": "Population served in time",
        "lon": "Longitude",
        "lat": "Latitude",
        "yes": "yes",
        "no": "no",
        # Method
        "item": "Item",
        "value": "Value",
        "m_network": "Walking network",
        "m_facilities": "Facilities",
        "m_facility_counts": " ({used} used, {off} off-network)",
        "m_preset": "Preset",
        "m_areas": "Neighbourhoods",
        "m_area_counts": " ({count} neighbourhoods, {inhabited} with residents)",
        "m_population": "Population",
        "m_proxy": (
            "an estimate (proxy) derived from OpenStreetMap, not counted residents: "
            "read the numbers of people as indicative"
        ),
        "m_groups": "{labels}: count only the people they serve (a column of the population data)",
        "m_profile": "Walking",
        "m_profile_value": "{name} profile, {speed} km/h ({per_minute} m per minute)",
        "m_thresholds": "Thresholds",
        "m_minutes_unit": "min",
        "m_metres_unit": "m",
        "m_routing": "How access is measured",
        "m_routing_value": (
            "Walking is two-way on every walkable way. A home or a facility joins the network "
            "at the nearest point of the nearest way; that straight leg is walked at the same "
            "speed and counts. A person is covered when the walk to the nearest facility of a "
            "service takes no longer than its threshold (equal counts as covered)."
        ),
        "m_off_network": "Off-network facilities",
        "m_off_network_value": (
            "Facilities farther than {metres} m from any walkable way are off-network: listed "
            "in this report, not used. People who cannot join the network count as not covered."
        ),
        "m_statuses": "Neighbourhood status",
        "m_statuses_value": (
            "covered: at least {covered} of the residents reach the service in time; "
            "partial: {uncovered} to under {covered}; uncovered: under {uncovered}; "
            "no residents: nobody lives there."
        ),
        "m_walking_minutes": "Walking minutes",
        "m_walking_minutes_value": (
            "Per neighbourhood, the population-weighted median (the time within which at least "
            "half of the residents reach the service) and the longest walk to the nearest "
            "facility. Searches stop at {factor} times each threshold: '> N' here, an empty "
            "cell in the CSV and null in the GeoJSON mean beyond that, or no walking route."
        ),
        "m_software": "Software",
        "m_attribution": "Data attribution",
        "not_recorded": "not recorded",
        "colon": ": ",
        "separator": "; ",
        "profile_adult": "adult",
        "profile_elderly": "older people's",
        # report.md
        "title": "Walking access to community services: gap report",
        "h_method": "Inputs and method",
        "h_summary": "Coverage by service",
        "h_worst": "{label}: neighbourhoods with the largest gaps",
        "h_off": "Off-network facilities",
        "md_threshold": "Threshold",
        "md_people": "People",
        "md_covered_people": "People covered",
        "md_uncovered_areas": "Uncovered neighbourhoods",
        "md_of": "{part} of {whole}",
        "md_not_covered": "People not covered",
        "md_median": "Median minutes",
        "md_max": "Longest minutes",
        "md_worst_intro": (
            "Lowest covered share first, then most people not covered; at most {count}."
        ),
        "md_no_gaps": "Every neighbourhood with residents is fully covered.",
        "md_no_facility": (
            "No facility of this service joins the walking network: nobody is covered."
        ),
        "md_off_intro": (
            "Farther than {metres} m from any walkable way, so not used in the results:"
        ),
        "md_no_off": "None: every facility joins the walking network.",
        "md_files": (
            "Files: `summary.csv`, `neighbourhoods.csv`, `neighbourhoods.geojson`, "
            "`facilities.csv` and `gaps.xlsx` hold the full tables."
        ),
    },
    "zh": {
        "sheet_summary": "汇总",
        "sheet_neighbourhoods": "社区单元",
        "sheet_facilities": "设施",
        "sheet_method": "方法说明",
        "category": "类别",
        "label": "服务",
        "threshold_min": "阈值（分钟）",
        "speed_kmh": "步行速度（公里/小时）",
        "facilities": "设施数",
        "facilities_off_network": "未接入路网设施数",
        "population": "人口",
        "covered_population": "覆盖人口",
        "covered_share": "覆盖率",
        "neighbourhoods": "有人口的社区/单元数",
        "uncovered_neighbourhoods": "未覆盖社区/单元数",
        "area_id": "社区/单元编号",
        "name": "社区/单元",
        "c_population": "{label} 服务对象人口",
        "c_covered_population": "{label} 覆盖人口",
        "c_covered_share": "{label} 覆盖率",
        "c_median_min": "{label} 步行时间中位数（分钟）",
        "c_max_min": "{label} 最长步行时间（分钟）",
        "c_status": "{label} 状态",
        "complete": "全部服务覆盖",
        "missing": "未覆盖的服务",
        "id": "编号",
        "facility_name": "名称",
        "service": "服务",
        "on_network": "接入步行路网",
        "snap_m": "距路网距离（米）",
        "served_population": "按时可达服务人口",
        "lon": "经度",
        "lat": "纬度",
        "yes": "是",
        "no": "否",
        "item": "项目",
        "value": "内容",
        "m_network": "步行路网",
        "m_facilities": "设施",
        "m_facility_counts": "（使用 {used} 处，未接入路网 {off} 处）",
        "m_preset": "预设标准",
        "m_areas": "社区/单元",
        "m_area_counts": "（共 {count} 个社区/单元，其中 {inhabited} 个有人口）",
        "m_population": "人口",
        "m_proxy": "基于 OpenStreetMap 的估算（替代数据），并非实际人口统计，人数仅供参考",
        "m_groups": "{labels}：只计其服务对象（人口数据中的相应字段）",
        "m_profile": "步行",
        "m_profile_value": "{name}步行速度 {speed} 公里/小时（每分钟 {per_minute} 米）",
        "m_thresholds": "阈值",
        "m_minutes_unit": "分钟",
        "m_metres_unit": "米",
        "m_routing": "可达性计算方法",
        "m_routing_value": (
            "所有可步行道路均可双向通行。住所和设施以直线接入最近道路上的最近点，该接入段按同样"
            "速度计入步行时间。到某类服务最近设施的步行时间不超过其阈值（等于阈值也算）即为覆盖。"
        ),
        "m_off_network": "未接入路网的设施",
        "m_off_network_value": (
            "距任何可步行道路超过 {metres} 米的设施视为未接入路网：在报告中列出，但不参与计算。"
            "无法接入路网的人口计为未覆盖。"
        ),
        "m_statuses": "社区/单元状态",
        "m_statuses_value": (
            "覆盖：至少 {covered} 的居民可按时到达；部分覆盖：{uncovered} 至不足 {covered}；"
            "未覆盖：不足 {uncovered}；无人口：无人居住。"
        ),
        "m_walking_minutes": "步行时间",
        "m_walking_minutes_value": (
            "每个社区/单元居民到最近设施的步行时间：按人口加权的中位数（至少一半居民可在此时间内"
            "到达）和最长时间。搜索范围为各阈值的 {factor} 倍：本表中的“> N”、CSV 中的空单元格及 "
            "GeoJSON 中的 null 表示超出该范围或无步行路线。"
        ),
        "m_software": "软件",
        "m_attribution": "数据来源",
        "not_recorded": "未记录",
        "colon": "：",
        "separator": "；",
        "profile_adult": "成人",
        "profile_elderly": "老年人",
        "title": "社区服务步行可达性缺口报告",
        "h_method": "输入数据与方法",
        "h_summary": "各类服务覆盖情况",
        "h_worst": "{label}：缺口最大的社区/单元",
        "h_off": "未接入路网的设施",
        "md_threshold": "阈值",
        "md_people": "人口",
        "md_covered_people": "覆盖人口",
        "md_uncovered_areas": "未覆盖社区/单元",
        "md_of": "{part} / {whole}",
        "md_not_covered": "未覆盖人口",
        "md_median": "步行时间中位数（分钟）",
        "md_max": "最长步行时间（分钟）",
        "md_worst_intro": "按覆盖率从低到高、未覆盖人口从多到少排列，最多 {count} 个。",
        "md_no_gaps": "所有有人口的社区/单元均已全部覆盖。",
        "md_no_facility": "该类服务没有接入步行路网的设施：无人覆盖。",
        "md_off_intro": "以下设施距任何可步行道路超过 {metres} 米，未参与计算：",
        "md_no_off": "无：所有设施均接入步行路网。",
        "md_files": (
            "完整数据见 `summary.csv`、`neighbourhoods.csv`、`neighbourhoods.geojson`、"
            "`facilities.csv` 和 `gaps.xlsx`。"
        ),
    },
}


def _word(key: str, lang: Lang, **values: object) -> str:
    return _LABELS[lang][key].format(**values)


def write_report(
    result: CoverageResult,
    out_dir: str | os.PathLike[str],
    *,
    lang: Lang = "en",
    inputs: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the gap report files into a folder.

    The folder is created if missing; files in it that circle does not write are left
    alone, and each file is replaced atomically (a reader never sees half a file).

    - ``summary.csv``: one row per category, sorted by category id, in the columns of
      the output contract (``category, label, threshold_min, speed_kmh, facilities,
      facilities_off_network, population, covered_population, covered_share,
      neighbourhoods, uncovered_neighbourhoods``); ``covered_share`` has 4 decimals.
    - ``neighbourhoods.csv`` and ``neighbourhoods.geojson`` (WGS-84): the columns of
      :meth:`~circle.coverage.CoverageResult.neighbourhood_table`, sorted by ``area_id``.
      People 1 decimal, shares 4, minutes 1, coordinates 6. A minute that is beyond
      ``HORIZON_FACTOR`` x the threshold, or has no walking route, is empty in the CSV and
      ``null`` in the GeoJSON (so is every number of a neighbourhood without residents).
      Statuses are the stable ids ``covered, partial, uncovered, empty``.
    - ``facilities.csv``: ``id, name, category, on_network, snap_m, served_population,
      lon, lat``, sorted by category then id; ``snap_m`` is the straight line to the
      nearest walkable way (for off-network facilities, ``on_network`` ``false``, how far
      off they are).
    - ``gaps.xlsx``: sheets Summary, Neighbourhoods, Facilities and Method, formatted for
      reading (headers, sheet names and statuses in `lang`).
    - ``report.md``: inputs and method in words, coverage per service, the neighbourhoods
      with the largest gaps, and the off-network facilities.

    CSV and GeoJSON files are UTF-8 with LF line ends; their column names are the
    stable ids in every language, and the same inputs give byte-identical files.

    Parameters
    ----------
    result
        The coverage to report.
    out_dir
        The report folder.
    lang
        {"en", "zh"}: language of labels, headers and text.
    inputs
        What was loaded, in words (keys ``network``, ``facilities``, ``areas``,
        ``population``, ``preset``), for the method description.

    Returns
    -------
    list of Path
        The files written, in the order of :data:`REPORT_FILES`.

    Raises
    ------
    InputError
        `out_dir` exists and is not a folder.
    ValueError
        `lang` is not ``"en"`` or ``"zh"``.
    """
    lang = check_lang(lang)
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        msg = f"`out_dir` `{folder}` is a file; the report needs a folder."
        raise InputError(msg)
    tables = _Tables.from_result(result, lang)
    method = _method_rows(result, tables, lang, dict(inputs or {}))
    # Everything is built before the first file is written.
    contents: dict[str, bytes | Workbook] = {
        "summary.csv": _csv_bytes(tables.summary, _SUMMARY_FORMATS),
        "neighbourhoods.csv": _csv_bytes(
            tables.neighbourhoods.drop(columns=tables.neighbourhoods.geometry.name),
            tables.neighbourhood_formats,
        ),
        "neighbourhoods.geojson": _geojson_bytes(
            tables.neighbourhoods, tables.neighbourhood_formats
        ),
        "facilities.csv": _csv_bytes(tables.facilities, _FACILITY_FORMATS),
        "gaps.xlsx": _workbook(result, tables, method, lang),
        "report.md": _markdown(result, tables, method, lang).encode("utf-8"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in REPORT_FILES:
        target = folder / name
        content = contents[name]
        with atomic_path(target) as tmp:
            if isinstance(content, bytes):
                tmp.write_bytes(content)
            else:
                content.save(tmp)
        written.append(target)
    logger.info("wrote %d report files to %s", len(written), folder)
    return written


# ---------------------------------------------------------------------------------------
# The tables


@dataclass(frozen=True)
class _Tables:
    """The three tables of a report, sorted as written, with the number format of columns."""

    summary: pd.DataFrame
    neighbourhoods: gpd.GeoDataFrame
    facilities: pd.DataFrame
    neighbourhood_formats: dict[str, _Format]

    @classmethod
    def from_result(cls, result: CoverageResult, lang: Lang) -> _Tables:
        summary = (
            result.summary(lang=lang)
            .sort_values("category", kind="stable")
            .reset_index(drop=True)
            .loc[:, list(SUMMARY_COLUMNS)]
        )
        table = result.neighbourhood_table(lang=lang)
        table = table.iloc[np.argsort(table["area_id"].astype(str).to_numpy(), kind="stable")]
        table = table.reset_index(drop=True).to_crs("EPSG:4326")
        facilities = result.facility_table()
        order = np.lexsort(
            (facilities["id"].astype(str).to_numpy(), facilities["category"].astype(str))
        )
        facilities = facilities.iloc[order].reset_index(drop=True)
        formats: dict[str, _Format] = {"population": _PEOPLE}
        for category in result.categories:
            formats[f"{category}_population"] = _PEOPLE
            formats[f"{category}_covered_population"] = _PEOPLE
            formats[f"{category}_covered_share"] = _SHARE
            formats[f"{category}_median_min"] = _MINUTES
            formats[f"{category}_max_min"] = _MINUTES
        return cls(summary, table, facilities, formats)


@dataclass(frozen=True)
class _Format:
    """How a numeric column is written: decimals in CSV/GeoJSON, number format in Excel."""

    decimals: int | None
    excel: str = "General"


_PEOPLE = _Format(PEOPLE_DECIMALS, "#,##0")
_SHARE = _Format(SHARE_DECIMALS, "0.0%")
_MINUTES = _Format(MINUTES_DECIMALS, "0.0")
_COORDINATE = _Format(COORDINATE_DECIMALS, "0.000000")
_FACILITY_FORMATS: Final[dict[str, _Format]] = {
    "snap_m": _Format(METRES_DECIMALS, "0.0"),
    "served_population": _PEOPLE,
    "lon": _COORDINATE,
    "lat": _COORDINATE,
}


#: threshold_min and speed_kmh keep their (rounded) value; people are whole numbers.
_SUMMARY_FORMATS: Final[dict[str, _Format]] = {"covered_share": _SHARE}


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds."""
    return value.item() if isinstance(value, np.generic) else value


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _rounded(value: Any, fmt: _Format | None) -> Any:
    """A cell as a JSON value: fixed decimals, ``None`` for missing or infinite numbers."""
    value = _plain(value)
    if _is_missing(value) or value is pd.NA:
        return None
    if fmt is not None and fmt.decimals is not None and isinstance(value, (int, float)):
        return round(float(value), fmt.decimals)
    return value


def _csv_text(value: Any, fmt: _Format | None) -> str:
    """A cell as CSV text: fixed decimals, empty for missing or infinite numbers."""
    value = _plain(value)
    if _is_missing(value) or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if fmt is not None and fmt.decimals is not None and isinstance(value, (int, float)):
        return f"{float(value):.{fmt.decimals}f}"
    return str(value)


def _csv_bytes(table: pd.DataFrame, formats: Mapping[str, _Format]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = [str(c) for c in table.columns]
    writer.writerow(columns)
    cells = [[_csv_text(v, formats.get(c)) for v in table[c].tolist()] for c in columns]
    writer.writerows(zip(*cells, strict=True))
    return buffer.getvalue().encode("utf-8")


# ---------------------------------------------------------------------------------------
# GeoJSON


def _rounded_coordinates(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_rounded_coordinates(v) for v in value]
    return round(float(value), COORDINATE_DECIMALS)


def _geometry_json(geometry: shapely.Geometry | None) -> dict[str, Any] | None:
    if geometry is None or geometry.is_empty:
        return None
    mapping = shapely.geometry.mapping(geometry)
    if "geometries" in mapping:  # a GeometryCollection
        parts = [_geometry_json(g) for g in shapely.get_parts(geometry)]
        return {"type": mapping["type"], "geometries": parts}
    return {"type": mapping["type"], "coordinates": _rounded_coordinates(mapping["coordinates"])}


def _geojson_bytes(table: gpd.GeoDataFrame, formats: Mapping[str, _Format]) -> bytes:
    """A FeatureCollection written by hand: fixed key order, one feature per line."""
    # RFC 7946: exterior rings counterclockwise, holes clockwise.
    geometries = shapely.orient_polygons(
        np.asarray(table.geometry.array, dtype=object), exterior_cw=False
    )
    columns = [str(c) for c in table.columns if c != table.geometry.name]
    values = {c: table[c].tolist() for c in columns}
    lines = []
    for i, geometry in enumerate(geometries):
        feature = {
            "type": "Feature",
            "properties": {c: _rounded(values[c][i], formats.get(c)) for c in columns},
            "geometry": _geometry_json(geometry),
        }
        lines.append(json.dumps(feature, ensure_ascii=False, allow_nan=False))
    head = json.dumps(
        {"type": "FeatureCollection", "attribution": OSM_ATTRIBUTION}, ensure_ascii=False
    )
    text = head[:-1] + ', "features": [\n' + ",\n".join(lines) + "\n]}\n"
    return text.encode("utf-8")


# ---------------------------------------------------------------------------------------
# Method, in words


def _threshold_words(threshold: Threshold, minutes: float, lang: Lang) -> str:
    if threshold.metres is not None:
        return (
            f"{threshold.metres:g} {_word('m_metres_unit', lang)} "
            f"(≈ {minutes:.1f} {_word('m_minutes_unit', lang)})"
        )
    return f"{minutes:g} {_word('m_minutes_unit', lang)}"


def _method_rows(
    result: CoverageResult, tables: _Tables, lang: Lang, inputs: dict[str, str]
) -> list[tuple[str, str]]:
    """(item, value) pairs describing the inputs and the method, for Excel and Markdown."""
    model = result.model
    unknown = _word("not_recorded", lang)
    on_network = model.facilities["on_network"].to_numpy(bool)
    rows = [
        (_word("m_network", lang), inputs.get("network") or unknown),
        (
            _word("m_facilities", lang),
            (inputs.get("facilities") or unknown)
            + _word(
                "m_facility_counts",
                lang,
                used=int(on_network.sum()),
                off=int((~on_network).sum()),
            ),
        ),
    ]
    if inputs.get("preset"):
        rows.append((_word("m_preset", lang), inputs["preset"]))
    population = tables.neighbourhoods["population"].to_numpy(float)
    rows.append(
        (
            _word("m_areas", lang),
            (result.area_kind or inputs.get("areas") or unknown)
            + _word(
                "m_area_counts",
                lang,
                count=len(population),
                inhabited=int((population > 0).sum()),
            ),
        )
    )
    separator = _word("separator", lang)
    people = result.people.source or inputs.get("population") or unknown
    if result.people.proxy:
        people += separator + _word("m_proxy", lang)
    groups = [c for c in result.categories if c in result.people.by_category]
    if groups:
        labels = "、" if lang == "zh" else ", "
        labels = labels.join(category_label(c, lang) for c in groups)
        people += separator + _word("m_groups", lang, labels=labels)
    rows.append((_word("m_population", lang), people))
    profile = model.profile
    rows.append(
        (
            _word("m_profile", lang),
            _word(
                "m_profile_value",
                lang,
                name=_LABELS[lang].get(f"profile_{profile.name}", profile.name),
                speed=f"{profile.speed_kmh:g}",
                per_minute=f"{profile.metres_per_minute:.0f}",
            ),
        )
    )
    thresholds = separator.join(
        category_label(c, lang)
        + _word("colon", lang)
        + _threshold_words(model.thresholds[c], model.threshold_minutes(c), lang)
        for c in tables.summary["category"]
    )
    cutoffs = result.cutoffs
    rows += [
        (_word("m_thresholds", lang), thresholds),
        (_word("m_routing", lang), _word("m_routing_value", lang)),
        (
            _word("m_off_network", lang),
            _word("m_off_network_value", lang, metres=f"{model.max_snap_m:g}"),
        ),
        (
            _word("m_statuses", lang),
            _word(
                "m_statuses_value",
                lang,
                covered=f"{cutoffs.covered:.0%}",
                uncovered=f"{cutoffs.uncovered:.0%}",
            ),
        ),
        (
            _word("m_walking_minutes", lang),
            _word("m_walking_minutes_value", lang, factor=f"{HORIZON_FACTOR:g}"),
        ),
        (_word("m_software", lang), f"circle {_circle_version()}"),
        (_word("m_attribution", lang), ATTRIBUTION[lang]),
    ]
    return rows


def _circle_version() -> str:
    try:
        return version("circle")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


# ---------------------------------------------------------------------------------------
# Excel


@dataclass(frozen=True)
class _Column:
    """One column of a sheet: header, cell values and how to show them."""

    header: str
    values: list[Any]
    number_format: str = "General"
    status: bool = False
    align_right: bool = False


def _minutes_cells(values: Iterable[Any], horizon_min: float) -> list[Any]:
    """Minutes for Excel: ``"> N"`` beyond the search horizon, blank without residents."""
    cells: list[Any] = []
    for value in values:
        number = float(value)
        if math.isnan(number):
            cells.append(None)
        elif math.isinf(number):
            cells.append(f"> {horizon_min:g}")
        else:
            cells.append(number)
    return cells


def _numbers(values: Iterable[Any]) -> list[Any]:
    """Numbers for Excel: blank where missing."""
    return [None if _is_missing(v := _plain(x)) else v for x in values]


def _summary_columns(tables: _Tables, lang: Lang) -> list[_Column]:
    s = tables.summary
    formats = {
        "population": "#,##0",
        "covered_population": "#,##0",
        "covered_share": "0.0%",
    }
    return [
        _Column(_word(c, lang), _numbers(s[c].tolist()), formats.get(c, "General"))
        for c in SUMMARY_COLUMNS
    ]


def _neighbourhood_columns(result: CoverageResult, tables: _Tables, lang: Lang) -> list[_Column]:
    t = tables.neighbourhoods
    yes, no = _word("yes", lang), _word("no", lang)
    columns = [
        _Column(_word("area_id", lang), t["area_id"].astype(str).tolist()),
        _Column(_word("name", lang), _numbers(t["name"].tolist())),
        _Column(_word("population", lang), _numbers(t["population"].tolist()), "#,##0"),
    ]
    statuses = STATUS_WORDS[lang]
    for category in result.categories:
        label = category_label(category, lang)
        horizon = result.model.threshold_minutes(category) * HORIZON_FACTOR
        if f"{category}_population" in t.columns:
            columns.append(
                _Column(
                    _word("c_population", lang, label=label),
                    _numbers(t[f"{category}_population"].tolist()),
                    "#,##0",
                )
            )
        columns += [
            _Column(
                _word("c_covered_population", lang, label=label),
                _numbers(t[f"{category}_covered_population"].tolist()),
                "#,##0",
            ),
            _Column(
                _word("c_covered_share", lang, label=label),
                _numbers(t[f"{category}_covered_share"].tolist()),
                "0.0%",
            ),
            _Column(
                _word("c_median_min", lang, label=label),
                _minutes_cells(t[f"{category}_median_min"], horizon),
                "0.0",
                align_right=True,
            ),
            _Column(
                _word("c_max_min", lang, label=label),
                _minutes_cells(t[f"{category}_max_min"], horizon),
                "0.0",
                align_right=True,
            ),
            _Column(
                _word("c_status", lang, label=label),
                [statuses[s] for s in t[f"{category}_status"]],
                status=True,
            ),
        ]
    columns += [
        _Column(_word("complete", lang), [yes if c else no for c in t["complete"]]),
        _Column(_word("missing", lang), t["missing"].astype(str).tolist()),
    ]
    return columns


def _facility_columns(tables: _Tables, lang: Lang) -> list[_Column]:
    f = tables.facilities
    yes, no = _word("yes", lang), _word("no", lang)
    return [
        _Column(_word("id", lang), f["id"].astype(str).tolist()),
        _Column(_word("facility_name", lang), _numbers(f["name"].tolist())),
        _Column(_word("service", lang), [category_label(c, lang) for c in f["category"]]),
        _Column(_word("on_network", lang), [yes if x else no for x in f["on_network"]]),
        _Column(_word("snap_m", lang), _numbers(f["snap_m"].tolist()), "0.0"),
        _Column(_word("served_population", lang), _numbers(f["served_population"]), "#,##0"),
        _Column(_word("lon", lang), _numbers(f["lon"].tolist()), "0.000000"),
        _Column(_word("lat", lang), _numbers(f["lat"].tolist()), "0.000000"),
    ]


def _display_width(value: Any, number_format: str) -> int:
    """Roughly how many character widths a cell needs (CJK characters count twice)."""
    if value is None:
        return 0
    if isinstance(value, float) and number_format == "0.0%":
        text = f"{value:.1%}"
    elif isinstance(value, (int, float)) and number_format == "#,##0":
        text = f"{value:,.0f}"
    elif isinstance(value, float) and number_format.startswith("0."):
        text = f"{value:.{len(number_format) - 2}f}"
    else:
        text = str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fill_sheet(sheet: Any, columns: Sequence[_Column], *, freeze: str = "A2") -> None:
    """Header row (bold, frozen, filtered) and formatted columns."""
    bold = Font(bold=True)
    header_alignment = Alignment(wrap_text=True, vertical="top")
    fills = {
        status: PatternFill(fill_type="solid", start_color=color, end_color=color)
        for status, color in STATUS_FILLS.items()
    }
    status_of = {word: status for words in STATUS_WORDS.values() for status, word in words.items()}
    right = Alignment(horizontal="right")
    n_rows = max((len(c.values) for c in columns), default=0)
    for j, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=j, value=column.header)
        cell.font = bold
        cell.alignment = header_alignment
        for i, value in enumerate(column.values, start=2):
            cell = sheet.cell(row=i, column=j, value=value)
            cell.number_format = column.number_format
            if column.status and value in status_of:
                cell.fill = fills[status_of[value]]
            if column.align_right and isinstance(value, str):
                cell.alignment = right
        widest = max(
            [_display_width(v, column.number_format) for v in column.values]
            + [min(_display_width(column.header, "General"), 24)]
        )
        width = min(max(widest + 2, _MIN_WIDTH), _MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(j)].width = width
    sheet.freeze_panes = freeze
    if columns:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{n_rows + 1}"


def _workbook(
    result: CoverageResult, tables: _Tables, method: list[tuple[str, str]], lang: Lang
) -> Workbook:
    book = Workbook()
    summary = book.active
    summary.title = _word("sheet_summary", lang)
    _fill_sheet(summary, _summary_columns(tables, lang), freeze="C2")
    neighbourhoods = book.create_sheet(_word("sheet_neighbourhoods", lang))
    _fill_sheet(neighbourhoods, _neighbourhood_columns(result, tables, lang), freeze="C2")
    facilities = book.create_sheet(_word("sheet_facilities", lang))
    _fill_sheet(facilities, _facility_columns(tables, lang), freeze="B2")
    sheet = book.create_sheet(_word("sheet_method", lang))
    _fill_sheet(
        sheet,
        [
            _Column(_word("item", lang), [item for item, _ in method]),
            _Column(_word("value", lang), [value for _, value in method]),
        ],
    )
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 100
    sheet.auto_filter.ref = None
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = wrap
    return book


# ---------------------------------------------------------------------------------------
# Markdown


def _md(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(_md(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return lines


def _people(value: Any) -> str:
    return f"{float(value):,.0f}"


def _area_words(name: Any, area_id: str) -> str:
    """A neighbourhood as ``name (id)``, or its id alone where it has no other name."""
    if isinstance(name, str) and name.strip() and name != area_id:
        return f"{name} ({area_id})"
    return area_id


def _md_minutes(value: Any, horizon_min: float) -> str:
    value = float(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return f"> {horizon_min:g}"
    return f"{value:.1f}"


def _worst(table: pd.DataFrame, category: str) -> pd.DataFrame:
    """Neighbourhoods where someone is not covered: lowest share, then most people missed."""
    group = f"{category}_population"
    population = table[group if group in table.columns else "population"].to_numpy(float)
    covered = table[f"{category}_covered_population"].to_numpy(float)
    frame = pd.DataFrame(
        {
            "area_id": table["area_id"].astype(str).to_numpy(),
            "name": table["name"].to_numpy(),
            "share": table[f"{category}_covered_share"].to_numpy(float),
            "median": table[f"{category}_median_min"].to_numpy(float),
            "max": table[f"{category}_max_min"].to_numpy(float),
            "not_covered": population - covered,
        }
    )
    frame = frame[(population > 0) & (frame["not_covered"].to_numpy() > 1e-9)]
    order = np.lexsort(
        (
            frame["area_id"].to_numpy(),
            -frame["not_covered"].to_numpy(),
            frame["share"].to_numpy(),
        )
    )
    return frame.iloc[order[:WORST_NEIGHBOURHOODS]]


def _markdown(
    result: CoverageResult, tables: _Tables, method: list[tuple[str, str]], lang: Lang
) -> str:
    w: Callable[..., str] = lambda key, **values: _word(key, lang, **values)  # noqa: E731
    lines = [f"# {w('title')}", "", f"## {w('h_method')}", ""]
    lines += [f"- **{item}**{w('colon')}{value}" for item, value in method]
    lines += ["", f"## {w('h_summary')}", ""]
    s = tables.summary
    lines += _md_table(
        [
            w("label"),
            w("md_threshold"),
            w("facilities"),
            w("facilities_off_network"),
            w("md_people"),
            w("md_covered_people"),
            w("covered_share"),
            w("md_uncovered_areas"),
        ],
        [
            [
                row.label,
                f"{row.threshold_min:g} {w('m_minutes_unit')}",
                row.facilities,
                row.facilities_off_network,
                _people(row.population),
                _people(row.covered_population),
                f"{row.covered_share:.1%}" if row.population else "–",
                w("md_of", part=row.uncovered_neighbourhoods, whole=row.neighbourhoods),
            ]
            for row in s.itertuples(index=False)
        ],
    )
    table = tables.neighbourhoods
    for category, used in zip(s["category"], s["facilities"], strict=True):
        label = category_label(category, lang)
        horizon = result.model.threshold_minutes(category) * HORIZON_FACTOR
        lines += ["", f"## {w('h_worst', label=label)}", ""]
        if not used:
            lines += [w("md_no_facility"), ""]
        worst = _worst(table, category)
        if worst.empty:
            lines.append(w("md_no_gaps"))
            continue
        lines += [w("md_worst_intro", count=WORST_NEIGHBOURHOODS), ""]
        lines += _md_table(
            [w("name"), w("covered_share"), w("md_median"), w("md_max"), w("md_not_covered")],
            [
                [
                    _area_words(row.name, str(row.area_id)),
                    f"{row.share:.1%}",
                    _md_minutes(row.median, horizon),
                    _md_minutes(row.max, horizon),
                    _people(row.not_covered),
                ]
                for row in worst.itertuples(index=False)
            ],
        )
    lines += ["", f"## {w('h_off')}", ""]
    f = tables.facilities
    off = f[~f["on_network"].to_numpy(bool)]
    if off.empty:
        lines.append(w("md_no_off"))
    else:
        lines += [w("md_off_intro", metres=f"{result.model.max_snap_m:g}"), ""]
        lines += _md_table(
            [w("id"), w("facility_name"), w("service"), w("snap_m"), w("lon"), w("lat")],
            [
                [
                    row.id,
                    row.name,
                    category_label(str(row.category), lang),
                    f"{row.snap_m:.0f}",
                    f"{row.lon:.6f}",
                    f"{row.lat:.6f}",
                ]
                for row in off.itertuples(index=False)
            ],
        )
    lines += ["", w("md_files"), "", ATTRIBUTION[lang], ""]
    return "\n".join(lines)
