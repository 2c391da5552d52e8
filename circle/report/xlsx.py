"""The report workbooks (``gaps.xlsx``, ``scenarios.xlsx``): formatted sheets for reading.

Workbooks are written with XlsxWriter, in memory: every text cell is written as a string
(never a formula, a number or a link), and the file carries a fixed time, so the same
inputs give the same bytes.
"""

from __future__ import annotations

import datetime
import io
import itertools
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import xlsxwriter

from circle.comparison import SCENARIO_COLUMNS
from circle.coverage import HORIZON_FACTOR, STATUSES, SUMMARY_COLUMNS
from circle.i18n import LANGS, attribution, category_label, status_word, word
from circle.report.method import capacity_unit, circle_version
from circle.report.tables import COORDINATE_SYSTEM_NAMES, is_missing, plain
from circle.report.tables import report_word as _word

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    import pandas as pd

    from circle.capacity import CapacityResult
    from circle.coverage import CoverageResult
    from circle.i18n import Lang
    from circle.report.tables import ReportTables

__all__ = [
    "SIGNED_FORMATS",
    "STATUS_FILLS",
    "WORKBOOK_TIME",
    "Book",
    "Column",
    "column_width",
    "fill_sheet",
    "lonlat_header",
    "method_sheet",
    "report_workbook",
    "scenario_workbook",
    "workbook_bytes",
    "write_value",
]

#: Light cell fills of neighbourhood statuses in ``gaps.xlsx`` (green, amber, red, grey).
STATUS_FILLS: Final[dict[str, str]] = {
    "covered": "C6EFCE",
    "partial": "FFEB9C",
    "uncovered": "FFC7CE",
    "empty": "EDEDED",
}
_MIN_WIDTH, _MAX_WIDTH = 8, 40
#: The created/modified time of every workbook and the date of its zip entries (fixed, so
#: that the same inputs give the same bytes; the earliest date a zip file can hold).
WORKBOOK_TIME: Final = (1980, 1, 1, 0, 0, 0)
#: Control characters an XML file cannot hold; dropped from text cells.
_ILLEGAL_CHARACTERS: Final = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


