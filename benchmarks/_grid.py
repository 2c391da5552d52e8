"""Generated street grids for the scale benchmarks: a jittered 80 m grid written to PBF.

The grid is square (``side x side`` nodes, ``side = round(sqrt(nodes))``), 80 m apart with
up to +-20 m of jitter on each node (fixed seed), every row and every column one OSM way
``highway=residential``, placed near 39.9 N 116.4 E. Facilities: one per 130 nodes at
random nodes, spread over the four built-in categories in turn. People: one point per
300 m cell of the grid's extent, 20-200 people each.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

from circle.categories import BUILTIN_ORDER

SPACING_M = 80.0
JITTER_M = 20.0
NODES_PER_FACILITY = 130
PEOPLE_CELL_M = 300.0
LON0, LAT0 = 116.4, 39.9
SEED = 20261129
_M_PER_DEG_LAT = 111_320.0


def _to_degrees(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = LON0 + x / (_M_PER_DEG_LAT * math.cos(math.radians(LAT0)))
    lat = LAT0 + y / _M_PER_DEG_LAT
    return lon, lat


def grid_xy(nodes: int, seed: int = SEED) -> tuple[int, np.ndarray, np.ndarray]:
    """Side and metre coordinates (row-major) of the jittered grid."""
    side = max(2, round(math.sqrt(nodes)))
    rng = np.random.default_rng(seed)
    i, j = np.divmod(np.arange(side * side), side)
    x = j * SPACING_M + rng.uniform(-JITTER_M, JITTER_M, side * side)
    y = i * SPACING_M + rng.uniform(-JITTER_M, JITTER_M, side * side)
    return side, x, y


def write_grid_pbf(path: Path, nodes: int, seed: int = SEED) -> Path:
    """Write the grid as an OSM PBF with pyosmium (``pip install osmium``)."""
    import osmium

    side, x, y = grid_xy(nodes, seed)
    lon, lat = _to_degrees(x, y)
    tmp = path.with_suffix(".tmp.pbf")
    tmp.unlink(missing_ok=True)
    stamp = "2026-01-01T00:00:00Z"
    attrs = {"version": 1, "timestamp": stamp, "changeset": 1, "uid": 1, "user": "grid"}
    with osmium.SimpleWriter(str(tmp)) as writer:
        for k in range(side * side):
            writer.add_node(
                osmium.osm.mutable.Node(
                    id=k + 1, location=(float(lon[k]), float(lat[k])), tags={}, **attrs
                )
            )
        ids = np.arange(1, side * side + 1).reshape(side, side)
        way = 1
        for row in ids:
            writer.add_way(
                osmium.osm.mutable.Way(
                    id=way, nodes=row.tolist(), tags={"highway": "residential"}, **attrs
                )
            )
            way += 1
        for column in ids.T:
            writer.add_way(
                osmium.osm.mutable.Way(
                    id=way, nodes=column.tolist(), tags={"highway": "residential"}, **attrs
                )
            )
            way += 1
    tmp.replace(path)
    return path


def grid_pbf(folder: Path, nodes: int, seed: int = SEED) -> Path:
    """The grid's PBF in `folder`, written once per size and seed."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"grid_{nodes}_{seed}.osm.pbf"
    if not path.is_file():
        start = time.perf_counter()
        write_grid_pbf(path, nodes, seed)
        print(
            f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in "
            f"{time.perf_counter() - start:.1f} s"
        )
    return path


def grid_facilities(nodes: int, seed: int = SEED) -> gpd.GeoDataFrame:
    """One facility per 130 nodes at random grid nodes (WGS-84), categories in turn."""
    side, x, y = grid_xy(nodes, seed)
    count = max(4, (side * side) // NODES_PER_FACILITY)
    rng = np.random.default_rng(seed + 1)
    chosen = np.sort(rng.choice(side * side, size=count, replace=False))
    lon, lat = _to_degrees(x[chosen], y[chosen])
    return gpd.GeoDataFrame(
        {
            "id": [f"f{i}" for i in range(count)],
            "name": [f"facility {i}" for i in range(count)],
            "category": [BUILTIN_ORDER[i % 4] for i in range(count)],
            "capacity": np.nan,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )


def grid_people(nodes: int, seed: int = SEED) -> gpd.GeoDataFrame:
    """One population point per 300 m cell over the grid (WGS-84)."""
    side, _, _ = grid_xy(nodes, seed)
    extent = (side - 1) * SPACING_M
    centres = np.arange(PEOPLE_CELL_M / 2, extent, PEOPLE_CELL_M)
    cx, cy = np.meshgrid(centres, centres)
    rng = np.random.default_rng(seed + 2)
    lon, lat = _to_degrees(cx.ravel(), cy.ravel())
    return gpd.GeoDataFrame(
        {"population": rng.integers(20, 200, cx.size).astype(float)},
        geometry=gpd.points_from_xy(lon, lat),
        crs="EPSG:4326",
    )
