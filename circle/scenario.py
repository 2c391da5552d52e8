"""Scenario edits (add, close, move facilities; thresholds; walking speed) and comparisons."""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circle._validate import Problems
from circle.access import WalkingProfile, walking_profile
from circle.categories import category_label, normalize_category
from circle.coords import check_coords, to_wgs84
from circle.coverage import CoverageResult, Threshold, parse_thresholds
from circle.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping, Sequence

    from circle.study import Study

__all__ = [
    "SCENARIO_COLUMNS",
    "Comparison",
    "Scenario",
    "apply_scenario",
    "compare",
    "load_scenarios",
    "scenario_table",
]

#: The columns of :func:`scenario_table` (and of ``scenarios.csv``), in order.
SCENARIO_COLUMNS: tuple[str, ...] = (
    "scenario",
    "category",
    "label",
    "threshold_min",
    "speed_kmh",
    "facilities",
    "population",
    "covered_population",
    "covered_share",
    "covered_population_change",
    "covered_share_change",
)

_SCENARIO_KEYS = frozenset(
    {
        "name",
        "description",
        "add",
        "close",
        "move",
        "minutes",
        "profile",
        "speed_kmh",
        "areas",
        "coords",
    }
)


@dataclass(frozen=True)
class Scenario:
    """A named set of edits to a study.

    Parameters
    ----------
    name
        Shown in tables and file names.
    add
        New facilities: dicts with ``id``, ``category``, ``lon``, ``lat`` (WGS-84) and
        optional ``name`` and ``capacity``, or a GeoDataFrame of facilities.
    close
        Ids of facilities to remove.
    move
        New WGS-84 ``(lon, lat)`` of facilities, by id.
    minutes
        Threshold changes: one number for every category or per category.
    profile
        ``"adult"``, ``"elderly"`` or a :class:`~circle.access.WalkingProfile`.
    speed_kmh
        A custom walking speed.
    areas
        Count only these neighbourhoods (ids): a sub-area of the study.
    description
        Free text for reports.
    coords
        {"wgs84", "gcj02", "bd09"}: system of the `add` and `move` coordinates; by
        default the study's (``--coords``).
    """

    name: str
    add: Sequence[Mapping[str, Any]] | gpd.GeoDataFrame = ()
    close: Sequence[str] = ()
    move: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    minutes: str | float | Mapping[str, float] | None = None
    profile: str | WalkingProfile | None = None
    speed_kmh: float | None = None
    areas: Sequence[str] | None = None
    description: str = ""
    coords: str | None = None


def apply_scenario(study: Study, scenario: Scenario) -> Study:
    """A new study with the scenario's edits; the network and people are shared.

    Parameters
    ----------
    study
        The base study.
    scenario
        The edits.

    Returns
    -------
    Study

    Raises
    ------
    InputError
        An unknown facility id, a duplicate new id, an unknown category in the thresholds,
        a bad coordinate or threshold; the message names the scenario and the field.
    """
    where = f"scenario `{scenario.name}`"
    coords = check_coords(scenario.coords or study.coords)
    facilities = study.facilities.copy()
    ids = facilities["id"].astype(str)
    problems = Problems(where)
    unknown = [i for i in [*scenario.close, *scenario.move] if i not in set(ids)]
    if unknown:
        listed = ", ".join(f"`{i}`" for i in unknown[:5])
        problems.add(f"`close`/`move` name unknown facility ids {listed}; check the ids")
    problems.raise_if_any()
    if scenario.move:
        geometry = facilities.geometry.to_numpy().copy()
        for facility_id, (lon, lat) in scenario.move.items():
            _check_lonlat(lon, lat, f"{where}, `move` `{facility_id}`")
            x, y = to_wgs84(float(lon), float(lat), coords=coords)
            geometry[(ids == facility_id).to_numpy()] = shapely.Point(float(x), float(y))
        facilities = facilities.set_geometry(gpd.GeoSeries(geometry, crs="EPSG:4326"))
    if scenario.close:
        facilities = facilities.loc[~ids.isin(set(scenario.close)).to_numpy()]
    added = _new_facilities(scenario.add, where=where, coords=coords)
    if len(added):
        clash = sorted(set(added["id"]) & set(facilities["id"].astype(str)))
        if clash:
            msg = f"{where}: `add` reuses existing facility ids {', '.join(clash[:5])}."
            raise InputError(msg)
        facilities = pd.concat([facilities, added], ignore_index=True)
    facilities = gpd.GeoDataFrame(facilities.reset_index(drop=True), crs="EPSG:4326")

    profile: WalkingProfile | None = None
    if isinstance(scenario.profile, WalkingProfile):
        profile = scenario.profile
    elif scenario.profile is not None or scenario.speed_kmh is not None:
        try:
            profile = walking_profile(scenario.profile, speed_kmh=scenario.speed_kmh)
        except InputError as exc:
            msg = f"{where}, `profile`/`speed_kmh`: {exc}"
            raise InputError(msg) from None
    thresholds: dict[str, Threshold] | None = None
    if scenario.minutes is not None:
        categories = [*study.categories, *sorted(set(facilities["category"]))]
        base = {c: study.thresholds.get(c, Threshold(minutes=15.0)) for c in categories}
        try:
            parsed = parse_thresholds(scenario.minutes, categories=categories, option="minutes")
        except InputError as exc:
            msg = f"{where}: {exc}"
            raise InputError(msg) from None
        given = _given_categories(scenario.minutes, categories)
        thresholds = {c: parsed[c] if c in given else base[c] for c in categories}
    new = study.with_settings(facilities=facilities, profile=profile, thresholds=thresholds)
    if scenario.areas is not None:
        new = new.restricted_to(scenario.areas)
    return new


