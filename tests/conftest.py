"""Shared fixtures: tiny hand-made networks and the bundled Helsinki extract."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import hypothesis
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from circle.access import CompactGraph
from circle.areas import People
from circle.coverage import CoverageResult, compute_access, evaluate_coverage
from circle.network import WalkNetwork
from circle.walking import Threshold, WalkingProfile

#: A metric CRS for hand-made networks (UTM 35N, where Helsinki is).
METRIC_CRS = "EPSG:32635"
#: Offsets that put hand-made networks in a valid UTM position (near Helsinki).
X0, Y0 = 385_000.0, 6_670_000.0
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def make_network(
    coords: Mapping[int, tuple[float, float]],
    edges: Iterable[tuple[int, int] | tuple[int, int, float]],
) -> WalkNetwork:
    """A WalkNetwork from node coordinates (metres, relative) and straight edges.

    An edge's length is its straight length unless a third value gives it.
    """
    ids = np.array(sorted(coords), dtype=np.int64)
    nodes = gpd.GeoDataFrame(
        index=pd.Index(ids, name="osmid"),
        geometry=[shapely.Point(X0 + coords[i][0], Y0 + coords[i][1]) for i in ids],
        crs=METRIC_CRS,
    )
    rows = []
    for edge in edges:
        u, v = int(edge[0]), int(edge[1])
        line = shapely.LineString(
            [(X0 + coords[u][0], Y0 + coords[u][1]), (X0 + coords[v][0], Y0 + coords[v][1])]
        )
        length = float(edge[2]) if len(edge) == 3 else float(line.length)  # type: ignore[misc]
        rows.append({"u": u, "v": v, "length_m": length, "highway": "footway", "geometry": line})
    edge_frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)
    return WalkNetwork(nodes=nodes, edges=edge_frame, source="test")


def points(*xy: tuple[float, float]) -> gpd.GeoSeries:
    """Points at relative metre coordinates, in the hand-made networks' CRS."""
    return gpd.GeoSeries([shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=METRIC_CRS)


def facilities_at(*rows: tuple[str, str, float, float]) -> gpd.GeoDataFrame:
    """Facilities (id, category, x, y) at relative metre coordinates."""
    return gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [r[0] for r in rows],
            "category": [r[1] for r in rows],
            "capacity": [np.nan] * len(rows),
        },
        geometry=[shapely.Point(X0 + r[2], Y0 + r[3]) for r in rows],
        crs=METRIC_CRS,
    )


@pytest.fixture(scope="session", autouse=True)
def _network_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterable[None]:
    """Keep circle's network cache of the whole run in a temporary folder, never the user's."""
    saved = os.environ.get("CIRCLE_CACHE_DIR")
    os.environ["CIRCLE_CACHE_DIR"] = str(tmp_path_factory.mktemp("circle-cache"))
    yield
    if saved is None:
        os.environ.pop("CIRCLE_CACHE_DIR", None)
    else:
        os.environ["CIRCLE_CACHE_DIR"] = saved


@pytest.fixture(scope="session")
def helsinki_pbf() -> Path:
    from circle.datasets import helsinki_pbf

    return helsinki_pbf()


@pytest.fixture(scope="session")
def helsinki_network(helsinki_pbf: Path) -> WalkNetwork:
    from circle.network import load_network

    return load_network(helsinki_pbf)


@pytest.fixture(scope="session")
def andorra_pbf() -> Path:
    path = SHARED_DATA / "andorra.osm.pbf"
    if not path.is_file():
        pytest.skip(f"shared development data not present at {path}")
    return path


# Property tests explore new random cases on developer machines; in CI they replay a fixed
# (derandomized) set so that a green run stays green.
hypothesis.settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis.settings.register_profile("dev", deadline=None)
hypothesis.settings.load_profile("ci" if os.environ.get("CI") else "dev")


#: 6 km/h = 100 m per minute keeps hand arithmetic in round numbers.
HUNDRED_M_PER_MIN = WalkingProfile("test", 6.0)


def square(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A box at relative metre coordinates, in the hand-made networks' CRS."""
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def street_coverage(
    facility_rows: Iterable[tuple[str, str, float, float]],
    thresholds: Mapping[str, Threshold],
    *,
    capacities: Iterable[float] | None = None,
) -> CoverageResult:
    """Coverage on a 1 km street (nodes at x = 0, 500, 1000) walked at 100 m/min.

    People: 10 at x=100, 20 at (400, 30), 70 at x=800. Areas: A "west" (x 0..500, 30
    people), B "east" (x 500..1000, 70) and C "north" (empty), listed out of order.
    """
    network = make_network({0: (0.0, 0.0), 1: (500.0, 0.0), 2: (1000.0, 0.0)}, [(0, 1), (1, 2)])
    graph = CompactGraph(network)
    facilities = facilities_at(*facility_rows)
    if capacities is not None:
        facilities["capacity"] = list(capacities)
    model = compute_access(
        graph,
        facilities,
        profile=HUNDRED_M_PER_MIN,
        thresholds=dict(thresholds),
        categories=list(thresholds),
    )
    geometry = points((100.0, 0.0), (400.0, 30.0), (800.0, 0.0))
    people = People(
        geometry,
        np.array([10.0, 20.0, 70.0]),
        graph.snap(geometry, max_snap_m=300.0),
        "population points (test)",
    )
    areas = gpd.GeoDataFrame(
        {"area_id": ["C", "B", "A"], "name": ["north", "east", "west"]},
        geometry=[
            square(0, 500, 1000, 900),
            square(500, -100, 1000, 100),
            square(0, -100, 500, 100),
        ],
        crs=METRIC_CRS,
    ).to_crs("EPSG:4326")
    person_area = np.array(["A", "A", "B"], dtype=object)
    return evaluate_coverage(model, people, areas, person_area, area_kind="test polygons")


def write_raster(path, data, *, crs, west, north, cell, nodata=None):
    """A one-band GeoTIFF of `data` (rows north to south) with square cells."""
    import rasterio

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype="float64",
        crs=crs,
        transform=Affine(cell, 0.0, west, 0.0, -cell, north),
        nodata=nodata,
    ) as dst:
        dst.write(data, 1)
    return path


def plane_raster(path, *, crs, origin, slope_x, slope_y=0.0, cell=10.0, size=80):
    """A plane z = slope_x (x - x0) + slope_y (y - y0) sampled at cell centres."""
    x0, y0 = origin
    west, north = x0 - size * cell / 2, y0 + size * cell / 2
    cx = west + cell * (np.arange(size) + 0.5)
    cy = north - cell * (np.arange(size) + 0.5)
    data = slope_x * (cx[None, :] - x0) + slope_y * (cy[:, None] - y0)
    return write_raster(path, data, crs=crs, west=west, north=north, cell=cell)
