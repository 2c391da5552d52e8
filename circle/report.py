"""Write gap and scenario reports: CSV, GeoJSON, Excel and Markdown."""

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
from circle.capacity import E2SFCA_BANDS, DecayBands
from circle.categories import category_label
from circle.coords import check_coords, convert_geometries, from_wgs84
from circle.coverage import HORIZON_FACTOR, SUMMARY_COLUMNS
from circle.errors import InputError
from circle.i18n import ATTRIBUTION, STATUS_WORDS, Lang, check_lang
from circle.scenario import SCENARIO_COLUMNS

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Mapping, Sequence

    import geopandas as gpd

    from circle.capacity import CapacityResult
    from circle.coverage import CoverageResult, Threshold

__all__ = [
    "COORDINATE_SYSTEM_NAMES",
    "OSM_ATTRIBUTION",
    "REPORT_FILES",
    "SCENARIO_COLUMNS",
    "SCENARIO_FILES",
    "WORST_NEIGHBOURHOODS",
    "write_report",
    "write_scenarios",
]

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
#: The files :func:`write_scenarios` writes, in the order it returns them.
SCENARIO_FILES: Final[tuple[str, ...]] = ("scenarios.csv", "scenarios.xlsx")
#: The attribution member of ``neighbourhoods.geojson`` (RFC 7946 allows foreign members).
OSM_ATTRIBUTION: Final = "© OpenStreetMap contributors, ODbL 1.0"
#: The ``coordinate_system`` member of ``neighbourhoods.geojson`` when it is not WGS-84.
COORDINATE_SYSTEM_NAMES: Final[dict[str, str]] = {"gcj02": "GCJ-02", "bd09": "BD-09"}
#: Neighbourhoods listed per category in ``report.md``, largest gaps first.
WORST_NEIGHBOURHOODS: Final = 10
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
        "sheet_scenarios": "Scenarios",
        # Scenario columns (with the Summary ones)
        "scenario": "Scenario",
        "base_scenario": "base",
        "covered_population_change": "Change in covered population",
        "covered_share_change": "Change in covered share",
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
        "c_places_per_1000": "{label}: {unit} per 1,000 residents",
        "c_target_per_1000": "{label}: target {unit} per 1,000",
        "c_shortfall_places": "{label}: shortfall ({unit})",
        "c_below_target": "{label}: below target",
        "unit_places": "places",
        # Facility columns
        "id": "Id",
        "facility_name": "Name",
        "service": "Service",
        "on_network": "On the walking network",
        "snap_m": "Distance to the network (m)",
        "served_population": "Population served in time",
        "lon": "Longitude",
        "lat": "Latitude",
        "capacity": "Capacity",
        "places_per_1000": "Places per 1,000 residents in reach",
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
        "m_capacity": "Places per 1,000 residents",
        "m_2sfca": (
            "two-step floating catchment area (2SFCA, Luo & Wang 2003): each facility's "
            "capacity is shared among the people who walk to it within the service's threshold; "
            "a person's places per 1,000 residents add up the shares of every facility within "
            "their reach; a neighbourhood's value is the population-weighted mean of its "
            "residents'."
        ),
        "m_e2sfca": (
            "enhanced two-step floating catchment area (E2SFCA, Luo & Qi 2009): as 2SFCA, but "
            "longer walks count less, by walking time as a share of the threshold ({bands}); "
            "a neighbourhood's value is the population-weighted mean of its residents'."
        ),
        "m_capacity_units": "Capacity units",
        "m_targets": "Targets",
        "m_target_value": "{target} {unit} per 1,000 residents",
        "m_no_targets": "none",
        "m_capacities": "Facility capacities",
        "m_capacity_all": "all {total} have a capacity",
        "m_capacity_some": (
            "{missing} of {total} without a capacity: counted for coverage only, "
            "not in places per 1,000"
        ),
        "m_capacity_none": "no capacities given: coverage only",
        "m_capacity_no_facility": "no facility on the walking network",
        "m_coords": "Coordinates",
        "m_coords_value": (
            "{name} ({tools}): longitudes and latitudes in neighbourhoods.geojson, "
            "facilities.csv and this report are {name}, not WGS-84, for import into {tools} "
            "tools. GeoJSON (RFC 7946) expects WGS-84: other GIS software will place these "
            "layers up to several hundred metres off."
        ),
        "tools_gcj02": "Gaode/AutoNavi, Tencent",
        "tools_bd09": "Baidu",
        "m_scenarios": "Scenarios",
        "m_scenarios_value": (
            "One row per scenario and service. Changes are against the base (the scenario "
            "named base): covered population and covered share with the scenario's edits "
            "minus without them."
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
        "h_capacity": "Places per 1,000 residents within walking reach",
        "md_capacity_intro": (
            "Overall: the population-weighted mean over everyone counted. Shortfall: the places "
            "missing in the neighbourhoods below the target (a neighbourhood above the target "
            "does not make up for another's shortfall). Facilities without a capacity are left "
            "out of these numbers."
        ),
        "md_unit": "Unit",
        "md_places_per_1000": "Places per 1,000",
        "md_target": "Target per 1,000",
        "md_below_target": "Neighbourhoods below target",
        "md_shortfall": "Shortfall",
        "md_missing_capacity": "Facilities without a capacity",
        "md_no_capacity": "No facility has a capacity: nothing to show.",
        "h_shortfall": "{label}: neighbourhoods with the largest shortfall",
        "md_shortfall_intro": "Most {unit} missing first; at most {count}.",
        "md_shortfall_unit": "Shortfall ({unit})",
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
        "sheet_scenarios": "情景",
        "scenario": "情景",
        "base_scenario": "基准",
        "covered_population_change": "覆盖人口变化",
        "covered_share_change": "覆盖率变化",
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
        "c_places_per_1000": "{label} 每千人{unit}",
        "c_target_per_1000": "{label} 目标（每千人{unit}）",
        "c_shortfall_places": "{label} 缺口（{unit}）",
        "c_below_target": "{label} 低于目标",
        "unit_places": "名额",
        "id": "编号",
        "facility_name": "名称",
        "service": "服务",
        "on_network": "接入步行路网",
        "snap_m": "距路网距离（米）",
        "served_population": "按时可达服务人口",
        "lon": "经度",
        "lat": "纬度",
        "capacity": "容量",
        "places_per_1000": "每千名可达居民名额",
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
        "m_capacity": "每千人名额",
        "m_2sfca": (
            "两步移动搜寻法（2SFCA，Luo & Wang 2003）：每处设施的容量由阈值内可步行到达的人口分摊；"
            "每人的每千人名额为其可达范围内各设施份额之和；社区/单元取居民的人口加权平均。"
        ),
        "m_e2sfca": (
            "增强型两步移动搜寻法（E2SFCA，Luo & Qi 2009）：同 2SFCA，但步行越远权重越低，"
            "按步行时间占阈值的比例（{bands}）；社区/单元取居民的人口加权平均。"
        ),
        "m_capacity_units": "容量单位",
        "m_targets": "目标",
        "m_target_value": "每千人 {target} {unit}",
        "m_no_targets": "无",
        "m_capacities": "设施容量",
        "m_capacity_all": "全部 {total} 处均有容量",
        "m_capacity_some": "{total} 处中 {missing} 处缺少容量：只计入覆盖率，不计入每千人名额",
        "m_capacity_none": "未提供容量：只计算覆盖率",
        "m_capacity_no_facility": "无接入步行路网的设施",
        "m_coords": "坐标系",
        "m_coords_value": (
            "{name}（{tools}）：neighbourhoods.geojson、facilities.csv 及本报告中的经纬度均为 "
            "{name} 坐标，而非 WGS-84，以便导入{tools}等工具。GeoJSON 标准（RFC 7946）要求 "
            "WGS-84：在其他 GIS 软件中这些图层会偏移最多数百米。"
        ),
        "tools_gcj02": "高德、腾讯",
        "tools_bd09": "百度",
        "m_scenarios": "情景",
        "m_scenarios_value": (
            "每行为一个情景中的一类服务。变化均相对于基准（名为 base 的情景）："
            "采用该情景调整后的覆盖人口和覆盖率减去调整前的数值。"
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
        "h_capacity": "步行可达范围内每千人名额",
        "md_capacity_intro": (
            "总体：所有计入人口的人口加权平均。缺口：低于目标的社区/单元所缺的名额之和"
            "（高于目标的社区/单元不抵消其他社区/单元的缺口）。缺少容量的设施不计入这些数字。"
        ),
        "md_unit": "单位",
        "md_places_per_1000": "每千人名额",
        "md_target": "目标（每千人）",
        "md_below_target": "低于目标的社区/单元",
        "md_shortfall": "缺口",
        "md_missing_capacity": "缺少容量的设施",
        "md_no_capacity": "没有设施提供容量：无可显示内容。",
        "h_shortfall": "{label}：缺口最大的社区/单元",
        "md_shortfall_intro": "按所缺{unit}从多到少排列，最多 {count} 个。",
        "md_shortfall_unit": "缺口（{unit}）",
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
    capacity: CapacityResult | None = None,
    out_coords: str = "wgs84",
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

    With `capacity`, for each service where at least one facility has a capacity, the
    neighbourhood files get, after the service's ``{c}_status``, the columns of
    :attr:`~circle.capacity.CapacityResult.neighbourhoods`: ``{c}_places_per_1000``
    (2 decimals), and with a target ``{c}_target_per_1000`` (2 decimals),
    ``{c}_shortfall_places`` (1 decimal) and ``{c}_below_target`` (true/false).
    ``facilities.csv`` ends with ``capacity`` (1 decimal, empty where missing) and
    ``places_per_1000`` (the facility's places per 1,000 residents in reach, ``1000 R_j``;
    empty without a capacity, off the network, or with nobody in reach). The Method sheet
    and ``report.md`` say the method, units, targets and how many facilities lacked a
    capacity; ``report.md`` adds places per 1,000 per service (the population-weighted
    mean over everyone counted), the neighbourhoods below target and the shortfall.
    Services without any capacity get no capacity columns (their facilities count for
    coverage only).

    With `out_coords` ``"gcj02"`` or ``"bd09"``, the geometry of
    ``neighbourhoods.geojson`` and ``lon``/``lat`` of ``facilities.csv`` (and of the
    workbook and ``report.md``) are in that system, for import into Gaode/Baidu-based
    tools; the GeoJSON gets a top-level ``"coordinate_system"`` member (``"GCJ-02"``,
    ``"BD-09"``), and the Method sheet and ``report.md`` say so. RFC 7946 expects WGS-84,
    so other GIS software will misplace such files.

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
    capacity
        Places per 1,000 residents computed from `result` (see
        :func:`circle.capacity.capacity_ratios`); ``None`` leaves capacity out.
    out_coords
        {"wgs84", "gcj02", "bd09"}, any letter case: the coordinate system of the layers.

    Returns
    -------
    list of Path
        The files written, in the order of :data:`REPORT_FILES`.

    Raises
    ------
    InputError
        `out_dir` exists and is not a folder, `out_coords` is unknown, or `capacity` was
        computed for other neighbourhoods or people than `result`.
    ValueError
        `lang` is not ``"en"`` or ``"zh"``.
    """
    lang = check_lang(lang)
    coords = check_coords(out_coords)
    folder = _check_folder(out_dir)
    tables = _Tables.from_result(result, lang, capacity=capacity, coords=coords)
    method = _method_rows(result, tables, lang, dict(inputs or {}))
    # Everything is built before the first file is written.
    contents: dict[str, bytes | Workbook] = {
        "summary.csv": _csv_bytes(tables.summary, _SUMMARY_FORMATS),
        "neighbourhoods.csv": _csv_bytes(
            tables.neighbourhoods.drop(columns=tables.neighbourhoods.geometry.name),
            tables.neighbourhood_formats,
        ),
        "neighbourhoods.geojson": _geojson_bytes(
            tables.neighbourhoods,
            tables.neighbourhood_formats,
            coordinate_system=COORDINATE_SYSTEM_NAMES.get(coords),
        ),
        "facilities.csv": _csv_bytes(tables.facilities, _FACILITY_FORMATS),
        "gaps.xlsx": _workbook(result, tables, method, lang),
        "report.md": _markdown(result, tables, method, lang).encode("utf-8"),
    }
    written = _write_files(folder, REPORT_FILES, contents)
    logger.info("wrote %d report files to %s", len(written), folder)
    return written


def write_scenarios(
    table: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    lang: Lang = "en",
    inputs: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the scenario comparison into a folder: ``scenarios.csv`` and ``scenarios.xlsx``.

    - ``scenarios.csv``: the rows of `table` in their order (the base first), in the
      columns of :data:`SCENARIO_COLUMNS` with those stable ids as headers in every
      language; ``covered_share`` and ``covered_share_change`` have 4 decimals, an empty
      cell where a service serves nobody. UTF-8, LF line ends, byte-identical for the
      same table.
    - ``scenarios.xlsx``: the same table formatted for reading (headers in `lang`,
      shares as percentages, changes signed), and a Method sheet with the inputs.

    The folder is created if missing; other files in it are left alone, and each file is
    replaced atomically.

    Parameters
    ----------
    table
        The comparison, as made by :func:`circle.scenario.scenario_table`.
    out_dir
        The folder.
    lang
        {"en", "zh"}: language of the workbook's headers and text.
    inputs
        What was loaded, in words (keys ``network``, ``facilities``, ``areas``,
        ``population``, ``preset``), for the Method sheet.

    Returns
    -------
    list of Path
        The files written, in the order of :data:`SCENARIO_FILES`.

    Raises
    ------
    InputError
        `table` lacks columns of :data:`SCENARIO_COLUMNS`, or `out_dir` is a file.
    ValueError
        `lang` is not ``"en"`` or ``"zh"``.
    """
    lang = check_lang(lang)
    missing = [c for c in SCENARIO_COLUMNS if c not in table.columns]
    if missing:
        listed = ", ".join(f"`{c}`" for c in missing)
        msg = f"`table` lacks the columns {listed}; make it with `circle.scenario.scenario_table`."
        raise InputError(msg)
    folder = _check_folder(out_dir)
    frame = table.loc[:, list(SCENARIO_COLUMNS)].reset_index(drop=True)
    contents: dict[str, bytes | Workbook] = {
        "scenarios.csv": _csv_bytes(frame, _SCENARIO_FORMATS),
        "scenarios.xlsx": _scenario_workbook(frame, dict(inputs or {}), lang),
    }
    written = _write_files(folder, SCENARIO_FILES, contents)
    logger.info("wrote %d scenario files to %s", len(written), folder)
    return written


def _check_folder(out_dir: str | os.PathLike[str]) -> Path:
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        msg = f"`out_dir` `{folder}` is a file; the report needs a folder."
        raise InputError(msg)
    return folder


def _write_files(
    folder: Path, names: Sequence[str], contents: Mapping[str, bytes | Workbook]
) -> list[Path]:
    """Write each file atomically, in the order of `names`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        target = folder / name
        content = contents[name]
        with atomic_path(target) as tmp:
            if isinstance(content, bytes):
                tmp.write_bytes(content)
            else:
                content.save(tmp)
        written.append(target)
    return written


# ---------------------------------------------------------------------------------------
# The tables


@dataclass(frozen=True)
class _Tables:
    """The three tables of a report, sorted as written, with the number format of columns.

    `capacity_categories` are the categories where at least one facility has a capacity;
    coordinates are in `coords`.
    """

    summary: pd.DataFrame
    neighbourhoods: gpd.GeoDataFrame
    facilities: pd.DataFrame
    neighbourhood_formats: dict[str, _Format]
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
    ) -> _Tables:
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
        categories: tuple[str, ...] = ()
        if capacity is not None:
            _check_capacity(result, capacity)
            categories = tuple(
                c
                for c in result.categories
                if len(capacity.facility_ratio.get(c, ()))
                and f"{c}_places_per_1000" in capacity.neighbourhoods.columns
            )
            table = _with_capacity(table, capacity, categories)
            facilities = _facility_capacities(facilities, result, capacity)
            for category in categories:
                formats[f"{category}_places_per_1000"] = _PLACES_PER_1000
                formats[f"{category}_target_per_1000"] = _PLACES_PER_1000
                formats[f"{category}_shortfall_places"] = _PLACES
        if coords != "wgs84":
            table = convert_geometries(table, source="wgs84", target=coords)
            lon, lat = from_wgs84(
                facilities["lon"].to_numpy(float), facilities["lat"].to_numpy(float), coords=coords
            )
            facilities = facilities.assign(lon=lon, lat=lat)
        return cls(summary, table, facilities, formats, capacity, categories, coords)


#: Columns of ``CapacityResult.neighbourhoods`` per category, in the order reports show them.
_CAPACITY_SUFFIXES: Final = (
    "_places_per_1000",
    "_target_per_1000",
    "_shortfall_places",
    "_below_target",
)


def _check_capacity(result: CoverageResult, capacity: CapacityResult) -> None:
    """Refuse a capacity result computed for other neighbourhoods or people."""
    ids = capacity.neighbourhoods["area_id"].astype(str)
    expected = set(result.areas["area_id"].astype(str))
    lengths = {len(v) for v in capacity.per_person.values()}
    if ids.duplicated().any() or set(ids) != expected or lengths - {len(result.people)}:
        msg = (
            "`capacity` was computed for other neighbourhoods or people than `result`; "
            "compute it with `circle.capacity.capacity_ratios(result)`."
        )
        raise InputError(msg)


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
        for suffix in _CAPACITY_SUFFIXES:
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
class _Format:
    """How a numeric column is written: decimals in CSV/GeoJSON, number format in Excel."""

    decimals: int | None
    excel: str = "General"


_PEOPLE = _Format(PEOPLE_DECIMALS, "#,##0")
_SHARE = _Format(SHARE_DECIMALS, "0.0%")
_MINUTES = _Format(MINUTES_DECIMALS, "0.0")
_COORDINATE = _Format(COORDINATE_DECIMALS, "0.000000")
_PLACES_PER_1000 = _Format(PLACES_PER_1000_DECIMALS, "0.00")
_PLACES = _Format(PLACES_DECIMALS, "#,##0.0")
_FACILITY_FORMATS: Final[dict[str, _Format]] = {
    "snap_m": _Format(METRES_DECIMALS, "0.0"),
    "served_population": _PEOPLE,
    "lon": _COORDINATE,
    "lat": _COORDINATE,
    "capacity": _PLACES,
    "places_per_1000": _PLACES_PER_1000,
}


#: threshold_min and speed_kmh keep their (rounded) value; people are whole numbers.
_SUMMARY_FORMATS: Final[dict[str, _Format]] = {"covered_share": _SHARE}
_SCENARIO_FORMATS: Final[dict[str, _Format]] = {
    "covered_share": _SHARE,
    "covered_share_change": _SHARE,
}


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


def _geojson_bytes(
    table: gpd.GeoDataFrame,
    formats: Mapping[str, _Format],
    *,
    coordinate_system: str | None = None,
) -> bytes:
    """A FeatureCollection written by hand: fixed key order, one feature per line.

    `coordinate_system` (``"GCJ-02"``, ``"BD-09"``) becomes a top-level foreign member
    where the coordinates are not WGS-84.
    """
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
    members = {"type": "FeatureCollection", "attribution": OSM_ATTRIBUTION}
    if coordinate_system is not None:
        members["coordinate_system"] = coordinate_system
    head = json.dumps(members, ensure_ascii=False)
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
    ]
    if tables.capacity is not None:
        rows += _capacity_method_rows(result, tables.capacity, tables, lang)
    if tables.coords in COORDINATE_SYSTEM_NAMES:
        rows.append(_coords_row(tables.coords, lang))
    rows += [
        (_word("m_software", lang), f"circle {_circle_version()}"),
        (_word("m_attribution", lang), ATTRIBUTION[lang]),
    ]
    return rows


def _coords_row(coords: str, lang: Lang) -> tuple[str, str]:
    return (
        _word("m_coords", lang),
        _word(
            "m_coords_value",
            lang,
            name=COORDINATE_SYSTEM_NAMES[coords],
            tools=_word(f"tools_{coords}", lang),
        ),
    )


def _unit(capacity: CapacityResult, category: str, lang: Lang) -> str:
    """The unit of capacity of `category`; the default ``places`` in `lang`."""
    unit = capacity.units.get(category) or "places"
    return _word("unit_places", lang) if unit == "places" else unit


def _bands_words(bands: DecayBands) -> str:
    """Decay bands as ``≤ 33%: 1.00, ≤ 67%: 0.68, ≤ 100%: 0.22``."""
    return ", ".join(
        f"≤ {upper:.0%}: {weight:.2f}"
        for upper, weight in zip(bands.upper, bands.weights, strict=True)
    )


def _capacity_method_rows(
    result: CoverageResult, capacity: CapacityResult, tables: _Tables, lang: Lang
) -> list[tuple[str, str]]:
    """Method, units, targets and facilities without a capacity, per category."""
    separator = _word("separator", lang)
    colon = _word("colon", lang)
    if capacity.method == "e2sfca":
        # CapacityResult does not record custom bands; a `bands` attribute wins if present.
        bands = getattr(capacity, "bands", None)
        bands = bands if isinstance(bands, DecayBands) else E2SFCA_BANDS
        method = _word("m_e2sfca", lang, bands=_bands_words(bands))
    else:
        method = _word("m_2sfca", lang)
    with_capacity = tables.capacity_categories
    units = separator.join(
        category_label(c, lang) + colon + _unit(capacity, c, lang) for c in with_capacity
    )
    targets = separator.join(
        category_label(c, lang)
        + colon
        + _word(
            "m_target_value",
            lang,
            target=f"{capacity.targets[c]:g}",
            unit=_unit(capacity, c, lang),
        )
        for c in result.categories
        if c in capacity.targets
    )
    used = dict(zip(tables.summary["category"], tables.summary["facilities"], strict=True))
    counts = []
    for category in result.categories:
        total = int(used.get(category, 0))
        missing = int(capacity.missing_capacity.get(category, total))
        if total == 0:
            words = _word("m_capacity_no_facility", lang)
        elif category not in with_capacity:
            words = _word("m_capacity_none", lang)
        elif missing == 0:
            words = _word("m_capacity_all", lang, total=total)
        else:
            words = _word("m_capacity_some", lang, missing=missing, total=total)
        counts.append(category_label(category, lang) + colon + words)
    rows = [(_word("m_capacity", lang), method)]
    if units:
        rows.append((_word("m_capacity_units", lang), units))
    rows += [
        (_word("m_targets", lang), targets or _word("m_no_targets", lang)),
        (_word("m_capacities", lang), separator.join(counts)),
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
        if category in tables.capacity_categories and tables.capacity is not None:
            columns += _capacity_columns(t, tables.capacity, category, lang)
    columns += [
        _Column(_word("complete", lang), [yes if c else no for c in t["complete"]]),
        _Column(_word("missing", lang), t["missing"].astype(str).tolist()),
    ]
    return columns


def _capacity_columns(
    t: pd.DataFrame, capacity: CapacityResult, category: str, lang: Lang
) -> list[_Column]:
    """Places per 1,000, and with a target: the target, shortfall and below target."""
    label = category_label(category, lang)
    unit = _unit(capacity, category, lang)
    yes, no = _word("yes", lang), _word("no", lang)
    columns = [
        _Column(
            _word("c_places_per_1000", lang, label=label, unit=unit),
            _numbers(t[f"{category}_places_per_1000"].tolist()),
            "0.00",
        )
    ]
    if f"{category}_target_per_1000" in t.columns:
        columns += [
            _Column(
                _word("c_target_per_1000", lang, label=label, unit=unit),
                _numbers(t[f"{category}_target_per_1000"].tolist()),
                "0.00",
            ),
            _Column(
                _word("c_shortfall_places", lang, label=label, unit=unit),
                _numbers(t[f"{category}_shortfall_places"].tolist()),
                "#,##0.0",
            ),
            _Column(
                _word("c_below_target", lang, label=label),
                [yes if x else no for x in t[f"{category}_below_target"]],
            ),
        ]
    return columns


def _lonlat_header(key: str, tables: _Tables, lang: Lang) -> str:
    """``Longitude``, or ``Longitude (GCJ-02)`` where the coordinates are not WGS-84."""
    name = COORDINATE_SYSTEM_NAMES.get(tables.coords)
    return _word(key, lang) + (f" ({name})" if name else "")


def _facility_columns(tables: _Tables, lang: Lang) -> list[_Column]:
    f = tables.facilities
    yes, no = _word("yes", lang), _word("no", lang)
    columns = [
        _Column(_word("id", lang), f["id"].astype(str).tolist()),
        _Column(_word("facility_name", lang), _numbers(f["name"].tolist())),
        _Column(_word("service", lang), [category_label(c, lang) for c in f["category"]]),
        _Column(_word("on_network", lang), [yes if x else no for x in f["on_network"]]),
        _Column(_word("snap_m", lang), _numbers(f["snap_m"].tolist()), "0.0"),
        _Column(_word("served_population", lang), _numbers(f["served_population"]), "#,##0"),
    ]
    if tables.capacity is not None:
        columns += [
            _Column(_word("capacity", lang), _numbers(f["capacity"].tolist()), "#,##0.0"),
            _Column(
                _word("places_per_1000", lang), _numbers(f["places_per_1000"].tolist()), "0.00"
            ),
        ]
    columns += [
        _Column(_lonlat_header("lon", tables, lang), _numbers(f["lon"].tolist()), "0.000000"),
        _Column(_lonlat_header("lat", tables, lang), _numbers(f["lat"].tolist()), "0.000000"),
    ]
    return columns


def _display_width(value: Any, number_format: str) -> int:
    """Roughly how many character widths a cell needs (CJK characters count twice)."""
    if value is None:
        return 0
    if isinstance(value, float) and number_format == "0.0%":
        text = f"{value:.1%}"
    elif isinstance(value, (int, float)) and number_format == "#,##0":
        text = f"{value:,.0f}"
    elif isinstance(value, (int, float)) and number_format == "#,##0.0":
        text = f"{value:,.1f}"
    elif isinstance(value, (int, float)) and number_format == _SIGNED_SHARE:
        text = f"{value:+.1%}"
    elif isinstance(value, (int, float)) and number_format == _SIGNED_PEOPLE:
        text = f"{value:+,.0f}"
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
    _method_sheet(book, method, lang)
    return book


def _method_sheet(book: Workbook, method: list[tuple[str, str]], lang: Lang) -> None:
    """A Method sheet of (item, value) rows, values wrapped in a wide column."""
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


#: Excel formats of changes: a sign on both sides of zero.
_SIGNED_SHARE: Final = "+0.0%;-0.0%;0.0%"
_SIGNED_PEOPLE: Final = "+#,##0;-#,##0;0"
#: Excel formats of the scenario columns (others: General).
_SCENARIO_EXCEL: Final[dict[str, str]] = {
    "population": "#,##0",
    "covered_population": "#,##0",
    "covered_share": "0.0%",
    "covered_population_change": _SIGNED_PEOPLE,
    "covered_share_change": _SIGNED_SHARE,
}


def _scenario_workbook(table: pd.DataFrame, inputs: dict[str, str], lang: Lang) -> Workbook:
    """The scenario table formatted for reading, and the inputs on a Method sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = _word("sheet_scenarios", lang)
    base = _word("base_scenario", lang)
    names = [base if s == "base" else str(s) for s in table["scenario"]]
    columns = [_Column(_word("scenario", lang), names)]
    columns += [
        _Column(_word(c, lang), _numbers(table[c].tolist()), _SCENARIO_EXCEL.get(c, "General"))
        for c in SCENARIO_COLUMNS[1:]
    ]
    _fill_sheet(sheet, columns, freeze="B2")
    unknown = _word("not_recorded", lang)
    method = [
        (_word("m_network", lang), inputs.get("network") or unknown),
        (_word("m_facilities", lang), inputs.get("facilities") or unknown),
    ]
    if inputs.get("preset"):
        method.append((_word("m_preset", lang), inputs["preset"]))
    method += [
        (_word("m_areas", lang), inputs.get("areas") or unknown),
        (_word("m_population", lang), inputs.get("population") or unknown),
        (_word("m_scenarios", lang), _word("m_scenarios_value", lang)),
        (_word("m_software", lang), f"circle {_circle_version()}"),
        (_word("m_attribution", lang), ATTRIBUTION[lang]),
    ]
    _method_sheet(book, method, lang)
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
    if tables.capacity is not None:
        lines += _md_capacity(result, tables, tables.capacity, lang)
    lines += ["", f"## {w('h_off')}", ""]
    f = tables.facilities
    off = f[~f["on_network"].to_numpy(bool)]
    if off.empty:
        lines.append(w("md_no_off"))
    else:
        lines += [w("md_off_intro", metres=f"{result.model.max_snap_m:g}"), ""]
        lines += _md_table(
            [
                w("id"),
                w("facility_name"),
                w("service"),
                w("snap_m"),
                _lonlat_header("lon", tables, lang),
                _lonlat_header("lat", tables, lang),
            ],
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


def _overall_per_1000(result: CoverageResult, capacity: CapacityResult, category: str) -> float:
    """Places per 1,000: the population-weighted mean over everyone counted (NaN if nobody)."""
    weights = result.population(category) * result.counted
    total = float(weights.sum())
    if total <= 0:
        return math.nan
    return float((weights * capacity.per_person[category]).sum()) / total


def _md_capacity(
    result: CoverageResult, tables: _Tables, capacity: CapacityResult, lang: Lang
) -> list[str]:
    """Places per 1,000 per service, and the neighbourhoods furthest below the target."""
    w: Callable[..., str] = lambda key, **values: _word(key, lang, **values)  # noqa: E731
    lines = ["", f"## {w('h_capacity')}", ""]
    categories = tables.capacity_categories
    if not categories:
        return [*lines, w("md_no_capacity")]
    t = tables.neighbourhoods
    inhabited = dict(zip(tables.summary["category"], tables.summary["neighbourhoods"], strict=True))
    rows = []
    for category in categories:
        overall = _overall_per_1000(result, capacity, category)
        row = [
            category_label(category, lang),
            _unit(capacity, category, lang),
            "–" if math.isnan(overall) else f"{overall:,.2f}",
        ]
        if category in capacity.targets:
            below = int(t[f"{category}_below_target"].to_numpy(bool).sum())
            shortfall = float(t[f"{category}_shortfall_places"].to_numpy(float).sum())
            row += [
                f"{capacity.targets[category]:g}",
                w("md_of", part=below, whole=inhabited.get(category, 0)),
                f"{shortfall:,.1f}",
            ]
        else:
            row += ["–", "–", "–"]
        row.append(str(capacity.missing_capacity.get(category, 0)))
        rows.append(row)
    lines += [w("md_capacity_intro"), ""]
    lines += _md_table(
        [
            w("label"),
            w("md_unit"),
            w("md_places_per_1000"),
            w("md_target"),
            w("md_below_target"),
            w("md_shortfall"),
            w("md_missing_capacity"),
        ],
        rows,
    )
    for category in categories:
        if category not in capacity.targets:
            continue
        below = t[f"{category}_below_target"].to_numpy(bool)
        if not below.any():
            continue
        ids = t["area_id"].astype(str).to_numpy()[below]
        names = t["name"].to_numpy()[below]
        places = t[f"{category}_places_per_1000"].to_numpy(float)[below]
        shortfall = t[f"{category}_shortfall_places"].to_numpy(float)[below]
        order = np.lexsort((ids, -shortfall))[:WORST_NEIGHBOURHOODS]
        unit = _unit(capacity, category, lang)
        lines += ["", f"### {w('h_shortfall', label=category_label(category, lang))}", ""]
        lines += [w("md_shortfall_intro", unit=unit, count=WORST_NEIGHBOURHOODS), ""]
        lines += _md_table(
            [w("name"), w("md_places_per_1000"), w("md_shortfall_unit", unit=unit)],
            [
                [_area_words(names[i], ids[i]), f"{places[i]:,.2f}", f"{shortfall[i]:,.1f}"]
                for i in order
            ],
        )
    return lines