def _given_categories(
    minutes: str | float | Mapping[str, float], categories: list[str]
) -> set[str]:
    if isinstance(minutes, (int, float)):
        return set(categories)
    if isinstance(minutes, str):
        if "=" not in minutes:
            return set(categories)
        return {part.partition("=")[0].strip() for part in minutes.split(",") if part.strip()}
    return set(minutes)


def _check_lonlat(lon: Any, lat: Any, where: str) -> None:
    try:
        x, y = float(lon), float(lat)
    except (TypeError, ValueError):
        x = y = math.nan
    if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        msg = f"{where}: `lon`/`lat` ({lon}, {lat}) must be WGS-84 decimal degrees."
        raise InputError(msg)


def _new_facilities(
    add: Sequence[Mapping[str, Any]] | gpd.GeoDataFrame, *, where: str, coords: str = "wgs84"
) -> gpd.GeoDataFrame:
    columns = ["id", "name", "category", "capacity"]
    if isinstance(add, gpd.GeoDataFrame):
        if add.empty:
            return gpd.GeoDataFrame(columns=[*columns, "geometry"], crs="EPSG:4326")
        missing = [c for c in ("id", "category") if c not in add.columns]
        if missing:
            msg = f"{where}: `add` needs columns {', '.join(missing)}."
            raise InputError(msg)
        table = add.to_crs("EPSG:4326").copy()
        table["id"] = table["id"].astype(str)
        table["name"] = table["name"].astype(str) if "name" in table else ""
        table["category"] = [normalize_category(str(c)) for c in table["category"]]
        table["capacity"] = (
            pd.to_numeric(table["capacity"], errors="coerce") if "capacity" in table else np.nan
        )
        return gpd.GeoDataFrame(table[[*columns, "geometry"]], crs="EPSG:4326")
    rows = []
    for k, item in enumerate(add, start=1):
        item_where = f"{where}, `add` item {k}"
        missing = [key for key in ("id", "category", "lon", "lat") if key not in item]
        if missing:
            msg = f"{item_where}: missing {', '.join(f'`{m}`' for m in missing)}."
            raise InputError(msg)
        _check_lonlat(item["lon"], item["lat"], item_where)
        capacity = item.get("capacity")
        if capacity is not None and not (
            isinstance(capacity, (int, float)) and math.isfinite(capacity) and capacity > 0
        ):
            msg = f"{item_where}: `capacity` must be a positive number, got `{capacity}`."
            raise InputError(msg)
        x, y = to_wgs84(float(item["lon"]), float(item["lat"]), coords=coords)
        rows.append(
            {
                "id": str(item["id"]),
                "name": str(item.get("name", "")),
                "category": normalize_category(str(item["category"])),
                "capacity": float(capacity) if capacity is not None else np.nan,
                "geometry": shapely.Point(float(x), float(y)),
            }
        )
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        msg = f"{where}: `add` has duplicate ids; give each new facility its own id."
        raise InputError(msg)
    if not rows:
        return gpd.GeoDataFrame(columns=[*columns, "geometry"], crs="EPSG:4326")
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def load_scenarios(path: str | os.PathLike[str]) -> list[Scenario]:
    """Read scenarios from a TOML file: a list of ``[[scenario]]`` tables.

    Example file::

        [[scenario]]
        name = "Elderly walking speed"
        profile = "elderly"

        [[scenario]]
        name = "New canteen on Main Street"
        add = [{ id = "new-1", category = "canteen", lon = 24.941, lat = 60.168 }]
        close = ["clinic-7"]
        minutes = { daycare = 10 }

    Parameters
    ----------
    path
        The ``.toml`` file.

    Returns
    -------
    list of Scenario

    Raises
    ------
    InputError
        Unreadable TOML, no scenarios, unknown keys, wrong types; the message names the
        scenario and the field. Facility ids and categories are checked when a scenario is
        applied (:func:`apply_scenario`).
    """
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"scenario file `{file}` does not exist; check the path."
        raise InputError(msg) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        msg = f"`{file}` is not valid TOML: {exc}."
        raise InputError(msg) from None
    tables = data.get("scenario")
    if not isinstance(tables, list) or not tables:
        msg = f"`{file}` has no `[[scenario]]` tables; see `circle scenario --help`."
        raise InputError(msg)
    scenarios = []
    names: set[str] = set()
    for k, table in enumerate(tables, start=1):
        name = str(table.get("name", f"scenario {k}"))
        where = f"`{file}`, scenario `{name}`"
        unknown = sorted(set(table) - _SCENARIO_KEYS)
        if unknown:
            msg = (
                f"{where}: unknown field(s) {', '.join(unknown)}; "
                f"use {', '.join(sorted(_SCENARIO_KEYS))}."
            )
            raise InputError(msg)
        if name in names:
            msg = f"{where}: two scenarios share this name; names must be unique."
            raise InputError(msg)
        names.add(name)
        move = {}
        for item in table.get("move", []):
            if not isinstance(item, dict) or not {"id", "lon", "lat"} <= set(item):
                msg = f"{where}, `move`: each item needs `id`, `lon` and `lat`."
                raise InputError(msg)
            move[str(item["id"])] = (item["lon"], item["lat"])
        minutes = table.get("minutes")
        if minutes is not None:
            _check_minutes(minutes, where)
        speed = table.get("speed_kmh")
        if speed is not None and not (isinstance(speed, (int, float)) and speed > 0):
            msg = f"{where}, `speed_kmh`: must be a positive number, got `{speed}`."
            raise InputError(msg)
        scenarios.append(
            Scenario(
                name=name,
                add=list(table.get("add", [])),
                close=[str(i) for i in table.get("close", [])],
                move=move,
                minutes=minutes,
                profile=table.get("profile"),
                speed_kmh=speed,
                areas=table.get("areas"),
                description=str(table.get("description", "")),
                coords=_scenario_coords(table.get("coords"), where),
            )
        )
    return scenarios


