"""Neighbourhood units (H3 grid or the planner's polygons) and where people live in them."""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely
from h3.api import basic_int as h3_int
from pyproj import CRS, Transformer

from circle._options import parse_key_values
from circle._pbf import osm_reader
from circle._read import read_table
from circle._validate import Problems, check_readable_file, describe_mask
from circle.access import Snap
from circle.defaults import DEFAULT_H3_RESOLUTION, POPULATION_PROXIES, PopulationProxy
from circle.errors import InputError
from circle.i18n import word
from circle.walking import DEFAULT_MAX_SNAP_M

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping

    from circle.access import CompactGraph
    from circle.i18n import Lang

__all__ = [
    "DEFAULT_BUILDING_LEVELS",
    "DEFAULT_H3_RESOLUTION",
    "FLOOR_AREA_PER_RESIDENT_M2",
    "H3_RESOLUTIONS",
    "LARGE_H3_GRID",
    "MIN_RESIDENTIAL_SHARE",
    "NETWORK_SAMPLE_SPACING_M",
    "POPULATION_PROXIES",
    "POPULATION_UNITS",
    "RESIDENTIAL_BUILDINGS",
    "People",
    "PopulationProxy",
    "areas_from_frame",
    "assign_areas",
    "check_h3_resolution",
    "h3_areas",
    "h3_cell_areas",
    "parse_population_fields",
    "people_from_buildings",
    "people_from_points",
    "people_from_polygons",
    "people_uniform",
    "read_areas",
    "read_population",
    "read_population_raster",
    "residential_buildings",
]

logger = logging.getLogger(__name__)

#: What a unit of population can be: counted people, metres of walkable way (the proxy without
#: population data) or residents estimated from residential floor area.
POPULATION_UNITS: Final = ("people", "network_m", "floor_area_residents")
#: H3 resolution 9: hexagons of about 0.1 km2 (edge about 200 m), a few city blocks.
#: H3 resolutions accepted for neighbourhoods: 5 (about 250 km2 per cell) to 11 (about
#: 2,000 m2, a building or two); finer cells hold no population estimate worth reporting.
H3_RESOLUTIONS: Final = range(5, 12)
#: Above this many hexagons the report and map get large (warned about).
LARGE_H3_GRID: Final = 50_000
#: Population spread along the network is placed on points this far apart (metres).
NETWORK_SAMPLE_SPACING_M = 20.0
#: ``building=*`` values counted as homes for the population proxy.
RESIDENTIAL_BUILDINGS: frozenset[str] = frozenset(
    {
        "apartments",
        "residential",
        "house",
        "detached",
        "semidetached_house",
        "terrace",
        "dormitory",
        "bungalow",
        "farm",
        "static_caravan",
    }
)
#: Storeys assumed where a residential building has no ``building:levels`` tag.
DEFAULT_BUILDING_LEVELS = 3.0
#: With ``population_proxy="auto"``, OSM buildings stand for homes only where at least this
#: share of them carries a residential type (else people go evenly along the network).
MIN_RESIDENTIAL_SHARE = 0.25
#: Residential floor area per resident (m2), to turn floor area into residents: China's 2020
#: census gives 41.8 m2 per urban resident; Finland's statistics about 40 m2.
FLOOR_AREA_PER_RESIDENT_M2 = 40.0


@dataclass(frozen=True, eq=False)
class People:
    """Where people are: points with a population, joined to the network.

    Attributes
    ----------
    geometry
        Points in the network's CRS.
    population
        People at each point (floats; a proxy where :attr:`source` says so).
    snap
        Where each point joins the network (leg 0 for points sampled on the network).
    source
        Which population data was used, in words, for reports.
    proxy
        True when the population is an estimate, not counts.
    by_category
        Per category, the people it serves at each point when that is a demand group
        (people over 65 for canteens, children under 3 for nurseries), else absent.
    unit
        What one unit of :attr:`population` is (:data:`POPULATION_UNITS`): ``"people"``;
        ``"network_m"`` for a metre of walkable way (the proxy without population data:
        only shares mean something); ``"floor_area_residents"`` for residents estimated
        from residential floor area.
    """

    geometry: gpd.GeoSeries
    population: np.ndarray
    snap: Snap
    source: str
    proxy: bool = False
    by_category: dict[str, np.ndarray] = field(default_factory=dict)
    unit: str = "people"
    source_key: str = ""
    source_values: dict[str, str] = field(default_factory=dict)
    # Snaps on other graphs (a step-free one), by the graph's id, with the graph kept alive.
    _snaps: dict[int, tuple[CompactGraph, Snap]] = field(
        default_factory=dict, init=False, repr=False
    )

    def snap_on(self, graph: CompactGraph, *, max_snap_m: float) -> Snap:
        """Where the people join `graph`, a graph with the same edges as the one they joined.

        People whose way is impassable on `graph` (a staircase on a step-free graph) join
        the nearest passable way within `max_snap_m` instead (see
        :meth:`circle.access.CompactGraph.resnap`); the rest keep :attr:`snap`. Computed
        once per graph.
        """
        cached = self._snaps.get(id(graph))
        if cached is not None and cached[0] is graph:
            return cached[1]
        snap = graph.resnap(self.snap, self.geometry.to_numpy(), max_snap_m=max_snap_m)
        self._snaps[id(graph)] = (graph, snap)
        return snap

    def describe(self, lang: Lang = "en") -> str:
        """Which population data was used, in `lang` (:attr:`source` where no words exist)."""
        if not self.source_key:
            return self.source
        return word(f"people.{self.source_key}", lang, **self.source_values)

    def __len__(self) -> int:
        return len(self.population)

    def for_category(self, category: str) -> np.ndarray:
        """The people a category serves at each point (its demand group, else everyone)."""
        return self.by_category.get(category, self.population)

    @property
    def total(self) -> float:
        """Total population."""
        return float(self.population.sum())


