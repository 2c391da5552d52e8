"""Recommending sites end to end: Study.recommend, the files, the map and `circle recommend`."""

from __future__ import annotations

import csv
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from openpyxl import load_workbook

from circle.cli import main
from circle.errors import InputError
from circle.maps import map_html
from circle.report.siting import RECOMMENDATION_FILES
from circle.study import MAP_FILE, Study
from tests.conftest import (
    HUNDRED_M_PER_MIN,
    METRIC_CRS,
    X0,
    Y0,
    facilities_at,
    make_network,
    points,
    square,
)
from tests.test_cli import TINY_OSM, run

SITE_COLUMNS = [
    "rank",
    "category",
    "lon",
    "lat",
    "newly_covered",
    "cumulative_covered",
    "covered_share_after",
]

# ---------------------------------------------------------------------------------------
# A hand-made study


@pytest.fixture
def street_study():
    """A 1 km street walked at 100 m/min; clinic threshold 3 min (300 m); clinic c1 at x=0.

    People: 10 at x=100 (covered by c1: 100 m), 20 at (400, 30) and 70 at x=800 (not).
    Areas: A (x 0..500: the 10 and the 20), B (x 500..1000: the 70).
    """
    network = make_network({0: (0.0, 0.0), 1: (500.0, 0.0), 2: (1000.0, 0.0)}, [(0, 1), (1, 2)])
    people = gpd.GeoDataFrame(
        {"population": [10.0, 20.0, 70.0]},
        geometry=points((100.0, 0.0), (400.0, 30.0), (800.0, 0.0)).array,
        crs=METRIC_CRS,
    )
    areas = gpd.GeoDataFrame(
        {"id": ["A", "B"], "name": ["west", "east"]},
        geometry=[square(0, -100, 500, 100), square(500, -100, 1000, 100)],
        crs=METRIC_CRS,
    )
    return Study.load(
        network,
        facilities_at(("c1", "clinic", 0.0, 0.0)),
        areas=areas,
        population=people,
        minutes={"clinic": 3},
        profile=HUNDRED_M_PER_MIN,
        categories=["clinic"],
    )


def candidates_at(*rows):
    """Candidate sites (id, x, y) at relative metre coordinates."""
    return gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "name": [f"lot {r[0]}" for r in rows]},
        geometry=[shapely.Point(X0 + r[1], Y0 + r[2]) for r in rows],
        crs=METRIC_CRS,
    )


def test_study_recommend_by_hand(street_study, tmp_path):
    # Site a (leg 10 m) reaches the 70 at x=800 (10 m); the 20 are 440 m away. Site b
    # reaches the 20 (their leg 30 m) and the 10 at exactly 300 m (already covered).
    found = street_study.recommend(
        "clinic", k=2, candidates=candidates_at(("b", 400.0, 0.0), ("a", 800.0, 10.0))
    )
    table = found.table()
    assert table["candidate_id"].tolist() == ["a", "b"]
    assert table["newly_covered"].tolist() == pytest.approx([70.0, 20.0])
    assert table["cumulative_covered"].tolist() == pytest.approx([70.0, 90.0])
    assert table["covered_share_after"].tolist() == [0.8, 1.0]
    assert table["lifted_neighbourhoods"].tolist() == ["B", "A"]
    # The scenario adds the two sites: coverage goes from 10 to 100 of 100.
    assert len(found.scenario.facilities) == 3
    summary = found.scenario.coverage().summary().set_index("category")
    assert summary.loc["clinic", "covered_population"] == 100
    change = found.comparison.categories.set_index("category")
    assert change.loc["clinic", "covered_population_change"] == 90
    assert sorted(found.comparison.changed["area_id"]) == ["A", "B"]
    comparison = found.comparison_table()
    assert comparison["scenario"].tolist() == ["base", "recommended"]
    assert comparison["covered_share"].tolist() == [0.1, 1.0]
    reached = found.newly_reached().sort_values("people")
    assert reached["people"].tolist() == [20.0, 70.0]
    assert reached["category"].tolist() == ["clinic", "clinic"]

    written = found.write(tmp_path / "out", lang="zh")
    assert [p.name for p in written] == [*RECOMMENDATION_FILES, MAP_FILE]
    lines = (tmp_path / "out" / "recommendations.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join([*SITE_COLUMNS, "candidate_id", "candidate_name",
                                 "lifted_neighbourhoods"])  # fmt: skip
    assert lines[1].startswith("1,clinic,")
    assert lines[1].endswith(",70.0,70.0,0.8000,a,lot a,B")
    assert lines[2].endswith(",20.0,90.0,1.0000,b,lot b,A")
    book = load_workbook(tmp_path / "out" / "recommendations.xlsx")
    assert book.sheetnames == ["推荐选址", "增设前后对比", "方法说明"]
    method = dict(book["方法说明"].iter_rows(min_row=2, values_only=True))
    assert "1 - 1/e" in method["求解方法"]
    assert "2 个" in method["备选点"]


