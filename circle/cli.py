"""The `circle` command: parses options, calls the library, prints results."""

from __future__ import annotations

import logging
import math
import re
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from circle import __version__
from circle.datasets import DEMO_CITIES
from circle.defaults import (
    CAPACITY_METHODS,
    COORD_SYSTEMS,
    DEFAULT_CANDIDATE_SPACING_M,
    DEFAULT_H3_RESOLUTION,
    DEFAULT_K,
    DEFAULT_TIME_LIMIT_S,
    MAP_TILES,
    POPULATION_PROXIES,
)
from circle.errors import CircleError, InputError
from circle.i18n import LANGS, attribution, term, threshold_text, word
from circle.presets import PRESETS
from circle.walking import ADULT, DEFAULT_MAX_SNAP_M, ELDERLY, PROFILES, STEPS_FACTOR

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import pandas as pd

    from circle.capacity import CapacityMethod
    from circle.coverage import CoverageResult
    from circle.i18n import Lang
    from circle.study import Recommendations, Study

__all__ = ["cli", "main"]

F = TypeVar("F", bound="Callable[..., Any]")

out_console = Console()
err_console = Console(stderr=True)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input, 1 unexpected or unavailable).

    SIGTERM ends the run like Ctrl+C (exit 143), so that temporary files are removed.
    """
    previous = _exit_on_sigterm()
    try:
        return _main(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm() -> Any:
    """Make SIGTERM raise SystemExit (finally-blocks run); the previous handler, or None."""

    def terminate(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    try:
        return signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread: leave signals alone
        return None


def _main(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="circle", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("circle: aborted", markup=False)
        return 130  # 128 + SIGINT, as shells report it
    except click.ClickException as exc:
        message = _one_line(exc.format_message())
        err_console.print(f"circle: error: {message}", markup=False, soft_wrap=True)
        return exc.exit_code
    except InputError as exc:
        err_console.print(f"circle: error: {_one_line(str(exc))}", markup=False, soft_wrap=True)
        return 2
    except CircleError as exc:
        err_console.print(f"circle: error: {_one_line(str(exc))}", markup=False, soft_wrap=True)
        return 1
    return 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help="Walkable access to everyday community services (15-minute life circles).\n\n"
    + attribution("en"),
)
@click.version_option(__version__, prog_name="circle")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Run the `circle` command group."""
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = RichHandler(console=err_console, show_time=False, show_path=False)
    handler.addFilter(_one_line_warning)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)
    logging.captureWarnings(capture=True)


#: ``path:line: Category: message`` as Python's warnings module formats a warning.
_WARNING_PREFIX = re.compile(r"^.*?:\d+: (?=\w+: )")


def _one_line_warning(record: logging.LogRecord) -> bool:
    """Shorten a Python warning to one line: ``Category: message``, no file or source line."""
    if record.name == "py.warnings":
        text = record.getMessage().strip().splitlines()
        record.msg = _WARNING_PREFIX.sub("", text[0] if text else "")
        record.args = None
    return True


# ---------------------------------------------------------------------------------------
# Shared input options


def _with_options(func: F, options: list[Any]) -> F:
    """Apply click options so that they show in `--help` in the order listed."""
    for option in reversed(options):
        func = option(func)
    return func


LANG_OPTION = click.option(
    "--lang",
    type=click.Choice(LANGS),
    default="en",
    show_default=True,
    help="Language of labels in reports, maps and the terminal summary.",
)


