"""End to end with Chinese web-map coordinates: GCJ-02 input gives the WGS-84 answer."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from circle.cli import main
from circle.coords import wgs84_to_gcj02

# A 12 x 12 street grid, about 110 m apart, in Shanghai (where GCJ-02 shifts ~500 m).
LON0, LAT0, STEP = 121.47, 31.23, 0.001
N = 12


def write_grid_osm(path):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    ident = lambda i, j: 1 + i * N + j  # noqa: E731
    for i in range(N):
        for j in range(N):
            lines.append(
                f'<node id="{ident(i, j)}" '
                f'lat="{LAT0 + i * STEP:.7f}" lon="{LON0 + j * STEP:.7f}"/>'
            )
    way = 1000
    for i in range(N):
        refs = "".join(f'<nd ref="{ident(i, j)}"/>' for j in range(N))
        lines.append(f'<way id="{way}">{refs}<tag k="highway" v="residential"/></way>')
        way += 1
    for j in range(N):
        refs = "".join(f'<nd ref="{ident(i, j)}"/>' for i in range(N))
        lines.append(f'<way id="{way}">{refs}<tag k="highway" v="footway"/></way>')
        way += 1
    lines.append("</osm>")
    path.write_text("\n".join(lines))
    return path


def write_points(path, header, rows):
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def shanghai(tmp_path):
    rng = np.random.default_rng(7)
    facilities = [
        ("c1", "社区卫生服务站", LON0 + 0.0023, LAT0 + 0.0011),
        ("c2", "clinic", LON0 + 0.0091, LAT0 + 0.0087),
        ("k1", "长者食堂", LON0 + 0.0040, LAT0 + 0.0062),
    ]
    people = [
        (LON0 + x, LAT0 + y, int(p))
        for x, y, p in zip(
            rng.uniform(0, 0.011, 150),
            rng.uniform(0, 0.011, 150),
            rng.integers(1, 100, 150),
            strict=True,
        )
    ]

    def shifted(rows, lon_index, lat_index):
        out = []
        for row in rows:
            lon, lat = wgs84_to_gcj02(row[lon_index], row[lat_index])
            moved = list(row)
            moved[lon_index], moved[lat_index] = f"{lon:.8f}", f"{lat:.8f}"
            out.append(moved)
        return out

    return {
        "network": write_grid_osm(tmp_path / "grid.osm"),
        "wgs_facilities": write_points(
            tmp_path / "f.csv", ["id", "category", "lon", "lat"], facilities
        ),
        "gcj_facilities": write_points(
            tmp_path / "f_gcj.csv", ["id", "category", "lon", "lat"], shifted(facilities, 2, 3)
        ),
        "wgs_people": write_points(tmp_path / "p.csv", ["lon", "lat", "population"], people),
        "gcj_people": write_points(
            tmp_path / "p_gcj.csv", ["lon", "lat", "population"], shifted(people, 0, 1)
        ),
        "tmp": tmp_path,
    }


def summary(folder):
    with (folder / "summary.csv").open() as f:
        return [
            (r["category"], r["covered_population"], r["population"]) for r in csv.DictReader(f)
        ]


def report(data, facilities, people, out, *extra):
    code = main(
        [
            "report",
            "--network",
            str(data["network"]),
            "--facilities",
            str(data[facilities]),
            "--population",
            str(data[people]),
            "--minutes",
            "5",
            "--out",
            str(data["tmp"] / out),
            *extra,
        ]
    )
    assert code == 0
    return summary(data["tmp"] / out)


def test_gcj02_input_gives_the_same_coverage_as_wgs84(shanghai, capsys):
    truth = report(shanghai, "wgs_facilities", "wgs_people", "wgs")
    converted = report(shanghai, "gcj_facilities", "gcj_people", "gcj", "--coords", "gcj02")
    capsys.readouterr()
    assert converted == truth
    covered = {c: int(n) for c, n, _ in truth}
    assert covered["clinic"] > 0
    assert covered["canteen"] > 0
    # Read as if they were WGS-84, the shifted files land ~500 m off: a different answer.
    wrong = report(shanghai, "gcj_facilities", "wgs_people", "wrong")
    assert wrong != truth


def test_chinese_report_labels(shanghai, capsys):
    out = shanghai["tmp"] / "zh"
    report(shanghai, "wgs_facilities", "wgs_people", "zh", "--lang", "zh")
    stdout = capsys.readouterr().out
    assert "覆盖率" in stdout  # the terminal table's headings are Chinese
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "社区卫生服务站" in text
    # CSV headers stay stable ids; labels follow the language.
    with (out / "summary.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:2] == ["category", "label"]
    assert {r["label"] for r in rows} >= {"社区卫生服务站", "长者食堂"}


def test_scenario_coordinates_follow_the_study_coords(shanghai):
    from circle.study import Study

    study = Study.load(
        shanghai["network"],
        shanghai["gcj_facilities"],
        population=shanghai["gcj_people"],
        coords="gcj02",
    )
    truth = (LON0 + 0.0055, LAT0 + 0.0033)
    lon, lat = wgs84_to_gcj02(*truth)
    added = study.scenario(add=[{"id": "n1", "category": "canteen", "lon": lon, "lat": lat}])
    point = added.facilities.set_index("id").geometry["n1"]
    assert (point.x, point.y) == pytest.approx(truth, abs=1e-7)  # about 1 cm
    moved = study.scenario(move={"c1": (lon, lat)})
    point = moved.facilities.set_index("id").geometry["c1"]
    assert (point.x, point.y) == pytest.approx(truth, abs=1e-7)