def test_target_share_and_exact_by_hand(street_study):
    candidates = candidates_at(("a", 800.0, 10.0), ("b", 400.0, 0.0))
    found = street_study.recommend("clinic", target_share=0.8, candidates=candidates, exact=True)
    assert found.table()["candidate_id"].tolist() == ["a"]
    assert found.recommendation.solver.method == "exact"
    assert found.recommendation.solver.objective == 1.0
    method = " ".join(
        v for _, v in __import__("circle.report.siting", fromlist=["x"]).recommendation_method(
            found.base.coverage(), found.recommendation, "en"
        )
    )  # fmt: skip
    assert "Set covering" in method
    assert "status optimal" in method


def test_recommend_reads_a_candidates_file_in_the_study_coords(street_study, tmp_path):
    lonlat = gpd.GeoSeries(points((800.0, 10.0), (5000.0, 5000.0)), crs=METRIC_CRS).to_crs(4326)
    path = tmp_path / "lots.csv"
    path.write_text(
        "lot,x,y\n" + "".join(f"L{i},{p.x:.7f},{p.y:.7f}\n" for i, p in enumerate(lonlat, start=1))
    )
    found = street_study.recommend(
        "clinic",
        k=1,
        candidates=path,
        candidate_fields={"id_field": "lot", "lon_field": "x", "lat_field": "y"},
    )
    assert found.table()["candidate_id"].tolist() == ["L1"]
    assert found.recommendation.unused_candidates["candidate_id"].tolist() == ["L2"]
    text = "\n".join(found.write(tmp_path / "out", write_map=False)[3].read_text().splitlines())
    assert "| L2 |" in text
    assert "off-network" in text


def test_map_draws_the_proposed_sites(street_study):
    candidates = candidates_at(("a", 800.0, 10.0), ("b", 400.0, 0.0))
    found = street_study.recommend("clinic", k=2, candidates=candidates)
    page = map_html(found.map(lang="en"))
    assert "Proposed sites" in page
    assert "Proposed service area \\u00b7 clinic / community health station" in page
    assert "People newly reached \\u00b7 clinic / community health station" in page
    badges = re.findall(r'data-rank=\\"(\d+)', page)
    assert sorted(badges) == ["1", "2"]
    for lon, lat in zip(found.sites["lon"], found.sites["lat"], strict=True):
        assert f"{lat:.6f}".rstrip("0") in page
        assert f"{lon:.6f}".rstrip("0") in page
    assert "70 people newly reach" in page
    # The layer control lists the proposed layers: it is drawn after them.
    control = page.index("var layer_control_")
    group = re.search(r"var (feature_group_\w+) = L\.featureGroup", page)
    assert group is not None
    assert page.index(group.group(0)) < control
    assert group.group(1) in page[control:]


