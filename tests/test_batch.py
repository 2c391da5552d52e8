"""Batches on Dask: each area equals a study of that area on the whole network; failures, resume."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from circle import batch
from circle.cli import BATCH_SOME_FAILED_EXIT, main
from circle.datasets import demo_facilities
from circle.errors import InputError
from circle.network import load_network
from circle.study import Study

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from distributed import Client

# Short walks and snaps, so that each area's cut-out is a real part of the small extract.
MINUTES = 2.0
MAX_SNAP_M = 50.0
WEST, SOUTH, EAST, NORTH = 24.9352, 60.1642, 24.9534, 60.1791
GRID = (3, 2)


def _grid() -> gpd.GeoDataFrame:
    dx, dy = (EAST - WEST) / GRID[0], (NORTH - SOUTH) / GRID[1]
    rows = [
        (
            f"d{i}{j}",
            f"District {i}{j}",
            shapely.box(WEST + i * dx, SOUTH + j * dy, WEST + (i + 1) * dx, SOUTH + (j + 1) * dy),
        )
        for i in range(GRID[0])
        for j in range(GRID[1])
    ]
    return gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "name": [r[1] for r in rows]},
        geometry=[r[2] for r in rows],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as connected,
    ):
        yield connected


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, helsinki_pbf: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("batch_inputs")
    areas = _grid()
    broken = gpd.GeoDataFrame(
        {"id": ["far", "bowtie"], "name": ["Far away", "Crossed"]},
        geometry=[
            shapely.box(10.0, 10.0, 10.01, 10.01),
            shapely.Polygon([(24.94, 60.17), (24.945, 60.175), (24.945, 60.17), (24.94, 60.175)]),
        ],
        crs="EPSG:4326",
    )
    path = folder / "areas.geojson"
    pd.concat([areas, broken], ignore_index=True).to_file(path, driver="GeoJSON")
    facilities = folder / "facilities.geojson"
    demo_facilities().to_file(facilities, driver="GeoJSON")
    return {"areas": path, "facilities": facilities, "network": helsinki_pbf}


def _inputs_args(inputs: dict[str, Path], *, facilities: Path | None = None) -> list[str]:
    """``circle batch AREAS --network ... --facilities ...`` (other options follow)."""
    return [
        "batch",
        str(inputs["areas"]),
        "--network",
        str(inputs["network"]),
        "--facilities",
        str(facilities or inputs["facilities"]),
    ]


def _batch_args(inputs: dict[str, Path], out: Path, client: Client) -> list[str]:
    return [
        *_inputs_args(inputs),
        "--minutes",
        f"{MINUTES:g}",
        "--max-snap-m",
        f"{MAX_SNAP_M:g}",
        "--population-proxy",
        "network",
        "--out",
        str(out),
        "--scheduler",
        str(client.scheduler.address),
    ]


@pytest.fixture(scope="module")
def first_run(
    inputs: dict[str, Path], client: Client, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("batch") / "out"
    code = main(_batch_args(inputs, out, client))
    summary = pd.read_csv(out / "batch_summary.csv", dtype={"area_id": str}, keep_default_na=False)
    return {"out": out, "code": code, "summary": summary}


def test_each_area_equals_a_study_of_that_area_on_the_whole_network(
    first_run: dict[str, Any], helsinki_pbf: Path, tmp_path: Path
) -> None:
    out: Path = first_run["out"]
    whole = load_network(helsinki_pbf)
    summary = first_run["summary"].set_index("area_id")
    for area in _grid().itertuples(index=False):
        row = summary.loc[area.id]
        assert row["status"] == "ok", row["error"]
        one = gpd.GeoDataFrame(
            {"id": [area.id], "name": [area.name]}, geometry=[area.geometry], crs="EPSG:4326"
        )
        study = Study.load(
            whole,
            demo_facilities(),
            areas=one,
            minutes=MINUTES,
            max_snap_m=MAX_SNAP_M,
            population_proxy="network",
        )
        expected = study.coverage().summary()
        for record in expected.itertuples(index=False):
            c = record.category
            assert float(row[f"{c}_population"]) == pytest.approx(record.population)
            assert float(row[f"{c}_covered_population"]) == pytest.approx(record.covered_population)
            assert float(row[f"{c}_covered_share"]) == pytest.approx(record.covered_share)
        # The area's own report: the neighbourhood table (shares, median and max minutes)
        # is byte for byte that of the whole-network study.
        study.report(tmp_path / area.id, write_map=False)
        got = (out / area.id / "neighbourhoods.csv").read_bytes()
        assert got == (tmp_path / area.id / "neighbourhoods.csv").read_bytes()
        # And the cut-out really is a part of the network, so the comparison means something.
        polygon = one.to_crs(whole.crs).geometry.iloc[0]
        _, zone = batch.area_zone(
            polygon, reach_m=2 * study.profile.metres(MINUTES), max_snap_m=MAX_SNAP_M
        )
        assert len(batch.clip_network(whole, zone).edges) < 0.9 * len(whole.edges)


def test_a_cut_without_the_walking_buffer_would_differ(helsinki_pbf: Path) -> None:
    """The buffer matters: cutting at the polygon itself changes some area's numbers."""
    whole = load_network(helsinki_pbf)
    differs = []
    for area in _grid().itertuples(index=False):
        one = gpd.GeoDataFrame({"id": [area.id]}, geometry=[area.geometry], crs="EPSG:4326")
        polygon = one.to_crs(whole.crs).geometry.iloc[0]
        tight = batch.clip_network(whole, polygon)
        numbers = []
        for net in (whole, tight):
            try:
                study = Study.load(
                    net,
                    demo_facilities(),
                    areas=one,
                    minutes=MINUTES,
                    max_snap_m=MAX_SNAP_M,
                    population_proxy="network",
                )
            except InputError:  # no facility near the tight cut at all: it differs too
                numbers.append(None)
                continue
            numbers.append(study.coverage().summary()["covered_population"].to_numpy())
        differs.append(
            numbers[1] is None or not np.array_equal(numbers[0], numbers[1])  # type: ignore[arg-type]
        )
    assert any(differs)


