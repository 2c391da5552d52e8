"""The report in Markdown (``report.md``): method, coverage, largest gaps, capacity."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd

from circle.capacity import overall_per_1000
from circle.coverage import HORIZON_FACTOR, largest_gaps
from circle.i18n import attribution, category_label, threshold_text, word
from circle.report.method import capacity_unit
from circle.report.tables import report_word as _word
from circle.report.xlsx import lonlat_header

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from circle.capacity import CapacityResult
    from circle.coverage import CoverageResult
    from circle.i18n import Lang
    from circle.report.tables import ReportTables

__all__ = ["WORST_NEIGHBOURHOODS", "markdown_report"]

#: Neighbourhoods listed per category in ``report.md``, largest gaps first.
WORST_NEIGHBOURHOODS: Final = 10


#: Characters of input-derived text replaced in ``report.md``: HTML becomes inert text,
#: table cells, code spans and links cannot be opened, a value stays on its line. (``>``
#: is left: without ``<`` it starts no tag, and mid-line no quote; ``> 6`` minutes stays.)
_MD_ESCAPES: Final = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        "\\": "\\\\",
        "|": "\\|",
        "`": "\\`",
        "[": "\\[",
        "]": "\\]",
        "\n": " ",
        "\r": " ",
    }
)


def md_cell(text: object) -> str:
    r"""Text that came from an input, safe anywhere in Markdown (also in table cells).

    ``<`` and ``&`` become HTML entities (no raw HTML reaches a viewer), ``|``,
    backticks, brackets and backslashes are escaped, and line breaks become spaces.

    Examples
    --------
    >>> md_cell("<img src=x onerror=alert(1)>|`x`")
    '&lt;img src=x onerror=alert(1)>\\|\\`x\\`'
    """
    return str(text).translate(_MD_ESCAPES)


def md_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return lines


def md_people(value: Any) -> str:
    return f"{float(value):,.0f}"


def _area_words(name: Any, area_id: str) -> str:
    """A neighbourhood as ``name (id)``, or its id alone where it has no other name."""
    if isinstance(name, str) and name.strip() and name != area_id:
        return f"{name} ({area_id})"
    return area_id


def _md_minutes(value: Any, horizon_min: float) -> str:
    value = float(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return f"> {horizon_min:g}"
    return f"{value:.1f}"


def markdown_report(
    result: CoverageResult, tables: ReportTables, method: list[tuple[str, str]], lang: Lang
) -> str:
    """``report.md``: method, coverage per service, largest gaps, capacity, off-network.

    Every value that came from an input (names, ids) is escaped for Markdown tables.
    """
    w: Callable[..., str] = lambda key, **values: _word(key, lang, **values)  # noqa: E731
    model = result.model
    lines = [f"# {w('title')}", "", f"## {w('h_method')}", ""]
    lines += [f"- **{item}**{w('colon')}{md_cell(value)}" for item, value in method]
    lines += ["", f"## {w('h_summary')}", ""]
    s = tables.summary
    lines += md_table(
        [
            w("label"),
            w("md_threshold"),
            w("facilities"),
            w("facilities_off_network"),
            w("covered_share"),
            word(f"people.population_{result.people.unit}", lang),
            word(f"people.covered_{result.people.unit}", lang),
            w("md_uncovered_areas"),
        ],
        [
            [
                row.label,
                threshold_text(
                    model.threshold_minutes(str(row.category)),
                    model.threshold_metres(str(row.category))
                    if model.is_distance(str(row.category))
                    else None,
                    lang,
                ),
                row.facilities,
                row.facilities_off_network,
                f"{row.covered_share:.1%}" if row.population else "–",
                md_people(row.population),
                md_people(row.covered_population),
                w("md_of", part=row.uncovered_neighbourhoods, whole=row.neighbourhoods),
            ]
            for row in s.itertuples(index=False)
        ],
    )
    table = tables.neighbourhoods
    for category, used in zip(s["category"], s["facilities"], strict=True):
        label = md_cell(category_label(category, lang))
        horizon = result.model.threshold_minutes(category) * HORIZON_FACTOR
        lines += ["", f"## {w('h_worst', label=label)}", ""]
        if not used:
            lines += [w("md_no_facility"), ""]
        worst = largest_gaps(table, category, limit=WORST_NEIGHBOURHOODS)
        if worst.empty:
            lines.append(w("md_no_gaps"))
            continue
        lines += [w("md_worst_intro", count=WORST_NEIGHBOURHOODS), ""]
        lines += md_table(
            [
                w("name"),
                w("covered_share"),
                w("md_median"),
                w("md_max"),
                word(f"people.not_covered_{result.people.unit}", lang),
            ],
            [
                [
                    _area_words(row.name, str(row.area_id)),
                    f"{row.share:.1%}",
                    _md_minutes(row.median, horizon),
                    _md_minutes(row.max, horizon),
                    md_people(row.not_covered),
                ]
                for row in worst.itertuples(index=False)
            ],
        )
    if tables.capacity is not None:
        lines += _md_capacity(result, tables, tables.capacity, lang)
    lines += ["", f"## {w('h_off')}", ""]
    f = tables.facilities
    off = f[~f["on_network"].to_numpy(bool)]
    if off.empty:
        lines.append(w("md_no_off"))
    else:
        max_snap_m = result.model.max_snap_m
        cut_off = _cut_off_metres(result, off, max_snap_m)
        lines += [w("md_off_intro", metres=f"{max_snap_m:g}"), ""]
        if cut_off is not None:
            lines += [w("md_off_cut_intro", metres=f"{max_snap_m:g}"), ""]
        header = [
            w("id"),
            w("facility_name"),
            w("service"),
            w("snap_m"),
            lonlat_header("lon", tables, lang),
            lonlat_header("lat", tables, lang),
        ]
        rows = [
            [
                row.id,
                row.name,
                category_label(str(row.category), lang),
                f"{row.snap_m:.0f}",
                f"{row.lon:.6f}",
                f"{row.lat:.6f}",
            ]
            for row in off.itertuples(index=False)
        ]
        if cut_off is not None:
            header.append(w("md_off_note"))
            for row, metres in zip(rows, cut_off, strict=True):
                row.append(w("md_off_cut", metres=f"{metres:.0f}") if metres <= max_snap_m else "")
        lines += md_table(header, rows)
    lines += ["", w("md_files"), "", attribution(lang), ""]
    return "\n".join(lines)


def _cut_off_metres(
    result: CoverageResult, off: pd.DataFrame, max_snap_m: float
) -> np.ndarray | None:
    """Per off-network facility, metres to a way of a disconnected piece (None: none near)."""
    model = result.model.facilities
    if "dropped_way_m" not in model.columns:
        return None
    by_key = pd.Series(
        model["dropped_way_m"].to_numpy(float),
        index=pd.MultiIndex.from_arrays(
            [model["category"].astype(str).to_numpy(), model["id"].astype(str).to_numpy()]
        ),
    )
    keys = pd.MultiIndex.from_arrays(
        [off["category"].astype(str).to_numpy(), off["id"].astype(str).to_numpy()]
    )
    metres = by_key[~by_key.index.duplicated()].reindex(keys).to_numpy(float)
    return metres if (metres <= max_snap_m).any() else None


def _md_capacity(
    result: CoverageResult, tables: ReportTables, capacity: CapacityResult, lang: Lang
) -> list[str]:
    """Places per 1,000 per service, and the neighbourhoods furthest below the target."""
    w: Callable[..., str] = lambda key, **values: _word(key, lang, **values)  # noqa: E731
    lines = ["", f"## {w('h_capacity')}", ""]
    categories = tables.capacity_categories
    if not categories:
        return [*lines, w("md_no_capacity")]
    t = tables.neighbourhoods
    inhabited = dict(zip(tables.summary["category"], tables.summary["neighbourhoods"], strict=True))
    rows = []
    for category in categories:
        overall = overall_per_1000(result, capacity, category)
        row = [
            category_label(category, lang),
            capacity_unit(capacity, category, lang),
            "–" if math.isnan(overall) else f"{overall:,.2f}",
        ]
        if category in capacity.targets:
            below = int(t[f"{category}_below_target"].to_numpy(bool).sum())
            shortfall = float(t[f"{category}_shortfall_places"].to_numpy(float).sum())
            row += [
                f"{capacity.targets[category]:g}",
                w("md_of", part=below, whole=inhabited.get(category, 0)),
                f"{shortfall:,.1f}",
            ]
        else:
            row += ["–", "–", "–"]
        row.append(str(capacity.missing_capacity.get(category, 0)))
        rows.append(row)
    lines += [w("md_capacity_intro"), ""]
    lines += md_table(
        [
            w("label"),
            w("md_unit"),
            w("md_places_per_1000"),
            w("md_target"),
            w("md_below_target"),
            w("md_shortfall"),
            w("md_missing_capacity"),
        ],
        rows,
    )
    for category in categories:
        if category not in capacity.targets:
            continue
        below = t[f"{category}_below_target"].to_numpy(bool)
        if not below.any():
            continue
        ids = t["area_id"].astype(str).to_numpy()[below]
        names = t["name"].to_numpy()[below]
        places = t[f"{category}_places_per_1000"].to_numpy(float)[below]
        shortfall = t[f"{category}_shortfall_places"].to_numpy(float)[below]
        order = np.lexsort((ids, -shortfall))[:WORST_NEIGHBOURHOODS]
        unit = capacity_unit(capacity, category, lang)
        lines += ["", f"### {w('h_shortfall', label=md_cell(category_label(category, lang)))}", ""]
        lines += [w("md_shortfall_intro", unit=md_cell(unit), count=WORST_NEIGHBOURHOODS), ""]
        lines += md_table(
            [w("name"), w("md_places_per_1000"), w("md_shortfall_unit", unit=unit)],
            [
                [_area_words(names[i], ids[i]), f"{places[i]:,.2f}", f"{shortfall[i]:,.1f}"]
                for i in order
            ],
        )
    return lines
