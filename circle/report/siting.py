"""The recommendation files: ranked sites as CSV, a workbook and a Markdown section.

``recommendations.csv`` is the site table of :class:`circle.siting.Recommendation` in its
column order; ``comparison.csv`` the before/after comparison in the columns of
``scenarios.csv`` (:func:`circle.comparison.scenario_table`); ``recommendations.xlsx`` both,
formatted for reading, with the candidates not used and a Method sheet;
``recommendations.md`` the same as a Markdown section.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any, Final

from circle.comparison import SCENARIO_COLUMNS
from circle.i18n import attribution, category_label, category_labels, check_lang, with_labels, word
from circle.report import check_folder, write_files
from circle.report.markdown import md_cell, md_people, md_table
from circle.report.method import circle_version
from circle.report.tables import (
    COORDINATE,
    PEOPLE,
    SCENARIO_FORMATS,
    SHARE,
    Format,
    csv_bytes,
)
from circle.report.xlsx import (
    SCENARIO_EXCEL,
    Book,
    Column,
    excel_numbers,
    fill_sheet,
    method_sheet,
    workbook_bytes,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Mapping
    from pathlib import Path

    import pandas as pd

    from circle.coverage import CoverageResult
    from circle.i18n import Lang
    from circle.siting import Recommendation

__all__ = [
    "RECOMMENDATION_FILES",
    "RECOMMENDED_SCENARIO",
    "SITE_FORMATS",
    "recommendation_markdown",
    "recommendation_method",
    "recommendation_workbook",
    "write_recommendations",
]

logger = logging.getLogger(__name__)

#: The files :func:`write_recommendations` writes, in the order it returns them.
RECOMMENDATION_FILES: Final[tuple[str, ...]] = (
    "recommendations.csv",
    "comparison.csv",
    "recommendations.xlsx",
    "recommendations.md",
)
#: The scenario name of the recommended sites in ``comparison.csv`` (the base is ``base``).
RECOMMENDED_SCENARIO: Final = "recommended"
#: Decimals of the site table: people 1, covered share 4 (like ``summary.csv``), lon/lat 6.
SITE_FORMATS: Final[dict[str, Format]] = {
    "lon": COORDINATE,
    "lat": COORDINATE,
    "newly_covered": PEOPLE,
    "cumulative_covered": PEOPLE,
    "covered_share_after": SHARE,
}
#: Excel formats of the site columns (others: General).
_SITE_EXCEL: Final[dict[str, str]] = {
    "newly_covered": "#,##0",
    "cumulative_covered": "#,##0",
    "covered_share_after": "0.0%",
    "lon": "0.000000",
    "lat": "0.000000",
}
_UNUSED_COLUMNS: Final = ("candidate_id", "candidate_name", "lon", "lat", "reason")


def _w(key: str, lang: Lang, **values: object) -> str:
    return word(f"siting.{key}", lang, **values)


def _number(value: float, decimals: int = 0) -> str:
    return "–" if not math.isfinite(value) else f"{value:,.{decimals}f}"


def recommendation_method(
    result: CoverageResult,
    recommendation: Recommendation,
    lang: Lang,
    inputs: Mapping[str, str] | None = None,
) -> list[tuple[str, str]]:
    """(item, value) pairs saying how the sites were chosen, for Excel and Markdown.

    Parameters
    ----------
    result
        The coverage of the existing facilities the sites were chosen against.
    recommendation
        The sites.
    lang
        {"en", "zh"}.
    inputs
        What was loaded, in words (keys ``network``, ``facilities``, ``areas``,
        ``population``).

    Returns
    -------
    list of (str, str)
    """
    rec = recommendation
    given = dict(inputs or {})
    unknown = word("report.not_recorded", lang)
    separator = word("report.list_separator", lang)
    labels = category_labels(rec.categories, lang, separator=separator)
    rows = [
        (word("report.m_network", lang), given.get("network") or unknown),
        (word("report.m_facilities", lang), given.get("facilities") or unknown),
        (word("report.m_population", lang), result.people.source or unknown),
    ]
    if rec.target_share is None:
        problem = _w("m_maximal", lang, k=rec.k, labels=labels)
    else:
        problem = _w("m_set", lang, target=f"{rec.target_share:.1%}", labels=labels)
    rows.append((_w("m_problem", lang), problem))
    if len(rec.categories) > 1:
        rows.append((_w("m_colocation", lang), _w("m_colocation_value", lang, labels=labels)))
    thresholds = separator.join(
        f"{category_label(c, lang)} {result.model.threshold_minutes(c):g} "
        f"{word('report.m_minutes_unit', lang)}"
        for c in rec.categories
    )
    rows.append((_w("m_who", lang), _w("m_who_value", lang, thresholds=thresholds)))
    rows.append((_w("m_method", lang), _method_words(rec, lang)))
    rows.append((_w("m_candidates", lang), _candidate_words(rec, lang)))
    if rec.capacity_aware:
        rows.append((_w("m_capacity", lang), _w("m_capacity_value", lang)))
    rows.append((_w("m_columns", lang), _w("m_columns_value", lang)))
    if rec.notes:
        rows.append((_w("m_notes", lang), " ".join(rec.notes)))
    rows += [
        (word("report.m_software", lang), f"circle {circle_version()}"),
        (word("report.m_attribution", lang), attribution(lang)),
    ]
    return rows


def _method_words(rec: Recommendation, lang: Lang) -> str:
    """The solver in words: greedy and its guarantee, or the exact answer, bound and gap."""
    solver = rec.solver
    maximal = rec.target_share is None
    gap = "–" if math.isnan(solver.gap) else f"{solver.gap:.1%}"
    if solver.method == "exact":
        key = "m_exact_maximal" if maximal else "m_exact_set"
        text = _w(
            key, lang, status=solver.status, objective=_number(solver.objective),
            bound=_number(solver.bound, 1 if maximal else 0),
            greedy=_number(solver.greedy_objective), gap=gap,
        )  # fmt: skip
    else:
        text = _w("m_greedy_maximal" if maximal else "m_greedy_set", lang)
        if maximal and not math.isnan(solver.bound):
            text += " " + _w("m_greedy_bound", lang, bound=_number(solver.bound))
        if solver.status != "greedy":
            text += " " + _w("m_exact_failed", lang)
    return text


def _candidate_words(rec: Recommendation, lang: Lang) -> str:
    candidates = rec.candidates
    values = {"used": len(candidates), "given": candidates.given, "unused": len(candidates.unused)}
    if candidates.source == "grid":
        return _w("m_candidates_grid", lang, spacing=f"{candidates.spacing_m:g}", **values)
    return _w("m_candidates_file", lang, **values)


def _site_columns(rec: Recommendation, lang: Lang) -> list[Column]:
    table = rec.table()
    columns = []
    for column in table.columns:
        values = table[column].tolist()
        if column == "category":
            values = [category_label(str(c), lang) for c in values]
        columns.append(
            Column(_w(column, lang), excel_numbers(values), _SITE_EXCEL.get(column, "General"))
        )
    return columns


def _comparison_columns(comparison: pd.DataFrame, lang: Lang) -> list[Column]:
    names = {"base": word("report.base_scenario", lang), RECOMMENDED_SCENARIO: _w("after", lang)}
    table = with_labels(comparison, lang) if "label" not in comparison else comparison
    columns = [Column(word("report.scenario", lang), [names.get(s, s) for s in table["scenario"]])]
    columns += [
        Column(
            word(f"report.{c}", lang),
            excel_numbers(table[c].tolist()),
            SCENARIO_EXCEL.get(c, "General"),
        )
        for c in SCENARIO_COLUMNS[1:]
    ]
    return columns


def recommendation_workbook(
    recommendation: Recommendation,
    comparison: pd.DataFrame,
    method: list[tuple[str, str]],
    lang: Lang,
) -> Book:
    """``recommendations.xlsx``: sites, before/after, unused candidates and Method sheets."""
    book = Book()
    fill_sheet(book, _w("sheet_sites", lang), _site_columns(recommendation, lang), freeze="C2")
    fill_sheet(
        book, _w("sheet_comparison", lang), _comparison_columns(comparison, lang), freeze="B2"
    )
    unused = recommendation.unused_candidates
    if len(unused):
        fill_sheet(
            book,
            _w("sheet_unused", lang),
            [
                Column(
                    _w(c, lang), excel_numbers(unused[c].tolist()), _SITE_EXCEL.get(c, "General")
                )
                for c in _UNUSED_COLUMNS
            ],
            freeze="B2",
        )
    method_sheet(book, method, lang)
    return book


def recommendation_markdown(
    recommendation: Recommendation,
    comparison: pd.DataFrame,
    method: list[tuple[str, str]],
    lang: Lang,
) -> str:
    """``recommendations.md``: a Markdown section; values from inputs are escaped."""
    w: Callable[..., str] = lambda key, **values: _w(key, lang, **values)  # noqa: E731
    rec = recommendation
    lines = [f"## {w('h_sites')}", ""]
    if rec.n_sites:
        table = rec.table()
        has_candidates = "candidate_id" in table.columns
        header = [
            w("rank"), w("category"), w("newly_covered"), w("cumulative_covered"),
            w("covered_share_after"), w("lon"), w("lat"),
        ]  # fmt: skip
        if has_candidates:
            header += [w("candidate_id"), w("candidate_name")]
        header.append(w("lifted_neighbourhoods"))
        rows: list[list[Any]] = []
        for row in table.to_dict(orient="records"):
            cells = [
                row["rank"],
                category_label(str(row["category"]), lang),
                md_people(row["newly_covered"]),
                md_people(row["cumulative_covered"]),
                f"{row['covered_share_after']:.1%}",
                f"{row['lon']:.6f}",
                f"{row['lat']:.6f}",
            ]
            if has_candidates:
                cells += [row["candidate_id"], row["candidate_name"]]
            cells.append(row["lifted_neighbourhoods"] or "–")
            rows.append(cells)
        lines += md_table(header, rows)
    else:
        lines.append(w("md_no_sites"))
    for note in rec.notes:
        lines += ["", f"> {md_cell(note)}"]
    lines += ["", f"### {w('h_comparison')}", ""]
    base = comparison.loc[comparison["scenario"] == "base"].set_index("category")
    after = comparison.loc[comparison["scenario"] == RECOMMENDED_SCENARIO]
    lines += md_table(
        [
            w("category"),
            w("md_covered_before"),
            w("md_covered_after"),
            w("md_change"),
            w("md_share_before"),
            w("md_share_after"),
        ],
        [
            [
                category_label(str(row["category"]), lang),
                md_people(base.loc[row["category"], "covered_population"]),
                md_people(row["covered_population"]),
                f"{row['covered_population_change']:+,}",
                _share(base.loc[row["category"], "covered_share"]),
                _share(row["covered_share"]),
            ]
            for row in after.to_dict(orient="records")
            if row["category"] in rec.categories
        ],
    )
    lines += ["", f"### {w('h_method')}", ""]
    lines += [
        f"- **{md_cell(item)}**{word('report.colon', lang)}{md_cell(value)}"
        for item, value in method
    ]
    unused = rec.unused_candidates
    if len(unused):
        lines += ["", f"### {w('h_unused')}", ""]
        lines += md_table(
            [w(c) for c in _UNUSED_COLUMNS],
            [
                [
                    r["candidate_id"],
                    r["candidate_name"],
                    f"{r['lon']:.6f}",
                    f"{r['lat']:.6f}",
                    r["reason"],
                ]
                for r in unused.to_dict(orient="records")
            ],
        )
    lines += ["", w("md_files"), "", attribution(lang), ""]
    return "\n".join(lines)


def _share(value: Any) -> str:
    number = float(value)
    return "–" if math.isnan(number) else f"{number:.1%}"


def write_recommendations(
    result: CoverageResult,
    recommendation: Recommendation,
    comparison: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    lang: Lang = "en",
    inputs: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the recommended sites and the before/after comparison into a folder.

    - ``recommendations.csv``: one row per site (and service, for co-located sites) in rank
      order, columns ``rank, category, lon, lat, newly_covered, cumulative_covered,
      covered_share_after`` then ``candidate_id, candidate_name`` when the candidates came
      from a file, then ``lifted_neighbourhoods`` (``"; "``-separated neighbourhood ids).
      People with 1 decimal, ``covered_share_after`` with 4 (like ``summary.csv``), lon/lat
      with 6 (WGS-84).
    - ``comparison.csv``: the base and the base with the recommended sites (scenario
      ``recommended``), in the columns and formats of ``scenarios.csv``.
    - ``recommendations.xlsx``: the sites, the comparison, the candidates not used and a
      Method sheet (the problem, the solver with its guarantee or bound and gap, the
      candidates), headers in `lang`.
    - ``recommendations.md``: the same as a Markdown section.

    CSV files are UTF-8 with LF line ends; the same inputs give byte-identical files. The
    folder is created if missing; other files in it are left alone; each file is replaced
    atomically.

    Parameters
    ----------
    result
        The coverage of the existing facilities the sites were chosen against.
    recommendation
        The sites (:func:`circle.siting.recommend`).
    comparison
        :func:`circle.comparison.scenario_table` of the base and the scenario named
        :data:`RECOMMENDED_SCENARIO`.
    out_dir
        The folder.
    lang
        {"en", "zh"}.
    inputs
        What was loaded, in words (keys ``network``, ``facilities``, ``population``).

    Returns
    -------
    list of Path
        The files written, in the order of :data:`RECOMMENDATION_FILES`.
    """
    lang = check_lang(lang)
    folder = check_folder(out_dir)
    method = recommendation_method(result, recommendation, lang, inputs)
    frame = with_labels(comparison, lang) if "label" not in comparison else comparison
    contents: dict[str, bytes] = {
        "recommendations.csv": csv_bytes(recommendation.table(), SITE_FORMATS),
        "comparison.csv": csv_bytes(frame.loc[:, list(SCENARIO_COLUMNS)], SCENARIO_FORMATS),
        "recommendations.xlsx": workbook_bytes(
            recommendation_workbook(recommendation, frame, method, lang)
        ),
        "recommendations.md": recommendation_markdown(recommendation, frame, method, lang).encode(
            "utf-8"
        ),
    }
    written = write_files(folder, RECOMMENDATION_FILES, contents)
    logger.info("wrote %d recommendation files to %s", len(written), folder)
    return written
