"""Where new facilities would close the most gaps: maximal covering, set covering, co-location.

Method
------
*Who a candidate site would cover.* Every candidate site joins the walking network like a
facility (nearest point of the nearest walkable edge, its straight access leg counting toward
the time). For each category one bounded search per candidate on the compact graph
(:func:`circle.access.pair_distances`, batched, sparse pairs: never a dense candidates x people
matrix) finds the people within the category's budget (threshold x walking speed): access leg
+ network walk + the site's own leg, a distance equal to the budget counting as covered,
exactly as :class:`circle.coverage.CoverageResult` decides coverage. Only people who count in
the reports (inside a neighbourhood), belong to the category's demand group (people over 65
for canteens when the population has that column) and are *not* already covered by the
existing facilities matter: a site's value is the people it would newly cover.

*Maximal covering* (Church & ReVelle 1974): choose ``k`` sites maximising the newly covered
people. By default the greedy algorithm with lazy evaluation (Minoux 1978): repeatedly add the
site with the largest marginal gain, re-evaluating a site's gain only when its previous,
larger value reaches the top of the queue (gains can only shrink as people get covered). The
newly covered population is a monotone submodular function of the chosen set, so the greedy
choice covers at least ``(1 - 1/e)`` (about 63.2 %) of the best possible (Nemhauser, Wolsey &
Fisher 1978); ``greedy / (1 - 1/e)`` is therefore an upper bound on the optimum, reported as
the bound of a greedy answer. ``exact=True`` solves the integer program with
:func:`scipy.optimize.milp` (HiGHS) under a time limit and reports the solver's status, its
bound (``mip_dual_bound``) and the greedy-to-exact gap. People with the same category and the
same set of candidates in reach are merged into one variable first (an exact reduction).

*Set covering*: the fewest sites that bring every chosen category's covered share to a
target. Greedy adds the site with the largest gain counted up to what each category still
needs; exact minimises the count with HiGHS. When the candidates cannot reach the target, the
best share they can reach is reported, with the sites that reach it.

*Co-location* (一站多能): with several categories, each site hosts all of them; a site's value
is the sum over the categories of the people it newly covers, each category with its own
demand group and threshold (the same person counts once per service).

*Capacity-aware*: a site with capacity ``S`` serves at most ``S x 1000 / T`` people of a
category whose target is ``T`` places per 1,000 residents (the ratio of
:mod:`circle.capacity`), so its newly covered people are capped there. In the greedy answer a
site serves the nearest not-yet-served people first, up to its cap (people it cannot take stay
available to later sites); the exact answer assigns people to the chosen sites optimally. A
candidate without a capacity is not capped. The ``(1 - 1/e)`` guarantee is for the uncapped
problem only. Served people are then people a site has room for, not only people in reach.

The candidate sites are the planner's (a file or GeoDataFrame) or, by default, points on the
walking network on a regular grid over the populated area. Candidates off the network (farther
than ``max_snap_m`` from every walkable edge) and candidates that duplicate an existing
facility of a chosen category (joining the network within :data:`DUPLICATE_FACILITY_M`) are
reported and not used.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp

from circle._read import read_table
from circle._validate import Problems, check_readable_file, describe_mask
from circle.access import Snap, pair_distances
from circle.categories import category_order_key, normalize_category
from circle.defaults import DEFAULT_CANDIDATE_SPACING_M, DEFAULT_K, DEFAULT_TIME_LIMIT_S
from circle.errors import InputError
from circle.facilities import FACILITY_COLUMNS, check_capacity, check_ids, name_texts

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping

    from circle.access import CompactGraph
    from circle.coverage import CoverageResult

__all__ = [
    "DEFAULT_CANDIDATE_SPACING_M",
    "DEFAULT_K",
    "DEFAULT_TIME_LIMIT_S",
    "DUPLICATE_FACILITY_M",
    "GREEDY_GUARANTEE",
    "SITE_COLUMNS",
    "SITE_COORDINATE_DECIMALS",
    "Candidates",
    "CoverageSets",
    "Recommendation",
    "Selection",
    "SolverInfo",
    "candidate_coverage",
    "grid_candidates",
    "maximal_covering",
    "prepare_candidates",
    "read_candidates",
    "recommend",
    "set_covering",
]

logger = logging.getLogger(__name__)

#: A candidate joining the network within this many metres of where an existing facility of
#: a chosen category joins it duplicates that facility and is not used.
DUPLICATE_FACILITY_M = 5.0
#: The greedy answer to maximal covering is at least this share of the optimum.
GREEDY_GUARANTEE = 1.0 - 1.0 / math.e
#: Covered shares are given with this many decimals, like ``summary.csv``.
SHARE_DECIMALS = 4
#: Decimals of the longitude and latitude of generated candidates (about 0.1 m), as written
#: in ``recommendations.csv``.
SITE_COORDINATE_DECIMALS = 6
#: Gains at or below this many people count as nothing (leftovers of floating-point sums).
_NOTHING = 1e-9

#: Columns of :attr:`Recommendation.sites` (before ``geometry``); ``candidate_id`` and
#: ``candidate_name`` are present only when the candidates came from a file or table.
SITE_COLUMNS: tuple[str, ...] = (
    "rank",
    "category",
    "lon",
    "lat",
    "newly_covered",
    "cumulative_covered",
    "covered_share_after",
    "candidate_id",
    "candidate_name",
    "lifted_neighbourhoods",
)


# ---------------------------------------------------------------------------------------
# Candidates


def read_candidates(
    path: str | os.PathLike[str],
    *,
    lon_field: str = "lon",
    lat_field: str = "lat",
    id_field: str = "id",
    name_field: str = "name",
    capacity_field: str = "capacity",
    layer: str | None = None,
    coords: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Read the planner's candidate sites (vacant lots, community rooms).

    The readers, coordinate systems and checks are those of facility files
    (:func:`circle.facilities.read_facilities`), without a category column: every problem in
    the file is reported together in one `InputError` naming the rows.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile or CSV (``lon``/``lat`` columns in decimal degrees).
    lon_field, lat_field
        CSV coordinate columns.
    id_field
        Column of unique ids; rows are numbered ``row-1``, ``row-2``, ... when it is absent.
    name_field
        Column of names (optional).
    capacity_field
        Column of capacities, positive numbers (optional; empty cells allowed).
    layer
        GeoPackage layer.
    coords
        {"wgs84", "gcj02", "bd09"}: the coordinate system of the file.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id`` (str), ``name`` (str), ``capacity`` (float, NaN where missing) and a point
        geometry (WGS-84), in file order. Polygons give a point inside them.

    Raises
    ------
    InputError
        Missing/unreadable/empty file, missing or invalid geometries or coordinates,
        duplicate or empty ids, capacities that are not positive numbers.
    """
    file = check_readable_file(path, what="candidates file")
    frame = read_table(
        file, layer=layer, coords=coords, lon_field=lon_field, lat_field=lat_field,
        what="candidates file",
    )  # fmt: skip
    csv = file.suffix.lower() in (".csv", ".tsv", ".txt")
    unit = "row" if csv else "feature"
    problems = Problems(
        str(file), note="rows counted from 1 after the header" if csv else "features counted from 1"
    )
    geometry = frame.geometry.to_numpy()
    missing = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    if missing.any():
        problems.add(
            f"missing or empty geometry in {describe_mask(missing, unit=unit)}; "
            "give each candidate a location"
        )
    invalid = ~missing & ~shapely.is_valid(geometry)
    if invalid.any():
        problems.add(
            f"invalid geometry in {describe_mask(invalid, unit=unit)}; repair it (in QGIS: "
            "Vector > Geometry Tools > Fix Geometries) or replace it with a point"
        )
    columns = {str(c).casefold(): str(c) for c in frame.columns if c != "geometry"}
    source = str(file)
    ids = check_ids(
        frame, columns.get(id_field.casefold()), problems, unit=unit, source=source,
        thing="candidate",
    )  # fmt: skip
    names = name_texts(frame, columns.get(name_field.casefold()))
    capacity = check_capacity(frame, columns.get(capacity_field.casefold()), problems, unit=unit)
    problems.raise_if_any()
    points = shapely.point_on_surface(geometry)
    if (shapely.get_type_id(geometry) != shapely.GeometryType.POINT).any():
        logger.info("%s: polygons and lines are replaced by a point inside each", file)
    return gpd.GeoDataFrame(
        {
            "id": pd.Series(ids, dtype=object),
            "name": pd.Series(names, dtype=object),
            "capacity": pd.Series(capacity, dtype="float64"),
        },
        geometry=points,
        crs="EPSG:4326",
    )