def input_options(func: F) -> F:
    """Options shared by every command that evaluates coverage."""
    options = [
        click.option(
            "--network",
            "network_source",
            required=True,
            help="`.osm.pbf`, `.osm` or `.graphml` file, a place name, or `west,south,east,north`"
            " (the last two download through OSMnx).",
        ),
        click.option(
            "--facilities",
            "facilities_path",
            required=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="Facilities: GeoJSON, GeoPackage or CSV with lon/lat.",
        ),
        click.option("--lon-field", default="lon", show_default=True, help="CSV longitude column."),
        click.option("--lat-field", default="lat", show_default=True, help="CSV latitude column."),
        click.option("--id-field", default="id", show_default=True, help="Facility id column."),
        click.option(
            "--name-field",
            default="name",
            show_default=True,
            help="Facility name column (the id where absent), e.g. a Chinese header.",
        ),
        click.option(
            "--category-field", default="category", show_default=True, help="Category column."
        ),
        click.option(
            "--minutes",
            default=None,
            help="Walking minutes: one number, or per category `clinic=15,daycare=10` "
            "(default 15; with --preset, these win for the categories named).",
        ),
        click.option(
            "--preset",
            type=click.Choice(sorted(PRESETS), case_sensitive=False),
            default=None,
            help="Life-circle thresholds per category from GB 50180-2018 (distances) or "
            "TD/T 1062-2021 (minutes); see docs/presets.md.",
        ),
        click.option(
            "--profile",
            default=ADULT.name,
            show_default=True,
            help=f"Walking profile ({', '.join(sorted(PROFILES))}): adult {ADULT.speed_kmh:g} "
            f"km/h, elderly {ELDERLY.speed_kmh:g} km/h ({ELDERLY.speed_kmh / 3.6:g} m/s); or one "
            "per category, e.g. `canteen=elderly,daycare=elderly` (others walk as adults).",
        ),
        click.option(
            "--speed-kmh", type=float, default=None, help="Custom walking speed (overrides)."
        ),
        click.option(
            "--max-snap-m",
            type=float,
            default=DEFAULT_MAX_SNAP_M,
            show_default=True,
            help="Facilities farther than this from a walkable way are off-network.",
        ),
        click.option(
            "--coords",
            type=click.Choice(COORD_SYSTEMS, case_sensitive=False),
            default=COORD_SYSTEMS[0],
            show_default=True,
            help="Coordinate system of the input files: GCJ-02 (Gaode/Amap, Tencent) and "
            "BD-09 (Baidu) are converted to WGS-84.",
        ),
        click.option(
            "--dem",
            "dem_paths",
            multiple=True,
            type=click.Path(path_type=Path),
            help="Elevation raster (GeoTIFF, SRTM .hgt/.hgt.zip, VRT) or a folder of tiles; "
            "repeat for several. Walking times then follow the slopes (Tobler's hiking "
            "function), from home to facility.",
        ),
        click.option(
            "--steps-factor",
            type=float,
            default=None,
            help=f"Speed on steps as a share of the flat speed (default {STEPS_FACTOR:g} with "
            "--dem, after Weidmann 1993; without --dem and this option steps are walked like "
            "any way).",
        ),
        click.option(
            "--no-cache",
            is_flag=True,
            help="Build the network (and read the buildings) from the file even if circle's "
            "cache holds them (the cache folder is CIRCLE_CACHE_DIR or the user cache; entries "
            "are keyed by the file's content, circle's version and the walking rules).",
        ),
        click.option(
            "--step-free",
            is_flag=True,
            help="Leave steps out for every category (routes for prams and wheelchairs).",
        ),
        click.option(
            "--step-free-for",
            "step_free_for",
            default=None,
            metavar="CATEGORIES",
            help="Leave steps out for these categories only, e.g. `daycare` or "
            "`daycare,canteen`; the others walk steps.",
        ),
        click.option(
            "--facilities-coords",
            type=click.Choice(COORD_SYSTEMS, case_sensitive=False),
            default=None,
            help="Coordinate system of --facilities alone (e.g. gcj02 for a Gaode list) "
            "[default: --coords].",
        ),
    ]
    return _with_options(func, options)


def area_options(func: F) -> F:
    """Options choosing the neighbourhoods and the population."""
    options = [
        click.option(
            "--areas",
            "areas_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Neighbourhood polygons (GeoJSON, GPKG, SHP); default: an H3 grid.",
        ),
        click.option(
            "--area-id-field",
            default="id",
            show_default=True,
            help="Column of unique neighbourhood ids in --areas.",
        ),
        click.option(
            "--area-name-field",
            default="name",
            show_default=True,
            help="Column of neighbourhood names in --areas (the id where absent).",
        ),
        click.option(
            "--areas-coords",
            type=click.Choice(COORD_SYSTEMS, case_sensitive=False),
            default=None,
            help="Coordinate system of --areas alone [default: --coords].",
        ),
        click.option(
            "--h3-res",
            type=int,
            default=DEFAULT_H3_RESOLUTION,
            show_default=True,
            help="H3 resolution of the default grid (9: about 0.1 km2 per hexagon).",
        ),
        click.option(
            "--population",
            "population_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="People: points (CSV with lon/lat, GeoJSON, GPKG), polygons with a "
            "population field, or a GeoTIFF grid of people per cell (WorldPop, GHS-POP).",
        ),
        click.option(
            "--population-coords",
            type=click.Choice(COORD_SYSTEMS, case_sensitive=False),
            default=None,
            help="Coordinate system of --population alone [default: --coords].",
        ),
        click.option(
            "--population-lon-field",
            default="lon",
            show_default=True,
            help="Longitude column of a --population CSV.",
        ),
        click.option(
            "--population-lat-field",
            default="lat",
            show_default=True,
            help="Latitude column of a --population CSV.",
        ),
        click.option(
            "--population-field",
            default="population",
            show_default=True,
            help="Column of people counts in --population; add a demand group per category "
            "with `pop,canteen=pop_65plus,daycare=pop_0_3`.",
        ),
        click.option(
            "--population-proxy",
            type=click.Choice(POPULATION_PROXIES),
            default=POPULATION_PROXIES[0],
            show_default=True,
            help="Without --population: OSM residential buildings (of a .osm.pbf) or people "
            "spread evenly along the network.",
        ),
        LANG_OPTION,
        click.option(
            "--categories",
            default=None,
            help="Evaluate only these categories, e.g. `clinic,daycare` (default: the four "
            "built-in ones and any custom category in the facilities).",
        ),
    ]
    return _with_options(func, options)


