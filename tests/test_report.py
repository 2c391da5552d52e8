"""Gap report files, pinned on a 1 km street worked out by hand."""

from __future__ import annotations

import csv
import dataclasses
import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from circle.errors import InputError
from circle.i18n import OSM_CREDIT, attribution
from circle.report import REPORT_FILES, write_report
from circle.report.xlsx import SIGNED_FORMATS, _display_width, column_width
from circle.walking import Threshold
from tests.conftest import street_coverage

INPUTS = {"network": "street.osm", "facilities": "services.csv"}


@pytest.fixture
def result():
    """A street x = 0..1000 m walked at 100 m/min; people 10 @ x=100, 20 @ x=400 (30 m off
    the street), 70 @ x=800.

    - clinic (5 min) at x=0, another clinic 1 km off the street (off-network):
      1.0, 4.3 and 8.0 minutes.
    - daycare (3 min, search horizon 6 min) at x=0: 1.0, 4.3 and beyond (8 min > 6).
    - bathhouse (custom, 5 min) at x=1000: 9.0, 6.3 and 2.0 minutes.

    Areas: A "west" (x 0..500: 30 people), B "east" (x 500..1000: 70), C "north" (empty).
    """
    return street_coverage(
        [
            ("c1", "clinic", 0.0, 0.0),
            ("c2", "clinic", 500.0, 1000.0),
            ("d1", "daycare", 0.0, 0.0),
            ("b1", "bathhouse", 1000.0, 0.0),
        ],
        {
            "clinic": Threshold(minutes=5.0),
            "daycare": Threshold(minutes=3.0),
            "bathhouse": Threshold(minutes=5.0),
        },
    )


def read_csv(path):
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_writes_the_report_files(result, tmp_path):
    out = tmp_path / "new" / "report"
    written = write_report(result, out, inputs=INPUTS)
    assert [p.name for p in written] == list(REPORT_FILES)
    assert all(p.parent == out and p.is_file() for p in written)


def test_summary_csv_by_hand(result, tmp_path):
    write_report(result, tmp_path)
    # Sorted by category id; shares: 70/100, 30/100, 10/100; B and A uncovered.
    assert (tmp_path / "summary.csv").read_text(encoding="utf-8") == (
        "category,label,threshold_min,threshold_m,speed_kmh,facilities,facilities_off_network,"
        "population,covered_population,covered_share,neighbourhoods,uncovered_neighbourhoods\n"
        "bathhouse,bathhouse,5.0,500.0,6.0,1,0,100,70,0.7000,2,1\n"
        "clinic,clinic / community health station,5.0,500.0,6.0,1,1,100,30,0.3000,2,1\n"
        "daycare,childcare and elderly day care,3.0,300.0,6.0,1,0,100,10,0.1000,2,1\n"
    )
    write_report(result, tmp_path, lang="zh")
    rows = read_csv(tmp_path / "summary.csv")
    assert [r["category"] for r in rows] == ["bathhouse", "clinic", "daycare"]
    assert rows[1]["label"] == "社区卫生服务站"


def test_neighbourhoods_csv_by_hand(result, tmp_path):
    write_report(result, tmp_path)
    rows = read_csv(tmp_path / "neighbourhoods.csv")
    assert [r["area_id"] for r in rows] == ["A", "B", "C"]
    a, b, c = rows
    assert list(a)[:8] == [
        "area_id",
        "name",
        "population",
        "clinic_covered_population",
        "clinic_covered_share",
        "clinic_median_min",
        "clinic_max_min",
        "clinic_status",
    ]
    assert list(a)[-2:] == ["complete", "missing"]
    # A: 10 people @ 1.0 min and 20 @ 4.3 min to the clinic; half (15) reach within 4.3.
    assert (a["name"], a["population"]) == ("west", "30.0")
    assert [a[f"clinic_{k}"] for k in ("covered_share", "median_min", "max_min", "status")] == [
        "1.0000",
        "4.3",
        "4.3",
        "covered",
    ]
    # Daycare (3 min): only the 10 people at 1.0 min are covered.
    assert a["daycare_covered_population"] == "10.0"
    assert a["daycare_covered_share"] == "0.3333"
    assert a["daycare_status"] == "partial"
    # Bathhouse at x=1000: 20 @ 6.3, 10 @ 9.0.
    assert (a["bathhouse_median_min"], a["bathhouse_max_min"]) == ("6.3", "9.0")
    assert a["complete"] == "false"
    assert a["missing"] == "childcare and elderly day care; bathhouse"
    # B: 70 people 8 min from the clinic; beyond the daycare's 6-minute horizon: empty.
    assert (b["clinic_covered_share"], b["clinic_median_min"], b["clinic_status"]) == (
        "0.0000",
        "8.0",
        "uncovered",
    )
    assert (b["daycare_median_min"], b["daycare_max_min"]) == ("", "")
    assert b["daycare_status"] == "uncovered"
    assert b["bathhouse_covered_share"] == "1.0000"
    # C: nobody lives there.
    assert (c["population"], c["clinic_covered_share"], c["clinic_median_min"]) == ("0.0", "", "")
    assert c["clinic_status"] == "empty"