def test_broken_areas_are_reported_while_the_others_finish(first_run: dict[str, Any]) -> None:
    out: Path = first_run["out"]
    assert first_run["code"] == BATCH_SOME_FAILED_EXIT
    summary = first_run["summary"].set_index("area_id")
    assert list(first_run["summary"]["area_id"]) == sorted(first_run["summary"]["area_id"])
    assert summary.loc["far", "status"] == "failed"
    assert "no walkable way" in summary.loc["far", "error"]
    assert summary.loc["bowtie", "status"] == "failed"
    assert "invalid polygon" in summary.loc["bowtie", "error"]
    assert (summary.drop(index=["far", "bowtie"])["status"] == "ok").all()
    assert not (out / "far").exists()
    assert not (out / "bowtie").exists()
    assert not list(out.glob(".staging-*"))
    assert (out / "batch_summary.xlsx").is_file()
    page = (out / "batch_map.html").read_text(encoding="utf-8")
    assert "OpenStreetMap" in page
    assert "District 00" in page


def test_resume_keeps_finished_areas_and_ends_with_the_same_summary(
    first_run: dict[str, Any], inputs: dict[str, Path], client: Client, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_run["out"], out)
    kept = sorted(p for p in (out / "d00").iterdir())
    kept_times = {p.name: p.stat().st_mtime_ns for p in kept}
    # As if interrupted after the first area: the others' folders are missing, one was
    # being written (a staging folder), and the summary was never written.
    for folder in ("d01", "d10", "d11", "d20", "d21"):
        shutil.rmtree(out / folder)
    (out / ".staging-d01-deadbeef").mkdir()
    (out / ".staging-d01-deadbeef" / "summary.csv").write_text("half", encoding="utf-8")
    (out / "batch_summary.csv").unlink()

    args = [*_batch_args(inputs, out, client), "--resume"]
    assert main(args) == BATCH_SOME_FAILED_EXIT

    assert {p.name: p.stat().st_mtime_ns for p in kept} == kept_times
    assert not list(out.glob(".staging-*"))
    for folder in ("d01", "d10", "d11", "d20", "d21"):
        assert (out / folder / batch.AREA_RECORD).is_file()
    again = pd.read_csv(out / "batch_summary.csv", dtype={"area_id": str}, keep_default_na=False)
    pd.testing.assert_frame_equal(
        again.drop(columns="seconds"), first_run["summary"].drop(columns="seconds")
    )


def test_run_returns_the_summary_and_resume_skips_nothing_changed(
    first_run: dict[str, Any], inputs: dict[str, Path], client: Client, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_run["out"], out)
    record = json.loads((out / "d00" / batch.AREA_RECORD).read_text(encoding="utf-8"))
    seen: list[batch.BatchProgress] = []
    table = batch.run(
        inputs["areas"],
        inputs["network"],
        inputs["facilities"],
        out_dir=out,
        client=client,
        resume=True,
        progress=seen.append,
        minutes=MINUTES,
        max_snap_m=MAX_SNAP_M,
        population_proxy="network",
    )
    # Only the two broken areas are tried again; every finished one is kept as it was.
    assert seen[0].done == 6
    assert seen[-1].done == 6
    assert seen[-1].failed == 2
    row = table.set_index("area_id").loc["d00"]
    assert row["seconds"] == round(record["seconds"], 2)
    # Other settings (a longer walk) do not reuse the folders.
    changed = batch.run(
        inputs["areas"],
        inputs["network"],
        inputs["facilities"],
        out_dir=out,
        client=client,
        resume=True,
        minutes=MINUTES + 1,
        max_snap_m=MAX_SNAP_M,
        population_proxy="network",
    )
    longer = changed.set_index("area_id").loc["d00", "clinic_covered_population"]
    assert longer >= row["clinic_covered_population"]
    assert (
        json.loads((out / "d00" / batch.AREA_RECORD).read_text(encoding="utf-8"))["settings"]
        != record["settings"]
    )