def _load_study(options: dict[str, Any], **overrides: Any) -> Study:
    """Build a :class:`circle.study.Study` from the shared options."""
    from circle.study import Study  # noqa: PLC0415

    settings = {
        "areas": options.get("areas_path"),
        "area_id_field": options.get("area_id_field", "id"),
        "area_name_field": options.get("area_name_field", "name"),
        "h3_resolution": options.get("h3_res", DEFAULT_H3_RESOLUTION),
        "population": options.get("population_path"),
        "population_field": options.get("population_field", "population"),
        "population_proxy": options.get("population_proxy", "auto"),
        "categories": _categories(options.get("categories")),
        "areas_coords": _lower(options.get("areas_coords")),
        "population_coords": _lower(options.get("population_coords")),
        "population_lon_field": options.get("population_lon_field", "lon"),
        "population_lat_field": options.get("population_lat_field", "lat"),
    }
    settings.update(overrides)
    lang: Lang = options.get("lang", "en")
    with _status(word("cli.loading", lang, source=options["network_source"])):
        return Study.load(
            options["network_source"],
            options["facilities_path"],
            minutes=options["minutes"],
            preset=options["preset"],
            profile=options["profile"],
            speed_kmh=options["speed_kmh"],
            max_snap_m=options["max_snap_m"],
            coords=options["coords"].lower(),
            dem=list(options["dem_paths"]) or None,
            steps_factor=options["steps_factor"],
            step_free=_step_free(options),
            use_cache=not options.get("no_cache", False),
            facilities_coords=_lower(options.get("facilities_coords")),
            **settings,
            facility_fields={
                "lon_field": options["lon_field"],
                "lat_field": options["lat_field"],
                "id_field": options["id_field"],
                "name_field": options.get("name_field", "name"),
                "category_field": options["category_field"],
            },
        )


def _step_free(options: dict[str, Any]) -> bool | list[str]:
    """``--step-free`` (every category) or ``--step-free-for daycare,canteen``."""
    categories = options.get("step_free_for")
    if categories is None:
        return bool(options.get("step_free", False))
    if options.get("step_free"):
        msg = "give `--step-free` (every category) or `--step-free-for CATEGORIES`, not both."
        raise InputError(msg)
    named = [c.strip() for c in categories.split(",") if c.strip()]
    if not named:
        msg = "`--step-free-for` names no category; give one or more, e.g. `daycare,canteen`."
        raise InputError(msg)
    return named


def _lower(text: str | None) -> str | None:
    return None if text is None else text.lower()


def _check_outputs(outputs: list[Path], options: dict[str, Any], *inputs: Path | None) -> None:
    """Before any work: the outputs are writable and none of them is an input file."""
    from circle._io import check_outputs  # noqa: PLC0415

    given = [options.get(k) for k in ("facilities_path", "areas_path", "population_path")]
    network = options.get("network_source")
    check_outputs(outputs, inputs=[*given, Path(network) if network else None, *inputs])


def _categories(text: str | None) -> list[str] | None:
    """``--categories clinic,daycare`` as a list (``None``: all)."""
    if text is None:
        return None
    return [c.strip() for c in text.split(",") if c.strip()]


class _status:
    """A spinner on standard error while a step runs (only on a terminal)."""

    def __init__(self, text: str) -> None:
        self._status = err_console.status(text) if err_console.is_terminal else None

    def __enter__(self) -> None:
        if self._status is not None:
            self._status.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(None, None, None)


# ---------------------------------------------------------------------------------------
# Commands


@cli.command()
@input_options
def coverage(**options: Any) -> None:
    """Print, per category, facilities used and the share of the network within reach."""
    study = _load_study(options, population_proxy="network")
    _print_network_summary(
        study.network_summary(),
        title=word("cli.network_title", "en", source=options["network_source"]),
    )


