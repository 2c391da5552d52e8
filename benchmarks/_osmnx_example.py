"""The reference a planner would otherwise run: OSMnx's isochrone example, one facility at a time.

From the OSMnx examples gallery (``13-isolines-isochrones``, ``make_iso_polys``): per facility
``nx.ego_graph(G, center, radius=budget, distance="length")``, a buffer around every node
and edge of it, and their union. Shared by ``polygons.py`` and ``end_to_end.py``.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import shapely


def iso_polygon(graph, center, budget: float, *, node_buff_m: float, edge_buff_m: float):
    """One facility's isochrone as the example's ``make_iso_polys`` draws it.

    Its code, with ``distance="length"`` and ``union_all`` for the deprecated
    ``unary_union``.
    """
    subgraph = nx.ego_graph(graph, center, radius=budget, distance="length")
    node_points = [shapely.Point((d["x"], d["y"])) for _, d in subgraph.nodes(data=True)]
    nodes_gdf = gpd.GeoDataFrame({"id": list(subgraph.nodes)}, geometry=node_points)
    nodes_gdf = nodes_gdf.set_index("id")
    edge_lines = []
    for n_fr, n_to in subgraph.edges():
        f = nodes_gdf.loc[n_fr].geometry
        t = nodes_gdf.loc[n_to].geometry
        edge_lookup = graph.get_edge_data(n_fr, n_to)[0].get("geometry", shapely.LineString([f, t]))
        edge_lines.append(edge_lookup)
    n = nodes_gdf.buffer(node_buff_m).geometry
    e = gpd.GeoSeries(edge_lines).buffer(edge_buff_m).geometry
    return gpd.GeoSeries(list(n) + list(e)).union_all()
