"""Comparing coverage: a scenario against a base, per category and per neighbourhood.

The rules of change live here: a neighbourhood is ``newly covered``, ``newly uncovered``,
``better`` or ``worse`` for a category, and over all categories it moved ``up``, ``down``
or ``mixed``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from circle.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from circle.coverage import CoverageResult

__all__ = [
    "CHANGES",
    "SCENARIO_COLUMNS",
    "Comparison",
    "area_change",
    "compare",
    "scenario_table",
]

#: The columns of :func:`scenario_table` and of ``scenarios.csv``, in order (``label``, the
#: category in words, is added when presenting).
SCENARIO_COLUMNS: tuple[str, ...] = (
    "scenario",
    "category",
    "label",
    "threshold_min",
    "speed_kmh",
    "facilities",
    "population",
    "covered_population",
    "covered_share",
    "covered_population_change",
    "covered_share_change",
)

#: How a neighbourhood changed over all categories (see :func:`area_change`), best first.
CHANGES: Final[tuple[str, ...]] = (
    "newly covered",
    "better",
    "worse",
    "newly uncovered",
    "mixed",
)


@dataclass(frozen=True, eq=False)
class Comparison:
    """How a scenario changes coverage against a base.

    Attributes
    ----------
    base, other
        The two coverage results.
    categories
        Per category: covered population and share in both, and the change.
    changed
        Neighbourhoods whose status changed for a category: ``area_id``, ``name``,
        ``category``, ``status_base``, ``status_other``, ``change`` (``newly covered``,
        ``newly uncovered``, ``better``, ``worse``).
    """

    base: CoverageResult
    other: CoverageResult
    categories: pd.DataFrame
    changed: gpd.GeoDataFrame

    def newly_covered(self) -> gpd.GeoDataFrame:
        """Neighbourhoods (and categories) that became covered."""
        return self.changed.loc[self.changed["change"] == "newly covered"]

    def newly_uncovered(self) -> gpd.GeoDataFrame:
        """Neighbourhoods (and categories) that became uncovered."""
        return self.changed.loc[self.changed["change"] == "newly uncovered"]


_RANK = {"uncovered": 0, "partial": 1, "covered": 2}


def compare(base: CoverageResult, other: CoverageResult) -> Comparison:
    """Compare a scenario's coverage with a base's, per category and per neighbourhood.

    Parameters
    ----------
    base, other
        Coverage results over the same people and neighbourhoods.

    Returns
    -------
    Comparison
    """
    base = _aligned_base(base, other)
    a = base.summary().set_index("category")
    b = other.summary().set_index("category")
    categories = [c for c in b.index if c in a.index] + [c for c in b.index if c not in a.index]
    rows = []
    for category in categories:
        before = a.loc[category] if category in a.index else None
        after = b.loc[category]
        base_pop = int(before["covered_population"]) if before is not None else 0
        base_share = float(before["covered_share"]) if before is not None else 0.0
        rows.append(
            {
                "category": category,
                "population": int(after["population"]),
                "covered_population_base": base_pop,
                "covered_population": int(after["covered_population"]),
                "covered_population_change": int(after["covered_population"]) - base_pop,
                "covered_share_base": base_share,
                "covered_share": float(after["covered_share"]),
                "covered_share_change": round(float(after["covered_share"]) - base_share, 4),
            }
        )
    table = pd.DataFrame(rows)
    ta = base.neighbourhood_table().set_index("area_id")
    tb = other.neighbourhood_table().set_index("area_id")
    common = tb.index.intersection(ta.index)
    changes = []
    for category in categories:
        column = f"{category}_status"
        if column not in ta.columns or column not in tb.columns:
            continue
        before_status = ta.loc[common, column]
        after_status = tb.loc[common, column]
        differs = (before_status != after_status) & (after_status != "empty")
        for area_id in common[differs.to_numpy()]:
            s0, s1 = str(before_status[area_id]), str(after_status[area_id])
            changes.append(
                {
                    "area_id": area_id,
                    "name": tb.loc[area_id, "name"],
                    "category": category,
                    "status_base": s0,
                    "status_other": s1,
                    "change": _change_word(s0, s1),
                    "geometry": tb.loc[area_id, "geometry"],
                }
            )
    changed = gpd.GeoDataFrame(
        changes,
        columns=[
            "area_id",
            "name",
            "category",
            "status_base",
            "status_other",
            "change",
            "geometry",
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )
    return Comparison(base=base, other=other, categories=table, changed=changed)


def _aligned_base(base: CoverageResult, other: CoverageResult) -> CoverageResult:
    """The base counted over the same people and neighbourhoods as `other`.

    A scenario restricted to a sub-area counts fewer people; comparing it with the whole
    study would show the people outside as "lost". When both results share their people,
    the base is restricted the same way; otherwise they must count the same people.
    """
    if base.people is other.people:
        if np.array_equal(base.counted, other.counted):
            return base
        area = base.person_area.astype(object).copy()
        area[~other.counted] = None
        kept = base.areas["area_id"].astype(str).isin(set(other.areas["area_id"].astype(str)))
        return dataclasses.replace(base, person_area=area, areas=base.areas.loc[kept])
    if len(base.people) != len(other.people) or not np.isclose(
        base.people.total, other.people.total
    ):
        msg = "the two coverage results count different people; compare results of one study."
        raise InputError(msg)
    return base


def _change_word(before: str, after: str) -> str:
    if after == "covered":
        return "newly covered"
    if after == "uncovered":
        return "newly uncovered"
    return "better" if _RANK.get(after, 0) > _RANK.get(before, 0) else "worse"


def scenario_table(
    base: CoverageResult, results: Iterable[tuple[str, CoverageResult]]
) -> pd.DataFrame:
    """One row per scenario and category: covered population and share, change against base.

    Parameters
    ----------
    base
        The base coverage.
    results
        ``(scenario name, coverage)`` pairs.

    Returns
    -------
    pandas.DataFrame
        ``scenario, category, threshold_min, speed_kmh, facilities, population,
        covered_population, covered_share, covered_population_change,
        covered_share_change``; the base comes first as scenario ``base``.
    """
    frames = []
    for name, result in [("base", base), *results]:
        summary = result.summary()
        before = _aligned_base(base, result).summary().set_index("category")
        before = before.reindex(summary["category"])
        summary.insert(0, "scenario", name)
        summary["covered_population_change"] = (
            summary["covered_population"].to_numpy()
            - before["covered_population"].fillna(0).to_numpy()
        ).astype(int)
        summary["covered_share_change"] = (
            summary["covered_share"].to_numpy() - before["covered_share"].fillna(0).to_numpy()
        ).round(4)
        frames.append(summary)
    table = pd.concat(frames, ignore_index=True)
    return table[[c for c in SCENARIO_COLUMNS if c != "label"]]


def area_change(changes: Iterable[str]) -> str:
    """How one neighbourhood changed over all categories, from its per-category changes.

    All changes up: ``newly covered`` if any category became covered, else ``better``;
    all down: ``newly uncovered`` if any became uncovered, else ``worse``; otherwise
    ``mixed`` (better for some services, worse for others).

    Examples
    --------
    >>> area_change(["better", "newly covered"])
    'newly covered'
    >>> area_change(["better", "worse"])
    'mixed'
    """
    kinds = set(changes)
    if kinds <= {"newly covered", "better"}:
        return "newly covered" if "newly covered" in kinds else "better"
    if kinds <= {"newly uncovered", "worse"}:
        return "newly uncovered" if "newly uncovered" in kinds else "worse"
    return "mixed"