@cli.command()
@input_options
@area_options
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the gap report (created if missing; other files in it are left alone).",
)
@click.option(
    "--capacity-method",
    type=click.Choice(CAPACITY_METHODS),
    default=CAPACITY_METHODS[0],
    show_default=True,
    help="Places per 1,000 residents (when facilities have a capacity): two-step floating "
    "catchment, or its enhanced variant with distance decay.",
)
@click.option(
    "--target",
    "targets",
    default=None,
    help="Places per 1,000 residents to reach, e.g. `daycare=3.5,canteen=20`.",
)
@click.option(
    "--capacity-unit",
    "capacity_units",
    default=None,
    help="Unit of capacity per category for reports, e.g. `canteen=seats,daycare=places`.",
)
@click.option(
    "--out-coords",
    type=click.Choice(COORD_SYSTEMS, case_sensitive=False),
    default=COORD_SYSTEMS[0],
    show_default=True,
    help="Coordinate system of the report layers (GCJ-02/BD-09 for Gaode/Baidu tools).",
)
def report(
    out_dir: Path,
    capacity_method: CapacityMethod,
    targets: str | None,
    capacity_units: str | None,
    out_coords: str,
    **options: Any,
) -> None:
    """Write the gap report (CSV, GeoJSON, Excel, Markdown) and print the summary."""
    from circle.report import REPORT_FILES  # noqa: PLC0415
    from circle.study import MAP_FILE  # noqa: PLC0415

    _check_outputs([out_dir / n for n in (*REPORT_FILES, MAP_FILE)], options)
    study = _load_study(options, draw_service_areas=True)  # for the map
    lang: Lang = options["lang"]
    # The report counts coverage itself, after starting the map's areas in the background.
    with _status(word("cli.writing", lang, folder=out_dir)):
        written = study.report(
            out_dir,
            lang=lang,
            capacity_method=capacity_method,
            targets=targets,
            units=_pairs(capacity_units, option="--capacity-unit"),
            out_coords=out_coords.lower(),
        )
    result = study.coverage()
    _print_summary(
        result,
        title=word("cli.coverage_title", lang, source=options["network_source"]),
        lang=lang,
        unit=result.people.unit,
    )
    err_console.print(
        word("cli.report_written", lang, folder=out_dir, count=len(written)), markup=False
    )


def map_options(func: F) -> F:
    """Options of the map's look."""
    options = [
        click.option(
            "--tiles",
            default=MAP_TILES,
            show_default=True,
            help="Basemap: `auto` is `gaode` (AutoNavi, overlays shifted to GCJ-02) with "
            "--lang zh and `cartodb` with --lang en; offline the map keeps a plain "
            "background. `none` draws no basemap; also `osm`, or an XYZ URL with "
            "{z}/{x}/{y} and --tiles-attribution.",
        ),
        click.option("--tiles-attribution", default=None, help="Attribution of custom tiles."),
        click.option(
            "--grade-layer",
            is_flag=True,
            help="Add a layer of the ways coloured by their grade (hidden until switched on "
            "in the layer control; needs --dem).",
        ),
        click.option(
            "--cdn",
            is_flag=True,
            help="Link Leaflet and the other scripts from their CDNs (smaller file; needs "
            "the internet to open) instead of inlining them.",
        ),
    ]
    return _with_options(func, options)


@cli.command("map")
@input_options
@area_options
@map_options
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write, e.g. city-map.html.",
)
def map_command(
    out_path: Path,
    tiles: str | None,
    tiles_attribution: str | None,
    cdn: bool,
    grade_layer: bool,
    **options: Any,
) -> None:
    """Write a self-contained HTML map of service areas, facilities and gaps."""
    _check_outputs([out_path], options)
    study = _load_study(options, draw_service_areas=True)  # for the map
    lang: Lang = options["lang"]
    with _status(word("cli.drawing", lang)):
        study.save_map(
            out_path,
            cdn=cdn,
            lang=lang,
            tiles=tiles,
            tiles_attribution=tiles_attribution,
            show_grades=grade_layer,
        )
    err_console.print(word("cli.map_written", lang, path=out_path), markup=False)


@cli.command()
@click.option(
    "--city",
    type=click.Choice(DEMO_CITIES, case_sensitive=False),
    default=DEMO_CITIES[0],
    show_default=True,
    help="Which bundled OpenStreetMap extract to run: central Chengdu (in Chinese) or "
    "central Helsinki (in English).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the gap report and its map.html [default: reports/CITY].",
)
@click.option(
    "--lang",
    type=click.Choice(LANGS),
    default=None,
    help="Language of the summary, report and map [default: zh for Chengdu, en for Helsinki].",
)
def demo(city: str, out_dir: Path | None, lang: Lang | None) -> None:
    """Run circle on a bundled city (offline): summary, gap report and map."""
    from circle.datasets import DEMO_LANG, demo_facilities, demo_pbf  # noqa: PLC0415
    from circle.study import MAP_FILE, Study  # noqa: PLC0415

    city = city.lower()
    chosen: Lang = lang or DEMO_LANG[city]  # type: ignore[index]
    folder = out_dir or Path("reports") / city
    name = word(f"cli.demo_city_{city}", chosen)
    with _status(word("cli.loading", chosen, source=name)):
        study = Study.load(
            demo_pbf(city),
            demo_facilities(city),
            population_proxy="network",  # neither extract tags enough homes as residential
            labels={
                "network": word(f"cli.demo_network_{city}", chosen),
                "facilities": word(f"cli.demo_facilities_{city}", chosen),
            },
        )
    with _status(word("cli.computing", chosen)):
        result = study.coverage()
    with _status(word("cli.writing", chosen, folder=folder)):
        written = study.report(folder, lang=chosen)
    _print_summary(
        result,
        title=word("cli.demo_title", chosen, city=name),
        lang=chosen,
        unit=study.people.unit,
    )
    out_console.print(
        word("cli.population", chosen, source=study.people.describe(chosen)),
        markup=False,
        soft_wrap=True,
    )
    err_console.print(
        word("cli.demo_written", chosen, folder=folder, count=len(written), path=folder / MAP_FILE),
        markup=False,
        soft_wrap=True,
    )