def test_geojson(result, tmp_path):
    write_report(result, tmp_path, lang="zh")
    path = tmp_path / "neighbourhoods.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    assert data["attribution"] == OSM_CREDIT
    features = data["features"]
    assert [f["properties"]["area_id"] for f in features] == ["A", "B", "C"]
    b = features[1]["properties"]
    assert b["daycare_median_min"] is None
    assert b["daycare_max_min"] is None
    assert b["clinic_median_min"] == 8.0
    assert b["clinic_covered_share"] == 0.0
    assert b["missing"] == "社区卫生服务站; 托育与日间照料"
    assert features[2]["properties"]["clinic_covered_share"] is None
    assert features[0]["properties"]["complete"] is False
    ring = features[0]["geometry"]["coordinates"][0]
    assert all(round(v, 6) == v for xy in ring for v in xy)
    assert shapely.Polygon(ring).exterior.is_ccw  # RFC 7946 winding
    assert "社区卫生服务站" in path.read_text(encoding="utf-8")  # not \u-escaped
    frame = gpd.read_file(path)
    assert len(frame) == 3
    assert frame.geometry.iloc[0].equals_exact(result.areas.geometry.iloc[2], 1e-6)


def test_every_report_file_is_byte_identical_across_runs(result, tmp_path):
    deterministic = REPORT_FILES  # gaps.xlsx too: fixed workbook and zip entry times
    write_report(result, tmp_path / "one", inputs=INPUTS)
    write_report(result, tmp_path / "two", inputs=INPUTS)
    write_report(result, tmp_path / "two", inputs=INPUTS)
    for name in deterministic:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_existing_folder_is_not_wiped_and_no_temp_files_remain(result, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "summary.csv").write_text("old")
    write_report(result, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert (tmp_path / "summary.csv").read_text(encoding="utf-8").startswith("category,")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*REPORT_FILES, "notes.txt"])


def test_a_file_instead_of_a_folder_is_refused(result, tmp_path):
    target = tmp_path / "report"
    target.write_text("")
    with pytest.raises(InputError, match="is a file"):
        write_report(result, target)


def test_unknown_language_is_refused(result, tmp_path):
    with pytest.raises(ValueError, match="`lang`"):
        write_report(result, tmp_path, lang="fr")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_facilities_csv_lists_off_network_facilities(result, tmp_path):
    write_report(result, tmp_path)
    rows = read_csv(tmp_path / "facilities.csv")
    assert list(rows[0]) == [
        "id",
        "name",
        "category",
        "on_network",
        "snap_m",
        "served_population",
        "lon",
        "lat",
    ]
    assert [(r["id"], r["on_network"], r["snap_m"]) for r in rows] == [
        ("b1", "true", "0.0"),
        ("c1", "true", "0.0"),
        ("c2", "false", "1000.0"),  # how far off the network it is
        ("d1", "true", "0.0"),
    ]
    assert [r["served_population"] for r in rows] == ["70.0", "30.0", "0.0", "10.0"]
    assert all(len(r["lon"].split(".")[1]) == 6 for r in rows)


def header(sheet):
    return [c.value for c in sheet[1]]


