"""Vendor the JavaScript and CSS that Folium links into ``circle/_assets/``.

Run from the repository root with the project's Python (npm must be on the path)::

    python tools/vendor_assets.py

For each URL that the installed Folium links by default (``folium.Map.default_js`` and
``default_css``), the script fetches the file at the exact version Folium pins from an npm
package tarball (``npm pack``), or from Folium's own sdist on PyPI for the one file Folium
serves from its GitHub repository. It writes the file with its package's licence under
``circle/_assets/<package>/`` and records URL -> file, package, version, licence and sha256 in
``circle/_assets/manifest.json``, which ``circle._inline`` reads at run time.

Files are changed only so that a map works with no network at all:

* every ``url(...)`` in CSS that points at an image becomes a ``data:`` URI;
* ``@font-face`` rules keep only their WOFF2 source, as a ``data:`` URI (every browser that
  runs Leaflet 1.9 reads WOFF2); EOT, TTF, WOFF and SVG fallbacks are dropped;
* Font Awesome's alias faces ("Font Awesome 5 *", "FontAwesome") are dropped because each
  would embed the same ~150 kB font again; the Font Awesome 6 classes that Folium's
  ``Icon(prefix="fa")`` emits use only the "Font Awesome 6" faces;
* ``leaflet.js`` gets a few appended lines that point ``L.Icon.Default`` at ``data:`` URIs
  of its marker images (Leaflet otherwise guesses the image folder from the URL of
  ``leaflet.css``, which an inlined stylesheet does not have);
* ``sourceMappingURL`` comments are removed (the maps are not shipped).

Running the script twice gives byte-identical output. It fails, listing the URLs, when the
installed Folium links a file that ``SOURCES`` below does not describe.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import json
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import folium

__all__ = ["PACKAGES", "SOURCES", "main"]

ASSETS_DIR = Path(__file__).resolve().parent.parent / "circle" / "_assets"

IMAGE_MIME_TYPES = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml"}


@dataclass(frozen=True)
class Package:
    """One upstream package that vendored files come from.

    Attributes
    ----------
    folder
        Folder under ``circle/_assets/``.
    spec
        ``npm:NAME@VERSION`` or ``pypi:NAME==VERSION`` (an sdist).
    version
        Version of the files (the one Folium links).
    licence
        SPDX licence expression.
    licence_path
        Path of the licence file inside the package archive.
    licence_spec
        Another archive to take the licence file from, when ``spec`` lacks one.
    note
        Why this source was chosen, when it is not the obvious one.
    """

    folder: str
    spec: str
    version: str
    licence: str
    licence_path: str
    licence_spec: str | None = None
    note: str = ""


def _unchanged(text: str, _path: str, _files: dict[str, bytes]) -> str:
    return text


@dataclass(frozen=True)
class Source:
    """How to build the local copy of one URL that Folium links.

    Attributes
    ----------
    package
        Key into ``PACKAGES``.
    path
        Path of the original file inside the package archive.
    target
        File name under the package's folder.
    transform
        Turns the original text into the stored text; gets the archive's files.
    changes
        One line saying what ``transform`` changed, for the manifest.
    """

    package: str
    path: str
    target: str
    transform: Callable[[str, str, dict[str, bytes]], str] = field(default=_unchanged)
    changes: str = ""


def _strip_source_map(text: str, _path: str, _files: dict[str, bytes]) -> str:
    return re.sub(r"\n?(?://|/\*)# sourceMappingURL=\S+(?: \*/)?", "", text)


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _resolve(css_path: str, ref: str) -> str:
    ref = ref.split("?", 1)[0].split("#", 1)[0]
    return posixpath.normpath(posixpath.join(posixpath.dirname(css_path), ref))


def _url_target(raw: str) -> str:
    return raw.strip().strip("'\"")


_FONT_FACE_RE = re.compile(r"@font-face\s*\{[^}]*\}")
_FAMILY_RE = re.compile(r"font-family\s*:\s*['\"]?([^;'\"}]+)")
_SRC_RE = re.compile(r"\s*\bsrc\s*:([^;}]*)(;?)")
_URL_RE = re.compile(r"url\(([^)]*)\)")


def _woff2_only(css: str, css_path: str, files: dict[str, bytes], families: set[str] | None) -> str:
    """Keep each ``@font-face`` with its WOFF2 source inlined; drop faces not in `families`."""

    def face(match: re.Match[str]) -> str:
        rule = match.group(0)
        family_match = _FAMILY_RE.search(rule)
        family = family_match.group(1).strip() if family_match else ""
        if families is not None and family not in families:
            return ""

        def src(decl: re.Match[str]) -> str:
            for entry in decl.group(1).split(","):
                url_match = _URL_RE.search(entry)
                if url_match is None:
                    continue
                ref = _url_target(url_match.group(1))
                if ref.split("?", 1)[0].endswith(".woff2"):
                    data = files[_resolve(css_path, ref)]
                    uri = _data_uri(data, "font/woff2")
                    return f'src:url({uri}) format("woff2"){decl.group(2)}'
            return ""  # an EOT-only (IE) declaration

        rule = _SRC_RE.sub(src, rule)
        if "src:" not in rule:
            msg = f"no WOFF2 source in {css_path}: {match.group(0)[:200]}"
            raise RuntimeError(msg)
        return rule

    return _FONT_FACE_RE.sub(face, css)


def _inline_images(css: str, css_path: str, files: dict[str, bytes]) -> str:
    """Replace ``url(...)`` of images with ``data:`` URIs; fail on anything else left."""

    def image(match: re.Match[str]) -> str:
        ref = _url_target(match.group(1))
        if ref.startswith(("data:", "#")):
            return match.group(0)
        resolved = _resolve(css_path, ref)
        mime = IMAGE_MIME_TYPES.get(posixpath.splitext(resolved)[1])
        if mime is None or resolved not in files:
            msg = f"cannot inline url({ref}) of {css_path}"
            raise RuntimeError(msg)
        return f'url("{_data_uri(files[resolved], mime)}")'

    return _URL_RE.sub(image, css)


def _css(families: set[str] | None = None) -> Callable[[str, str, dict[str, bytes]], str]:
    def transform(text: str, path: str, files: dict[str, bytes]) -> str:
        text = _strip_source_map(text, path, files)
        text = _woff2_only(text, path, files, families)
        return _inline_images(text, path, files)

    return transform


def _glyphicons(text: str, path: str, files: dict[str, bytes]) -> str:
    """Keep Bootstrap 3's Glyphicons ``@font-face`` and ``.glyphicon*`` rules only."""
    kept = []
    depth = 0
    start = 0
    for position, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                rule = text[start : position + 1].strip()
                start = position + 1
                prelude = rule.split("{", 1)[0]
                selectors = [s.strip() for s in prelude.split(",")]
                is_font = prelude.strip() == "@font-face" and "Glyphicons Halflings" in rule
                if is_font or all(s.startswith(".glyphicon") for s in selectors):
                    kept.append(re.sub(r"^/\*.*?\*/\s*", "", rule, flags=re.DOTALL))
    header = (
        "/*!\n * Glyphicons Halflings rules of Bootstrap v3.4.1 (https://getbootstrap.com/)\n"
        " * Copyright 2011-2019 Twitter, Inc.\n"
        " * Licensed under the MIT license\n */\n"
    )
    return _css()(header + "\n".join(kept) + "\n", path, files)


