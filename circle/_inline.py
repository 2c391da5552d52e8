"""Inline the JavaScript and CSS that Folium links, from copies shipped in the package."""

from __future__ import annotations

import functools
import html as html_lib
import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Literal

from circle.errors import CircleError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from importlib.resources.abc import Traversable

__all__ = [
    "UnvendoredAssetError",
    "external_asset_urls",
    "inline_assets",
]

_ASSETS_PACKAGE = "circle"
_ASSETS_FOLDER = "_assets"
_MANIFEST_NAME = "manifest.json"

# One pass over the tags that matter, left to right. Inline <script> and <style> bodies and
# comments are matched whole, so text inside them (jQuery's "<script" strings, an inlined copy
# of a stylesheet) is never taken for a tag.
_TAG_RE = re.compile(
    r"<!--.*?-->"
    r"|<script\b(?P<script_attrs>[^>]*)>(?P<script_body>.*?)</script\s*>"
    r"|<style\b[^>]*>.*?</style\s*>"
    r"|<link\b(?P<link_attrs>[^>]*)>",
    re.IGNORECASE | re.DOTALL,
)
_ATTR_RE = re.compile(r"""([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_SCRIPT_END_RE = re.compile(r"</(script)", re.IGNORECASE)
_STYLE_END_RE = re.compile(r"</(style)", re.IGNORECASE)
_ESCAPED_END = r"<\\/\1"
_EXTERNAL_PREFIXES = ("http://", "https://", "//")


class UnvendoredAssetError(RuntimeError, CircleError):
    """A map links a script or stylesheet on the internet that circle does not ship a copy of."""


@dataclass(frozen=True)
class _Asset:
    """One vendored file: where Folium links it from and where circle keeps it."""

    url: str
    path: str
    kind: Literal["js", "css"]


@dataclass(frozen=True)
class _Link:
    """A ``<script src>`` or stylesheet ``<link>`` found in a page."""

    url: str
    kind: Literal["js", "css"]
    start: int
    end: int


def _asset_file(path: str) -> Traversable:
    """Return the shipped file at `path`, relative to ``circle/_assets``."""
    location = resources.files(_ASSETS_PACKAGE) / _ASSETS_FOLDER
    for part in path.split("/"):
        location = location / part
    return location


@functools.cache
def _manifest() -> dict[str, _Asset]:
    """Read ``_assets/manifest.json``: Folium URL -> vendored file."""
    text = _asset_file(_MANIFEST_NAME).read_text(encoding="utf-8")
    assets = json.loads(text)["assets"]
    return {
        url: _Asset(url=url, path=entry["path"], kind=entry["kind"])
        for url, entry in assets.items()
    }


@functools.cache
def _inline_tag(url: str) -> str:
    """Return the ``<script>`` or ``<style>`` element holding the vendored copy of `url`."""
    asset = _manifest()[url]
    text = _asset_file(asset.path).read_text(encoding="utf-8")
    if asset.kind == "js":
        # "<\/script" means the same as "</script" in JS strings, regexes and comments, and
        # keeps the HTML parser from ending the element early.
        return f"<script>{_SCRIPT_END_RE.sub(_ESCAPED_END, text)}</script>"
    return f"<style>{_STYLE_END_RE.sub(_ESCAPED_END, text)}</style>"


def _attributes(text: str) -> dict[str, str]:
    attributes = {}
    for match in _ATTR_RE.finditer(text):
        name, *values = match.groups()
        value = next((v for v in values if v is not None), "")
        attributes[name.lower()] = html_lib.unescape(value)
    return attributes


def _links(html: str) -> list[_Link]:
    """Find every ``<script src>`` and ``<link rel="stylesheet">`` outside scripts and styles."""
    links = []
    for match in _TAG_RE.finditer(html):
        if match.group("script_attrs") is not None:
            src = _attributes(match.group("script_attrs")).get("src")
            if src and not match.group("script_body").strip():
                links.append(_Link(src, "js", match.start(), match.end()))
        elif match.group("link_attrs") is not None:
            attributes = _attributes(match.group("link_attrs"))
            rel = attributes.get("rel", "").lower().split()
            href = attributes.get("href")
            if "stylesheet" in rel and href:
                links.append(_Link(href, "css", match.start(), match.end()))
    return links


def external_asset_urls(html: str) -> list[str]:
    """List the scripts and stylesheets that a page still loads from the internet.

    Parameters
    ----------
    html
        A whole HTML page, such as ``folium.Map(...).get_root().render()``.

    Returns
    -------
    list of str
        URLs starting ``http://``, ``https://`` or ``//`` of ``<script src>`` and
        ``<link rel="stylesheet" href>`` elements, in page order, each once. Tile URLs and
        links (``<a href>``) are not assets and are not listed.
    """
    return _external_urls(_links(html))


def _external_urls(links: Iterable[_Link]) -> list[str]:
    """The URLs of `links` that point to the internet, in order, each once."""
    urls = [link.url for link in links if link.url.startswith(_EXTERNAL_PREFIXES)]
    return list(dict.fromkeys(urls))


def inline_assets(html: str) -> str:
    """Replace the scripts and stylesheets that Folium links with the copies circle ships.

    Each ``<script src="URL"></script>`` and ``<link rel="stylesheet" href="URL"/>`` whose URL
    is in ``circle/_assets/manifest.json`` becomes a ``<script>`` or ``<style>`` element holding
    the file, so the page works offline and where foreign CDNs are blocked. Fonts and images
    are already ``data:`` URIs inside the shipped CSS. Running it on its own output changes
    nothing.

    Parameters
    ----------
    html
        A whole HTML page, such as ``folium.Map(...).get_root().render()``.

    Returns
    -------
    str
        The page with every vendored asset inlined (about 1.2 MB more for Folium's defaults).

    Raises
    ------
    UnvendoredAssetError
        If the page still loads a script or stylesheet from the internet that circle does not
        ship, for example one a Folium plugin adds or a new Folium version links. The message
        lists the URLs; add them to ``tools/vendor_assets.py`` and re-run it.
    """
    manifest = _manifest()
    parts = []
    position = 0
    kept: list[_Link] = []
    for link in _links(html):
        if link.url in manifest and manifest[link.url].kind == link.kind:
            parts.extend([html[position : link.start], _inline_tag(link.url)])
            position = link.end
        else:
            kept.append(link)
    parts.append(html[position:])
    inlined = "".join(parts)

    # The links of the inlined page are the ones left: an inlined file is the body of a
    # <script> or <style> element, matched whole (its end tags escaped), so scanning the
    # page again (1.2 MB longer) would find the same.
    missing = _external_urls(kept)
    if missing:
        listed = "\n  ".join(missing)
        msg = (
            f"The map loads {len(missing)} script(s) or stylesheet(s) from the internet that "
            f"circle does not ship, so it would not work offline:\n  {listed}\n"
            "Add them to `tools/vendor_assets.py` and re-run it, or drop the Folium feature "
            "that links them."
        )
        raise UnvendoredAssetError(msg)
    return inlined
