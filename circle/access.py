"""Travel-time engine: compact graph, snapping points to edges, bounded multi-source Dijkstra.

Method
------
The walking network is compiled once into a compact graph: nodes numbered ``0..n-1`` and a
symmetric ``scipy.sparse`` CSR matrix of edge lengths in metres (the shortest of parallel
edges). Every edge keeps its line geometry for snapping.

A point (a facility, a person, a population point) joins the network at the nearest point of
the nearest edge. The straight line from the point to that spot (the *access leg*) is walked
at the same speed as the network and counts toward the time. Points farther than
``max_snap_m`` from every edge are *off-network*: they are reported, never used.

For each category there is ONE multi-source Dijkstra: a virtual source per facility is joined
to the two end nodes of the facility's edge, with weights ``leg + distance along the edge to
that node``, and ``scipy.sparse.csgraph.dijkstra(min_only=True)`` returns for every node the
distance to the nearest facility and which facility it is, bounded by ``limit_m`` (nodes
beyond it are ``inf``). A point on edge ``(u, v)`` at ``offset`` metres from ``u`` is then
``leg + min(d[u] + offset, d[v] + (length - offset))`` from the nearest facility, or, when a
facility sits on the same edge, the direct walk along that edge if it is shorter. Times are
distances divided by the walking speed; a time equal to the threshold counts as reached.

Slopes (directed costs)
-----------------------
With a DEM (:mod:`circle.terrain`) walking an edge costs different times in its two
directions. The engine keeps working in metres: each direction of an edge carries a *rate*,
the flat-equivalent metres per metre walked (the time at the edge's speed x the flat speed;
``1.0`` on the flat), held in :class:`EdgeRates`. Budgets, limits and thresholds stay in
metres at the flat speed. The time that counts is from the home to the facility, so the search
runs from the facilities on the reversed graph: the search matrix holds, for ``[a, b]``, the
cost of walking ``b -> a``. A part of an edge costs its share of the edge's directed cost
(metres x rate: the part keeps the edge's grade); access legs are walked at the flat speed.
Without rates every rate is exactly ``1.0`` and every result is exactly the flat one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from circle.errors import InputError
from circle.walking import check_max_snap_m

if TYPE_CHECKING:
    import geopandas as gpd

    from circle.network import WalkNetwork

__all__ = [
    "CompactGraph",
    "EdgeRates",
    "EdgeReach",
    "NodeAccess",
    "Snap",
    "nearest_facilities",
    "pair_distances",
]

#: Distances within this many metres of a budget count as inside it (floating-point sums of
#: edge lengths must not push a time that equals the threshold just past it).
BUDGET_TOLERANCE_M = 1e-6


@dataclass(frozen=True, eq=False)
class Snap:
    """Where points join the network.

    Attributes
    ----------
    edge
        Index of the edge (row of :attr:`CompactGraph.edge_u`), ``-1`` when off-network.
    offset_m
        Metres along the edge from its ``u`` end to the joining spot.
    leg_m
        Straight-line access leg from the point to the joining spot, metres.
    """

    edge: np.ndarray
    offset_m: np.ndarray
    leg_m: np.ndarray

    @property
    def on_network(self) -> np.ndarray:
        """True where the point joined the network."""
        return np.asarray(self.edge >= 0)

    def subset(self, mask: np.ndarray) -> Snap:
        """The snaps of the points selected by a boolean or integer index."""
        return Snap(self.edge[mask], self.offset_m[mask], self.leg_m[mask])

    def __len__(self) -> int:
        return len(self.edge)


@dataclass(frozen=True, eq=False)
class EdgeRates:
    """Directed walking cost of every edge, in flat-equivalent metres per metre.

    A rate is the time to walk one metre of the edge in that direction divided by the time
    to walk one metre on the flat (``1.0`` on the flat, ``2.0`` where walking is half as
    fast). Build them with :func:`circle.terrain.edge_costs`.

    Attributes
    ----------
    forward
        Per edge, the rate walking from its ``u`` end to its ``v`` end.
    backward
        Per edge, the rate walking from ``v`` to ``u``.
    passable
        Per edge, False where the edge cannot be walked at all (steps for a step-free
        route); such edges are left out of the search and nothing snaps to them.
    """

    forward: np.ndarray
    backward: np.ndarray
    passable: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.forward)
        if len(self.backward) != n or len(self.passable) != n:
            msg = "`forward`, `backward` and `passable` must have one value per edge."
            raise ValueError(msg)
        for name, rate in (("forward", self.forward), ("backward", self.backward)):
            used = rate[self.passable]
            if not (np.isfinite(used).all() and (used > 0).all()):
                msg = f"`{name}` rates of passable edges must be positive and finite."
                raise ValueError(msg)

    @classmethod
    def flat(cls, n_edges: int) -> EdgeRates:
        """Rates of ``1.0`` both ways on `n_edges` passable edges (the flat engine)."""
        ones = np.ones(n_edges)
        return cls(ones, ones, np.ones(n_edges, dtype=bool))

    @property
    def is_flat(self) -> bool:
        """True when every edge is passable and walked at ``1.0`` both ways."""
        return bool(
            self.passable.all() and (self.forward == 1.0).all() and (self.backward == 1.0).all()
        )


class CompactGraph:
    """The walking network compiled once into arrays for fast repeated searches.

    Parameters
    ----------
    network
        The walking network (metric CRS).
    rates
        Directed edge rates (see :class:`EdgeRates` and :mod:`circle.terrain`); default
        flat, which gives exactly the symmetric engine.
    """

    def __init__(self, network: WalkNetwork, *, rates: EdgeRates | None = None) -> None:
        node_ids = network.nodes.index.to_numpy(np.int64)
        index = pd.Index(node_ids)
        edges = network.edges
        self.crs = network.crs
        self.node_ids = node_ids
        self.n_nodes = len(node_ids)
        self.edge_u = index.get_indexer(edges["u"].to_numpy(np.int64)).astype(np.int64)
        self.edge_v = index.get_indexer(edges["v"].to_numpy(np.int64)).astype(np.int64)
        if (self.edge_u < 0).any() or (self.edge_v < 0).any():
            msg = "network edges refer to nodes that are not in the node table."
            raise InputError(msg)
        self.edge_length_m = edges["length_m"].to_numpy(float)
        self.edge_geometry = np.asarray(edges.geometry.array, dtype=object)
        # The geometry's planar length may differ slightly from the way's metric length;
        # offsets are measured on the geometry then scaled to `length_m`.
        self._geometry_length = shapely.length(self.edge_geometry)
        dropped = network.dropped_ways
        #: The walkable ways of the disconnected pieces the network left out (see
        #: :attr:`circle.network.WalkNetwork.dropped_ways`).
        self.dropped_way_geometry = np.asarray(
            [] if dropped is None else dropped.array, dtype=object
        )
        self._set_rates(EdgeRates.flat(len(self.edge_u)) if rates is None else rates)

    def _set_rates(self, rates: EdgeRates) -> None:
        if len(rates.forward) != len(self.edge_u):
            msg = f"`rates` has {len(rates.forward)} edges; the graph has {len(self.edge_u)}."
            raise ValueError(msg)
        self.rates = rates
        passable = rates.passable
        self._flat = rates.is_flat
        self._all_passable = bool(passable.all())
        inf = np.full(len(passable), np.inf)
        #: Per edge, flat-equivalent metres per metre walking u -> v (inf: impassable).
        self.rate_forward = np.where(passable, rates.forward, inf)
        #: Per edge, flat-equivalent metres per metre walking v -> u (inf: impassable).
        self.rate_backward = np.where(passable, rates.backward, inf)
        self._snappable = np.flatnonzero(passable)
        self._tree = shapely.STRtree(self.edge_geometry[self._snappable])
        #: The search matrix: ``csr[a, b]`` is the cost of walking ``b -> a`` (symmetric
        #: when flat), so a search from facilities gives each node its cost to walk there.
        self.csr = _search_csr(
            self.edge_u[passable],
            self.edge_v[passable],
            self.edge_length_m[passable] * rates.forward[passable],
            self.edge_length_m[passable] * rates.backward[passable],
            self.n_nodes,
        )

    def with_rates(self, rates: EdgeRates | None) -> CompactGraph:
        """A copy of this graph with other edge rates (``None``: flat).

        Only the search matrix (and the snapping index when passable edges differ) is
        rebuilt; node and edge arrays are shared. With the same passable edges, snaps made on
        one graph are valid on the other.
        """
        other = copy.copy(self)
        other._set_rates(EdgeRates.flat(self.n_edges) if rates is None else rates)
        return other

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return len(self.edge_u)

    @property
    def directed(self) -> bool:
        """True when some edge costs differ by direction or some edge is impassable."""
        return not self.rates.is_flat

    def cost_to_u(self, edge: np.ndarray, offset_m: np.ndarray) -> np.ndarray:
        """Flat-equivalent metres from the spot `offset_m` along `edge` to its ``u`` end."""
        if self._flat:
            return np.asarray(offset_m)
        return self._scaled(offset_m, self.rate_backward[edge])

    def cost_to_v(self, edge: np.ndarray, offset_m: np.ndarray) -> np.ndarray:
        """Flat-equivalent metres from the spot `offset_m` along `edge` to its ``v`` end."""
        if self._flat:
            return np.asarray(self.edge_length_m[edge] - offset_m)
        return self._scaled(self.edge_length_m[edge] - offset_m, self.rate_forward[edge])

    def cost_along(self, edge: np.ndarray, from_m: np.ndarray, to_m: np.ndarray) -> np.ndarray:
        """Flat-equivalent metres walking along `edge` from offset `from_m` to `to_m`."""
        if self._flat:
            return np.asarray(np.abs(to_m - from_m))
        forward = to_m >= from_m
        rate = np.where(forward, self.rate_forward[edge], self.rate_backward[edge])
        return self._scaled(np.abs(to_m - from_m), rate)

    def _scaled(self, metres: np.ndarray, rate: np.ndarray) -> np.ndarray:
        """``metres x rate``, ``inf`` wherever the rate is (impassable, even for 0 metres)."""
        if self._all_passable:
            return np.asarray(metres * rate)
        impassable = np.isinf(rate)
        return np.where(impassable, np.inf, metres * np.where(impassable, 1.0, rate))

    def snap(self, points: gpd.GeoSeries | np.ndarray, *, max_snap_m: float) -> Snap:
        """Join points to the nearest point of the nearest edge.

        Parameters
        ----------
        points
            Point geometries in the network's CRS.
        max_snap_m
            Points farther than this from every edge are off-network (``edge == -1``).
            Impassable edges (see :class:`EdgeRates`) are never joined.

        Returns
        -------
        Snap
        """
        check_max_snap_m(max_snap_m)
        geoms = np.asarray(getattr(points, "array", points), dtype=object)
        n = len(geoms)
        edge = np.full(n, -1, dtype=np.int64)
        offset = np.zeros(n)
        leg = np.full(n, np.inf)
        if n == 0:
            return Snap(edge, offset, leg)
        point_idx, edge_idx = self._tree.query_nearest(
            geoms, max_distance=max_snap_m, all_matches=True
        )
        if len(point_idx):
            # Several equally near edges: keep the lowest edge index, deterministically.
            order = np.lexsort((edge_idx, point_idx))
            point_idx, edge_idx = point_idx[order], edge_idx[order]
            first = np.r_[True, point_idx[1:] != point_idx[:-1]]
            point_idx, edge_idx = point_idx[first], self._snappable[edge_idx[first]]
            lines = self.edge_geometry[edge_idx]
            along = shapely.line_locate_point(lines, geoms[point_idx])
            geom_len = self._geometry_length[edge_idx]
            fraction = np.divide(along, geom_len, out=np.zeros_like(along), where=geom_len > 0)
            edge[point_idx] = edge_idx
            offset[point_idx] = np.clip(fraction, 0.0, 1.0) * self.edge_length_m[edge_idx]
            leg[point_idx] = shapely.distance(geoms[point_idx], lines)
        return Snap(edge, offset, leg)

    def distance_to_dropped_ways(self, points: gpd.GeoSeries | np.ndarray) -> np.ndarray:
        """Straight-line metres from each point to the nearest way of a disconnected piece.

        ``inf`` when the network left no piece out. A point off the network but beside such
        a way is not far from walking: it is cut off from the main network.
        """
        geoms = np.asarray(getattr(points, "array", points), dtype=object)
        out = np.full(len(geoms), np.inf)
        if len(geoms) == 0 or len(self.dropped_way_geometry) == 0:
            return out
        tree = shapely.STRtree(self.dropped_way_geometry)
        point_idx, way_idx = tree.query_nearest(geoms, all_matches=False)
        out[point_idx] = shapely.distance(geoms[point_idx], self.dropped_way_geometry[way_idx])
        return out

    def resnap(self, snap: Snap, points: gpd.GeoSeries | np.ndarray, *, max_snap_m: float) -> Snap:
        """Snaps made on a graph with the same edges, made valid on this one.

        A point joined to an edge that is impassable here (a staircase on a step-free
        graph) joins the nearest passable edge within `max_snap_m` instead, or goes
        off-network; every other snap is kept as it is (points sampled along a way keep
        their place on it).

        Parameters
        ----------
        snap
            The snaps, on a graph with this graph's edges (see :meth:`with_rates`).
        points
            The points, in the network's CRS, in the order of `snap`.
        max_snap_m
            The off-network cut-off.

        Returns
        -------
        Snap
            `snap` itself when no point needs to move.
        """
        on = snap.on_network
        moved = np.flatnonzero(on & ~self.rates.passable[np.where(on, snap.edge, 0)])
        if moved.size == 0:
            return snap
        geoms = np.asarray(getattr(points, "array", points), dtype=object)
        again = self.snap(geoms[moved], max_snap_m=max_snap_m)
        edge, offset, leg = snap.edge.copy(), snap.offset_m.copy(), snap.leg_m.copy()
        edge[moved], offset[moved], leg[moved] = again.edge, again.offset_m, again.leg_m
        return Snap(edge, offset, leg)

    def distance_to_network(self, points: gpd.GeoSeries | np.ndarray) -> np.ndarray:
        """Straight-line metres from each point to the nearest edge, however far."""
        geoms = np.asarray(getattr(points, "array", points), dtype=object)
        if len(geoms) == 0:
            return np.zeros(0)
        point_idx, edge_idx = self._tree.query_nearest(geoms, all_matches=False)
        edge_idx = self._snappable[edge_idx]
        out = np.full(len(geoms), np.inf)
        out[point_idx] = shapely.distance(geoms[point_idx], self.edge_geometry[edge_idx])
        return out


@dataclass(frozen=True, eq=False)
class NodeAccess:
    """Distances from every node to the nearest of a set of facilities.

    Attributes
    ----------
    graph
        The compact graph searched.
    sources
        Where the facilities join the network (on-network facilities only).
    distance_m
        Per node, metres to the nearest facility including the facility's access leg;
        ``inf`` beyond ``limit_m`` or unreachable. On a directed graph these are
        flat-equivalent metres walking from the node to the facility.
    facility
        Per node, the position (in `sources`) of that nearest facility; ``-1`` where none.
    limit_m
        The distance the search was bounded by.
    """

    graph: CompactGraph
    sources: Snap
    distance_m: np.ndarray
    facility: np.ndarray
    limit_m: float

    def to_points(self, points: Snap) -> tuple[np.ndarray, np.ndarray]:
        """Distance (metres) and nearest facility of snapped points.

        The distance includes the point's own access leg, the network walk and the
        facility's leg. Off-network points and points beyond ``limit_m`` get ``inf`` and
        ``-1``.

        Parameters
        ----------
        points
            Snapped points (see :meth:`CompactGraph.snap`).

        Returns
        -------
        distance_m, facility
            Arrays with one value per point.
        """
        g = self.graph
        n = len(points)
        best = np.full(n, np.inf)
        best_facility = np.full(n, -1, dtype=np.int64)
        on = np.flatnonzero(points.on_network)
        if on.size == 0:
            return best, best_facility
        e = points.edge[on]
        off = points.offset_m[on]
        u, v = g.edge_u[e], g.edge_v[e]
        via_u = self.distance_m[u] + g.cost_to_u(e, off)
        via_v = self.distance_m[v] + g.cost_to_v(e, off)
        dist = np.where(via_u <= via_v, via_u, via_v)
        fac = np.where(via_u <= via_v, self.facility[u], self.facility[v])
        # A facility on the same edge can be reached directly along it.
        direct_d, direct_f = _same_edge_direct(g, e, off, self.sources)
        better = direct_d < dist
        dist = np.where(better, direct_d, dist)
        fac = np.where(better, direct_f, fac)
        total = dist + points.leg_m[on]
        reached = total <= self.limit_m + BUDGET_TOLERANCE_M
        best[on] = np.where(reached, total, np.inf)
        best_facility[on] = np.where(reached, fac, -1)
        return best, best_facility

    def edge_reach(self, budget_m: float) -> EdgeReach:
        """The parts of edges within `budget_m` of the nearest facility.

        From each end node with distance ``d`` the walk goes ``budget_m - d`` metres into the
        edge; from a facility on the edge it goes ``budget_m - leg`` both ways. The union of
        those intervals is the reachable part of the edge; partly reachable edges are cut at
        the exact distance. On a directed graph the metres are flat-equivalent and each
        interval is the set of spots from which walking *to* the facility fits the budget.

        Parameters
        ----------
        budget_m
            The walking distance allowed (threshold x speed); at most ``limit_m``.

        Returns
        -------
        EdgeReach
        """
        if budget_m > self.limit_m + BUDGET_TOLERANCE_M:
            msg = f"`budget_m` ({budget_m}) exceeds the search limit ({self.limit_m})."
            raise ValueError(msg)
        g = self.graph
        budget = budget_m + BUDGET_TOLERANCE_M
        length = g.edge_length_m
        edges = np.arange(g.n_edges)
        passable = g.rates.passable
        # Budget left at each end, turned into metres of this edge walked toward that end.
        left_u = budget - self.distance_m[g.edge_u]
        left_v = budget - self.distance_m[g.edge_v]
        zero = np.zeros(g.n_edges)
        from_u = np.divide(left_u, g.rate_backward, out=zero.copy(), where=passable)
        from_v = np.divide(left_v, g.rate_forward, out=zero.copy(), where=passable)
        starts = [np.zeros(g.n_edges), length - np.minimum(from_v, length)]
        ends = [np.minimum(from_u, length), length]
        keep = [(left_u >= 0) & passable, (left_v >= 0) & passable]
        owners = [edges, edges]
        s = self.sources
        if len(s):
            reach = budget - s.leg_m
            ok = (reach >= 0) & passable[s.edge]
            e = s.edge[ok]
            starts.append(np.maximum(s.offset_m[ok] - reach[ok] / g.rate_forward[e], 0.0))
            ends.append(np.minimum(s.offset_m[ok] + reach[ok] / g.rate_backward[e], length[e]))
            keep.append(np.ones(len(e), dtype=bool))
            owners.append(e)
        mask = np.concatenate(keep)
        edge = np.concatenate(owners)[mask]
        start = np.concatenate(starts)[mask]
        end = np.concatenate(ends)[mask]
        return EdgeReach.from_intervals(edge, start, end, g.edge_length_m)


@dataclass(frozen=True, eq=False)
class EdgeReach:
    """Reachable intervals of edges, merged: ``[start_m, end_m]`` along edge ``edge``.

    Intervals are sorted by edge then start, never overlap, and lie inside ``[0, length]``.
    """

    edge: np.ndarray
    start_m: np.ndarray
    end_m: np.ndarray
    edge_length_m: np.ndarray

    @classmethod
    def from_intervals(
        cls, edge: np.ndarray, start: np.ndarray, end: np.ndarray, edge_length_m: np.ndarray
    ) -> EdgeReach:
        """Merge possibly overlapping intervals per edge (vectorised sweep)."""
        start = np.clip(start, 0.0, edge_length_m[edge])
        end = np.clip(end, 0.0, edge_length_m[edge])
        valid = end >= start
        edge, start, end = edge[valid], start[valid], end[valid]
        if edge.size == 0:
            empty = np.zeros(0)
            return cls(np.zeros(0, dtype=np.int64), empty, empty, edge_length_m)
        order = np.lexsort((start, edge))
        edge, start, end = edge[order], start[order], end[order]
        # Shift every edge into its own band of the real line so a single running maximum
        # sweeps all edges at once without mixing them.
        band = np.cumsum(np.r_[0.0, edge_length_m + 1.0])[edge]
        shifted_end = np.maximum.accumulate(end + band) - band
        prev_end = np.r_[-np.inf, shifted_end[:-1]]
        new_edge = np.r_[True, edge[1:] != edge[:-1]]
        opens = new_edge | (start > prev_end)
        group = np.cumsum(opens) - 1
        merged_edge = edge[opens]
        merged_start = start[opens]
        # The shifted running maximum only decides where intervals open; the ends come from
        # the original values, so no rounding from the shift reaches the results.
        merged_end = np.zeros(opens.sum())
        np.maximum.at(merged_end, group, end)
        return cls(merged_edge, merged_start, merged_end, edge_length_m)

    @property
    def length_m(self) -> np.ndarray:
        """Length of each merged interval, metres."""
        return np.asarray(self.end_m - self.start_m)

    @property
    def total_m(self) -> float:
        """Total reachable length, metres."""
        return float(self.length_m.sum())

    def per_edge_m(self) -> np.ndarray:
        """Reachable metres of every edge (zeros for unreached edges)."""
        out = np.zeros(len(self.edge_length_m))
        np.add.at(out, self.edge, self.length_m)
        return out


def nearest_facilities(
    graph: CompactGraph,
    sources: Snap,
    *,
    limit_m: float,
) -> NodeAccess:
    """Run one bounded multi-source Dijkstra from all facilities of one category.

    Parameters
    ----------
    graph
        The compact graph.
    sources
        Where the facilities join the network; off-network ones must be removed first.
    limit_m
        Stop the search at this distance (metres); farther nodes get ``inf``.

    Returns
    -------
    NodeAccess
        For every node the distance to the nearest facility and which one it is.

    Raises
    ------
    ValueError
        If a source is off-network or `limit_m` is negative.
    """
    if limit_m < 0 or np.isnan(limit_m):
        msg = f"`limit_m` must be zero or more, got {limit_m}."
        raise ValueError(msg)
    if not sources.on_network.all():
        msg = "`sources` contains off-network points; select the on-network ones first."
        raise ValueError(msg)
    n = graph.n_nodes
    k = len(sources)
    if k == 0:
        return NodeAccess(graph, sources, np.full(n, np.inf), np.full(n, -1), limit_m)
    augmented = _augmented(graph, sources)
    # scipy's own cut-off is loosened a little and the exact one applied here, so a node
    # exactly at the limit is kept whatever scipy does with ties.
    dist, _, origin = dijkstra(
        augmented,
        directed=True,
        indices=n + np.arange(k),
        limit=limit_m + 2 * BUDGET_TOLERANCE_M,
        min_only=True,
        return_predecessors=True,
    )
    dist = dist[:n]
    facility = origin[:n].astype(np.int64)
    facility -= n  # virtual source index -> facility position; unreached nodes go below -1
    facility[facility < 0] = -1
    beyond = np.flatnonzero(dist > limit_m + BUDGET_TOLERANCE_M)
    dist[beyond] = np.inf
    facility[beyond] = -1
    return NodeAccess(graph, sources, dist, facility, limit_m)


def _augmented(graph: CompactGraph, sources: Snap) -> sp.csr_matrix:
    """The graph plus one virtual node per source (rows/columns ``n..n+k-1``).

    A virtual node has directed edges to the two ends of its source's edge, weighted by
    the source's access leg plus the cost of walking from that end along the edge to the
    source (the distance along the edge on the flat).
    """
    n = graph.n_nodes
    k = len(sources)
    e = sources.edge
    # Walking from each end to the source: the reverse of walking from the source to it.
    weight_u = sources.leg_m + graph.cost_along(e, np.zeros(k), sources.offset_m)
    weight_v = sources.leg_m + graph.cost_along(e, graph.edge_length_m[e], sources.offset_m)
    # On a loop way both ends are one node: one entry with the shorter way round (scipy
    # would add duplicate entries together).
    loop = graph.edge_u[e] == graph.edge_v[e]
    weight_u = np.where(loop, np.minimum(weight_u, weight_v), weight_u)
    rows = np.r_[np.arange(k), np.arange(k)[~loop]]
    cols = np.r_[graph.edge_u[e], graph.edge_v[e][~loop]]
    weights = np.r_[weight_u, weight_v[~loop]]
    usable = np.isfinite(weights)  # sources on impassable edges reach nothing
    extra = sp.csr_matrix((weights[usable], (rows[usable], cols[usable])), shape=(k, n + k))
    base = graph.csr
    base = sp.csr_matrix((base.data, base.indices, base.indptr), shape=(n, n + k))
    return sp.vstack([base, extra], format="csr")


def pair_distances(
    graph: CompactGraph,
    sources: Snap,
    points: Snap,
    *,
    limit_m: float,
    batch_size: int = 64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (source, point) pair within `limit_m`, with its walking distance.

    One bounded search per source (run in batches by scipy), then a vectorised join of the
    reached nodes with the points on their edges; points on a source's own edge also get the
    direct walk along it. Distances include both access legs, as in
    :meth:`NodeAccess.to_points`. Used for catchments (2SFCA), where every facility within
    reach counts, not only the nearest.

    Parameters
    ----------
    graph
        The compact graph.
    sources
        On-network sources (facilities).
    points
        Snapped points (people); off-network ones never pair.
    limit_m
        Largest distance kept (a distance equal to it is kept).
    batch_size
        Sources searched per scipy call (memory: batch x nodes floats).

    Returns
    -------
    source, point, distance_m
        Parallel arrays, sorted by source then point.
    """
    if not sources.on_network.all():
        msg = "`sources` contains off-network points; select the on-network ones first."
        raise ValueError(msg)
    n = graph.n_nodes
    k = len(sources)
    on = np.flatnonzero(points.on_network)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    if k == 0 or on.size == 0:
        return empty
    e = points.edge[on]
    end_node = np.r_[graph.edge_u[e], graph.edge_v[e]]
    end_person = np.r_[on, on]
    end_add = np.r_[
        graph.cost_to_u(e, points.offset_m[on]), graph.cost_to_v(e, points.offset_m[on])
    ]
    end_add = end_add + np.r_[points.leg_m[on], points.leg_m[on]]
    order = np.argsort(end_node, kind="stable")
    end_node, end_person, end_add = end_node[order], end_person[order], end_add[order]
    counts = np.bincount(end_node, minlength=n)
    starts = np.cumsum(counts) - counts

    augmented = _augmented(graph, sources)
    limit = limit_m + BUDGET_TOLERANCE_M
    parts_s, parts_p, parts_d = [], [], []
    for first in range(0, k, batch_size):
        chunk = np.arange(first, min(first + batch_size, k))
        search_limit = limit + BUDGET_TOLERANCE_M  # the exact cut-off is applied below
        dist = dijkstra(augmented, directed=True, indices=n + chunk, limit=search_limit)[:, :n]
        row, node = np.nonzero(np.isfinite(dist) & (counts > 0)[None, :])
        d = dist[row, node]
        repeat = counts[node]
        owner = np.repeat(np.arange(node.size), repeat)
        slot = np.repeat(starts[node], repeat) + (
            np.arange(owner.size) - np.repeat(np.cumsum(repeat) - repeat, repeat)
        )
        parts_s.append(chunk[row][owner])
        parts_p.append(end_person[slot])
        parts_d.append(d[owner] + end_add[slot])
    # Points on a source's own edge: the direct walk along it.
    same_point, same_source, along = _same_edge_pairs(graph, e, points.offset_m[on], sources)
    parts_s.append(same_source)
    parts_p.append(on[same_point])
    parts_d.append(along + points.leg_m[on[same_point]])
    source = np.concatenate(parts_s)
    point = np.concatenate(parts_p)
    distance = np.concatenate(parts_d)
    keep = distance <= limit
    source, point, distance = source[keep], point[keep], distance[keep]
    if source.size == 0:
        return empty
    order = np.lexsort((distance, point, source))
    source, point, distance = source[order], point[order], distance[order]
    first_of_pair = np.r_[True, (source[1:] != source[:-1]) | (point[1:] != point[:-1])]
    return source[first_of_pair], point[first_of_pair], distance[first_of_pair]


