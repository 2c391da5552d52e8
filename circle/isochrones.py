"""Service-area polygons from reachable (and partly reachable) edges.

Method
------
A category's service area is the part of the walking network within its walking budget of
the nearest facility (:meth:`circle.access.NodeAccess.edge_reach`: whole edges, plus the
reachable part of partly reachable edges cut at the exact distance), widened by
``buffer_m`` on every side and dissolved into one (multi)polygon in the network's metric
CRS. The buffer stands for the short straight walk from a doorway to the way; it is drawn,
not timed, so a place inside the polygon may need up to ``buffer_m`` more walking than the
threshold allows. Facilities' own access legs are not drawn either: a facility far from its
way may lie outside its area.

Dissolving tens of thousands of buffered edges is the costly step. Measured on Andorra
(30,492 nodes, 120 facilities over 4 categories, 15 min at 4.5 km/h; ~6,000 reachable edges
per category), all categories together:

================================================  =======  ==========================
method                                            seconds  note
================================================  =======  ==========================
buffer every edge, then ``shapely.union_all``        0.87  reference
same with ``quad_segs=4``                            0.70  coarser arcs (-0.26 % area)
``union_all`` of the lines, then one buffer          15.2  noding the lines is slow
one buffer of the whole MultiLineString              13.0  GEOS nodes all offset curves
grid tiles (0.5-2 km): merge + buffer, then union    0.33
``disjoint_subset_union_all`` after merging          0.19  needs shapely >= 2.1
merge lines, buffer each, then ``union_all``         0.23  **chosen**
================================================  =======  ==========================

``shapely.line_merge`` first joins edges that meet end to end at nodes of degree two into
long lines (~6,000 edges become ~250-650 lines), so far fewer, larger polygons meet in the
union. The result differs from the reference by at most 0.8 m (Hausdorff; GEOS simplifies
buffer input lines by 1 % of the distance) and by 0.02 % in area. ``quad_segs=4`` saves
nothing after merging, so arcs keep GEOS's default 8 segments per quarter circle.
``shapely.disjoint_subset_union_all`` gains little and needs shapely 2.1 (circle supports
2.0). ``shapely.coverage_union`` does not apply: buffers overlap, and it needs a coverage.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely

from circle.access import BUDGET_TOLERANCE_M, nearest_facilities
from circle.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from circle.access import CompactGraph, EdgeReach
    from circle.coverage import AccessModel

__all__ = [
    "SERVICE_AREA_BUFFER_M",
    "facility_service_areas",
    "reachable_lines",
    "service_area",
    "service_areas",
]

logger = logging.getLogger(__name__)

SERVICE_AREA_BUFFER_M = 50.0  # metres
#: Interval ends within this many metres of an edge's ends count as the ends themselves
#: (merged interval ends carry floating-point noise of ~1e-10 m).
_END_TOLERANCE_M = BUDGET_TOLERANCE_M
#: Intervals shorter than this (metres) are spots, drawn as points: a spot reached with
#: exactly the budget is ``2 * BUDGET_TOLERANCE_M`` long at most.
_SPOT_M = 1e-3
_AREA_COLUMNS = ["category", "threshold_min", "speed_kmh", "area_km2", "geometry"]
_FACILITY_COLUMNS = ["id", "name", "category", "area_km2", "geometry"]


def reachable_lines(graph: CompactGraph, reach: EdgeReach) -> np.ndarray:
    """The reachable parts of edges as geometries, one per merged interval.

    An interval covering its whole edge gives the edge's geometry; a partial interval gives
    the exact sub-line. Offsets are metres of ``edge_length_m``, turned into fractions of
    it and then into planar distances along the geometry (the two lengths may differ
    slightly). A zero-length interval (shorter than 1 mm: a spot reached with exactly the
    budget, e.g. where a facility's access leg uses the whole budget) is kept as a
    ``Point``, so that a place reached in exactly the threshold time, which counts as
    reached, still shows.

    Parameters
    ----------
    graph
        The compact graph the reach was computed on.
    reach
        Merged reachable intervals (see :meth:`circle.access.NodeAccess.edge_reach`).

    Returns
    -------
    numpy.ndarray
        Object array of shapely ``LineString`` and ``Point`` geometries, in the network CRS,
        in the order of `reach`'s intervals.
    """
    edge = reach.edge
    geometry = np.asarray(graph.edge_geometry[edge], dtype=object)
    length_m = graph.edge_length_m[edge]
    start_m, end_m = reach.start_m, reach.end_m
    whole = (start_m <= _END_TOLERANCE_M) & (end_m >= length_m - _END_TOLERANCE_M)
    out: np.ndarray = geometry.copy()
    partial = np.flatnonzero(~whole)
    if partial.size == 0:
        return out
    # Fractions of `length_m`, then planar distances along the geometry.
    safe = np.where(length_m[partial] > 0, length_m[partial], 1.0)
    geometry_length = shapely.length(geometry[partial])
    start_d = np.clip(start_m[partial] / safe, 0.0, 1.0) * geometry_length
    end_d = np.clip(end_m[partial] / safe, 0.0, 1.0) * geometry_length
    spot = (end_m[partial] - start_m[partial]) < _SPOT_M
    if spot.any():
        out[partial[spot]] = shapely.line_interpolate_point(geometry[partial[spot]], start_d[spot])
    cut = ~spot
    if cut.any():
        out[partial[cut]] = _sub_lines(geometry[partial[cut]], start_d[cut], end_d[cut])
    return out


_SAME_POINT_M = 1e-6  # metres


def _sub_lines(lines: np.ndarray, start_d: np.ndarray, end_d: np.ndarray) -> np.ndarray:
    """``shapely.ops.substring(line, start, end)`` for arrays, ``start < end``, vectorised.

    Each sub-line is its interpolated start point, the line's vertices strictly between the
    two distances, and its interpolated end point.
    """
    n = len(lines)
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    step = np.hypot(*np.diff(coords, axis=0).T)
    step[owner[1:] != owner[:-1]] = 0.0
    running = np.r_[0.0, np.cumsum(step)]
    first_vertex = np.r_[0, np.flatnonzero(owner[1:] != owner[:-1]) + 1]
    along = running - running[first_vertex][owner]
    # Vertices within a micrometre of either end are the end itself (float sums differ).
    inner = (along > start_d[owner] + _SAME_POINT_M) & (along < end_d[owner] - _SAME_POINT_M)
    ends = np.arange(n)
    xy = np.concatenate(
        [
            shapely.get_coordinates(shapely.line_interpolate_point(lines, start_d)),
            coords[inner],
            shapely.get_coordinates(shapely.line_interpolate_point(lines, end_d)),
        ]
    )
    which = np.r_[ends, owner[inner], ends]
    key = np.r_[start_d, along[inner], end_d]
    rank = np.r_[np.zeros(n), np.ones(int(inner.sum())), np.full(n, 2.0)]
    order = np.lexsort((rank, key, which))
    return np.asarray(shapely.linestrings(xy[order], indices=which[order]), dtype=object)


def _dissolve(geometries: np.ndarray, buffer_m: float) -> shapely.Polygon | shapely.MultiPolygon:
    """Buffer lines and points by `buffer_m` and dissolve them into one (multi)polygon.

    Lines are first merged end to end (``shapely.line_merge``), then each merged line is
    buffered and all are unioned: the fastest correct option measured (module docstring).
    """
    if len(geometries) == 0:
        return shapely.Polygon()
    is_line = shapely.get_type_id(geometries) == shapely.GeometryType.LINESTRING
    merged = shapely.line_merge(shapely.multilinestrings(geometries[is_line]))
    parts = np.concatenate([shapely.get_parts(merged), geometries[~is_line]])
    area = shapely.union_all(shapely.buffer(parts, buffer_m))
    if isinstance(area, shapely.Polygon | shapely.MultiPolygon):
        return area
    return shapely.Polygon()  # only empty inputs (degenerate lines) get here


def _check_buffer_m(buffer_m: float) -> float:
    if not (math.isfinite(buffer_m) and buffer_m > 0):
        msg = f"`buffer_m` must be a positive number of metres, got `{buffer_m}`."
        raise InputError(msg)
    return float(buffer_m)


def _check_categories(model: AccessModel, categories: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(categories))
    unknown = [c for c in wanted if c not in model.by_category]
    if unknown:
        msg = (
            f"unknown categories {', '.join(f'`{c}`' for c in unknown)}; "
            f"the model has: {', '.join(model.categories)}."
        )
        raise InputError(msg)
    return [c for c in model.categories if c in wanted]


def service_area(
    model: AccessModel,
    category: str,
    *,
    buffer_m: float = SERVICE_AREA_BUFFER_M,
) -> shapely.Polygon | shapely.MultiPolygon:
    """The area within walking reach of `category`'s nearest facility, as one polygon.

    The reachable parts of edges (partly reachable edges cut at the exact distance, see
    :func:`reachable_lines`) are buffered by `buffer_m` and dissolved (module docstring).

    Parameters
    ----------
    model
        The travel-time model.
    category
        One of ``model.categories``.
    buffer_m
        Metres drawn on each side of the reachable ways (round caps and joins).

    Returns
    -------
    shapely.Polygon or shapely.MultiPolygon
        In the network's metric CRS; an empty polygon when the category has no
        on-network facility.

    Raises
    ------
    InputError
        `category` is not in the model, or `buffer_m` is not a positive number.
    """
    _check_buffer_m(buffer_m)
    _check_categories(model, [category])
    access = model.by_category[category]
    if len(access.sources) == 0:
        return shapely.Polygon()
    reach = access.edge_reach(model.budget_m(category))
    return _dissolve(reachable_lines(model.graph_for(category), reach), buffer_m)


def service_areas(
    model: AccessModel,
    *,
    buffer_m: float = SERVICE_AREA_BUFFER_M,
    categories: Iterable[str] | None = None,
    crs: Any = "EPSG:4326",
) -> gpd.GeoDataFrame:
    """One service-area polygon per category (see :func:`service_area`).

    Parameters
    ----------
    model
        The travel-time model.
    buffer_m
        Metres drawn on each side of the reachable ways.
    categories
        Categories to draw (default: all of ``model.categories``).
    crs
        CRS of the result (anything ``GeoDataFrame.to_crs`` takes); ``None`` keeps the
        network's metric CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``category, threshold_min, speed_kmh, area_km2, geometry``, one row per
        category in ``model.categories`` order; ``area_km2`` is measured in the network's
        metric CRS.

    Raises
    ------
    InputError
        A category is not in the model, or `buffer_m` is not a positive number.
    """
    _check_buffer_m(buffer_m)
    chosen = _check_categories(model, model.categories if categories is None else categories)
    geometry = gpd.GeoSeries(
        [service_area(model, c, buffer_m=buffer_m) for c in chosen], crs=model.graph.crs
    )
    frame = gpd.GeoDataFrame(
        {
            "category": chosen,
            "threshold_min": [round(model.threshold_minutes(c), 2) for c in chosen],
            "speed_kmh": [model.profile_for(c).speed_kmh for c in chosen],
            "area_km2": geometry.area.to_numpy() / 1e6,
        },
        geometry=geometry,
        columns=_AREA_COLUMNS,
    )
    return frame if crs is None else frame.to_crs(crs)


def facility_service_areas(
    model: AccessModel,
    category: str,
    *,
    buffer_m: float = SERVICE_AREA_BUFFER_M,
    crs: Any = "EPSG:4326",
) -> gpd.GeoDataFrame:
    """Each on-network facility's own service area, as if it were its category's only one.

    One bounded single-source search per facility (facilities are few), then the same
    polygons as :func:`service_area`. Off-network facilities get no row.

    Parameters
    ----------
    model
        The travel-time model.
    category
        One of ``model.categories``.
    buffer_m
        Metres drawn on each side of the reachable ways.
    crs
        CRS of the result; ``None`` keeps the network's metric CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``id, name, category, area_km2, geometry``, in the order of
        ``model.facilities``; ``area_km2`` is measured in the network's metric CRS.

    Raises
    ------
    InputError
        `category` is not in the model, or `buffer_m` is not a positive number.
    """
    _check_buffer_m(buffer_m)
    _check_categories(model, [category])
    sources = model.by_category[category].sources
    budget_m = model.budget_m(category)
    graph = model.graph_for(category)
    polygons = []
    for i in range(len(sources)):
        access = nearest_facilities(graph, sources.subset(np.array([i])), limit_m=budget_m)
        lines = reachable_lines(graph, access.edge_reach(budget_m))
        polygons.append(_dissolve(lines, buffer_m))
    rows = model.facilities.iloc[model.source_rows(category)]
    geometry = gpd.GeoSeries(polygons, crs=model.graph.crs)
    frame = gpd.GeoDataFrame(
        {
            "id": rows["id"].to_numpy(),
            "name": rows["name"].to_numpy(),
            "category": rows["category"].to_numpy(),
            "area_km2": geometry.area.to_numpy() / 1e6,
        },
        geometry=geometry,
        columns=_FACILITY_COLUMNS,
    )
    return frame if crs is None else frame.to_crs(crs)
