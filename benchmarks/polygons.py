"""Service-area polygons for all categories: circle vs OSMnx's per-facility isochrone method.

Run: python benchmarks/polygons.py [--facilities 120] [--minutes 15] [--repeat 3]

(a) circle: ``compute_access`` (one bounded multi-source search per category), then
    ``circle.isochrones.service_areas`` (reachable and partly reachable edges, cut at the
    exact distance, buffered and dissolved), all categories.
(b) the method of OSMnx's isochrone example (notebook 13-isolines-isochrones,
    ``make_iso_polys``): per facility ``nx.ego_graph(G, center, radius=budget,
    distance="length")``, buffer its node points and its edge lines, union them (the
    example's code); then one union per category. Both buffers are circle's (the example
    uses 50 m for nodes and 25 m for edges) so the areas compare. Building the networkx
    graph (with each edge's geometry, as OSMnx graphs have) is not counted.

Facilities are generated: random network nodes whose coordinates no other node shares
(fixed seed), placed exactly on the node and spread over the four built-in categories, so
both methods start from the same spot. Andorra is read from
``../shared/data/andorra.osm.pbf`` (skipped if absent).
Map data © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from _osmnx_example import iso_polygon

from circle.access import CompactGraph
from circle.categories import BUILTIN_ORDER
from circle.coverage import compute_access
from circle.isochrones import SERVICE_AREA_BUFFER_M, service_areas
from circle.walking import ADULT, Threshold

ANDORRA = Path(__file__).resolve().parents[2] / "shared" / "data" / "andorra.osm.pbf"
SEED = 20261129
#: Differences narrower than this (metres) are arc-approximation slivers, not method.
SLIVER_M = 1.0
ATTRIBUTION = "Map data © OpenStreetMap contributors, ODbL 1.0 (openstreetmap.org/copyright)"


def generated_facilities(network, count: int, seed: int) -> gpd.GeoDataFrame:
    """`count` random nodes with unique coordinates, categories in turn."""
    xy = pd.DataFrame({"x": network.nodes.geometry.x, "y": network.nodes.geometry.y})
    unique = np.flatnonzero(~xy.duplicated(keep=False).to_numpy())
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(unique, size=min(count, unique.size), replace=False))
    return gpd.GeoDataFrame(
        {
            "id": [f"f{i}" for i in range(len(chosen))],
            "name": "",
            "category": [BUILTIN_ORDER[i % 4] for i in range(len(chosen))],
            "capacity": np.nan,
            "node": network.nodes.index.to_numpy()[chosen],
        },
        geometry=network.nodes.geometry.iloc[chosen].to_numpy(),
        crs=network.crs,
    )


def networkx_graph(network) -> nx.MultiGraph:
    """The network as the example expects it: x, y on nodes, length and geometry on edges."""
    graph = nx.MultiGraph()
    nodes = network.nodes
    graph.add_nodes_from(
        (int(n), {"x": float(x), "y": float(y)})
        for n, x, y in zip(nodes.index, nodes.geometry.x, nodes.geometry.y, strict=True)
    )
    edges = network.edges
    graph.add_edges_from(
        (int(u), int(v), {"length": float(length), "geometry": geom})
        for u, v, length, geom in zip(
            edges["u"], edges["v"], edges["length_m"], edges.geometry.array, strict=True
        )
    )
    return graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--facilities", type=int, default=120)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--buffer", type=float, default=SERVICE_AREA_BUFFER_M, help="metres")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for circle")
    args = parser.parse_args()
    if not ANDORRA.is_file():
        print(f"skipped: {ANDORRA} not found (shared development data)")
        return
    from circle.network import load_network

    network = load_network(ANDORRA)
    graph = CompactGraph(network)
    facilities = generated_facilities(network, args.facilities, SEED)
    budget = ADULT.metres(args.minutes)
    thresholds = {c: Threshold(minutes=args.minutes) for c in BUILTIN_ORDER}
    print(
        f"Andorra: {graph.n_nodes:,} nodes, {graph.n_edges:,} edges; {len(facilities)} "
        f"generated facilities (random nodes with unique coordinates, seed {SEED}) over "
        f"{len(BUILTIN_ORDER)} categories; {args.minutes:g} min at {ADULT.speed_kmh} km/h = "
        f"{budget:.0f} m; buffer {args.buffer:g} m."
    )

    times_access, times_polygons = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        model = compute_access(graph, facilities, profile=ADULT, thresholds=thresholds)
        times_access.append(time.perf_counter() - start)
        start = time.perf_counter()
        circle_areas = service_areas(model, buffer_m=args.buffer, crs=None)
        times_polygons.append(time.perf_counter() - start)
    access_s, polygons_s = min(times_access), min(times_polygons)
    circle_s = access_s + polygons_s

    g = networkx_graph(network)
    start = time.perf_counter()
    ego_areas = {}
    for category in model.categories:
        centers = facilities.loc[facilities["category"] == category, "node"]
        polygons = [
            iso_polygon(g, int(c), budget, node_buff_m=args.buffer, edge_buff_m=args.buffer)
            for c in centers
        ]
        ego_areas[category] = shapely.union_all(polygons) if polygons else shapely.Polygon()
    ego_s = time.perf_counter() - start

    print()
    print(f"circle, all categories (best of {args.repeat}):")
    print(f"  compute_access  {access_s:8.3f} s")
    print(f"  service_areas   {polygons_s:8.3f} s")
    print(f"  total           {circle_s:8.3f} s")
    print(f"per-facility ego_graph + buffer + union (1 run): {ego_s:8.2f} s")
    print(f"ratio: {ego_s / circle_s:.0f}x (total), {ego_s / polygons_s:.0f}x (polygons alone)")
    print()
    print(f"Areas; 'only' = parts of one result farther than {SLIVER_M:g} m from the other")
    print("(closer differences are slivers between the two buffers' polygonal arcs):")
    header = (
        f"{'category':<13}{'facil.':>7}{'circle km2':>12}{'ego km2':>10}{'diff':>8}"
        f"{'circle-only km2':>17}{'ego-only km2':>14}"
    )
    print(header)
    print("-" * len(header))
    for row in circle_areas.itertuples():
        mine, theirs = row.geometry, ego_areas[row.category]
        only_mine = shapely.difference(mine, shapely.buffer(theirs, SLIVER_M)).area / 1e6
        only_theirs = shapely.difference(theirs, shapely.buffer(mine, SLIVER_M)).area / 1e6
        k = int((facilities["category"] == row.category).sum())
        ego_km2 = theirs.area / 1e6
        diff = (row.area_km2 - ego_km2) / ego_km2 if ego_km2 else float("nan")
        print(
            f"{row.category:<13}{k:>7}{row.area_km2:>12.3f}{ego_km2:>10.3f}{diff:>+8.1%}"
            f"{only_mine:>17.4f}{only_theirs:>14.4f}"
        )
    print(
        "circle-only: reachable parts of edges toward nodes out of reach (cut at the exact "
        "distance);\nego-only: unreachable middles of edges whose two ends are both within "
        "reach\n(ego_graph keeps every edge between kept nodes)."
    )
    print()
    print(ATTRIBUTION + " (Andorra).")


if __name__ == "__main__":
    main()
