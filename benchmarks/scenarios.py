"""Marginal cost of a coverage scenario once a study is loaded (Andorra, ~30,000 nodes).

Run: python benchmarks/scenarios.py [--facilities 120] [--repeat 3]

Facilities are generated: random network nodes (fixed seed), spread over the four
built-in categories. People: OSM residential buildings of the extract if any, else spread
along the network. Map data © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

from circle.categories import BUILTIN_ORDER
from circle.study import Study

ANDORRA = Path(__file__).resolve().parents[2] / "shared" / "data" / "andorra.osm.pbf"
SEED = 20261129


def generated_facilities(study_network, count: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    nodes = study_network.nodes.geometry.to_crs("EPSG:4326")
    chosen = rng.choice(len(nodes), size=count, replace=False)
    return gpd.GeoDataFrame(
        {
            "id": [f"f{i}" for i in range(count)],
            "name": "",
            "category": [BUILTIN_ORDER[i % 4] for i in range(count)],
            "capacity": np.nan,
        },
        geometry=nodes.iloc[chosen].to_numpy(),
        crs="EPSG:4326",
    )


def best_of(repeat: int, func) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--facilities", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not ANDORRA.is_file():
        print(f"skipped: {ANDORRA} not found (shared development data)")
        return
    from circle.network import load_network

    start = time.perf_counter()
    network = load_network(ANDORRA)
    facilities = generated_facilities(network, args.facilities, SEED)
    study = Study.load(network, facilities)
    study.coverage()
    load_s = time.perf_counter() - start
    print(
        f"Andorra: {len(network.nodes):,} nodes, {len(network.edges):,} edges, "
        f"{len(study.people):,} population points ({study.people.source})"
    )
    print(f"{args.facilities} generated facilities (random nodes, seed {SEED}), 4 categories")
    print(f"load + first coverage (paid once): {load_s:.2f} s")
    first = facilities["id"].iloc[0]
    lon, lat = facilities.geometry.iloc[1].x, facilities.geometry.iloc[1].y
    scenarios = {
        "elderly walking speed": {"profile": "elderly"},
        "close one facility": {"close": [first]},
        "add one canteen": {"add": [{"id": "new", "category": "canteen", "lon": lon, "lat": lat}]},
        "daycare threshold 10 min": {"minutes": {"daycare": 10}},
        "move one facility": {"move": {first: (lon, lat)}},
    }
    print(f"\n{'scenario':<28} {'marginal cost (best of ' + str(args.repeat) + ')':>30}")
    worst = 0.0
    for name, edits in scenarios.items():
        seconds = best_of(
            args.repeat, lambda edits=edits: study.scenario(**edits).coverage().summary()
        )
        worst = max(worst, seconds)
        print(f"{name:<28} {seconds * 1000:>27.0f} ms")
    verdict = "met" if worst < 1.0 else "NOT met"
    print(f"\ntarget: each further scenario well under 1 s -> {verdict} (worst {worst:.2f} s)")
    print("Map data © OpenStreetMap contributors, ODbL 1.0.")


if __name__ == "__main__":
    main()