def _scenario_coords(value: Any, where: str) -> str | None:
    if value is None:
        return None
    try:
        return check_coords(str(value))
    except InputError as exc:
        msg = f"{where}, `coords`: {exc}"
        raise InputError(msg) from None


def _check_minutes(minutes: Any, where: str) -> None:
    values = minutes.items() if isinstance(minutes, dict) else [("minutes", minutes)]
    for key, value in values:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            field_name = "minutes" if key == "minutes" else f"minutes.{key}"
            msg = f"{where}, `{field_name}`: must be a positive number of minutes, got `{value}`."
            raise InputError(msg)


# ---------------------------------------------------------------------------------------
# Comparing


@dataclass(frozen=True, eq=False)
class Comparison:
    """How a scenario changes coverage against a base.

    Attributes
    ----------
    base, other
        The two coverage results.
    categories
        Per category: covered population and share in both, and the change.
    changed
        Neighbourhoods whose status changed for a category: ``area_id``, ``name``,
        ``category``, ``status_base``, ``status_other``, ``change`` (``newly covered``,
        ``newly uncovered``, ``better``, ``worse``).
    """

    base: CoverageResult
    other: CoverageResult
    categories: pd.DataFrame
    changed: gpd.GeoDataFrame

    def newly_covered(self) -> gpd.GeoDataFrame:
        """Neighbourhoods (and categories) that became covered."""
        return self.changed.loc[self.changed["change"] == "newly covered"]

    def newly_uncovered(self) -> gpd.GeoDataFrame:
        """Neighbourhoods (and categories) that became uncovered."""
        return self.changed.loc[self.changed["change"] == "newly uncovered"]

    def map(self, **options: Any) -> Any:
        """The scenario's coverage map with a layer of the neighbourhoods that changed.

        Options are those of :func:`circle.maps.coverage_map`.
        """
        from circle.maps import coverage_map  # noqa: PLC0415

        return coverage_map(self.other, comparison=self, **options)


_RANK = {"uncovered": 0, "partial": 1, "covered": 2}


