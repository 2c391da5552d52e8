"""Slope-aware walking: DEM sampling, Tobler edge times, steps, bridges and tunnels.

Method
------
Node elevations are the bilinear interpolation of a digital elevation model (DEM) at each
node, read with rasterio from GeoTIFF, SRTM ``.hgt`` or ``.hgt.zip`` (through GDAL's
``/vsizip/``), VRT or any other raster GDAL reads, in any CRS. Several files (or a folder of
tiles) are sampled in the order given: the first file with a value at a node wins. Nodes
outside every file or next to a nodata cell get no elevation; their edges are walked as flat
(the count is logged and kept for the report).

An edge walked from ``u`` to ``v`` has the grade ``S = (z_v - z_u) / length``. Its speed is
Tobler's hiking function scaled so that flat ground gives the profile's speed ``v_flat``:

    ``speed(S) = v_flat * exp(-3.5 * |S + 0.05|) / exp(-3.5 * 0.05)``

(Tobler, W. "Three presentations on geographical analysis and modeling", NCGIA Technical
Report 93-1, 1993). The engine (:mod:`circle.access`) works in flat-equivalent metres: an
edge walked in one direction costs ``length x v_flat / speed(S)``, that is
``length x exp(3.5 * (|S + 0.05| - 0.05))``, exactly ``length`` on the flat. Uphill and
downhill differ, so the graph is directed; the time that counts is from the home to the
facility.

Bridges and tunnels (``bridge=*`` / ``tunnel=*`` other than ``no``) are walked at grade 0:
the DEM shows the valley under the deck or the hill over the tunnel. Steps
(``highway=steps``) are walked at ``v_flat x steps_factor`` both ways whatever the DEM says
(default :data:`STEPS_FACTOR`), or left out for step-free routes (prams, wheelchairs).

Use::

    dem = load_dem(["N42E001.hgt.zip"])
    costs = edge_costs(network, dem)
    graph = compact_graph(network, costs)  # or flat_graph.with_rates(costs.rates)
    free = step_free_graph(graph, network)  # for the categories that must avoid steps
"""

from __future__ import annotations

import logging
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from circle.access import CompactGraph, EdgeRates
from circle.errors import InputError
from circle.walking import STEPS_FACTOR

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rasterio.io import DatasetReader

    from circle.network import WalkNetwork

__all__ = [
    "DEM_SUFFIXES",
    "STEPS_FACTOR",
    "Dem",
    "DirectedCosts",
    "check_steps_factor",
    "compact_graph",
    "edge_costs",
    "load_dem",
    "lowest_rate",
    "node_elevations",
    "step_free_graph",
    "tobler_rate",
]

logger = logging.getLogger(__name__)

#: Tobler's exponent: speed falls by ``exp(-3.5)`` per unit of grade away from the optimum.
TOBLER_STEEPNESS = 3.5
#: Tobler's fastest grade is a gentle descent of 5 % (``S = -0.05``).
TOBLER_OPTIMAL_GRADE = -0.05
#: File endings read as DEM tiles when a folder is given.
DEM_SUFFIXES: tuple[str, ...] = (".tif", ".tiff", ".hgt", ".hgt.zip", ".vrt", ".img", ".asc")
#: Raster members looked for inside a ``.zip`` file.
_ZIP_MEMBER_SUFFIXES = (".hgt", ".tif", ".tiff", ".img", ".asc")
#: ``bridge=*`` / ``tunnel=*`` values that mean "not a bridge/tunnel" (``""``: untagged).
_NOT_A_STRUCTURE: frozenset[str] = frozenset({"", "no", "false", "0"})


@dataclass(frozen=True)
class Dem:
    """Digital elevation model files, checked readable and georeferenced.

    Build with :func:`load_dem`; rasters are read (only the window over the network) when
    sampled.

    Attributes
    ----------
    files
        The files as the user named them (for errors and reports).
    datasets
        The paths GDAL opens, one per file (``/vsizip/...`` for zipped tiles).
    """

    files: tuple[str, ...]
    datasets: tuple[str, ...]

    @property
    def description(self) -> str:
        """The file names, comma-separated, for reports."""
        return ", ".join(Path(f).name for f in self.files)