def _minify_rotate(text: str, _path: str, _files: dict[str, bytes]) -> str:
    return re.sub(r"\s*\n\s*", "", text.strip()) + "\n"


_LEAFLET_ICON_PATCH = """
/* circle: Leaflet finds its default marker images next to leaflet.css; an inlined copy has no
   URL, so point L.Icon.Default at data: URIs of the same images (Leaflet {version}). */
L.Icon.Default.imagePath = "";
L.Icon.Default.mergeOptions({{
  iconUrl: "{icon}",
  iconRetinaUrl: "{icon_2x}",
  shadowUrl: "{shadow}"
}});
"""


def _leaflet_js(text: str, path: str, files: dict[str, bytes]) -> str:
    text = _strip_source_map(text, path, files).rstrip("\n") + "\n"
    images = posixpath.join(posixpath.dirname(path), "images")
    return text + _LEAFLET_ICON_PATCH.format(
        version=PACKAGES["leaflet"].version,
        icon=_data_uri(files[f"{images}/marker-icon.png"], "image/png"),
        icon_2x=_data_uri(files[f"{images}/marker-icon-2x.png"], "image/png"),
        shadow=_data_uri(files[f"{images}/marker-shadow.png"], "image/png"),
    )


PACKAGES: dict[str, Package] = {
    "leaflet": Package("leaflet", "npm:leaflet@1.9.3", "1.9.3", "BSD-2-Clause", "LICENSE"),
    "jquery": Package("jquery", "npm:jquery@3.7.1", "3.7.1", "MIT", "LICENSE.txt"),
    "bootstrap": Package("bootstrap", "npm:bootstrap@5.2.2", "5.2.2", "MIT", "LICENSE"),
    "bootstrap3-glyphicons": Package(
        "bootstrap3-glyphicons",
        "npm:bootstrap@3.4.1",
        "3.4.1",
        "MIT",
        "LICENSE",
        note=(
            "Folium links bootstrap-glyphicons.css 3.0.0 from a Bootstrap CDN; that file is not "
            "on npm. Its rules are the Glyphicons rules of Bootstrap 3, taken from bootstrap@3.4.1 "
            "(same class names, a superset of the icons, and a WOFF2 font)."
        ),
    ),
    "fontawesome-free": Package(
        "fontawesome-free",
        "npm:@fortawesome/fontawesome-free@6.2.0",
        "6.2.0",
        "CC-BY-4.0 AND OFL-1.1 AND MIT",
        "LICENSE.txt",
    ),
    "leaflet-awesome-markers": Package(
        "leaflet-awesome-markers",
        "npm:drmonty-leaflet-awesome-markers@2.0.2",
        "2.0.2",
        "MIT",
        "LICENSE",
        licence_spec="npm:leaflet.awesome-markers@2.0.4",
        note=(
            "Leaflet.awesome-markers 2.0.2 (L. Voogdt) is on npm only as the repackaging "
            "drmonty-leaflet-awesome-markers@2.0.2, which declares MIT but ships no licence "
            "file; the licence text is the author's, from leaflet.awesome-markers@2.0.4 "
            "(whose JavaScript is identical)."
        ),
    ),
    "folium": Package(
        "folium",
        "pypi:folium=={folium}",
        "{folium}",
        "MIT",
        "LICENSE.txt",
        note=(
            "Folium serves leaflet.awesome.rotate.min.css from its GitHub repository; the "
            "unminified file is in Folium's sdist, and is stored with whitespace removed."
        ),
    ),
}