# ---------------------------------------------------------------------------------------
# Neighbourhoods


def check_h3_resolution(resolution: int) -> int:
    """Return `resolution` if it is a whole number in :data:`H3_RESOLUTIONS`.

    Raises
    ------
    InputError
        Otherwise.
    """
    if not (isinstance(resolution, int) and resolution in H3_RESOLUTIONS):
        msg = (
            f"`--h3-res` must be a whole number from {H3_RESOLUTIONS[0]} to "
            f"{H3_RESOLUTIONS[-1]}, got `{resolution}` (9: about 0.1 km2 per hexagon)."
        )
        raise InputError(msg)
    return resolution


def h3_areas(points: gpd.GeoSeries, *, resolution: int = DEFAULT_H3_RESOLUTION) -> gpd.GeoDataFrame:
    """The H3 hexagons (WGS-84) that hold at least one of `points`.

    Parameters
    ----------
    points
        Points in any CRS: the network's nodes and the people.
    resolution
        H3 resolution, 0-15 (9: about 0.1 km2 per cell).

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id`` (the H3 index), ``name`` (the same) and the hexagon, sorted by id.
    """
    return h3_cell_areas(h3_cells(points, resolution=resolution), resolution=resolution)


def h3_cell_areas(cells: np.ndarray, *, resolution: int) -> gpd.GeoDataFrame:
    """The H3 hexagons (WGS-84) of `cells`, once each, as :func:`h3_areas` gives them.

    Parameters
    ----------
    cells
        H3 indexes (text) at `resolution`, such as :func:`h3_cells` gives; repeats are fine.
    resolution
        Their resolution (for the warning about very large grids).

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id`` (the H3 index), ``name`` (the same) and the hexagon, sorted by id.
    """
    check_h3_resolution(resolution)
    ids = sorted(set(cells))
    if len(ids) > LARGE_H3_GRID:
        logger.warning(
            "%d H3 hexagons at resolution %d: the report and map will be large and slow; "
            "a coarser --h3-res (one less: about 7 times fewer cells) is quicker",
            len(ids),
            resolution,
        )
    # Each boundary as (lat, lng) pairs: 6 corners, more where a cell crosses an
    # icosahedron edge; one array of (lng, lat) rows cut into rings.
    boundaries = [h3.cell_to_boundary(c) for c in ids]
    corners = np.array([len(b) for b in boundaries], dtype=np.int64)
    latlng = np.array([pair for b in boundaries for pair in b], dtype=float).reshape(-1, 2)
    rings = shapely.linearrings(latlng[:, ::-1], indices=np.repeat(np.arange(len(ids)), corners))
    polygons = shapely.polygons(rings)
    return gpd.GeoDataFrame({"area_id": ids, "name": ids}, geometry=polygons, crs="EPSG:4326")


def h3_cells(points: gpd.GeoSeries, *, resolution: int) -> np.ndarray:
    """The H3 cell (text index) of every point.

    The points' coordinates go through one pyproj transformer to WGS-84 (as
    ``GeoSeries.to_crs`` would move them); H3's integer indexes are found per point and
    written as text once per distinct cell.
    """
    check_h3_resolution(resolution)
    lon, lat = _lonlat(points)
    find = h3_int.latlng_to_cell
    found = np.fromiter(
        map(find, lat, lon, itertools.repeat(resolution, len(lon))), dtype=np.uint64, count=len(lon)
    )
    distinct, which = np.unique(found, return_inverse=True)
    text = np.array([h3_int.int_to_str(int(c)) for c in distinct], dtype=object)
    return np.asarray(text[which.reshape(-1)], dtype=object)