def test_bad_recommend_arguments(street_study):
    candidates = candidates_at(("a", 800.0, 10.0))
    with pytest.raises(InputError, match="`--category` names an unknown category `park`"):
        street_study.recommend("park", candidates=candidates)
    with pytest.raises(InputError, match="not both"):
        street_study.recommend("clinic", k=1, target_share=0.5, candidates=candidates)
    with pytest.raises(InputError, match="needs a target ratio for clinic"):
        street_study.recommend("clinic", capacity_aware=True, candidates=candidates)


# ---------------------------------------------------------------------------------------
# The command line


@pytest.fixture
def cli_inputs(tmp_path):
    facilities = tmp_path / "facilities.csv"
    facilities.write_text("id,name,category,lon,lat\nc1,Clinic,clinic,24.9401,60.1701\n")
    candidates = tmp_path / "candidates.csv"
    candidates.write_text("id,name,lon,lat\nk1,Room,24.9419,60.1709\n")
    return tmp_path, facilities, candidates


def recommend_args(facilities, out, *extra):
    return [
        "recommend",
        "--network",
        str(TINY_OSM),
        "--facilities",
        str(facilities),
        "--population-proxy",
        "network",
        "--minutes",
        "1",
        "--category",
        "clinic",
        "--out",
        str(out),
        *extra,
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--k", "0"], "must be a whole number of at least 1"),
        (["--k", "-2"], "must be a whole number of at least 1"),
        (["--target-share", "0"], "`--target-share` must be a fraction in (0, 1]"),
        (["--target-share", "1.5"], "`--target-share` must be a fraction in (0, 1]"),
        (["--category", "park"], "unknown category `park`"),
        (["--time-limit", "0"], "`time_limit_s` must be a positive number"),
        (["--capacity-aware"], "`--capacity-aware` needs a target ratio for clinic"),
    ],
)
def test_bad_recommend_options_exit_2_with_one_line(cli_inputs, capsys, extra, message):
    tmp, facilities, _ = cli_inputs
    out = tmp / "out"
    code, _, stderr = run(recommend_args(facilities, out, *extra), capsys)
    assert code == 2
    assert message in stderr
    assert stderr.strip().count("\n") == 0
    assert "Traceback" not in stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "candidates file"),
        ("id,name,lon,lat\n", "candidates file"),
        ("id,name,lon,lat\nk1,Room,abc,60.17\n", "row 1"),
        ("id,name,lon,lat\nk1,Room,10.0,50.0\n", "none of the 1 candidate sites can be used"),
    ],
)
def test_bad_candidate_files_exit_2_with_one_line(cli_inputs, capsys, content, message):
    tmp, facilities, _ = cli_inputs
    bad = tmp / "bad.csv"
    bad.write_text(content)
    out = tmp / "out"
    code, _, stderr = run(recommend_args(facilities, out, "--candidates", str(bad)), capsys)
    assert code == 2
    assert message in stderr
    assert stderr.strip().count("\n") == 0
    assert not out.exists()


def test_missing_candidates_file_exits_2(cli_inputs, capsys):
    tmp, facilities, _ = cli_inputs
    code, _, stderr = run(
        recommend_args(facilities, tmp / "out", "--candidates", str(tmp / "none.csv")), capsys
    )
    assert code == 2
    assert "does not exist" in stderr


def test_cli_recommend_on_the_tiny_network(cli_inputs, capsys):
    tmp, facilities, candidates = cli_inputs
    out = tmp / "out"
    code, stdout, _ = run(
        recommend_args(facilities, out, "--candidates", str(candidates), "--exact"), capsys
    )
    assert code == 0
    assert "k1 (Room)" in stdout
    assert "OpenStreetMap contributors" in stdout
    assert sorted(p.name for p in out.iterdir()) == sorted([*RECOMMENDATION_FILES, MAP_FILE])