def _search_csr(
    u: np.ndarray, v: np.ndarray, cost_uv: np.ndarray, cost_vu: np.ndarray, n: int
) -> sp.csr_matrix:
    """Reversed adjacency: ``[a, b]`` = cheapest walk ``b -> a`` (explicit zeros are edges).

    `cost_uv` is the cost of walking each edge from ``u`` to ``v``; with equal costs both
    ways this is the symmetric two-way adjacency with the shortest of parallel edges.
    """
    loop = u == v  # loop ways lead nowhere: no self-edges in the search matrix
    u, v, cost_uv, cost_vu = u[~loop], v[~loop], cost_uv[~loop], cost_vu[~loop]
    rows = np.r_[u, v]
    cols = np.r_[v, u]
    weights = np.r_[cost_vu, cost_uv]
    # One entry per (row, column), the cheapest of parallel edges (NaN only when all are);
    # the minimum does not depend on the order within a pair, so any sort will do.
    pair = rows.astype(np.int64) * n + cols
    order = np.argsort(pair)
    pair, weights = pair[order], weights[order]
    first = np.flatnonzero(np.r_[pair.size > 0, pair[1:] != pair[:-1]])
    shortest = np.fmin.reduceat(weights, first) if first.size else weights[:0]
    r, c = np.divmod(pair[first], n)
    return sp.csr_matrix((shortest, (r, c)), shape=(n, n))


