"""Scenarios: edits to a study (facilities added, closed, moved; thresholds; speed); TOML files."""

from __future__ import annotations

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
from circle.categories import normalize_category
from circle.coords import check_coords, to_wgs84
from circle.errors import InputError
from circle.walking import (
    DEFAULT_MINUTES,
    Threshold,
    WalkingProfile,
    parse_thresholds,
    walking_profile,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping, Sequence

__all__ = ["Scenario", "load_scenarios"]

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
        "slopes",
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
    slopes
        ``False``: walk as if the ground were flat (the study's DEM is set aside; the
        steps rule stays), to compare a hilly study with the flat one. ``None``: as the
        study.
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
    slopes: bool | None = None

    @property
    def where(self) -> str:
        """The scenario, for messages."""
        return f"scenario `{self.name}`"

    def edit_facilities(self, facilities: gpd.GeoDataFrame, *, coords: str) -> gpd.GeoDataFrame:
        """`facilities` (WGS-84) with this scenario's moves, closures and additions.

        Parameters
        ----------
        facilities
            The study's facilities: ``id, name, category, capacity``, geometry.
        coords
            {"wgs84", "gcj02", "bd09"}: the system of the `add` and `move` coordinates
            when the scenario does not name one.

        Returns
        -------
        geopandas.GeoDataFrame
            A new table; `facilities` is not modified.

        Raises
        ------
        InputError
            An unknown facility id, a duplicate new id, a bad coordinate or capacity; the
            message names the scenario and the field.
        """
        where = self.where
        coords = check_coords(self.coords or coords)
        table = facilities.copy()
        ids = table["id"].astype(str)
        problems = Problems(where)
        unknown = [i for i in [*self.close, *self.move] if i not in set(ids)]
        if unknown:
            listed = ", ".join(f"`{i}`" for i in unknown[:5])
            problems.add(f"`close`/`move` name unknown facility ids {listed}; check the ids")
        problems.raise_if_any()
        if self.move:
            geometry = table.geometry.to_numpy().copy()
            for facility_id, (lon, lat) in self.move.items():
                _check_lonlat(lon, lat, f"{where}, `move` `{facility_id}`")
                x, y = to_wgs84(float(lon), float(lat), coords=coords)
                geometry[(ids == facility_id).to_numpy()] = shapely.Point(float(x), float(y))
            table = table.set_geometry(gpd.GeoSeries(geometry, crs="EPSG:4326"))
        if self.close:
            table = table.loc[~ids.isin(set(self.close)).to_numpy()]
        added = _new_facilities(self.add, where=where, coords=coords)
        if len(added):
            clash = sorted(set(added["id"]) & set(table["id"].astype(str)))
            if clash:
                msg = f"{where}: `add` reuses existing facility ids {', '.join(clash[:5])}."
                raise InputError(msg)
            table = pd.concat([table, added], ignore_index=True)
        return gpd.GeoDataFrame(table.reset_index(drop=True), crs="EPSG:4326")

    def edit_profile(self) -> WalkingProfile | None:
        """The scenario's walking profile, or ``None`` when it keeps the study's.

        Raises
        ------
        InputError
            An unknown profile or a bad speed.
        """
        if isinstance(self.profile, WalkingProfile):
            return self.profile
        if self.profile is None and self.speed_kmh is None:
            return None
        try:
            return walking_profile(self.profile, speed_kmh=self.speed_kmh)
        except InputError as exc:
            msg = f"{self.where}, `profile`/`speed_kmh`: {exc}"
            raise InputError(msg) from None

    def edit_thresholds(
        self, thresholds: Mapping[str, Threshold], categories: Sequence[str]
    ) -> dict[str, Threshold] | None:
        """The thresholds of `categories` with this scenario's changes, or ``None``.

        Categories the scenario does not name keep theirs (from `thresholds`, else
        :data:`~circle.walking.DEFAULT_MINUTES`).

        Raises
        ------
        InputError
            An unknown category or a bad number.
        """
        if self.minutes is None:
            return None
        known = list(dict.fromkeys(categories))
        base = {c: thresholds.get(c, Threshold(minutes=DEFAULT_MINUTES)) for c in known}
        try:
            return parse_thresholds(self.minutes, categories=known, option="minutes", base=base)
        except InputError as exc:
            msg = f"{self.where}: {exc}"
            raise InputError(msg) from None


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
        slopes = table.get("slopes")
        if slopes is not None and not isinstance(slopes, bool):
            msg = f"{where}, `slopes`: must be true or false, got `{slopes}`."
            raise InputError(msg)
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
                slopes=slopes,
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
