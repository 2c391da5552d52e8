"""The `circle` command: exit codes, one-line errors, nothing written on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from circle.cli import main

TINY_OSM = Path(__file__).parent / "data" / "tiny.osm"
SQUARE = [
    [24.939, 60.1695],
    [24.943, 60.1695],
    [24.943, 60.1715],
    [24.939, 60.1715],
    [24.939, 60.1695],
]
BOWTIE = [
    [24.939, 60.1695],
    [24.943, 60.1715],
    [24.943, 60.1695],
    [24.939, 60.1715],
    [24.939, 60.1695],
]
FAR = [[10.0, 50.0], [10.1, 50.0], [10.1, 50.1], [10.0, 50.1], [10.0, 50.0]]


@pytest.fixture
def inputs(tmp_path):
    facilities = tmp_path / "facilities.csv"
    facilities.write_text("id,name,category,lon,lat\nc1,Clinic,clinic,24.9401,60.1701\n")
    population = tmp_path / "people.csv"
    population.write_text("lon,lat,population\n24.941,60.1705,100\n24.9415,60.1702,50\n")
    return tmp_path, facilities, population


def write_areas(path, coords):
    feature = {
        "type": "Feature",
        "properties": {"id": "a"},
        "geometry": {"type": "Polygon", "coordinates": [coords]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    return path


def base_args(facilities, out):
    return [
        "report",
        "--network",
        str(TINY_OSM),
        "--facilities",
        str(facilities),
        "--out",
        str(out),
    ]


def run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_report_runs_on_a_tiny_network(inputs, capsys):
    tmp, facilities, population = inputs
    out = tmp / "report"
    code, stdout, _ = run(
        [*base_args(facilities, out), "--population", str(population), "--minutes", "clinic=10"],
        capsys,
    )
    assert code == 0
    assert (out / "summary.csv").is_file()
    assert "clinic" in stdout
    assert "OpenStreetMap contributors" in stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--minutes", "-5"], "`--minutes` must be a positive number of minutes, got `-5`"),
        (["--minutes", "clinic=abc"], "`--minutes clinic` must be a positive number"),
        (["--minutes", "park=10"], "unknown category `park`"),
        (["--population-field", "people"], "no `people` column"),
        (["--max-snap-m", "-1"], "`max_snap_m` must be a positive number of metres"),
        (["--preset", "gb2000"], "Invalid value for '--preset'"),
        (["--dem", "nowhere.tif"], "nowhere.tif"),
        (["--steps-factor", "0"], "`steps_factor` must be a positive number"),
        (["--categories", "clinc"], "unknown category `clinc`"),
        (["--step-free-for", "library"], "`--step-free-for` names an unknown category `library`"),
        (["--step-free", "--step-free-for", "clinic"], "not both"),
        (["--step-free-for", ","], "`--step-free-for` names no category"),
    ],
)
def test_bad_options_exit_2_with_one_line_and_write_nothing(inputs, capsys, extra, message):
    tmp, facilities, population = inputs
    out = tmp / "report"
    code, _, stderr = run(
        [*base_args(facilities, out), "--population", str(population), *extra], capsys
    )
    assert code == 2
    assert message in stderr
    assert stderr.strip().count("\n") == 0
    assert "Traceback" not in stderr
    assert not out.exists()


def test_step_free_for_one_category_runs_and_says_so(inputs, capsys):
    tmp, facilities, population = inputs
    out = tmp / "report"
    argv = [*base_args(facilities, out), "--population", str(population)]
    code, _, _ = run([*argv, "--step-free-for", "诊所"], capsys)
    assert code == 0
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "steps walked like any other way" in text
    assert "for prams and wheelchairs) for clinic" in text


def test_bad_population_and_areas(inputs, capsys):
    tmp, facilities, _ = inputs
    out = tmp / "report"
    negative = tmp / "negative.csv"
    negative.write_text("lon,lat,population\n24.941,60.1705,-3\n")
    code, _, stderr = run([*base_args(facilities, out), "--population", str(negative)], capsys)
    assert (code, "row 1: `population` is negative" in stderr) == (2, True)
    bowtie = write_areas(tmp / "bowtie.geojson", BOWTIE)
    code, _, stderr = run([*base_args(facilities, out), "--areas", str(bowtie)], capsys)
    assert code == 2
    assert "feature 1: invalid polygon" in stderr
    far = write_areas(tmp / "far.geojson", FAR)
    code, _, stderr = run([*base_args(facilities, out), "--areas", str(far)], capsys)
    assert code == 2
    assert "no neighbourhood in" in stderr
    assert "overlaps the walking network" in stderr
    assert not out.exists()


def test_missing_network_file(inputs, capsys):
    tmp, facilities, _ = inputs
    code, _, stderr = run(
        ["coverage", "--network", str(tmp / "none.osm.pbf"), "--facilities", str(facilities)],
        capsys,
    )
    assert code == 2
    assert "does not exist" in stderr


def test_coverage_prints_network_share(inputs, capsys):
    _, facilities, _ = inputs
    code, stdout, _ = run(
        ["coverage", "--network", str(TINY_OSM), "--facilities", str(facilities)], capsys
    )
    assert code == 0
    assert "clinic" in stdout
    assert "network in reach" in stdout


def test_real_console_script_gives_one_line_without_traceback(inputs):
    tmp, facilities, _ = inputs
    result = subprocess.run(
        [sys.executable, "-m", "circle.cli", *base_args(facilities, tmp / "r"), "--minutes", "-5"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("circle: error: `--minutes` must be a positive number")


SCENARIOS = """
[[scenario]]
name = "elderly"
profile = "elderly"