@dataclass(frozen=True, eq=False)
class DirectedCosts:
    """Directed edge costs of a walking network, and what went into them.

    Attributes
    ----------
    rates
        The engine's directed rates (flat-equivalent metres per metre).
    grade
        Per edge, the grade walking ``u -> v`` that was used (0 on bridges, tunnels,
        steps, edges with a node without elevation, zero-length edges).
    node_elevation_m
        Per node (in ``network.nodes`` order), the DEM elevation; NaN without one.
    dem
        The DEM used (``None``: no slopes, only the steps rule).
    steps_factor
        Speed on steps as a share of the flat speed.
    step_free
        True when steps were left out.
    nodata_nodes
        Nodes without an elevation (outside the DEM or next to a nodata cell).
    steps_edges
        Edges tagged ``highway=steps``.
    structure_edges
        Bridge and tunnel edges walked flat.
    is_steps
        Per edge, True for ``highway=steps``.
    """

    rates: EdgeRates
    grade: np.ndarray
    node_elevation_m: np.ndarray
    dem: Dem | None
    steps_factor: float
    step_free: bool
    nodata_nodes: int
    steps_edges: int
    structure_edges: int
    is_steps: np.ndarray


def load_dem(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> Dem:
    """Check DEM files (or folders of tiles) and return them as one :class:`Dem`.

    Parameters
    ----------
    paths
        One path or several: GeoTIFF, SRTM ``.hgt`` / ``.hgt.zip``, VRT or any raster GDAL
        reads, or folders whose files ending in :data:`DEM_SUFFIXES` are taken (sorted).

    Returns
    -------
    Dem

    Raises
    ------
    InputError
        A path is missing, a folder holds no DEM file, or a file is not a readable raster
        with a coordinate reference system.
    """
    import rasterio  # noqa: PLC0415  (heavy import, only needed with a DEM)

    given: list[str | os.PathLike[str]] = (
        [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    )
    if not given:
        msg = "no DEM file given; pass a GeoTIFF, `.hgt`, `.hgt.zip` or a folder of tiles."
        raise InputError(msg)
    files: list[Path] = []
    for item in given:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(DEM_SUFFIXES)
            )
            if not found:
                msg = (
                    f"DEM folder `{path}` holds no raster files ({', '.join(DEM_SUFFIXES)}); "
                    "check the folder."
                )
                raise InputError(msg)
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            msg = f"DEM file `{path}` does not exist; check the path."
            raise InputError(msg)
    datasets = []
    for path in files:
        dataset = _gdal_path(path)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", rasterio.errors.NotGeoreferencedWarning)
                with rasterio.open(dataset) as src:
                    crs = src.crs
                    count = src.count
        except rasterio.errors.RasterioError as exc:
            msg = f"DEM file `{path}` could not be read as a raster ({exc}); check the file."
            raise InputError(msg) from exc
        if any(issubclass(w.category, rasterio.errors.NotGeoreferencedWarning) for w in caught):
            msg = (
                f"DEM file `{path}` is not georeferenced (no geotransform); give a GeoTIFF, "
                "`.hgt` or another raster with its position and CRS."
            )
            raise InputError(msg)
        if crs is None:
            msg = (
                f"DEM file `{path}` has no coordinate reference system; georeference it "
                "(e.g. `gdal_edit.py -a_srs EPSG:4326`)."
            )
            raise InputError(msg)
        if count < 1:
            msg = f"DEM file `{path}` has no raster band."
            raise InputError(msg)
        datasets.append(dataset)
    return Dem(tuple(str(f) for f in files), tuple(datasets))


def node_elevations(network: WalkNetwork, dem: Dem) -> np.ndarray:
    """Bilinear DEM elevation (metres) at every node of `network`.

    The four cells around a node are interpolated bilinearly between their centres; a
    node in the outer half-cell of a raster takes the nearest row or column. Files are
    tried in order and the first value found wins.

    Parameters
    ----------
    network
        The walking network.
    dem
        The elevation model.

    Returns
    -------
    numpy.ndarray
        One value per node in ``network.nodes`` order; NaN where no file covers the node or
        a cell it needs is nodata.

    Raises
    ------
    InputError
        The DEM does not overlap the network, or is nodata at every node.
    """
    import rasterio  # noqa: PLC0415
    from pyproj import Transformer  # noqa: PLC0415

    x = network.nodes.geometry.x.to_numpy()
    y = network.nodes.geometry.y.to_numpy()
    elevation = np.full(len(x), np.nan)
    covered = np.zeros(len(x), dtype=bool)
    for file, dataset in zip(dem.files, dem.datasets, strict=True):
        todo = np.flatnonzero(np.isnan(elevation))
        if todo.size == 0:
            break
        with rasterio.open(dataset) as src:
            transformer = Transformer.from_crs(network.crs, src.crs, always_xy=True)
            sx, sy = transformer.transform(x[todo], y[todo])
            inside, values = _bilinear(src, np.asarray(sx, float), np.asarray(sy, float))
        logger.debug("%s covers %d of %d nodes", file, int(inside.sum()), todo.size)
        covered[todo[inside]] = True
        elevation[todo] = values
    if not covered.any():
        west, south, east, north = network.nodes.to_crs("EPSG:4326").total_bounds
        msg = (
            f"DEM `{dem.description}` does not overlap the walking network (which lies in "
            f"{west:.4f}..{east:.4f} E, {south:.4f}..{north:.4f} N); give a DEM that covers "
            "the study area."
        )
        raise InputError(msg)
    if np.isnan(elevation).all():
        msg = (
            f"DEM `{dem.description}` is nodata at every node of the walking network; "
            "check the file (or its nodata value)."
        )
        raise InputError(msg)
    return elevation


def tobler_rate(grade: np.ndarray | float) -> np.ndarray:
    """Flat-equivalent metres per metre walked at `grade` (``v_flat / speed(grade)``).

    Parameters
    ----------
    grade
        Rise over run, signed in the walking direction (``0.1`` = 10 % uphill).

    Returns
    -------
    numpy.ndarray
        ``exp(3.5 * (|grade + 0.05| - 0.05))``: exactly 1 on the flat, below 1 on gentle
        descents (Tobler's optimum, 5 % down, is 19 % faster than the flat), above 1
        uphill and on steep descents.

    Examples
    --------
    >>> float(tobler_rate(0.0))
    1.0
    >>> round(float(tobler_rate(0.1)), 4)
    1.4191
    """
    g = np.asarray(grade, dtype=float)
    return np.asarray(
        np.exp(TOBLER_STEEPNESS * (np.abs(g - TOBLER_OPTIMAL_GRADE) + TOBLER_OPTIMAL_GRADE))
    )


def check_steps_factor(steps_factor: float) -> None:
    """Raise :class:`~circle.errors.InputError` unless `steps_factor` is a positive number."""
    if not (np.isfinite(steps_factor) and steps_factor > 0):
        msg = f"`steps_factor` must be a positive number, got `{steps_factor}`."
        raise InputError(msg)


def lowest_rate(*, slopes: bool, steps_factor: float | None) -> float:
    """The fewest flat-equivalent metres any edge can cost per metre walked.

    A search that may spend ``B`` flat-equivalent metres walks at most ``B / lowest_rate``
    metres of way: that is how far a cut-out network must reach (:mod:`circle.batch`).
    Tobler's rate is smallest at its optimum grade, a 5 % descent:
    ``exp(3.5 * (0 - 0.05)) = exp(-0.175) = 0.8395``, so a flat-metre bound is 19 % too
    short on a gentle slope. Steps cost ``1 / steps_factor`` (below 1 when they are walked
    faster than the flat); bridges, tunnels and undated nodes cost 1.

    Parameters
    ----------
    slopes
        A DEM is used (grades other than 0 occur).
    steps_factor
        The steps factor in use (``None``: steps are walked like any way).

    Returns
    -------
    float
        At most 1.

    Examples
    --------
    >>> round(lowest_rate(slopes=True, steps_factor=0.5), 4)
    0.8395
    >>> lowest_rate(slopes=False, steps_factor=None)
    1.0
    """
    rate = 1.0
    if slopes:
        rate = min(rate, float(tobler_rate(TOBLER_OPTIMAL_GRADE)))
    if steps_factor is not None:
        rate = min(rate, 1.0 / steps_factor)
    return rate


def edge_costs(
    network: WalkNetwork,
    dem: Dem | None,
    *,
    steps_factor: float = STEPS_FACTOR,
    step_free: bool = False,
    node_elevation_m: np.ndarray | None = None,
) -> DirectedCosts:
    """Directed walking costs of every edge: Tobler on slopes, steps, flat structures.

    Parameters
    ----------
    network
        The walking network; its ``highway``, ``bridge`` and ``tunnel`` columns are read
        (absent columns mean untagged).
    dem
        The elevation model; ``None`` keeps every grade at 0 (only the steps rule applies).
    steps_factor
        Speed on ``highway=steps`` as a share of the flat speed, both ways (positive;
        default :data:`STEPS_FACTOR`).
    step_free
        Leave steps out (impassable), for prams and wheelchairs.
    node_elevation_m
        Elevations already sampled (from :func:`node_elevations`), to avoid sampling twice.

    Returns
    -------
    DirectedCosts

    Raises
    ------
    InputError
        `steps_factor` is not a positive number, or the DEM does not cover the network
        (see :func:`node_elevations`).
    """
    check_steps_factor(steps_factor)
    edges = network.edges
    n_nodes = len(network.nodes)
    if node_elevation_m is None:
        node_elevation_m = (
            node_elevations(network, dem) if dem is not None else np.full(n_nodes, np.nan)
        )
    nodata = int(np.isnan(node_elevation_m).sum()) if dem is not None else 0
    if dem is not None and nodata:
        logger.warning(
            "%d of %d network nodes lie outside the DEM or next to nodata cells; their edges "
            "are walked as flat",
            nodata,
            n_nodes,
        )
    index = network.nodes.index
    u = index.get_indexer(edges["u"].to_numpy(np.int64))
    v = index.get_indexer(edges["v"].to_numpy(np.int64))
    length = edges["length_m"].to_numpy(float)
    rise = node_elevation_m[v] - node_elevation_m[u]
    grade = np.divide(rise, length, out=np.zeros(len(length)), where=length > 0)
    highway = _tag(edges, "highway")
    steps = highway == "steps"
    structure = ~np.isin(_tag(edges, "bridge"), list(_NOT_A_STRUCTURE)) | ~np.isin(
        _tag(edges, "tunnel"), list(_NOT_A_STRUCTURE)
    )
    grade[~np.isfinite(grade) | structure | steps] = 0.0
    forward = tobler_rate(grade)
    backward = tobler_rate(-grade)
    steps_rate = 1.0 / steps_factor
    forward[steps] = steps_rate
    backward[steps] = steps_rate
    passable = ~steps if step_free else np.ones(len(edges), dtype=bool)
    return DirectedCosts(
        rates=EdgeRates(forward, backward, passable),
        grade=grade,
        node_elevation_m=node_elevation_m,
        dem=dem,
        steps_factor=float(steps_factor),
        step_free=step_free,
        nodata_nodes=nodata,
        steps_edges=int(steps.sum()),
        structure_edges=int(structure.sum()),
        is_steps=steps,
    )


def compact_graph(network: WalkNetwork, costs: DirectedCosts | None) -> CompactGraph:
    """The engine's graph of `network` with `costs` (``None``: the flat graph).

    To keep a flat graph and a sloped one side by side, build the flat one and call
    ``flat.with_rates(costs.rates)``: snaps stay valid when no edge is left out.
    """
    return CompactGraph(network, rates=None if costs is None else costs.rates)


def step_free_graph(graph: CompactGraph, network: WalkNetwork) -> CompactGraph:
    """`graph` with every ``highway=steps`` edge impassable: routes for prams and wheelchairs.

    The edge rates (slopes, flat or not) are kept; edge indices mean the same edges on both
    graphs, so snaps made on `graph` can be carried over with
    :meth:`circle.access.CompactGraph.resnap`.

    Parameters
    ----------
    graph
        The engine's graph of `network`.
    network
        The walking network `graph` was compiled from (its ``highway`` column is read).

    Returns
    -------
    CompactGraph
        A new graph sharing `graph`'s node and edge arrays; `graph` itself when no edge is
        a staircase or the steps are already impassable.
    """
    steps = _tag(network.edges, "highway") == "steps"
    rates = graph.rates
    passable = rates.passable & ~steps
    if (passable == rates.passable).all():
        return graph
    return graph.with_rates(EdgeRates(rates.forward, rates.backward, passable))


def _gdal_path(path: Path) -> str:
    """The path GDAL opens: zipped rasters through ``/vsizip/``."""
    if not path.name.lower().endswith(".zip"):
        return str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if m.lower().endswith(_ZIP_MEMBER_SUFFIXES)]
    except (zipfile.BadZipFile, OSError) as exc:
        msg = f"DEM file `{path}` is not a readable zip archive ({exc}); check the file."
        raise InputError(msg) from exc
    if len(members) != 1:
        what = "no raster" if not members else f"{len(members)} rasters"
        msg = (
            f"DEM file `{path}` holds {what} ({', '.join(_ZIP_MEMBER_SUFFIXES)}); "
            "give a zip with exactly one tile, or unzip it and pass the folder."
        )
        raise InputError(msg)
    return f"/vsizip/{path.resolve()}/{members[0]}"