class Book:
    """A workbook built in memory with XlsxWriter; :func:`workbook_bytes` gives the file.

    Text is only ever written as text: XlsxWriter's conversions of strings into formulas,
    numbers and links are off. The created and modified times are :data:`WORKBOOK_TIME`
    (XlsxWriter dates the zip entries 1980-01-01 itself).
    """

    def __init__(self) -> None:
        self._buffer = io.BytesIO()
        self._book = xlsxwriter.Workbook(
            self._buffer,
            {
                "in_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self._book.set_properties({"created": datetime.datetime(*WORKBOOK_TIME)})
        self._styles: dict[tuple[Any, ...], Any] = {}
        self._bytes: bytes | None = None

    def add_sheet(self, title: str) -> Any:
        """A new worksheet called `title`, after the others."""
        return self._book.add_worksheet(title)

    def style(
        self,
        *,
        number_format: str = "General",
        bold: bool = False,
        wrap: bool = False,
        fill: str | None = None,
        align_right: bool = False,
    ) -> Any:
        """The cell format of these properties (one per distinct set, made once)."""
        key = (number_format, bold, wrap, fill, align_right)
        if key not in self._styles:
            properties: dict[str, Any] = {}
            if number_format != "General":
                properties["num_format"] = number_format
            if bold:
                properties["bold"] = True
            if wrap:
                properties |= {"text_wrap": True, "valign": "top"}
            if fill is not None:
                properties |= {"pattern": 1, "bg_color": f"#{fill}"}
            if align_right:
                properties["align"] = "right"
            self._styles[key] = self._book.add_format(properties) if properties else None
        return self._styles[key]

    def to_bytes(self) -> bytes:
        """The ``.xlsx`` file (the book is closed on the first call)."""
        if self._bytes is None:
            self._book.close()
            self._bytes = self._buffer.getvalue()
        return self._bytes


def workbook_bytes(book: Book) -> bytes:
    """`book` as ``.xlsx`` bytes, the same for the same content."""
    return book.to_bytes()


@dataclass(frozen=True)
class Column:
    """One column of a sheet: header, cell values and how to show them."""

    header: str
    values: list[Any]
    number_format: str = "General"
    status: bool = False
    align_right: bool = False


def _minutes_cells(values: pd.Series, horizon_min: float) -> list[Any]:
    """Minutes for Excel: ``"> N"`` beyond the search horizon, blank without residents."""
    numbers = values.to_numpy(dtype=float)
    cells = numbers.astype(object)  # Python floats
    cells[np.isnan(numbers)] = None
    cells[np.isinf(numbers)] = f"> {horizon_min:g}"
    return cells.tolist()


def excel_numbers(values: Iterable[Any]) -> list[Any]:
    """Numbers for Excel: blank where missing.

    A numpy number column (a ``pandas.Series`` or array of ints, floats or booleans) is
    converted in one pass; other values one by one (numpy scalars as the Python values they
    hold, NaN and infinite numbers as ``None``).
    """
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        array = np.asarray(values)
        if dtype.kind != "f":
            return array.tolist()  # type: ignore[no-any-return]
        cells = array.astype(object)  # Python floats
        cells[~np.isfinite(array)] = None
        return cells.tolist()  # type: ignore[no-any-return]
    return [None if is_missing(v := plain(x)) else v for x in values]


def _summary_columns(tables: ReportTables, lang: Lang, unit: str = "people") -> list[Column]:
    """The summary sheet; population headers name their unit (metres for the network proxy)."""
    s = tables.summary
    headers = {
        "population": word(f"people.population_{unit}", lang),
        "covered_population": word(f"people.covered_{unit}", lang),
    }
    formats = {
        "population": "#,##0",
        "covered_population": "#,##0",
        "covered_share": "0.0%",
    }
    return [
        Column(
            headers.get(c) or _word(c, lang),
            excel_numbers(s[c]),
            formats.get(c, "General"),
        )
        for c in SUMMARY_COLUMNS
    ]


def _neighbourhood_columns(
    result: CoverageResult, tables: ReportTables, lang: Lang
) -> list[Column]:
    t = tables.neighbourhoods
    unit = result.people.unit
    yes, no = _word("yes", lang), _word("no", lang)
    columns = [
        Column(_word("area_id", lang), t["area_id"].astype(str).tolist()),
        Column(_word("name", lang), excel_numbers(t["name"])),
        Column(
            word(f"people.population_{unit}", lang),
            excel_numbers(t["population"]),
            "#,##0",
        ),
    ]
    for category in result.categories:
        label = category_label(category, lang)
        horizon = result.model.threshold_minutes(category) * HORIZON_FACTOR
        # Demand groups are people; the whole population is in its unit (metres for a proxy).
        covered = word(
            f"people.covered_{'people' if f'{category}_population' in t.columns else unit}",
            lang,
        )
        if f"{category}_population" in t.columns:
            columns.append(
                Column(
                    _word("c_population", lang, label=label),
                    excel_numbers(t[f"{category}_population"]),
                    "#,##0",
                )
            )
        columns += [
            Column(
                word("people.c_covered_unit", lang, label=label, what=covered),
                excel_numbers(t[f"{category}_covered_population"]),
                "#,##0",
            ),
            Column(
                _word("c_covered_share", lang, label=label),
                excel_numbers(t[f"{category}_covered_share"]),
                "0.0%",
            ),
            Column(
                _word("c_median_min", lang, label=label),
                _minutes_cells(t[f"{category}_median_min"], horizon),
                "0.0",
                align_right=True,
            ),
            Column(
                _word("c_max_min", lang, label=label),
                _minutes_cells(t[f"{category}_max_min"], horizon),
                "0.0",
                align_right=True,
            ),
            Column(
                _word("c_status", lang, label=label),
                _status_words(t[f"{category}_status"], lang),
                status=True,
            ),
        ]
        if category in tables.capacity_categories and tables.capacity is not None:
            columns += _capacity_columns(t, tables.capacity, category, lang)
    columns += [
        Column(_word("complete", lang), [yes if c else no for c in t["complete"].tolist()]),
        Column(_word("missing", lang), t["missing"].astype(str).tolist()),
    ]
    return columns


def _status_words(statuses: pd.Series, lang: Lang) -> list[str]:
    """Each status id in words (each distinct id looked up once)."""
    ids = statuses.tolist()
    words = {s: status_word(s, lang) for s in dict.fromkeys(ids)}
    return [words[s] for s in ids]


def _capacity_columns(
    t: pd.DataFrame, capacity: CapacityResult, category: str, lang: Lang
) -> list[Column]:
    """Places per 1,000, and with a target: the target, shortfall and below target."""
    label = category_label(category, lang)
    unit = capacity_unit(capacity, category, lang)
    yes, no = _word("yes", lang), _word("no", lang)
    columns = [
        Column(
            _word("c_places_per_1000", lang, label=label, unit=unit),
            excel_numbers(t[f"{category}_places_per_1000"]),
            "0.00",
        )
    ]
    if f"{category}_target_per_1000" in t.columns:
        columns += [
            Column(
                _word("c_target_per_1000", lang, label=label, unit=unit),
                excel_numbers(t[f"{category}_target_per_1000"]),
                "0.00",
            ),
            Column(
                _word("c_shortfall_places", lang, label=label, unit=unit),
                excel_numbers(t[f"{category}_shortfall_places"]),
                "#,##0.0",
            ),
            Column(
                _word("c_below_target", lang, label=label),
                [yes if x else no for x in t[f"{category}_below_target"].tolist()],
            ),
        ]
    return columns


def lonlat_header(key: str, tables: ReportTables, lang: Lang) -> str:
    """``Longitude``, or ``Longitude (GCJ-02)`` where the coordinates are not WGS-84."""
    name = COORDINATE_SYSTEM_NAMES.get(tables.coords)
    return _word(key, lang) + (f" ({name})" if name else "")


def _facility_columns(tables: ReportTables, lang: Lang) -> list[Column]:
    f = tables.facilities
    yes, no = _word("yes", lang), _word("no", lang)
    columns = [
        Column(_word("id", lang), f["id"].astype(str).tolist()),
        Column(_word("facility_name", lang), excel_numbers(f["name"])),
        Column(_word("service", lang), [category_label(c, lang) for c in f["category"]]),
        Column(_word("on_network", lang), [yes if x else no for x in f["on_network"].tolist()]),
        Column(_word("snap_m", lang), excel_numbers(f["snap_m"]), "0.0"),
        Column(_word("served_population", lang), excel_numbers(f["served_population"]), "#,##0"),
    ]
    if tables.capacity is not None:
        columns += [
            Column(_word("capacity", lang), excel_numbers(f["capacity"]), "#,##0.0"),
            Column(_word("places_per_1000", lang), excel_numbers(f["places_per_1000"]), "0.00"),
        ]
    columns += [
        Column(lonlat_header("lon", tables, lang), excel_numbers(f["lon"]), "0.000000"),
        Column(lonlat_header("lat", tables, lang), excel_numbers(f["lat"]), "0.000000"),
    ]
    return columns


def _display_width(value: Any, number_format: str) -> int:
    """Roughly how many character widths a cell needs (CJK characters count twice)."""
    if value is None:
        return 0
    if isinstance(value, float) and number_format == "0.0%":
        text = f"{value:.1%}"
    elif isinstance(value, (int, float)) and number_format == "#,##0":
        text = f"{value:,.0f}"
    elif isinstance(value, (int, float)) and number_format == "#,##0.0":
        text = f"{value:,.1f}"
    elif isinstance(value, (int, float)) and number_format == _SIGNED_SHARE:
        text = f"{value:+.1%}"
    elif isinstance(value, (int, float)) and number_format == _SIGNED_PEOPLE:
        text = f"{value:+,.0f}"
    elif isinstance(value, float) and number_format.startswith("0."):
        text = f"{value:.{len(number_format) - 2}f}"
    else:
        text = str(value)
    if text.isascii():  # no wide characters
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def column_width(values: Sequence[Any], number_format: str) -> int:
    """The largest :func:`_display_width` of `values`, without formatting every value.

    Text is measured once per distinct value. Numbers in a format with fixed decimals get
    wider with their magnitude (rounding keeps the order), so only the largest number and
    the most negative one (sign included, so ``-0.0``) of each type are measured; in
    ``General`` every distinct number is, as ``str`` gives no such order.
    """
    kinds = set(map(type, values))  # a column holds one or two kinds: look for those only
    # Bools and text: distinct values.
    measured: list[Any] = []
    if kinds == {str}:
        measured += dict.fromkeys(values)
    elif kinds - {int, float, type(None)}:
        measured += dict.fromkeys(
            v
            for v in values
            if v.__class__ is not int and v.__class__ is not float and v is not None
        )
    for kind in (int, float):
        if kind not in kinds:
            continue
        numbers = list(values) if kinds == {kind} else [v for v in values if v.__class__ is kind]
        if number_format == "General":
            measured += numbers
            continue
        measured.append(max(numbers))
        # Sign bit set: below zero, or -0.0 (and NaN with the bit).
        if kind is int:
            negative = [x for x in numbers if x < 0]
        else:
            negative = list(itertools.compress(numbers, np.signbit(numbers).tolist()))
        if negative:
            measured.append(min(negative))
    return max((_display_width(v, number_format) for v in measured), default=0)


def write_value(sheet: Any, row: int, column: int, value: Any, style: Any = None) -> None:
    """Write one cell (0-based `row` and `column`): text as a string, never a formula.

    Control characters XML cannot hold are dropped from text; ``None``, NaN and infinite
    numbers are a blank cell (written only when `style` gives it a format); numpy scalars
    are written as the Python values they hold.

    Raises
    ------
    TypeError
        `value` is not text, a number, a boolean or ``None``.
    """
    if isinstance(value, str):
        sheet.write_string(row, column, _ILLEGAL_CHARACTERS.sub("", value), style)
        return
    value = plain(value)
    if isinstance(value, bool):
        sheet.write_boolean(row, column, value, style)
    elif isinstance(value, (int, float)) and not is_missing(value):
        sheet.write_number(row, column, value, style)
    elif value is None or is_missing(value):
        if style is not None:
            sheet.write_blank(row, column, None, style)
    else:
        msg = f"cannot write {type(value).__name__} `{value!r}` to a workbook cell"
        raise TypeError(msg)


def _write_column(
    sheet: Any, j: int, values: Sequence[Any], *, number: Any, text: Any, fills: dict[str, Any]
) -> None:
    """Column `j` from row 1 down: the cells :func:`write_value` writes, in one pass.

    Python floats, ints, text and ``None`` go straight to XlsxWriter's typed writers
    (text without control characters when the column has none, see :func:`write_value`);
    anything else (numpy scalars, booleans) through :func:`write_value`. Numbers and blanks
    get the `number` style, text `text` or its status fill from `fills`.
    """
    write_number, write_string, write_blank = sheet.write_number, sheet.write_string, None
    if number is not None:
        write_blank = sheet.write_blank
    texts = [v for v in values if v.__class__ is str]
    clean = not _ILLEGAL_CHARACTERS.search("".join(texts))
    isfinite = math.isfinite
    for i, value in enumerate(values, start=1):
        kind = value.__class__
        if kind is float:
            if isfinite(value):
                write_number(i, j, value, number)
            elif write_blank is not None:
                write_blank(i, j, None, number)
        elif kind is str:
            style = fills.get(value, text) if fills else text
            write_string(i, j, value if clean else _ILLEGAL_CHARACTERS.sub("", value), style)
        elif kind is int:
            write_number(i, j, value, number)
        elif value is None:
            if write_blank is not None:
                write_blank(i, j, None, number)
        elif isinstance(value, str):
            write_value(sheet, i, j, value, fills.get(value, text) if fills else text)
        else:
            write_value(sheet, i, j, value, number)


def fill_sheet(
    book: Book,
    title: str,
    columns: Sequence[Column],
    *,
    freeze: str = "A2",
    lang: Lang | None = None,
) -> Any:
    """A sheet `title` with a header row (bold, frozen, filtered) and formatted columns.

    Text is always a string cell, never a formula: a name like ``=HYPERLINK(...)`` stays
    inert. Control characters XML cannot hold are dropped from text. Missing values are
    blank cells in the column's number format. In status columns, the status words of
    `lang` (of every language when ``None``) get the fill of their status.

    Returns
    -------
    xlsxwriter.worksheet.Worksheet
        The sheet, for changes to its layout.
    """
    sheet = book.add_sheet(title)
    header = book.style(bold=True, wrap=True)
    status_of: dict[str, str] = {}
    if any(c.status for c in columns):  # (reading another language's words takes a while)
        langs = LANGS if lang is None else (lang,)
        status_of = {status_word(s, code): s for code in langs for s in STATUSES}
    n_rows = max((len(c.values) for c in columns), default=0)
    for j, column in enumerate(columns):
        write_value(sheet, 0, j, column.header, header)
        number = book.style(number_format=column.number_format)
        text = book.style(number_format=column.number_format, align_right=column.align_right)
        fills = {}
        if column.status:
            fills = {
                word: book.style(number_format=column.number_format, fill=STATUS_FILLS[status])
                for word, status in status_of.items()
            }
        _write_column(sheet, j, column.values, number=number, text=text, fills=fills)
        widest = max(
            column_width(column.values, column.number_format),
            min(_display_width(column.header, "General"), 24),
        )
        sheet.set_column(j, j, min(max(widest + 2, _MIN_WIDTH), _MAX_WIDTH))
    sheet.freeze_panes(freeze)
    if columns:
        sheet.autofilter(0, 0, n_rows, len(columns) - 1)
    return sheet


def report_workbook(
    result: CoverageResult, tables: ReportTables, method: list[tuple[str, str]], lang: Lang
) -> Book:
    """``gaps.xlsx``: Summary, Neighbourhoods, Facilities and Method sheets in `lang`."""
    book = Book()
    fill_sheet(
        book,
        _word("sheet_summary", lang),
        _summary_columns(tables, lang, result.people.unit),
        freeze="C2",
    )
    fill_sheet(
        book,
        _word("sheet_neighbourhoods", lang),
        _neighbourhood_columns(result, tables, lang),
        freeze="C2",
        lang=lang,
    )
    fill_sheet(book, _word("sheet_facilities", lang), _facility_columns(tables, lang), freeze="B2")
    method_sheet(book, method, lang)
    return book


def method_sheet(book: Book, method: list[tuple[str, str]], lang: Lang) -> None:
    """A Method sheet of (item, value) rows, values wrapped in a wide column, no filter."""
    sheet = book.add_sheet(_word("sheet_method", lang))
    header = book.style(bold=True, wrap=True)
    wrap = book.style(wrap=True)
    for j, title in enumerate((_word("item", lang), _word("value", lang))):
        write_value(sheet, 0, j, title, header)
    for i, (item, value) in enumerate(method, start=1):
        write_value(sheet, i, 0, item, wrap)
        write_value(sheet, i, 1, value, wrap)
    sheet.set_column(0, 0, 26)
    sheet.set_column(1, 1, 100)
    sheet.freeze_panes("A2")


#: Excel formats of changes: a sign on both sides of zero.
_SIGNED_SHARE: Final = "+0.0%;-0.0%;0.0%"
_SIGNED_PEOPLE: Final = "+#,##0;-#,##0;0"
SIGNED_FORMATS: Final = (_SIGNED_SHARE, _SIGNED_PEOPLE)
#: Excel formats of the scenario columns (others: General).
SCENARIO_EXCEL: Final[dict[str, str]] = {
    "population": "#,##0",
    "covered_population": "#,##0",
    "covered_share": "0.0%",
    "covered_population_change": _SIGNED_PEOPLE,
    "covered_share_change": _SIGNED_SHARE,
}


def scenario_workbook(table: pd.DataFrame, inputs: dict[str, str], lang: Lang) -> Book:
    """The scenario table formatted for reading, and the inputs on a Method sheet."""
    book = Book()
    base = _word("base_scenario", lang)
    names = [base if s == "base" else str(s) for s in table["scenario"]]
    columns = [Column(_word("scenario", lang), names)]
    columns += [
        Column(_word(c, lang), excel_numbers(table[c]), SCENARIO_EXCEL.get(c, "General"))
        for c in SCENARIO_COLUMNS[1:]
    ]
    fill_sheet(book, _word("sheet_scenarios", lang), columns, freeze="B2")
    unknown = _word("not_recorded", lang)
    method = [
        (_word("m_network", lang), inputs.get("network") or unknown),
        (_word("m_facilities", lang), inputs.get("facilities") or unknown),
    ]
    if inputs.get("preset"):
        method.append((_word("m_preset", lang), inputs["preset"]))
    method += [
        (_word("m_areas", lang), inputs.get("areas") or unknown),
        (_word("m_population", lang), inputs.get("population") or unknown),
        (_word("m_scenarios", lang), _word("m_scenarios_value", lang)),
        (_word("m_software", lang), f"circle {circle_version()}"),
        (_word("m_attribution", lang), attribution(lang)),
    ]
    method_sheet(book, method, lang)
    return book