@cli.group()
def facilities() -> None:
    """Work with facility files."""


@facilities.command("from-osm")
@click.argument("pbf", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--tags",
    "tags_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Your own tag mapping (JSON or TOML); default: circle's documented mapping.",
)
def facilities_from_osm_command(pbf: Path, out_path: Path, tags_path: Path | None) -> None:
    """Extract facilities from the OSM tags of a `.osm.pbf` file into GeoJSON."""
    from circle.facilities import write_facilities  # noqa: PLC0415
    from circle.osm_tags import OSM_TAG_MAPPING, facilities_from_osm, load_tag_mapping  # noqa: PLC0415

    _check_outputs([out_path], {}, pbf, tags_path)
    mapping = load_tag_mapping(tags_path) if tags_path is not None else OSM_TAG_MAPPING
    with _status(word("cli.reading", "en", path=pbf)):
        found = facilities_from_osm(pbf, tag_mapping=mapping)
    write_facilities(found, out_path)
    counts = found["category"].value_counts().sort_index()
    table = Table(title=word("cli.facilities_written", "en", count=len(found), path=out_path))
    table.add_column("category")
    table.add_column("facilities", justify="right")
    for category, count in counts.items():
        table.add_row(str(category), str(count))
    out_console.print(table)
    out_console.print(attribution("en"), markup=False)


def _pairs(text: str | None, *, option: str) -> dict[str, str] | None:
    """``a=x,b=y`` as a dict (categories normalised), or None."""
    if not text:
        return None
    from circle._options import parse_key_values  # noqa: PLC0415

    return parse_key_values(text, option=option, example="canteen=seats").pairs


@cli.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False, path_type=Path))
@input_options
@area_options
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for scenarios.csv, scenarios.xlsx and a map per scenario.",
)
def scenario(scenario_file: Path, out_dir: Path, **options: Any) -> None:
    """Run the scenarios of a TOML file against the base and compare them.

    \b
    [[scenario]]
    name = "Elderly walking speed"
    profile = "elderly"

    \b
    [[scenario]]
    name = "New canteen"
    add = [{ id = "new-1", category = "canteen", lon = 121.47, lat = 31.23 }]
    close = ["clinic-7"]
    minutes = { daycare = 10 }
    """  # noqa: D301  (click's \b keeps the example's line breaks)
    from circle.report import SCENARIO_FILES  # noqa: PLC0415
    from circle.scenario import load_scenarios  # noqa: PLC0415

    scenarios = load_scenarios(scenario_file)  # a bad file fails before the network loads
    _check_outputs([out_dir / n for n in SCENARIO_FILES], options, scenario_file)
    study = _load_study(options)
    lang: Lang = options["lang"]
    with _status(word("cli.computing", lang)):
        run = study.run_scenarios(scenarios, out_dir, lang=lang)
    _print_scenarios(run.table, lang=lang)
    err_console.print(
        word(
            "cli.scenarios_written",
            lang,
            tables=len(run.tables),
            maps=len(run.maps),
            folder=out_dir,
        ),
        markup=False,
    )


def _print_scenarios(table: pd.DataFrame, *, lang: Lang) -> None:
    out = Table(title=word("cli.scenarios_title", lang))
    headings = (
        word("cli.scenario", lang),
        term("category", lang),
        term("people_covered", lang),
        term("covered_share", lang),
        word("cli.change", lang),
    )
    for number, heading in enumerate(headings):
        out.add_column(heading, justify="left" if number == 0 else "right")
    for row in _rows(table):
        out.add_row(
            str(row["scenario"]),
            str(row["category"]),
            f"{row['covered_population']:,}",
            f"{100 * row['covered_share']:.1f}%",
            f"{row['covered_population_change']:+,}",
        )
    out_console.print(out)


