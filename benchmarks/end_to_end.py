"""End to end on Andorra: circle's report + map vs the OSMnx isochrone-example pipeline.

Run: python benchmarks/end_to_end.py [--categories clinic,daycare] [--repeat 3] [--facilities 294]
     [--minutes 15] [--category clinic]

Both start from the same extract on disk with the same generated facilities: random
network nodes (fixed seed) spread over the four built-in categories in turn (294 by
default, as many as the 37,300-node city of issue 15 has). Every run is a new Python
process, as a command a planner runs is (imports made first and not counted, so nothing
is warm but the modules: no compiled templates, no CRS objects, no caches in memory).

(a) circle, all categories: ``circle report --network andorra.osm.pbf --facilities
    facilities.geojson --out DIR`` run in the process (``circle.cli.main``: options parsed,
    facilities read, network, compile, snapping, people from the extract's residential
    buildings or spread along the network, H3 neighbourhoods, gap tables, GeoJSON, CSVs,
    map.html with every category's service area, the summary printed). Run twice: first
    with an empty network cache, then, in another process, with the cache entry the first
    wrote (a second ``circle report`` on the same extract). For information, the same
    through the library as a notebook runs it (``Study.load`` then ``Study.report``).
(b) the pipeline of OSMnx's isochrone example (notebook 13-isolines-isochrones), for ONE
    category: ``ox.graph_from_xml`` of the same extract as OSM XML (converted once with
    pyosmium, not counted; OSMnx reads no PBF), ``ox.project_graph``,
    ``ox.distance.nearest_nodes`` for the facilities, then per facility
    ``nx.ego_graph(G, node, radius=budget, distance="length")`` and the example's
    ``make_iso_polys`` (50 m node buffers, 25 m edge buffers, ``union_all``), one union per
    category, written as GeoJSON.

Every measurement is repeated (``--repeat``, 3 by default; the runs interleaved) and the
medians are printed, with each run's total: on the shared 2-core machine one run can be 10 %
off either way. The ratio (b) / (a) of the medians is printed with and without the network
load. (b) draws one category
and writes one file; (a) writes the whole report and map for all categories. For
information, (b) is also run for circle's other categories on the loaded network, and
the ratio for the same question (every category) printed; the target is set on one.
Map data © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from _osmnx_example import iso_polygon

sys.path.insert(0, str(Path(__file__).resolve().parent))

from polygons import generated_facilities

from circle.walking import ADULT

ANDORRA = Path(__file__).resolve().parents[2] / "shared" / "data" / "andorra.osm.pbf"
SEED = 20261129
TARGET_RATIO = 10.0
ATTRIBUTION = "Map data © OpenStreetMap contributors, ODbL 1.0 (openstreetmap.org/copyright)"


def pbf_to_xml(pbf: Path, xml: Path) -> Path:
    import osmium

    if not xml.is_file():
        tmp = xml.with_suffix(".tmp.osm")
        tmp.unlink(missing_ok=True)
        with osmium.SimpleWriter(str(tmp)) as writer:
            for obj in osmium.FileProcessor(str(pbf)):
                writer.add(obj)
        tmp.replace(xml)
    return xml


def import_circle() -> None:
    """Import what circle imports lazily (the reference's imports are not timed either)."""
    import pyrosm.pyrosm  # noqa: F401  (pyrosm imports its reader lazily)

    import circle.cli
    import circle.isochrones
    import circle.maps
    import circle.report
    import circle.study  # noqa: F401


def run_circle(facilities: gpd.GeoDataFrame, out: Path) -> dict[str, float]:
    """Through the library, as a notebook does: ``Study.load``, then ``Study.report``."""
    from circle.study import Study

    times: dict[str, float] = {}
    start = time.perf_counter()
    study = Study.load(ANDORRA, facilities)
    times["library: Study.load"] = time.perf_counter() - start
    start = time.perf_counter()
    study.report(out)
    times["library: Study.report (files, map, areas)"] = time.perf_counter() - start
    return times


def run_command(facilities_file: Path, out: Path) -> dict[str, float]:
    """``circle report`` itself (options parsed, summary printed), in this process."""
    import circle.cli

    arguments = ["report", "--network", str(ANDORRA), "--facilities", str(facilities_file)]
    start = time.perf_counter()
    code = circle.cli.main([*arguments, "--out", str(out)])
    seconds = time.perf_counter() - start
    if code != 0:
        msg = f"circle report exited with {code}"
        raise SystemExit(msg)
    return {"`circle report` (the command)": seconds}


def run_osmnx(xml: Path, facilities: gpd.GeoDataFrame, category: str, budget: float, out: Path):
    import osmnx as ox

    times: dict[str, float] = {}
    start = time.perf_counter()
    graph = ox.graph_from_xml(xml, bidirectional=True, simplify=True, retain_all=False)
    graph = ox.project_graph(graph)
    times["network load (XML) + project"] = time.perf_counter() - start
    chosen = facilities[facilities["category"] == category].to_crs(graph.graph["crs"])
    start = time.perf_counter()
    centers = ox.distance.nearest_nodes(graph, chosen.geometry.x, chosen.geometry.y)
    polygons = [iso_polygon(graph, c, budget, node_buff_m=50.0, edge_buff_m=25.0) for c in centers]
    area = shapely.union_all(polygons)
    times["ego_graph + buffers + union"] = time.perf_counter() - start
    start = time.perf_counter()
    frame = gpd.GeoDataFrame({"category": [category]}, geometry=[area], crs=graph.graph["crs"])
    frame.to_crs("EPSG:4326").to_file(out / f"{category}.geojson", driver="GeoJSON")
    times["write GeoJSON"] = time.perf_counter() - start
    return times, len(chosen), graph


def run_osmnx_others(graph, facilities, category: str, budget: float, out: Path) -> float:
    """The same pipeline for the other categories (network loaded once): seconds."""
    import osmnx as ox

    start = time.perf_counter()
    for other in sorted(set(facilities["category"]) - {category}):
        chosen = facilities[facilities["category"] == other].to_crs(graph.graph["crs"])
        centers = ox.distance.nearest_nodes(graph, chosen.geometry.x, chosen.geometry.y)
        polygons = [
            iso_polygon(graph, c, budget, node_buff_m=50.0, edge_buff_m=25.0) for c in centers
        ]
        area = shapely.union_all(polygons)
        frame = gpd.GeoDataFrame({"category": [other]}, geometry=[area], crs=graph.graph["crs"])
        frame.to_crs("EPSG:4326").to_file(out / f"{other}.geojson", driver="GeoJSON")
    return time.perf_counter() - start


def child(args: argparse.Namespace) -> None:
    """One measured run in this (new) process; prints its stage times as JSON."""
    facilities = pd.read_pickle(args.facilities_file)
    out = Path(args.out)
    if args.child == "osmnx":
        import osmnx  # noqa: F401  (imports are not timed)

        budget = ADULT.metres(args.minutes)
        times, k, graph = run_osmnx(out / "andorra.osm", facilities, args.category, budget, out)
        times["facilities"] = k
        times["others"] = run_osmnx_others(graph, facilities, args.category, budget, out)
    else:
        os.environ["CIRCLE_CACHE_DIR"] = args.cache
        import_circle()
        if args.child.startswith("command"):
            times = run_command(Path(args.facilities_file).with_suffix(".geojson"), out / "cli")
        else:
            times = run_circle(facilities, out / args.child)
    print(json.dumps(times))


def measured(args: argparse.Namespace, run: str, facilities_file: Path, cache: str) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        run,
        "--facilities-file",
        str(facilities_file),
        "--cache",
        cache,
        "--out",
        args.out,
        "--minutes",
        str(args.minutes),
        "--category",
        args.category,
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    times: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return times


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per stage, the median over the runs."""
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--facilities", type=int, default=294)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--category", default="clinic")
    parser.add_argument(
        "--categories",
        default="canteen,clinic,daycare,gig_station",
        help="categories circle reports on (their facilities only): all four by default, "
        "or e.g. clinic,daycare",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "circle-e2e"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--facilities-file", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not ANDORRA.is_file():
        print(f"skipped: {ANDORRA} not found (shared development data)")
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pbf_to_xml(ANDORRA, out / "andorra.osm")
    budget = ADULT.metres(args.minutes)

    from circle.network import load_network

    network = load_network(ANDORRA, use_cache=False)
    facilities = generated_facilities(network, args.facilities, SEED).drop(columns="node")
    facilities = facilities.to_crs("EPSG:4326")
    chosen = args.categories.split(",")
    facilities = facilities[facilities["category"].isin(chosen)].reset_index(drop=True)
    facilities_file = out / "facilities.pickle"
    facilities.to_pickle(facilities_file)
    facilities.to_file(facilities_file.with_suffix(".geojson"), driver="GeoJSON")
    # Each measurement is repeated (new processes, runs interleaved) and its median kept:
    # on a shared 2-core machine one run can be 10 % off either way.
    firsts, seconds, references = [], [], []
    for _ in range(args.repeat):
        first, second = {}, {}
        for run in ("command", "library"):
            with tempfile.TemporaryDirectory() as cache:  # an empty cache: a first run
                first |= measured(args, f"{run}-first", facilities_file, cache)
                second |= measured(args, f"{run}-second", facilities_file, cache)
        firsts.append(first)
        seconds.append(second)
        references.append(measured(args, "osmnx", facilities_file, ""))
    first, second = medians(firsts), medians(seconds)
    osmnx_times = medians(references)
    k = int(osmnx_times.pop("facilities"))
    others = osmnx_times.pop("others")
    spread = {
        "first": [run[next(iter(run))] for run in firsts],
        "second": [run[next(iter(run))] for run in seconds],
        "osmnx": [
            sum(v for n, v in run.items() if n not in ("facilities", "others"))
            for run in references
        ],
    }

    print(
        f"Andorra: {len(network.nodes):,} walking nodes; {len(facilities)} generated "
        f"facilities (random nodes, seed {SEED}) over {args.categories}; {args.minutes:g} min at "
        f"{ADULT.speed_kmh} km/h = {budget:.0f} m. Each run in a new process; medians of "
        f"{args.repeat} runs."
    )
    print(f"\n(a) circle, {len(chosen)} categories: report + map")
    print(f"{'':<44}{'first run s':>12}{'cached s':>10}")
    for name in first:
        print(f"{name:<44}{first[name]:>12.2f}{second[name]:>10.2f}")
    command = next(iter(first))
    total_first, total_second = first[command], second[command]
    print(f"\n(b) OSMnx isochrone example, one category ({args.category}, {k} facilities)")
    for name, seconds in osmnx_times.items():
        print(f"{name:<44}{seconds:>12.2f}")
    total_osmnx = statistics.median(spread["osmnx"])
    print(f"{'total':<44}{total_osmnx:>12.2f}")
    print(
        "runs (s): circle first "
        + ", ".join(f"{t:.2f}" for t in spread["first"])
        + "; cached "
        + ", ".join(f"{t:.2f}" for t in spread["second"])
        + "; OSMnx "
        + ", ".join(f"{t:.2f}" for t in spread["osmnx"])
    )
    no_load = total_osmnx - next(iter(osmnx_times.values()))
    print()
    for label, mine in (("first run", total_first), ("cached network", total_second)):
        ratio = total_osmnx / mine
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        print(
            f"ratio (b) / (a) `circle report`, {label}: {ratio:.1f}x "
            f"(target >= {TARGET_RATIO:g}x: {verdict})"
        )
    print(
        f"(b) without its network load: {no_load:.2f} s, {no_load / total_second:.1f}x "
        "circle's whole cached run"
    )
    if len(chosen) > 1:  # not the target's reference: the same question for every category
        every = total_osmnx + others
        print(
            f"(b) for all {len(chosen)} categories (network loaded once, +{others:.2f} s): "
            f"{every:.2f} s, {every / total_first:.1f}x circle's first run, "
            f"{every / total_second:.1f}x its cached run (for information; the target's "
            "reference is one category)"
        )
    print(ATTRIBUTION + " (Andorra).")


if __name__ == "__main__":
    main()
