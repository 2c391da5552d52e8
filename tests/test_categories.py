"""Tests for circle.categories: ids, aliases (Chinese and English) and labels."""

from __future__ import annotations

import pytest

from circle.categories import BUILTIN_ORDER, CATEGORIES, Category, normalize_category
from circle.errors import InputError
from circle.i18n import category_label


def test_builtin_order_matches_categories():
    assert BUILTIN_ORDER == ("canteen", "clinic", "daycare", "gig_station")
    assert tuple(CATEGORIES) == BUILTIN_ORDER
    for category_id, category in CATEGORIES.items():
        assert category.id == category_id


def test_category_is_frozen():
    category = CATEGORIES["clinic"]
    with pytest.raises(AttributeError):
        category.id = "x"  # type: ignore[misc]
    assert isinstance(category, Category)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("长者食堂", "canteen"),
        ("老年食堂", "canteen"),
        ("社区食堂", "canteen"),
        ("社区卫生服务中心", "clinic"),
        ("社区卫生服务站", "clinic"),
        ("卫生院", "clinic"),
        ("诊所", "clinic"),
        ("托育机构", "daycare"),
        ("托儿所", "daycare"),
        ("日间照料中心", "daycare"),
        ("零工驿站", "gig_station"),
        ("零工市场", "gig_station"),
        ("\u3000诊所 ", "clinic"),  # full-width space from Chinese input methods
    ],
)
def test_chinese_aliases(value, expected):
    assert normalize_category(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("canteen", "canteen"),
        ("CLINIC", "clinic"),
        (" Daycare ", "daycare"),
        ("gig_station", "gig_station"),
        ("Gig-Station", "gig_station"),
        ("gig station", "gig_station"),
        ("elderly canteen", "canteen"),
        ("Health Station", "clinic"),
        ("childcare", "daycare"),
        ("day care", "daycare"),
        ("Day-Care", "daycare"),
        ("job station", "gig_station"),
        ("clinic / community health station", "clinic"),
    ],
)
def test_english_ids_and_aliases(value, expected):
    assert normalize_category(value) == expected


def test_custom_category_is_kept_stripped_as_is():
    assert normalize_category("  Public Library ") == "Public Library"
    assert normalize_category("图书馆") == "图书馆"


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_empty_category_is_an_input_error(value):
    with pytest.raises(InputError, match="empty") as info:
        normalize_category(value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_labels_in_both_languages():
    assert category_label("canteen") == "elderly / community canteen"
    assert category_label("canteen", "zh") == "长者食堂"
    assert category_label("clinic", "zh") == "社区卫生服务站"
    assert category_label("daycare", "en") == "childcare and elderly day care"
    assert category_label("daycare", "zh") == "托育与日间照料"
    assert category_label("gig_station") == "gig-worker job station"
    assert category_label("gig_station", "zh") == "零工驿站"


def test_label_of_alias_and_custom_category():
    assert category_label("诊所") == "clinic / community health station"
    assert category_label("library") == "library"
    assert category_label("library", "zh") == "library"


def test_label_rejects_unknown_language():
    with pytest.raises(InputError, match="`lang` must be en or zh"):
        category_label("clinic", "fr")  # type: ignore[arg-type]


def test_every_alias_and_label_maps_back_to_its_id():
    for category in CATEGORIES.values():
        labels = (category_label(category.id, "en"), category_label(category.id, "zh"))
        for name in (category.id, *labels, *category.aliases):
            assert normalize_category(name) == category.id