@pytest.fixture(scope="module")
def helsinki_run(helsinki_pbf, tmp_path_factory):
    from circle.datasets import demo_facilities

    tmp = tmp_path_factory.mktemp("helsinki-recommend")
    facilities = tmp / "facilities.geojson"
    demo_facilities().to_file(facilities, driver="GeoJSON")
    out = tmp / "out"
    args = [
        "recommend",
        "--network", str(helsinki_pbf),
        "--facilities", str(facilities),
        "--population-proxy", "network",
        "--minutes", "5",
        "--category", "clinic",
        "--k", "3",
        "--out", str(out),
    ]  # fmt: skip
    assert main(args) == 0
    return helsinki_pbf, facilities, out


def test_helsinki_cli_gain_confirmed_by_a_scenario(helsinki_run):
    pbf, facilities, out = helsinki_run
    with (out / "recommendations.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [*SITE_COLUMNS, "lifted_neighbourhoods"]
    assert [r["rank"] for r in rows] == ["1", "2", "3"]
    assert all(re.fullmatch(r"0\.\d{4}|1\.0000", r["covered_share_after"]) for r in rows)
    cumulative = [float(r["cumulative_covered"]) for r in rows]
    assert cumulative == sorted(cumulative)
    # Independently: load the study again, add the first r sites from the CSV as a
    # scenario, and measure who is newly covered.
    study = Study.load(pbf, facilities, population_proxy="network", minutes=5)
    base = study.coverage()
    weights = base.population("clinic") * base.counted
    before = weights[base.covered("clinic")].sum()
    for rank in range(1, len(rows) + 1):
        add = [
            {"id": f"site-{r['rank']}", "category": "clinic", "lon": float(r["lon"]),
             "lat": float(r["lat"])}
            for r in rows[:rank]
        ]  # fmt: skip
        after = study.scenario(add=add).coverage()
        gain = weights[after.covered("clinic")].sum() - before
        assert gain == pytest.approx(cumulative[rank - 1], abs=0.06)
    with (out / "comparison.csv").open(encoding="utf-8", newline="") as handle:
        comparison = [r for r in csv.DictReader(handle) if r["category"] == "clinic"]
    assert [r["scenario"] for r in comparison] == ["base", "recommended"]
    assert int(comparison[1]["covered_population_change"]) == pytest.approx(cumulative[-1], abs=1)


def test_helsinki_map_and_markdown(helsinki_run):
    _, _, out = helsinki_run
    page = (out / MAP_FILE).read_text(encoding="utf-8")
    assert len(re.findall(r'data-rank=\\"(\d+)', page)) == 3
    markdown = (out / "recommendations.md").read_text(encoding="utf-8")
    assert "## Recommended new sites" in markdown
    assert "1 - 1/e" in markdown
    assert np.isfinite(len(markdown))


def test_a_candidates_file_in_the_output_folder_is_never_written_over(cli_inputs, capsys):
    """`--candidates out/recommendations.csv --out out`: exit 2 before any work, file intact."""
    tmp, facilities, candidates = cli_inputs
    out = tmp / "out"
    out.mkdir()
    given = out / "recommendations.csv"
    given.write_bytes(candidates.read_bytes())
    before = given.read_bytes()
    code, _, stderr = run(recommend_args(facilities, out, "--candidates", str(given)), capsys)
    assert code == 2
    assert "recommendations.csv" in stderr
    assert stderr.strip().count("\n") == 0
    assert given.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["recommendations.csv"]


def test_recommendations_write_refuses_to_overwrite_the_candidates_file(street_study, tmp_path):
    """The library checks too: the written set never replaces an input it was given."""
    site = gpd.GeoSeries([shapely.Point(X0 + 800.0, Y0)], crs=METRIC_CRS).to_crs("EPSG:4326")
    candidates = tmp_path / "recommendations.csv"
    text = f"id,name,lon,lat\nk1,Room,{site.x.iloc[0]:.7f},{site.y.iloc[0]:.7f}\n"
    candidates.write_text(text)
    found = street_study.recommend("clinic", k=1, candidates=candidates)
    assert found.table()["candidate_id"].tolist() == ["k1"]
    with pytest.raises(InputError, match=r"recommendations\.csv"):
        found.write(tmp_path, write_map=False)
    assert candidates.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recommendations.csv"]