@cli.command()
@input_options
@area_options
@map_options
@click.option(
    "--category",
    "category",
    required=True,
    help="The service to site, e.g. `clinic`; several (`canteen,daycare`) are co-located: "
    "each site hosts all of them (co-location).",
)
@click.option(
    "--k",
    "k",
    type=int,
    default=None,
    help=f"Number of new sites (maximal covering; default {DEFAULT_K}).",
)
@click.option(
    "--target-share",
    type=float,
    default=None,
    help="Instead of --k: the fewest sites that bring the covered share to this, e.g. 0.95.",
)
@click.option(
    "--candidates",
    "candidates_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Candidate sites (GeoJSON, GPKG, CSV with --lon-field/--lat-field; read in "
    "--coords); default: points on the walking network on a --spacing-m grid.",
)
@click.option("--candidate-id-field", default="id", show_default=True, help="Candidate id column.")
@click.option(
    "--candidate-name-field", default="name", show_default=True, help="Candidate name column."
)
@click.option(
    "--candidate-capacity-field",
    default="capacity",
    show_default=True,
    help="Candidate capacity column (used with --capacity-aware).",
)
@click.option(
    "--spacing-m",
    type=float,
    default=DEFAULT_CANDIDATE_SPACING_M,
    show_default=True,
    help="Grid spacing of generated candidates (metres).",
)
@click.option(
    "--exact", is_flag=True, help="Solve the integer program (HiGHS) and report its bound and gap."
)
@click.option(
    "--time-limit",
    "time_limit_s",
    type=float,
    default=DEFAULT_TIME_LIMIT_S,
    show_default=True,
    help="Time limit of --exact (seconds).",
)
@click.option(
    "--capacity-aware",
    is_flag=True,
    help="Cap a site's newly covered people at capacity x 1000 / target (needs --target).",
)
@click.option(
    "--target",
    "targets",
    default=None,
    help="Places per 1,000 residents, e.g. `canteen=20` (for --capacity-aware).",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for recommendations.csv/.xlsx/.md, comparison.csv and map.html.",
)
def recommend(
    *,
    category: str,
    k: int | None,
    target_share: float | None,
    candidates_path: Path | None,
    candidate_id_field: str,
    candidate_name_field: str,
    candidate_capacity_field: str,
    spacing_m: float,
    exact: bool,
    time_limit_s: float,
    capacity_aware: bool,
    targets: str | None,
    out_dir: Path,
    tiles: str | None,
    tiles_attribution: str | None,
    cdn: bool,
    grade_layer: bool,
    **options: Any,
) -> None:
    """Recommend where new facilities would close the most gaps (maximal or set covering)."""
    from circle.report.siting import RECOMMENDATION_FILES  # noqa: PLC0415
    from circle.study import MAP_FILE  # noqa: PLC0415

    _check_outputs(
        [out_dir / n for n in (*RECOMMENDATION_FILES, MAP_FILE)], options, candidates_path
    )
    study = _load_study(options)
    lang: Lang = options["lang"]
    with _status(word("siting.cli_choosing", lang)):
        found = study.recommend(
            category,
            k=k,
            target_share=target_share,
            candidates=candidates_path,
            spacing_m=spacing_m,
            exact=exact,
            time_limit_s=time_limit_s,
            capacity_aware=capacity_aware,
            targets=targets,
            candidate_fields={
                "lon_field": options["lon_field"],
                "lat_field": options["lat_field"],
                "id_field": candidate_id_field,
                "name_field": candidate_name_field,
                "capacity_field": candidate_capacity_field,
            },
        )
    with _status(word("cli.writing", lang, folder=out_dir)):
        written = found.write(
            out_dir,
            lang=lang,
            map_options={
                "tiles": tiles,
                "tiles_attribution": tiles_attribution,
                "cdn": cdn,
                "show_grades": grade_layer,
            },
        )
    _print_recommendation(found, lang=lang)
    err_console.print(
        word("siting.cli_written", lang, count=len(written), folder=out_dir), markup=False
    )


def _print_recommendation(found: Recommendations, *, lang: Lang) -> None:
    from circle.i18n import category_label, category_labels  # noqa: PLC0415

    rec = found.recommendation
    labels = category_labels(rec.categories, lang, separator=", ")
    table = Table(title=word("siting.cli_title", lang, labels=labels))
    sites = rec.table()
    with_candidates = "candidate_id" in sites.columns
    headings = [
        word("siting.cli_site", lang),
        term("category", lang),
        *([word("siting.cli_candidate", lang)] if with_candidates else []),
        "lon, lat",
        word("siting.cli_newly", lang),
        word("siting.cli_cumulative", lang),
        word("siting.cli_share", lang),
    ]
    right = {0, len(headings) - 3, len(headings) - 2, len(headings) - 1}
    for number, heading in enumerate(headings):
        table.add_column(heading, justify="right" if number in right else "left")
    for row in _rows(sites):
        name = str(row.get("candidate_name") or "")
        candidate = [f"{row.get('candidate_id')}" + (f" ({name})" if name else "")]
        table.add_row(
            str(row["rank"]),
            category_label(str(row["category"]), lang) if lang == "zh" else str(row["category"]),
            *(candidate if with_candidates else []),
            f"{row['lon']:.6f}, {row['lat']:.6f}",
            f"{row['newly_covered']:,.0f}",
            f"{row['cumulative_covered']:,.0f}",
            f"{100 * row['covered_share_after']:.1f}%",
        )
    out_console.print(table)
    solver = rec.solver
    parts = [f"{solver.problem}, {solver.method}: {solver.status}"]
    if math.isfinite(solver.bound):
        parts.append(word("siting.cli_bound", lang, bound=f"{solver.bound:,.1f}"))
    if math.isfinite(solver.gap):
        parts.append(word("siting.cli_gap", lang, gap=f"{solver.gap:.2%}"))
    parts.append(word("siting.cli_seconds", lang, seconds=f"{solver.time_s:.2f}"))
    out_console.print("; ".join(parts), markup=False)
    for note in rec.notes:
        out_console.print(note, markup=False)
    out_console.print(attribution(lang), markup=False)


