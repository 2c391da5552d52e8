"""End to end on generated street grids: time and peak memory per stage, per size.

Run: python benchmarks/scale.py [--sizes 50000,150000,500000] [--out /tmp/circle-scale]
     [--no-map] [--no-report] [--second-run]

Each size runs in its own process (so peak memory is that size's): a jittered 80 m street
grid of about that many walking nodes is written to PBF with pyosmium (``pip install
osmium``; once per size, kept in ``--out``), with one generated facility per 130 nodes over
the four built-in categories and one generated population point per 300 m cell (see
``benchmarks/_grid.py``). Then, through the library API:

    load          circle.network.load_network(pbf): a first run, which also writes the
                  network cache entry (in a temporary folder)
    load, cached  load_network(pbf) again: a second run, from the cache (not in the total;
                  this network is the one the study uses)
    study         Study.load(network, facilities, population=...): compile the graph, snap
                  facilities and people, H3 neighbourhoods
    searches      Study.access(): one bounded multi-source search per category
    coverage      Study.coverage()
    polygons      Study.service_areas(): service-area polygons of all categories
    report        Study.report(out, write_map=False): the gap report files
    map           Study.save_map(out / "map.html"): the self-contained map

With ``--second-run`` an earlier process writes the network cache entry and the measured
one starts from it (``load (cache)``), as a second ``circle report`` on the same extract
does.

Peak memory is the process's maximum resident set size (``getrusage``) after each stage,
so it only grows; the last row is the run's peak. Targets (issue 15): 500,000 nodes end to
end in under 30 s and 1.5 GB, with a map.html under 20 MB.
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _grid

TARGET_S = 30.0
TARGET_MB = 1500.0
TARGET_MAP_MB = 20.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def first_and_second_load(pbf: Path, stage):
    from circle.network import load_network

    with tempfile.TemporaryDirectory() as cache:
        # A first run (reads the PBF, then writes the cache entry), dropped before a second
        # run reads the cache; the study uses the second, so only one network is held.
        stage("load", lambda: load_network(pbf, cache_dir=cache))
        gc.collect()
        return stage("load, cached", lambda: load_network(pbf, cache_dir=cache), counted=False)


def run_one(
    nodes: int, out: Path, *, with_map: bool, with_report: bool, second_run: bool = False
) -> None:
    from circle.network import load_network
    from circle.study import Study

    pbf = _grid.grid_pbf(out, nodes)
    facilities = _grid.grid_facilities(nodes)
    people = _grid.grid_people(nodes)
    rows: list[tuple[str, float, float]] = []

    def stage(name: str, func, *, counted: bool = True):
        start = time.perf_counter()
        value = func()
        seconds = time.perf_counter() - start
        rows.append((name if counted else f"({name})", seconds if counted else -seconds, peak_mb()))
        return value

    start_mb = peak_mb()
    if second_run:  # the cache entry was written by an earlier process
        network = stage("load (cache)", lambda: load_network(pbf, cache_dir=out / "cache"))
    else:
        network = first_and_second_load(pbf, stage)
    study = stage("study", lambda: Study.load(network, facilities, population=people))
    stage("searches", study.access)
    stage("coverage", study.coverage)
    stage("polygons", study.service_areas)
    report_dir = out / f"report_{nodes}"
    if with_report:
        stage("report", lambda: study.report(report_dir, write_map=False))
    map_mb = float("nan")
    if with_map:
        report_dir.mkdir(parents=True, exist_ok=True)
        html = report_dir / "map.html"
        stage("map", lambda: study.save_map(html))
        map_mb = html.stat().st_size / 1e6

    graph = study.graph
    print(
        f"\n{graph.n_nodes:,} walking nodes, {graph.n_edges:,} edges; {len(facilities):,} "
        f"facilities (generated, 1 per {_grid.NODES_PER_FACILITY} nodes), {len(people):,} "
        f"population points (generated, 1 per {_grid.PEOPLE_CELL_M:g} m cell); "
        f"python at start {start_mb:,.0f} MB"
    )
    print(f"{'stage':<16}{'seconds':>9}{'peak MB':>10}")
    total = 0.0
    for name, seconds, mb in rows:
        if seconds >= 0:
            total += seconds
        print(f"{name:<16}{abs(seconds):>9.2f}{mb:>10,.0f}")
    print(f"{'total':<16}{total:>9.2f}{peak_mb():>10,.0f}")
    if not second_run:
        cached = next(-s for n, s, _ in rows if n == "(load, cached)")
        load = next(s for n, s, _ in rows if n == "load")
        print(f"cached load / first load: {cached / load:.2f} (target < 0.20)")
    if with_map:
        print(f"map.html: {map_mb:.1f} MB")
    if nodes >= 400_000:
        verdict = (
            "met"
            if total < TARGET_S and peak_mb() < TARGET_MB and map_mb < TARGET_MAP_MB
            else "NOT met"
        )
        print(
            f"target 500k: < {TARGET_S:g} s, < {TARGET_MB:,.0f} MB, map < {TARGET_MAP_MB:g} MB: "
            f"{verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="50000", help="comma-separated node counts")
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "circle-scale"))
    parser.add_argument("--no-map", action="store_true")
    parser.add_argument("--no-report", action="store_true")
    parser.add_argument(
        "--second-run",
        action="store_true",
        help="measure a second run: the network comes from a cache entry that an earlier "
        "process wrote (in --out/cache)",
    )
    parser.add_argument("--single", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--populate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    out = Path(args.out)
    if args.single and args.populate:
        from circle.network import load_network

        load_network(_grid.grid_pbf(out, args.single), cache_dir=out / "cache")
        return
    if args.single:
        run_one(
            args.single,
            out,
            with_map=not args.no_map,
            with_report=not args.no_report,
            second_run=args.second_run,
        )
        return
    print("Generated street grids (jittered 80 m); map data not from OSM.")
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"\n=== {size:,} nodes ===", flush=True)
        command = [sys.executable, __file__, "--single", str(size), "--out", str(out)]
        if args.second_run:
            subprocess.run([*command, "--populate"], check=True)
        command += ["--no-map"] * args.no_map + ["--no-report"] * args.no_report
        command += ["--second-run"] * args.second_run
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
