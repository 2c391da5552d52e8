"""All words circle writes live in ``circle/_locales``: both languages have the same keys, the
placeholders agree, and no module keeps a word table of its own."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pandas as pd
import pytest
import tomllib

from circle.errors import InputError
from circle.i18n import (
    LANGS,
    attribution,
    category_label,
    check_lang,
    status_word,
    with_labels,
    word,
    words,
)

PACKAGE = Path(__file__).resolve().parents[1] / "circle"
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")

#: Modules whose Chinese text is data, not words circle writes: the spellings accepted in
#: input files (categories), OSM name patterns (osm_tags), the standards' own titles (presets),
#: and the one parser's example in its doctest.
DATA_MODULES = {"categories.py", "osm_tags.py", "presets.py", "_options.py"}


def _locale(lang: str) -> dict[str, dict[str, str]]:
    return tomllib.loads((PACKAGE / "_locales" / f"{lang}.toml").read_text(encoding="utf-8"))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_sections_and_keys():
    en, zh = _locale("en"), _locale("zh")
    assert set(en) == set(zh)
    for section in en:
        assert set(en[section]) == set(zh[section]), section


def test_placeholders_agree_between_languages():
    en, zh = _locale("en"), _locale("zh")
    for section, entries in en.items():
        for key, text in entries.items():
            assert _fields(text) == _fields(zh[section][key]), f"{section}.{key}"


def test_chinese_words_are_chinese():
    """A zh entry left in English is a missed translation (names and units excepted)."""
    allowed_same = {"of", "separator", "colon", "paren", "list_separator"}
    zh = _locale("zh")
    en = _locale("en")
    untranslated = [
        f"{s}.{k}"
        for s, entries in zh.items()
        for k, text in entries.items()
        if k not in allowed_same
        and text == en[s][k]
        and re.search(r"[A-Za-z]{4,}", text)
        and s not in {"category"}
    ]
    assert untranslated == []


def _string_constants(tree: ast.AST) -> list[str]:
    """String literals that are not docstrings."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_module_keeps_its_own_words():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if path.name not in DATA_MODULES and any(CJK.search(s) for s in _string_constants(tree)):
            offenders.append(f"{path.name}: Chinese text outside circle/_locales")
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if {"en", "zh"} <= keys:
                    offenders.append(f"{path.name}:{node.lineno}: a table keyed by language")
    assert offenders == []


def test_the_osm_credit_is_written_once():
    holders = [
        p.name
        for p in PACKAGE.rglob("*.py")
        if "OpenStreetMap contributors"
        in "".join(_string_constants(ast.parse(p.read_text(encoding="utf-8"))))
    ]
    assert holders == ["i18n.py"]


def test_word_fills_placeholders_and_names_missing_keys():
    assert word("map.within", "zh", minutes=10) == "10 分钟内"
    with pytest.raises(KeyError):
        word("map.no_such_word", "en")


def test_labels_statuses_and_attribution():
    assert category_label("诊所", "en") == "clinic / community health station"
    assert category_label("park", "zh") == "park"
    assert status_word("empty", "zh") == "无人口"
    assert "OpenStreetMap" in attribution("zh")
    for lang in LANGS:
        assert set(words("status", lang)) == {"covered", "partial", "uncovered", "empty"}


def test_with_labels_inserts_after_the_category():
    table = pd.DataFrame({"category": ["clinic", "park"], "n": [1, 2]})
    labelled = with_labels(table, "zh")
    assert list(labelled.columns) == ["category", "label", "n"]
    assert list(labelled["label"]) == ["社区卫生服务站", "park"]
    assert "label" not in table.columns  # the input is not modified


def test_unknown_language():
    with pytest.raises(InputError, match="`lang` must be en or zh"):
        check_lang("fr")