def column(sheet, title):
    return header(sheet).index(title) + 1


def test_excel_workbook(result, tmp_path):
    write_report(result, tmp_path, inputs=INPUTS)
    book = load_workbook(tmp_path / "gaps.xlsx")
    assert book.sheetnames == ["Summary", "Neighbourhoods", "Facilities", "Method"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes.endswith("2")
        assert all(c.font.bold for c in sheet[1])
    summary = book["Summary"]
    assert summary.auto_filter.ref == "A1:L4"
    share = summary.cell(row=3, column=column(summary, "Covered share"))
    assert (share.value, share.number_format) == (0.3, "0.0%")
    people = summary.cell(row=3, column=column(summary, "Population"))
    assert (people.value, people.number_format) == (100, "#,##0")
    areas = book["Neighbourhoods"]
    assert "geometry" not in header(areas)
    share = areas.cell(row=2, column=column(areas, "childcare and elderly day care: covered share"))
    assert share.number_format == "0.0%"
    assert share.value == pytest.approx(1 / 3)
    status = column(areas, "clinic / community health station: status")
    fills = [areas.cell(row=r, column=status).fill for r in (2, 3)]
    assert [areas.cell(row=r, column=status).value for r in (2, 3, 4)] == [
        "covered",
        "uncovered",
        "no residents",
    ]
    assert [f.fill_type for f in fills] == ["solid", "solid"]
    assert [f.start_color.rgb[-6:] for f in fills] == ["C6EFCE", "FFC7CE"]  # green, red
    median = column(areas, "childcare and elderly day care: median minutes")
    beyond = areas.cell(row=3, column=median)
    assert beyond.value == "> 6"  # beyond twice the 3-minute threshold
    facilities = book["Facilities"]
    assert [c.value for c in facilities["D"][1:]] == ["yes", "yes", "no", "yes"]
    method = {row[0]: row[1] for row in book["Method"].iter_rows(min_row=2, values_only=True)}
    assert method["Walking network"] == "street.osm"
    assert method["Facilities"] == "services.csv (3 used, 1 off-network)"
    assert method["Neighbourhoods"] == "test polygons (3 neighbourhoods, 2 with residents)"
    assert method["Population"] == "population points (test)"
    assert "6 km/h (100 m per minute)" in method["Walking"]
    assert method["Thresholds"] == (
        "bathhouse: 5 min; clinic / community health station: 5 min; "
        "childcare and elderly day care: 3 min"
    )
    assert "300 m" in method["Off-network facilities"]
    assert "at least 80%" in method["Neighbourhood status"]
    assert method["Data attribution"] == attribution("en")


def test_excel_in_chinese(result, tmp_path):
    write_report(result, tmp_path, lang="zh")
    book = load_workbook(tmp_path / "gaps.xlsx")
    assert book.sheetnames == ["汇总", "社区单元", "设施", "方法说明"]
    assert header(book["汇总"])[:2] == ["类别", "服务"]
    assert "覆盖人口" in header(book["汇总"])
    assert "覆盖率" in header(book["汇总"])
    areas = book["社区单元"]
    assert header(areas)[:3] == ["社区/单元编号", "社区/单元", "人口"]
    status = column(areas, "社区卫生服务站 状态")
    assert [areas.cell(row=r, column=status).value for r in (2, 3, 4)] == [
        "覆盖",
        "未覆盖",
        "无人口",
    ]
    assert areas.cell(row=2, column=column(areas, "社区卫生服务站 覆盖率")).number_format == "0.0%"


def test_markdown_report(result, tmp_path):
    write_report(result, tmp_path, inputs=INPUTS)
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# Walking access to community services: gap report\n")
    assert "- **Walking network**: street.osm" in text
    assert (
        "| clinic / community health station | 5 min | 1 | 1 | 30.0% | 100 | 30 | 1 of 2 |" in text
    )
    clinic = text.split("## clinic / community health station: neighbourhoods")[1]
    # East: nobody within 5 minutes, all 70 people 8 minutes away.
    assert clinic.split("##")[0].count("| east (B) | 0.0% | 8.0 | 8.0 | 70 |") == 1
    assert "| west (A) |" not in clinic.split("##")[0]  # fully covered: not a gap
    daycare = text.split("## childcare and elderly day care: neighbourhoods")[1].split("##")[0]
    # Lowest share first: east (0 %, beyond the 6-minute horizon), then west (33.3 %).
    assert daycare.index("| east (B) | 0.0% | > 6 | > 6 | 70 |") < daycare.index(
        "| west (A) | 33.3% | 4.3 | 4.3 | 20 |"
    )
    assert "| c2 | c2 | clinic / community health station |" in text
    assert text.rstrip().endswith(attribution("en"))


def test_markdown_in_chinese_and_proxy_population(result, tmp_path):
    proxy = dataclasses.replace(result.people, source="OSM buildings", proxy=True)
    write_report(dataclasses.replace(result, people=proxy), tmp_path, lang="zh")
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# 社区服务步行可达性缺口报告\n")
    assert "基于 OpenStreetMap 的估算" in text
    assert "未覆盖人口" in text
    assert "| east (B) | 0.0% | 8.0 | 8.0 | 70 |" in text
    assert attribution("zh") in text


def test_no_gaps_and_no_off_network(result, tmp_path):
    model = result.model
    everyone = dataclasses.replace(
        result,
        minutes={c: np.zeros(3) for c in result.minutes},
        model=dataclasses.replace(
            model, facilities=model.facilities.assign(on_network=True, snap_m=0.0)
        ),
    )
    write_report(everyone, tmp_path)
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert text.count("Every neighbourhood with residents is fully covered.") == 3
    assert "None: every facility joins the walking network." in text


def test_demand_group_population(result, tmp_path):
    # Daycare serves only small children: 2 at x=100 (covered), 5 at x=800 (beyond reach).
    groups = {"daycare": np.array([2.0, 0.0, 5.0])}
    people = dataclasses.replace(result.people, by_category=groups)
    write_report(dataclasses.replace(result, people=people), tmp_path)
    summary = {r["category"]: r for r in read_csv(tmp_path / "summary.csv")}
    assert (summary["daycare"]["population"], summary["daycare"]["covered_share"]) == (
        "7",
        "0.2857",
    )
    a, b, _ = read_csv(tmp_path / "neighbourhoods.csv")
    assert (a["daycare_population"], a["daycare_covered_share"]) == ("2.0", "1.0000")
    assert (b["daycare_population"], b["daycare_covered_share"]) == ("5.0", "0.0000")
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    daycare = text.split("## childcare and elderly day care: neighbourhoods")[1].split("##")[0]
    assert "| east (B) | 0.0% | > 6 | > 6 | 5 |" in daycare
    assert "| west (A) |" not in daycare
    assert "childcare and elderly day care: count only the people they serve" in text


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(10**9), 10**9),
            st.floats(-1e9, 1e9, allow_nan=False),
            st.sampled_from([-0.0, 0.0, 0.05, 0.95, 9.95, 99.95, -9.95, 999.5, 0.0005]),
            st.text(max_size=6),
            st.sampled_from(["> 6", "覆盖", "no residents"]),
        ),
        max_size=30,
    ),
    number_format=st.sampled_from(
        ["General", "0.0%", "#,##0", "#,##0.0", "0.0", "0.00", "0.000000", *SIGNED_FORMATS]
    ),
)
@example(values=[0.5, -0.0, 12.25, -3.5, -3.5], number_format="0.0")  # one kind per column,
@example(values=[3, -40, 7], number_format="#,##0")  # as the report's columns are
@example(values=["a", "覆盖", "a"], number_format="General")
@example(values=[None, 2.5, -0.0, None], number_format="0.0%")
def test_column_width_is_the_widest_cell(values, number_format):
    # Brute force: every cell formatted and measured.
    brute = max((_display_width(v, number_format) for v in values), default=0)
    assert column_width(values, number_format) == brute