def grid_candidates(
    result: CoverageResult,
    categories: Iterable[str],
    *,
    spacing_m: float = DEFAULT_CANDIDATE_SPACING_M,
) -> gpd.GeoDataFrame:
    """Candidate sites on the walking network on a regular grid over the populated area.

    The populated area is the set of grid cells (``spacing_m`` square, in the network's
    metric CRS) holding at least one counted person of a chosen category's demand group.
    Each such cell gives one candidate: the point of the walking network nearest to the
    cell's centre, when it is within the model's ``max_snap_m`` of it (else the cell's
    centre, which is then reported as off-network). Longitudes and latitudes are rounded to
    :data:`SITE_COORDINATE_DECIMALS` decimals (about 0.1 m), as ``recommendations.csv``
    gives them, so a site added from that file is the site evaluated.

    Parameters
    ----------
    result
        The coverage of the existing facilities.
    categories
        The categories whose people define the populated area.
    spacing_m
        Grid spacing, metres.

    Returns
    -------
    geopandas.GeoDataFrame
        ``id`` (``grid-1``, ...), ``name`` (``""``), ``capacity`` (NaN) and the point
        (WGS-84).
    """
    if not (math.isfinite(spacing_m) and spacing_m > 0):
        msg = f"`spacing_m` must be a positive number of metres, got `{spacing_m}`."
        raise InputError(msg)
    graph = result.model.graph
    weight = np.zeros(len(result.people))
    for category in categories:
        weight += result.population(category) * result.counted
    where = result.people.geometry.to_numpy()[weight > 0]
    empty = gpd.GeoDataFrame(
        {"id": pd.Series([], dtype=object), "name": pd.Series([], dtype=object),
         "capacity": pd.Series([], dtype="float64")},
        geometry=gpd.GeoSeries([], crs="EPSG:4326"),
    )  # fmt: skip
    if where.size == 0:
        return empty
    x, y = shapely.get_x(where), shapely.get_y(where)
    x0, y0 = float(x.min()), float(y.min())
    cells = np.unique(
        np.c_[np.floor((x - x0) / spacing_m), np.floor((y - y0) / spacing_m)].astype(np.int64),
        axis=0,
    )
    centres = shapely.points(
        x0 + (cells[:, 0] + 0.5) * spacing_m, y0 + (cells[:, 1] + 0.5) * spacing_m
    )
    snap = graph.snap(centres, max_snap_m=result.model.max_snap_m)
    sites = centres.copy()
    on = snap.on_network
    sites[on] = _snapped_points(graph, snap.subset(on))
    # Rounded as recommendations.csv writes them, so that a site added from the file is
    # exactly the site that was evaluated.
    lonlat = gpd.GeoSeries(sites, crs=graph.crs).to_crs("EPSG:4326").to_numpy()
    table = gpd.GeoDataFrame(
        {
            "id": [f"grid-{i}" for i in range(1, len(sites) + 1)],
            "name": "",
            "capacity": np.nan,
        },
        geometry=shapely.points(
            np.round(shapely.get_x(lonlat), SITE_COORDINATE_DECIMALS),
            np.round(shapely.get_y(lonlat), SITE_COORDINATE_DECIMALS),
        ),
        crs="EPSG:4326",
    )
    logger.info("generated %d candidate sites on a %g m grid", len(table), spacing_m)
    return table


