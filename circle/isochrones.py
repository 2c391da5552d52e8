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
merge lines, buffer each, then ``union_all``         0.23  the method until 0.1
================================================  =======  ==========================

``shapely.line_merge`` joins edges only where exactly two meet, so it does little where
every node is a crossing: on a jittered 80 m street grid of 50,176 nodes (~58,000 reachable
edges per category, 4 categories, one facility per 130 nodes) merging leaves them as they
were and each category took 3.0-4.9 s. :func:`_chains` therefore pairs the line ends at
every crossing (each with its straightest continuation) and walks the pairs into chains
with numpy, so whole streets become one line (~2,500 chains): 0.7-1.3 s per category on
that grid, the same on Andorra, and an area that differs from the reference by 0.00004 %
(round joins draw the discs that the caps drew). Walking the pairs in numpy instead of
moving the paired ends apart for ``shapely.line_merge`` takes 0.12 s instead of 0.74 s for
178,000 reachable edges (a 150,000-node grid), 0.5 s instead of 2.2-2.9 s for 616,000.
Coarser arcs save little (``quad_segs=4``: -6 %, ``quad_segs=2``: -12 % of the time for
-0.3 % of the area, and on a 500,000-node grid ``quad_segs=4`` already joins two parts
that the reference keeps apart), so GEOS's default of 8 segments per quarter circle stays
and the polygons match the reference.

On large networks the lines are dissolved by 4 km tiles (:func:`_dissolve`): each tile's
lines are chained, buffered and unioned, and the tiles' areas are unioned last. The union
of one category's ~27,000 chains on a 500,000-node grid holds +360 MB of GEOS memory at its
peak; by tiles +140 MB, in the same time (7.1-7.2 s instead of 7.5-8.2 s), and the tiles
can be drawn in threads. With all of the above, drawing the 4 categories of that grid
takes 15-16 s instead of 48 s and adds nothing to the peak memory the study already held
(1.2 GB; +550 MB before); 4.1-4.7 s instead of 6.5-12 s on the 150,000-node grid. Union
is still most of it: GEOS nodes every crossing of two buffered streets. Filling the thin
blocks whose sides are all reached (faces traced in numpy, ``coverage_union_all``) and
buffering only the lines within ``buffer_m`` of their edge gave the same areas and 5.4 s
instead of 7.0 s per category there, but tracing the faces took 2.9 s per graph and the
whole stage 17.1 s and +380 MB: not used. An area's last union of its tiles runs in one
thread; the next area's tiles are drawn meanwhile (:meth:`ServiceAreaBuilder.start_areas`):
13.9-14.2 s instead of 15.4-16.4 s for the 4 categories, +70 MB. Tiles of 2, 3, 4 or 6 km
cost the same there (3.8-4.1 s per category); one category's tiles rarely repeat
another's (1 km tiles: 2.9 % of lines in tiles drawn before), so tiles are not kept.

On small graphs the areas are drawn in the background while the caller writes the
report files (:meth:`ServiceAreaBuilder.start_areas`): their lines are chained first, so
the threads only call GEOS and need the GIL twice per area; chaining in the threads, the
report's Python code kept them waiting for the GIL at every numpy call and nothing was
gained. On Andorra (2 categories) the report files and map then take 0.41-0.48 s
instead of 0.58 s. One core is left to the caller: on 2 cores, two drawing threads beside
the report's writing took its core a third of the time. With one thread, and the caller
drawing what is left once it waits, Andorra's ``circle report`` took 0.68 s instead of
0.73 s with 2 categories (medians of 8 first runs) and as long with 4 (0.86-0.87 s).
Large graphs are not drawn so: their tiles already keep both cores busy, and beside the
report writing the 500,000-node grid took as long and 1.7 GB instead of 1.4 GB at its
peak.

Where most of the network is reached, :class:`ServiceAreaBuilder` draws the complement
instead (its docstring): the buffer of all edges, built once per graph and kept, minus the
buffer of the few unreached lines, plus the buffer of the reached lines near them. With one
category holding all 386 facilities of that grid (96,000 of 100,000 edges reached):
0.5 s instead of 1.1-1.5 s with chains alone (and 5.4 s with merging alone), after a
one-off 1.1 s for all edges; on Andorra with 300 facilities per category, 0.2 s instead of
0.3 s. The symmetric difference from the reference is below 0.0003 % of the area in both.
The builder also keeps the areas it drew by their exact reach, so a scenario that leaves a
category unchanged gets its polygon back in about a millisecond.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from circle.access import BUDGET_TOLERANCE_M, EdgeReach, nearest_facilities
from circle.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from circle.access import CompactGraph
    from circle.coverage import AccessModel

