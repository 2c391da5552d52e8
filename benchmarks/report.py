"""The report-writing stage alone, piece by piece, on a generated street grid.

Run: python benchmarks/report.py [--nodes 150000] [--out /tmp/circle-scale] [--repeat 2]

Builds the study once (a jittered 80 m grid, see ``benchmarks/_grid.py``; the PBF and the
network cache are kept in ``--out``), then times each part of ``Study.report(...,
write_map=False)``: the tables, each CSV, the GeoJSON, ``gaps.xlsx`` (built and saved as bytes),
``report.md``, and the whole ``write_report``. The best of ``--repeat`` runs is printed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _grid


def best(func, repeat: int) -> tuple[float, object]:
    times = []
    value = None
    for _ in range(repeat):
        start = time.perf_counter()
        value = func()
        times.append(time.perf_counter() - start)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=150_000)
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "circle-scale"))
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    from circle.network import load_network
    from circle.report import write_report
    from circle.report.markdown import markdown_report
    from circle.report.method import method_rows
    from circle.report.tables import (
        FACILITY_FORMATS,
        SUMMARY_FORMATS,
        ReportTables,
        csv_bytes,
        geojson_table_bytes,
    )
    from circle.report.xlsx import report_workbook, workbook_bytes
    from circle.study import Study

    out = Path(args.out)
    pbf = _grid.grid_pbf(out, args.nodes)
    network = load_network(pbf, cache_dir=out / "cache")
    study = Study.load(
        network, _grid.grid_facilities(args.nodes), population=_grid.grid_people(args.nodes)
    )
    result = study.coverage()
    lang = "en"
    r = args.repeat
    rows: list[tuple[str, float]] = []
    seconds, tables = best(lambda: ReportTables.from_result(result, lang), r)
    rows.append(("tables", seconds))
    method = method_rows(result, tables, lang, {})
    areas = tables.neighbourhoods
    rows.append(("summary.csv", best(lambda: csv_bytes(tables.summary, SUMMARY_FORMATS), r)[0]))
    plain = areas.drop(columns=areas.geometry.name)
    rows.append(
        (
            "neighbourhoods.csv",
            best(lambda: csv_bytes(plain, tables.neighbourhood_formats), r)[0],
        )
    )
    rows.append(
        (
            "neighbourhoods.geojson",
            best(lambda: geojson_table_bytes(areas, tables.neighbourhood_formats), r)[0],
        )
    )
    rows.append(
        ("facilities.csv", best(lambda: csv_bytes(tables.facilities, FACILITY_FORMATS), r)[0])
    )
    rows.append(
        (
            "gaps.xlsx",
            best(lambda: workbook_bytes(report_workbook(result, tables, method, lang)), r)[0],
        )
    )
    rows.append(("report.md", best(lambda: markdown_report(result, tables, method, lang), r)[0]))
    with tempfile.TemporaryDirectory() as folder:
        rows.append(("write_report", best(lambda: write_report(result, folder), r)[0]))
    print(
        f"{study.graph.n_nodes:,} walking nodes, {len(areas):,} neighbourhoods, "
        f"{len(tables.facilities):,} facilities (generated grid); best of {r}"
    )
    for name, seconds in rows:
        print(f"{name:<24}{seconds:>8.2f} s")


if __name__ == "__main__":
    main()
