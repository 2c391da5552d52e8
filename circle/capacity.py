"""Capacity: places per 1,000 residents within walking reach (2SFCA and enhanced 2SFCA).

Method
------
The two-step floating catchment area method (Luo & Wang 2003) relates each facility's
capacity to the people who can reach it, then sums for each person what the facilities
within their reach offer:

1. For each facility ``j`` with capacity ``S_j``: ``R_j = S_j / sum_k P_k W(t_kj)`` over the
   people ``k`` within the category's threshold ``t_kj <= T`` (``P_k`` people at point
   ``k``; walking time includes both access legs, as for coverage).
2. For each person: ``A_k = sum_j R_j W(t_kj)`` over the facilities within reach.

``A_k`` is places per resident; reports show ``1000 A_k``, places per 1,000 residents.
Plain 2SFCA uses ``W = 1``; the enhanced variant (E2SFCA, Luo & Qi 2009) weights by
travel-time band: by default the threshold is split into thirds weighted 1.00, 0.68 and
0.22 (Luo & Qi's Gaussian-derived weights), a time on a band's upper edge belonging to
that band. The places balance (the same weights are used in both steps): ``sum_k P_k A_k``
equals the total capacity of the facilities that anyone reaches.

Facilities without a capacity are left out of these ratios (they still count for
coverage); :attr:`CapacityResult.missing_capacity` says how many there were. A category
where no facility has a capacity gets no ratios at all (NaN, "unknown"), and a facility
that nobody reaches has no ratio (NaN), rather than a misleading zero. Demand counts the
people inside the study's neighbourhoods only: facilities near its edge look better
supplied than they are (the usual edge effect of catchment methods).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from circle._options import check_known_categories, parse_key_values
from circle.access import BUDGET_TOLERANCE_M, pair_distances
from circle.defaults import CAPACITY_METHODS, CapacityMethod
from circle.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from circle.coverage import CoverageResult

__all__ = [
    "CAPACITY_METHODS",
    "E2SFCA_BANDS",
    "CapacityMethod",
    "CapacityResult",
    "DecayBands",
    "capacity_ratios",
    "check_matches",
    "overall_per_1000",
    "parse_targets",
]


@dataclass(frozen=True)
class DecayBands:
    """Distance-decay weights by travel-time band, as fractions of the threshold.

    Parameters
    ----------
    upper
        Upper edges of the bands as fractions of the threshold, increasing, the last 1.0.
    weights
        Weight of each band, in (0, 1].
    """

    upper: tuple[float, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        ok = (
            len(self.upper) == len(self.weights) > 0
            and all(b > a for a, b in zip((0.0, *self.upper), self.upper, strict=False))
            and math.isclose(self.upper[-1], 1.0)
            and all(0 < w <= 1 for w in self.weights)
        )
        if not ok:
            msg = (
                "decay bands need increasing upper edges ending at 1.0 and one weight in "
                f"(0, 1] per band, got {self.upper} and {self.weights}."
            )
            raise InputError(msg)

    def weight(self, minutes: np.ndarray, threshold_min: float) -> np.ndarray:
        """Weight of each travel time (0 beyond the threshold); band edges are inclusive."""
        fraction = np.asarray(minutes, dtype=float) / threshold_min
        edges = np.asarray(self.upper, dtype=float)
        tolerance = 1e-9
        band = np.searchsorted(edges, fraction - tolerance, side="left")
        weights = np.r_[np.asarray(self.weights, dtype=float), 0.0]
        return np.asarray(weights[np.minimum(band, len(edges))])


#: Luo & Qi (2009): thirds of the catchment weighted 1.00, 0.68, 0.22.
E2SFCA_BANDS = DecayBands(upper=(1 / 3, 2 / 3, 1.0), weights=(1.0, 0.68, 0.22))


@dataclass(frozen=True, eq=False)
class CapacityResult:
    """Places per 1,000 residents within walking reach, per person and per neighbourhood.

    Attributes
    ----------
    method
        ``"2sfca"`` or ``"e2sfca"``.
    bands
        The decay bands of E2SFCA (``None`` for 2SFCA).
    per_person
        Per category, each person's places per 1,000 residents (NaN for a category where
        no facility has a capacity).
    facility_ratio
        Per category, a table of facilities with ``capacity``, ``demand`` (weighted people
        in reach) and ``places_per_1000`` (``1000 R_j``).
    neighbourhoods
        Per neighbourhood (rows as ``CoverageResult.neighbourhood_table``), per category:
        ``{c}_places_per_1000`` (population-weighted mean), and with a target
        ``{c}_target_per_1000``, ``{c}_shortfall_places`` (places missing to reach it) and
        ``{c}_below_target``.
    missing_capacity
        Per category, how many (on-network) facilities had no capacity.
    units
        Per category, the unit of capacity (seats, places, ...) for reports.
    targets
        Per category, the target in places per 1,000 residents.
    """

    method: str
    bands: DecayBands | None
    per_person: dict[str, np.ndarray]
    facility_ratio: dict[str, pd.DataFrame]
    neighbourhoods: pd.DataFrame
    missing_capacity: dict[str, int]
    units: dict[str, str] = field(default_factory=dict)
    targets: dict[str, float] = field(default_factory=dict)


def parse_targets(
    text: str | Mapping[str, float] | None, *, categories: list[str]
) -> dict[str, float]:
    """Read targets like ``"daycare=3.5,canteen=20"`` (places per 1,000 residents).

    Raises
    ------
    InputError
        Unknown category or a value that is not a positive number.
    """
    if text is None:
        return {}
    items = (
        dict(text.items())
        if not isinstance(text, str)
        else parse_key_values(text, option="--target", example="daycare=3.5").pairs
    )
    targets = {}
    check_known_categories([str(c).strip() for c in items], categories, option="--target")
    for category, value in items.items():
        name = str(category).strip()
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and number > 0):
            msg = f"`--target {name}` must be a positive number of places per 1,000, got `{value}`."
            raise InputError(msg)
        targets[name] = number
    return targets


def capacity_ratios(
    result: CoverageResult,
    *,
    method: CapacityMethod = "2sfca",
    bands: DecayBands = E2SFCA_BANDS,
    targets: Mapping[str, float] | None = None,
    units: Mapping[str, str] | None = None,
) -> CapacityResult:
    """Supply-to-demand ratios (places per 1,000 residents) by 2SFCA or E2SFCA.

    Parameters
    ----------
    result
        A coverage result: its travel-time model, people and neighbourhoods are reused; the
        catchment searches run from the facilities that already have searches there.
    method
        ``"2sfca"`` (no decay) or ``"e2sfca"`` (weights by travel-time band).
    bands
        Decay bands for E2SFCA.
    targets
        Places per 1,000 residents to reach, per category.
    units
        Unit of capacity per category, for reports (default ``"places"``).

    Returns
    -------
    CapacityResult
    """
    if method not in ("2sfca", "e2sfca"):
        msg = f"`method` must be 2sfca or e2sfca, not `{method}`."
        raise InputError(msg)
    model = result.model
    people = result.people
    counted = result.counted
    table = result.neighbourhood_table()
    area_index = pd.Index(table["area_id"])
    code = np.full(len(people), -1, dtype=np.int64)
    code[counted] = area_index.get_indexer(result.person_area[counted])
    inside = code >= 0
    per_person: dict[str, np.ndarray] = {}
    ratios: dict[str, pd.DataFrame] = {}
    missing: dict[str, int] = {}
    columns: dict[str, np.ndarray] = {"area_id": table["area_id"].to_numpy()}
    targets = dict(targets or {})
    for category in model.categories:
        rows = model.source_rows(category)
        facilities = model.facilities.iloc[rows]
        capacity = facilities["capacity"].to_numpy(float)
        has = np.isfinite(capacity) & (capacity > 0)
        missing[category] = int((~has).sum())
        demand_people = result.population(category) * counted
        access = model.by_category[category]
        with_capacity = access.sources.subset(has)
        budget = model.budget_m(category)
        source, person, metres = pair_distances(
            model.graph_for(category),
            with_capacity,
            model.people_snap(people, category),
            limit_m=budget,
        )
        threshold = model.threshold_minutes(category)
        walk = model.profile_for(category)
        minutes = walk.minutes(metres)
        weight = (
            np.ones(len(metres))
            if method == "2sfca"
            else bands.weight(minutes, threshold + BUDGET_TOLERANCE_M / walk.metres_per_minute)
        )
        k = int(has.sum())
        demand = np.bincount(source, weights=demand_people[person] * weight, minlength=k)
        ratio = np.divide(capacity[has], demand, out=np.full(k, np.nan), where=demand > 0)
        # A facility nobody reaches offers nothing to anyone: it adds 0 to every person.
        usable = np.nan_to_num(ratio, nan=0.0)
        access_k = np.bincount(person, weights=usable[source] * weight, minlength=len(people))
        if k == 0:
            access_k = np.full(len(people), np.nan)  # no capacities: unknown, not zero
        per_person[category] = 1000.0 * access_k
        ratios[category] = pd.DataFrame(
            {
                "id": facilities["id"].to_numpy()[has],
                "capacity": capacity[has],
                "demand": demand,
                "places_per_1000": 1000.0 * ratio,
            }
        )
        n = len(table)
        w = demand_people[inside]
        population = np.bincount(code[inside], weights=w, minlength=n)
        places = np.bincount(code[inside], weights=w * access_k[inside], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            columns[f"{category}_places_per_1000"] = np.where(
                population > 0, 1000.0 * places / population, np.nan
            )
        if category in targets:
            target = targets[category]
            columns[f"{category}_target_per_1000"] = np.full(n, target)
            shortfall = np.maximum(target / 1000.0 * population - places, 0.0)
            columns[f"{category}_shortfall_places"] = shortfall
            columns[f"{category}_below_target"] = (population > 0) & (shortfall > 1e-9)
    return CapacityResult(
        method=method,
        bands=bands if method == "e2sfca" else None,
        per_person=per_person,
        facility_ratio=ratios,
        neighbourhoods=pd.DataFrame(columns),
        missing_capacity=missing,
        units={c: (units or {}).get(c, "places") for c in model.categories},
        targets=targets,
    )


def overall_per_1000(result: CoverageResult, capacity: CapacityResult, category: str) -> float:
    """Places per 1,000 residents over everyone counted: the population-weighted mean.

    NaN when nobody of the category's group is counted.
    """
    weights = result.population(category) * result.counted
    total = float(weights.sum())
    if total <= 0:
        return math.nan
    return float((weights * capacity.per_person[category]).sum()) / total


def check_matches(result: CoverageResult, capacity: CapacityResult) -> None:
    """Refuse a capacity result computed for other neighbourhoods or people than `result`.

    Raises
    ------
    InputError
        The neighbourhoods or the people differ.
    """
    ids = capacity.neighbourhoods["area_id"].astype(str)
    expected = set(result.areas["area_id"].astype(str))
    lengths = {len(v) for v in capacity.per_person.values()}
    if ids.duplicated().any() or set(ids) != expected or lengths - {len(result.people)}:
        msg = (
            "`capacity` was computed for other neighbourhoods or people than `result`; "
            "compute it with `circle.capacity.capacity_ratios(result)`."
        )
        raise InputError(msg)