[[scenario]]
name = "second clinic"
add = [{ id = "c2", category = "clinic", lon = 24.9435, lat = 60.1725 }]
"""


def test_scenario_command_writes_tables_and_maps(inputs, capsys):
    tmp, facilities, population = inputs
    scenarios = tmp / "s.toml"
    scenarios.write_text(SCENARIOS)
    out = tmp / "scen"
    code, stdout, _ = run(
        [
            "scenario",
            str(scenarios),
            "--network",
            str(TINY_OSM),
            "--facilities",
            str(facilities),
            "--population",
            str(population),
            "--minutes",
            "2",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 0
    assert "second clinic" in stdout
    rows = (out / "scenarios.csv").read_text().splitlines()
    assert rows[0].startswith("scenario,category,label")
    assert {r.split(",")[0] for r in rows[1:]} == {"base", "elderly", "second clinic"}
    assert (out / "scenarios.xlsx").is_file()
    maps = sorted(p.name for p in (out / "maps").iterdir())
    assert maps == ["01-elderly.html", "02-second-clinic.html", "base.html"]
    assert "Changes against the base" in (out / "maps" / "02-second-clinic.html").read_text()


def test_scenario_file_mistake_exits_2(inputs, capsys):
    tmp, facilities, _ = inputs
    scenarios = tmp / "bad.toml"
    scenarios.write_text('[[scenario]]\nname = "oops"\nclose = ["nope"]\n')
    out = tmp / "scen"
    code, _, stderr = run(
        [
            "scenario",
            str(scenarios),
            "--network",
            str(TINY_OSM),
            "--facilities",
            str(facilities),
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 2
    assert "scenario `oops`" in stderr
    assert "unknown facility ids `nope`" in stderr
    assert not out.exists()


def test_map_command(inputs, capsys):
    tmp, facilities, population = inputs
    out = tmp / "maps" / "tiny.html"
    code, _, _ = run(
        [
            "map",
            "--network",
            str(TINY_OSM),
            "--facilities",
            str(facilities),
            "--population",
            str(population),
            "--out",
            str(out),
            "--lang",
            "zh",
        ],
        capsys,
    )
    assert code == 0
    html = out.read_text(encoding="utf-8")
    assert "社区卫生服务站" in html
    assert 'src="http' not in html


def test_categories_option_limits_the_evaluation(inputs, capsys):
    tmp, facilities, population = inputs
    out = tmp / "only-clinics"
    code, stdout, _ = run(
        [*base_args(facilities, out), "--population", str(population), "--categories", "诊所"],
        capsys,
    )
    assert code == 0
    rows = (out / "summary.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["clinic"]
    assert "canteen" not in stdout


def test_no_cache_reads_the_file_and_writes_no_cache_entry(inputs, capsys, monkeypatch):
    tmp, facilities, population = inputs
    cache = tmp / "cache"
    monkeypatch.setenv("CIRCLE_CACHE_DIR", str(cache))
    args = [*base_args(facilities, tmp / "a"), "--population", str(population)]
    code, _, _ = run([*args, "--no-cache"], capsys)
    assert code == 0
    assert not cache.exists() or not any(cache.rglob("*.*"))
    code, _, _ = run(args, capsys)
    assert code == 0
    assert any(p.is_file() for p in cache.rglob("*"))  # the second run kept the network