_FA6_FAMILIES = {"Font Awesome 6 Free", "Font Awesome 6 Brands"}
_CSS_CHANGES = "url() images and WOFF2 fonts inlined as data: URIs; source map comment removed"

SOURCES: dict[str, Source] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": Source(
        "leaflet",
        "package/dist/leaflet.js",
        "leaflet.js",
        _leaflet_js,
        "L.Icon.Default images set to data: URIs (appended); source map comment removed",
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": Source(
        "jquery",
        "package/dist/jquery.min.js",
        "jquery-3.7.1.min.js",
        _strip_source_map,
        "source map comment removed",
    ),
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": Source(
        "bootstrap",
        "package/dist/js/bootstrap.bundle.min.js",
        "bootstrap.bundle.min.js",
        _strip_source_map,
        "source map comment removed",
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": Source(  # noqa: E501
        "leaflet-awesome-markers",
        "package/js/leaflet.awesome-markers.js",
        "leaflet.awesome-markers.js",
    ),
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": Source(
        "leaflet", "package/dist/leaflet.css", "leaflet.css", _css(), _CSS_CHANGES
    ),
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": Source(
        "bootstrap", "package/dist/css/bootstrap.min.css", "bootstrap.min.css", _css(), _CSS_CHANGES
    ),
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": Source(
        "bootstrap3-glyphicons",
        "package/dist/css/bootstrap.css",
        "bootstrap-glyphicons.css",
        _glyphicons,
        "Glyphicons rules extracted from bootstrap.css; WOFF2 font inlined as a data: URI",
    ),
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": Source(
        "fontawesome-free",
        "package/css/all.min.css",
        "all.min.css",
        _css(_FA6_FAMILIES),
        "WOFF2 fonts inlined as data: URIs; TTF fallbacks and the Font Awesome 5 / "
        "FontAwesome (v4) alias @font-face rules dropped",
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": Source(  # noqa: E501
        "leaflet-awesome-markers",
        "package/css/leaflet.awesome-markers.css",
        "leaflet.awesome-markers.css",
        _css(),
        "marker images inlined as data: URIs",
    ),
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css": Source(  # noqa: E501
        "folium",
        "{sdist}/folium/templates/leaflet.awesome.rotate.css",
        "leaflet.awesome.rotate.min.css",
        _minify_rotate,
        "whitespace removed (Folium's sdist has the unminified file)",
    ),
}