def _bilinear(src: DatasetReader, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear values of band 1 of the open dataset `src` at points in its CRS.

    Returns a mask of the points inside the raster and the values (NaN outside, or where a
    cell with a non-zero weight is nodata).
    """
    from rasterio.windows import Window  # noqa: PLC0415

    height: int = src.height
    width: int = src.width
    inverse = ~src.transform
    col = inverse.a * x + inverse.b * y + inverse.c
    row = inverse.d * x + inverse.e * y + inverse.f
    values = np.full(len(x), np.nan)
    inside = np.isfinite(col) & np.isfinite(row)
    inside &= (col >= 0) & (col <= width) & (row >= 0) & (row <= height)
    if not inside.any():
        return inside, values
    # Fractional positions between cell centres, the outer half-cell clamped.
    fx = np.clip(col[inside] - 0.5, 0.0, width - 1.0)
    fy = np.clip(row[inside] - 0.5, 0.0, height - 1.0)
    j0 = np.minimum(np.floor(fx).astype(np.int64), max(width - 2, 0))
    i0 = np.minimum(np.floor(fy).astype(np.int64), max(height - 2, 0))
    wx = fx - j0
    wy = fy - i0
    j1 = np.minimum(j0 + 1, width - 1)
    i1 = np.minimum(i0 + 1, height - 1)
    top, left = int(i0.min()), int(j0.min())
    window = Window(left, top, int(j1.max()) - left + 1, int(i1.max()) - top + 1)
    band = src.read(1, window=window, masked=True)
    scale = float(src.scales[0] or 1.0)
    offset = float(src.offsets[0] or 0.0)
    data = np.asarray(band.filled(0), dtype=float) * scale + offset
    invalid = np.ma.getmaskarray(band) | ~np.isfinite(data)
    corners = [
        (i0, j0, (1 - wy) * (1 - wx)),
        (i0, j1, (1 - wy) * wx),
        (i1, j0, wy * (1 - wx)),
        (i1, j1, wy * wx),
    ]
    total = np.zeros(fx.size)
    bad = np.zeros(fx.size, dtype=bool)
    for i, j, weight in corners:
        r, c = i - top, j - left
        bad |= invalid[r, c] & (weight > 0)
        total += np.where(invalid[r, c], 0.0, data[r, c]) * weight
    total[bad] = np.nan
    values[inside] = total
    return inside, values


def _tag(edges: pd.DataFrame, column: str) -> np.ndarray:
    """An edge tag column as strings (``""`` where absent or missing)."""
    if column not in edges.columns:
        return np.full(len(edges), "", dtype=object)
    values = edges[column].to_numpy(object)
    return np.array(["" if v is None or pd.isna(v) else str(v) for v in values], dtype=object)
