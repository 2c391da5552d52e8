"""Gap and scenario reports: one folder of CSV, GeoJSON, Excel and Markdown files.

The jobs are split: :mod:`~circle.report.tables` sorts and formats the tables and writes
CSV and GeoJSON, :mod:`~circle.report.method` says the method in words,
:mod:`~circle.report.xlsx` builds the workbooks, :mod:`~circle.report.markdown` the text.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Final

from circle._io import output_folder
from circle.comparison import SCENARIO_COLUMNS
from circle.coords import check_coords
from circle.errors import InputError
from circle.i18n import check_lang, with_labels
from circle.report.markdown import markdown_report
from circle.report.method import method_rows
from circle.report.tables import (
    COORDINATE_SYSTEM_NAMES,
    FACILITY_FORMATS,
    SCENARIO_FORMATS,
    SUMMARY_FORMATS,
    ReportTables,
    csv_bytes,
    geojson_table_bytes,
)
from circle.report.xlsx import report_workbook, scenario_workbook, workbook_bytes

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping, Sequence

    import pandas as pd

    from circle.capacity import CapacityResult
    from circle.coverage import CoverageResult
    from circle.i18n import Lang

__all__ = ["REPORT_FILES", "SCENARIO_FILES", "write_report", "write_scenarios"]

logger = logging.getLogger(__name__)

#: The files :func:`write_report` writes, in the order it returns them.
REPORT_FILES: Final[tuple[str, ...]] = (
    "summary.csv",
    "neighbourhoods.csv",
    "neighbourhoods.geojson",
    "facilities.csv",
    "gaps.xlsx",
    "report.md",
)
#: The files :func:`write_scenarios` writes, in the order it returns them.
SCENARIO_FILES: Final[tuple[str, ...]] = ("scenarios.csv", "scenarios.xlsx")


def write_report(
    result: CoverageResult,
    out_dir: str | os.PathLike[str],
    *,
    lang: Lang = "en",
    inputs: Mapping[str, str] | None = None,
    capacity: CapacityResult | None = None,
    out_coords: str = "wgs84",
) -> list[Path]:
    """Write the gap report files into a folder.

    The folder is created if missing; files in it that circle does not write are left
    alone. The files are written as one set (:func:`circle._io.output_folder`): staged,
    then moved in together under a lock, so the folder holds the old set or the new one.

    - ``summary.csv``: one row per category, sorted by category id, in the columns of
      the output contract (``category, label, threshold_min, speed_kmh, facilities,
      facilities_off_network, population, covered_population, covered_share,
      neighbourhoods, uncovered_neighbourhoods``); ``covered_share`` has 4 decimals.
    - ``neighbourhoods.csv`` and ``neighbourhoods.geojson`` (WGS-84): the columns of
      :meth:`~circle.coverage.CoverageResult.neighbourhood_table`, sorted by ``area_id``.
      People 1 decimal, shares 4, minutes 1, coordinates 6. A minute that is beyond
      ``HORIZON_FACTOR`` x the threshold, or has no walking route, is empty in the CSV and
      ``null`` in the GeoJSON (so is every number of a neighbourhood without residents).
      Statuses are the stable ids ``covered, partial, uncovered, empty``.
    - ``facilities.csv``: ``id, name, category, on_network, snap_m, served_population,
      lon, lat``, sorted by category then id; ``snap_m`` is the straight line to the
      nearest walkable way (for off-network facilities, ``on_network`` ``false``, how far
      off they are).
    - ``gaps.xlsx``: sheets Summary, Neighbourhoods, Facilities and Method, formatted for
      reading (headers, sheet names and statuses in `lang`).
    - ``report.md``: inputs and method in words, coverage per service, the neighbourhoods
      with the largest gaps, and the off-network facilities.

    With `capacity`, for each service where at least one facility has a capacity, the
    neighbourhood files get, after the service's ``{c}_status``, the columns of
    :attr:`~circle.capacity.CapacityResult.neighbourhoods`: ``{c}_places_per_1000``
    (2 decimals), and with a target ``{c}_target_per_1000`` (2 decimals),
    ``{c}_shortfall_places`` (1 decimal) and ``{c}_below_target`` (true/false).
    ``facilities.csv`` ends with ``capacity`` (1 decimal, empty where missing) and
    ``places_per_1000`` (the facility's places per 1,000 residents in reach, ``1000 R_j``;
    empty without a capacity, off the network, or with nobody in reach). The Method sheet
    and ``report.md`` say the method, units, targets and how many facilities lacked a
    capacity; ``report.md`` adds places per 1,000 per service (the population-weighted
    mean over everyone counted), the neighbourhoods below target and the shortfall.
    Services without any capacity get no capacity columns (their facilities count for
    coverage only).

    With `out_coords` ``"gcj02"`` or ``"bd09"``, the geometry of
    ``neighbourhoods.geojson`` and ``lon``/``lat`` of ``facilities.csv`` (and of the
    workbook and ``report.md``) are in that system, for import into Gaode/Baidu-based
    tools; the GeoJSON gets a top-level ``"coordinate_system"`` member (``"GCJ-02"``,
    ``"BD-09"``), and the Method sheet and ``report.md`` say so. RFC 7946 expects WGS-84,
    so other GIS software will misplace such files.

    CSV and GeoJSON files are UTF-8 with LF line ends; their column names are the
    stable ids in every language, and the same inputs give byte-identical files.

    Parameters
    ----------
    result
        The coverage to report.
    out_dir
        The report folder.
    lang
        {"en", "zh"}: language of labels, headers and text.
    inputs
        What was loaded, in words (keys ``network``, ``facilities``, ``areas``,
        ``population``, ``preset``), for the method description.
    capacity
        Places per 1,000 residents computed from `result` (see
        :func:`circle.capacity.capacity_ratios`); ``None`` leaves capacity out.
    out_coords
        {"wgs84", "gcj02", "bd09"}, any letter case: the coordinate system of the layers.

    Returns
    -------
    list of Path
        The files written, in the order of :data:`REPORT_FILES`.

    Raises
    ------
    InputError
        `out_dir` exists and is not a folder, `out_coords` is unknown, or `capacity` was
        computed for other neighbourhoods or people than `result`.
    ValueError
        `lang` is not ``"en"`` or ``"zh"``.
    """
    lang = check_lang(lang)
    coords = check_coords(out_coords)
    folder = check_folder(out_dir)
    tables = ReportTables.from_result(result, lang, capacity=capacity, coords=coords)
    method = method_rows(result, tables, lang, dict(inputs or {}))
    # Everything is built before the first file is written.
    contents: dict[str, bytes] = {
        "summary.csv": csv_bytes(tables.summary, SUMMARY_FORMATS),
        "neighbourhoods.csv": csv_bytes(
            tables.neighbourhoods.drop(columns=tables.neighbourhoods.geometry.name),
            tables.neighbourhood_formats,
        ),
        "neighbourhoods.geojson": geojson_table_bytes(
            tables.neighbourhoods,
            tables.neighbourhood_formats,
            coordinate_system=COORDINATE_SYSTEM_NAMES.get(coords),
        ),
        "facilities.csv": csv_bytes(tables.facilities, FACILITY_FORMATS),
        "gaps.xlsx": workbook_bytes(report_workbook(result, tables, method, lang)),
        "report.md": markdown_report(result, tables, method, lang).encode("utf-8"),
    }
    written = write_files(folder, REPORT_FILES, contents)
    logger.info("wrote %d report files to %s", len(written), folder)
    return written


def write_scenarios(
    table: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    lang: Lang = "en",
    inputs: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the scenario comparison into a folder: ``scenarios.csv`` and ``scenarios.xlsx``.

    - ``scenarios.csv``: the rows of `table` in their order (the base first), in the
      columns of :data:`SCENARIO_COLUMNS` with those stable ids as headers in every
      language; ``covered_share`` and ``covered_share_change`` have 4 decimals, an empty
      cell where a service serves nobody. UTF-8, LF line ends, byte-identical for the
      same table.
    - ``scenarios.xlsx``: the same table formatted for reading (headers in `lang`,
      shares as percentages, changes signed), and a Method sheet with the inputs.

    The folder is created if missing; other files in it are left alone, and the two files
    are replaced together (:func:`circle._io.output_folder`).

    Parameters
    ----------
    table
        The comparison, as made by :func:`circle.comparison.scenario_table` (the ``label``
        column is added in `lang` when missing).
    out_dir
        The folder.
    lang
        {"en", "zh"}: language of the workbook's headers and text.
    inputs
        What was loaded, in words (keys ``network``, ``facilities``, ``areas``,
        ``population``, ``preset``), for the Method sheet.

    Returns
    -------
    list of Path
        The files written, in the order of :data:`SCENARIO_FILES`.

    Raises
    ------
    InputError
        `table` lacks columns of :data:`SCENARIO_COLUMNS`, or `out_dir` is a file.
    ValueError
        `lang` is not ``"en"`` or ``"zh"``.
    """
    lang = check_lang(lang)
    if "label" not in table.columns and "category" in table.columns:
        table = with_labels(table, lang)
    missing = [c for c in SCENARIO_COLUMNS if c not in table.columns]
    if missing:
        listed = ", ".join(f"`{c}`" for c in missing)
        msg = (
            f"`table` lacks the columns {listed}; make it with `circle.comparison.scenario_table`."
        )
        raise InputError(msg)
    folder = check_folder(out_dir)
    frame = table.loc[:, list(SCENARIO_COLUMNS)].reset_index(drop=True)
    contents: dict[str, bytes] = {
        "scenarios.csv": csv_bytes(frame, SCENARIO_FORMATS),
        "scenarios.xlsx": workbook_bytes(scenario_workbook(frame, dict(inputs or {}), lang)),
    }
    written = write_files(folder, SCENARIO_FILES, contents)
    logger.info("wrote %d scenario files to %s", len(written), folder)
    return written


def check_folder(out_dir: str | os.PathLike[str]) -> Path:
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        msg = f"`out_dir` `{folder}` is a file; the report needs a folder."
        raise InputError(msg)
    return folder


def write_files(folder: Path, names: Sequence[str], contents: Mapping[str, bytes]) -> list[Path]:
    """Write the files as one set (:func:`circle._io.output_folder`), in the order of `names`."""
    with output_folder(folder) as staging:
        for name in names:
            (staging / name).write_bytes(contents[name])
    return [folder / name for name in names]