def _read_tar(data: bytes) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in archive.getmembers():
            handle = archive.extractfile(member) if member.isfile() else None
            if handle is not None:
                files[member.name] = handle.read()
    return files


def _fetch(spec: str, workdir: Path) -> tuple[dict[str, bytes], str]:
    """Return the files of the archive named by `spec`, and its integrity string."""
    kind, _, name = spec.partition(":")
    if kind == "npm":
        result = subprocess.run(
            ["npm", "pack", name, "--json", "--pack-destination", str(workdir)],
            check=True,
            capture_output=True,
            text=True,
            cwd=workdir,
        )
        info = json.loads(result.stdout)[0]
        archive = workdir / info["filename"]
        data = archive.read_bytes()
        archive.unlink()
        return _read_tar(data), info["integrity"]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            name,
            "--no-binary",
            ":all:",
            "--no-deps",
            "--quiet",
            "--dest",
            str(workdir),
        ],
        check=True,
        capture_output=True,
    )
    archive = next(workdir.glob("*.tar.gz"))
    data = archive.read_bytes()
    archive.unlink()
    return _read_tar(data), "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def _folium_urls() -> list[str]:
    return [url for _, url in [*folium.Map.default_js, *folium.Map.default_css]]


def main() -> int:
    """Fetch, transform and write every asset and the manifest; return an exit code."""
    folium_version = importlib.metadata.version("folium")
    missing = [url for url in _folium_urls() if url not in SOURCES]
    if missing:
        print("Folium links files that SOURCES does not describe:", *missing, sep="\n  ")
        return 1

    if ASSETS_DIR.exists():
        shutil.rmtree(ASSETS_DIR)
    ASSETS_DIR.mkdir(parents=True)
    manifest: dict[str, object] = {
        "comment": "Written by tools/vendor_assets.py; do not edit by hand.",
        "folium_version": folium_version,
        "packages": {},
        "assets": {},
    }
    packages_out: dict[str, dict[str, str]] = {}
    assets_out: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        archives: dict[str, tuple[dict[str, bytes], str]] = {}

        def archive(spec: str) -> tuple[dict[str, bytes], str]:
            if spec not in archives:
                archives[spec] = _fetch(spec, workdir)
            return archives[spec]

        for key, package in PACKAGES.items():
            if not any(source.package == key for source in SOURCES.values()):
                continue
            spec = package.spec.format(folium=folium_version)
            version = package.version.format(folium=folium_version)
            files, integrity = archive(spec)
            prefix = f"folium-{folium_version}" if key == "folium" else "package"
            licence_files = archive(package.licence_spec)[0] if package.licence_spec else files
            folder = ASSETS_DIR / package.folder
            folder.mkdir()
            licence_name = "LICENSE" + Path(package.licence_path).suffix
            (folder / licence_name).write_bytes(licence_files[f"{prefix}/{package.licence_path}"])
            packages_out[key] = {
                "version": version,
                "licence": package.licence,
                "licence_file": f"{package.folder}/{licence_name}",
                "source": spec,
                "integrity": integrity,
                **({"note": package.note} if package.note else {}),
            }
            for url, source in SOURCES.items():
                if source.package != key:
                    continue
                path = source.path.format(sdist=f"folium-{folium_version}")
                text = files[path].decode("utf-8")
                stored = source.transform(text, path, files)
                target = folder / source.target
                target.write_text(stored, encoding="utf-8", newline="\n")
                assets_out[url] = {
                    "path": f"{package.folder}/{source.target}",
                    "kind": "js" if source.target.endswith(".js") else "css",
                    "package": key,
                    "version": version,
                    "licence": package.licence,
                    "original": path.split("/", 1)[1],
                    "changes": source.changes,
                    "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
                }

    manifest["packages"] = packages_out
    manifest["assets"] = {url: assets_out[url] for url in _folium_urls()}
    (ASSETS_DIR / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    total = sum(path.stat().st_size for path in ASSETS_DIR.rglob("*") if path.is_file())
    print(f"wrote {len(assets_out)} assets, {total / 1e6:.2f} MB, to {ASSETS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