def _snapped_points(graph: CompactGraph, snap: Snap) -> np.ndarray:
    """Where on-network points join the network (points on the edges)."""
    length = graph.edge_length_m[snap.edge]
    fraction = np.divide(snap.offset_m, length, out=np.zeros_like(length), where=length > 0)
    return np.asarray(
        shapely.line_interpolate_point(graph.edge_geometry[snap.edge], fraction, normalized=True)
    )


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate sites joined to the network, with the ones not used and why.

    Attributes
    ----------
    table
        The usable candidates (WGS-84): ``id``, ``name``, ``capacity``, geometry.
    snap
        Where each usable candidate joins the network (row ``i`` of `table`).
    unused
        Candidates not used: ``candidate_id, candidate_name, lon, lat, reason``.
    source
        ``"file"`` (the planner's candidates) or ``"grid"`` (generated).
    spacing_m
        The grid spacing of generated candidates, else ``None``.
    given
        How many candidates there were before any was set aside.
    """

    table: gpd.GeoDataFrame
    snap: Snap
    unused: pd.DataFrame
    source: str
    spacing_m: float | None
    given: int

    def __len__(self) -> int:
        return len(self.table)


def prepare_candidates(
    result: CoverageResult,
    categories: Iterable[str],
    candidates: gpd.GeoDataFrame | None = None,
    *,
    spacing_m: float = DEFAULT_CANDIDATE_SPACING_M,
    duplicate_m: float = DUPLICATE_FACILITY_M,
) -> Candidates:
    """Join candidate sites to the network; set aside off-network and duplicate ones.

    Parameters
    ----------
    result
        The coverage of the existing facilities (its model gives the network, the existing
        facilities and ``max_snap_m``).
    categories
        The chosen categories: a candidate where one of their facilities already is, is a
        duplicate.
    candidates
        ``id``, ``name`` (optional), ``capacity`` (optional) and point geometry in any CRS
        (see :func:`read_candidates`); ``None`` generates them (:func:`grid_candidates`).
    spacing_m
        Grid spacing of generated candidates, metres.
    duplicate_m
        Joining the network within this many metres of an existing facility is a duplicate.

    Returns
    -------
    Candidates

    Raises
    ------
    InputError
        No candidates, missing ``id`` column, duplicate ids, missing geometry, or no
        candidate left on the network.
    """
    chosen = list(categories)
    model = result.model
    graph = model.graph
    if candidates is None:
        table = grid_candidates(result, chosen, spacing_m=spacing_m)
        source, spacing = "grid", float(spacing_m)
        if table.empty:
            msg = (
                f"no counted people of {', '.join(chosen)} to place candidate sites near; "
                "give candidates with `--candidates`."
            )
            raise InputError(msg)
    else:
        table = _check_candidate_table(candidates)
        source, spacing = "file", None
    projected = table.geometry.to_crs(graph.crs)
    snap = graph.snap(projected, max_snap_m=model.max_snap_m)
    lonlat = table.geometry.to_crs("EPSG:4326")
    reasons = np.full(len(table), "", dtype=object)
    off = ~snap.on_network
    if off.any():
        far = graph.distance_to_network(projected.to_numpy()[off])
        reasons[off] = [
            f"off-network: {d:.0f} m from the nearest walkable way (more than "
            f"max_snap_m {model.max_snap_m:g} m)"
            for d in far
        ]
    on = np.flatnonzero(snap.on_network)
    existing = model.facilities
    is_existing = existing["category"].isin(chosen).to_numpy() & existing["on_network"].to_numpy()
    if on.size and is_existing.any():
        existing_rows = np.flatnonzero(is_existing)
        existing_snap = graph.snap(
            existing.geometry.to_numpy()[existing_rows], max_snap_m=model.max_snap_m
        )
        tree = shapely.STRtree(_snapped_points(graph, existing_snap))
        here = _snapped_points(graph, snap.subset(on))
        cand_idx, fac_idx = tree.query_nearest(
            here, max_distance=duplicate_m, return_distance=False
        )
        if cand_idx.size:
            _, first = np.unique(cand_idx, return_index=True)
            cand_idx, fac_idx = cand_idx[first], fac_idx[first]
            gap = shapely.distance(here[cand_idx], tree.geometries[fac_idx])
            rows = existing.iloc[existing_rows[fac_idx]]
            reasons[on[cand_idx]] = [
                f"duplicates existing {c} facility `{i}` ({d:.1f} m apart on the network)"
                for c, i, d in zip(rows["category"], rows["id"], gap, strict=True)
            ]
    unused_mask = reasons != ""
    unused = pd.DataFrame(
        {
            "candidate_id": table["id"].to_numpy()[unused_mask],
            "candidate_name": table["name"].to_numpy()[unused_mask],
            "lon": lonlat.x.to_numpy()[unused_mask],
            "lat": lonlat.y.to_numpy()[unused_mask],
            "reason": reasons[unused_mask],
        }
    )
    keep = ~unused_mask
    if not keep.any():
        msg = (
            f"none of the {len(table)} candidate sites can be used ({unused['reason'].iloc[0]}"
            f"{' ...' if len(unused) > 1 else ''}); give candidates within "
            f"{model.max_snap_m:g} m of a walkable way."
        )
        raise InputError(msg)
    if unused_mask.any():
        logger.warning("%d of %d candidate sites are not used", int(unused_mask.sum()), len(table))
    return Candidates(
        table=table.loc[keep].reset_index(drop=True),
        snap=snap.subset(keep),
        unused=unused,
        source=source,
        spacing_m=spacing,
        given=len(table),
    )


def _check_candidate_table(candidates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Validate a candidates GeoDataFrame and return it in WGS-84 with the standard columns."""
    if not isinstance(candidates, gpd.GeoDataFrame) or candidates.crs is None:
        msg = "candidates must be a GeoDataFrame with a CRS (see `read_candidates`)."
        raise InputError(msg)
    if len(candidates) == 0:
        msg = "the candidates table is empty; give at least one candidate site."
        raise InputError(msg)
    problems = Problems("candidates", note="rows counted from 1")
    if "id" not in candidates.columns:
        problems.add("no `id` column; give each candidate an id")
    else:
        ids = candidates["id"].astype(str)
        duplicated = ids.duplicated(keep=False).to_numpy()
        if duplicated.any():
            problems.add(f"duplicate ids in {describe_mask(duplicated)}; make each id unique")
    geometry = candidates.geometry.to_numpy()
    bad = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    if bad.any():
        problems.add(f"missing or empty geometry in {describe_mask(bad)}")
    capacity = (
        pd.to_numeric(candidates["capacity"], errors="coerce").to_numpy(float)
        if "capacity" in candidates.columns
        else np.full(len(candidates), np.nan)
    )
    if "capacity" in candidates.columns:
        wrong = candidates["capacity"].notna().to_numpy() & ~(
            np.isfinite(capacity) & (capacity > 0)
        )
        if wrong.any():
            problems.add(f"`capacity` is not a positive number in {describe_mask(wrong)}")
    problems.raise_if_any()
    names = (
        candidates["name"].fillna("").astype(str).to_numpy()
        if "name" in candidates.columns
        else np.full(len(candidates), "", dtype=object)
    )
    return gpd.GeoDataFrame(
        {
            "id": candidates["id"].astype(str).to_numpy(),
            "name": names,
            "capacity": capacity,
        },
        geometry=shapely.point_on_surface(candidates.to_crs("EPSG:4326").geometry.to_numpy()),
        crs="EPSG:4326",
    )


# ---------------------------------------------------------------------------------------
# The covering instance


@dataclass(frozen=True, eq=False)
class CoverageSets:
    """Which not-yet-covered people each candidate site would cover: what the solvers work on.

    *Elements* are (person, category) pairs still uncovered; a site covers an element when
    the person is within the category's budget of the site. Pairs are sparse and sorted by
    site, then category group, then distance.

    Attributes
    ----------
    site, element, distance_m
        Parallel arrays: each (site, element) pair within reach and its walking distance.
    weight
        People of each element (positive).
    group
        Category group (position in `categories`) of each element.
    n_sites
        Number of candidate sites.
    categories
        The category of each group.
    capacity
        People each site can serve per group, shape ``(n_sites, n_groups)``; ``inf`` where
        uncapped.
    person
        Position in the people of each element (``-1`` for abstract instances).
    """

    site: np.ndarray
    element: np.ndarray
    distance_m: np.ndarray
    weight: np.ndarray
    group: np.ndarray
    n_sites: int
    categories: tuple[str, ...]
    capacity: np.ndarray
    person: np.ndarray
    indptr: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        order = np.lexsort((self.element, self.distance_m, self.group[self.element], self.site))
        for name in ("site", "element", "distance_m"):
            object.__setattr__(self, name, np.asarray(getattr(self, name))[order])
        counts = np.bincount(self.site, minlength=self.n_sites)
        object.__setattr__(self, "indptr", np.r_[0, np.cumsum(counts)])

    @classmethod
    def from_pairs(
        cls,
        site: Iterable[int],
        element: Iterable[int],
        weight: Iterable[float],
        *,
        n_sites: int,
        group: Iterable[int] | None = None,
        distance_m: Iterable[float] | None = None,
        capacity: np.ndarray | None = None,
        categories: Iterable[str] | None = None,
    ) -> CoverageSets:
        """An instance from plain pairs (for tests and other callers).

        Parameters
        ----------
        site, element
            Which site covers which element.
        weight
            People of each element.
        n_sites
            Number of sites (sites without pairs cover nobody).
        group
            Group of each element (default: one group).
        distance_m
            Distance of each pair (default 0; orders who a capped site serves first).
        capacity
            People each site can serve, ``(n_sites,)`` or ``(n_sites, n_groups)``.
        categories
            Names of the groups.

        Returns
        -------
        CoverageSets
        """
        s = np.asarray(list(site), dtype=np.int64)
        e = np.asarray(list(element), dtype=np.int64)
        w = np.asarray(list(weight), dtype=float)
        g = np.zeros(len(w), dtype=np.int64) if group is None else np.asarray(list(group))
        n_groups = int(g.max()) + 1 if g.size else 1
        names = (
            tuple(categories)
            if categories is not None
            else tuple(f"group-{i}" for i in range(n_groups))
        )
        d = np.zeros(len(s)) if distance_m is None else np.asarray(list(distance_m), dtype=float)
        cap = np.full((n_sites, len(names)), np.inf)
        if capacity is not None:
            given = np.asarray(capacity, dtype=float)
            cap[:] = given[:, None] if given.ndim == 1 else given
        pairs = pd.DataFrame({"s": s, "e": e, "d": d}).sort_values("d", kind="stable")
        pairs = pairs.drop_duplicates(["s", "e"])
        return cls(
            site=pairs["s"].to_numpy(np.int64),
            element=pairs["e"].to_numpy(np.int64),
            distance_m=pairs["d"].to_numpy(float),
            weight=w,
            group=g.astype(np.int64),
            n_sites=int(n_sites),
            categories=names,
            capacity=cap,
            person=np.full(len(w), -1, dtype=np.int64),
        )

    @property
    def n_groups(self) -> int:
        """Number of category groups."""
        return len(self.categories)

    @property
    def capped(self) -> bool:
        """True when some site has a finite capacity."""
        return bool(np.isfinite(self.capacity).any())

    def coverable(self) -> np.ndarray:
        """Per group, the people some candidate reaches (ignoring capacities)."""
        reached = np.zeros(len(self.weight), dtype=bool)
        reached[self.element] = True
        return np.bincount(
            self.group[reached], weights=self.weight[reached], minlength=self.n_groups
        )

    def restrict(self, sites: np.ndarray) -> CoverageSets:
        """The instance with only `sites` (renumbered ``0..len(sites)-1`` in that order)."""
        position = np.full(self.n_sites, -1, dtype=np.int64)
        position[sites] = np.arange(len(sites))
        keep = position[self.site] >= 0
        return CoverageSets(
            site=position[self.site[keep]],
            element=self.element[keep],
            distance_m=self.distance_m[keep],
            weight=self.weight,
            group=self.group,
            n_sites=len(sites),
            categories=self.categories,
            capacity=self.capacity[sites],
            person=self.person,
        )

    def value(self, sites: Iterable[int]) -> float:
        """People newly covered by a set of sites (uncapped: the union of what they reach)."""
        chosen = np.zeros(self.n_sites, dtype=bool)
        chosen[list(sites)] = True
        reached = np.zeros(len(self.weight), dtype=bool)
        reached[self.element[chosen[self.site]]] = True
        return float(self.weight[reached].sum())


def candidate_coverage(
    result: CoverageResult,
    candidates: Candidates,
    categories: Iterable[str],
    *,
    capacity_targets: Mapping[str, float] | None = None,
    batch_size: int = 64,
) -> CoverageSets:
    """Who each candidate would newly cover, per category: one bounded search per candidate.

    Parameters
    ----------
    result
        The coverage of the existing facilities: its model (graph, profile, thresholds),
        people, demand groups and who is already covered.
    candidates
        The usable candidate sites.
    categories
        The chosen categories (one group each).
    capacity_targets
        Places per 1,000 residents per category: caps each site with a capacity at
        ``capacity x 1000 / target`` people of that category (``None``: uncapped).
    batch_size
        Candidates searched per scipy call.

    Returns
    -------
    CoverageSets
    """
    model = result.model
    chosen = tuple(categories)
    counted = result.counted
    site_parts, element_parts, distance_parts = [], [], []
    weights, groups, persons = [], [], []
    offset = 0
    searched: dict[tuple[float, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for g, category in enumerate(chosen):
        demand = result.population(category) * counted
        open_people = np.flatnonzero((demand > 0) & ~result.covered(category))
        element_of = np.full(len(result.people), -1, dtype=np.int64)
        element_of[open_people] = offset + np.arange(open_people.size)
        budget = model.budget_m(category)
        graph = model.graph_for(category)
        key = (budget, id(graph))
        if key not in searched:
            searched[key] = _candidate_pairs(
                result, candidates, category, limit_m=budget, batch_size=batch_size
            )
        source, point, metres = searched[key]
        keep = element_of[point] >= 0
        site_parts.append(source[keep])
        element_parts.append(element_of[point[keep]])
        distance_parts.append(metres[keep])
        weights.append(demand[open_people])
        groups.append(np.full(open_people.size, g, dtype=np.int64))
        persons.append(open_people)
        offset += open_people.size
    capacity = np.full((len(candidates), len(chosen)), np.inf)
    if capacity_targets is not None:
        site_capacity = candidates.table["capacity"].to_numpy(float)
        for g, category in enumerate(chosen):
            served = site_capacity * 1000.0 / capacity_targets[category]
            capacity[:, g] = np.where(np.isfinite(served), served, np.inf)
    return CoverageSets(
        site=np.concatenate(site_parts),
        element=np.concatenate(element_parts),
        distance_m=np.concatenate(distance_parts),
        weight=np.concatenate(weights),
        group=np.concatenate(groups),
        n_sites=len(candidates),
        categories=chosen,
        capacity=capacity,
        person=np.concatenate(persons),
    )


def _candidate_pairs(
    result: CoverageResult,
    candidates: Candidates,
    category: str,
    *,
    limit_m: float,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(candidate, person, metres) pairs within `limit_m` on `category`'s graph.

    On a step-free graph a candidate or a person whose nearest way is a staircase joins the
    nearest passable way (a candidate with none within ``max_snap_m`` reaches nobody).
    """
    model = result.model
    graph = model.graph_for(category)
    snap = graph.resnap(
        candidates.snap,
        candidates.table.geometry.to_crs(graph.crs).to_numpy(),
        max_snap_m=model.max_snap_m,
    )
    on = np.flatnonzero(snap.on_network)
    source, point, metres = pair_distances(
        graph,
        snap.subset(on),
        model.people_snap(result.people, category),
        limit_m=limit_m,
        batch_size=batch_size,
    )
    return on[source], point, metres


# ---------------------------------------------------------------------------------------
# Solvers


@dataclass(frozen=True, eq=False)
class Selection:
    """Sites chosen by a solver, in rank order, and whom each newly covers.

    Attributes
    ----------
    sites
        Chosen sites in rank order (positions in the instance).
    gain
        People newly covered by each ranked site per group, shape ``(len(sites), n_groups)``:
        the marginal gain given the sites ranked before it.
    take_rank, take_element, take_amount
        Parallel arrays: the rank that covers (part of) an element, and how many people.
    method
        ``"greedy"`` or ``"exact"``.
    status
        The solver's words: ``"optimal"``, ``"time limit reached"``, ...
    bound
        For maximal covering an upper bound on the best possible value; for set covering
        a lower bound on the number of sites (NaN when unknown).
    time_s
        Wall time of the solver.
    """

    sites: np.ndarray
    gain: np.ndarray
    take_rank: np.ndarray
    take_element: np.ndarray
    take_amount: np.ndarray
    method: str
    status: str
    bound: float
    time_s: float

    @property
    def objective(self) -> float:
        """People newly covered in all (summed over groups)."""
        return float(self.gain.sum())

    def __len__(self) -> int:
        return len(self.sites)


def _initial_gains(sets: CoverageSets, need: np.ndarray | None) -> np.ndarray:
    per = np.bincount(
        sets.site * sets.n_groups + sets.group[sets.element],
        weights=sets.weight[sets.element],
        minlength=sets.n_sites * sets.n_groups,
    )
    per = np.minimum(per.reshape(sets.n_sites, sets.n_groups), sets.capacity)
    if need is not None:
        per = np.minimum(per, need[None, :])
    return np.asarray(per.sum(axis=1))


def _greedy(sets: CoverageSets, *, k: int | None, need: np.ndarray | None) -> Selection:
    """Lazy greedy: maximal covering (``k``) or partial covering until `need` is met."""
    start = time.perf_counter()
    remaining = sets.weight.astype(float).copy()
    need_left = None if need is None else need.astype(float).copy()
    pair_group = sets.group[sets.element]
    gains = _initial_gains(sets, need_left)
    heap = [(-float(v), int(j)) for j, v in enumerate(gains) if v > _NOTHING]
    heapq.heapify(heap)
    picks: list[int] = []
    rows: list[np.ndarray] = []
    take_rank, take_element, take_amount = [], [], []

    def per_group(j: int) -> tuple[slice, np.ndarray]:
        span = slice(sets.indptr[j], sets.indptr[j + 1])
        sums = np.bincount(
            pair_group[span], weights=remaining[sets.element[span]], minlength=sets.n_groups
        )
        return span, np.minimum(sums, sets.capacity[j])

    while heap and (k is None or len(picks) < k):
        if need_left is not None and (need_left <= _NOTHING).all():
            break
        _, j = heapq.heappop(heap)
        span, available = per_group(j)
        value = float((available if need_left is None else np.minimum(available, need_left)).sum())
        if value <= _NOTHING:
            continue  # gains only shrink: this site will never add anything again
        if heap and value < -heap[0][0] * (1 - 1e-12):
            heapq.heappush(heap, (-value, j))
            continue
        elements = sets.element[span]
        avail = remaining[elements]
        cap = sets.capacity[j]
        if np.isfinite(cap).any():
            # Nearest first within each group, up to the site's cap for that group.
            g = pair_group[span]
            cumulative = np.cumsum(avail)
            starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
            base = np.repeat(np.r_[0.0, cumulative][starts], np.diff(np.r_[starts, g.size]))
            before = cumulative - avail - base
            take = np.clip(cap[g] - before, 0.0, avail)
        else:
            take = avail
        remaining[elements] = avail - take
        took = np.bincount(pair_group[span], weights=take, minlength=sets.n_groups)
        if need_left is not None:
            need_left -= took
        used = take > 0
        take_rank.append(np.full(int(used.sum()), len(picks), dtype=np.int64))
        take_element.append(elements[used])
        take_amount.append(take[used])
        picks.append(j)
        rows.append(took)
    total = float(np.sum(rows)) if rows else 0.0
    bound = total / GREEDY_GUARANTEE if need is None and not sets.capped else math.nan
    if need is None and not sets.capped:
        bound = min(bound, float(sets.coverable().sum()))
    return Selection(
        sites=np.asarray(picks, dtype=np.int64),
        gain=np.asarray(rows).reshape(len(picks), sets.n_groups),
        take_rank=np.concatenate(take_rank) if take_rank else np.zeros(0, dtype=np.int64),
        take_element=np.concatenate(take_element) if take_element else np.zeros(0, np.int64),
        take_amount=np.concatenate(take_amount) if take_amount else np.zeros(0),
        method="greedy",
        status="greedy",
        bound=bound,
        time_s=time.perf_counter() - start,
    )


def _aggregate(sets: CoverageSets) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge elements with the same group and the same sites in reach (exact reduction).

    Returns the merged element of each element (``-1``: nobody reaches it), the weight and
    group of each merged element, and the (site, merged element) pairs as one array of two
    columns.
    """
    n = len(sets.weight)
    by_element = sp.csr_matrix(
        (np.ones(sets.site.size), (sets.element, sets.site)), shape=(n, sets.n_sites)
    )
    by_element.sort_indices()
    merged = np.full(n, -1, dtype=np.int64)
    keys: dict[tuple[int, bytes], int] = {}
    indptr, indices = by_element.indptr, by_element.indices
    for e in np.flatnonzero(np.diff(indptr) > 0):
        key = (int(sets.group[e]), indices[indptr[e] : indptr[e + 1]].tobytes())
        merged[e] = keys.setdefault(key, len(keys))
    m = len(keys)
    reached = merged >= 0
    weight = np.bincount(merged[reached], weights=sets.weight[reached], minlength=m)
    group = np.zeros(m, dtype=np.int64)
    group[merged[reached]] = sets.group[reached]
    pairs = np.unique(np.c_[sets.site, merged[sets.element]], axis=0)
    return merged, weight, group, pairs


def _milp(
    sets: CoverageSets,
    *,
    k: int | None,
    need: np.ndarray | None,
    time_limit_s: float,
    all_open: bool = False,
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Solve maximal covering (`k`) or set covering (`need`) with HiGHS.

    With `all_open` every site is open (``y = 1``): a linear program, the most people all
    sites together can serve.

    Variables: ``y`` (one binary per site), then per merged element ``z`` in [0, 1]
    (uncapped: ``z_e <= sum of y over sites in reach``) or, with capacities, per
    (site, merged element) pair the people ``a`` assigned (``sum_j a_je <= w_e``,
    ``a_je <= w_e y_j``, ``sum_e a_je <= cap_jg y_j`` per group).
    """
    merged, weight, group, pairs = _aggregate(sets)
    n, m, p = sets.n_sites, len(weight), len(pairs)
    ps, pe = pairs[:, 0], pairs[:, 1]
    blocks: list[LinearConstraint] = []
    if not sets.capped:
        size = n + m
        cover = sp.csr_matrix(
            (
                np.r_[np.ones(m), -np.ones(p)],
                (np.r_[np.arange(m), pe], np.r_[n + np.arange(m), ps]),
            ),
            shape=(m, size),
        )
        blocks.append(LinearConstraint(cover, -np.inf, 0.0))
        served = sp.csr_matrix((weight, (group, n + np.arange(m))), shape=(sets.n_groups, size))
        upper = np.r_[np.ones(n), np.ones(m)]
    else:
        size = n + p
        per_element = sp.csr_matrix((np.ones(p), (pe, n + np.arange(p))), shape=(m, size))
        blocks.append(LinearConstraint(per_element, -np.inf, weight))
        link = sp.csr_matrix(
            (
                np.r_[np.ones(p), -weight[pe]],
                (np.r_[np.arange(p), np.arange(p)], np.r_[n + np.arange(p), ps]),
            ),
            shape=(p, size),
        )
        blocks.append(LinearConstraint(link, -np.inf, 0.0))
        pg = group[pe]
        capped = np.isfinite(sets.capacity)
        row_of = np.full(sets.capacity.shape, -1, dtype=np.int64)
        row_of[capped] = np.arange(int(capped.sum()))
        pr = row_of[ps, pg]
        inside = pr >= 0
        site_cap = sets.capacity[capped]
        site_of_row = np.nonzero(capped)[0]
        limit = sp.csr_matrix(
            (np.r_[np.ones(int(inside.sum())), -site_cap],
             (np.r_[pr[inside], np.arange(site_cap.size)],
              np.r_[n + np.flatnonzero(inside), site_of_row])),
            shape=(site_cap.size, size),
        )  # fmt: skip
        blocks.append(LinearConstraint(limit, -np.inf, 0.0))
        served = sp.csr_matrix((np.ones(p), (pg, n + np.arange(p))), shape=(sets.n_groups, size))
        upper = np.r_[np.ones(n), weight[pe]]
    integrality = np.r_[np.full(n, 0.0 if all_open else 1.0), np.zeros(size - n)]
    lower = np.r_[np.full(n, 1.0 if all_open else 0.0), np.zeros(size - n)]
    if k is not None:
        blocks.append(
            LinearConstraint(sp.csr_matrix(np.r_[np.ones(n), np.zeros(size - n)]), -np.inf, k)
        )
        cost = -np.asarray(served.sum(axis=0)).ravel()
    else:
        assert need is not None
        blocks.append(LinearConstraint(served, need, np.inf))
        cost = np.r_[np.ones(n), np.zeros(size - n)]
    solution = milp(
        cost,
        constraints=blocks,
        integrality=integrality,
        bounds=Bounds(lower, upper),
        options={"time_limit": float(time_limit_s), "mip_rel_gap": 0.0, "disp": False},
    )
    return solution, merged, weight, group, ps, pe


_MILP_STATUS = {
    0: "optimal",
    1: "time limit reached",
    2: "infeasible",
    3: "unbounded",
    4: "solver error",
}


def _exact(
    sets: CoverageSets, *, k: int | None, need: np.ndarray | None, time_limit_s: float
) -> Selection | None:
    """The exact answer (or the best found in the time limit); ``None`` when none was found."""
    start = time.perf_counter()
    solution, merged, weight, _, ps, pe = _milp(sets, k=k, need=need, time_limit_s=time_limit_s)
    elapsed = time.perf_counter() - start
    status = _MILP_STATUS.get(int(solution.status), "solver error")
    if solution.x is None:
        logger.warning("the exact solver found no solution (%s)", status)
        return None
    n = sets.n_sites
    chosen = np.flatnonzero(solution.x[:n] > 0.5)
    dual = getattr(solution, "mip_dual_bound", None)
    if k is not None:
        bound = 0.0 - float(dual) if dual is not None and np.isfinite(dual) else math.nan
    else:
        bound = float(dual) if dual is not None and np.isfinite(dual) else math.nan
    if not sets.capped:
        # Rank the chosen sites by their marginal gains among themselves.
        ranked = _greedy(sets.restrict(chosen), k=None, need=None)
        order = chosen[ranked.sites]
        return Selection(
            sites=order, gain=ranked.gain, take_rank=ranked.take_rank,
            take_element=ranked.take_element, take_amount=ranked.take_amount,
            method="exact", status=status, bound=bound, time_s=elapsed,
        )  # fmt: skip
    # With capacities: the solver's assignment, split back to the merged people by weight.
    amount = solution.x[n:]
    use = (amount > _NOTHING) & (solution.x[ps] > 0.5)
    ps, pe, amount = ps[use], pe[use], amount[use]
    per_site = np.bincount(ps, weights=amount, minlength=n)
    order = np.array(sorted(chosen, key=lambda j: (-per_site[j], j)), dtype=np.int64)
    order = order[per_site[order] > _NOTHING]
    rank_of = np.full(n, -1, dtype=np.int64)
    rank_of[order] = np.arange(order.size)
    members = pd.DataFrame({"element": np.arange(len(merged)), "merged": merged})
    members = members.loc[members["merged"] >= 0]
    share = sets.weight[members["element"].to_numpy()] / weight[members["merged"].to_numpy()]
    members = members.assign(share=share)
    takes = pd.DataFrame({"rank": rank_of[ps], "merged": pe, "amount": amount}).merge(
        members, on="merged"
    )
    take_amount = (takes["amount"] * takes["share"]).to_numpy()
    take_rank = takes["rank"].to_numpy(np.int64)
    take_element = takes["element"].to_numpy(np.int64)
    gain = np.zeros((order.size, sets.n_groups))
    np.add.at(gain, (take_rank, sets.group[take_element]), take_amount)
    return Selection(
        sites=order, gain=gain, take_rank=take_rank, take_element=take_element,
        take_amount=take_amount, method="exact", status=status, bound=bound, time_s=elapsed,
    )  # fmt: skip


def maximal_covering(
    sets: CoverageSets,
    k: int,
    *,
    exact: bool = False,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> tuple[Selection, Selection | None]:
    """Choose up to `k` sites that newly cover the most people.

    Greedy with lazy evaluation: at least ``(1 - 1/e)`` of the optimum without capacities
    (Nemhauser, Wolsey & Fisher 1978). With `exact`, the integer program is solved by HiGHS
    (:func:`scipy.optimize.milp`) within `time_limit_s`. Sites that would add nobody are not
    chosen, so fewer than `k` may come back.

    Parameters
    ----------
    sets
        The instance (see :func:`candidate_coverage`).
    k
        Number of sites, at least 1.
    exact
        Also solve the integer program.
    time_limit_s
        The exact solver's time limit, seconds.

    Returns
    -------
    greedy, exact
        The greedy selection, and the exact one (``None`` unless asked for and found).

    Examples
    --------
    >>> sets = CoverageSets.from_pairs([0, 0, 1, 2], [0, 1, 1, 2], [5, 4, 3], n_sites=3)
    >>> greedy, best = maximal_covering(sets, 2, exact=True)
    >>> greedy.sites.tolist(), best.objective
    ([0, 2], 12.0)
    """
    _check_k(k)
    _check_time_limit(time_limit_s)
    greedy = _greedy(sets, k=k, need=None)
    best = _exact(sets, k=k, need=None, time_limit_s=time_limit_s) if exact else None
    return greedy, best


def set_covering(
    sets: CoverageSets,
    need: np.ndarray,
    *,
    exact: bool = False,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> tuple[Selection, Selection | None]:
    """The fewest sites that newly cover at least `need` people in every group.

    Greedy adds the site with the largest gain counted up to what each group still needs
    (Wolsey 1982: within ``1 + ln`` of the largest gain of the fewest sites); with `exact`
    HiGHS minimises the count. `need` must be reachable (see :meth:`CoverageSets.coverable`);
    a greedy answer stops when no site adds anything.

    Parameters
    ----------
    sets
        The instance.
    need
        People to cover newly, per group.
    exact
        Also solve the integer program.
    time_limit_s
        The exact solver's time limit, seconds.

    Returns
    -------
    greedy, exact
        The selections (exact ``None`` unless asked for and found).

    Examples
    --------
    >>> sets = CoverageSets.from_pairs([0, 0, 1, 2], [0, 1, 1, 2], [5, 4, 3], n_sites=3)
    >>> greedy, best = set_covering(sets, np.array([8.0]), exact=True)
    >>> len(greedy), len(best)
    (1, 1)
    """
    _check_time_limit(time_limit_s)
    need = np.asarray(need, dtype=float)
    greedy = _greedy(sets, k=None, need=need)
    best = None
    if exact and (need > _NOTHING).any():
        tolerance = 1e-9 * np.maximum(need, 1.0)
        best = _exact(sets, k=None, need=need - tolerance, time_limit_s=time_limit_s)
    return greedy, best


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        msg = f"`k` (the number of new sites) must be a whole number of at least 1, got `{k}`."
        raise InputError(msg)


def _check_time_limit(time_limit_s: float) -> None:
    if not (math.isfinite(time_limit_s) and time_limit_s > 0):
        msg = f"`time_limit_s` must be a positive number of seconds, got `{time_limit_s}`."
        raise InputError(msg)


# ---------------------------------------------------------------------------------------
# The recommendation


@dataclass(frozen=True)
class SolverInfo:
    """How the recommended sites were found.

    Attributes
    ----------
    problem
        ``"maximal covering"`` or ``"set covering"``.
    method
        ``"greedy"`` or ``"exact"`` (the one whose sites are recommended).
    status
        ``"greedy"``, ``"optimal"``, ``"time limit reached"``, or why the exact solver gave
        no answer (then the greedy sites are recommended).
    objective
        Maximal covering: people newly covered (summed over categories); set covering:
        the number of sites.
    bound
        Maximal covering: an upper bound on the people the best `k` sites could newly cover
        (the solver's dual bound; for greedy alone ``greedy / (1 - 1/e)``, NaN with
        capacities). Set covering: the solver's lower bound on the number of sites.
    greedy_objective
        The greedy answer's objective.
    gap
        Greedy-to-exact gap: ``(exact - greedy) / exact`` for maximal covering, ``(greedy -
        exact) / exact`` sites for set covering; NaN without an exact answer.
    time_s, greedy_time_s
        Wall time of the method used and of greedy.
    """

    problem: str
    method: str
    status: str
    objective: float
    bound: float
    greedy_objective: float
    gap: float
    time_s: float
    greedy_time_s: float


@dataclass(frozen=True, eq=False)
class Recommendation:
    """Where new facilities would close the most gaps, ranked.

    Attributes
    ----------
    sites
        One row per (site, category) in rank order (co-located categories share a rank):
        ``rank, category, lon, lat, newly_covered, cumulative_covered,
        covered_share_after`` (4 decimals), then ``candidate_id, candidate_name`` when the
        candidates came from a file or table, then ``lifted_neighbourhoods`` (the
        ``area_id`` of neighbourhoods whose status for that category this site raises,
        uncovered -> partial -> covered, ``"; "``-separated); point geometry (WGS-84).
        ``newly_covered`` is the site's gain given the sites ranked before it;
        ``cumulative_covered`` the sum up to this rank; populations are not rounded.
    categories
        The categories the sites host.
    before
        Per category: ``category, population, covered_before, covered_after,
        covered_share_before, covered_share_after, sites`` (shares with 4 decimals).
    solver
        How the sites were found.
    candidates
        The candidates used, and the ones set aside with reasons
        (``candidates.unused``).
    k
        Sites asked for (maximal covering), else ``None``.
    target_share
        The covered share asked for (set covering), else ``None``.
    target_reached
        Set covering: whether every category reaches the target (``None`` otherwise).
    reachable_share
        Set covering: per category, the best covered share the candidates can reach.
    capacity_aware
        Whether sites were capped by capacity.
    notes
        Sentences the report should show (fewer sites than asked, target unreachable, ...).
    """

    sites: gpd.GeoDataFrame
    categories: tuple[str, ...]
    before: pd.DataFrame
    solver: SolverInfo
    candidates: Candidates
    k: int | None = None
    target_share: float | None = None
    target_reached: bool | None = None
    reachable_share: dict[str, float] = field(default_factory=dict)
    capacity_aware: bool = False
    notes: tuple[str, ...] = ()
    _existing_ids: frozenset[str] = field(default_factory=frozenset, repr=False)
    _site_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    @property
    def n_sites(self) -> int:
        """Number of recommended sites."""
        return int(self.sites["rank"].nunique()) if len(self.sites) else 0

    @property
    def unused_candidates(self) -> pd.DataFrame:
        """Candidates not used: ``candidate_id, candidate_name, lon, lat, reason``."""
        return self.candidates.unused

    def new_facilities(self) -> gpd.GeoDataFrame:
        """The recommended sites as facilities, ready to add in a scenario.

        One facility per (site, category), in circle's facilities schema
        (:data:`circle.facilities.FACILITY_COLUMNS`): ``id`` ``proposed-{rank}`` (with
        ``-{category}`` for co-located sites; a suffix is added if an existing facility has
        that id), ``name`` (the candidate's name or id), ``category``, ``capacity`` (the
        candidate's, NaN if none), WGS-84 point.
        """
        s = self.sites
        several = len(self.categories) > 1
        ids = []
        for rank, category in zip(s["rank"], s["category"], strict=True):
            base = f"proposed-{rank}-{category}" if several else f"proposed-{rank}"
            new_id, n = base, 1
            while new_id in self._existing_ids:
                n += 1
                new_id = f"{base}-{n}"
            ids.append(new_id)
        table = self.candidates.table
        rows = self._site_rows
        names = table["name"].to_numpy(object)[rows]
        cids = table["id"].to_numpy(object)[rows]
        return gpd.GeoDataFrame(
            {
                "id": pd.Series(ids, dtype=object),
                "name": pd.Series([n or c for n, c in zip(names, cids, strict=True)], dtype=object),
                "category": s["category"].to_numpy(object),
                "capacity": table["capacity"].to_numpy(float)[rows],
            },
            geometry=s.geometry.to_numpy(),
            crs="EPSG:4326",
        )[list(FACILITY_COLUMNS)]

    def table(self) -> pd.DataFrame:
        """The sites as a plain table in the column order of ``recommendations.csv``."""
        columns = [c for c in SITE_COLUMNS if c in self.sites.columns]
        return pd.DataFrame(self.sites[columns])


def parse_categories(text: str | Iterable[str], *, known: Iterable[str]) -> tuple[str, ...]:
    """Read ``"canteen,daycare"`` (ids or aliases) into known category ids, in report order.

    Raises
    ------
    InputError
        Empty, or a category that the study does not evaluate.
    """
    parts = text.split(",") if isinstance(text, str) else [str(t) for t in text]
    names = [p.strip() for p in parts if p.strip()]
    known_list = list(known)
    if not names:
        msg = f"name a category to site, one of {', '.join(known_list)}."
        raise InputError(msg)
    chosen = []
    for name in names:
        category = normalize_category(name)
        if category not in known_list:
            msg = (
                f"`--category` names an unknown category `{name}`; known categories: "
                f"{', '.join(known_list)}."
            )
            raise InputError(msg)
        chosen.append(category)
    return tuple(sorted(dict.fromkeys(chosen), key=category_order_key))


def recommend(
    result: CoverageResult,
    categories: str | Iterable[str],
    *,
    k: int | None = None,
    target_share: float | None = None,
    candidates: gpd.GeoDataFrame | None = None,
    spacing_m: float = DEFAULT_CANDIDATE_SPACING_M,
    exact: bool = False,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    capacity_aware: bool = False,
    targets: Mapping[str, float] | None = None,
) -> Recommendation:
    """Recommend new sites that close the most gaps, keeping the existing facilities.

    Maximal covering (`k` sites, the default with :data:`DEFAULT_K`) or set covering (the
    fewest sites reaching `target_share`); several categories are co-located. See the
    module docstring for the method.

    Parameters
    ----------
    result
        Coverage of the existing facilities (its model, people and neighbourhoods are used).
    categories
        One category or several (``"canteen,daycare"``): each site hosts all of them.
    k
        Number of new sites (maximal covering).
    target_share
        Covered share to reach in every category, in (0, 1] (set covering).
    candidates
        Candidate sites (see :func:`read_candidates`); ``None``: a grid on the network.
    spacing_m
        Grid spacing of generated candidates, metres.
    exact
        Solve the integer program (HiGHS) and recommend its answer.
    time_limit_s
        The exact solver's time limit, seconds.
    capacity_aware
        Cap each site's newly covered people at what its capacity serves at the category's
        target ratio (`targets` needed for every chosen category).
    targets
        Places per 1,000 residents per category (as for :mod:`circle.capacity`).

    Returns
    -------
    Recommendation

    Raises
    ------
    InputError
        Unknown category, both or bad `k`/`target_share`, bad time limit or spacing,
        empty or invalid candidates, no candidate on the network, capacity-aware without
        targets.
    """
    chosen = parse_categories(categories, known=result.categories)
    if k is not None and target_share is not None:
        msg = "give either `k` (--k) or `target_share` (--target-share), not both."
        raise InputError(msg)
    if target_share is None:
        k = DEFAULT_K if k is None else k
        _check_k(k)
    else:
        share = float(target_share)
        if not (math.isfinite(share) and 0 < share <= 1):
            msg = f"`--target-share` must be a fraction in (0, 1], e.g. 0.95, got `{target_share}`."
            raise InputError(msg)
    _check_time_limit(time_limit_s)
    capacity_targets = None
    if capacity_aware:
        missing = [c for c in chosen if not (targets and c in targets)]
        if missing:
            msg = (
                f"`--capacity-aware` needs a target ratio for {', '.join(missing)}: give "
                f"`--target {missing[0]}=PLACES_PER_1000`."
            )
            raise InputError(msg)
        assert targets is not None
        capacity_targets = {c: float(targets[c]) for c in chosen}
    usable = prepare_candidates(result, chosen, candidates, spacing_m=spacing_m)
    sets = candidate_coverage(result, usable, chosen, capacity_targets=capacity_targets)
    notes: list[str] = []
    if capacity_aware and not np.isfinite(usable.table["capacity"].to_numpy(float)).any():
        notes.append("No candidate has a capacity: capacity-aware siting caps no site.")
    demand = np.array([float((result.population(c) * result.counted).sum()) for c in chosen])
    covered_before = np.array(
        [float((result.population(c) * result.counted)[result.covered(c)].sum()) for c in chosen]
    )
    reachable: dict[str, float] = {}
    target_reached = None
    if target_share is None:
        assert k is not None
        greedy, best = maximal_covering(sets, k, exact=exact, time_limit_s=time_limit_s)
    else:
        need, reachable = _set_cover_need(
            sets, target_share=target_share, demand=demand, covered_before=covered_before,
            notes=notes,
        )  # fmt: skip
        greedy, best = set_covering(sets, need, exact=exact, time_limit_s=time_limit_s)
        if (need <= _NOTHING).all():
            notes.append(f"The covered share already reaches {target_share:g}: no site needed.")
            exact = False
    solver, chosen_selection = _solver_info(
        greedy, best, exact=exact, k=k if target_share is None else None, notes=notes
    )
    sites, site_rows = _site_table(
        result, usable, sets, chosen_selection, demand=demand, covered_before=covered_before
    )
    after = covered_before + chosen_selection.gain.sum(axis=0)
    if target_share is not None:
        target_reached = bool(
            np.all(after >= target_share * demand - 1e-9 * np.maximum(demand, 1.0))
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        before_table = pd.DataFrame(
            {
                "category": list(chosen),
                "population": demand,
                "covered_before": covered_before,
                "covered_after": after,
                "covered_share_before": np.round(covered_before / demand, SHARE_DECIMALS),
                "covered_share_after": np.round(after / demand, SHARE_DECIMALS),
                "sites": len(chosen_selection),
            }
        )
    return Recommendation(
        sites=sites,
        categories=chosen,
        before=before_table,
        solver=solver,
        candidates=usable,
        k=k if target_share is None else None,
        target_share=target_share,
        target_reached=target_reached,
        reachable_share=reachable,
        capacity_aware=capacity_aware,
        notes=tuple(notes),
        _existing_ids=frozenset(result.model.facilities["id"].astype(str)),
        _site_rows=site_rows,
    )


def _set_cover_need(
    sets: CoverageSets,
    *,
    target_share: float,
    demand: np.ndarray,
    covered_before: np.ndarray,
    notes: list[str],
) -> tuple[np.ndarray, dict[str, float]]:
    """People each group must newly cover for `target_share`, or the most it can.

    Also returns the best reachable covered share per category; a note is added when the
    target is out of reach.
    """
    goal = target_share * demand - covered_before
    most = _most_coverable(sets)
    reachable: dict[str, float] = {}
    for g, category in enumerate(sets.categories):
        reachable[category] = (
            round(float((covered_before[g] + most[g]) / demand[g]), SHARE_DECIMALS)
            if demand[g] > 0 else math.nan
        )  # fmt: skip
    short = goal > most + 1e-9 * np.maximum(demand, 1.0)
    if short.any():
        listed = ", ".join(
            f"{sets.categories[g]} {reachable[sets.categories[g]]:.4f}"
            for g in np.flatnonzero(short)
        )
        notes.append(
            f"The target covered share {target_share:g} cannot be reached from these "
            f"candidates; the best reachable is {listed}; the sites below reach it."
        )
    return np.maximum(np.minimum(goal, most), 0.0), reachable


def _solver_info(
    greedy: Selection,
    best: Selection | None,
    *,
    exact: bool,
    k: int | None,
    notes: list[str],
) -> tuple[SolverInfo, Selection]:
    """Which selection is recommended, and how it was found (`k` None: set covering)."""
    chosen = greedy
    status = "greedy"
    if exact:
        if best is None:
            notes.append("The exact solver found no answer in the time limit: greedy sites shown.")
            status = "exact solver found no answer; greedy used"
        else:
            chosen, status = best, best.status
    if k is not None:
        objective, greedy_objective = chosen.objective, greedy.objective
        gap = (
            (best.objective - greedy.objective) / best.objective
            if best is not None and best.objective > 0 else math.nan
        )  # fmt: skip
        if len(chosen) < k:
            notes.append(
                f"Only {len(chosen)} of the {k} sites asked for add anyone; the other "
                "candidates would newly cover nobody."
            )
    else:
        objective, greedy_objective = float(len(chosen)), float(len(greedy))
        gap = (len(greedy) - len(best)) / len(best) if best is not None and len(best) else math.nan
    info = SolverInfo(
        problem="maximal covering" if k is not None else "set covering",
        method=chosen.method,
        status=status,
        objective=objective,
        bound=chosen.bound,
        greedy_objective=greedy_objective,
        gap=gap,
        time_s=chosen.time_s,
        greedy_time_s=greedy.time_s,
    )
    return info, chosen


def _most_coverable(sets: CoverageSets) -> np.ndarray:
    """Per group, the most people all candidates together could newly cover."""
    if not sets.capped:
        return sets.coverable()
    everything = np.asarray(_greedy(sets, k=None, need=None).gain.sum(axis=0))
    solution, _, _, group, _, pe = _milp(
        sets, k=sets.n_sites, need=None, time_limit_s=DEFAULT_TIME_LIMIT_S, all_open=True
    )
    if solution.x is None:
        return everything
    served = np.bincount(group[pe], weights=solution.x[sets.n_sites :], minlength=sets.n_groups)
    return np.asarray(np.maximum(everything, served))


def _site_table(
    result: CoverageResult,
    candidates: Candidates,
    sets: CoverageSets,
    selection: Selection,
    *,
    demand: np.ndarray,
    covered_before: np.ndarray,
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """One row per (ranked site, category) with gains, shares and lifted neighbourhoods.

    Also returns the candidate (row of ``candidates.table``) of each row.
    """
    n_rank, n_groups = selection.gain.shape
    rank = np.repeat(np.arange(n_rank), n_groups)
    group = np.tile(np.arange(n_groups), n_rank)
    site = selection.sites[rank] if n_rank else np.zeros(0, dtype=np.int64)
    newly = selection.gain.ravel()
    cumulative = np.cumsum(selection.gain, axis=0).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.round((covered_before[group] + cumulative) / demand[group], SHARE_DECIMALS)
    table = candidates.table
    geometry = table.geometry.to_numpy()[site]
    lifted = _lifted(result, sets, selection)
    columns: dict[str, Any] = {
        "rank": rank + 1,
        "category": np.asarray(sets.categories, dtype=object)[group],
        "lon": shapely.get_x(geometry),
        "lat": shapely.get_y(geometry),
        "newly_covered": newly,
        "cumulative_covered": cumulative,
        "covered_share_after": share,
    }
    if candidates.source == "file":
        columns["candidate_id"] = table["id"].to_numpy(object)[site]
        columns["candidate_name"] = table["name"].to_numpy(object)[site]
    columns["lifted_neighbourhoods"] = [
        lifted[(int(r), int(g))] for r, g in zip(rank, group, strict=True)
    ]
    return gpd.GeoDataFrame(columns, geometry=geometry, crs="EPSG:4326"), site


_STATUS_LEVEL = {"empty": -1, "uncovered": 0, "partial": 1, "covered": 2}


def _lifted(
    result: CoverageResult, sets: CoverageSets, selection: Selection
) -> dict[tuple[int, int], str]:
    """Per (rank, group): the neighbourhoods whose status that site raises, in id order."""
    areas = np.sort(result.areas["area_id"].astype(str).to_numpy())
    index = pd.Index(areas)
    counted = result.counted
    code = np.full(len(result.people), -1, dtype=np.int64)
    code[counted] = index.get_indexer(result.person_area[counted].astype(str))
    out: dict[tuple[int, int], str] = {}
    n_rank = len(selection)
    level = np.vectorize(_STATUS_LEVEL.__getitem__, otypes=[np.int64])
    for g, category in enumerate(sets.categories):
        demand = result.population(category) * counted
        inside = code >= 0
        total = np.bincount(code[inside], weights=demand[inside], minlength=len(areas))
        cov = inside & result.covered(category)
        covered = np.bincount(code[cov], weights=demand[cov], minlength=len(areas))
        mine = sets.group[selection.take_element] == g
        person = sets.person[selection.take_element[mine]]
        take_code = np.where(person >= 0, code[np.maximum(person, 0)], -1)
        ok = take_code >= 0
        added = np.zeros((n_rank, len(areas)))
        np.add.at(
            added, (selection.take_rank[mine][ok], take_code[ok]), selection.take_amount[mine][ok]
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            status = level(result.cutoffs.status(np.where(total > 0, covered / total, np.nan)))
        for r in range(n_rank):
            covered = covered + added[r]
            with np.errstate(invalid="ignore", divide="ignore"):
                new = level(result.cutoffs.status(np.where(total > 0, covered / total, np.nan)))
            out[(r, g)] = "; ".join(areas[new > status])
            status = new
    return out