def test_workbook_cells_take_numpy_numbers_and_blank_what_is_not_finite(tmp_path):
    from circle.report.xlsx import Book, Column, fill_sheet, workbook_bytes

    book = Book()
    values = [np.int64(7), np.float64(0.25), np.bool_(True), float("nan"), float("inf"), None]
    fill_sheet(book, "S", [Column("x", values, "0.00")])
    path = tmp_path / "x.xlsx"
    path.write_bytes(workbook_bytes(book))
    sheet = load_workbook(path)["S"]
    assert [sheet.cell(row=r, column=1).value for r in range(2, 8)] == [
        7,
        0.25,
        True,
        None,
        None,
        None,
    ]
    assert sheet.cell(row=5, column=1).number_format == "0.00"  # a blank keeps the format
    with pytest.raises(TypeError, match="cannot write"):
        fill_sheet(Book(), "S", [Column("x", [object()])])


def test_sheet_cells_are_those_written_one_by_one():
    """fill_sheet's one pass per column writes what write_value writes cell by cell."""
    from circle.i18n import LANGS, status_word
    from circle.report.xlsx import (
        STATUS_FILLS,
        Book,
        Column,
        fill_sheet,
        workbook_bytes,
        write_value,
    )

    statuses = [status_word(s, lang) for lang in LANGS for s in STATUS_FILLS]
    mixed = [1.5, -0.0, float("nan"), float("inf"), None, 7, 2**60, True, np.float64(2.5)]
    mixed += [np.int64(-3), np.bool_(False), np.str_("=np"), "> 6", "a\x01b\x1fc", "覆盖"]
    columns = [
        Column("numbers", [0.25, float("nan"), 3.0, None, -1.0], "0.0%"),
        Column("general", [0.25, float("nan"), 3, None, -1.0]),
        Column("text", ["=SUM(A1)", "ok", "", "tab\tok", "x"], align_right=True),
        Column("dirty", ["ctrl\x00\x08\x0b\x0c\x0e\x1f", "fine"], "0.0"),
        Column("status", [*statuses, "other", None, 0.5], "0.0", status=True),
        Column("mixed", mixed, "#,##0", status=True),
    ]
    book = Book()
    fill_sheet(book, "S", columns, freeze="B2")

    reference = Book()  # the same sheet, every cell through write_value
    sheet = reference.add_sheet("S")
    header = reference.style(bold=True, wrap=True)
    status_of = {status_word(s, lang): s for lang in LANGS for s in STATUS_FILLS}
    for j, column in enumerate(columns):
        write_value(sheet, 0, j, column.header, header)
        number = reference.style(number_format=column.number_format)
        text = reference.style(number_format=column.number_format, align_right=column.align_right)
        fills = {
            w: reference.style(number_format=column.number_format, fill=STATUS_FILLS[s])
            for w, s in status_of.items()
        }
        for i, value in enumerate(column.values, start=1):
            if not isinstance(value, str):
                write_value(sheet, i, j, value, number)
            else:
                write_value(sheet, i, j, value, fills.get(value, text) if column.status else text)
        widest = max(column_width(column.values, column.number_format), len(column.header))
        sheet.set_column(j, j, min(max(widest + 2, 8), 40))
    sheet.freeze_panes("B2")
    sheet.autofilter(0, 0, max(len(c.values) for c in columns), len(columns) - 1)
    assert workbook_bytes(book) == workbook_bytes(reference)


def test_status_fills_are_those_of_the_sheet_language(tmp_path):
    from circle.i18n import status_word
    from circle.report.xlsx import STATUS_FILLS, Book, Column, fill_sheet, workbook_bytes

    zh = [status_word(s, "zh") for s in STATUS_FILLS]
    en = [status_word(s, "en") for s in STATUS_FILLS]
    colours = {}
    for lang in ("zh", None):
        book = Book()
        fill_sheet(book, "S", [Column("s", [*zh, *en], status=True)], lang=lang)
        path = tmp_path / f"{lang}.xlsx"
        path.write_bytes(workbook_bytes(book))
        sheet = load_workbook(path)["S"]
        colours[lang] = [sheet.cell(row=r, column=1).fill.fgColor.rgb for r in range(2, 10)]
    fills = [f"FF{STATUS_FILLS[s]}" for s in STATUS_FILLS]
    assert colours[None] == fills + fills  # either language's words
    assert colours["zh"][:4] == fills
    assert colours["zh"][4:] == ["00000000"] * 4  # English words in a Chinese sheet: plain
