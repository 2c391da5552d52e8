"""The façade: load and validate the inputs once, then answer coverage questions and write outputs.

:class:`Study` is what notebooks and the command line use: it holds the compiled network and
the people, caches travel times and coverage, runs scenarios (milliseconds each) and writes
the report folder, the maps and scenario comparisons.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from circle import areas as _areas
from circle._gc import paused_collection
from circle._io import check_outputs, output_folder
from circle._options import check_known_categories
from circle._pbf import shared_reads
from circle.access import CompactGraph
from circle.categories import choose_categories, evaluated_categories, normalize_category
from circle.comparison import Comparison, compare, scenario_table
from circle.coords import check_coords
from circle.coverage import (
    AccessModel,
    CoverageResult,
    StatusCutoffs,
    compute_access,
    evaluate_coverage,
    network_summary,
)
from circle.errors import InputError
from circle.facilities import empty_facilities, facilities_from_frame, read_facilities
from circle.network import WalkNetwork, load_network
from circle.presets import get_preset
from circle.scenario import Scenario, load_scenarios
from circle.terrain import (
    STEPS_FACTOR,
    DirectedCosts,
    compact_graph,
    edge_costs,
    load_dem,
    step_free_graph,
)
from circle.walking import (
    ADULT,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_MINUTES,
    Threshold,
    WalkingProfile,
    check_max_snap_m,
    parse_profiles,
    parse_thresholds,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    import folium

    from circle.capacity import CapacityMethod, CapacityResult
    from circle.i18n import Lang
    from circle.siting import Recommendation

__all__ = ["MAP_FILE", "PopulationProxy", "Recommendations", "ScenarioRun", "Study"]

#: The map :meth:`Study.report` writes beside the report files.
MAP_FILE = "map.html"

logger = logging.getLogger(__name__)

PopulationProxy = _areas.PopulationProxy
PathLike = str | os.PathLike[str]


@dataclass(frozen=True, eq=False)
class Study:
    """A walking network, facilities, neighbourhoods and people, loaded once.

    Build one with :meth:`Study.load`; then :meth:`coverage` answers the coverage question,
    and scenario methods return new studies that share the loaded network and people, so
    each further question costs only the searches (milliseconds to a second).

    Attributes
    ----------
    network
        The walking network.
    graph
        Its compact form, compiled once.
    facilities
        Facilities (WGS-84): ``id``, ``name``, ``category``, ``capacity``, geometry.
    areas
        Neighbourhoods (WGS-84): ``area_id``, ``name``, geometry.
    people
        Where people are and how many.
    person_area
        The ``area_id`` of each person.
    profile
        Walking profile.
    thresholds
        Per category.
    max_snap_m
        Off-network cut-off for facilities and people.
    cutoffs
        Status cut-offs.
    h3_resolution
        The H3 resolution when the neighbourhoods are an H3 grid, else ``None``.
    coords
        Coordinate system of the input files; scenario coordinates are read in it too.
    inputs
        What was loaded, in words, for reports.
    category_profiles
        Walking profiles of the categories whose people walk differently from
        :attr:`profile` (``{"canteen": ELDERLY}``).
    input_files
        The files read; outputs are never written over them.
    sub_area
        True for a study of a sub-area (a scenario's ``areas``, a batch area): people
        outside its neighbourhoods are expected there and only logged.
    terrain
        The directed edge costs of slope-aware walking and the steps rule (``None``: flat
        ground, steps walked like any way).
    step_free
        Which categories search step-free routes (steps impassable, for prams and
        wheelchairs): ``True`` for every category (also ones a scenario adds), or their
        ids.
    """

    network: WalkNetwork
    graph: CompactGraph
    facilities: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    people: _areas.People
    person_area: np.ndarray
    profile: WalkingProfile = ADULT
    thresholds: dict[str, Threshold] = field(default_factory=dict)
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    cutoffs: StatusCutoffs = field(default_factory=StatusCutoffs)
    h3_resolution: int | None = _areas.DEFAULT_H3_RESOLUTION
    coords: str = "wgs84"
    inputs: dict[str, str] = field(default_factory=dict)
    terrain: DirectedCosts | None = None
    #: A study of a sub-area (a scenario's `areas`, a batch area): people outside its
    #: neighbourhoods are expected and only logged.
    sub_area: bool = False
    category_profiles: dict[str, WalkingProfile] = field(default_factory=dict)
    input_files: tuple[Path, ...] = ()
    step_free: bool | tuple[str, ...] = False
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    # Kept across scenarios (``replace`` keeps this dict): the service-area builders.
    _shared: dict[Any, Any] = field(default_factory=dict, repr=False)

    # -----------------------------------------------------------------------------------
    # Loading

    @classmethod
    @paused_collection  # networks, people and neighbourhoods: many objects (circle._gc)
    @shared_reads()  # the network and the buildings from one parse of the extract (circle._pbf)
    def load(
        cls,
        network: PathLike | WalkNetwork,
        facilities: PathLike | gpd.GeoDataFrame,
        *,
        areas: PathLike | gpd.GeoDataFrame | None = None,
        area_id_field: str = "id",
        area_name_field: str = "name",
        h3_resolution: int = _areas.DEFAULT_H3_RESOLUTION,
        population: PathLike | gpd.GeoDataFrame | None = None,
        population_field: str = "population",
        population_proxy: PopulationProxy = "auto",
        minutes: str | float | Mapping[str, float | Threshold] | None = None,
        preset: str | None = None,
        profile: str | WalkingProfile = "adult",
        speed_kmh: float | None = None,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
        cutoffs: StatusCutoffs | None = None,
        coords: str = "wgs84",
        facilities_coords: str | None = None,
        population_coords: str | None = None,
        areas_coords: str | None = None,
        population_lon_field: str = "lon",
        population_lat_field: str = "lat",
        facility_fields: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        categories: Iterable[str] | None = None,
        dem: PathLike | Sequence[PathLike] | None = None,
        steps_factor: float | None = None,
        step_free: bool | Iterable[str] = False,
        use_cache: bool = True,
        cache_dir: PathLike | None = None,
        draw_service_areas: bool = False,
    ) -> Study:
        """Load every input once.

        Parameters
        ----------
        network
            A network source for :func:`circle.network.load_network` or a loaded network.
        facilities
            A facilities file for :func:`circle.facilities.read_facilities` or a
            GeoDataFrame with ``id``, ``name``, ``category`` (and ``capacity``).
        areas
            Neighbourhood polygons (file or GeoDataFrame with ``area_id``, ``name``);
            default: an H3 grid of `h3_resolution` over the network.
        area_id_field, area_name_field
            Columns of the areas file.
        h3_resolution
            H3 resolution of the default grid (9: about 0.1 km2 per hexagon).
        population
            People: points or polygons with `population_field` (file or GeoDataFrame).
            Without it, `population_proxy` decides.
        population_field
            Column of people counts; ``"pop,canteen=pop_65plus,daycare=pop_0_3"`` adds a
            demand group per category (canteens serve the elderly, nurseries small
            children): coverage and capacity of those categories count that column.
        population_proxy
            ``"auto"``: residential buildings of the ``.osm.pbf`` if it has any, else
            evenly along the network; ``"buildings"`` or ``"network"`` to choose.
        minutes
            Thresholds: one number, ``"clinic=15,daycare=10"`` or a mapping; they win
            over the preset's for the categories they name.
        preset
            Life-circle preset (``"gb50180"``, ``"tdt1062"``; see :mod:`circle.presets`).
        profile
            ``"adult"``, ``"elderly"``, a :class:`~circle.walking.WalkingProfile`, or one
            per category: ``"canteen=elderly,daycare=elderly"`` (categories not named walk
            at the adult speed, or at a default named first: ``"elderly,clinic=adult"``).
        speed_kmh
            Custom walking speed (overrides the profile's).
        max_snap_m
            Facilities and people farther than this from a walkable way are off-network.
        cutoffs
            Status cut-offs (80 % / 20 % by default).
        coords
            {"wgs84", "gcj02", "bd09"}: coordinate system of the facilities, areas and
            population files.
        facilities_coords, population_coords, areas_coords
            The coordinate system of one input, where it differs from `coords` (a
            facility list from Gaode in GCJ-02 with a population grid in WGS-84).
        population_lon_field, population_lat_field
            Coordinate columns of a population CSV.
        facility_fields
            Column names for :func:`~circle.facilities.read_facilities`
            (``lon_field``, ``lat_field``, ``id_field``, ``name_field``,
            ``category_field``, ``capacity_field``).
        labels
            Descriptions of the inputs for reports, replacing the defaults (keys
            ``network``, ``facilities``, ``areas``, ``population``).
        categories
            Evaluate only these categories (ids or aliases); by default the four built-in
            ones (a built-in with no facility is reported as reached by nobody) and every
            custom category in the facilities.
        dem
            Elevation rasters (GeoTIFF, SRTM ``.hgt``/``.hgt.zip``, a VRT, or a folder of
            tiles; any CRS): walking times follow the slopes by Tobler's hiking function,
            measured from home to facility (see :mod:`circle.terrain`).
        steps_factor
            Speed on ``highway=steps`` as a share of the flat speed (default
            :data:`circle.terrain.STEPS_FACTOR` with a DEM, or when given; without either,
            steps are walked like any way).
        step_free
            Leave steps out, for people with prams or wheelchairs: ``True`` for every
            category, or the categories that need step-free routes (``["daycare"]``, ids
            or aliases). Those categories search a graph without steps, and their people
            and facilities join it (someone whose nearest way is a staircase joins the
            nearest other way).
        use_cache, cache_dir
            Keep the network built from a file in circle's cache, or read it from there
            (see :func:`circle.network.load_network`), and with it the extract's residential
            buildings (:func:`circle.areas.residential_buildings`); ``use_cache=False``
            reads the file.
        draw_service_areas
            Start drawing the service areas (:meth:`service_areas`, for a map) in the
            background as soon as the walking searches are done, while people and
            neighbourhoods load; :meth:`report`, :meth:`map` and :meth:`save_map` then
            wait for them instead of starting. The CLI does this when it writes a map:
            ``circle report`` on Andorra (2 categories) took 0.64 s instead of 0.66 s
            (4 categories: 0.83 s instead of 0.86 s; medians of 10 and 6 first runs).

        Returns
        -------
        Study
        """
        check_max_snap_m(max_snap_m)
        coords = check_coords(coords)
        if population is None and population_field != "population":
            msg = (
                f"`population_field` is `{population_field}` but no `population` is given; "
                "add the population file (`--population`) or drop the field option."
            )
            raise InputError(msg)
        if areas is None:
            _areas.check_h3_resolution(h3_resolution)
        walk, own_profiles = parse_profiles(profile, speed_kmh=speed_kmh)
        inputs: dict[str, str] = {}
        if isinstance(facilities, gpd.GeoDataFrame):
            fields = {k: v for k, v in (facility_fields or {}).items() if k not in _LONLAT_FIELDS}
            # An empty table is a place with no facility near it (a batch area): nobody is
            # covered there, which is the answer, not an input error.
            facility_table = (
                empty_facilities()
                if facilities.empty
                else facilities_from_frame(facilities, **fields)
            )
            inputs["facilities"] = "a GeoDataFrame"
        else:
            facility_table = read_facilities(
                facilities,
                coords=check_coords(facilities_coords or coords),
                **(facility_fields or {}),
            )
            inputs["facilities"] = str(facilities)
        # Every input file is read and checked before the (slow) network loads.
        area_file = None
        if areas is not None and not isinstance(areas, gpd.GeoDataFrame):
            area_file = _areas.read_areas(
                areas,
                id_field=area_id_field,
                name_field=area_name_field,
                coords=check_coords(areas_coords or coords),
            )
        population_file = None
        is_grid = str(population).lower().endswith(_areas.RASTER_SUFFIXES)
        if population is not None and not isinstance(population, gpd.GeoDataFrame) and not is_grid:
            field_name, groups = _areas.parse_population_fields(population_field)
            population_file = _areas.read_population(
                population,
                population_field=field_name,
                category_fields=groups,
                coords=check_coords(population_coords or coords),
                lon_field=population_lon_field,
                lat_field=population_lat_field,
            )
        net = (
            network
            if isinstance(network, WalkNetwork)
            else load_network(network, use_cache=use_cache, cache_dir=cache_dir)
        )
        inputs["network"] = net.source
        known = evaluated_categories(facility_table["category"])
        if categories is None:
            chosen = known
        else:
            chosen = choose_categories(categories, known)
            keep = facility_table["category"].isin(chosen).to_numpy()
            if not keep.all():
                logger.info("%d facilities of other categories are left out", int((~keep).sum()))
            facility_table = facility_table.loc[keep].reset_index(drop=True)
        stepless = _step_free_categories(step_free, chosen)
        terrain = _terrain(net, dem, steps_factor=steps_factor)
        graph = CompactGraph(net) if terrain is None else compact_graph(net, terrain)
        base = None
        if preset is not None:
            life_circle = get_preset(preset)
            base = life_circle.thresholds()
            inputs["preset"] = f"{life_circle.name}: {life_circle.title}"
        thresholds = parse_thresholds(minutes, categories=chosen, base=base)
        check_known_categories(own_profiles, thresholds, option="--profile")
        _check_reaches_network(
            graph,
            net.nodes.geometry,
            facility_table.geometry,
            max_snap_m,
            what=f"facilities `{inputs['facilities']}`",
        )

        cache: dict[str, Any] = {}
        shared: dict[Any, Any] = {}
        if draw_service_areas:  # the searches need no people: draw while they load
            from circle.isochrones import SERVICE_AREA_BUFFER_M  # noqa: PLC0415

            cache["access"] = _searches(
                graph,
                net,
                facility_table,
                profile=walk,
                thresholds=thresholds,
                max_snap_m=max_snap_m,
                terrain=terrain,
                category_profiles=own_profiles,
                step_free=stepless,
                cache=cache,
            )
            cache[f"drawing:{SERVICE_AREA_BUFFER_M}"] = _start_drawing(
                graph, cache["access"], SERVICE_AREA_BUFFER_M, shared
            )

        people = _load_people(
            graph,
            network if not isinstance(network, WalkNetwork) else None,
            population,
            population_field=population_field,
            proxy=population_proxy,
            max_snap_m=max_snap_m,
            coords=check_coords(population_coords or coords),
            lon_field=population_lon_field,
            lat_field=population_lat_field,
            table=population_file,
            use_cache=use_cache,
            cache_dir=cache_dir,
        )
        if population is not None:
            on = people.snap.on_network & (people.population > 0)
            _check_reaches_network(
                graph,
                net.nodes.geometry,
                people.geometry,
                max_snap_m,
                what=f"population `{population}`",
                reached=bool(on.any()) or not (people.population > 0).any(),
            )
        inputs["population"] = people.source
        if areas is None:
            # The hexagons holding a node or a person; each point's cell is found once.
            node_cells = _areas.h3_cells(net.nodes.geometry, resolution=h3_resolution)
            person_area = _areas.h3_cells(people.geometry, resolution=h3_resolution)
            area_table = _areas.h3_cell_areas(
                np.r_[node_cells, person_area], resolution=h3_resolution
            )
            resolution: int | None = h3_resolution
            inputs["areas"] = _h3_words(h3_resolution)
        else:
            if isinstance(areas, gpd.GeoDataFrame):
                area_table = _areas.areas_from_frame(
                    areas, id_field=area_id_field, name_field=area_name_field
                )
                inputs["areas"] = "a GeoDataFrame of polygons"
            else:
                area_table = area_file
                inputs["areas"] = str(areas)
            person_area = _areas.assign_areas(people, area_table, h3_resolution=None)
            resolution = None
            if not np.asarray(person_area != None).any():  # noqa: E711
                msg = (
                    f"no neighbourhood in `{inputs['areas']}` overlaps the walking network "
                    f"`{net.source}`; check that both cover the same place (and `--coords`)."
                )
                raise InputError(msg)
        inputs.update(labels or {})
        dem_files = [dem] if isinstance(dem, (str, os.PathLike)) else list(dem or [])
        files = [
            Path(p)
            for p in (network, facilities, areas, population, *dem_files)
            if isinstance(p, (str, os.PathLike)) and Path(p).is_file()
        ]
        return cls(
            network=net,
            graph=graph,
            facilities=facility_table,
            areas=area_table,
            people=people,
            person_area=person_area,
            profile=walk,
            thresholds=thresholds,
            max_snap_m=max_snap_m,
            cutoffs=cutoffs or StatusCutoffs(),
            h3_resolution=resolution,
            coords=coords,
            inputs=inputs,
            terrain=terrain,
            category_profiles=own_profiles,
            input_files=tuple(files),
            step_free=stepless,
            _cache=cache,
            _shared=shared,
        )

    # -----------------------------------------------------------------------------------
    # Questions

    @property
    def categories(self) -> list[str]:
        """The categories evaluated: built-ins, then custom ones from the facilities."""
        return list(self.thresholds)

    @property
    def step_free_categories(self) -> list[str]:
        """The categories evaluated on step-free routes (see :attr:`step_free`)."""
        return _step_free_ids(self.step_free, self.categories)

    def step_free_graph(self) -> CompactGraph:
        """:attr:`graph` with the steps impassable (built once)."""
        return _step_free_graph(self.graph, self.network, self._cache)

    def access(self) -> AccessModel:
        """Travel times from every category's facilities (computed once, then cached)."""
        if "access" not in self._cache:
            self._cache["access"] = _searches(
                self.graph,
                self.network,
                self.facilities,
                profile=self.profile,
                thresholds=self.thresholds,
                max_snap_m=self.max_snap_m,
                terrain=self.terrain,
                category_profiles=self.category_profiles,
                step_free=self.step_free,
                cache=self._cache,
            )
        model: AccessModel = self._cache["access"]
        return model

    def coverage(self) -> CoverageResult:
        """Who reaches each category in time, per person and per neighbourhood (cached)."""
        if "coverage" not in self._cache:
            self._cache["coverage"] = evaluate_coverage(
                self.access(),
                self.people,
                self.areas,
                self.person_area,
                cutoffs=self.cutoffs,
                area_kind=self.inputs.get("areas", ""),
                outside_expected=self.sub_area,
            )
        result: CoverageResult = self._cache["coverage"]
        return result

    def capacity(
        self,
        *,
        method: CapacityMethod = "2sfca",
        targets: str | Mapping[str, float] | None = None,
        units: Mapping[str, str] | None = None,
    ) -> CapacityResult:
        """Places per 1,000 residents within reach (see :mod:`circle.capacity`).

        Parameters
        ----------
        method
            ``"2sfca"`` or ``"e2sfca"`` (distance decay by travel-time band).
        targets
            Places per 1,000 residents to reach: ``"daycare=3.5"`` or a mapping.
        units
            Unit of capacity per category (``{"canteen": "seats"}``), for reports.

        Returns
        -------
        CapacityResult
        """
        from circle.capacity import capacity_ratios, parse_targets  # noqa: PLC0415

        parsed = parse_targets(targets, categories=self.categories)
        key = f"capacity:{method}:{sorted(parsed.items())}:{sorted((units or {}).items())}"
        if key not in self._cache:
            self._cache[key] = capacity_ratios(
                self.coverage(), method=method, targets=parsed, units=units
            )
        result: CapacityResult = self._cache[key]
        return result

    @property
    def has_capacities(self) -> bool:
        """True when at least one facility has a capacity."""
        return bool(self.facilities["capacity"].notna().any())

    @paused_collection  # tables, workbook cells, map (circle._gc)
    def report(
        self,
        out_dir: PathLike,
        *,
        lang: Lang = "en",
        capacity_method: CapacityMethod = "2sfca",
        targets: str | Mapping[str, float] | None = None,
        units: Mapping[str, str] | None = None,
        out_coords: str = "wgs84",
        map_options: Mapping[str, Any] | None = None,
        write_map: bool = True,
    ) -> list[Path]:
        """Write the gap report folder: the report files and the map (:data:`MAP_FILE`).

        The report files are those of :func:`circle.report.write_report`.

        Capacity columns (and the map's capacity layer) are added when any facility has a
        capacity.

        Parameters
        ----------
        out_dir
            The report folder (created if missing; other files in it are left alone).
        lang
            {"en", "zh"}: language of labels, headers and text.
        capacity_method, targets, units
            See :meth:`capacity`.
        out_coords
            {"wgs84", "gcj02", "bd09"}: coordinate system of the report layers.
        map_options
            Options of :func:`circle.maps.coverage_map` (``tiles``, ``title``, ...).
        write_map
            Also write the map.

        Returns
        -------
        list of Path
            The files written: the report files, then the map.
        """
        from circle.report import REPORT_FILES, write_report  # noqa: PLC0415

        folder = Path(out_dir)
        names = [*REPORT_FILES, MAP_FILE] if write_map else list(REPORT_FILES)
        check_outputs([folder / n for n in names], inputs=self.input_files)
        self._check_capacity_options(targets, units)
        # The map's areas are drawn while coverage is counted and the report files are
        # written (on small graphs; see ServiceAreaBuilder.start_areas).
        areas = self._start_service_areas() if write_map else None
        capacity = (
            self.capacity(method=capacity_method, targets=targets, units=units)
            if self.has_capacities
            else None
        )
        result = self.coverage()
        with output_folder(folder) as staging:  # one set: the report files and the map
            write_report(
                result,
                staging,
                lang=lang,
                inputs=self.inputs_in(lang),
                capacity=capacity,
                out_coords=out_coords,
            )
            if areas is not None:
                areas()
                options = dict(map_options or {})
                options.setdefault("capacity", capacity)
                self.save_map(staging / MAP_FILE, lang=lang, **options)
        return [folder / n for n in names]

    def _check_capacity_options(
        self, targets: str | Mapping[str, float] | None, units: Mapping[str, str] | None
    ) -> None:
        """Targets and units name known categories; warn where no facility has a capacity."""
        from circle._options import check_known_categories  # noqa: PLC0415
        from circle.capacity import parse_targets  # noqa: PLC0415

        named = list(parse_targets(targets, categories=self.categories))
        check_known_categories(list(units or {}), self.categories, option="--capacity-unit")
        named += [str(c) for c in units or {}]
        with_capacity = set(self.facilities.loc[self.facilities["capacity"].notna(), "category"])
        idle = sorted(set(named) - with_capacity)
        if idle:
            logger.warning(
                "`--target`/`--capacity-unit` name %s, but no such facility has a capacity, "
                "so they are not used; add a `capacity` column to the facilities",
                ", ".join(idle),
            )

    def inputs_in(self, lang: Lang) -> dict[str, str]:
        """:attr:`inputs` with the words circle wrote itself in `lang` (file names stay)."""
        from circle.i18n import word  # noqa: PLC0415

        inputs = dict(self.inputs)
        if self.h3_resolution is not None and inputs.get("areas") == _h3_words(self.h3_resolution):
            inputs["areas"] = word("people.h3_areas", lang, resolution=self.h3_resolution)
        inputs["population"] = self.people.describe(lang)
        return inputs

    def service_areas(self, *, buffer_m: float | None = None) -> gpd.GeoDataFrame:
        """Per category, the area within the threshold (see :mod:`circle.isochrones`)."""
        return self._start_service_areas(buffer_m=buffer_m)()

    def _start_service_areas(
        self, *, buffer_m: float | None = None
    ) -> Callable[[], gpd.GeoDataFrame]:
        """Start drawing :meth:`service_areas` (in the background on small graphs).

        A drawing already under way (started by :meth:`load` with `draw_service_areas`,
        or by an earlier call) is waited for, not started again.
        """
        from circle.isochrones import SERVICE_AREA_BUFFER_M  # noqa: PLC0415

        buffer = SERVICE_AREA_BUFFER_M if buffer_m is None else buffer_m
        key, under_way = f"service_areas:{buffer}", f"drawing:{buffer}"
        if key in self._cache:
            cached: gpd.GeoDataFrame = self._cache[key]
            return lambda: cached
        if under_way not in self._cache:
            self._cache[under_way] = _start_drawing(self.graph, self.access(), buffer, self._shared)

        def drawn() -> gpd.GeoDataFrame:
            if key not in self._cache:
                self._cache[key] = self._cache.pop(under_way)()
            areas: gpd.GeoDataFrame = self._cache[key]
            return areas

        return drawn

    def network_summary(self) -> pd.DataFrame:
        """Per category: facilities used, and the share of the walking network in reach.

        See :func:`circle.coverage.network_summary`.
        """
        return network_summary(self.access())

    def map(self, *, comparison: Comparison | None = None, **options: Any) -> folium.Map:
        """A ``folium.Map`` of coverage and gaps (see :func:`circle.maps.coverage_map`).

        A layer of places per 1,000 residents is added when facilities have capacities;
        pass ``comparison=study.compare_with(base)`` (or :func:`circle.comparison.compare`)
        to add the layer of changed neighbourhoods.
        """
        from circle.maps import coverage_map  # noqa: PLC0415

        if self.has_capacities and options.get("capacity") is None:
            options["capacity"] = self.capacity()
        return coverage_map(self.coverage(), self.service_areas(), comparison=comparison, **options)

    @paused_collection  # the map's layers and their text (circle._gc)
    def save_map(self, path: PathLike, *, cdn: bool = False, **options: Any) -> Path:
        """Write :meth:`map` as one self-contained HTML file (see :func:`circle.maps.save_map`)."""
        from circle.maps import save_map  # noqa: PLC0415

        check_outputs([path], inputs=self.input_files)
        return save_map(self.map(**options), path, cdn=cdn)

    def compare_with(self, base: Study) -> Comparison:
        """How this study's coverage differs from `base`'s (:func:`circle.comparison.compare`)."""
        return compare(base.coverage(), self.coverage())

    def scenario(self, scenario: Scenario | None = None, /, **edits: Any) -> Study:
        """A new study with edits applied; the loaded network and people are shared.

        Parameters
        ----------
        scenario
            A :class:`circle.scenario.Scenario`, or none and the edits as keywords:
            ``add``, ``close``, ``move``, ``minutes``, ``profile``, ``speed_kmh``,
            ``areas``, ``slopes`` (see :class:`~circle.scenario.Scenario`); ``dem=None``
            is ``slopes=False``: the same study on flat ground.
        **edits
            The edits, when `scenario` is not given.

        Returns
        -------
        Study

        Raises
        ------
        InputError
            An unknown facility id, a duplicate new id, an unknown category in the
            thresholds, a bad coordinate or threshold; the message names the scenario and
            the field.

        Examples
        --------
        ``study.scenario(profile="elderly").coverage().summary()`` gives the coverage
        at the elderly walking speed; ``study.scenario(close=["clinic-7"])`` without that
        clinic.
        """
        if scenario is None:
            if "dem" in edits:
                if edits.pop("dem") is not None:
                    msg = "a scenario can set the DEM aside (`dem=None`), not load another."
                    raise InputError(msg)
                edits["slopes"] = False
            scenario = Scenario(name=str(edits.pop("name", "scenario")), **edits)
        elif edits:
            msg = "give either a `Scenario` or edits as keywords, not both."
            raise TypeError(msg)
        facilities = scenario.edit_facilities(self.facilities, coords=self.coords)
        categories = [*self.categories, *sorted(set(facilities["category"]))]
        new = self.with_settings(
            facilities=facilities,
            profile=scenario.edit_profile(),
            thresholds=scenario.edit_thresholds(self.thresholds, categories),
            flat=scenario.slopes is False,
        )
        if scenario.areas is not None:
            new = new.restricted_to(scenario.areas)
        return new

    def run_scenarios(
        self,
        scenarios: PathLike | Sequence[Scenario],
        out_dir: PathLike,
        *,
        lang: Lang = "en",
    ) -> ScenarioRun:
        """Run scenarios against this study and write the comparison into a folder.

        Writes ``scenarios.csv`` and ``scenarios.xlsx`` (see
        :func:`circle.report.write_scenarios`), and a map per scenario under ``maps/``:
        ``base.html``, then ``01-<name>.html``, ``02-...`` with a layer of the
        neighbourhoods whose status changed. Every scenario is checked before anything is
        computed or written.

        Parameters
        ----------
        scenarios
            A TOML file of ``[[scenario]]`` tables (:func:`circle.scenario.load_scenarios`)
            or scenarios.
        out_dir
            The folder.
        lang
            {"en", "zh"}.

        Returns
        -------
        ScenarioRun
        """
        from circle.i18n import word  # noqa: PLC0415
        from circle.report import SCENARIO_FILES, write_scenarios  # noqa: PLC0415

        scenario_file: PathLike | None = None
        if isinstance(scenarios, (str, os.PathLike)):
            scenario_file = scenarios
            chosen = load_scenarios(scenarios)
        else:
            chosen = list(scenarios)
        folder = Path(out_dir)
        map_names = [Path("maps", "base.html")] + [
            Path("maps", f"{number:02d}-{_slug(s.name)}.html")
            for number, s in enumerate(chosen, start=1)
        ]
        names = [Path(n) for n in SCENARIO_FILES] + map_names
        check_outputs(
            [folder / n for n in names],
            inputs=[*self.input_files, scenario_file],
        )
        studies = [(s.name, self.scenario(s)) for s in chosen]  # checks every edit first
        base = self.coverage()
        table = scenario_table(base, [(name, study.coverage()) for name, study in studies])
        with output_folder(folder) as staging:  # one set: the tables and every map
            write_scenarios(table, staging, lang=lang, inputs=self.inputs_in(lang))
            self.save_map(
                staging / map_names[0], lang=lang, title=word("report.base_scenario", lang)
            )
            for (name, study), map_name in zip(studies, map_names[1:], strict=True):
                comparison = study.compare_with(self)
                study.save_map(staging / map_name, lang=lang, title=name, comparison=comparison)
        return ScenarioRun(
            table=table,
            tables=[folder / n for n in SCENARIO_FILES],
            maps=[folder / n for n in map_names],
        )

    def recommend(
        self,
        category: str | Iterable[str],
        *,
        k: int | None = None,
        target_share: float | None = None,
        candidates: PathLike | gpd.GeoDataFrame | None = None,
        spacing_m: float | None = None,
        exact: bool = False,
        time_limit_s: float | None = None,
        capacity_aware: bool = False,
        targets: str | Mapping[str, float] | None = None,
        candidate_fields: Mapping[str, str] | None = None,
    ) -> Recommendations:
        """Where new facilities would close the most gaps (see :mod:`circle.siting`).

        Maximal covering by default: the `k` sites (:data:`circle.siting.DEFAULT_K`) that
        newly cover the most people within the category's threshold, keeping the existing
        facilities, counting only the category's demand group. Greedy with lazy evaluation
        (at least ``1 - 1/e``, about 63 %, of the best possible), or with `exact` the
        integer program (HiGHS) with its bound and the greedy-to-exact gap. With
        `target_share`, the fewest sites reaching that covered share (set covering). Several
        categories (``"canteen,daycare"``) are co-located: each site hosts all of them.

        Parameters
        ----------
        category
            One category or several, ids or aliases (``"canteen,daycare"``).
        k
            Number of new sites.
        target_share
            Covered share to reach in every category, in (0, 1]; not with `k`.
        candidates
            Candidate sites: a file (GeoJSON, GeoPackage, CSV; read in the study's `coords`
            by :func:`circle.siting.read_candidates`) or a GeoDataFrame (``id``, optional
            ``name`` and ``capacity``). Default: points on the walking network on a grid
            of `spacing_m` over the populated area.
        spacing_m
            Grid spacing of generated candidates, metres
            (:data:`circle.siting.DEFAULT_CANDIDATE_SPACING_M`).
        exact
            Solve the integer program and recommend its answer.
        time_limit_s
            Time limit of the exact solver (:data:`circle.siting.DEFAULT_TIME_LIMIT_S`).
        capacity_aware
            Cap a site's newly covered people at ``capacity x 1000 / target`` (`targets`
            needed for each category).
        targets
            Places per 1,000 residents per category: ``"canteen=20"`` or a mapping.
        candidate_fields
            Options of :func:`circle.siting.read_candidates` for a candidates file
            (``lon_field``, ``lat_field``, ``id_field``, ``name_field``,
            ``capacity_field``, ``layer``).

        Returns
        -------
        Recommendations
            The sites, the scenario that adds them, its comparison with this study, a map
            and the report files.

        Raises
        ------
        InputError
            Unknown category, `k` not positive, `target_share` outside (0, 1], both given,
            an empty or invalid candidates file, no candidate on the network,
            `capacity_aware` without targets.
        """
        from circle import siting  # noqa: PLC0415
        from circle.capacity import parse_targets  # noqa: PLC0415

        parsed_targets = parse_targets(targets, categories=self.categories) or None
        inputs = self.input_files
        if isinstance(candidates, (str, os.PathLike)):
            inputs = (*inputs, Path(candidates))
            candidates = siting.read_candidates(
                candidates, coords=self.coords, **dict(candidate_fields or {})
            )
        base = self.coverage()
        recommendation = siting.recommend(
            base,
            category,
            k=k,
            target_share=target_share,
            candidates=candidates,
            spacing_m=siting.DEFAULT_CANDIDATE_SPACING_M if spacing_m is None else spacing_m,
            exact=exact,
            time_limit_s=siting.DEFAULT_TIME_LIMIT_S if time_limit_s is None else time_limit_s,
            capacity_aware=capacity_aware,
            targets=parsed_targets,
        )
        scenario = self.scenario(add=recommendation.new_facilities(), name="recommended")
        return Recommendations(
            recommendation=recommendation,
            base=self,
            scenario=scenario,
            comparison=scenario.compare_with(self),
            input_files=inputs,
        )

    def restricted_to(self, area_ids: Iterable[str]) -> Study:
        """A study that counts only the people of the given neighbourhoods.

        Facilities everywhere still serve them (people may walk out of the sub-area).
        """
        wanted = [str(a) for a in area_ids]
        known = set(self.areas["area_id"].astype(str))
        unknown = [a for a in wanted if a not in known]
        if unknown:
            msg = f"unknown neighbourhood ids {', '.join(unknown[:5])}; use ids of the areas."
            raise InputError(msg)
        keep = np.isin(self.person_area.astype(str), wanted) & pd.notna(self.person_area)
        return replace(
            self,
            areas=self.areas.loc[self.areas["area_id"].astype(str).isin(wanted)],
            person_area=_keep_areas(self.person_area, keep),
            sub_area=True,
            _cache={},
        )

    def with_settings(
        self,
        *,
        facilities: gpd.GeoDataFrame | None = None,
        profile: WalkingProfile | None = None,
        thresholds: Mapping[str, Threshold] | None = None,
        flat: bool = False,
    ) -> Study:
        """A new study sharing the loaded network and people, with some inputs replaced.

        `flat` sets the DEM aside (the steps rule stays, so every snap stays valid).

        A new `profile` applies to every category (per-category profiles are dropped).
        """
        new_facilities = self.facilities if facilities is None else facilities
        new_thresholds = dict(self.thresholds)
        # A category that only the new facilities have gets the default threshold.
        for category in sorted(set(new_facilities["category"]) - set(new_thresholds)):
            new_thresholds[category] = Threshold(minutes=DEFAULT_MINUTES)
        new_thresholds.update(thresholds or {})
        graph, terrain = self.graph, self.terrain
        if flat and terrain is not None and terrain.dem is not None:
            terrain = edge_costs(
                self.network, None, steps_factor=terrain.steps_factor, step_free=terrain.step_free
            )
            graph = graph.with_rates(terrain.rates)
        return replace(
            self,
            facilities=new_facilities,
            profile=profile or self.profile,
            category_profiles={} if profile is not None else self.category_profiles,
            thresholds=new_thresholds,
            graph=graph,
            terrain=terrain,
            _cache={},
        )


@dataclass(frozen=True)
class ScenarioRun:
    """What :meth:`Study.run_scenarios` computed and wrote.

    Attributes
    ----------
    table
        One row per scenario and category (:func:`circle.comparison.scenario_table`).
    tables
        ``scenarios.csv`` and ``scenarios.xlsx``.
    maps
        The base map, then one per scenario.
    """

    table: pd.DataFrame
    tables: list[Path]
    maps: list[Path]


@dataclass(frozen=True, eq=False)
class Recommendations:
    """What :meth:`Study.recommend` found: ranked sites, the scenario adding them, its effect.

    Attributes
    ----------
    recommendation
        The sites and how they were found (:class:`circle.siting.Recommendation`).
    base
        The study the sites were chosen for.
    scenario
        The base with the sites added as facilities (``study.scenario(add=...)``).
    comparison
        How the scenario's coverage differs from the base's.
    """

    recommendation: Recommendation
    base: Study
    scenario: Study
    comparison: Comparison
    input_files: tuple[Path, ...] = ()

    @property
    def sites(self) -> gpd.GeoDataFrame:
        """The ranked sites (WGS-84): the columns of ``recommendations.csv`` and a point."""
        return self.recommendation.sites

    def table(self) -> pd.DataFrame:
        """The sites in the columns of ``recommendations.csv``."""
        return self.recommendation.table()

    def new_facilities(self) -> gpd.GeoDataFrame:
        """The sites as facilities (what the scenario adds)."""
        return self.recommendation.new_facilities()

    def comparison_table(self) -> pd.DataFrame:
        """The base and the base with the sites (scenario ``recommended``), per category.

        See :func:`circle.comparison.scenario_table`.
        """
        from circle.report.siting import RECOMMENDED_SCENARIO  # noqa: PLC0415

        return scenario_table(
            self.base.coverage(), [(RECOMMENDED_SCENARIO, self.scenario.coverage())]
        )

    def newly_reached(self) -> gpd.GeoDataFrame:
        """Where the people the sites newly cover live: ``category``, ``people``, point.

        A point counts for a category when the scenario covers it and the base does not
        (only people of the category's demand group inside a neighbourhood count).
        """
        base, after = self.base.coverage(), self.scenario.coverage()
        frames = []
        for category in self.recommendation.categories:
            people = base.population(category) * base.counted
            new = (people > 0) & after.covered(category) & ~base.covered(category)
            frames.append(
                gpd.GeoDataFrame(
                    {"category": category, "people": people[new]},
                    geometry=base.people.geometry.to_numpy()[new],
                    crs=self.base.graph.crs,
                )
            )
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=self.base.graph.crs)

    def map(self, **options: Any) -> folium.Map:
        """The scenario's coverage map with the proposed sites drawn on it.

        The map of :meth:`Study.map` for the scenario (existing and proposed facilities,
        with the layer of neighbourhoods whose status changed against the base), plus the
        proposed sites as numbered badges (their rank), their service areas and the people
        they newly reach (:func:`circle.siting_map.add_proposed_sites`).

        Parameters
        ----------
        **options
            Options of :func:`circle.maps.coverage_map` (``lang``, ``tiles``, ``title``...).

        Returns
        -------
        folium.Map
        """
        from circle.i18n import category_labels, word  # noqa: PLC0415
        from circle.maps import AUTO_TILES  # noqa: PLC0415
        from circle.siting_map import add_proposed_sites  # noqa: PLC0415

        lang = options.get("lang", "en")
        options.setdefault(
            "title",
            word(
                "siting.map_title",
                lang,
                labels=category_labels(self.recommendation.categories, lang, separator=", "),
            ),
        )
        m = self.scenario.map(comparison=self.comparison, **options)
        proposed = self.base.with_settings(facilities=self.new_facilities())
        return add_proposed_sites(
            m,
            self.sites,
            names=self.new_facilities()["name"].astype(str).tolist(),
            categories=self.scenario.categories,
            service_areas=proposed.service_areas(),
            newly_reached=self.newly_reached(),
            metric_crs=self.base.graph.crs,
            lang=lang,
            tiles=options.get("tiles", AUTO_TILES),
            tiles_attribution=options.get("tiles_attribution"),
        )

    def save_map(self, path: PathLike, *, cdn: bool = False, **options: Any) -> Path:
        """Write :meth:`map` as one self-contained HTML file (never over an input file)."""
        from circle.maps import save_map  # noqa: PLC0415

        check_outputs([Path(path)], inputs=self.input_files)
        return save_map(self.map(**options), path, cdn=cdn)

    def write(
        self,
        out_dir: PathLike,
        *,
        lang: Lang = "en",
        map_options: Mapping[str, Any] | None = None,
        write_map: bool = True,
    ) -> list[Path]:
        """Write the recommendation files and the map (:data:`MAP_FILE`) into a folder.

        The files are those of :func:`circle.report.siting.write_recommendations`:
        ``recommendations.csv``, ``comparison.csv``, ``recommendations.xlsx``,
        ``recommendations.md``; then ``map.html``.

        Parameters
        ----------
        out_dir
            The folder (created if missing; other files in it are left alone).
        lang
            {"en", "zh"}.
        map_options
            Options of :meth:`map`.
        write_map
            Also write the map.

        Returns
        -------
        list of Path
        """
        from circle.report.siting import RECOMMENDATION_FILES, write_recommendations  # noqa: PLC0415

        folder = Path(out_dir)
        names = [*RECOMMENDATION_FILES, MAP_FILE] if write_map else list(RECOMMENDATION_FILES)
        check_outputs([folder / n for n in names], inputs=self.input_files)
        with output_folder(folder) as staging:  # one set: the files and the map
            write_recommendations(
                self.base.coverage(),
                self.recommendation,
                self.comparison_table(),
                staging,
                lang=lang,
                inputs=self.base.inputs,
            )
            if write_map:
                options = {"lang": lang, **dict(map_options or {})}
                self.save_map(staging / MAP_FILE, **options)
        return [folder / n for n in names]


def _h3_words(resolution: int) -> str:
    """How the H3 grid is named in :attr:`Study.inputs` (in English; see ``inputs_in``)."""
    return f"H3 hexagons, resolution {resolution}"


def _slug(name: str) -> str:
    """A scenario name as a file name: letters, digits and ``-`` (``"scenario"`` if none)."""
    slug = re.sub(r"[^\w-]+", "-", name.strip().lower(), flags=re.UNICODE).strip("-")
    return slug or "scenario"


_LONLAT_FIELDS = frozenset({"lon_field", "lat_field"})


def _terrain(
    network: WalkNetwork,
    dem: PathLike | Sequence[PathLike] | None,
    *,
    steps_factor: float | None,
) -> DirectedCosts | None:
    """The directed costs of slope-aware walking and the steps rule, or None on the flat.

    Step-free routes are not built here: the categories that need them search
    :func:`circle.terrain.step_free_graph` of the graph made with these costs.
    """
    if dem is None and steps_factor is None:
        return None
    return edge_costs(
        network,
        None if dem is None else load_dem(dem),
        steps_factor=STEPS_FACTOR if steps_factor is None else steps_factor,
    )


def _step_free_ids(step_free: bool | tuple[str, ...], categories: list[str]) -> list[str]:
    """The `categories` searched on step-free routes (:attr:`Study.step_free`)."""
    if step_free is True:
        return categories
    chosen = set(step_free or ())
    return [c for c in categories if c in chosen]


def _step_free_graph(
    graph: CompactGraph, network: WalkNetwork, cache: dict[str, Any]
) -> CompactGraph:
    """`graph` with the steps impassable, built once and kept in `cache`."""
    if "step_free_graph" not in cache:
        cache["step_free_graph"] = step_free_graph(graph, network)
    stepless: CompactGraph = cache["step_free_graph"]
    return stepless


def _searches(
    graph: CompactGraph,
    network: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    *,
    profile: WalkingProfile,
    thresholds: dict[str, Threshold],
    max_snap_m: float,
    terrain: DirectedCosts | None,
    category_profiles: dict[str, WalkingProfile],
    step_free: bool | tuple[str, ...],
    cache: dict[str, Any],
) -> AccessModel:
    """:meth:`Study.access`: one bounded search per category of `thresholds`."""
    categories = list(thresholds)
    stepless = _step_free_ids(step_free, categories)
    return compute_access(
        graph,
        facilities,
        profile=profile,
        thresholds=thresholds,
        max_snap_m=max_snap_m,
        categories=categories,
        terrain=terrain,
        category_profiles=category_profiles,
        step_free=stepless,
        step_free_graph=_step_free_graph(graph, network, cache) if stepless else None,
    )


def _start_drawing(
    graph: CompactGraph, access: AccessModel, buffer_m: float, shared: dict[Any, Any]
) -> Callable[[], gpd.GeoDataFrame]:
    """Start drawing the service areas of `access` (:func:`circle.isochrones.start_service_areas`).

    One builder per graph and buffer is kept in `shared`, with every scenario of a study: a
    category a scenario leaves unchanged is not drawn again.
    """
    from circle.isochrones import ServiceAreaBuilder, start_service_areas  # noqa: PLC0415

    builder_key = ("builder", id(graph), buffer_m)
    if builder_key not in shared:
        shared[builder_key] = ServiceAreaBuilder(graph, buffer_m=buffer_m)
    return start_service_areas(access, buffer_m=buffer_m, builder=shared[builder_key])


def _step_free_categories(
    step_free: bool | Iterable[str], chosen: list[str]
) -> bool | tuple[str, ...]:
    """`step_free` checked: ``True``/``False``, or the ids of the categories it names."""
    if isinstance(step_free, bool):
        return step_free
    if isinstance(step_free, str):
        step_free = [p for p in step_free.split(",") if p.strip()]
    named = [normalize_category(str(c)) for c in step_free]
    check_known_categories(named, chosen, option="--step-free-for")
    return tuple(dict.fromkeys(named))


def _lonlat_extent(geometry: gpd.GeoSeries) -> str:
    """The WGS-84 extent of `geometry` in words: ``lon a..b, lat c..d``."""
    west, south, east, north = geometry.to_crs("EPSG:4326").total_bounds
    return f"lon {west:.4f}..{east:.4f}, lat {south:.4f}..{north:.4f}"


def _check_reaches_network(
    graph: CompactGraph,
    nodes: gpd.GeoSeries,
    geometry: gpd.GeoSeries,
    max_snap_m: float,
    *,
    what: str,
    reached: bool | None = None,
) -> None:
    """Refuse inputs of which nothing lies within `max_snap_m` of the walking network.

    Such a study would report 0 % everywhere: the usual causes are swapped longitude and
    latitude, another place's data, or the wrong coordinate system.
    """
    present = geometry[~(geometry.is_empty | geometry.isna())]
    if present.empty:
        return
    if reached is None:
        reached = bool(
            graph.snap(present.to_crs(graph.crs), max_snap_m=max_snap_m).on_network.any()
        )
    if reached:
        return
    msg = (
        f"none of the {what} is within {max_snap_m:g} m of the walking network: their extent "
        f"({_lonlat_extent(present)}) does not overlap the network's ({_lonlat_extent(nodes)}); "
        "are lon and lat swapped, is it another place, or is `--coords` wrong?"
    )
    raise InputError(msg)


def _keep_areas(person_area: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """`person_area` with ``None`` where `keep` is False."""
    out = person_area.astype(object).copy()
    out[~keep] = None
    return out


def _load_people(
    graph: CompactGraph,
    network_source: PathLike | None,
    population: PathLike | gpd.GeoDataFrame | None,
    *,
    population_field: str,
    proxy: PopulationProxy,
    max_snap_m: float,
    coords: str,
    lon_field: str = "lon",
    lat_field: str = "lat",
    table: gpd.GeoDataFrame | None = None,
    use_cache: bool = True,
    cache_dir: PathLike | None = None,
) -> _areas.People:
    is_raster = not isinstance(population, gpd.GeoDataFrame) and str(population).lower().endswith(
        _areas.RASTER_SUFFIXES
    )
    if population is not None and is_raster:
        assert not isinstance(population, gpd.GeoDataFrame)
        west, south, east, north = shapely.total_bounds(graph.edge_geometry)
        cells = _areas.read_population_raster(
            population,
            bounds=(west - max_snap_m, south - max_snap_m, east + max_snap_m, north + max_snap_m),
            bounds_crs=graph.crs,
        )
        people = _areas.people_from_polygons(graph, cells, max_snap_m=max_snap_m)
        return replace(
            people,
            source=f"population grid `{population}`: {len(cells)} cells, {people.source}",
            source_key="raster",
            source_values={"source": f"`{population}`", "cells": str(len(cells))},
        )
    if population is not None:
        field_name, groups = _areas.parse_population_fields(population_field)
        if table is not None:  # already read by `Study.load`
            source = f"`{population}` field `{population_field}`"
        elif isinstance(population, gpd.GeoDataFrame):
            renames = {field_name: "population"}
            renames.update({column: f"population:{c}" for c, column in groups.items()})
            missing = [c for c in renames if c not in population.columns]
            if missing:
                msg = f"the population GeoDataFrame has no `{missing[0]}` column."
                raise InputError(msg)
            table = population.rename(columns=renames)
            source = "population layer (GeoDataFrame)"
        else:
            table = _areas.read_population(
                population,
                population_field=field_name,
                category_fields=groups,
                coords=coords,
                lon_field=lon_field,
                lat_field=lat_field,
            )
            source = f"`{population}` field `{population_field}`"
        kinds = set(table.geometry.geom_type)
        if kinds <= {"Point"}:
            points = _areas.people_from_points(
                graph, table, max_snap_m=max_snap_m, source=f"population points: {source}"
            )
            return replace(points, source_key="points", source_values={"source": source})
        people = _areas.people_from_polygons(graph, table, max_snap_m=max_snap_m)
        return replace(
            people,
            source=f"population polygons: {source}, {people.source}",
            source_key="polygons",
            source_values={"source": source},
        )
    if proxy not in _areas.POPULATION_PROXIES:
        msg = (
            f"`population_proxy` must be one of {', '.join(_areas.POPULATION_PROXIES)}, "
            f"not `{proxy}`."
        )
        raise InputError(msg)
    is_pbf = network_source is not None and str(network_source).lower().endswith(".pbf")
    if proxy in ("auto", "buildings") and is_pbf:
        assert network_source is not None
        from_buildings = _areas.people_from_buildings(
            network_source,
            graph,
            max_snap_m=max_snap_m,
            min_residential_share=_areas.MIN_RESIDENTIAL_SHARE if proxy == "auto" else 0.0,
            use_cache=use_cache,
            cache_dir=cache_dir,
        )
        if from_buildings is not None:
            return from_buildings
        logger.warning(
            "no usable residential buildings in %s; spreading people along the network",
            network_source,
        )
    elif proxy == "buildings":
        logger.warning(
            "the buildings proxy needs a `.osm.pbf` network; spreading people along the network"
        )
    return _areas.people_uniform(graph)