# ---------------------------------------------------------------------------------------
# Printing


def _print_summary(
    result: CoverageResult, *, title: str, lang: Lang = "en", unit: str = "people"
) -> None:
    """The coverage table: shares first, then counts in their unit (metres for the proxy)."""
    from rich import box  # noqa: PLC0415

    from circle.i18n import category_label  # noqa: PLC0415

    summary = result.summary()
    distances = {c for c in result.categories if result.model.is_distance(c)}
    out_console.print(title, markup=False, soft_wrap=True, style="bold")
    table = Table(box=box.SIMPLE_HEAD)
    headings = (
        term("category", lang),
        term("facilities", lang),
        term("threshold", lang),
        term("covered_share", lang),
        word(f"people.covered_{unit}", lang),
        term("uncovered_areas", lang),
    )
    for number, heading in enumerate(headings):
        table.add_column(heading, justify="left" if number == 0 else "right", no_wrap=True)
    of = term("of", lang)
    for row in _rows(summary):
        share = row["covered_share"]
        off = row["facilities_off_network"]
        table.add_row(
            category_label(str(row["category"]), lang) if lang == "zh" else str(row["category"]),
            f"{row['facilities']}" + (f" (+{off} {term('off_network', lang)})" if off else ""),
            threshold_text(
                row["threshold_min"],
                row.get("threshold_m") if row["category"] in distances else None,
                lang,
            ),
            "–" if share != share else f"{100 * share:.1f}%",  # noqa: PLR0124  (NaN)
            f"{row['covered_population']:,} {of} {row['population']:,}",
            word(
                "people.uncovered_count",
                lang,
                count=row["uncovered_neighbourhoods"],
                total=row["neighbourhoods"],
            ),
        )
    _print_whole(table)
    out_console.print(attribution(lang), markup=False, soft_wrap=True)


def _print_whole(table: Table) -> None:
    """Print a table without cutting any cell: wider than the terminal, the terminal wraps."""
    from rich.measure import Measurement  # noqa: PLC0415

    needed = Measurement.get(out_console, out_console.options.update_width(10_000), table).maximum
    width = out_console.width
    out_console.width = max(width, needed)
    try:
        out_console.print(table, crop=False)
    finally:
        out_console.width = width


def _print_network_summary(summary: pd.DataFrame, *, title: str, lang: Lang = "en") -> None:
    table = Table(title=title)
    keys = ("category", "facilities", "off_network", "threshold", "network_in_reach")
    for key in keys:
        table.add_column(term(key, lang), justify="left" if key == "category" else "right")
    for row in _rows(summary):
        table.add_row(
            str(row["category"]),
            str(row["facilities"]),
            str(row["facilities_off_network"]),
            f"{row['threshold_min']:g} {term('minutes', lang)}",
            word(
                "cli.network_in_reach_value",
                lang,
                share=f"{100 * row['reachable_share']:.1f}%",
                km=f"{row['network_km']:.1f}",
            ),
        )
    out_console.print(table)
    out_console.print(attribution(lang), markup=False)


