"""Bilingual (English / Chinese) words shared by the terminal summary, reports and maps."""

from __future__ import annotations

from typing import Literal

__all__ = ["ATTRIBUTION", "STATUS_WORDS", "TERMS", "Lang", "check_lang", "term"]

Lang = Literal["en", "zh"]

#: Required wherever OSM-derived data or maps are shown.
ATTRIBUTION = {
    "en": "Map data © OpenStreetMap contributors, ODbL 1.0.",
    "zh": "地图数据 © OpenStreetMap 贡献者，ODbL 1.0 许可。",
}

#: Neighbourhood statuses.
STATUS_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "covered": "covered",
        "partial": "partial",
        "uncovered": "uncovered",
        "empty": "no residents",
    },
    "zh": {"covered": "覆盖", "partial": "部分覆盖", "uncovered": "未覆盖", "empty": "无人口"},
}

#: Column headings and other short terms, by stable key.
TERMS: dict[str, dict[str, str]] = {
    "en": {
        "category": "category",
        "label": "service",
        "facilities": "facilities",
        "off_network": "off-network",
        "threshold": "threshold",
        "minutes": "min",
        "people_covered": "covered",
        "covered_share": "share",
        "uncovered_areas": "uncovered",
        "network_in_reach": "network in reach",
        "of": "/",
        "population": "population",
        "speed": "walking speed",
        "population_source": "population",
        "report_written": "Report written to",
    },
    "zh": {
        "category": "类别",
        "label": "服务",
        "facilities": "设施数",
        "off_network": "未接入路网",
        "threshold": "阈值",
        "minutes": "分钟",
        "people_covered": "覆盖人口",
        "covered_share": "覆盖率",
        "uncovered_areas": "未覆盖",
        "network_in_reach": "可达路网",
        "of": "/",
        "population": "人口",
        "speed": "步行速度",
        "population_source": "人口数据",
        "report_written": "报告已写入",
    },
}


def check_lang(lang: str) -> Lang:
    """Return `lang` if it is ``"en"`` or ``"zh"``.

    Raises
    ------
    ValueError
        Any other value.
    """
    if lang == "en":
        return "en"
    if lang == "zh":
        return "zh"
    msg = f"`lang` must be en or zh, not `{lang}`."
    raise ValueError(msg)


def term(key: str, lang: str = "en") -> str:
    """The word for `key` in `lang` (English where no translation exists).

    Examples
    --------
    >>> term("covered_share", "zh")
    '覆盖率'
    """
    return TERMS.get(lang, TERMS["en"]).get(key, TERMS["en"].get(key, key))