def _lonlat(points: gpd.GeoSeries) -> tuple[list[float], list[float]]:
    """Longitudes and latitudes of points, as Python floats."""
    wgs84 = CRS.from_epsg(4326)
    geometry = points.to_numpy()
    x, y = shapely.get_x(geometry), shapely.get_y(geometry)
    if points.crs is None:
        msg = "the points have no CRS; set one (`GeoSeries.set_crs`) before finding H3 cells."
        raise ValueError(msg)
    if not points.crs.is_exact_same(wgs84):
        x, y = Transformer.from_crs(points.crs, wgs84, always_xy=True).transform(x, y)
    return np.asarray(x, dtype=float).tolist(), np.asarray(y, dtype=float).tolist()


def read_areas(
    path: str | os.PathLike[str],
    *,
    id_field: str = "id",
    name_field: str = "name",
    layer: str | None = None,
    coords: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Read the planner's neighbourhood polygons (e.g. community 社区 boundaries).

    Parameters
    ----------
    path
        GeoJSON, GeoPackage or Shapefile of polygons.
    id_field
        Column of unique ids.
    name_field
        Column of names (the id is used where absent).
    layer
        Layer of a multi-layer GeoPackage.
    coords
        {"wgs84", "gcj02", "bd09"}: the coordinate system of the file.

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id`` (str), ``name`` (str) and the polygon (WGS-84), in file order.

    Raises
    ------
    InputError
        Missing id column, empty/duplicate ids, missing or invalid polygons.
    """
    file = check_readable_file(path, what="areas file")
    frame = read_table(file, layer=layer, coords=coords, what="areas file")
    return areas_from_frame(frame, id_field=id_field, name_field=name_field, source=str(file))


def areas_from_frame(
    frame: pd.DataFrame,
    *,
    id_field: str = "id",
    name_field: str = "name",
    source: str = "the areas GeoDataFrame",
) -> gpd.GeoDataFrame:
    """Check neighbourhood polygons given in Python the way :func:`read_areas` checks a file.

    Parameters
    ----------
    frame
        Polygons with an id column (`id_field`; ``area_id`` is accepted too) and optionally
        names; without a CRS, WGS-84 is assumed. It is not modified.
    id_field, name_field
        Columns of ids and names.
    source
        How messages name the table.

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id`` (str), ``name`` (str) and the polygon (WGS-84), in row order.

    Raises
    ------
    InputError
        No geometry, a missing id column, empty/duplicate ids, missing or invalid polygons.
    """
    file = source
    if not isinstance(frame, gpd.GeoDataFrame):
        msg = f"`{file}` has no geometry; neighbourhoods must be polygons (GeoJSON, GPKG, SHP)."
        raise InputError(msg)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    if id_field not in frame.columns and id_field == "id" and "area_id" in frame.columns:
        id_field = "area_id"
    if id_field not in frame.columns:
        msg = (
            f"`{file}` has no `{id_field}` column; columns are "
            f"{', '.join(map(str, frame.columns.drop('geometry')))}; "
            "choose one with `--area-id-field`."
        )
        raise InputError(msg)
    problems = Problems(file, note="features counted from 1")
    ids = frame[id_field]
    empty_id = ids.isna().to_numpy() | (ids.astype(str).str.strip() == "").to_numpy()
    if empty_id.any():
        problems.add(
            f"{describe_mask(empty_id, unit='feature')}: `{id_field}` is empty; "
            "give every area an id"
        )
    id_text = ids.astype(str).str.strip()
    duplicated = id_text.duplicated(keep=False).to_numpy() & ~empty_id
    if duplicated.any():
        names = ", ".join(sorted(set(id_text[duplicated]))[:5])
        problems.add(
            f"{describe_mask(duplicated, unit='feature')}: duplicate ids ({names}); "
            "ids must be unique"
        )
    geoms = frame.geometry.array
    missing = np.asarray(frame.geometry.isna() | frame.geometry.is_empty)
    if missing.any():
        problems.add(
            f"{describe_mask(missing, unit='feature')}: no geometry; "
            "draw the area or remove the row"
        )
    kinds = np.asarray(frame.geometry.geom_type.fillna(""))
    not_polygon = ~missing & ~np.isin(kinds, ["Polygon", "MultiPolygon"])
    if not_polygon.any():
        problems.add(
            f"{describe_mask(not_polygon, unit='feature')}: "
            f"not a polygon ({kinds[not_polygon][0]}); "
            "areas must be polygons"
        )
    invalid = ~missing & ~not_polygon & ~shapely.is_valid(geoms)
    if invalid.any():
        first = int(np.flatnonzero(invalid)[0])
        reason = shapely.is_valid_reason(geoms[first])
        problems.add(
            f"{describe_mask(invalid, unit='feature')}: invalid polygon ({reason}); "
            "repair it, e.g. with QGIS "
            "'Fix geometries' or shapely.make_valid"
        )
    problems.raise_if_any()
    area_names = frame[name_field].astype(str) if name_field in frame.columns else id_text
    return gpd.GeoDataFrame(
        {"area_id": id_text.to_numpy(), "name": area_names.fillna("").to_numpy()},
        geometry=frame.geometry.to_numpy(),
        crs="EPSG:4326",
    )


# ---------------------------------------------------------------------------------------
# Population


def read_population(
    path: str | os.PathLike[str],
    *,
    population_field: str = "population",
    category_fields: Mapping[str, str] | None = None,
    lon_field: str = "lon",
    lat_field: str = "lat",
    layer: str | None = None,
    coords: str = "wgs84",
) -> gpd.GeoDataFrame:
    """Read a population layer: points (CSV with lon/lat, GeoJSON, GPKG) or polygons.

    Parameters
    ----------
    path
        The file.
    population_field
        Column of people counts: numbers, zero or more.
    category_fields
        Demand groups: per category, another column of people counts (for example
        ``{"canteen": "pop_65plus", "daycare": "pop_0_3"}``).
    lon_field, lat_field
        CSV coordinate columns.
    layer
        GeoPackage layer.
    coords
        {"wgs84", "gcj02", "bd09"}.

    Returns
    -------
    geopandas.GeoDataFrame
        ``population`` (float), ``population:<category>`` for each demand group, and the
        geometry (WGS-84); rows with zero population are kept.

    Raises
    ------
    InputError
        The field is missing, not numeric or negative; geometry missing or invalid.
    """
    file = check_readable_file(path, what="population file")
    frame = read_table(
        file,
        layer=layer,
        coords=coords,
        lon_field=lon_field,
        lat_field=lat_field,
        what="population file",
    )
    fields = {"population": population_field}
    fields.update({f"population:{c}": f for c, f in (category_fields or {}).items()})
    absent = [f for f in dict.fromkeys(fields.values()) if f not in frame.columns]
    if absent:
        columns = ", ".join(str(c) for c in frame.columns if c != "geometry")
        msg = (
            f"`{file}` has no `{absent[0]}` column; columns are {columns}; "
            "choose one with `--population-field`."
        )
        raise InputError(msg)
    problems = Problems(str(file), note="rows counted from 1")
    counts = {}
    for name, column in fields.items():
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
        not_number = ~np.isfinite(values)
        if not_number.any():
            problems.add(
                f"{describe_mask(not_number)}: `{column}` is empty or not a number; "
                "give a count of people (0 or more)"
            )
        negative = np.isfinite(values) & (values < 0)
        if negative.any():
            problems.add(
                f"{describe_mask(negative)}: `{column}` is negative; people counts are 0 or more"
            )
        counts[name] = values
    geoms = frame.geometry.array
    missing = np.asarray(frame.geometry.isna() | frame.geometry.is_empty)
    if missing.any():
        problems.add(f"{describe_mask(missing)}: no geometry")
    invalid = ~missing & ~shapely.is_valid(geoms)
    if invalid.any():
        problems.add(f"{describe_mask(invalid)}: invalid geometry; repair it")
    kinds = set(frame.geometry.geom_type.dropna())
    if kinds - {"Point", "Polygon", "MultiPolygon"}:
        problems.add(f"geometries must be points or polygons, found {sorted(kinds)}")
    elif {"Point"} < kinds:
        problems.add("mixes points and polygons; use one kind per file")
    problems.raise_if_any()
    return gpd.GeoDataFrame(counts, geometry=frame.geometry.to_numpy(), crs="EPSG:4326")


#: File suffixes read as population rasters (GeoTIFF: WorldPop, GHS-POP, LandScan, a bureau's grid).
RASTER_SUFFIXES: Final = (".tif", ".tiff")


def read_population_raster(
    path: str | os.PathLike[str],
    *,
    bounds: tuple[float, float, float, float] | None = None,
    bounds_crs: Any = "EPSG:4326",
) -> gpd.GeoDataFrame:
    """Read a population grid (GeoTIFF) as one square polygon per cell with people.

    Cells holding nodata, NaN, zero or a negative value (some products write -99999 for
    water without declaring it as nodata) hold nobody and are left out; the number of
    negative cells is logged. Any CRS that rasterio can read is accepted; the polygons keep
    it (:func:`people_from_polygons` reprojects them).

    Parameters
    ----------
    path
        The GeoTIFF (band 1 holds people per cell).
    bounds
        Read only the cells within these ``(west, south, east, north)`` (the network's
        extent), so a national grid costs what the study area costs.
    bounds_crs
        The CRS of `bounds`.

    Returns
    -------
    geopandas.GeoDataFrame
        ``population`` (float) and a polygon per cell, in the raster's CRS.

    Raises
    ------
    InputError
        The file is not a raster, has no CRS, or holds nobody in the study area.
    """
    import rasterio  # noqa: PLC0415
    from rasterio.errors import RasterioIOError, WindowError  # noqa: PLC0415
    from rasterio.warp import transform_bounds  # noqa: PLC0415
    from rasterio.windows import Window, from_bounds  # noqa: PLC0415

    file = check_readable_file(path, what="population raster")
    try:
        dataset = rasterio.open(file)
    except RasterioIOError as error:
        msg = f"Cannot read `{file}` as a raster: {error}; give a GeoTIFF of people per cell."
        raise InputError(msg) from None
    with dataset:
        if dataset.crs is None:
            msg = (
                f"`{file}` declares no coordinate system; save the grid with its CRS "
                "(e.g. EPSG:4326 for WorldPop) and try again."
            )
            raise InputError(msg)
        window = Window(0, 0, dataset.width, dataset.height)
        if bounds is not None:
            wanted = transform_bounds(bounds_crs, dataset.crs, *bounds)
            inside = from_bounds(*wanted, transform=dataset.transform)
            col0, row0 = math.floor(inside.col_off), math.floor(inside.row_off)
            col1 = math.ceil(inside.col_off + inside.width)
            row1 = math.ceil(inside.row_off + inside.height)
            try:
                window = Window(col0, row0, col1 - col0, row1 - row0).intersection(window)
            except WindowError:
                msg = (
                    f"`{file}` does not cover the study area; check that the grid and the "
                    "network are the same place."
                )
                raise InputError(msg) from None
        values = dataset.read(1, window=window, masked=True).astype(float)
        transform = dataset.window_transform(window)
        crs = dataset.crs
    data = np.ma.filled(values, np.nan)
    negative = np.isfinite(data) & (data < 0)
    if negative.any():
        logger.info("%s: %d cells hold a negative value; read as nobody", file, int(negative.sum()))
    rows, cols = np.nonzero(np.isfinite(data) & (data > 0))
    if rows.size == 0:
        msg = (
            f"`{file}` holds no people inside the study area; check that the grid covers "
            "the network (and that band 1 holds people per cell)."
        )
        raise InputError(msg)
    xs0 = transform.c + transform.a * cols + transform.b * rows
    ys0 = transform.f + transform.d * cols + transform.e * rows
    xs1 = xs0 + transform.a + transform.b
    ys1 = ys0 + transform.d + transform.e
    boxes = shapely.box(
        np.minimum(xs0, xs1), np.minimum(ys0, ys1), np.maximum(xs0, xs1), np.maximum(ys0, ys1)
    )
    logger.info("%s: %d cells with people, %.0f people", file, rows.size, data[rows, cols].sum())
    return gpd.GeoDataFrame({"population": data[rows, cols]}, geometry=boxes, crs=crs)


def parse_population_fields(text: str) -> tuple[str, dict[str, str]]:
    """Read ``--population-field``: ``"pop"`` or ``"pop,canteen=pop_65plus,daycare=pop_0_3"``.

    Returns
    -------
    field, category_fields
        The column for everyone (``"population"`` unless a bare name is given) and the
        demand-group column of each category named.

    Examples
    --------
    >>> parse_population_fields("canteen=pop_65plus")
    ('population', {'canteen': 'pop_65plus'})
    """
    parsed = parse_key_values(
        text,
        option="--population-field",
        example="pop,canteen=pop_65plus,daycare=pop_0_3",
        allow_bare=True,
    )
    if len(parsed.bare) > 1:
        msg = (
            f"`--population-field {text}` names {len(parsed.bare)} columns for everyone; "
            "give one, then `category=column` pairs."
        )
        raise InputError(msg)
    return (parsed.bare[0] if parsed.bare else "population"), parsed.pairs


def people_from_points(
    graph: CompactGraph,
    points: gpd.GeoDataFrame,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    source: str = "population points",
) -> People:
    """People at points with a ``population`` column, each joined to the network by its leg.

    Parameters
    ----------
    graph
        The compact walking graph.
    points
        Points with ``population``.
    max_snap_m
        Points farther than this from every walkable way are off-network (never covered).
    source
        Description for reports.

    Returns
    -------
    People
    """
    geometry = points.geometry.to_crs(graph.crs).reset_index(drop=True)
    snap = graph.snap(geometry, max_snap_m=max_snap_m)
    off = ~snap.on_network
    if off.any():
        logger.warning(
            "%d population points (%.0f people) are more than %g m from any walkable way; "
            "they count as not covered",
            int(off.sum()),
            float(points["population"].to_numpy()[off].sum()),
            max_snap_m,
        )
    return People(
        geometry, points["population"].to_numpy(float), snap, source, by_category=_groups(points)
    )


def _groups(table: pd.DataFrame, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The demand-group columns (``population:<category>``) of a population table."""
    groups = {}
    for column in table.columns:
        if isinstance(column, str) and column.startswith("population:"):
            values = table[column].to_numpy(float)
            groups[column.split(":", 1)[1]] = values if rows is None else values[rows]
    return groups


def people_from_polygons(
    graph: CompactGraph, polygons: gpd.GeoDataFrame, *, max_snap_m: float = DEFAULT_MAX_SNAP_M
) -> People:
    """Spread each polygon's population along the walkable network inside it.

    Every edge is cut exactly at the polygon boundaries; each polygon gives its population
    to the pieces of way inside it in proportion to their length, and each piece holds its
    share on points at most :data:`NETWORK_SAMPLE_SPACING_M` apart. A polygon with no
    walkable way inside puts its population at a point inside it, joined to the network by
    an access leg. Population totals are preserved; where the polygons do not align with
    the neighbourhoods, people follow the network, so they split between neighbourhoods by
    walkable length rather than by area.

    Parameters
    ----------
    graph
        The compact walking graph.
    polygons
        Polygons with ``population``.
    max_snap_m
        A polygon without walkable ways puts its people at a point inside it; farther than
        this from every way, that point is off-network (never covered).

    Returns
    -------
    People
    """
    cells = polygons.to_crs(graph.crs).reset_index(drop=True)
    cell_geoms = np.asarray(cells.geometry.array, dtype=object)
    cell_population = cells["population"].to_numpy(float)
    tree = shapely.STRtree(graph.edge_geometry)
    cell_idx, edge_idx = tree.query(cell_geoms, predicate="intersects")
    pieces = shapely.intersection(graph.edge_geometry[edge_idx], cell_geoms[cell_idx])
    geom_length = shapely.length(graph.edge_geometry[edge_idx])
    piece_fraction = np.divide(
        shapely.length(pieces), geom_length, out=np.zeros(len(pieces)), where=geom_length > 0
    )
    piece_m = piece_fraction * graph.edge_length_m[edge_idx]
    keep = piece_m > 0
    cell_idx, edge_idx, pieces, piece_m = (
        cell_idx[keep],
        edge_idx[keep],
        pieces[keep],
        piece_m[keep],
    )
    cell_length = np.bincount(cell_idx, weights=piece_m, minlength=len(cells))
    piece_share = piece_m / cell_length[cell_idx]
    piece_population = cell_population[cell_idx] * piece_share

    # Points along each piece, one per stretch of at most the sample spacing.
    count = np.maximum(np.ceil(piece_m / NETWORK_SAMPLE_SPACING_M), 1).astype(np.int64)
    owner = np.repeat(np.arange(len(pieces)), count)
    k = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    geometry = shapely.line_interpolate_point(
        pieces[owner], (k + 0.5) / count[owner], normalized=True
    )
    edge = edge_idx[owner]
    lines = graph.edge_geometry[edge]
    along = shapely.line_locate_point(lines, geometry)
    line_length = shapely.length(lines)
    fraction = np.divide(along, line_length, out=np.zeros(len(along)), where=line_length > 0)
    snap = Snap(edge, fraction * graph.edge_length_m[edge], np.zeros(len(edge)))
    population = piece_population[owner] / count[owner]
    groups = {
        category: (values[cell_idx] * piece_share)[owner] / count[owner]
        for category, values in _groups(cells).items()
    }

    empty = (cell_length == 0) & (cell_population > 0)
    if empty.any():
        logger.info(
            "%d population cells hold no walkable way; their people sit at a point inside",
            int(empty.sum()),
        )
        inside = cells.geometry[empty].representative_point().reset_index(drop=True)
        extra = graph.snap(inside, max_snap_m=max_snap_m)
        geometry = np.r_[geometry, np.asarray(inside.array, dtype=object)]
        population = np.r_[population, cell_population[empty]]
        groups = {c: np.r_[v, _groups(cells)[c][empty]] for c, v in groups.items()}
        snap = Snap(
            np.r_[snap.edge, extra.edge],
            np.r_[snap.offset_m, extra.offset_m],
            np.r_[snap.leg_m, extra.leg_m],
        )
    keep = (population > 0) | np.any([v > 0 for v in groups.values()], axis=0)
    return People(
        gpd.GeoSeries(geometry[keep], crs=graph.crs),
        population[keep],
        snap.subset(keep),
        "population polygons spread along the walkable network inside each polygon",
        by_category={c: v[keep] for c, v in groups.items()},
    )


def people_uniform(graph: CompactGraph) -> People:
    """A proxy: people spread evenly along the walkable network, one unit per metre of way.

    Parameters
    ----------
    graph
        The compact walking graph.

    Returns
    -------
    People
        Marked as a proxy; shares are meaningful, absolute numbers are metres of way.
    """
    samples, weight, snap = _network_samples(graph)
    return People(
        samples,
        weight,
        snap,
        "no population data: spread evenly along the walkable network (1 unit per metre of way)",
        proxy=True,
        unit="network_m",
        source_key="network",
    )


def people_from_buildings(
    pbf: str | os.PathLike[str],
    graph: CompactGraph,
    *,
    default_levels: float = DEFAULT_BUILDING_LEVELS,
    floor_area_per_resident_m2: float = FLOOR_AREA_PER_RESIDENT_M2,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    min_residential_share: float = 0.0,
    use_cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> People | None:
    """A proxy from OSM residential buildings: footprint area x storeys / floor area per person.

    Buildings tagged with a :data:`RESIDENTIAL_BUILDINGS` type count; ``building:levels``
    gives the storeys (:data:`DEFAULT_BUILDING_LEVELS` where missing or unreadable). Each
    building is one point (inside its footprint) joined to the network by its access leg.

    Parameters
    ----------
    pbf
        The ``.osm.pbf`` extract the network came from.
    graph
        The compact walking graph.
    default_levels
        Storeys assumed where the tag is missing.
    floor_area_per_resident_m2
        Residential floor area per resident.
    max_snap_m
        Buildings farther than this from every walkable way are off-network.
    min_residential_share
        Give up (return None) when fewer than this share of all buildings carry a
        residential type: where most homes are a plain ``building=yes``, the tagged few
        would stand for everyone and bias coverage toward wherever they happen to be.
    use_cache, cache_dir
        See :func:`residential_buildings`.

    Returns
    -------
    People or None
        None when the extract has no residential buildings, or too few are tagged so.
    """
    found = residential_buildings(
        pbf,
        graph.crs,
        default_levels=default_levels,
        floor_area_per_resident_m2=floor_area_per_resident_m2,
        min_residential_share=min_residential_share,
        use_cache=use_cache,
        cache_dir=cache_dir,
    )
    if found is None:
        return None
    points, source, values = found
    people = people_from_points(graph, points, max_snap_m=max_snap_m, source=source)
    return People(
        people.geometry,
        people.population,
        people.snap,
        source,
        proxy=True,
        unit="floor_area_residents",
        source_key="buildings",
        source_values=values,
    )


def residential_buildings(
    pbf: str | os.PathLike[str],
    crs: Any,
    *,
    default_levels: float = DEFAULT_BUILDING_LEVELS,
    floor_area_per_resident_m2: float = FLOOR_AREA_PER_RESIDENT_M2,
    min_residential_share: float = 0.0,
    use_cache: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[gpd.GeoDataFrame, str, dict[str, str]] | None:
    """Residents of each OSM residential building, as points (see :func:`people_from_buildings`).

    Reading an extract's buildings is kept in circle's cache (:mod:`circle._cache`) with
    the network, under a name made of the file's bytes, circle's version, this module's
    code, the CRS and the parameters: a second run on the same extract reads the points
    (or the finding that there are too few) from there, and logs what the first logged.

    Parameters
    ----------
    pbf
        The ``.osm.pbf`` extract.
    crs
        The metric CRS in which footprints are measured and the points are given.
    default_levels, floor_area_per_resident_m2, min_residential_share
        As for :func:`people_from_buildings`.
    use_cache
        Read and keep the result in the cache; ``False`` reads the file every time.
    cache_dir
        The cache folder (default: see :func:`circle._cache.cache_folder`).

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, str, dict) or None
        Points with ``population`` in `crs`, the description for reports and its values
        (``count``, ``levels``, ``floor_m2``, for the words of :mod:`circle.i18n`); None
        when the extract has no residential buildings, or too few are tagged so.
    """
    from circle._cache import cache_folder, read_entry_as, write_entry  # noqa: PLC0415

    def answer(
        arrays: Mapping[str, np.ndarray],
    ) -> tuple[tuple[gpd.GeoDataFrame, str, dict[str, str]] | None]:
        # In a tuple: None is an answer here (too few residential buildings).
        return (
            _buildings_from_arrays(
                arrays, crs, default_levels, floor_area_per_resident_m2, min_residential_share
            ),
        )

    if not use_cache:
        return answer(_read_buildings(pbf, crs, default_levels, floor_area_per_resident_m2))[0]
    key = _buildings_key(
        Path(pbf), crs, default_levels, floor_area_per_resident_m2, min_residential_share
    )
    entry = cache_folder(cache_dir) / f"buildings-{key[:40]}.npz"
    found = read_entry_as(entry, key, answer)
    if found is None:
        arrays = _read_buildings(pbf, crs, default_levels, floor_area_per_resident_m2)
        write_entry(entry, key, arrays)
        found = answer(arrays)
    return found[0]


#: Bump when what :func:`_read_buildings` keeps changes.
_BUILDINGS_CACHE_FORMAT = 1


def _buildings_key(
    pbf: Path, crs: Any, default_levels: float, floor_m2: float, min_share: float
) -> str:
    """The cache entry name of an extract's residential buildings."""
    from circle._cache import entry_key, file_digest, package_version  # noqa: PLC0415

    return entry_key(
        {
            "format": _BUILDINGS_CACHE_FORMAT,
            "file_sha256": file_digest(pbf),
            "areas_code": file_digest(Path(__file__)),
            "crs": CRS.from_user_input(crs).to_wkt(),
            "default_levels": default_levels,
            "floor_m2": floor_m2,
            "min_share": min_share,
            "residential": sorted(RESIDENTIAL_BUILDINGS),
            "circle": package_version("circle"),
            "pyrosm": package_version("pyrosm"),
        }
    )


def _read_buildings(
    pbf: str | os.PathLike[str], crs: Any, default_levels: float, floor_m2: float
) -> dict[str, np.ndarray]:
    """An extract's buildings as arrays: how many, how many residential, and per home.

    Per home: a point inside its footprint (in `crs`) and its residents.
    """
    buildings = osm_reader(pbf).get_buildings()
    if buildings is None or buildings.empty:
        counts = {"total": np.array(0), "residential": np.array(0)}
        homes = None
    else:
        kind = buildings["building"].astype(str).str.strip().str.lower()
        residential = kind.isin(RESIDENTIAL_BUILDINGS).to_numpy()
        counts = {"total": np.array(len(kind)), "residential": np.array(int(residential.sum()))}
        homes = buildings.loc[residential]
        homes = homes.loc[homes.geometry.notna() & ~homes.geometry.is_empty]
        homes = homes.loc[homes.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if homes is None or homes.empty:
        none = np.zeros(0)
        return {**counts, "x": none, "y": none, "population": none}
    projected = homes.to_crs(crs)
    levels = (
        pd.to_numeric(homes["building:levels"], errors="coerce").to_numpy(float)
        if "building:levels" in homes.columns
        else np.full(len(homes), np.nan)
    )
    levels = np.where(np.isfinite(levels) & (levels > 0), levels, default_levels)
    floor_area = projected.geometry.area.to_numpy() * levels
    xy = shapely.get_coordinates(projected.geometry.make_valid().representative_point().to_numpy())
    return {**counts, "x": xy[:, 0], "y": xy[:, 1], "population": floor_area / floor_m2}


def _buildings_from_arrays(
    arrays: Mapping[str, np.ndarray],
    crs: Any,
    default_levels: float,
    floor_area_per_resident_m2: float,
    min_residential_share: float,
) -> tuple[gpd.GeoDataFrame, str, dict[str, str]] | None:
    """:func:`residential_buildings`' answer from :func:`_read_buildings`' arrays."""
    total, residential = int(arrays["total"]), int(arrays["residential"])
    x, y, population = arrays["x"], arrays["y"], arrays["population"]
    if not (len(x) == len(y) == len(population) <= residential <= total):
        msg = "its arrays do not fit together"
        raise ValueError(msg)
    if total == 0:
        return None
    share = residential / total
    if share < min_residential_share:
        logger.warning(
            "only %d of %d OSM buildings (%.0f%%) are tagged with a residential type; too "
            "few to stand for where people live (at least %.0f%% needed): not used",
            residential,
            total,
            100 * share,
            100 * min_residential_share,
        )
        return None
    if len(x) == 0:
        return None
    homes = len(x)
    points = gpd.GeoDataFrame(
        {"population": population}, geometry=gpd.points_from_xy(x, y), crs=crs
    )
    source = (
        f"proxy from {homes} OSM residential buildings: footprint x storeys "
        f"({default_levels:g} where untagged) / {floor_area_per_resident_m2:g} m2 per resident"
    )
    values = {
        "count": str(homes),
        "levels": f"{default_levels:g}",
        "floor_m2": f"{floor_area_per_resident_m2:g}",
    }
    return points, source, values


def _network_samples(graph: CompactGraph) -> tuple[gpd.GeoSeries, np.ndarray, Snap]:
    """Points along every edge, one per piece of at most the sample spacing, with its length."""
    length = graph.edge_length_m
    pieces = np.maximum(np.ceil(length / NETWORK_SAMPLE_SPACING_M), 1).astype(np.int64)
    edge = np.repeat(np.arange(graph.n_edges), pieces)
    first = np.cumsum(pieces) - pieces
    k = np.arange(edge.size) - np.repeat(first, pieces)
    fraction = (k + 0.5) / pieces[edge]
    geometry = shapely.line_interpolate_point(graph.edge_geometry[edge], fraction, normalized=True)
    weight = length[edge] / pieces[edge]
    snap = Snap(edge, fraction * length[edge], np.zeros(edge.size))
    return gpd.GeoSeries(geometry, crs=graph.crs), weight, snap


def assign_areas(
    people: People, areas: gpd.GeoDataFrame, *, h3_resolution: int | None
) -> np.ndarray:
    """The ``area_id`` of each person's neighbourhood (``None`` outside every area).

    With an H3 grid the cell is computed exactly; with polygons a point-in-polygon join
    (a point on a shared border goes to the lowest-ordered area).
    """
    if h3_resolution is not None:
        return h3_cells(people.geometry, resolution=h3_resolution)
    polygons = areas.to_crs(people.geometry.crs).reset_index(drop=True)
    hits = gpd.GeoDataFrame(geometry=people.geometry.reset_index(drop=True)).sjoin(
        polygons[["area_id", "geometry"]], predicate="intersects", how="left"
    )
    hits = hits.loc[~hits.index.duplicated(keep="first")]
    values: Any = hits["area_id"].to_numpy(object)
    return np.asarray(np.where(pd.isna(values), None, values), dtype=object)