def _same_edge_pairs(
    graph: CompactGraph, edge: np.ndarray, offset: np.ndarray, sources: Snap
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (point, source) on the same edge, with the direct walk along it.

    Returns the point's position in `edge`, the source's position in `sources`, and the
    cost of walking along the edge from the point to the source plus the source's access
    leg (the point's own leg not added).
    """
    # Only points on an edge that holds a source can pair (a cheap filter before the join).
    near = np.flatnonzero(np.isin(edge, sources.edge))
    pairs = pd.DataFrame({"edge": edge[near], "point": near, "offset": offset[near]}).merge(
        pd.DataFrame(
            {"edge": sources.edge, "source": np.arange(len(sources)), "s_off": sources.offset_m}
        ),
        on="edge",
    )
    point = pairs["point"].to_numpy()
    source = pairs["source"].to_numpy()
    walk = graph.cost_along(
        pairs["edge"].to_numpy(np.int64), pairs["offset"].to_numpy(), pairs["s_off"].to_numpy()
    )
    along = walk + sources.leg_m[source]
    return point, source, along


def _same_edge_direct(
    graph: CompactGraph, edge: np.ndarray, offset: np.ndarray, sources: Snap
) -> tuple[np.ndarray, np.ndarray]:
    """For points on edges that hold facilities: shortest direct walk along the edge."""
    best = np.full(len(edge), np.inf)
    best_facility = np.full(len(edge), -1, dtype=np.int64)
    point, source, along = _same_edge_pairs(graph, edge, offset, sources)
    if point.size == 0:
        return best, best_facility
    order = np.lexsort((source, along, point))
    point, source, along = point[order], source[order], along[order]
    first = np.r_[True, point[1:] != point[:-1]]
    best[point[first]] = along[first]
    best_facility[point[first]] = source[first]
    return best, best_facility
