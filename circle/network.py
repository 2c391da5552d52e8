"""Build or load the walking network: OSM files offline, OSMnx online, GraphML; metric CRS."""

from __future__ import annotations

import contextvars
import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import connected_components

from circle._gc import paused_collection
from circle._pbf import osm_reader
from circle.errors import InputError, NetworkUnavailableError

if TYPE_CHECKING:
    import os

    from shapely.geometry.base import BaseGeometry

__all__ = [
    "DROPPED_NODES_WARNING",
    "DROPPED_SHARE_WARNING",
    "EXCLUDED_HIGHWAYS",
    "NO_WALKING_ACCESS",
    "WalkNetwork",
    "load_network",
    "network_from_bbox",
    "network_from_graph",
    "network_from_pbf",
    "network_from_place",
    "network_from_polygon",
    "network_from_xml",
    "save_graphml",
]

logger = logging.getLogger(__name__)

#: ``highway=*`` values never walked, whatever other tags say (pedestrians are barred from
#: motorways; the rest are not ways in use). Everything else that OSM routes pedestrians on
#: (footway, path, pedestrian, steps, living_street, residential, service, unclassified,
#: tertiary and up) is kept unless the access tags below forbid walking.
EXCLUDED_HIGHWAYS: frozenset[str] = frozenset(
    {
        "motorway",
        "motorway_link",
        "bus_guideway",
        "busway",
        "raceway",
        "construction",
        "proposed",
        "abandoned",
        "disused",
        "escape",
        "platform",
        "rest_area",
        "services",
    }
)
#: Values of ``foot=*`` (or of ``access=*`` when ``foot`` is absent) that forbid walking.
#: (``foot=discouraged`` is legal, so it is walked, as OSMnx does.)
NO_WALKING_ACCESS: frozenset[str] = frozenset({"no", "private", "military"})
#: ``foot=*`` values that allow walking even on ways whose general ``access`` is closed.
_FOOT_ALLOWED: frozenset[str] = frozenset({"yes", "designated", "permissive", "official"})
#: ``highway=*`` values that are bicycle-only unless ``foot=*`` allows walking.
_FOOT_TAG_REQUIRED: frozenset[str] = frozenset({"cycleway"})
#: Tags OSMnx must keep on ways so the walking rules above can be applied.
_WAY_TAGS = (
    "highway",
    "foot",
    "access",
    "service",
    "area",
    "name",
    "sidewalk",
    "sidewalk:both",
    "sidewalk:left",
    "sidewalk:right",
    "bridge",
    "tunnel",
)
#: Way tags kept on the edges for the slope-aware engine (:mod:`circle.terrain`): a bridge or
#: tunnel is walked flat whatever the terrain under or over it.
_KEPT_TAGS = ("bridge", "tunnel")
#: Tags of a way whose value ``separate`` means its sidewalk is mapped as its own way, so
#: the road itself is left out (as OSMnx's ``walk`` does) and walkers use the sidewalk.
_SEPARATE_SIDEWALK_TAGS = ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")
#: OSMnx's ``walk`` filter, plus cycleways that pedestrians may use (which ``walk`` drops):
#: the same rules then run on the result (see :func:`_walkable_mask`).
_OVERPASS_WALK_FILTERS = [
    (
        '["highway"]["area"!~"yes"]["access"!~"private"]'
        '["highway"!~"abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|'
        'proposed|raceway|razed|rest_area|services"]["foot"!~"no"]["service"!~"private"]'
        '["sidewalk"!~"separate"]["sidewalk:both"!~"separate"]["sidewalk:left"!~"separate"]'
        '["sidewalk:right"!~"separate"]'
    ),
    '["highway"="cycleway"]["foot"~"^(yes|designated|permissive|official)$"]',
]
_BBOX_PATTERN = re.compile(r"^\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*$")


#: Warn (rather than log) when the largest-component rule drops more than this share of the
#: network's nodes, and at least :data:`DROPPED_NODES_WARNING` of them: facilities and homes
#: in the dropped pieces count as off the network.
DROPPED_SHARE_WARNING = 0.05
DROPPED_NODES_WARNING = 100


@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """A walking network in a local metric CRS.

    Walking is two-way on every edge. Build one with :func:`load_network` or the
    ``network_from_*`` functions; the travel-time engine (:mod:`circle.access`) compiles it
    into compact arrays once.

    Attributes
    ----------
    nodes
        One row per node, indexed by OSM node id, point geometry in :attr:`crs`.
    edges
        One row per way segment: ``u``, ``v`` (node ids), ``length_m`` (metres along the way),
        ``highway``, ``bridge`` and ``tunnel`` (the OSM values, ``""`` where untagged; networks
        built by hand may leave these two out) and the line geometry in :attr:`crs`, oriented
        from ``u`` to ``v``.
    source
        Where the network came from (a path, place name or bounding box), for reports.
    dropped_nodes
        Nodes removed because they were not in the largest connected component.
    dropped_ways
        The walkable ways of those disconnected pieces (line geometry in :attr:`crs`), kept
        to tell a facility or home beside one from one far from any walkable way.
    """

    nodes: gpd.GeoDataFrame
    edges: gpd.GeoDataFrame
    source: str
    dropped_nodes: int = 0
    dropped_ways: gpd.GeoSeries | None = None

    @property
    def crs(self) -> Any:
        """The metric CRS of :attr:`nodes` and :attr:`edges`."""
        return self.edges.crs

    @property
    def total_length_m(self) -> float:
        """Total length of the walkable edges, in metres."""
        return float(self.edges["length_m"].sum())

    def to_networkx(self) -> nx.MultiGraph:
        """Return the network as an undirected ``networkx.MultiGraph`` with ``length`` in metres.

        Used for independent checks against networkx and for GraphML export.
        """
        graph = nx.MultiGraph(crs=self.crs)
        xs = self.nodes.geometry.x.to_numpy()
        ys = self.nodes.geometry.y.to_numpy()
        graph.add_nodes_from(
            (int(n), {"x": float(x), "y": float(y)})
            for n, x, y in zip(self.nodes.index, xs, ys, strict=True)
        )
        graph.add_edges_from(
            (int(u), int(v), {"length": float(length)})
            for u, v, length in zip(
                self.edges["u"], self.edges["v"], self.edges["length_m"], strict=True
            )
        )
        return graph