def test_folder_names_are_safe_and_collisions_are_refused() -> None:
    names = batch.area_folder_names(["锦江区/春熙路", "a b", "../x"])
    assert names["锦江区/春熙路"] == "锦江区_春熙路"
    assert names["a b"] == "a_b"
    assert "/" not in names["../x"]
    assert not names["../x"].startswith(".")
    with pytest.raises(InputError, match="same folder name"):
        batch.area_folder_names(["a b", "a/b"])


def test_batch_refuses_options_that_do_not_apply(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*_inputs_args(inputs), "--areas", str(inputs["areas"]), "--out", str(tmp_path / "out")]
    assert main(args) == 2
    assert "does not apply" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_input_named_like_a_summary_file_is_never_written_over(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    facilities = out / "batch_summary.csv"  # a readable facilities CSV, named like an output
    table = demo_facilities()
    table.assign(lon=table.geometry.x, lat=table.geometry.y).drop(columns="geometry").to_csv(
        facilities, index=False
    )
    before = facilities.read_bytes()
    args = [*_inputs_args(inputs, facilities=facilities), "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "circle never writes over its inputs" in err
    assert err.strip().count("\n") == 0
    assert facilities.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["batch_summary.csv"]


# ---------------------------------------------------------------------------------------
# Every option of `circle report` reaches each area's study


def _bd09(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """`frame`'s points written in BD-09 (Baidu), about 600 m off in Helsinki."""
    from circle.coords import from_wgs84

    lon, lat = from_wgs84(frame.geometry.x, frame.geometry.y, coords="bd09")
    return frame.set_geometry(gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _numbers(table: pd.DataFrame) -> pd.DataFrame:
    return table.drop(columns=["seconds"]).set_index("area_id")


def test_walking_coords_and_population_options_reach_every_area(
    inputs: dict[str, Path], client: Client, helsinki_network: Any, tmp_path: Path
) -> None:
    """DEM, steps factor, step-free and per-category profiles, per-input coordinate
    systems and a population grid: each area equals its study on the whole network."""
    from circle.terrain import lowest_rate
    from tests.conftest import plane_raster, write_raster

    centre = helsinki_network.nodes.geometry.union_all().centroid
    # Downhill at 5 % toward the east: Tobler's fastest grade, walked 19 % beyond the flat.
    dem = plane_raster(
        tmp_path / "slope.tif",
        crs=helsinki_network.crs,
        origin=(centre.x, centre.y),
        slope_x=-0.05,
        cell=20.0,
        size=200,
    )
    people = np.arange(40 * 40, dtype=float).reshape(40, 40) % 7 + 1.0
    grid = write_raster(
        tmp_path / "people.tif",
        people,
        crs=helsinki_network.crs,
        west=centre.x - 2000.0,
        north=centre.y + 2000.0,
        cell=100.0,
    )
    areas = _grid().iloc[[0, 3]]
    areas_path = tmp_path / "areas.geojson"
    areas.to_file(areas_path, driver="GeoJSON")
    facilities = tmp_path / "facilities_bd09.geojson"
    _bd09(demo_facilities()).to_file(facilities, driver="GeoJSON")
    options: dict[str, Any] = {
        "minutes": MINUTES,
        "max_snap_m": MAX_SNAP_M,
        "profile": "daycare=elderly",
        "dem": [dem],
        "steps_factor": 0.8,
        "step_free": ["clinic"],
        "population": grid,
    }
    table = batch.run(
        areas_path,
        inputs["network"],
        facilities,
        out_dir=tmp_path / "out",
        client=client,
        facilities_coords="bd09",
        write_map=False,
        **options,
    )
    assert (table["status"] == "ok").all(), table["error"].tolist()
    got = _numbers(table)
    for area in areas.itertuples(index=False):
        one = gpd.GeoDataFrame(
            {"id": [area.id], "name": [area.name]}, geometry=[area.geometry], crs="EPSG:4326"
        )
        study = Study.load(helsinki_network, demo_facilities(), areas=one, **options)
        for record in study.coverage().summary().itertuples(index=False):
            c = record.category
            assert got.loc[area.id, f"{c}_population"] == pytest.approx(record.population)
            assert got.loc[area.id, f"{c}_covered_population"] == pytest.approx(
                record.covered_population
            )
        study.report(tmp_path / "single" / area.id, write_map=False)
        expected = (tmp_path / "single" / area.id / "neighbourhoods.csv").read_bytes()
        assert (tmp_path / "out" / area.id / "neighbourhoods.csv").read_bytes() == expected
    # The options change the numbers, so the equality above means something: the same
    # facilities read as WGS-84, on the flat, everyone at the adult speed, differ.
    plain = batch.run(
        areas_path,
        inputs["network"],
        facilities,
        out_dir=tmp_path / "plain",
        client=client,
        write_map=False,
        minutes=MINUTES,
        max_snap_m=MAX_SNAP_M,
        population=grid,
    )
    assert not _numbers(plain).equals(got)
    assert lowest_rate(slopes=True, steps_factor=0.8) < 1.0


def test_the_cut_reaches_as_far_as_the_fastest_slope(helsinki_network: Any) -> None:
    """Tobler's rate is lowest at a 5 % descent, exp(-0.175) = 0.8395 flat metres per metre.

    A straight way down a steady 5 % slope, 100 m per edge: a search that may spend 1,000
    flat-equivalent metres walks 1,000 / 0.8395 = 1,191 m of it (11 edges end within), so a
    cut of ``budget`` metres would lose the 11th edge; ``budget / lowest_rate`` keeps it.
    """
    from circle.terrain import TOBLER_OPTIMAL_GRADE, lowest_rate, tobler_rate

    grades = np.linspace(-1.0, 1.0, 200_001)
    assert tobler_rate(grades).min() == pytest.approx(lowest_rate(slopes=True, steps_factor=None))
    assert lowest_rate(slopes=True, steps_factor=None) == pytest.approx(np.exp(-0.175))
    assert lowest_rate(slopes=True, steps_factor=2.0) == 0.5  # steps walked twice as fast
    assert lowest_rate(slopes=False, steps_factor=0.5) == 1.0
    budget = 1000.0
    rate = float(tobler_rate(TOBLER_OPTIMAL_GRADE))
    ends = np.arange(1, 20) * 100.0  # edge ends, metres from the start
    reached = ends[ends * rate <= budget]
    assert reached.max() == 1100.0
    assert reached.max() > budget
    assert reached.max() <= budget / lowest_rate(slopes=True, steps_factor=None)


def test_an_area_without_a_facility_in_reach_is_uncovered_as_in_a_single_report(
    inputs: dict[str, Path], client: Client, helsinki_network: Any, tmp_path: Path
) -> None:
    """No facility within reach is a gap to report (0 % covered), not a failed area."""
    facilities = demo_facilities()
    # Only the facilities of the south-west corner: the north-east district is far away.
    corner = facilities.loc[facilities.geometry.x < WEST + 0.004]
    assert not corner.empty
    path = tmp_path / "corner.geojson"
    corner.to_file(path, driver="GeoJSON")
    area = _grid().iloc[[5]]  # d21, the north-east district
    table = batch.run(
        area,
        inputs["network"],
        path,
        out_dir=tmp_path / "out",
        client=client,
        minutes=MINUTES,
        max_snap_m=MAX_SNAP_M,
        population_proxy="network",
        write_map=False,
    )
    row = table.iloc[0]
    assert row["status"] == "ok", row["error"]
    one = area.rename(columns={})
    study = Study.load(
        helsinki_network,
        corner,
        areas=one,
        minutes=MINUTES,
        max_snap_m=MAX_SNAP_M,
        population_proxy="network",
    )
    for record in study.coverage().summary().itertuples(index=False):
        assert row[f"{record.category}_population"] == pytest.approx(record.population)
        assert row[f"{record.category}_covered_population"] == record.covered_population == 0


def test_every_batch_option_is_passed_on_or_refused(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No option of `circle batch` is silently ignored: each is used by the command."""
    import inspect

    from circle import cli

    source = inspect.getsource(cli.batch.callback)  # type: ignore[arg-type]
    helpers = inspect.getsource(cli._step_free)
    unused = [
        p.name
        for p in cli.batch.params
        if f'"{p.name}"' not in source + helpers and f"{p.name}:" not in source
    ]
    assert unused == []
    args = [
        *_inputs_args(inputs),
        "--scheduler",
        "tcp://127.0.0.1:1",
        "--workers",
        "3",
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "`--workers` does not apply with `--scheduler`" in err
    assert len(err.strip().splitlines()) == 1
