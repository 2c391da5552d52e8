"""The combined outputs of a batch: ``batch_summary.csv``, ``batch_summary.xlsx``, the map.

The CSV has machine-readable headers (ids, like ``summary.csv``); the workbook and the map
speak the report's language.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import folium
import geopandas as gpd

from circle._io import atomic_path
from circle.i18n import attribution, category_label, word
from circle.maps import save_map
from circle.report.tables import PEOPLE, SHARE, Format, csv_bytes
from circle.report.xlsx import Book, workbook_bytes, write_value

if TYPE_CHECKING:
    import os

    import pandas as pd

    from circle.i18n import Lang

__all__ = [
    "BATCH_MAP",
    "BATCH_SUMMARY_CSV",
    "BATCH_SUMMARY_XLSX",
    "SHARE_CLASSES",
    "batch_map",
    "write_batch_outputs",
]

BATCH_SUMMARY_CSV: Final = "batch_summary.csv"
BATCH_SUMMARY_XLSX: Final = "batch_summary.xlsx"
BATCH_MAP: Final = "batch_map.html"

#: Map classes of the covered share: (lower bound, fill colour), red to green.
SHARE_CLASSES: Final[tuple[tuple[float, str], ...]] = (
    (0.0, "#d7191c"),
    (0.2, "#fdae61"),
    (0.4, "#ffffbf"),
    (0.6, "#a6d96a"),
    (0.8, "#1a9641"),
)
_FAILED_COLOUR: Final = "#9e9e9e"
_SECONDS = Format(2, "0.00")


def write_batch_outputs(
    summary: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    out_dir: str | os.PathLike[str],
    *,
    categories: list[str],
    lang: Lang = "en",
) -> list[Path]:
    """Write ``batch_summary.csv``, ``batch_summary.xlsx`` and ``batch_map.html``.

    Parameters
    ----------
    summary
        :func:`circle.batch.summary_table`: one row per area.
    areas
        The areas (``area_id``, WGS-84 polygons; ``None`` for unusable ones).
    out_dir
        The batch folder.
    categories
        The categories of the summary, in report order.
    lang
        {"en", "zh"}: the workbook's headers and the map's words.

    Returns
    -------
    list of Path
        The three files.
    """
    out = Path(out_dir)
    formats: dict[str, Format] = {"seconds": _SECONDS}
    for category in categories:
        formats[f"{category}_population"] = PEOPLE
        formats[f"{category}_covered_population"] = PEOPLE
        formats[f"{category}_covered_share"] = SHARE
    csv_path = out / BATCH_SUMMARY_CSV
    with atomic_path(csv_path) as tmp:
        tmp.write_bytes(csv_bytes(summary, formats))
    xlsx_path = out / BATCH_SUMMARY_XLSX
    with atomic_path(xlsx_path) as tmp:
        tmp.write_bytes(workbook_bytes(_workbook(summary, categories, formats, lang)))
    map_path = save_map(
        batch_map(summary, areas, categories=categories, lang=lang), out / BATCH_MAP
    )
    return [csv_path, xlsx_path, map_path]


def _headers(categories: list[str], lang: Lang) -> list[str]:
    headers = [word(f"batch.{key}", lang) for key in ("area_id", "name", "status", "error")]
    headers.append(word("batch.seconds", lang))
    for category in categories:
        label = category_label(category, lang)
        headers += [
            word(f"batch.{key}", lang, label=label)
            for key in ("population", "covered_population", "covered_share")
        ]
    return headers


def _workbook(
    summary: pd.DataFrame, categories: list[str], formats: dict[str, Format], lang: Lang
) -> Book:
    book = Book()
    sheet = book.add_sheet(word("batch.sheet", lang))
    bold = book.style(bold=True)
    for j, header in enumerate(_headers(categories, lang)):
        write_value(sheet, 0, j, header, bold)
    statuses = {"ok": word("batch.ok", lang), "failed": word("batch.failed", lang)}
    styles = {str(column): book.style(number_format=fmt.excel) for column, fmt in formats.items()}
    for i, record in enumerate(summary.to_dict(orient="records"), start=1):
        for j, (column, value) in enumerate(record.items()):
            cell_value: Any = value
            if column == "status":
                cell_value = statuses.get(str(value), value)
            elif isinstance(value, float) and not math.isfinite(value):
                cell_value = None
            write_value(sheet, i, j, cell_value, styles.get(str(column)))
    sheet.freeze_panes("C2")
    return book


def _share_colour(share: float) -> str:
    colour = SHARE_CLASSES[0][1]
    for lower, fill in SHARE_CLASSES:
        if share >= lower:
            colour = fill
    return colour


def batch_map(
    summary: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    *,
    categories: list[str],
    lang: Lang = "en",
) -> folium.Map:
    """The areas coloured by their covered share, one layer per category (one shown at a time).

    Parameters
    ----------
    summary
        One row per area (:func:`circle.batch.summary_table`).
    areas
        ``area_id`` and WGS-84 polygons (``None`` for unusable ones, left out).
    categories
        The categories, in report order.
    lang
        {"en", "zh"}.

    Returns
    -------
    folium.Map
    """
    shapes = areas.loc[areas.geometry.notna(), ["area_id", "geometry"]]
    table = shapes.merge(summary, on="area_id", how="left")
    west, south, east, north = shapes.total_bounds if len(shapes) else (-180.0, -85.0, 180.0, 85.0)
    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], tiles=None, zoom_start=10)
    m.fit_bounds([[south, west], [north, east]])
    for number, category in enumerate(categories):
        label = category_label(category, lang)
        layer = folium.FeatureGroup(name=label, overlay=False, show=number == 0)
        features = []
        for row in table.to_dict(orient="records"):
            share = row.get(f"{category}_covered_share")
            failed = row.get("status") != "ok"
            ok_share = isinstance(share, float) and math.isfinite(share)
            if failed:
                text = word("batch.no_data", lang, error=str(row.get("error", "")))
            else:
                text = f"{share:.1%}" if ok_share else "–"
            features.append(
                {
                    "type": "Feature",
                    "geometry": row["geometry"].__geo_interface__,
                    "properties": {
                        "area": html.escape(f"{row.get('name', '')} ({row['area_id']})"),
                        "value": html.escape(text),
                        "fill": _share_colour(share) if ok_share and not failed else _FAILED_COLOUR,
                    },
                }
            )
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            style_function=_style,
            tooltip=folium.GeoJsonTooltip(fields=["area", "value"], labels=False),
        ).add_to(layer)
        layer.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.get_root().html.add_child(folium.Element(_legend(lang)))  # type: ignore[attr-defined]
    return m


def _style(feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "fillColor": feature["properties"]["fill"],
        "color": "#333333",
        "weight": 1,
        "fillOpacity": 0.7,
    }


def _legend(lang: Lang) -> str:
    rows = []
    bounds = [lower for lower, _ in SHARE_CLASSES] + [1.0]
    for (lower, colour), upper in zip(SHARE_CLASSES, bounds[1:], strict=True):
        rows.append(
            f'<div><span style="background:{colour};display:inline-block;width:14px;'
            f'height:10px;margin-right:4px"></span>{lower:.0%}–{upper:.0%}</div>'
        )
    rows.append(
        f'<div><span style="background:{_FAILED_COLOUR};display:inline-block;width:14px;'
        f'height:10px;margin-right:4px"></span>{html.escape(word("batch.failed", lang))}</div>'
    )
    title = html.escape(word("batch.legend", lang))
    credit = html.escape(attribution(lang))
    return (
        '<div style="position:fixed;bottom:24px;left:12px;z-index:1000;background:white;'
        'padding:6px 8px;font:12px sans-serif;border:1px solid #999">'
        f"<b>{title}</b>{''.join(rows)}<div style='margin-top:4px'>{credit}</div></div>"
    )
