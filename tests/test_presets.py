"""Life-circle presets: values, precedence of --minutes, distance thresholds."""

from __future__ import annotations

import pytest

from circle.errors import InputError
from circle.presets import PRESETS, get_preset
from circle.walking import ELDERLY, Threshold, parse_thresholds, walking_profile

CATEGORIES = ["canteen", "clinic", "daycare", "gig_station"]


def test_every_preset_covers_every_builtin_category_with_a_source():
    for preset in PRESETS.values():
        assert set(preset.values) == set(CATEGORIES)
        for value in preset.values.values():
            assert value.source
            assert value.level


def test_gb50180_distances_do_not_depend_on_speed():
    thresholds = get_preset("GB 50180-2018").thresholds()
    assert thresholds["canteen"] == Threshold(metres=300.0)
    assert thresholds["clinic"].budget_m(ELDERLY) == 1000.0
    assert thresholds["clinic"].budget_m(walking_profile("adult")) == 1000.0
    # 300 m at 0.9 m/s is 5.56 minutes.
    assert thresholds["daycare"].minutes_at(ELDERLY) == pytest.approx(300 / 54)


def test_minutes_win_over_the_preset_for_the_categories_they_name():
    base = get_preset("tdt1062").thresholds()
    merged = parse_thresholds("clinic=12", categories=CATEGORIES, base=base)
    assert merged["clinic"] == Threshold(minutes=12.0)
    assert merged["canteen"] == Threshold(minutes=10.0)
    assert merged["gig_station"] == Threshold(minutes=15.0)


def test_unknown_preset():
    with pytest.raises(InputError, match="unknown preset `gb2000`; use one of gb50180, tdt1062"):
        get_preset("gb2000")


def test_distance_thresholds_warn_when_the_speed_changes(caplog):
    from circle.access import CompactGraph
    from circle.coverage import compute_access
    from tests.conftest import facilities_at, make_network

    graph = CompactGraph(make_network({0: (0.0, 0.0), 1: (500.0, 0.0)}, [(0, 1)]))
    thresholds = get_preset("gb50180").thresholds()
    compute_access(graph, facilities_at(("a", "clinic", 0.0, 0.0)), thresholds=thresholds)
    assert "walking distances" not in caplog.text
    compute_access(
        graph, facilities_at(("a", "clinic", 0.0, 0.0)), thresholds=thresholds, profile=ELDERLY
    )
    assert "are walking distances: the elderly profile" in caplog.text
