"""Recommending new sites (maximal covering) on Andorra (~37,500 walking nodes), k = 10.

Run: python benchmarks/siting.py [--candidates 1000] [--k 10]
(from a source tree: PYTHONPATH=. python benchmarks/siting.py; to include the PySAL spopt
reference, run it with a Python where ``pip install spopt`` worked, e.g. a virtual
environment made with ``--system-site-packages`` so that it also sees circle's dependencies).

Everything but the network is generated with a fixed seed, and the output says so: existing
clinics are random network nodes; people are random points near random network nodes with
random counts; the candidate sites are random network nodes. The figures are:

* circle's candidate coverage: one bounded search per candidate (batched, sparse pairs);
* greedy (lazy) and exact (HiGHS via scipy.optimize.milp) maximal covering, times and
  objective values (people newly covered), the exact solver's bound and the gap;
* the same instance solved by PySAL spopt's MCLP (pulp + CBC) from the dense cost matrix a
  spopt user builds (uncovered people x candidates), as the reference a planner would
  otherwise use, with the time ratio and whether the objectives agree.

Map data © OpenStreetMap contributors, ODbL 1.0.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from circle.network import load_network
from circle.siting import candidate_coverage, maximal_covering, prepare_candidates
from circle.study import Study

ANDORRA = Path(__file__).resolve().parents[2] / "shared" / "data" / "andorra.osm.pbf"
SEED = 20261129


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--clinics", type=int, default=15)
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    if not ANDORRA.is_file():
        print(f"skipped: {ANDORRA} not found (shared development data)")
        return
    network = load_network(ANDORRA)
    rng = np.random.default_rng(SEED)
    nodes = network.nodes.geometry.to_numpy()
    xy = shapely.get_coordinates(nodes)
    clinic_nodes = rng.choice(len(nodes), size=args.clinics, replace=False)
    facilities = gpd.GeoDataFrame(
        {
            "id": [f"clinic-{i}" for i in range(args.clinics)],
            "name": "",
            "category": "clinic",
            "capacity": np.nan,
        },
        geometry=nodes[clinic_nodes],
        crs=network.crs,
    ).to_crs("EPSG:4326")
    homes = rng.choice(len(nodes), size=args.people)
    jitter = rng.normal(0.0, 30.0, size=(args.people, 2))
    population = gpd.GeoDataFrame(
        {"population": rng.integers(1, 60, size=args.people).astype(float)},
        geometry=shapely.points(xy[homes] + jitter),
        crs=network.crs,
    ).to_crs("EPSG:4326")
    candidate_nodes = rng.choice(len(nodes), size=args.candidates, replace=False)
    candidates = gpd.GeoDataFrame(
        {"id": [f"site-{i}" for i in range(args.candidates)], "name": "", "capacity": np.nan},
        geometry=nodes[candidate_nodes],
        crs=network.crs,
    )
    study = Study.load(network, facilities, population=population, categories=["clinic"])
    result = study.coverage()
    row = result.summary().set_index("category").loc["clinic"]
    print(
        f"Andorra: {len(network.nodes):,} walking nodes. Generated with seed {SEED}: "
        f"{args.clinics} existing clinics (random nodes), {args.people:,} population points "
        f"(random nodes + 30 m jitter, 1-59 people each), {args.candidates:,} candidate sites "
        "(random nodes)."
    )
    print(
        f"Existing clinics cover {row['covered_population']:,} of {row['population']:,} "
        f"people ({row['covered_share']:.4f}) within {row['threshold_min']:g} min at "
        f"{row['speed_kmh']:g} km/h."
    )

    start = time.perf_counter()
    usable = prepare_candidates(result, ["clinic"], candidates)
    sets = candidate_coverage(result, usable, ["clinic"])
    build_s = time.perf_counter() - start
    print(
        f"candidate coverage: {len(usable):,} usable candidates, {sets.site.size:,} "
        f"(candidate, uncovered person) pairs within reach: {build_s:.2f} s"
    )
    greedy, exact = maximal_covering(sets, args.k, exact=True, time_limit_s=args.time_limit)
    assert exact is not None
    print(f"greedy (lazy)  k={args.k}: {greedy.objective:,.0f} people newly covered in "
          f"{greedy.time_s:.3f} s")  # fmt: skip
    gap = (exact.objective - greedy.objective) / exact.objective if exact.objective else 0.0
    print(
        f"exact (HiGHS)  k={args.k}: {exact.objective:,.0f} people newly covered in "
        f"{exact.time_s:.2f} s ({exact.status}, bound {exact.bound:,.0f}); greedy-to-exact "
        f"gap {gap:.4%}"
    )
    print(
        f"total, candidate coverage + greedy: {build_s + greedy.time_s:.2f} s; "
        f"+ exact: {build_s + exact.time_s:.2f} s"
    )
    _spopt_reference(sets, args.k, exact.objective, build_s + exact.time_s)


def _spopt_reference(sets, k: int, exact_objective: float, circle_s: float) -> None:
    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError:
        print(
            "PySAL spopt is not installed in this Python: reference not run "
            "(pip install spopt, then run this script with that Python)."
        )
        return
    reached = np.unique(sets.element)
    column = np.full(len(sets.weight), -1, dtype=np.int64)
    column[reached] = np.arange(reached.size)
    radius = 1.0
    start = time.perf_counter()
    # The dense cost matrix a spopt user passes: people x candidates, 0 within reach.
    cost = np.full((reached.size, sets.n_sites), 2.0 * radius)
    cost[column[sets.element], sets.site] = 0.0
    model = MCLP.from_cost_matrix(cost, sets.weight[reached], service_radius=radius, p_facilities=k)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    spopt_s = time.perf_counter() - start
    chosen = [j for j in range(sets.n_sites) if model.fac_vars[j].value() > 0.5]
    value = sets.value(chosen)
    print(
        f"PySAL spopt MCLP (pulp + CBC), same instance ({reached.size:,} uncovered people "
        f"in reach x {sets.n_sites:,} candidates, dense): {value:,.0f} people newly covered "
        f"in {spopt_s:.2f} s (model build + solve; its cost matrix taken from circle)"
    )
    agree = (
        "equal"
        if abs(value - exact_objective) <= 1e-6 * max(1.0, exact_objective)
        else (f"differ by {value - exact_objective:+,.0f}")
    )
    print(
        f"objectives: spopt {value:,.0f} vs circle exact {exact_objective:,.0f} ({agree}); "
        f"time ratio spopt / circle (coverage + exact) = {spopt_s / circle_s:.1f}x"
    )


if __name__ == "__main__":
    main()