@paused_collection  # a million geometries on a large city (circle._gc)
def load_network(
    source: str | os.PathLike[str],
    *,
    largest_component: bool = True,
    use_cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> WalkNetwork:
    """Build or load a walking network from a file, a place name or a bounding box.

    A network read from a file is kept in circle's cache (the convention of OSMnx's
    download cache), so the next load of the same file takes a fraction of the time. An
    entry is found only by the same file content (SHA-256 of its bytes), circle version,
    walking rules, reader version and `largest_component`: a changed file or rule never
    uses an old entry. The folder is `cache_dir`, else the environment variable
    ``CIRCLE_CACHE_DIR``, else the user cache folder (``~/.cache/circle`` on Linux),
    never next to the input; delete it at any time. Places and bounding boxes use OSMnx's
    own download cache instead.

    Parameters
    ----------
    source
        A ``.osm.pbf`` file (read offline with pyrosm), an ``.osm`` XML file (OSMnx), a
        ``.graphml`` file saved by OSMnx or :func:`save_graphml`, a bounding box
        ``"west,south,east,north"`` in degrees, or a place name geocoded by OSMnx
        (the last two need the internet).
    largest_component
        Keep only the largest connected component (the default), logging what was dropped.
    use_cache
        Read a file's network from the cache when there, and keep it there
        (``False``: read the file and leave the cache alone).
    cache_dir
        The cache folder to use instead of the default.

    Returns
    -------
    WalkNetwork

    Raises
    ------
    InputError
        The file is missing, unreadable or holds no walkable ways.
    NetworkUnavailableError
        A place or bounding box was given and OpenStreetMap could not be reached.
    """
    text = str(source)
    path = Path(text)
    lower = text.lower()
    readers: dict[str, Any] = {
        "pbf": network_from_pbf,
        "xml": network_from_xml,
        "graphml": _network_from_graphml,
    }
    kind = (
        "pbf"
        if lower.endswith((".osm.pbf", ".pbf"))
        else "xml"
        if lower.endswith((".osm", ".xml", ".osm.xml"))
        else "graphml"
        if lower.endswith(".graphml")
        else None
    )
    if kind is not None:
        read = readers[kind]
        if not use_cache:
            network: WalkNetwork = read(path, largest_component=largest_component)
            return network
        return _cached_network(
            _existing_file(path),
            kind,
            lambda: read(path, largest_component=largest_component),
            largest_component=largest_component,
            cache_dir=cache_dir,
        )
    if path.exists():
        msg = (
            f"`{text}` is not a network file circle can read: use a `.osm.pbf`, `.osm` or "
            "`.graphml` file, a place name, or a bounding box `west,south,east,north`."
        )
        raise InputError(msg)
    match = _BBOX_PATTERN.match(text)
    if match:
        west, south, east, north = (float(g) for g in match.groups())
        return network_from_bbox(west, south, east, north, largest_component=largest_component)
    return network_from_place(text, largest_component=largest_component)


def network_from_pbf(
    path: str | os.PathLike[str], *, largest_component: bool = True
) -> WalkNetwork:
    """Read the walking network from a local ``.osm.pbf`` extract with pyrosm (offline).

    pyrosm reads every way of the street network (its ``all`` filter); the walking rules
    (:data:`EXCLUDED_HIGHWAYS`, :data:`NO_WALKING_ACCESS`, cycleways only where ``foot=*``
    allows walking, private service roads and roads with separately mapped sidewalks left
    out) then select the walkable ones. pyrosm's own ``walking`` filter would drop every
    cycleway, including the shared foot and cycle paths common in many cities.

    Parameters
    ----------
    path
        The ``.osm.pbf`` file.
    largest_component
        Keep only the largest connected component.

    Returns
    -------
    WalkNetwork
    """
    path = _existing_file(path)
    try:
        result = osm_reader(path).get_network(network_type="all", nodes=True)
    except Exception as exc:  # pyrosm raises many kinds on a corrupt file
        msg = f"`{path}` could not be read as an OSM PBF extract ({exc}); check the file."
        raise InputError(msg) from exc
    if result is None:
        msg = f"`{path}` holds no walkable ways; check that it is the right extract."
        raise InputError(msg)
    nodes, edges = result
    node_table = pd.DataFrame(
        {"lon": nodes["lon"].to_numpy(float), "lat": nodes["lat"].to_numpy(float)},
        index=pd.Index(nodes["id"].to_numpy(np.int64), name="osmid"),
    )
    edge_table = gpd.GeoDataFrame(
        {
            "u": edges["u"].to_numpy(np.int64),
            "v": edges["v"].to_numpy(np.int64),
            "length_m": edges["length"].to_numpy(float),
            **_rule_tags(edges),
        },
        geometry=edges.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    return _finish(node_table, edge_table, str(path), largest_component=largest_component)


def network_from_xml(
    path: str | os.PathLike[str], *, largest_component: bool = True
) -> WalkNetwork:
    """Read the walking network from a local ``.osm`` XML file with OSMnx (offline).

    Parameters
    ----------
    path
        The ``.osm`` (OSM XML) file.
    largest_component
        Keep only the largest connected component.

    Returns
    -------
    WalkNetwork
    """
    import osmnx as ox  # noqa: PLC0415

    path = _existing_file(path)
    with _osmnx_way_tags():
        try:
            graph = ox.graph_from_xml(path, bidirectional=True, simplify=False, retain_all=True)
        except Exception as exc:
            msg = f"`{path}` could not be read as OSM XML ({exc}); check the file."
            raise InputError(msg) from exc
    return network_from_graph(graph, source=str(path), largest_component=largest_component)


def network_from_place(query: str, *, largest_component: bool = True) -> WalkNetwork:
    """Download the walking network of a named place through OSMnx (needs the internet).

    OSMnx's own cache (``osmnx.settings.cache_folder``) is used, so a second run is offline.

    Parameters
    ----------
    query
        A place name Nominatim can geocode, e.g. ``"Xuhui District, Shanghai, China"``.
    largest_component
        Keep only the largest connected component.

    Returns
    -------
    WalkNetwork

    Raises
    ------
    NetworkUnavailableError
        OpenStreetMap (Nominatim or Overpass) could not be reached.
    """
    import osmnx as ox  # noqa: PLC0415

    def download() -> nx.MultiDiGraph:
        return ox.graph_from_place(query, custom_filter=_OVERPASS_WALK_FILTERS, retain_all=True)

    graph = _download(download, what=f"place `{query}`")
    return network_from_graph(graph, source=query, largest_component=largest_component)


def network_from_bbox(
    west: float,
    south: float,
    east: float,
    north: float,
    *,
    largest_component: bool = True,
) -> WalkNetwork:
    """Download the walking network inside a bounding box (degrees) through OSMnx.

    Parameters
    ----------
    west, south, east, north
        The box in WGS-84 degrees.
    largest_component
        Keep only the largest connected component.

    Returns
    -------
    WalkNetwork

    Raises
    ------
    InputError
        The box is empty or out of range.
    NetworkUnavailableError
        OpenStreetMap could not be reached.
    """
    import osmnx as ox  # noqa: PLC0415

    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        msg = (
            f"bounding box `{west},{south},{east},{north}` is not valid: give "
            "`west,south,east,north` in degrees with west < east and south < north."
        )
        raise InputError(msg)

    def download() -> nx.MultiDiGraph:
        return ox.graph_from_bbox(
            (west, south, east, north), custom_filter=_OVERPASS_WALK_FILTERS, retain_all=True
        )

    graph = _download(download, what=f"bounding box `{west},{south},{east},{north}`")
    source = f"bbox {west},{south},{east},{north}"
    return network_from_graph(graph, source=source, largest_component=largest_component)


def network_from_polygon(polygon: BaseGeometry, *, largest_component: bool = True) -> WalkNetwork:
    """Download the walking network inside a WGS-84 (multi)polygon through OSMnx.

    Parameters
    ----------
    polygon
        The area, in degrees.
    largest_component
        Keep only the largest connected component.

    Returns
    -------
    WalkNetwork

    Raises
    ------
    NetworkUnavailableError
        OpenStreetMap could not be reached.
    """
    import osmnx as ox  # noqa: PLC0415

    def download() -> nx.MultiDiGraph:
        return ox.graph_from_polygon(polygon, custom_filter=_OVERPASS_WALK_FILTERS, retain_all=True)

    graph = _download(download, what="polygon")
    return network_from_graph(graph, source="polygon", largest_component=largest_component)


def network_from_graph(
    graph: nx.MultiDiGraph | nx.MultiGraph,
    *,
    source: str = "graph",
    largest_component: bool = True,
) -> WalkNetwork:
    """Turn an OSMnx graph (projected or not) into a :class:`WalkNetwork`.

    Edges whose tags forbid walking are dropped; directed duplicates (``u->v`` and
    ``v->u``) become one two-way edge.

    Parameters
    ----------
    graph
        A graph as made by OSMnx (node ``x``/``y``, edge ``length`` in metres, a ``crs``).
    source
        Where it came from, for reports.
    largest_component
        Keep only the largest connected component.

    Returns
    -------
    WalkNetwork
    """
    import osmnx as ox  # noqa: PLC0415

    if graph.number_of_edges() == 0:
        msg = f"`{source}` holds no walkable ways; check the area or file."
        raise InputError(msg)
    if not isinstance(graph, nx.MultiDiGraph):
        graph = nx.MultiDiGraph(graph)
    graph.graph.setdefault("crs", "EPSG:4326")
    node_gdf, edge_gdf = ox.graph_to_gdfs(graph, fill_edge_geometry=True)
    edge_gdf = edge_gdf.reset_index()
    node_gdf = node_gdf.to_crs("EPSG:4326")
    edge_gdf = edge_gdf.to_crs("EPSG:4326")
    node_table = pd.DataFrame(
        {"lon": node_gdf.geometry.x.to_numpy(), "lat": node_gdf.geometry.y.to_numpy()},
        index=pd.Index(node_gdf.index.to_numpy(np.int64), name="osmid"),
    )
    # Keep one direction of each two-way pair: OSMnx stores both u->v and v->u.
    u = edge_gdf["u"].to_numpy(np.int64)
    v = edge_gdf["v"].to_numpy(np.int64)
    key = edge_gdf["key"].to_numpy(np.int64)
    # A two-way edge appears as u->v and v->u with the same key and length; parallel ways
    # differ in length, so they are kept.
    length_mm = np.round(edge_gdf["length"].to_numpy(float) * 1000).astype(np.int64)
    pair = pd.DataFrame({"a": np.minimum(u, v), "b": np.maximum(u, v), "k": key, "m": length_mm})
    keep = ~pair.duplicated().to_numpy()
    edge_gdf = edge_gdf.loc[keep]
    edge_table = gpd.GeoDataFrame(
        {
            "u": edge_gdf["u"].to_numpy(np.int64),
            "v": edge_gdf["v"].to_numpy(np.int64),
            "length_m": edge_gdf["length"].to_numpy(float),
            **_rule_tags(edge_gdf),
        },
        geometry=edge_gdf.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    return _finish(node_table, edge_table, source, largest_component=largest_component)


def save_graphml(network: WalkNetwork, path: str | os.PathLike[str]) -> None:
    """Save the network as GraphML (OSMnx format, WGS-84) so it can be loaded offline later.

    Parameters
    ----------
    network
        The network to save.
    path
        The ``.graphml`` file to write (atomically).
    """
    import osmnx as ox  # noqa: PLC0415

    from circle._io import atomic_path  # noqa: PLC0415

    nodes = network.nodes.to_crs("EPSG:4326")
    edges = network.edges.to_crs("EPSG:4326")
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    graph.add_nodes_from(
        (int(n), {"x": float(p.x), "y": float(p.y)})
        for n, p in zip(nodes.index, nodes.geometry, strict=True)
    )
    kept = {
        tag: (edges[tag].to_numpy(object) if tag in edges.columns else np.full(len(edges), ""))
        for tag in _KEPT_TAGS
    }
    for i, (u, v, length, highway, geom) in enumerate(
        zip(
            edges["u"], edges["v"], edges["length_m"], edges["highway"], edges.geometry, strict=True
        )
    ):
        # Every edge here is walkable already; `foot=yes` keeps it so when loaded again.
        tags = {tag: str(values[i]) for tag, values in kept.items() if values[i]}
        graph.add_edge(
            int(u),
            int(v),
            length=float(length),
            highway=str(highway),
            foot="yes",
            geometry=geom,
            **tags,
        )
    with atomic_path(path) as tmp:
        ox.save_graphml(graph, filepath=tmp)


def _network_from_graphml(path: Path, *, largest_component: bool) -> WalkNetwork:
    import osmnx as ox  # noqa: PLC0415

    path = _existing_file(path)
    try:
        graph = ox.load_graphml(path)
    except Exception as exc:
        msg = f"`{path}` could not be read as GraphML ({exc}); save it with OSMnx or circle."
        raise InputError(msg) from exc
    return network_from_graph(graph, source=str(path), largest_component=largest_component)


#: Bumped when the layout of cached networks changes.
_CACHE_FORMAT = 4


def _cache_key(path: Path, kind: str, *, largest_component: bool) -> str:
    """The cache entry name of a network file: everything that decides the network."""
    from circle._cache import entry_key, file_digest, package_version  # noqa: PLC0415

    reader = {"pbf": "pyrosm", "xml": "osmnx", "graphml": "osmnx"}[kind]
    return entry_key(
        {
            "format": _CACHE_FORMAT,
            "file_sha256": file_digest(path),
            "kind": kind,
            "circle": package_version("circle"),
            # The rules as this code applies them: a changed rule or reader is a new key.
            "network_code": file_digest(Path(__file__)),
            reader: package_version(reader),
            "rules": [
                sorted(EXCLUDED_HIGHWAYS),
                sorted(NO_WALKING_ACCESS),
                sorted(_FOOT_ALLOWED),
                sorted(_FOOT_TAG_REQUIRED),
                list(_SEPARATE_SIDEWALK_TAGS),
                list(_WAY_TAGS),
            ],
            "largest_component": largest_component,
        }
    )


def _cached_network(
    path: Path,
    kind: str,
    build: Any,
    *,
    largest_component: bool,
    cache_dir: str | os.PathLike[str] | None,
) -> WalkNetwork:
    """The network of a file from the cache, or built by `build` and then cached."""
    from circle._cache import cache_folder, read_entry_as, write_entry  # noqa: PLC0415

    key = _cache_key(path, kind, largest_component=largest_component)
    entry = cache_folder(cache_dir) / f"network-{key[:40]}.npz"
    found = read_entry_as(
        entry,
        key,
        lambda arrays: (_network_from_arrays(arrays, str(path)), int(arrays["closed_edges"])),
    )
    if found is not None:
        network, closed_edges = found
        _log_closed(str(path), closed_edges)
        total = len(network.nodes) + network.dropped_nodes
        _log_dropped(str(path), network.dropped_nodes, total)
        logger.info(
            "%s: walking network read from the cache (%s): %d nodes, %d edges",
            path,
            entry,
            len(network.nodes),
            len(network.edges),
        )
        return network
    closed: list[int] = []
    token = _CLOSED_EDGES.set(closed)
    try:
        built: WalkNetwork = build()
    finally:
        _CLOSED_EDGES.reset(token)
    stored = _network_arrays(built)
    if stored is not None:
        stored["closed_edges"] = np.array(sum(closed), dtype=np.int64)
        write_entry(entry, key, stored)
    return built


def _network_arrays(network: WalkNetwork) -> dict[str, np.ndarray] | None:
    """A network as plain arrays for the cache (None when its edges are not all lines)."""
    geometry = network.edges.geometry.to_numpy()
    ways = [] if network.dropped_ways is None else [network.dropped_ways.to_numpy()]
    for lines in (geometry, *ways):
        if not (shapely.get_type_id(lines) == shapely.GeometryType.LINESTRING).all():
            return None
    _, coords, (offsets,) = shapely.to_ragged_array(geometry)
    nodes, edges = network.nodes, network.edges
    # Tag columns (highway, bridge, tunnel, ...) as text, in the frame's order.
    tags = [c for c in edges.columns if c not in ("u", "v", "length_m", edges.geometry.name)]
    return {
        "node_id": nodes.index.to_numpy(np.int64),
        "node_xy": shapely.get_coordinates(nodes.geometry.to_numpy()),
        "u": edges["u"].to_numpy(np.int64),
        "v": edges["v"].to_numpy(np.int64),
        "length_m": edges["length_m"].to_numpy(float),
        "columns": np.array(list(edges.columns), dtype=str),
        **{key: array for tag in tags for key, array in _tag_arrays(tag, edges[tag]).items()},
        "edge_coords": coords,
        "edge_offsets": offsets,
        "crs": np.array(network.crs.to_wkt()),
        "dropped_nodes": np.array(network.dropped_nodes, dtype=np.int64),
        **_ways_arrays("dropped_ways", network.dropped_ways),
    }


def _tag_arrays(tag: str, values: pd.Series) -> dict[str, np.ndarray]:
    """A tag column as ``tag:{tag}`` (a code per edge) and ``tag_values:{tag}`` (the texts).

    Most edges share a few values (``residential``, ``""``): codes keep the entry small.
    """
    codes, texts = pd.factorize(values.to_numpy(object), use_na_sentinel=False)
    return {f"tag:{tag}": codes.astype(np.int32), f"tag_values:{tag}": np.asarray(texts, dtype=str)}


def _network_from_arrays(arrays: dict[str, np.ndarray], source: str) -> WalkNetwork:
    """A network from :func:`_network_arrays`' arrays, checking they fit together."""
    from pyproj import CRS  # noqa: PLC0415

    crs = CRS.from_wkt(str(arrays["crs"]))
    node_xy = arrays["node_xy"]
    node_id = arrays["node_id"]
    offsets = arrays["edge_offsets"]
    n_edges = len(arrays["u"])
    if (
        node_xy.shape != (len(node_id), 2)
        or len(offsets) != n_edges + 1
        or int(offsets[-1]) != len(arrays["edge_coords"])
        or not (len(arrays["v"]) == len(arrays["length_m"]) == n_edges)
        or any(len(v) != n_edges for k, v in arrays.items() if k.startswith("tag:"))
        or any(
            v.size and (v.min() < 0 or v.max() >= len(arrays[f"tag_values:{k[4:]}"]))
            for k, v in arrays.items()
            if k.startswith("tag:")
        )
    ):
        msg = "its arrays do not fit together"
        raise ValueError(msg)
    lines = shapely.from_ragged_array(
        shapely.GeometryType.LINESTRING, arrays["edge_coords"], (offsets,)
    )
    nodes = gpd.GeoDataFrame(
        index=pd.Index(node_id, name="osmid"),
        geometry=gpd.points_from_xy(node_xy[:, 0], node_xy[:, 1]),
        crs=crs,
    )
    columns = [str(c) for c in arrays["columns"]]
    numeric = ("u", "v", "length_m")
    untagged = [c for c in columns if c not in numeric and f"tag:{c}" not in arrays]
    if len(untagged) != 1:  # exactly one column left: the geometry
        msg = "its columns do not fit together"
        raise ValueError(msg)
    (geometry_name,) = untagged
    data = {
        c: arrays[c]
        if c in numeric
        else lines
        if c == geometry_name
        else arrays[f"tag_values:{c}"].astype(object)[arrays[f"tag:{c}"]]
        for c in columns
    }
    edges = gpd.GeoDataFrame(data, geometry=geometry_name, crs=crs)
    dropped = int(arrays["dropped_nodes"])
    dropped_ways = None
    if "dropped_ways_offsets" in arrays:
        dropped_ways = gpd.GeoSeries(
            shapely.from_ragged_array(
                shapely.GeometryType.LINESTRING,
                arrays["dropped_ways_coords"],
                (arrays["dropped_ways_offsets"],),
            ),
            crs=crs,
        )
    return WalkNetwork(
        nodes=nodes,
        edges=edges,
        source=source,
        dropped_nodes=dropped,
        dropped_ways=dropped_ways,
    )


def _ways_arrays(name: str, ways: gpd.GeoSeries | None) -> dict[str, np.ndarray]:
    """Lines as ragged arrays named ``{name}_coords`` / ``{name}_offsets`` (none for None)."""
    if ways is None:
        return {}
    _, coords, (offsets,) = shapely.to_ragged_array(ways.to_numpy())
    return {f"{name}_coords": coords, f"{name}_offsets": offsets}


#: While a network is built for the cache, the number of edges closed to walking, so that a
#: later read from the cache logs what the build logged.
_CLOSED_EDGES: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "closed_edges", default=None
)


def _log_closed(source: str, closed: int) -> None:
    counted = _CLOSED_EDGES.get()
    if counted is not None:
        counted.append(closed)
    if closed:
        logger.info("%s: dropped %d edges closed to walking", source, closed)


def _log_dropped(source: str, dropped: int, total: int) -> None:
    """Log the nodes left out with the pieces not connected to the largest one."""
    if not dropped:
        return
    share = dropped / total
    large = share > DROPPED_SHARE_WARNING and dropped >= DROPPED_NODES_WARNING
    log = logger.warning if large else logger.info
    log(
        "%s: kept the largest connected piece of the walking network; dropped %d of "
        "%d nodes (%.1f%%) in pieces not connected to it, where facilities and homes "
        "count as off the network (a cut extract, or a missing link such as an "
        "untagged footbridge, can cause this)",
        source,
        dropped,
        total,
        100 * share,
    )


def _finish(
    node_table: pd.DataFrame,
    edge_table: gpd.GeoDataFrame,
    source: str,
    *,
    largest_component: bool,
) -> WalkNetwork:
    """Apply the walking rules, keep the largest component and project to UTM."""
    walkable = _walkable_mask(edge_table)
    _log_closed(source, int((~walkable).sum()))
    # Loop ways (u == v, e.g. a cul-de-sac loop simplified by OSMnx) are kept: people and
    # facilities can stand on them; the search matrix simply has no self-edges.
    edges = edge_table.loc[walkable]
    if edges.empty:
        msg = f"`{source}` holds no walkable ways; check that it is the right extract or area."
        raise InputError(msg)
    node_table, edges, dropped, dropped_ways = _connected(
        node_table, edges, source, largest_component=largest_component
    )
    lon = node_table["lon"].to_numpy(float)
    lat = node_table["lat"].to_numpy(float)
    crs = _utm_crs(lon, lat)
    # One transformer for nodes and ways, applied to their coordinate arrays (what
    # `GeoSeries.to_crs` does, without copying the frames around it).
    transform = Transformer.from_crs(edge_table.crs, crs, always_xy=True).transform
    x, y = transform(lon, lat)
    nodes = gpd.GeoDataFrame(index=node_table.index, geometry=gpd.points_from_xy(x, y), crs=crs)
    columns = ["u", "v", "length_m", "highway", *_KEPT_TAGS]
    lines = _segments_from_nodes(edges, node_table, np.column_stack([x, y]))
    edges = gpd.GeoDataFrame(
        edges[columns].reset_index(drop=True),
        geometry=_transformed(edges.geometry.to_numpy(), transform) if lines is None else lines,
        crs=crs,
    )
    return WalkNetwork(
        nodes=nodes,
        edges=edges,
        source=source,
        dropped_nodes=dropped,
        dropped_ways=None
        if dropped_ways is None
        else gpd.GeoSeries(_transformed(dropped_ways, transform), crs=crs),
    )


def _connected(
    node_table: pd.DataFrame,
    edges: gpd.GeoDataFrame,
    source: str,
    *,
    largest_component: bool,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, int, np.ndarray | None]:
    """The nodes the edges use (by id) and, with `largest_component`, only its largest piece.

    Returns the nodes, the edges, the number of nodes dropped with the other pieces and
    those pieces' ways (None when nothing was dropped).
    """
    used, u, v = _used_nodes(node_table.index, edges, source)
    node_table = node_table.iloc[used]
    if not largest_component:
        return node_table, edges, 0, None
    keep = _largest_component(len(used), u, v)
    dropped = len(node_table) - int(keep.sum())
    _log_dropped(source, dropped, len(node_table))
    kept = keep[u] & keep[v]
    if kept.all():
        return node_table.iloc[np.flatnonzero(keep)], edges, dropped, None
    dropped_ways = edges.geometry.to_numpy()[~kept]
    return node_table.iloc[np.flatnonzero(keep)], edges.loc[kept], dropped, dropped_ways


def _segments_from_nodes(
    edges: gpd.GeoDataFrame, node_table: pd.DataFrame, node_xy: np.ndarray
) -> np.ndarray | None:
    """The edges as lines between their nodes' projected points, or None if they are not.

    pyrosm cuts every way into one segment per pair of consecutive nodes, each holding just
    its two nodes' coordinates: projecting the nodes then gives every line, the same numbers
    as projecting the lines' coordinates again (on a 500,000-node grid 0.47 s instead of
    0.66 s, on Andorra 10 ms instead of 18 ms). Edges with bends (OSMnx's simplified ones),
    heights, or coordinates other than their nodes' are left to the caller.
    """
    geometry = edges.geometry.to_numpy()
    if (shapely.get_num_coordinates(geometry) != 2).any() or shapely.has_z(geometry).any():
        return None
    ends = np.column_stack(
        [
            node_table.index.get_indexer(pd.Index(edges["u"].to_numpy())),
            node_table.index.get_indexer(pd.Index(edges["v"].to_numpy())),
        ]
    )
    lonlat = node_table[["lon", "lat"]].to_numpy(float)
    if (ends < 0).any() or not np.array_equal(
        shapely.get_coordinates(geometry).reshape(-1, 2, 2), lonlat[ends]
    ):
        return None
    return np.asarray(shapely.linestrings(node_xy[ends]))


def _transformed(geometry: np.ndarray, transform: Any) -> np.ndarray:
    """`geometry` with every coordinate passed through a pyproj `transform` (x, y[, z])."""
    # Flat ways (all of them, from OSM) in one pass; with heights, each kind on its own.
    include_z = None if shapely.has_z(geometry).any() else False
    return np.asarray(
        shapely.transform(geometry, transform, include_z=include_z, interleaved=False)
    )


def _used_nodes(
    index: pd.Index, edges: pd.DataFrame, source: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of the nodes the edges use (ordered by node id) and each edge's ends among them.

    Returns the row positions in `index`, then the ``u`` and ``v`` of every edge as positions
    in that selection.
    """
    ids = index.to_numpy()
    u_id, v_id = edges["u"].to_numpy(), edges["v"].to_numpy()
    u_row = index.get_indexer(pd.Index(u_id))
    v_row = index.get_indexer(pd.Index(v_id))
    if (u_row < 0).any() or (v_row < 0).any():
        count = np.unique(np.concatenate([u_id[u_row < 0], v_id[v_row < 0]])).size
        msg = f"`{source}`: {count} way nodes have no coordinates; the extract is cut."
        raise InputError(msg)
    is_used = np.zeros(len(ids), dtype=bool)
    is_used[u_row] = True
    is_used[v_row] = True
    used = np.flatnonzero(is_used)
    if not index.is_monotonic_increasing:
        used = used[np.argsort(ids[used], kind="stable")]
    position = np.empty(len(ids), dtype=np.int64)
    position[used] = np.arange(len(used))
    return used, position[u_row], position[v_row]


def _walkable_mask(edges: pd.DataFrame) -> np.ndarray:
    """True for edges a pedestrian may use, by their OSM tags.

    Left out: :data:`EXCLUDED_HIGHWAYS` (unless ``foot=*`` allows walking), ``foot=no`` /
    ``private`` / ``military``, ``access=*`` with those values unless ``foot=*`` allows
    walking, cycleways without a ``foot=*`` that allows walking, ``service=private``,
    ``area=yes`` (a plaza's outline is not a way) and roads whose sidewalks are mapped as
    separate ways (``sidewalk*=separate``).
    """

    # Plain object arrays: comparing them costs far less than pandas' string columns.
    def tag(name: str) -> np.ndarray:
        return np.asarray(edges[name].to_numpy(object))

    def isin(values: np.ndarray, allowed: frozenset[str]) -> np.ndarray:
        return np.asarray(pd.Series(values, dtype=object).isin(allowed).to_numpy(bool))

    highway = tag("highway")
    foot = tag("foot")
    foot_allowed = isin(foot, _FOOT_ALLOWED)
    excluded = isin(highway, EXCLUDED_HIGHWAYS) & ~foot_allowed
    foot_forbidden = isin(foot, NO_WALKING_ACCESS)
    access_forbidden = isin(tag("access"), NO_WALKING_ACCESS) & ~foot_allowed
    bicycle_only = isin(highway, _FOOT_TAG_REQUIRED) & ~foot_allowed
    private_service = tag("service") == "private"
    area = tag("area") == "yes"
    separate = tag(_SEPARATE_SIDEWALK_TAGS[0]) == "separate"
    for name in _SEPARATE_SIDEWALK_TAGS[1:]:
        separate |= tag(name) == "separate"
    no_highway = highway == ""
    closed = (
        excluded
        | foot_forbidden
        | access_forbidden
        | bicycle_only
        | private_service
        | area
        | separate
        | no_highway
    )
    return np.asarray(~closed, dtype=bool)


def _utm_crs(lon: np.ndarray, lat: np.ndarray) -> Any:
    """The WGS 84 UTM zone of the nodes' bounds, as ``GeoSeries.estimate_utm_crs`` finds it.

    That method asks PROJ's database (40-50 ms) for the zone whose area of use holds the
    centre of the bounds. EPSG's WGS 84 / UTM zones are 6-degree bands (EPSG:326zz north of
    the equator up to 84 degrees, 327zz south of it down to 80), so inside a band the zone
    follows from the longitude; on a band's edge, on the equator and beyond the bands the
    database decides, as before. ``tests/test_network.py`` compares the two around the
    globe, Norway and Svalbard's special zones included.
    """
    x = float(np.mean([lon.min(), lon.max()]))
    y = float(np.mean([lat.min(), lat.max()]))
    band = (x + 180.0) / 6.0
    if -180.0 < x < 180.0 and -80.0 < y < 84.0 and y != 0.0 and band != math.floor(band):
        from pyproj import CRS  # noqa: PLC0415

        return CRS.from_epsg((32600 if y > 0 else 32700) + math.floor(band) + 1)
    corners = gpd.GeoSeries(
        gpd.points_from_xy([lon.min(), lon.max()], [lat.min(), lat.max()]), crs="EPSG:4326"
    )
    return corners.estimate_utm_crs()


def _rule_tags(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The tag columns the walking rules and the terrain read (pyrosm keeps rarer tags in JSON)."""
    tags = ("highway", "foot", "access", "service", "area", *_SEPARATE_SIDEWALK_TAGS, *_KEPT_TAGS)
    in_json = [tag for tag in tags if tag not in frame.columns]
    found = _json_tags(frame["tags"], in_json) if in_json and "tags" in frame.columns else {}
    return {tag: found[tag] if tag in found else _tag_column(frame, tag) for tag in tags}


def _json_tags(raw: pd.Series, tags: list[str]) -> dict[str, np.ndarray]:
    """`tags` read from pyrosm's ``tags`` column (JSON text or dicts), "" where absent.

    Only rows whose text holds one of the tag names in quotes are parsed: most ways carry
    none of the rarer tags the rules read. They are found by one regular-expression search
    through all the texts joined, not row by row.
    """
    values = raw.to_numpy(object)
    out = {tag: np.full(len(values), "", dtype=object) for tag in tags}
    kinds = np.fromiter(map(type, values), dtype=object, count=len(values))
    texts = np.where(kinds == str, values, "")  # noqa: E721 (elementwise, numpy)
    starts = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1)
    quoted = re.compile("|".join(re.escape(f'"{tag}"') for tag in tags))
    found = [match.start() for match in quoted.finditer("\n".join(texts))]
    rows = set(np.searchsorted(starts, found, side="right").tolist())
    rows.update(np.flatnonzero(kinds == dict).tolist())  # noqa: E721 (elementwise, numpy)
    for i in sorted(rows):
        loaded = values[i]
        if isinstance(loaded, str):
            try:
                loaded = json.loads(loaded)
            except ValueError:
                continue
        if not isinstance(loaded, dict):
            continue
        for tag in tags:
            if tag in loaded:
                out[tag][i] = str(loaded[tag])
    return out


def _largest_component(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """True for the nodes (0..n-1) of the largest connected piece of the edges ``u``-``v``."""
    adjacency = sp.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)).tocsr()
    _, labels = connected_components(adjacency, directed=False)
    largest = np.bincount(labels).argmax()
    return np.asarray(labels == largest)


def _tag_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A tag column as plain strings ("" where absent; OSMnx lists joined by ";")."""
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    series = frame[column]
    if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
        # Strings and missing values only (pyrosm): no per-value work in Python.
        return np.asarray(series.astype(object).where(series.notna(), "").to_numpy(object))
    values = series.to_numpy(object)
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        if isinstance(value, list):
            out[i] = value[0] if value else ""
        elif value is None or (isinstance(value, float) and np.isnan(value)):
            out[i] = ""
        else:
            out[i] = str(value)
    return out


def _existing_file(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.is_file():
        msg = f"network file `{path}` does not exist; check the path."
        raise InputError(msg)
    return path


class _osmnx_way_tags:
    """Temporarily make OSMnx keep the way tags the walking rules need."""

    def __enter__(self) -> None:
        import osmnx as ox  # noqa: PLC0415

        self._saved = list(ox.settings.useful_tags_way)
        ox.settings.useful_tags_way = sorted(set(self._saved) | set(_WAY_TAGS))

    def __exit__(self, *exc: object) -> None:
        import osmnx as ox  # noqa: PLC0415

        ox.settings.useful_tags_way = self._saved


def _download(download: Any, *, what: str) -> nx.MultiDiGraph:
    """Run an OSMnx download, turning network failures into :class:`NetworkUnavailableError`."""
    import requests  # noqa: PLC0415
    from osmnx._errors import InsufficientResponseError  # noqa: PLC0415

    with _osmnx_way_tags():
        try:
            graph: nx.MultiDiGraph = download()
        except (requests.exceptions.RequestException, ConnectionError, OSError) as exc:
            msg = (
                f"could not download the walking network for {what} from OpenStreetMap "
                f"({type(exc).__name__}); check the internet connection, or pass a local "
                "`.osm.pbf` extract instead."
            )
            raise NetworkUnavailableError(msg) from exc
        except InsufficientResponseError as exc:
            msg = f"OpenStreetMap returned no walkable ways for {what}; check the area ({exc})."
            raise InputError(msg) from exc
        except ValueError as exc:
            msg = f"OSMnx could not use {what}: {exc}"
            raise InputError(msg) from exc
    return graph
