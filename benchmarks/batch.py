"""Batch of areas on Dask vs one `circle report --areas` after another, on Andorra.

Run: python benchmarks/batch.py [--grid 6] [--minutes 15] [--nodes 200000] [--cold-cache]

Andorra's walking network (or, with ``--nodes``, a generated street grid of that many
nodes from ``benchmarks/_grid.py``, which needs pyosmium) is split into a grid of
``grid x grid`` rectangles (the areas); Andorra's facilities are circle's OSM tag
extraction from the same extract. Timed:

(a) ``circle.batch.run`` on a ``LocalCluster`` of 1 and of 2 worker processes: the cluster
    start (process spawn and imports) is timed apart from the batch on the started
    cluster, and the batch's first-area overhead (each worker reading the network cache or
    the extract) shows as the difference between the batch's wall time and the sum of
    the areas' own seconds divided by the workers. ``--cold-cache`` starts each run with
    an empty network cache (every worker then parses the extract);
(b) the same areas as one ``circle report --areas <cell>`` process after another (what a
    planner would otherwise script): each reads the whole extract and writes its report;
(c) how a worker gets its part of the network: reading the whole extract once and cutting
    each area out in memory (what circle does), against pyrosm reading each area's bounding
    box (pyrosm decodes the whole file for each box).

Workers are started with this checkout on PYTHONPATH. Map data © OpenStreetMap
contributors, ODbL 1.0. Skipped if ``../shared/data/andorra.osm.pbf`` is absent.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import shapely

ROOT = Path(__file__).resolve().parents[1]
ANDORRA = ROOT.parent / "shared" / "data" / "andorra.osm.pbf"


def _grid(bounds: tuple[float, float, float, float], n: int) -> gpd.GeoDataFrame:
    west, south, east, north = bounds
    dx, dy = (east - west) / n, (north - south) / n
    rows = [
        (
            f"a{i}{j}",
            shapely.box(west + i * dx, south + j * dy, west + (i + 1) * dx, south + (j + 1) * dy),
        )
        for i in range(n)
        for j in range(n)
    ]
    return gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "name": [r[0] for r in rows]},
        geometry=[r[1] for r in rows],
        crs="EPSG:4326",
    )


def main() -> None:
    """Print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=6)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--nodes", type=int, default=0, help="generated grid instead of Andorra")
    parser.add_argument("--cold-cache", action="store_true")
    parser.add_argument("--no-sequential", action="store_true")
    args = parser.parse_args()
    if not args.nodes and not ANDORRA.exists():
        print(f"skipped: {ANDORRA} not found")
        return
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    sys.path.insert(0, str(ROOT))

    from distributed import Client, LocalCluster

    from circle import batch
    from circle.coverage import HORIZON_FACTOR
    from circle.facilities import write_facilities
    from circle.network import load_network
    from circle.osm_tags import facilities_from_osm
    from circle.walking import ADULT, DEFAULT_MAX_SNAP_M

    work = Path(tempfile.mkdtemp(prefix="circle-batch-bench-"))
    facilities_path = work / "facilities.geojson"
    if args.nodes:
        from _grid import grid_facilities, grid_pbf

        source = grid_pbf(work, args.nodes)
        write_facilities(grid_facilities(args.nodes), facilities_path)
        place = f"generated grid of {args.nodes:,} nodes"
    else:
        source = ANDORRA
        write_facilities(facilities_from_osm(ANDORRA), facilities_path)
        place = "Andorra"
    network = load_network(source)
    bounds = tuple(network.edges.to_crs("EPSG:4326").total_bounds)
    areas = _grid(bounds, args.grid)  # type: ignore[arg-type]
    areas_path = work / "areas.geojson"
    areas.to_file(areas_path, driver="GeoJSON")
    print(
        f"{place}: {len(network.edges):,} edges; {len(areas)} areas ({args.grid}x{args.grid}), "
        f"{args.minutes:g}-minute walks; cache {'cold' if args.cold_cache else 'warm'}"
    )
    del network

    common = {"minutes": args.minutes, "write_map": True}
    timings: dict[str, float] = {}
    for workers in (1, 2):
        if args.cold_cache:
            os.environ["CIRCLE_CACHE_DIR"] = str(work / f"cache{workers}")
        start = time.perf_counter()
        with (
            LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            started = time.perf_counter() - start
            begin = time.perf_counter()
            table = batch.run(
                areas_path,
                source,
                facilities_path,
                out_dir=work / f"batch{workers}",
                client=client,
                **common,  # type: ignore[arg-type]
            )
            run_s = time.perf_counter() - begin
        total = time.perf_counter() - start
        timings[f"batch, {workers} worker(s)"] = total
        ok = int((table["status"] == "ok").sum())
        area_s = float(table["seconds"].sum())
        print(
            f"batch, {workers} worker(s): {total:.1f} s wall = cluster start {started:.1f} s + "
            f"batch {run_s:.1f} s (+ close); areas' own seconds {area_s:.1f} s "
            f"({area_s / workers:.1f} s per worker); {ok} ok, {len(table) - ok} failed"
        )
    os.environ.pop("CIRCLE_CACHE_DIR", None)

    one, two = timings["batch, 1 worker(s)"], timings["batch, 2 worker(s)"]
    print(f"speed-up 2 workers vs 1: {one / two:.2f}x")
    if args.no_sequential:
        print(f"outputs in {work}")
        return
    start = time.perf_counter()
    for area in areas.itertuples(index=False):
        one = work / f"{area.id}.geojson"
        areas.loc[areas["id"] == area.id].to_file(one, driver="GeoJSON")
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from circle.cli import main; sys.exit(main(sys.argv[1:]))",
                "report",
                "--network",
                str(source),
                "--facilities",
                str(facilities_path),
                "--areas",
                str(one),
                "--minutes",
                f"{args.minutes:g}",
                "--out",
                str(work / "sequential" / area.id),
            ],
            check=False,
            capture_output=True,
        )
    timings["circle report, one after another"] = time.perf_counter() - start
    print(f"circle report one after another: {timings['circle report, one after another']:.1f} s")
    sequential = timings["circle report, one after another"]
    print(f"2 workers vs reports one after another: {sequential / two:.2f}x")

    # (c) How a worker gets an area's network.
    import pyrosm

    reach = HORIZON_FACTOR * ADULT.metres(args.minutes)
    start = time.perf_counter()
    whole = load_network(source)
    read_once = time.perf_counter() - start
    start = time.perf_counter()
    zones = []
    for polygon in areas.to_crs(whole.crs).geometry:
        _, zone = batch.area_zone(polygon, reach_m=reach, max_snap_m=DEFAULT_MAX_SNAP_M)
        zones.append(zone)
        batch.clip_network(whole, zone)
    cut_all = time.perf_counter() - start
    start = time.perf_counter()
    for zone in zones:
        box = gpd.GeoSeries([zone], crs=whole.crs).to_crs("EPSG:4326").total_bounds
        pyrosm.OSM(str(source), bounding_box=list(box)).get_network(network_type="all", nodes=True)
    boxes = time.perf_counter() - start
    print(
        f"network per area: read whole extract once {read_once:.2f} s + cut {len(areas)} areas "
        f"{cut_all:.2f} s, vs pyrosm bounding boxes {boxes:.2f} s "
        f"({boxes / (read_once + cut_all):.1f}x)"
    )
    print(f"outputs in {work}")


if __name__ == "__main__":
    main()