def compare(base: CoverageResult, other: CoverageResult, *, lang: str = "en") -> Comparison:
    """Compare a scenario's coverage with a base's, per category and per neighbourhood.

    Parameters
    ----------
    base, other
        Coverage results over the same people and neighbourhoods.
    lang
        {"en", "zh"} for category labels.

    Returns
    -------
    Comparison
    """
    base = _aligned_base(base, other)
    a = base.summary(lang=lang).set_index("category")
    b = other.summary(lang=lang).set_index("category")
    categories = [c for c in b.index if c in a.index] + [c for c in b.index if c not in a.index]
    rows = []
    for category in categories:
        before = a.loc[category] if category in a.index else None
        after = b.loc[category]
        base_pop = int(before["covered_population"]) if before is not None else 0
        base_share = float(before["covered_share"]) if before is not None else 0.0
        rows.append(
            {
                "category": category,
                "label": category_label(category, lang),  # type: ignore[arg-type]
                "population": int(after["population"]),
                "covered_population_base": base_pop,
                "covered_population": int(after["covered_population"]),
                "covered_population_change": int(after["covered_population"]) - base_pop,
                "covered_share_base": base_share,
                "covered_share": float(after["covered_share"]),
                "covered_share_change": round(float(after["covered_share"]) - base_share, 4),
            }
        )
    table = pd.DataFrame(rows)
    ta = base.neighbourhood_table(lang=lang).set_index("area_id")
    tb = other.neighbourhood_table(lang=lang).set_index("area_id")
    common = tb.index.intersection(ta.index)
    changes = []
    for category in categories:
        column = f"{category}_status"
        if column not in ta.columns or column not in tb.columns:
            continue
        before_status = ta.loc[common, column]
        after_status = tb.loc[common, column]
        differs = (before_status != after_status) & (after_status != "empty")
        for area_id in common[differs.to_numpy()]:
            s0, s1 = str(before_status[area_id]), str(after_status[area_id])
            changes.append(
                {
                    "area_id": area_id,
                    "name": tb.loc[area_id, "name"],
                    "category": category,
                    "status_base": s0,
                    "status_other": s1,
                    "change": _change_word(s0, s1),
                    "geometry": tb.loc[area_id, "geometry"],
                }
            )
    changed = gpd.GeoDataFrame(
        changes,
        columns=[
            "area_id",
            "name",
            "category",
            "status_base",
            "status_other",
            "change",
            "geometry",
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )
    return Comparison(base=base, other=other, categories=table, changed=changed)


def _aligned_base(base: CoverageResult, other: CoverageResult) -> CoverageResult:
    """The base counted over the same people and neighbourhoods as `other`.

    A scenario restricted to a sub-area counts fewer people; comparing it with the whole
    study would show the people outside as "lost". When both results share their people,
    the base is restricted the same way; otherwise they must count the same people.
    """
    if base.people is other.people:
        if np.array_equal(base.counted, other.counted):
            return base
        area = base.person_area.astype(object).copy()
        area[~other.counted] = None
        kept = base.areas["area_id"].astype(str).isin(set(other.areas["area_id"].astype(str)))
        return dataclasses.replace(base, person_area=area, areas=base.areas.loc[kept])
    if len(base.people) != len(other.people) or not np.isclose(
        base.people.total, other.people.total
    ):
        msg = "the two coverage results count different people; compare results of one study."
        raise InputError(msg)
    return base


def _change_word(before: str, after: str) -> str:
    if after == "covered":
        return "newly covered"
    if after == "uncovered":
        return "newly uncovered"
    return "better" if _RANK.get(after, 0) > _RANK.get(before, 0) else "worse"


def scenario_table(
    base: CoverageResult, results: Iterable[tuple[str, CoverageResult]], *, lang: str = "en"
) -> pd.DataFrame:
    """One row per scenario and category: covered population and share, change against base.

    Parameters
    ----------
    base
        The base coverage.
    results
        ``(scenario name, coverage)`` pairs.
    lang
        {"en", "zh"} for category labels.

    Returns
    -------
    pandas.DataFrame
        ``scenario, category, label, threshold_min, speed_kmh, facilities, population,
        covered_population, covered_share, covered_population_change,
        covered_share_change``; the base comes first as scenario ``base``.
    """
    frames = []
    for name, result in [("base", base), *results]:
        summary = result.summary(lang=lang)
        before = _aligned_base(base, result).summary(lang=lang).set_index("category")
        before = before.reindex(summary["category"])
        summary.insert(0, "scenario", name)
        summary["covered_population_change"] = (
            summary["covered_population"].to_numpy()
            - before["covered_population"].fillna(0).to_numpy()
        ).astype(int)
        summary["covered_share_change"] = (
            summary["covered_share"].to_numpy() - before["covered_share"].fillna(0).to_numpy()
        ).round(4)
        frames.append(summary)
    table = pd.concat(frames, ignore_index=True)
    return table[list(SCENARIO_COLUMNS)]
