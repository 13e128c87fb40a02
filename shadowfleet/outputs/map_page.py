"""map.html as one self-contained page: Leaflet, the page's script and the data inline.

The page is ``assets/map.html`` with its slots filled:

- Leaflet 1.9.4's stylesheet and script (``assets/leaflet/``, BSD-2-Clause, origin and
  checksums in its SOURCES.md), the stylesheet's images as data URIs: the page references
  no outside script or stylesheet and opens offline. Only the base-map tiles
  (:data:`BASE_LAYERS`) come from the web; without a network the map works on a plain
  background;
- ``assets/map.js``, one script that builds every layer from the data;
- the data, once, as JSON in a ``<script type="application/json">`` block.

Hostile text (vessel names and destinations from the air; port names, watchlists and
claims from user files) is safe at both ends: in the JSON every ``<``, ``>``, ``&``,
U+2028 and U+2029 is a ``\\uXXXX`` escape, so no text can close the script block or
start markup; the page's script puts text on the page with ``textContent`` only. The few
texts written into the HTML itself (the title) are HTML-escaped. A Content Security
Policy allows only the page's own two scripts (by their SHA-256), so even markup that got
in could run nothing.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import re
from importlib import resources

LEAFLET_VERSION = "1.9.4"
# base maps, first the default; the Content Security Policy allows exactly these hosts
BASE_LAYERS = (
    {"name": "CARTO light", "url": "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
     "subdomains": "abcd", "maxZoom": 19, "host": "https://*.basemaps.cartocdn.com",
     "attribution": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
                    'contributors &copy; <a href="https://carto.com/attributions">CARTO</a>'},
    {"name": "OpenStreetMap", "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
     "subdomains": "", "maxZoom": 19, "host": "https://tile.openstreetmap.org",
     "attribution": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
                    'contributors'},
)
_SLOT = re.compile(r"\{\{([A-Z_]+)\}\}")
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                 "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JSON_UNSAFE = re.compile("[<>&\u2028\u2029]")


def _asset(name: str) -> str:
    return resources.files("shadowfleet.outputs").joinpath("assets", name).read_text("utf-8")


def _asset_bytes(name: str) -> bytes:
    return resources.files("shadowfleet.outputs").joinpath("assets", name).read_bytes()


@functools.cache
def assets() -> dict[str, str]:
    """The inlined files: Leaflet's stylesheet (images as data URIs) and script, the
    page's stylesheet, script and template."""
    def data_uri(match: re.Match) -> str:
        png = _asset_bytes(f"leaflet/images/{match.group(1)}")
        return "url(data:image/png;base64," + base64.b64encode(png).decode("ascii") + ")"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, _asset("leaflet/leaflet.css"))
    return {"LEAFLET_CSS": css, "LEAFLET_JS": _asset("leaflet/leaflet.js"),
            "MAP_CSS": _asset("map.css"), "MAP_JS": _asset("map.js"),
            "template": _asset("map.html")}


def script_json(value) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element and a JavaScript
    string: no ``<``, ``>``, ``&``, U+2028, U+2029 left as such (they are ``\\uXXXX``
    escapes, which JSON.parse reads back as the same characters)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _JSON_UNSAFE.sub(lambda m: _JSON_ESCAPES[m.group(0)], text)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def content_security_policy(scripts: tuple[str, ...]) -> str:
    hosts = " ".join(layer["host"] for layer in BASE_LAYERS)
    return ("default-src 'none'; "
            f"script-src {' '.join(_sha256(s) for s in scripts)}; "
            "style-src 'unsafe-inline'; "
            f"img-src data: {hosts}; "
            "base-uri 'none'; form-action 'none'")


def base_layers() -> list[dict]:
    """The base maps as the page's script reads them."""
    return [{k: v for k, v in layer.items() if k != "host"} for layer in BASE_LAYERS]


def render_page(*, title: str, banner: str, data: dict) -> str:
    """The whole page. ``title`` and ``banner`` are plain text (escaped here); ``data`` is
    what ``assets/map.js`` draws."""
    parts = dict(assets())
    template = parts.pop("template")
    slots = {**parts,
             "TITLE": html.escape(title, quote=True),
             "BANNER": (f'<div class="sf-banner" role="alert">{html.escape(banner)}</div>'
                        if banner else ""),
             "DATA": script_json(data),
             "CSP": html.escape(content_security_policy((parts["LEAFLET_JS"],
                                                         parts["MAP_JS"])), quote=True)}
    pieces = _SLOT.split(template)
    # split() alternates text and slot names: the inserted files are never scanned again
    return "".join(slots[p] if i % 2 else p for i, p in enumerate(pieces))


__all__ = ["render_page", "script_json", "content_security_policy", "BASE_LAYERS",
           "LEAFLET_VERSION", "base_layers"]
