"""Per-category travel times from facilities, per-person and per-neighbourhood coverage."""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from circle.access import BUDGET_TOLERANCE_M, CompactGraph, NodeAccess, Snap, nearest_facilities
from circle.categories import category_order_key, evaluated_categories
from circle.errors import InputError
from circle.walking import (
    ADULT,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_MINUTES,
    Threshold,
    WalkingProfile,
    check_max_snap_m,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from circle.areas import People
    from circle.terrain import DirectedCosts

__all__ = [
    "HORIZON_FACTOR",
    "STATUSES",
    "SUMMARY_COLUMNS",
    "AccessModel",
    "CoverageResult",
    "StatusCutoffs",
    "compute_access",
    "evaluate_coverage",
    "largest_gaps",
    "network_summary",
    "overall_status",
]

logger = logging.getLogger(__name__)

#: Searches run to this multiple of each category's threshold, so reports can say by how
#: much an uncovered place misses it; farther places are reported as "beyond".
HORIZON_FACTOR = 2.0


@dataclass(frozen=True, eq=False)
class AccessModel:
    """Travel times from every category's facilities over one walking network.

    Attributes
    ----------
    graph
        The compact graph searched.
    facilities
        The facilities in the network's CRS with ``on_network`` (bool) and ``snap_m``
        (metres to the nearest walkable way: the access leg) added; row ``i`` of a
        category's sources is the ``i``-th on-network facility of that category in this
        table's order.
    profile
        The walking profile.
    thresholds
        Per category.
    by_category
        Per category, the bounded multi-source search (to ``HORIZON_FACTOR`` x threshold).
    max_snap_m
        The off-network cut-off used.
    terrain
        With slope-aware walking, the directed edge costs `graph` was built with and what
        went into them (DEM, steps rule); ``None`` on the flat.
    category_profiles
        Walking profiles of the categories whose people walk differently from `profile`.
    step_free
        The categories searched on a step-free graph (steps impassable): their
        facilities and people join that graph (see :meth:`graph_for`).
    """

    graph: CompactGraph
    facilities: gpd.GeoDataFrame
    profile: WalkingProfile
    thresholds: dict[str, Threshold]
    by_category: dict[str, NodeAccess] = field(repr=False)
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    terrain: DirectedCosts | None = None
    category_profiles: dict[str, WalkingProfile] = field(default_factory=dict)
    step_free: frozenset[str] = frozenset()

    def profile_for(self, category: str) -> WalkingProfile:
        """The walking profile of `category`'s people (its own, else :attr:`profile`)."""
        return self.category_profiles.get(category, self.profile)

    def graph_for(self, category: str) -> CompactGraph:
        """The graph `category` was searched on (step-free for :attr:`step_free` ones).

        Every edge index means the same edge on it as on :attr:`graph`; only which edges
        are passable (and the search matrix) may differ.
        """
        return self.by_category[category].graph

    def people_snap(self, people: People, category: str) -> Snap:
        """Where `people` join :meth:`graph_for` `category` (computed once per graph).

        On a step-free graph, people whose nearest way is a staircase join the nearest
        passable way within :attr:`max_snap_m` instead.
        """
        graph = self.graph_for(category)
        if graph is self.graph:
            return people.snap
        return people.snap_on(graph, max_snap_m=self.max_snap_m)

    @property
    def categories(self) -> list[str]:
        """Categories in report order: built-ins first, then custom ones alphabetically."""
        return sorted(self.by_category, key=category_order_key)

    def budget_m(self, category: str) -> float:
        """Walking metres allowed for `category`."""
        return self.thresholds[category].budget_m(self.profile_for(category))

    def threshold_minutes(self, category: str) -> float:
        """The threshold of `category` in minutes at the profile's speed."""
        return self.thresholds[category].minutes_at(self.profile_for(category))

    def threshold_metres(self, category: str) -> float:
        """The threshold of `category` as walking metres (the distance, or minutes x speed)."""
        return self.budget_m(category)

    def is_distance(self, category: str) -> bool:
        """True when `category`'s threshold is a walking distance (GB 50180), not a time."""
        return self.thresholds[category].metres is not None

    def category_facilities(self, category: str) -> gpd.GeoDataFrame:
        """The on-network facilities of `category`, in the order of the search's sources."""
        return self.facilities.iloc[self.source_rows(category)]

    def source_rows(self, category: str) -> np.ndarray:
        """Rows of :attr:`facilities` that are the sources of `category`'s search, in order."""
        f = self.facilities
        return np.flatnonzero((f["category"] == category).to_numpy() & f["on_network"].to_numpy())


def compute_access(
    graph: CompactGraph,
    facilities: gpd.GeoDataFrame,
    *,
    profile: WalkingProfile = ADULT,
    thresholds: Mapping[str, Threshold] | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    categories: Iterable[str] | None = None,
    terrain: DirectedCosts | None = None,
    category_profiles: Mapping[str, WalkingProfile] | None = None,
    step_free: Iterable[str] = (),
    step_free_graph: CompactGraph | None = None,
) -> AccessModel:
    """Snap the facilities and run one bounded multi-source search per category.

    Parameters
    ----------
    graph
        The compact walking graph.
    facilities
        Facilities with ``id``, ``name``, ``category`` and point geometry (any CRS).
    profile
        Walking speed.
    thresholds
        Per category; missing categories get :data:`DEFAULT_MINUTES`.
    max_snap_m
        Facilities farther than this from every walkable edge are off-network.
    categories
        Categories to evaluate; default: the built-ins plus every category in `facilities`.
        A category with no facility is evaluated too (nobody reaches it).
    terrain
        The directed costs `graph` was built with (:func:`circle.terrain.edge_costs`), kept
        for reports; the searches use `graph` as it is.
    category_profiles
        Walking profiles of some categories (``{"canteen": ELDERLY}``); the others walk
        at `profile`.
    step_free
        Categories searched on `step_free_graph` instead of `graph` (routes for prams
        and wheelchairs); their facilities join that graph, and a facility whose
        nearest way is a staircase joins the nearest passable way.
    step_free_graph
        `graph` with the steps impassable (:func:`circle.terrain.step_free_graph`);
        needed when `step_free` names a category.

    Returns
    -------
    AccessModel

    Raises
    ------
    ValueError
        `step_free` names a category but `step_free_graph` is missing.
    """
    check_max_snap_m(max_snap_m)
    projected = facilities.to_crs(graph.crs).reset_index(drop=True)
    if categories is None:
        categories = evaluated_categories(projected["category"])
    categories = list(dict.fromkeys(categories))
    stepless = frozenset(step_free) & set(categories)
    if stepless and step_free_graph is None:
        msg = "`step_free` names categories but no `step_free_graph` is given."
        raise ValueError(msg)
    category_values = projected["category"].to_numpy()
    geoms = projected.geometry.to_numpy()
    snap = graph.snap(geoms, max_snap_m=max_snap_m)
    free_rows = np.isin(category_values, list(stepless))
    free_graph = graph if step_free_graph is None else step_free_graph
    if free_rows.any():
        free_snap = free_graph.resnap(snap, geoms, max_snap_m=max_snap_m)
        snap = Snap(
            np.where(free_rows, free_snap.edge, snap.edge),
            np.where(free_rows, free_snap.offset_m, snap.offset_m),
            np.where(free_rows, free_snap.leg_m, snap.leg_m),
        )
    snap_m = snap.leg_m.copy()
    for chosen, searched in ((~free_rows, graph), (free_rows, free_graph)):
        off = chosen & ~snap.on_network
        if off.any():
            snap_m[off] = searched.distance_to_network(geoms[off])
    off_rows = ~snap.on_network
    cut_off_m = np.full(len(projected), np.inf)
    cut_off_m[off_rows] = graph.distance_to_dropped_ways(geoms[off_rows])
    projected = projected.assign(on_network=snap.on_network, snap_m=snap_m, dropped_way_m=cut_off_m)
    _warn_off_network(projected, max_snap_m)
    all_thresholds = {c: Threshold(minutes=DEFAULT_MINUTES) for c in categories}
    all_thresholds.update(thresholds or {})
    own = {c: p for c, p in (category_profiles or {}).items() if c in categories}

    def walk(category: str) -> WalkingProfile:
        return own.get(category, profile)

    by_distance = sorted(c for c in categories if all_thresholds[c].metres is not None)
    changed_profiles = {walk(c) for c in by_distance if walk(c).speed_kmh != ADULT.speed_kmh}
    for changed in sorted(changed_profiles, key=lambda p: (p.name, p.speed_kmh)):
        logger.warning(
            "thresholds of %s are walking distances: the %s profile (%g km/h) changes the "
            "minutes reported for them, not who is covered",
            ", ".join(c for c in by_distance if walk(c) == changed),
            changed.name,
            changed.speed_kmh,
        )
    by_category: dict[str, NodeAccess] = {}
    for category in categories:
        rows = np.flatnonzero((category_values == category) & snap.on_network)
        limit = all_thresholds[category].budget_m(walk(category)) * HORIZON_FACTOR
        searched = free_graph if category in stepless else graph
        by_category[category] = nearest_facilities(searched, snap.subset(rows), limit_m=limit)
    return AccessModel(
        graph=graph,
        facilities=projected,
        profile=profile,
        thresholds={c: all_thresholds[c] for c in categories},
        by_category=by_category,
        max_snap_m=max_snap_m,
        terrain=terrain,
        category_profiles=own,
        step_free=stepless,
    )


def _warn_off_network(facilities: gpd.GeoDataFrame, max_snap_m: float) -> None:
    """Say which facilities are not used, telling cut-off ones from far-away ones."""
    off = facilities.loc[~facilities["on_network"]]
    if off.empty:
        return
    beside = off["dropped_way_m"].to_numpy(float) <= max_snap_m
    far = off.loc[~beside]
    if len(far):
        logger.warning(
            "%d facilities are more than %g m from any walkable way and are not used: %s",
            len(far),
            max_snap_m,
            ", ".join(far["id"].astype(str).head(10)),
        )
    cut = off.loc[beside]
    if len(cut):
        logger.warning(
            "%d facilities are beside a walkable way (within %g m) in a piece of the network "
            "not connected to the rest, so they are not used: %s; the piece may be cut off by "
            "the extract's edge or a missing link in the map",
            len(cut),
            max_snap_m,
            ", ".join(
                f"{i} ({d:.0f} m)"
                for i, d in zip(
                    cut["id"].astype(str).head(10), cut["dropped_way_m"].head(10), strict=False
                )
            ),
        )


def network_summary(model: AccessModel) -> pd.DataFrame:
    """Per category: facilities used and off-network, and the share of network length in reach.

    The reachable length counts the reachable part of partly reachable edges, cut at the
    exact distance (see :meth:`circle.access.NodeAccess.edge_reach`).

    Parameters
    ----------
    model
        The travel-time model.

    Returns
    -------
    pandas.DataFrame
        Columns ``category, threshold_min, threshold_m, speed_kmh, facilities,
        facilities_off_network, network_km, reachable_km, reachable_share``.
    """
    total_m = float(model.graph.edge_length_m.sum())
    rows = []
    f = model.facilities
    for category in model.categories:
        in_category = f["category"] == category
        reach = model.by_category[category].edge_reach(model.budget_m(category))
        rows.append(
            {
                "category": category,
                "threshold_min": round(model.threshold_minutes(category), 2),
                "threshold_m": round(model.threshold_metres(category), 1),
                "speed_kmh": model.profile_for(category).speed_kmh,
                "facilities": int((in_category & f["on_network"]).sum()),
                "facilities_off_network": int((in_category & ~f["on_network"]).sum()),
                "network_km": round(total_m / 1000, 3),
                "reachable_km": round(reach.total_m / 1000, 3),
                "reachable_share": round(reach.total_m / total_m, 4) if total_m else 0.0,
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------
# People and neighbourhoods


@dataclass(frozen=True)
class StatusCutoffs:
    """Covered shares that separate the statuses of a neighbourhood for one category.

    ``covered`` when at least `covered` of its people reach the service in time,
    ``uncovered`` when fewer than `uncovered` do, ``partial`` in between; ``empty`` when
    nobody lives there.

    Parameters
    ----------
    covered
        Lowest covered share of a ``covered`` neighbourhood (default 0.8).
    uncovered
        Covered shares below this are ``uncovered`` (default 0.2).
    """

    covered: float = 0.8
    uncovered: float = 0.2

    def __post_init__(self) -> None:
        if not (0 <= self.uncovered <= self.covered <= 1):
            msg = (
                f"status cut-offs must satisfy 0 <= uncovered ({self.uncovered}) <= "
                f"covered ({self.covered}) <= 1."
            )
            raise InputError(msg)

    def status(self, share: np.ndarray) -> np.ndarray:
        """Status of each covered share (NaN share: ``empty``)."""
        share = np.asarray(share, dtype=float)
        return np.select(
            [np.isnan(share), share >= self.covered, share < self.uncovered],
            ["empty", "covered", "uncovered"],
            default="partial",
        ).astype(object)


#: Neighbourhood statuses, from best to worst; ``empty``: nobody lives there.
STATUSES = ("covered", "partial", "uncovered", "empty")


@dataclass(frozen=True, eq=False)
class CoverageResult:
    """Who reaches each category's nearest facility in time, per person and per neighbourhood.

    A person is covered for a category when access leg + network walk + the facility's leg
    to the nearest facility of that category is within the category's threshold (a time
    equal to it counts). Build one with :func:`evaluate_coverage`.

    Attributes
    ----------
    model
        The travel-time model (facilities, profile, thresholds).
    people
        Where people are and how many.
    person_area
        The ``area_id`` of each person (``None`` outside every area: not counted).
    areas
        The neighbourhoods (WGS-84): ``area_id``, ``name``, geometry.
    minutes
        Per category, each person's walking minutes to the nearest facility (``inf`` when
        farther than ``HORIZON_FACTOR`` x threshold or unreachable).
    nearest
        Per category, the row (position in ``model.facilities``) of each person's nearest
        facility within the search horizon, ``-1`` where none.
    cutoffs
        Status cut-offs.
    area_kind
        How the neighbourhoods were made, for reports (``"H3 resolution 9"``, a file).
    """

    model: AccessModel
    people: People
    person_area: np.ndarray
    areas: gpd.GeoDataFrame
    minutes: dict[str, np.ndarray] = field(repr=False)
    nearest: dict[str, np.ndarray] = field(repr=False)
    cutoffs: StatusCutoffs = StatusCutoffs()
    area_kind: str = ""
    # The neighbourhood, facility and summary tables, built once (reports, maps and the
    # terminal all read them; each reader gets a copy).
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, init=False, repr=False)

    @property
    def categories(self) -> list[str]:
        """Categories in report order."""
        return self.model.categories

    def covered(self, category: str) -> np.ndarray:
        """True for each person covered for `category` (time <= threshold)."""
        limit = self.model.threshold_minutes(category)
        tolerance = BUDGET_TOLERANCE_M / self.model.profile_for(category).metres_per_minute
        return np.asarray(self.minutes[category] <= limit + tolerance)

    def population(self, category: str) -> np.ndarray:
        """People at each point that `category` serves (its demand group, else everyone)."""
        return self.people.for_category(category)

    @functools.cached_property
    def counted(self) -> np.ndarray:
        """True for people inside a neighbourhood (the ones reports count); read-only.

        Found once per result: the summary, the tables and the map all ask for it per
        category.
        """
        counted = np.asarray(pd.notna(self.person_area))
        counted.flags.writeable = False
        return counted

    def summary(self) -> pd.DataFrame:
        """One row per category, in the columns of the output contract (DESIGN.md).

        The ``label`` column of ``summary.csv`` (the category in words) is added when
        presenting (:func:`circle.i18n.with_labels`).

        Returns
        -------
        pandas.DataFrame
            ``category, threshold_min, threshold_m, speed_kmh, facilities,
            facilities_off_network, population, covered_population, covered_share,
            neighbourhoods, uncovered_neighbourhoods``; ``covered_share`` is a fraction
            with 4 decimals (NaN when the category serves nobody), populations are rounded
            to whole people; ``neighbourhoods`` counts those where the category's people
            live, ``uncovered_neighbourhoods`` those with status ``uncovered`` (below the
            lower cut-off; ``partial`` ones are not counted).
        """
        if "summary" not in self._tables:
            self._tables["summary"] = self._summary()
        summary: pd.DataFrame = self._tables["summary"].copy()
        return summary

    def _summary(self) -> pd.DataFrame:
        f = self.model.facilities
        counted = self.counted
        table = self.neighbourhood_table()
        rows = []
        for category in self.categories:
            weights = self.population(category) * counted
            total = float(weights.sum())
            in_category = f["category"] == category
            covered_population = float(weights[self.covered(category)].sum())
            group_column = f"{category}_population"
            group = table[group_column] if group_column in table else table["population"]
            rows.append(
                {
                    "category": category,
                    "threshold_min": round(self.model.threshold_minutes(category), 2),
                    "threshold_m": round(self.model.threshold_metres(category), 1),
                    "speed_kmh": self.model.profile_for(category).speed_kmh,
                    "facilities": int((in_category & f["on_network"]).sum()),
                    "facilities_off_network": int((in_category & ~f["on_network"]).sum()),
                    "population": round(total),
                    "covered_population": round(covered_population),
                    "covered_share": round(covered_population / total, 4) if total else math.nan,
                    "neighbourhoods": int((group > 0).sum()),
                    "uncovered_neighbourhoods": int(
                        (table[f"{category}_status"] == "uncovered").sum()
                    ),
                }
            )
        return pd.DataFrame(rows, columns=[c for c in SUMMARY_COLUMNS if c != "label"])

    def neighbourhood_table(self) -> gpd.GeoDataFrame:
        """One row per neighbourhood, sorted by ``area_id``, with per-category columns.

        Columns: ``area_id, name, population``, then for each category
        ``{c}_covered_population, {c}_covered_share, {c}_median_min, {c}_max_min,
        {c}_status``, then ``complete`` (every category ``covered``) and ``missing`` (the
        ids of the categories that are not, joined by ``"; "``). Minutes are those of the
        neighbourhood's people: the population-weighted median (the smallest time within
        which at least half of them reach the service) and the maximum; ``inf`` where
        beyond the search horizon (``HORIZON_FACTOR`` x threshold) or unreachable.
        """
        if "table" not in self._tables:
            self._tables["table"] = self._neighbourhood_table()
        table: gpd.GeoDataFrame = self._tables["table"].copy()
        return table

    def _neighbourhood_table(self) -> gpd.GeoDataFrame:
        counted = self.counted
        areas = self.areas.assign(area_id=self.areas["area_id"].astype(str))
        areas = areas.sort_values("area_id", kind="stable").reset_index(drop=True)
        area_index = pd.Index(areas["area_id"])
        code = np.full(len(self.people), -1, dtype=np.int64)
        code[counted] = area_index.get_indexer(self.person_area[counted])
        inside = code >= 0
        n = len(areas)
        population = self.people.population
        total = np.bincount(code[inside], weights=population[inside], minlength=n)
        columns: dict[str, Any] = {
            "area_id": areas["area_id"].to_numpy(),
            "name": areas["name"].to_numpy(),
            "population": total,
        }
        complete = total > 0
        lacking = np.zeros((n, len(self.categories)), dtype=bool)
        for k, category in enumerate(self.categories):
            group = self.population(category)
            group_total = total
            if group is not population:
                group_total = np.bincount(code[inside], weights=group[inside], minlength=n)
                columns[f"{category}_population"] = group_total
            cov = self.covered(category) & inside
            covered_pop = np.bincount(code[cov], weights=group[cov], minlength=n)
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(group_total > 0, covered_pop / group_total, np.nan)
            minutes = self.minutes[category]
            median, maximum = _weighted_median_and_max(
                code[inside], minutes[inside], group[inside], n
            )
            status = self.cutoffs.status(share)
            columns[f"{category}_covered_population"] = covered_pop
            columns[f"{category}_covered_share"] = share
            columns[f"{category}_median_min"] = median
            columns[f"{category}_max_min"] = maximum
            columns[f"{category}_status"] = status
            # A neighbourhood with nobody in a category's target group does not need it.
            lacking[:, k] = (status != "covered") & (status != "empty")
            complete &= ~lacking[:, k]
        columns["complete"] = complete
        columns["missing"] = _joined_categories(lacking, self.categories)
        return gpd.GeoDataFrame(columns, geometry=areas.geometry.to_numpy(), crs=areas.crs)

    def facility_table(self) -> pd.DataFrame:
        """One row per facility: where it joins the network and whom it serves.

        ``snap_m`` is the straight line to the nearest walkable way (for off-network
        facilities, how far off they are); ``served_population`` is the number of people
        for whom it is the nearest facility of its category and who reach it within the
        threshold.
        """
        if "facilities" not in self._tables:
            self._tables["facilities"] = self._facility_table()
        return self._tables["facilities"].copy()

    def _facility_table(self) -> pd.DataFrame:
        f = self.model.facilities
        served = np.zeros(len(f))
        for category in self.categories:
            weights = self.population(category) * self.counted
            rows = self.nearest[category]
            ok = self.covered(category) & (rows >= 0)
            np.add.at(served, rows[ok], weights[ok])
        lonlat = f.geometry.to_crs("EPSG:4326")
        return pd.DataFrame(
            {
                "id": f["id"].to_numpy(),
                "name": f["name"].to_numpy(),
                "category": f["category"].to_numpy(),
                "on_network": f["on_network"].to_numpy(),
                "snap_m": f["snap_m"].to_numpy(float),
                "served_population": served,
                "lon": lonlat.x.to_numpy(),
                "lat": lonlat.y.to_numpy(),
            }
        )


SUMMARY_COLUMNS = (
    "category",
    "label",
    "threshold_min",
    "threshold_m",
    "speed_kmh",
    "facilities",
    "facilities_off_network",
    "population",
    "covered_population",
    "covered_share",
    "neighbourhoods",
    "uncovered_neighbourhoods",
)


def _joined_categories(chosen: np.ndarray, categories: Sequence[str]) -> list[str]:
    """Per row of `chosen` (rows x categories, booleans), its categories joined by ``"; "``.

    Each distinct row is joined once: a city's neighbourhoods lack a few sets of services.
    """
    if not chosen.size:
        return [""] * len(chosen)
    patterns, which = np.unique(chosen, axis=0, return_inverse=True)
    texts = [
        "; ".join(c for c, lacks in zip(categories, row, strict=True) if lacks)
        for row in patterns.tolist()
    ]
    return [texts[i] for i in which.reshape(-1).tolist()]


def _weighted_median_and_max(
    code: np.ndarray, minutes: np.ndarray, weight: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per group: the lower population-weighted median and the maximum of `minutes`.

    People with zero weight are ignored; groups without people get NaN.
    """
    median = np.full(n, np.nan)
    maximum = np.full(n, np.nan)
    keep = weight > 0
    code, minutes, weight = code[keep], minutes[keep], weight[keep]
    if code.size == 0:
        return median, maximum
    # By group, then by minutes (ties in input order), as np.lexsort((minutes, code)) sorts:
    # a stable sort by minutes, then a stable one by group, which numpy does as a radix sort
    # (much faster) when the group numbers fit in 16 bits.
    order = np.argsort(minutes, kind="stable")
    order = order[np.argsort(code[order].astype(np.min_scalar_type(n)), kind="stable")]
    code, minutes, weight = code[order], minutes[order], weight[order]
    cumulative = np.cumsum(weight)
    group_start = np.r_[0, np.flatnonzero(code[1:] != code[:-1]) + 1]
    group_end = np.r_[group_start[1:], code.size]
    before = np.r_[0.0, cumulative][group_start]
    totals = cumulative[group_end - 1] - before
    groups = code[group_start]
    # First position in each group whose cumulative weight reaches half the group total.
    # The tolerance is relative to each group's own total, not to the running sum.
    targets = before + totals / 2 - totals * 1e-12
    pos = np.searchsorted(cumulative, targets, side="left")
    pos = np.clip(pos, group_start, group_end - 1)
    median[groups] = minutes[pos]
    maximum[groups] = minutes[group_end - 1]
    return median, maximum


def _known_areas(person_area: np.ndarray, areas: gpd.GeoDataFrame) -> np.ndarray:
    """Area ids as strings, ``None`` where the id is missing or not one of `areas`."""
    known = set(areas["area_id"].astype(str)) if "area_id" in areas else set()
    out = np.full(len(person_area), None, dtype=object)
    present = np.asarray(pd.notna(person_area))
    text = np.asarray(person_area, dtype=object)[present].astype(str)
    valid = np.isin(text, list(known))
    rows = np.flatnonzero(present)
    out[rows[valid]] = text[valid]
    if (~valid).any():
        logger.warning(
            "%d population points name neighbourhoods that do not exist (e.g. `%s`)",
            int((~valid).sum()),
            text[~valid][0],
        )
    return out


def evaluate_coverage(
    model: AccessModel,
    people: People,
    areas: gpd.GeoDataFrame,
    person_area: np.ndarray,
    *,
    cutoffs: StatusCutoffs | None = None,
    area_kind: str = "",
    outside_expected: bool = False,
) -> CoverageResult:
    """Walking minutes from every person to each category's nearest facility.

    Parameters
    ----------
    model
        The travel-time model.
    people
        Where people are (see :mod:`circle.areas`).
    areas
        The neighbourhoods.
    person_area
        The ``area_id`` of each person (``None`` where outside all areas).
    cutoffs
        Status cut-offs (default 80 % / 20 %).
    area_kind
        How the neighbourhoods were made, for reports.
    outside_expected
        People outside every neighbourhood are expected (a study of a sub-area): say so in
        the log only, instead of a warning.

    Returns
    -------
    CoverageResult
    """
    minutes: dict[str, np.ndarray] = {}
    nearest: dict[str, np.ndarray] = {}
    for category in model.categories:
        access = model.by_category[category]
        distance, source = access.to_points(model.people_snap(people, category))
        minutes[category] = model.profile_for(category).minutes(distance)
        rows = model.source_rows(category)
        nearest[category] = (
            np.where(source >= 0, rows[np.maximum(source, 0)], -1)
            if len(rows)
            else np.full(len(people), -1)
        )
    person_area = _known_areas(person_area, areas)
    outside = ~np.asarray(pd.notna(person_area))
    if outside.any():
        # Expected in a sub-area study (a scenario's `areas`, a batch area): logged only.
        log = logger.info if outside_expected else logger.warning
        log(
            "%d population points (%.0f %s) lie outside every neighbourhood and are not counted",
            int(outside.sum()),
            float(people.population[outside].sum()),
            people.unit.replace("_", " "),
        )
    return CoverageResult(
        model=model,
        people=people,
        person_area=person_area,
        areas=areas,
        minutes=minutes,
        nearest=nearest,
        cutoffs=cutoffs or StatusCutoffs(),
        area_kind=area_kind,
    )


def overall_status(table: pd.DataFrame, categories: Iterable[str]) -> np.ndarray:
    """Per neighbourhood, how it fares over `categories` taken together.

    ``covered`` when every category is covered there, ``uncovered`` when every one is
    uncovered, ``partial`` otherwise (some services within reach, others not); categories
    whose people do not live there (``empty``) are left out, and a neighbourhood where all are
    ``empty`` is ``empty``. Unlike the worst status over the categories (uncovered as soon as
    one service is), this tells the places that reach nothing from those that reach part of
    the life circle.

    Parameters
    ----------
    table
        A neighbourhood table (:meth:`CoverageResult.neighbourhood_table`).
    categories
        The categories to look at (e.g. those with at least one facility).

    Returns
    -------
    numpy.ndarray
        One status id per row of `table`.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"a_status": ["covered", "covered", "uncovered", "empty"],
    ...                   "b_status": ["covered", "uncovered", "uncovered", "empty"]})
    >>> overall_status(t, ["a", "b"]).tolist()
    ['covered', 'partial', 'uncovered', 'empty']
    """
    chosen = list(categories)
    overall = np.full(len(table), "empty", dtype=object)
    if not chosen:
        return overall
    statuses = np.stack([table[f"{c}_status"].to_numpy(object) for c in chosen])
    lived = statuses != "empty"
    any_lived = lived.any(axis=0)
    all_covered = ((statuses == "covered") | ~lived).all(axis=0)
    all_uncovered = ((statuses == "uncovered") | ~lived).all(axis=0)
    overall[any_lived] = "partial"
    overall[any_lived & all_covered] = "covered"
    overall[any_lived & all_uncovered] = "uncovered"
    return overall


def largest_gaps(table: pd.DataFrame, category: str, *, limit: int) -> pd.DataFrame:
    """The neighbourhoods where someone misses `category`: lowest share, then most people.

    Parameters
    ----------
    table
        A neighbourhood table (:meth:`CoverageResult.neighbourhood_table`).
    category
        The category.
    limit
        At most this many rows.

    Returns
    -------
    pandas.DataFrame
        ``area_id, name, share, median, max, not_covered`` (people of the category's
        group not covered), sorted by share, then people not covered (most first), then
        ``area_id``.
    """
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
    return frame.iloc[order[:limit]]