__all__ = [
    "SERVICE_AREA_BUFFER_M",
    "ServiceAreaBuilder",
    "facility_service_areas",
    "reachable_lines",
    "service_area",
    "service_areas",
    "start_service_areas",
    "unreached",
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


#: The complement method is used when the unreached lines plus the reached ones near them
#: are at most this share of the reached lines' vertices (measured; module docstring).
_COMPLEMENT_SHARE = 0.5
#: Service areas a :class:`ServiceAreaBuilder` keeps (least recently used go first).
_MEMO_SIZE = 16
#: At most this many tiles are dissolved at the same time.
_MAX_THREADS = 4
#: Graphs of up to this many edges draw several areas side by side, one thread each (their
#: tiles are few and unevenly filled); larger ones draw one area at a time, its tiles side
#: by side. Measured, all 4 categories: a 150,000-node grid (299,000 edges) 4.1 s and +70 MB
#: peak side by side, 4.4 s and +5 MB by tiles; a 500,000-node grid 14.6 s and +260 MB,
#: 15.6 s and no more than the study held.
_AREAS_IN_THREADS_EDGES_MAX = 400_000
#: Side of the square tiles (metres) whose lines are dissolved separately before the
#: tiles' areas are unioned (module docstring): GEOS's working memory then grows with one
#: tile, not with the city.
_TILE_M = 4000.0
#: Fewer geometries than this are dissolved in one piece: on Andorra (~40,000 edges) tiles
#: cost 0.86-0.93 s instead of 0.74-0.79 s for 4 categories of 300 facilities each.
_TILED_MIN = 100_000


class _Ends:
    """The ends of `lines` grouped by point and sorted by heading around each point.

    End ``k < n`` is line ``k``'s start, end ``n + k`` its end; ``order`` lists the ends
    point by point, anticlockwise by the direction each leaves in; ``rank`` is an end's
    place at its point (in ``order``'s positions), ``degree`` how many ends meet there and
    ``point_start`` the position of the point's first end.
    """

    def __init__(self, lines: np.ndarray) -> None:
        n = len(lines)
        self.coords, owner = shapely.get_coordinates(lines, return_index=True)
        self.counts = np.bincount(owner, minlength=n)
        self.first = np.r_[0, np.cumsum(self.counts)[:-1]]
        self.last = self.first + self.counts - 1
        end_at = np.r_[self.first, self.last]  # index in `coords` of each line end
        toward = np.r_[self.first + 1, self.last - 1]  # the vertex next to it
        xy = self.coords[end_at]
        leaving = self.coords[toward] - xy
        heading = np.arctan2(leaving[:, 1], leaving[:, 0])
        self.order = np.lexsort((heading, xy[:, 1], xy[:, 0]))
        sorted_xy = xy[self.order]
        new_point = np.r_[True, (sorted_xy[1:] != sorted_xy[:-1]).any(axis=1)]
        point_start = np.flatnonzero(new_point)
        point_of = np.cumsum(new_point) - 1
        self.point_start = point_start[point_of]
        self.degree = np.diff(np.r_[point_start, len(self.order)])[point_of]
        self.rank = np.arange(len(self.order)) - self.point_start
        ends = np.arange(2 * n)
        self.opposite = np.r_[ends[n:], ends[:n]]


def _walks(step: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The paths and cycles of `step` (each state's successor, ``-1`` at a path's end).

    Returns each state's walk, the walk's least state, and the state's position along
    its walk (a cycle starts at its least state), found by pointer doubling.
    """
    m = len(step)
    states = np.arange(m)
    linked = np.flatnonzero(step >= 0)
    links = coo_matrix((np.ones(len(linked), dtype=np.int8), (linked, step[linked])), shape=(m, m))
    n_walks, walk = connected_components(links, directed=True, connection="weak")
    least = np.full(n_walks, m)
    np.minimum.at(least, walk, states)
    previous = np.full(m, -1)
    previous[step[linked]] = linked
    cycle = np.bincount(walk, weights=previous < 0, minlength=n_walks) == 0
    previous[cycle[walk] & (states == least[walk])] = -1
    position = (previous >= 0).astype(np.int64)
    pointer = previous.copy()
    active = np.flatnonzero(pointer >= 0)
    while active.size:
        ahead = pointer[active]
        position[active] += position[ahead]
        pointer[active] = pointer[ahead]
        active = active[pointer[active] >= 0]
    return walk, least[walk], position


def _walk_coordinates(
    ends: _Ends, walk: np.ndarray, position: np.ndarray, states: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the lines entered by `states`, walk by walk in walking order.

    A line entered by its end (state ``n + k``) is walked backwards; every line but a
    walk's first drops its first vertex (the previous line's last). Returns the vertices
    and each one's walk (numbered in order of the walks' ids).
    """
    n = len(ends.counts)
    states = states[np.lexsort((position[states], walk[states]))]
    line = np.where(states < n, states, states - n)
    new_walk = np.r_[True, walk[states][1:] != walk[states][:-1]]
    skip = (~new_walk).astype(np.int64)
    take = ends.counts[line] - skip
    offset = np.arange(int(take.sum())) - np.repeat(np.cumsum(take) - take, take)
    offset += np.repeat(skip, take)
    vertex = np.where(
        np.repeat(states < n, take),
        np.repeat(ends.first[line], take) + offset,
        np.repeat(ends.last[line], take) - offset,
    )
    return ends.coords[vertex], np.repeat(np.cumsum(new_walk) - 1, take)


def _chains(geometries: np.ndarray) -> np.ndarray:
    """Join lines end to end through every shared point into long chains.

    At each point where ``d`` line ends meet, the ends are sorted by the direction they
    leave in and each is paired with the one ``d // 2`` places on (its straightest
    continuation where ways cross; an odd end out and a lone end stay chain ends). Each
    line is then linked to the lines its ends are paired with, so chains are the paths
    and cycles of those links: each is walked once (one direction: the one entering
    through its least end index), ranked along the walk by pointer doubling, and its
    lines' vertices are concatenated in that order, reversed where a line is walked
    backwards. The union of the chains' buffers is that of the lines' buffers: a round
    join is the disc both caps drew. Points pass through unchanged.
    """
    is_line = shapely.get_type_id(geometries) == shapely.GeometryType.LINESTRING
    lines = geometries[is_line]
    others: np.ndarray = geometries[~is_line]
    n = len(lines)
    if n == 0:
        return others
    ends = _Ends(lines)
    order, rank, degree = ends.order, ends.rank, ends.degree
    pairs = np.flatnonzero(rank < degree // 2)
    partner = np.full(2 * n, -1)
    partner[order[pairs]] = order[pairs + degree[pairs] // 2]
    partner[order[pairs + degree[pairs] // 2]] = order[pairs]
    # A walk enters a line through one end and leaves through the other, into the line
    # whose end is paired with that one; each chain is walked both ways: keep one.
    walk, least, position = _walks(partner[ends.opposite])
    kept = np.flatnonzero(least < least[ends.opposite])
    xy, chain = _walk_coordinates(ends, walk, position, kept)
    chained = shapely.linestrings(xy, indices=chain)
    return np.concatenate([np.asarray(chained, dtype=object), others])


def _as_area(geometry: shapely.Geometry) -> shapely.Polygon | shapely.MultiPolygon:
    if isinstance(geometry, shapely.Polygon | shapely.MultiPolygon):
        return geometry
    if isinstance(geometry, shapely.GeometryCollection):  # empty, or an overlay's leftovers
        parts = [g for g in shapely.get_parts(geometry) if isinstance(g, shapely.Polygon)]
        if parts:
            return shapely.MultiPolygon(parts) if len(parts) > 1 else parts[0]
    return shapely.Polygon()  # only empty inputs (degenerate lines) get here


def _dissolve(
    geometries: np.ndarray, buffer_m: float, *, threads: int = 1
) -> shapely.Polygon | shapely.MultiPolygon:
    """Buffer lines and points by `buffer_m` and dissolve them into one (multi)polygon.

    Lines are joined into long chains (:func:`_chains`), buffered and unioned. From
    :data:`_TILED_MIN` geometries on, that is done by the :data:`_TILE_M` tile their
    lower-left corner falls in, `threads` tiles at a time, and the tiles' areas are
    unioned last (they overlap where lines cross a tile's side, which the union absorbs;
    see :func:`_union_tiles`): the fastest exact option measured (module docstring).
    """
    if len(geometries) < _TILED_MIN:
        return _dissolve_tile(geometries, buffer_m)
    groups = _tiles(geometries)
    workers = min(threads, len(groups))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return _start_dissolve(geometries, buffer_m, pool, groups)()
    return _union_tiles([_dissolve_tile(geometries[members], buffer_m) for members in groups])


def _start_dissolve(
    geometries: np.ndarray,
    buffer_m: float,
    pool: ThreadPoolExecutor,
    groups: list[np.ndarray] | None = None,
) -> Callable[[], shapely.Polygon | shapely.MultiPolygon]:
    """:func:`_dissolve` with its tiles drawn by `pool`'s threads, after what it holds.

    Returns at once a function that waits for the tiles and unions them: meanwhile the
    caller can hand the pool the next area's tiles, so the cores keep busy during that
    last union, which runs in one thread.
    """
    if groups is None:
        small = len(geometries) < _TILED_MIN
        groups = [np.arange(len(geometries))] if small else _tiles(geometries)
    drawn = [pool.submit(_dissolve_tile, geometries[members], buffer_m) for members in groups]
    return lambda: _union_tiles([future.result() for future in drawn])


def _tiles(geometries: np.ndarray) -> list[np.ndarray]:
    """Indices of `geometries` by the :data:`_TILE_M` tile their lower-left corner is in."""
    corner = shapely.bounds(geometries)[:, :2]
    tile = np.floor((corner - corner.min(axis=0)) / _TILE_M).astype(np.int64)
    key = tile[:, 0] * (int(tile[:, 1].max()) + 1) + tile[:, 1]
    order = np.argsort(key, kind="stable")
    cuts = np.flatnonzero(np.diff(key[order])) + 1
    return np.split(order, cuts)


def _dissolve_tile(
    geometries: np.ndarray, buffer_m: float
) -> shapely.Polygon | shapely.MultiPolygon:
    """Geometries chained, buffered and unioned in one piece."""
    return _union_buffers(_chains(geometries), buffer_m)


def _union_buffers(
    geometries: np.ndarray, buffer_m: float
) -> shapely.Polygon | shapely.MultiPolygon:
    """The union of the geometries' buffers (GEOS calls only)."""
    if len(geometries) == 0:
        return shapely.Polygon()
    return _as_area(shapely.union_all(shapely.buffer(geometries, buffer_m)))


def _union_tiles(
    areas: list[shapely.Polygon | shapely.MultiPolygon],
) -> shapely.Polygon | shapely.MultiPolygon:
    """The union of the tiles' areas: those that touch no other tile's pass through.

    ``shapely.disjoint_subset_union_all`` (shapely >= 2.1) unions each group of touching
    areas on its own: on a 500,000-node grid 0.4-0.5 s instead of 0.7-0.9 s.
    """
    if len(areas) == 1:
        return areas[0]
    union = getattr(shapely, "disjoint_subset_union_all", shapely.union_all)
    return _as_area(union(np.asarray(areas, dtype=object)))


def unreached(reach: EdgeReach) -> EdgeReach:
    """The parts of edges not in `reach`: its complement on the network.

    Gaps shorter than a millimetre (between intervals, or at an edge's ends) are left
    out; they lie within a millimetre of a reached part.

    Parameters
    ----------
    reach
        Merged reachable intervals.

    Returns
    -------
    EdgeReach
        Intervals sorted by edge and start, covering every edge's length with `reach`.
    """
    edge, start, end = reach.edge, reach.start_m, reach.end_m
    length = reach.edge_length_m
    first = np.r_[True, edge[1:] != edge[:-1]]
    last = np.r_[edge[1:] != edge[:-1], True]
    touched = np.zeros(len(length), dtype=bool)
    touched[edge] = True
    untouched = np.flatnonzero(~touched)
    gap_edge = np.concatenate([edge[first], edge[~last], edge[last], untouched])
    gap_start = np.concatenate(
        [np.zeros(int(first.sum())), end[~last], end[last], np.zeros(len(untouched))]
    )
    gap_end = np.concatenate(
        [start[first], start[1:][~first[1:]], length[edge[last]], length[untouched]]
    )
    keep = gap_end - gap_start >= _SPOT_M
    gap_edge, gap_start, gap_end = gap_edge[keep], gap_start[keep], gap_end[keep]
    order = np.lexsort((gap_start, gap_edge))
    return EdgeReach(gap_edge[order], gap_start[order], gap_end[order], length)


class ServiceAreaBuilder:
    """Draws service areas on one compact graph, keeping what later calls can reuse.

    Keep one per :class:`~circle.access.CompactGraph` and buffer (a study and all its
    scenarios share their graph): it keeps the dissolved buffer of every edge, built on
    first use, and the last :data:`_MEMO_SIZE` areas by the exact reach they were drawn
    from, so a scenario that leaves a category's facilities, threshold and walking speed
    unchanged gets that category's polygon back without drawing it again.

    Method
    ------
    An area is the union of the buffered reachable lines (:func:`reachable_lines`),
    joined into long chains before buffering (module docstring). When most of the
    network is reached, the complement is cheaper and gives the same area: the buffer
    of all edges, minus the buffer of the unreached lines (:func:`unreached`), plus the
    buffer of the reached lines within ``2 * buffer_m`` of an unreached one (the only
    reached lines whose buffers the subtraction cuts into).

    Parameters
    ----------
    graph
        The compact graph the reaches are computed on.
    buffer_m
        Metres drawn on each side of the reachable ways.
    threads
        Tiles of an area dissolved at the same time (default: one per CPU, at most
        :data:`_MAX_THREADS`); the result does not depend on it.

    Raises
    ------
    InputError
        `buffer_m` is not a positive number, or `threads` is below 1.

    Examples
    --------
    A caller that answers several questions on one graph makes the builder once and
    passes it to every call (a study keeps it next to its compiled graph, and hands the
    same builder to the scenarios that share that graph)::

        builder = ServiceAreaBuilder(model.graph)
        base = service_areas(model, builder=builder)
        changed = service_areas(scenario_model, builder=builder)  # unchanged: reused
    """

    def __init__(
        self,
        graph: CompactGraph,
        *,
        buffer_m: float = SERVICE_AREA_BUFFER_M,
        threads: int | None = None,
    ) -> None:
        self.graph = graph
        self.buffer_m = _check_buffer_m(buffer_m)
        if threads is None:
            threads = min(os.cpu_count() or 1, _MAX_THREADS)
        if threads < 1:
            msg = f"`threads` must be at least 1, got {threads}."
            raise InputError(msg)
        self.threads = int(threads)
        self._all_edges: shapely.Polygon | shapely.MultiPolygon | None = None
        self._memo: dict[bytes, shapely.Polygon | shapely.MultiPolygon] = {}
        self._edge_vertices: np.ndarray | None = None
        self._lock = threading.Lock()
        self._tiles_alone = threading.local()  # set while a thread draws one of several areas

    @property
    def all_edges_area(self) -> shapely.Polygon | shapely.MultiPolygon:
        """The buffer of every edge, dissolved (built once, on first use)."""
        with self._lock:  # drawn once even when threads ask together
            if self._all_edges is None:
                self._all_edges = self._dissolve(self.graph.edge_geometry)
            return self._all_edges

    def area(self, reach: EdgeReach) -> shapely.Polygon | shapely.MultiPolygon:
        """The service area of a reach: its reachable lines buffered and dissolved.

        Parameters
        ----------
        reach
            Merged reachable intervals on :attr:`graph`
            (:meth:`circle.access.NodeAccess.edge_reach`).

        Returns
        -------
        shapely.Polygon or shapely.MultiPolygon
            In the graph's metric CRS; empty when nothing is reached.
        """
        key = _reach_key(reach)
        return self._remember(key, self._memo[key] if key in self._memo else self._draw(reach))

    def areas(self, reaches: list[EdgeReach]) -> list[shapely.Polygon | shapely.MultiPolygon]:
        """The service areas of several reaches (each drawn once, see :meth:`area`).

        Parameters
        ----------
        reaches
            Merged reachable intervals on :attr:`graph`.

        Returns
        -------
        list of shapely.Polygon or shapely.MultiPolygon
            In the order of `reaches`.
        """
        return self.start_areas(reaches)()

    def start_areas(
        self, reaches: list[EdgeReach]
    ) -> Callable[[], list[shapely.Polygon | shapely.MultiPolygon]]:
        """Start drawing the service areas of several reaches; call the result for them.

        On graphs of up to :data:`_AREAS_IN_THREADS_EDGES_MAX` edges the areas are drawn
        in the background by one thread fewer than :attr:`threads` (at least one): this
        returns at once, and the caller's Python code (writing report files) runs
        meanwhile on the core left to it. When the caller waits, it draws the areas no
        thread has begun, beside the threads. Lines are chained here, so those threads
        only call GEOS, which lets go of the GIL, and keep their pace beside that code.
        Larger graphs are drawn before this returns, one area at a time with its tiles
        side by side (GEOS's working memory then grows with the threads' tiles, not with
        the number of categories), each area's last union running while the next area's
        tiles are drawn: they keep every core busy.

        Parameters
        ----------
        reaches
            Merged reachable intervals on :attr:`graph`.

        Returns
        -------
        callable
            Waits for the areas and returns them (the same as :meth:`areas`), in the
            order of `reaches`.
        """
        keys = [_reach_key(reach) for reach in reaches]
        done = {key: self._memo[key] for key in keys if key in self._memo}
        todo = {key: reach for key, reach in zip(keys, reaches, strict=True) if key not in done}

        def finish(
            drawn: dict[bytes, shapely.Polygon | shapely.MultiPolygon],
        ) -> list[shapely.Polygon | shapely.MultiPolygon]:
            done.update(drawn)
            return [self._remember(key, done[key]) for key in keys]

        if not todo or self.threads == 1:
            return lambda: finish({key: self._draw(reach) for key, reach in todo.items()})
        if self.graph.n_edges > _AREAS_IN_THREADS_EDGES_MAX:
            with ThreadPoolExecutor(max_workers=self.threads) as tiles:
                started = [(key, self._start_draw(reach, tiles)) for key, reach in todo.items()]
                drawn = {key: wait() for key, wait in started}
            return lambda: finish(drawn)
        return self._start_in_background(todo, finish)

    def _start_in_background(
        self,
        todo: dict[bytes, EdgeReach],
        finish: Callable[
            [dict[bytes, shapely.Polygon | shapely.MultiPolygon]],
            list[shapely.Polygon | shapely.MultiPolygon],
        ],
    ) -> Callable[[], list[shapely.Polygon | shapely.MultiPolygon]]:
        """:meth:`start_areas` on a small graph: areas drawn beside the caller's work.

        Each area is drawn whole by one thread, its tiles (if any) one at a time; a single
        area's tiles may still use every thread. One thread fewer than :attr:`threads`
        draws in the background (at least one), and the caller, once it waits, draws the
        areas no thread has begun.
        """
        jobs = deque((key, self._prepare(reach)) for key, reach in todo.items())
        drawn: dict[bytes, shapely.Polygon | shapely.MultiPolygon] = {}

        # With several areas, each one's tiles are drawn one at a time, by the threads and
        # by the caller alike (the caller's own pool of tile threads oversubscribed the
        # cores: on a 150,000-node grid the 4 areas took 4.6 s instead of 3.9 s).
        tiles_alone = len(todo) > 1

        def work() -> None:
            before = getattr(self._tiles_alone, "value", False)
            self._tiles_alone.value = tiles_alone
            try:
                while True:
                    try:
                        key, job = jobs.popleft()  # atomic: each area is taken once
                    except IndexError:
                        return
                    drawn[key] = job()
            finally:
                self._tiles_alone.value = before

        workers = min(len(jobs), max(self.threads - 1, 1))
        pool = ThreadPoolExecutor(max_workers=workers)
        running = [pool.submit(work) for _ in range(workers)]

        def wait() -> list[shapely.Polygon | shapely.MultiPolygon]:
            try:
                work()  # the areas no thread has begun
                for future in running:
                    future.result()
                return finish(drawn)
            finally:
                pool.shutdown()

        return wait

    def _prepare(self, reach: EdgeReach) -> Callable[[], shapely.Polygon | shapely.MultiPolygon]:
        """What draws `reach`'s area, its lines found.

        An area drawn directly in one piece gets its lines chained here, so what is left
        to do only calls GEOS (:meth:`start_areas`).
        """
        lines = reachable_lines(self.graph, reach)
        direct = self._mostly_unreached(reach)
        if direct and 0 < len(lines) < _TILED_MIN:
            return partial(_union_buffers, _chains(lines), self.buffer_m)
        return partial(self._draw_lines, reach, lines, direct=direct)

    def _remember(
        self, key: bytes, area: shapely.Polygon | shapely.MultiPolygon
    ) -> shapely.Polygon | shapely.MultiPolygon:
        """Keep `area` under `key` as the most recently used, forgetting the oldest."""
        self._memo.pop(key, None)
        if len(self._memo) >= _MEMO_SIZE:
            del self._memo[next(iter(self._memo))]
        self._memo[key] = area
        return area

    def _dissolve(self, geometries: np.ndarray) -> shapely.Polygon | shapely.MultiPolygon:
        alone = getattr(self._tiles_alone, "value", False)
        return _dissolve(geometries, self.buffer_m, threads=1 if alone else self.threads)

    def _mostly_unreached(self, reach: EdgeReach) -> bool:
        """Whether the unreached lines clearly hold too many vertices for the complement.

        An estimate from each edge's vertices, shared out along its length (the exact
        count differs by a few per cent at most); the exact counts decide the rest
        (:meth:`_draw`).
        """
        if self._edge_vertices is None:
            self._edge_vertices = shapely.get_num_coordinates(self.graph.edge_geometry)
        vertices = self._edge_vertices
        length = reach.edge_length_m[reach.edge]
        share = (reach.end_m - reach.start_m) / np.where(length > 0, length, 1.0)
        reached = float(np.dot(vertices[reach.edge], np.clip(share, 0.0, 1.0)))
        rest = float(vertices.sum()) - reached
        return rest > _COMPLEMENT_SHARE * reached

    def _start_draw(
        self, reach: EdgeReach, pool: ThreadPoolExecutor
    ) -> Callable[[], shapely.Polygon | shapely.MultiPolygon]:
        """:meth:`_draw`, its tiles handed to `pool` when the area is drawn directly.

        Returns a function that waits for the area (:func:`_start_dissolve`); an area that
        may be drawn by complement is drawn before this returns.
        """
        lines = reachable_lines(self.graph, reach)
        if self._mostly_unreached(reach):
            return _start_dissolve(lines, self.buffer_m, pool)
        area = self._draw_lines(reach, lines, direct=False)
        return lambda: area

    def _draw(self, reach: EdgeReach) -> shapely.Polygon | shapely.MultiPolygon:
        return self._prepare(reach)()

    def _draw_lines(
        self, reach: EdgeReach, lines: np.ndarray, *, direct: bool
    ) -> shapely.Polygon | shapely.MultiPolygon:
        """`reach`'s area from its reachable `lines`: directly, or by complement.

        `direct` is :meth:`_mostly_unreached` of `reach`: then the unreached lines are not
        even drawn to compare.
        """
        if len(lines) == 0:
            return shapely.Polygon()
        if direct:
            return self._dissolve(lines)
        rest = reachable_lines(self.graph, unreached(reach))
        if len(rest) == 0:
            return self.all_edges_area
        reached_vertices = int(shapely.get_num_coordinates(lines).sum())
        rest_vertices = int(shapely.get_num_coordinates(rest).sum())
        if rest_vertices > _COMPLEMENT_SHARE * reached_vertices:
            return self._dissolve(lines)
        near = np.unique(
            shapely.STRtree(rest).query(lines, predicate="dwithin", distance=2 * self.buffer_m)[0]
        )
        near_vertices = int(shapely.get_num_coordinates(lines[near]).sum())
        if rest_vertices + near_vertices > _COMPLEMENT_SHARE * reached_vertices:
            return self._dissolve(lines)
        logger.debug(
            "service area by complement: %d unreached and %d near lines instead of %d",
            len(rest),
            len(near),
            len(lines),
        )
        outside = self._dissolve(rest)
        inner = shapely.difference(self.all_edges_area, outside)
        area = shapely.union(inner, self._dissolve(lines[near]))
        # Where the two buffers' boundaries coincide, the subtraction can leave slivers
        # (rounding); every true part holds a whole buffer disc, so smaller parts go.
        parts = shapely.get_parts(area)
        kept = parts[shapely.area(parts) >= 0.5 * math.pi * self.buffer_m**2]
        if len(kept) == 1:
            return _as_area(kept[0])
        return shapely.MultiPolygon(list(kept)) if len(kept) else shapely.Polygon()


def _reach_key(reach: EdgeReach) -> bytes:
    """A digest of a reach's intervals (the same reach draws the same area)."""
    digest = hashlib.blake2b(digest_size=20)
    for array in (reach.edge, reach.start_m, reach.end_m):
        contiguous = np.ascontiguousarray(array)
        digest.update(str(contiguous.dtype).encode())
        digest.update(contiguous.tobytes())
    return digest.digest()


def _check_buffer_m(buffer_m: float) -> float:
    if not (math.isfinite(buffer_m) and buffer_m > 0):
        msg = f"`buffer_m` must be a positive number of metres, got `{buffer_m}`."
        raise InputError(msg)
    return float(buffer_m)


def _check_builder(
    model: AccessModel, buffer_m: float, builder: ServiceAreaBuilder | None
) -> ServiceAreaBuilder:
    buffer_m = _check_buffer_m(buffer_m)
    if builder is None:
        return ServiceAreaBuilder(model.graph, buffer_m=buffer_m)
    if builder.graph is not model.graph:
        msg = (
            "`builder` was made for another graph; make one with `ServiceAreaBuilder(model.graph)`."
        )
        raise InputError(msg)
    if builder.buffer_m != buffer_m:
        msg = f"`builder` draws {builder.buffer_m:g} m buffers, not `buffer_m` = {buffer_m:g}."
        raise InputError(msg)
    return builder


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
    builder: ServiceAreaBuilder | None = None,
) -> shapely.Polygon | shapely.MultiPolygon:
    """The area within walking reach of `category`'s nearest facility, as one polygon.

    The reachable parts of edges (partly reachable edges cut at the exact distance, see
    :func:`reachable_lines`) are buffered by `buffer_m` and dissolved (module docstring,
    :class:`ServiceAreaBuilder`).

    Parameters
    ----------
    model
        The travel-time model.
    category
        One of ``model.categories``.
    buffer_m
        Metres drawn on each side of the reachable ways (round caps and joins).
    builder
        A :class:`ServiceAreaBuilder` on ``model.graph`` to draw with and keep for later
        calls (default: a new one, used once); its ``buffer_m`` must be `buffer_m`.

    Returns
    -------
    shapely.Polygon or shapely.MultiPolygon
        In the network's metric CRS; an empty polygon when the category has no
        on-network facility.

    Raises
    ------
    InputError
        `category` is not in the model, `buffer_m` is not a positive number, or
        `builder` was made for another graph or buffer.
    """
    chosen = _check_builder(model, buffer_m, builder)
    _check_categories(model, [category])
    access = model.by_category[category]
    if len(access.sources) == 0:
        return shapely.Polygon()
    # A step-free category's graph has the same edges (its steps are impassable, so they
    # are never in its reach): the study's builder draws it from the reach alone.
    return chosen.area(access.edge_reach(model.budget_m(category)))


def service_areas(
    model: AccessModel,
    *,
    buffer_m: float = SERVICE_AREA_BUFFER_M,
    categories: Iterable[str] | None = None,
    crs: Any = "EPSG:4326",
    builder: ServiceAreaBuilder | None = None,
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
    builder
        A :class:`ServiceAreaBuilder` on ``model.graph`` to draw with and keep: a study
        keeps one for all its scenarios, so unchanged categories are not drawn again.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``category, threshold_min, speed_kmh, area_km2, geometry``, one row per
        category in ``model.categories`` order; ``area_km2`` is measured in the network's
        metric CRS.

    Raises
    ------
    InputError
        A category is not in the model, `buffer_m` is not a positive number, or `builder`
        was made for another graph or buffer.
    """
    return start_service_areas(
        model, buffer_m=buffer_m, categories=categories, crs=crs, builder=builder
    )()


def start_service_areas(
    model: AccessModel,
    *,
    buffer_m: float = SERVICE_AREA_BUFFER_M,
    categories: Iterable[str] | None = None,
    crs: Any = "EPSG:4326",
    builder: ServiceAreaBuilder | None = None,
) -> Callable[[], gpd.GeoDataFrame]:
    """Start drawing :func:`service_areas`; call the result to wait for the frame.

    The drawing may go on in the background while the caller runs other code (see
    :meth:`ServiceAreaBuilder.start_areas`); the frame is the one :func:`service_areas`
    returns. Bad arguments raise here, before anything is drawn.
    """
    drawer = _check_builder(model, buffer_m, builder)
    chosen = _check_categories(model, model.categories if categories is None else categories)
    reaches = {
        c: model.by_category[c].edge_reach(model.budget_m(c))
        for c in chosen
        if len(model.by_category[c].sources)
    }
    wait = drawer.start_areas(list(reaches.values()))

    def frame() -> gpd.GeoDataFrame:
        by_category = dict(zip(reaches, wait(), strict=True))
        geometry = gpd.GeoSeries(
            [by_category.get(c, shapely.Polygon()) for c in chosen], crs=model.graph.crs
        )
        table = gpd.GeoDataFrame(
            {
                "category": chosen,
                "threshold_min": [round(model.threshold_minutes(c), 2) for c in chosen],
                "speed_kmh": [model.profile_for(c).speed_kmh for c in chosen],
                "area_km2": geometry.area.to_numpy() / 1e6,
            },
            geometry=geometry,
            columns=_AREA_COLUMNS,
        )
        return table if crs is None else table.to_crs(crs)

    return frame


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
