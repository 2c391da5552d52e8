"""Life-circle presets: per-category thresholds from Chinese planning standards.

Each preset maps a category to the life-circle level that the standard assigns its kind of
facility, and that level to a walking threshold, as a distance along the network (GB
50180-2018 gives distances) or as minutes (TD/T 1062-2021 gives walking times). Every value
carries its source; values that could not be checked against the standard's own text are
marked so (see ``docs/presets.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

from circle.errors import InputError
from circle.walking import Threshold

__all__ = ["PRESETS", "Preset", "PresetValue", "get_preset"]


@dataclass(frozen=True)
class PresetValue:
    """One category's threshold in a preset, with where it comes from.

    Parameters
    ----------
    threshold
        Minutes or metres.
    level
        The life-circle level (e.g. ``"5-minute"``).
    facility
        The facility the standard names, in Chinese and English.
    source
        Clause or table of the standard.
    checked
        True only when the value was checked against the standard's text.
    """

    threshold: Threshold
    level: str
    facility: str
    source: str
    checked: bool = False


@dataclass(frozen=True)
class Preset:
    """A named set of thresholds from a standard."""

    name: str
    title: str
    values: dict[str, PresetValue]

    def thresholds(self) -> dict[str, Threshold]:
        """The threshold of each category the preset covers."""
        return {c: v.threshold for c, v in self.values.items()}


_GB50180 = (
    "GB 50180-2018 城市居住区规划设计标准 (Standard for urban residential area planning and design)"
)
_TDT1062 = (
    "TD/T 1062-2021 社区生活圈规划技术指南 (Technical guide for community life circle planning)"
)

PRESETS: dict[str, Preset] = {
    "gb50180": Preset(
        name="gb50180",
        title=_GB50180,
        values={
            "canteen": PresetValue(
                Threshold(metres=300.0),
                "5-minute life circle (about 300 m)",
                "社区食堂 community canteen",
                "Table 4.0.1 (distance); Appendix B (facility at the 5-minute level)",
            ),
            "clinic": PresetValue(
                Threshold(metres=1000.0),
                "15-minute life circle (800-1,000 m; upper bound used)",
                "社区卫生服务中心 community health service centre",
                "clause 2.0.2 (15-minute walk, 50,000-100,000 residents); Table 4.0.1 "
                "(800-1,000 m); Appendix B (facility at the 15-minute level)",
            ),
            "daycare": PresetValue(
                Threshold(metres=300.0),
                "5-minute life circle (about 300 m)",
                "托儿所 nursery; 老年人日间照料中心 elderly day care",
                "Table 4.0.1 (distance); Appendix B (facilities at the 5-minute level)",
            ),
            "gig_station": PresetValue(
                Threshold(metres=1000.0),
                "not in the standard: the 15-minute level (1,000 m) is used",
                "零工驿站 gig-worker job station",
                "not covered by GB 50180-2018",
            ),
        },
    ),
    "tdt1062": Preset(
        name="tdt1062",
        title=_TDT1062,
        values={
            "canteen": PresetValue(
                Threshold(minutes=10.0),
                "5-10-minute level (upper bound used)",
                "老年食堂/助餐点 elderly canteen or meal point",
                "levels of the guide (in force since 2021-07-01); facility list",
            ),
            "clinic": PresetValue(
                Threshold(minutes=15.0),
                "15-minute level",
                "社区卫生服务中心 community health service centre",
                "levels of the guide; facility list",
            ),
            "daycare": PresetValue(
                Threshold(minutes=10.0),
                "5-10-minute level (upper bound used)",
                "托育点 childcare; 日间照料中心 elderly day care",
                "levels of the guide; facility list",
            ),
            "gig_station": PresetValue(
                Threshold(minutes=15.0),
                "15-minute level",
                "就业服务 employment services (零工驿站)",
                "levels of the guide; facility list",
            ),
        },
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called `name` ({"gb50180", "tdt1062"}, case-insensitive).

    Raises
    ------
    InputError
        Unknown name; the message lists the presets.
    """
    key = name.strip().lower().replace("-", "").replace(" ", "").replace("/", "")
    key = {"gb501802018": "gb50180", "tdt10622021": "tdt1062"}.get(key, key)
    if key not in PRESETS:
        msg = f"unknown preset `{name}`; use one of {', '.join(PRESETS)}."
        raise InputError(msg)
    return PRESETS[key]