def _rows(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    for record in frame.to_dict(orient="records"):
        yield {str(k): v for k, v in record.items()}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


# ---------------------------------------------------------------------------------------
# Batch

#: Exit code of `circle batch` when some areas failed (the others are written).
BATCH_SOME_FAILED_EXIT = 3


class _SomeAreasFailed(click.ClickException):
    """Some areas of a batch failed: one line, exit code :data:`BATCH_SOME_FAILED_EXIT`."""

    exit_code = BATCH_SOME_FAILED_EXIT


@cli.command()
@click.argument("areas_file", type=click.Path(dir_okay=False, path_type=Path))
@input_options
@area_options
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for one report folder per area and batch_summary.csv/.xlsx/batch_map.html.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Worker processes of the local Dask cluster (not with --scheduler).",
)
@click.option(
    "--scheduler",
    default=None,
    help="Run on an existing Dask cluster, e.g. `tcp://10.0.0.5:8786` (its workers must "
    "read the same files).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Keep areas whose folder an earlier run with the same settings completed.",
)
def batch(
    *,
    areas_file: Path,
    out_dir: Path,
    workers: int,
    scheduler: str | None,
    resume: bool,
    capacity_method: CapacityMethod,
    targets: str | None,
    capacity_units: str | None,
    out_coords: str,
    **options: Any,
) -> None:
    """Study every polygon of AREAS_FILE on its own, on Dask, and summarise them.

    Each area's numbers equal those of `circle report --areas <that polygon>` on the whole
    network. Exit code 0 when every area succeeded, 3 when some failed (their errors are in
    batch_summary.csv; the others are written), 2 for bad input.
    """
    from circle import batch as batch_module  # noqa: PLC0415

    context = click.get_current_context()
    for name, option in (("areas_path", "--areas"), ("h3_res", "--h3-res")):
        if context.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT:
            msg = f"`{option}` does not apply to `circle batch`: the areas are AREAS_FILE."
            raise click.UsageError(msg)
    workers_given = (
        context.get_parameter_source("workers") is not click.core.ParameterSource.DEFAULT
    )
    if scheduler is not None and workers_given:
        msg = "`--workers` does not apply with `--scheduler`: the cluster has its own workers."
        raise click.UsageError(msg)
    lang: Lang = options["lang"]
    client = None
    if scheduler is not None:
        from distributed import Client  # noqa: PLC0415

        client = Client(scheduler)
    with _batch_progress(lang) as show:
        try:
            summary = batch_module.run(
                areas_file,
                options["network_source"],
                options["facilities_path"],
                out_dir=out_dir,
                client=client,
                workers=workers,
                resume=resume,
                progress=show,
                area_id_field=options["area_id_field"],
                area_name_field=options["area_name_field"],
                population=options["population_path"],
                population_field=options["population_field"],
                population_proxy=options["population_proxy"],
                minutes=options["minutes"],
                preset=options["preset"],
                profile=options["profile"],
                speed_kmh=options["speed_kmh"],
                max_snap_m=options["max_snap_m"],
                coords=options["coords"].lower(),
                facilities_coords=_lower(options["facilities_coords"]),
                areas_coords=_lower(options["areas_coords"]),
                population_coords=_lower(options["population_coords"]),
                population_lon_field=options["population_lon_field"],
                population_lat_field=options["population_lat_field"],
                facility_fields={
                    "lon_field": options["lon_field"],
                    "lat_field": options["lat_field"],
                    "id_field": options["id_field"],
                    "name_field": options["name_field"],
                    "category_field": options["category_field"],
                },
                categories=_categories(options["categories"]),
                dem=list(options["dem_paths"]) or None,
                steps_factor=options["steps_factor"],
                step_free=_step_free(options),
                use_cache=not options["no_cache"],
                lang=lang,
                capacity_method=capacity_method,
                targets=targets,
                units=_pairs(capacity_units, option="--capacity-unit"),
                out_coords=out_coords.lower(),
            )
        finally:
            if client is not None:
                client.close()
    failed = summary.loc[summary["status"] != "ok"]
    for row in _rows(failed):
        err_console.print(
            word("batch.failed_area", lang, area=row["area_id"], error=row["error"]),
            markup=False,
            soft_wrap=True,
        )
    err_console.print(
        word(
            "batch.finished",
            lang,
            total=len(summary),
            ok=len(summary) - len(failed),
            failed=len(failed),
            path=out_dir / "batch_summary.csv",
        ),
        markup=False,
    )
    out_console.print(attribution(lang), markup=False)
    if len(failed):
        raise _SomeAreasFailed(
            word("batch.some_failed", lang, failed=len(failed), total=len(summary))
        )


# `circle batch` takes every report option of `circle report`, defined there once.
batch.params.extend(
    p
    for p in report.params
    if p.name in ("capacity_method", "targets", "capacity_units", "out_coords")
)


class _batch_progress:
    """The batch's progress: a bar on a terminal, else one line per finished area."""

    def __init__(self, lang: Lang) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn  # noqa: PLC0415

        self.lang = lang
        self.count = 0
        self.progress = (
            Progress(
                TextColumn(word("batch.progress", lang)),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=err_console,
            )
            if err_console.is_terminal
            else None
        )
        self.task: Any = None

    def __enter__(self) -> Callable[[Any], None]:
        if self.progress is not None:
            self.progress.__enter__()
        return self.show

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)

    def show(self, state: Any) -> None:
        """Show a :class:`circle.batch.BatchProgress`."""
        eta = state.eta_seconds
        eta_text = "?" if eta != eta else f"{eta:,.0f} s"  # noqa: PLR0124  (NaN)
        line = word(
            "batch.eta",
            self.lang,
            done=state.done,
            failed=state.failed,
            running=state.running,
            eta=eta_text,
        )
        if self.progress is not None:
            if self.task is None:
                self.task = self.progress.add_task(line, total=state.total)
            self.progress.update(self.task, completed=state.done + state.failed, description=line)
            return
        if state.last is not None:
            self.count = state.done + state.failed
            status = word(f"batch.{state.last.status}", self.lang)
            err_console.print(
                word(
                    "batch.progress_line",
                    self.lang,
                    count=self.count,
                    total=state.total,
                    area=state.last.area_id,
                    status=status,
                    seconds=f"{state.last.seconds:.1f}",
                )
                + " · "
                + line,
                markup=False,
                soft_wrap=True,
            )
