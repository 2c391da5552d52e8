"""Many study areas at once: one :class:`~circle.study.Study` per polygon, run on Dask.

A bureau compares its districts, a province its cities: each polygon of an areas file is
one independent study, and :func:`run` sends them to a ``dask.distributed`` cluster (a
:class:`~distributed.LocalCluster` on this machine by default, or any cluster a
:class:`~distributed.Client` is connected to).

How an area is studied, and why its numbers equal those of the whole network
------------------------------------------------------------------------------
Each worker reads the network extract (and the population file, or the residential
buildings of the extract) once, keeps it in memory, and for each area cuts out the edges
that come within ``reach + max_snap_m`` of the polygon, where ``reach`` is
:data:`~circle.coverage.HORIZON_FACTOR` times the largest walking budget (searches run that
far so that reports can say by how much a place misses). Edges are kept whole, in their
order, with their nodes, in the whole network's CRS. Facilities within ``reach`` of the
polygon are used. Then, for everyone inside the polygon:

- the edge a person joins is within ``max_snap_m`` of them, so it is kept, and it is still
  the nearest (the cut is a subset, ties still go to the lowest edge in the same order);
- every stretch of way a person can walk within the horizon lies within ``reach`` of them;
- a facility they can reach lies within ``reach`` of them, and the edge it joins lies
  within ``max_snap_m`` of it, so it joins the same edge as on the whole network; a facility
  farther away could not be reached on either network.

So every person's walking times up to the horizon are those of the whole network, and so
are the report's numbers. Population polygons that cross the area's boundary are kept
whole, with the network inside them, so their people are spread the same way. The
network's component filter and the population proxy's choice are made once, on the whole
extract. A small margin (:data:`ZONE_MARGIN_M`, :data:`ZONE_MARGIN_SHARE`) absorbs the
difference between a way's metric length and its planar length.

Why workers read the extract rather than the driver cutting it per area: a cut extract
cannot tell which ways belong to the whole network's largest connected component, nor
which share of the whole extract's buildings is residential, so a cut would change
numbers near its edge; and pyrosm's bounding box still decodes the whole file for each cut
(``benchmarks/batch.py`` measures both). Reading once per worker costs one parse per worker.

Outputs
-------
Each area writes its report folder ``OUT/<area id>/`` (the id made safe as a folder name)
into a staging folder first and renames it when complete, so a folder is either complete
or absent; with ``resume=True`` complete folders of the same settings are kept. Then
``batch_summary.csv``, ``batch_summary.xlsx`` and ``batch_map.html`` (see
:mod:`circle.report.batch`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circle import areas as _areas
from circle._io import check_outputs
from circle._read import read_table
from circle._validate import check_readable_file
from circle.categories import choose_categories, evaluated_categories
from circle.coords import check_coords
from circle.coverage import HORIZON_FACTOR
from circle.errors import InputError
from circle.facilities import read_facilities
from circle.network import WalkNetwork, load_network
from circle.presets import get_preset
from circle.walking import DEFAULT_MAX_SNAP_M, parse_thresholds

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from distributed import Client

    from circle.capacity import CapacityMethod
    from circle.i18n import Lang
    from circle.study import PopulationProxy, Study

__all__ = [
    "AREA_RECORD",
    "ZONE_MARGIN_M",
    "ZONE_MARGIN_SHARE",
    "AreaOutcome",
    "BatchProgress",
    "area_folder_names",
    "area_zone",
    "clip_network",
    "run",
]

logger = logging.getLogger(__name__)

#: Metres added to the cut-out zone around each area, beyond ``reach + max_snap_m``.
ZONE_MARGIN_M = 50.0
#: Share of ``reach + max_snap_m`` added too: planar lengths in the UTM CRS may exceed a
#: way's metric length by a fraction of a percent.
ZONE_MARGIN_SHARE = 0.02
#: The file each finished area folder holds: its summary row and the settings it ran with.
AREA_RECORD = "batch_area.json"
_STAGING_PREFIX = ".staging-"
#: How ``Study.load`` names a population GeoDataFrame (replaced by the file's name).
_FRAME_WORDS = "population layer (GeoDataFrame)"
_MAX_FOLDER_CHARS = 80


@dataclass(frozen=True)
class AreaOutcome:
    """How one area went.

    Attributes
    ----------
    area_id, name
        The area.
    status
        ``"ok"`` or ``"failed"``.
    error
        One line saying what went wrong (empty when ok).
    seconds
        Wall time of the area's study and report.
    numbers
        Per category: population, covered population, covered share.
    resumed
        True when a complete folder of an earlier run was kept.
    """

    area_id: str
    name: str
    status: str
    error: str = ""
    seconds: float = 0.0
    numbers: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    resumed: bool = False


@dataclass(frozen=True)
class BatchProgress:
    """Where a batch is, for a progress display.

    Attributes
    ----------
    total
        Areas in the batch.
    done
        Areas finished (ok, including resumed ones).
    failed
        Areas that failed.
    running
        Areas being computed now (as the scheduler reports them).
    eta_seconds
        Estimated seconds left (NaN before the first area of this run finishes).
    last
        The area that just finished, if any.
    """

    total: int
    done: int
    failed: int
    running: int
    eta_seconds: float
    last: AreaOutcome | None = None


@dataclass(frozen=True)
class _Settings:
    """Everything a worker needs besides its area and the facilities (small, picklable)."""

    network: str
    population: str | None
    population_field: str
    population_proxy: str
    population_coords: str
    population_lon_field: str
    population_lat_field: str
    minutes: Any
    preset: str | None
    profile: str
    speed_kmh: float | None
    max_snap_m: float
    coords: str
    categories: tuple[str, ...]
    dem: tuple[str, ...]
    steps_factor: float | None
    step_free: bool | tuple[str, ...]
    use_cache: bool
    inputs_digest: str  # the facilities used and the input files' sizes and times
    reach_m: float
    resolved: str  # the thresholds and walking profile, as the study will use them
    labels: tuple[tuple[str, str], ...]
    lang: str
    capacity_method: str
    targets: Any
    units: tuple[tuple[str, str], ...] | None
    out_coords: str
    write_map: bool

    def fingerprint(self, geometry: shapely.Geometry) -> str:
        """A digest of the settings and the area (resume keeps only matching folders)."""
        # The raw threshold and profile options are left out: `resolved` says what they mean
        # ("15" and 15.0 minutes are the same run).
        same = replace(self, minutes=None, preset=None, profile="", speed_kmh=None, use_cache=True)
        digest = hashlib.sha256(repr(same).encode("utf-8"))
        digest.update(shapely.to_wkb(geometry))
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class _Job:
    area_id: str
    name: str
    geometry: shapely.Geometry
    folder: str
    out_dir: str


# ---------------------------------------------------------------------------------------
# Entry point


def run(
    areas: str | os.PathLike[str] | gpd.GeoDataFrame,
    network: str | os.PathLike[str],
    facilities: str | os.PathLike[str] | gpd.GeoDataFrame,
    *,
    out_dir: str | os.PathLike[str],
    client: Client | None = None,
    workers: int = 2,
    processes: bool = True,
    resume: bool = False,
    progress: Callable[[BatchProgress], None] | None = None,
    area_id_field: str = "id",
    area_name_field: str = "name",
    population: str | os.PathLike[str] | None = None,
    population_field: str = "population",
    population_proxy: PopulationProxy = "auto",
    minutes: str | float | Mapping[str, float] | None = None,
    preset: str | None = None,
    profile: str = "adult",
    speed_kmh: float | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    coords: str = "wgs84",
    facilities_coords: str | None = None,
    areas_coords: str | None = None,
    population_coords: str | None = None,
    population_lon_field: str = "lon",
    population_lat_field: str = "lat",
    facility_fields: Mapping[str, str] | None = None,
    categories: Iterable[str] | None = None,
    dem: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    steps_factor: float | None = None,
    step_free: bool | Iterable[str] = False,
    use_cache: bool = True,
    lang: Lang = "en",
    capacity_method: CapacityMethod = "2sfca",
    targets: str | Mapping[str, float] | None = None,
    units: Mapping[str, str] | None = None,
    out_coords: str = "wgs84",
    write_map: bool = True,
) -> pd.DataFrame:
    """Study every polygon of `areas` on a Dask cluster and write the combined summary.

    Each area's numbers equal those of ``Study.load(network, facilities, areas=<that
    polygon>)`` on the whole network (see the module docstring for why). A failed area
    (bad polygon, no walking network within reach, any exception) is
    recorded with its error; the others go on.

    Parameters
    ----------
    areas
        Polygons (file or GeoDataFrame) with an id column (`area_id_field`) and names.
    network
        The network source, readable by every worker: a ``.osm.pbf``, ``.osm`` or
        ``.graphml`` file (on a shared disk for a remote cluster).
    facilities
        Facilities file or GeoDataFrame (read once here, sent once to each worker).
    out_dir
        The folder for ``<area id>/`` report folders and the summary files.
    client
        A connected ``distributed.Client``; default: a ``LocalCluster`` of `workers`
        single-threaded workers, closed at the end.
    workers
        Workers of the default ``LocalCluster``.
    processes
        Workers as processes (the default; real parallelism) or threads of this process.
    resume
        Keep the folders of areas finished by an earlier run with the same settings.
    progress
        Called with a :class:`BatchProgress` at the start and after each area.
    area_id_field, area_name_field
        Columns of the areas file.
    population, population_field, population_proxy, minutes, preset, profile, speed_kmh,
    max_snap_m, coords, facilities_coords, areas_coords, population_coords,
    population_lon_field, population_lat_field, facility_fields, categories, dem,
    steps_factor, step_free, use_cache
        As for :meth:`circle.study.Study.load`: every area's study uses them as
        ``Study.load`` of that area on the whole network would. With a DEM (or a steps
        factor), each area's cut reaches :func:`circle.terrain.lowest_rate` times farther
        in metres, since a gentle descent is walked faster than the flat.
    lang, capacity_method, targets, units, out_coords, write_map
        As for :meth:`circle.study.Study.report`.

    Returns
    -------
    pandas.DataFrame
        The summary: ``area_id, name, status, error, seconds``, then per category
        ``{c}_population, {c}_covered_population, {c}_covered_share``; sorted by id.

    Raises
    ------
    InputError
        A problem with the inputs as a whole (missing files, bad options, empty or
        duplicate area ids, ids that become the same folder name).
    """
    from circle.report.batch import (  # noqa: PLC0415
        BATCH_MAP,
        BATCH_SUMMARY_CSV,
        BATCH_SUMMARY_XLSX,
        write_batch_outputs,
    )

    coords = check_coords(coords)
    table, broken = _read_areas(
        areas,
        id_field=area_id_field,
        name_field=area_name_field,
        coords=check_coords(areas_coords or coords),
    )
    folders = area_folder_names(table["area_id"].tolist())
    if isinstance(facilities, gpd.GeoDataFrame):
        from circle.facilities import facilities_from_frame  # noqa: PLC0415

        fields = {k: v for k, v in (facility_fields or {}).items() if k not in _LONLAT}
        facility_table = facilities_from_frame(facilities, **fields)
        facilities_label = "a GeoDataFrame"
    else:
        facility_table = read_facilities(
            facilities,
            coords=check_coords(facilities_coords or coords),
            **(facility_fields or {}),
        )
        facilities_label = str(facilities)
    settings = _settings(
        network=network,
        facility_table=facility_table,
        facilities_label=facilities_label,
        population=population,
        population_field=population_field,
        population_proxy=population_proxy,
        minutes=minutes,
        preset=preset,
        profile=profile,
        speed_kmh=speed_kmh,
        max_snap_m=max_snap_m,
        coords=coords,
        categories=categories,
        population_options={
            "population_coords": check_coords(population_coords or coords),
            "population_lon_field": population_lon_field,
            "population_lat_field": population_lat_field,
        },
        walking_options={"dem": dem, "steps_factor": steps_factor, "step_free": step_free},
        use_cache=use_cache,
        report={
            "lang": lang,
            "capacity_method": capacity_method,
            "targets": targets if not isinstance(targets, dict) else tuple(targets.items()),
            "units": tuple(sorted(units.items())) if units else None,
            "out_coords": out_coords,
            "write_map": write_map,
        },
    )
    out = Path(out_dir)
    given = [areas, network, facilities, population, *(_as_list(dem))]
    check_outputs(
        [out / n for n in (BATCH_SUMMARY_CSV, BATCH_SUMMARY_XLSX, BATCH_MAP)],
        inputs=[Path(p) for p in given if isinstance(p, (str, os.PathLike))],
    )
    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(out)

    outcomes: dict[str, AreaOutcome] = {}
    jobs: list[_Job] = []
    for row in table.itertuples(index=False):
        area_id, name = str(row.area_id), str(row.name)
        if area_id in broken:
            outcomes[area_id] = AreaOutcome(area_id, name, "failed", broken[area_id])
            continue
        folder = folders[area_id]
        kept = (
            _finished_outcome(out / folder, settings.fingerprint(row.geometry)) if resume else None
        )
        if kept is not None:
            outcomes[area_id] = kept
            continue
        jobs.append(_Job(area_id, name, row.geometry, folder, str(out)))
    if resume:
        logger.info("resume: %d areas kept, %d to compute", len(outcomes), len(jobs))

    tracker = _Tracker(len(table), outcomes, progress)
    if jobs:
        with _client(client, workers=workers, processes=processes) as dask_client:
            _compute(dask_client, jobs, facility_table, settings, tracker)
    summary = summary_table(list(outcomes.values()), list(settings.categories))
    write_batch_outputs(summary, table, out, categories=list(settings.categories), lang=lang)
    return summary


# ---------------------------------------------------------------------------------------
# Driver side


_LONLAT = frozenset({"lon_field", "lat_field"})


def _settings(
    *,
    network: str | os.PathLike[str],
    facility_table: gpd.GeoDataFrame,
    facilities_label: str,
    population: str | os.PathLike[str] | None,
    population_field: str,
    population_proxy: str,
    minutes: Any,
    preset: str | None,
    profile: str,
    speed_kmh: float | None,
    max_snap_m: float,
    coords: str,
    categories: Iterable[str] | None,
    population_options: dict[str, str],
    walking_options: dict[str, Any],
    use_cache: bool,
    report: dict[str, Any],
) -> _Settings:
    """Check the options once, on the driver, as ``Study.load`` would; work out the reach.

    The reach is the farthest, in metres of way, that a search of any category walks:
    :data:`~circle.coverage.HORIZON_FACTOR` times the largest budget (each category at its
    own profile's speed), divided by :func:`circle.terrain.lowest_rate` when slopes or a
    steps factor make some ways cheaper than the flat.
    """
    from circle._options import check_known_categories  # noqa: PLC0415
    from circle.capacity import parse_targets  # noqa: PLC0415
    from circle.categories import normalize_category  # noqa: PLC0415
    from circle.terrain import check_steps_factor, load_dem, lowest_rate  # noqa: PLC0415
    from circle.walking import STEPS_FACTOR, check_max_snap_m, parse_profiles  # noqa: PLC0415

    check_max_snap_m(max_snap_m)
    source = str(network)
    if not source.lower().endswith((".pbf", ".osm", ".xml", ".graphml")):
        msg = (
            f"`{source}`: a batch needs a network file every worker can read (`.osm.pbf`, "
            "`.osm` or `.graphml`); download a place once with `circle` or OSMnx and save it."
        )
        raise InputError(msg)
    check_readable_file(source, what="network file")
    if population is not None:
        check_readable_file(population, what="population file")
    elif population_field != "population":
        msg = (
            f"`population_field` is `{population_field}` but no `population` is given; "
            "add the population file (`--population`) or drop the field option."
        )
        raise InputError(msg)
    if population_proxy not in _areas.POPULATION_PROXIES:
        msg = (
            f"`population_proxy` must be one of {', '.join(_areas.POPULATION_PROXIES)}, "
            f"not `{population_proxy}`."
        )
        raise InputError(msg)
    _areas.parse_population_fields(population_field)
    known = evaluated_categories(facility_table["category"])
    chosen = known if categories is None else choose_categories(categories, known)
    walk, own_profiles = parse_profiles(profile, speed_kmh=speed_kmh)
    base = get_preset(preset).thresholds() if preset is not None else None
    thresholds = parse_thresholds(minutes, categories=chosen, base=base)
    check_known_categories(own_profiles, thresholds, option="--profile")
    step_free = walking_options["step_free"]
    if not isinstance(step_free, bool):
        if isinstance(step_free, str):
            step_free = [p for p in step_free.split(",") if p.strip()]
        named = [normalize_category(str(c)) for c in step_free]
        check_known_categories(named, chosen, option="--step-free-for")
        step_free = tuple(dict.fromkeys(named))
    dem_paths = _as_list(walking_options["dem"])
    dem = load_dem(dem_paths) if dem_paths else None  # checks the files once, here
    steps_factor = walking_options["steps_factor"]
    if steps_factor is not None:
        check_steps_factor(steps_factor)
    steps_in_use = steps_factor if steps_factor is not None else STEPS_FACTOR if dem else None
    budget_m = max(t.budget_m(own_profiles.get(c, walk)) for c, t in thresholds.items())
    reach_m = (
        HORIZON_FACTOR * budget_m / lowest_rate(slopes=dem is not None, steps_factor=steps_in_use)
    )
    parse_targets(report["targets"], categories=list(thresholds))
    check_known_categories(
        [c for c, _ in report["units"] or ()], list(thresholds), option="--capacity-unit"
    )
    labels = {"network": source, "facilities": facilities_label}
    dem_files = tuple(str(p) for p in dem_paths)
    return _Settings(
        network=source,
        population=None if population is None else str(population),
        population_field=population_field,
        population_proxy=population_proxy,
        population_coords=population_options["population_coords"],
        population_lon_field=population_options["population_lon_field"],
        population_lat_field=population_options["population_lat_field"],
        minutes=minutes if not isinstance(minutes, dict) else tuple(minutes.items()),
        preset=preset,
        profile=profile,
        speed_kmh=speed_kmh,
        max_snap_m=float(max_snap_m),
        coords=coords,
        categories=tuple(chosen),
        dem=dem_files,
        steps_factor=steps_factor,
        step_free=step_free,
        use_cache=use_cache,
        inputs_digest=_inputs_digest(facility_table, [source, population, *dem_files]),
        reach_m=float(reach_m),
        resolved=repr((sorted(thresholds.items()), walk, sorted(own_profiles.items()))),
        labels=tuple(labels.items()),
        **report,
    )


def _as_list(paths: Any) -> list[Any]:
    """One path or several, as a list (``None``: none)."""
    if paths is None:
        return []
    return [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)


def _inputs_digest(facilities: gpd.GeoDataFrame, files: list[Any]) -> str:
    """A digest of the facilities used and of the input files' sizes and change times.

    Resume keeps an area only when this is unchanged: an edited facilities file, extract,
    population or DEM makes every area run again.
    """
    digest = hashlib.sha256()
    plain = pd.DataFrame(facilities.drop(columns=facilities.geometry.name))
    digest.update(pd.util.hash_pandas_object(plain.astype(str), index=False).to_numpy().tobytes())
    for geometry in shapely.to_wkb(facilities.geometry.array):
        digest.update(geometry)
    for file in files:
        if file is None:
            continue
        for path in [Path(file)] if Path(file).is_file() else sorted(Path(file).glob("*")):
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _read_areas(
    areas: str | os.PathLike[str] | gpd.GeoDataFrame,
    *,
    id_field: str,
    name_field: str,
    coords: str,
) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """The areas, and the one-line error of each area whose polygon is unusable.

    Ids are checked for the whole file (missing, empty, duplicate: an :class:`InputError`);
    polygons one by one, so a bad polygon fails only its own area.
    """
    if isinstance(areas, gpd.GeoDataFrame):
        frame, source = areas, "the areas GeoDataFrame"
    else:
        file = check_readable_file(areas, what="areas file")
        frame, source = read_table(file, coords=coords, what="areas file"), str(file)
    placeholder = gpd.GeoSeries([shapely.box(0, 0, 1, 1)] * len(frame), index=frame.index)
    ids_only = frame.set_geometry(placeholder.to_numpy(), crs="EPSG:4326")
    checked = _areas.areas_from_frame(
        ids_only, id_field=id_field, name_field=name_field, source=source
    )
    if checked.empty:
        msg = f"`{source}` holds no areas; add at least one polygon."
        raise InputError(msg)
    broken: dict[str, str] = {}
    geometries = []
    for position in range(len(frame)):
        area_id = str(checked["area_id"].iloc[position])
        try:
            one = _areas.areas_from_frame(
                frame.iloc[[position]], id_field=id_field, name_field=name_field, source=source
            )
            geometries.append(one.geometry.iloc[0])
        except InputError as exc:
            broken[area_id] = _one_line(str(exc))
            geometries.append(None)
    table = checked.set_geometry(gpd.GeoSeries(geometries, crs="EPSG:4326").to_numpy())
    table = table.set_crs("EPSG:4326", allow_override=True)
    return table.sort_values("area_id", kind="stable").reset_index(drop=True), broken


def area_folder_names(area_ids: Iterable[str]) -> dict[str, str]:
    """Each area id as a folder name: letters (any script), digits, ``.``, ``-``, ``_``.

    Parameters
    ----------
    area_ids
        Unique ids.

    Returns
    -------
    dict
        Id to folder name.

    Raises
    ------
    InputError
        Two ids become the same folder name (``"a/b"`` and ``"a b"`` both ``"a_b"``).
    """
    names: dict[str, str] = {}
    owners: dict[str, list[str]] = {}
    for area_id in area_ids:
        name = re.sub(r"[^\w.-]+", "_", area_id.strip(), flags=re.UNICODE).strip("._")
        name = name[:_MAX_FOLDER_CHARS] or "area"
        names[area_id] = name
        owners.setdefault(name.casefold(), []).append(area_id)
    clashes = [ids for ids in owners.values() if len(ids) > 1]
    if clashes:
        shown = "; ".join(
            " and ".join(f"`{i}`" for i in ids) + f" -> `{names[ids[0]]}`" for ids in clashes[:5]
        )
        msg = (
            f"{len(clashes)} groups of area ids become the same folder name ({shown}); "
            "make the ids differ in letters or digits."
        )
        raise InputError(msg)
    return names


@contextlib.contextmanager
def _client(client: Client | None, *, workers: int, processes: bool) -> Any:
    """The given client, or a ``LocalCluster`` of `workers` closed afterwards."""
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster  # noqa: PLC0415

    if workers < 1:
        msg = f"`workers` must be at least 1, not {workers}."
        raise InputError(msg)
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as local,
    ):
        yield local


class _Tracker:
    """Counts finished areas, estimates the time left and calls the progress callback."""

    def __init__(
        self,
        total: int,
        outcomes: dict[str, AreaOutcome],
        callback: Callable[[BatchProgress], None] | None,
    ) -> None:
        self.total = total
        self.outcomes = outcomes
        self.callback = callback
        self.start = time.perf_counter()
        self.computed = 0
        self.report(running=0, last=None)

    def finish(self, outcome: AreaOutcome, *, running: int) -> None:
        self.outcomes[outcome.area_id] = outcome
        self.computed += 1
        self.report(running=running, last=outcome)

    def report(self, *, running: int, last: AreaOutcome | None) -> None:
        if self.callback is None:
            return
        failed = sum(o.status == "failed" for o in self.outcomes.values())
        done = len(self.outcomes) - failed
        left = self.total - len(self.outcomes)
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.computed * left if self.computed else float("nan")
        self.callback(BatchProgress(self.total, done, failed, running, eta, last))


def _compute(
    client: Client,
    jobs: list[_Job],
    facility_table: gpd.GeoDataFrame,
    settings: _Settings,
    tracker: _Tracker,
) -> None:
    """Submit one task per area; the facilities go to each worker once."""
    from distributed import as_completed  # noqa: PLC0415

    [facilities_future] = client.scatter([facility_table], broadcast=True, hash=False)
    token = uuid.uuid4().hex[:8]
    futures = {
        client.submit(
            _run_area,
            job,
            facilities_future,
            settings,
            key=f"circle-area-{token}-{number}",
            pure=False,
        ): job
        for number, job in enumerate(jobs)
    }
    for future in as_completed(futures):
        job = futures[future]
        try:
            outcome: AreaOutcome = future.result()
        except Exception as exc:  # noqa: BLE001  (a killed worker, a lost connection)
            outcome = AreaOutcome(job.area_id, job.name, "failed", _describe(exc))
        future.release()
        tracker.finish(outcome, running=_running(client, len(jobs) - tracker.computed))


def _running(client: Client, left: int) -> int:
    """Tasks being processed by workers now (no more than those left)."""
    try:
        processing = client.processing()
    except Exception:  # noqa: BLE001  (only for the display)
        return 0
    return min(left, sum(len(keys) for keys in processing.values()))


def _finished_outcome(folder: Path, fingerprint: str) -> AreaOutcome | None:
    """The outcome recorded in a complete area folder of the same settings, if any."""
    record = folder / AREA_RECORD
    if not record.is_file():
        return None
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("settings") != fingerprint:
        logger.info("%s was made with other settings; computing it again", folder)
        return None
    numbers = {c: (float(a), float(b), float(s)) for c, (a, b, s) in data["numbers"].items()}
    return AreaOutcome(
        str(data["area_id"]),
        str(data["name"]),
        "ok",
        seconds=float(data["seconds"]),
        numbers=numbers,
        resumed=True,
    )


def _remove_stale_staging(out: Path) -> None:
    """Remove staging folders left by an interrupted run."""
    for stale in out.glob(f"{_STAGING_PREFIX}*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)


def summary_table(outcomes: list[AreaOutcome], categories: list[str]) -> pd.DataFrame:
    """One row per area, sorted by id: status, error, seconds and the per-category numbers.

    Parameters
    ----------
    outcomes
        The areas' outcomes.
    categories
        The categories evaluated, in report order.

    Returns
    -------
    pandas.DataFrame
    """
    rows = []
    for outcome in sorted(outcomes, key=lambda o: o.area_id):
        row: dict[str, Any] = {
            "area_id": outcome.area_id,
            "name": outcome.name,
            "status": outcome.status,
            "error": outcome.error,
            "seconds": round(outcome.seconds, 2),
        }
        for category in categories:
            population, covered, share = outcome.numbers.get(
                category, (math_nan, math_nan, math_nan)
            )
            row[f"{category}_population"] = population
            row[f"{category}_covered_population"] = covered
            row[f"{category}_covered_share"] = share
        rows.append(row)
    columns = ["area_id", "name", "status", "error", "seconds"] + [
        f"{c}_{k}"
        for c in categories
        for k in ("population", "covered_population", "covered_share")
    ]
    return pd.DataFrame(rows, columns=columns)


math_nan = float("nan")


# ---------------------------------------------------------------------------------------
# Worker side


@dataclass(frozen=True)
class _Base:
    """What a worker reads once and keeps: the whole network and where people are."""

    network: WalkNetwork
    population: gpd.GeoDataFrame | None  # in the network's CRS
    polygons: bool
    population_source: str | None
    proxy: bool
    source_values: dict[str, str] | None = None  # the buildings proxy's words (circle.i18n)
    raster_cells: int | None = None  # cells of a population grid over the whole network


_BASES: dict[_Settings, _Base] = {}
_BASES_LOCK = threading.Lock()


def _base(settings: _Settings) -> _Base:
    """The network and population of `settings`, read once per worker process."""
    key = replace(settings, labels=(), lang="", write_map=False)
    with _BASES_LOCK:
        if key not in _BASES:
            _BASES.clear()  # one batch at a time per worker
            _BASES[key] = _read_base(settings)
        return _BASES[key]


def _read_base(settings: _Settings) -> _Base:
    network = load_network(settings.network, use_cache=settings.use_cache)
    if settings.population is not None and _is_raster(settings.population):
        # The cells `Study.load` reads for the whole network, kept as polygons.
        west, south, east, north = network.edges.total_bounds
        snap = settings.max_snap_m
        cells = _areas.read_population_raster(
            settings.population,
            bounds=(west - snap, south - snap, east + snap, north + snap),
            bounds_crs=network.crs,
        ).to_crs(network.crs)
        return _Base(network, cells, True, None, proxy=False, raster_cells=len(cells))
    if settings.population is not None:
        field_name, groups = _areas.parse_population_fields(settings.population_field)
        table = _areas.read_population(
            settings.population,
            population_field=field_name,
            category_fields=groups,
            coords=settings.population_coords,
            lon_field=settings.population_lon_field,
            lat_field=settings.population_lat_field,
        )
        table = table.to_crs(network.crs)
        polygons = not set(table.geometry.geom_type) <= {"Point"}
        return _Base(network, table, polygons, None, proxy=False)
    is_pbf = settings.network.lower().endswith(".pbf")
    if settings.population_proxy in ("auto", "buildings") and is_pbf:
        found = _areas.residential_buildings(
            settings.network,
            network.crs,
            min_residential_share=(
                _areas.MIN_RESIDENTIAL_SHARE if settings.population_proxy == "auto" else 0.0
            ),
        )
        if found is not None:
            points, source, values = found
            return _Base(
                network,
                points,
                polygons=False,
                population_source=source,
                proxy=True,
                source_values=values,
            )
        logger.warning(
            "no usable residential buildings in %s; spreading people along the network",
            settings.network,
        )
    return _Base(network, None, polygons=False, population_source=None, proxy=True)


def _is_raster(path: str) -> bool:
    return path.lower().endswith(_areas.RASTER_SUFFIXES)


def area_zone(
    polygon: shapely.Geometry, *, reach_m: float, max_snap_m: float
) -> tuple[shapely.Geometry, shapely.Geometry]:
    """The zones cut out around an area (metric CRS): for facilities, and for the network.

    Parameters
    ----------
    polygon
        The area, in a metric CRS.
    reach_m
        The farthest a search walks (``HORIZON_FACTOR`` x the largest budget).
    max_snap_m
        The off-network cut-off.

    Returns
    -------
    tuple of shapely geometries
        Facilities within ``reach_m`` of the polygon; edges within ``reach_m +
        max_snap_m`` (each with the margins :data:`ZONE_MARGIN_SHARE` and
        :data:`ZONE_MARGIN_M`).
    """
    facility_m = reach_m * (1 + ZONE_MARGIN_SHARE) + ZONE_MARGIN_M
    network_m = (reach_m + max_snap_m) * (1 + ZONE_MARGIN_SHARE) + ZONE_MARGIN_M
    return shapely.buffer(polygon, facility_m), shapely.buffer(polygon, network_m)


def clip_network(network: WalkNetwork, zone: shapely.Geometry) -> WalkNetwork:
    """The edges of `network` that meet `zone`, kept whole and in order, with their nodes.

    Parameters
    ----------
    network
        The whole network.
    zone
        A polygon in the network's CRS.

    Returns
    -------
    WalkNetwork
        A copy; the same CRS and source.

    Raises
    ------
    InputError
        No edge meets the zone.
    """
    geometry = np.asarray(network.edges.geometry.array, dtype=object)
    hits = shapely.STRtree(geometry).query(zone, predicate="intersects")
    if hits.size == 0:
        msg = "no walkable way within reach of the area; check that it lies inside the extract."
        raise InputError(msg)
    keep = np.zeros(len(geometry), dtype=bool)
    keep[hits] = True
    edges = network.edges.loc[keep].reset_index(drop=True)
    used = np.unique(np.r_[edges["u"].to_numpy(), edges["v"].to_numpy()])
    nodes = network.nodes.loc[network.nodes.index.isin(used)]
    return WalkNetwork(
        nodes=nodes, edges=edges, source=network.source, dropped_nodes=network.dropped_nodes
    )


def _run_area(job: _Job, facilities: gpd.GeoDataFrame, settings: _Settings) -> AreaOutcome:
    """One area on a worker: its study and report folder; an error becomes a failed outcome."""
    start = time.perf_counter()
    try:
        study = area_study(job, facilities, settings)
        numbers = _numbers(study)
        seconds = _write_folder(job, study, settings, numbers, start)
    except Exception as exc:
        logger.info("area %s failed: %s", job.area_id, exc, exc_info=True)
        return AreaOutcome(
            job.area_id, job.name, "failed", _describe(exc), time.perf_counter() - start
        )
    return AreaOutcome(job.area_id, job.name, "ok", seconds=seconds, numbers=numbers)


def area_study(job: _Job, facilities: gpd.GeoDataFrame, settings: _Settings) -> Study:
    """The study of one area on its cut-out network (see the module docstring)."""
    from circle.study import Study  # noqa: PLC0415

    base = _base(settings)
    crs = base.network.crs
    polygon = gpd.GeoSeries([job.geometry], crs="EPSG:4326").to_crs(crs).iloc[0]
    facility_zone, network_zone = area_zone(
        polygon, reach_m=settings.reach_m, max_snap_m=settings.max_snap_m
    )
    population = None
    if base.population is not None:
        rows = base.population.sindex.query(polygon, predicate="intersects")
        population = base.population.iloc[np.sort(rows)]
        if base.polygons and len(population):
            cells = shapely.buffer(
                shapely.union_all(population.geometry.array), settings.max_snap_m + ZONE_MARGIN_M
            )
            network_zone = shapely.union(network_zone, cells)
    network = clip_network(base.network, network_zone)
    projected = facilities.to_crs(crs)
    near = projected.loc[projected.intersects(facility_zone)]
    if not near.empty and not _any_on_network(network, near, settings.max_snap_m):
        # Off the network here as on the whole network (the ways within `max_snap_m` of
        # them are in the cut): they reach nobody, as in `circle report --areas`.
        near = near.iloc[0:0]
    if near.empty:
        # Nobody in the area reaches a facility: the whole network's study says so (0 %
        # covered, every neighbourhood uncovered), and so does this one.
        logger.info("area %s: no facility within %.0f m", job.area_id, settings.reach_m)
    area = gpd.GeoDataFrame(
        {"area_id": [job.area_id], "name": [job.name]}, geometry=[job.geometry], crs="EPSG:4326"
    )
    study = Study.load(
        network,
        near,
        areas=area,
        area_id_field="area_id",
        population=_population_frame(population, settings),
        population_field=(
            settings.population_field
            if settings.population and not _is_raster(settings.population)
            else "population"
        ),
        population_proxy="network",
        minutes=dict(settings.minutes) if isinstance(settings.minutes, tuple) else settings.minutes,
        preset=settings.preset,
        profile=settings.profile,
        speed_kmh=settings.speed_kmh,
        max_snap_m=settings.max_snap_m,
        coords=settings.coords,
        categories=list(settings.categories),
        labels=dict(settings.labels),
        dem=list(settings.dem) or None,
        steps_factor=settings.steps_factor,
        step_free=settings.step_free,
    )
    if base.population_source is not None:  # the buildings proxy, as on the whole extract
        people = replace(
            study.people,
            source=base.population_source,
            proxy=base.proxy,
            unit="floor_area_residents",
            source_key="buildings",
            source_values=dict(base.source_values or {}),
        )
        study = replace(study, people=people, _cache={})
    elif base.raster_cells is not None:  # the grid, as a whole-network study names it
        text = study.people.source.replace(
            f"population polygons: {_FRAME_WORDS}",
            f"population grid `{settings.population}`: {base.raster_cells} cells",
            1,
        )
        people = replace(
            study.people,
            source=text,
            source_key="raster",
            source_values={"source": f"`{settings.population}`", "cells": str(base.raster_cells)},
        )
        study = replace(study, people=people, _cache={})
    elif settings.population is not None:  # name the file, as a whole-network study does
        named = f"`{settings.population}` field `{settings.population_field}`"
        text = study.people.source.replace(_FRAME_WORDS, named, 1)
        study = replace(study, people=replace(study.people, source=text), _cache={})
    return replace(study, inputs={**study.inputs, "population": study.people.source}, sub_area=True)


def _any_on_network(network: WalkNetwork, points: gpd.GeoDataFrame, max_snap_m: float) -> bool:
    """True when some of `points` join `network` (within `max_snap_m` of a way they may join)."""
    from circle.access import CompactGraph  # noqa: PLC0415

    snap = CompactGraph(network).snap(points.geometry, max_snap_m=max_snap_m)
    return bool(snap.on_network.any())


def _population_frame(
    rows: gpd.GeoDataFrame | None, settings: _Settings
) -> gpd.GeoDataFrame | None:
    """Population rows with the file's own column names back (``Study.load`` renames them)."""
    if rows is None or settings.population is None or _is_raster(settings.population):
        return rows
    field_name, groups = _areas.parse_population_fields(settings.population_field)
    renames = {"population": field_name}
    renames.update({f"population:{c}": column for c, column in groups.items()})
    return rows.rename(columns=renames)


def _numbers(study: Study) -> dict[str, tuple[float, float, float]]:
    """Per category: population, covered population, covered share."""
    return {
        str(row["category"]): (
            float(row["population"]),
            float(row["covered_population"]),
            float(row["covered_share"]),
        )
        for row in study.coverage().summary().to_dict(orient="records")
    }


def _write_folder(
    job: _Job,
    study: Study,
    settings: _Settings,
    numbers: dict[str, tuple[float, float, float]],
    start: float,
) -> float:
    """Write the area's report into a staging folder, then rename it into place."""
    out = Path(job.out_dir)
    staging = out / f"{_STAGING_PREFIX}{job.folder}-{uuid.uuid4().hex[:8]}"
    final = out / job.folder
    try:
        study.report(
            staging,
            lang=settings.lang,  # type: ignore[arg-type]
            capacity_method=settings.capacity_method,  # type: ignore[arg-type]
            targets=dict(settings.targets)
            if isinstance(settings.targets, tuple)
            else settings.targets,
            units=dict(settings.units) if settings.units else None,
            out_coords=settings.out_coords,
            write_map=settings.write_map,
        )
        seconds = time.perf_counter() - start
        record = {
            "area_id": job.area_id,
            "name": job.name,
            "seconds": seconds,
            "settings": settings.fingerprint(job.geometry),
            "numbers": numbers,
        }
        (staging / AREA_RECORD).write_text(json.dumps(record, indent=1), encoding="utf-8")
        if final.exists():
            old = out / f"{_STAGING_PREFIX}old-{job.folder}-{uuid.uuid4().hex[:8]}"
            final.rename(old)
            staging.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return seconds


def _describe(exc: BaseException) -> str:
    """An exception as one line: the message of circle's own errors, else type and message."""
    from circle.errors import CircleError  # noqa: PLC0415

    text = str(exc) if isinstance(exc, CircleError) else f"{type(exc).__name__}: {exc}"
    return _one_line(text)


def _one_line(text: str) -> str:
    return " ".join(text.split())
