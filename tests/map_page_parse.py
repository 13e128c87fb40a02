"""Reading map.html back in tests: its scripts, stylesheets, links and embedded data."""

from __future__ import annotations

import base64
import hashlib
import json
from html.parser import HTMLParser


class PageParts(HTMLParser):
    """Every element of interest of a page, with its attributes and (for script and
    style) its text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict, str]] = []
        self.styles: list[str] = []
        self.links: list[dict] = []
        self.metas: list[dict] = []
        self.sources: list[tuple[str, dict]] = []     # elements with src/href
        self.title = ""
        self._open: tuple[str, dict] | None = None
        self._text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link":
            self.links.append(attrs)
        if tag == "meta":
            self.metas.append(attrs)
        if any(k in attrs for k in ("src", "href", "srcset", "data")) and tag != "script":
            self.sources.append((tag, attrs))
        if tag in ("script", "style", "title"):
            self._open = (tag, attrs)
            self._text = []

    def handle_data(self, data):
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if self._open is not None and tag == self._open[0]:
            text = "".join(self._text)
            if tag == "script":
                self.scripts.append((self._open[1], text))
            elif tag == "style":
                self.styles.append(text)
            else:
                self.title = text
            self._open = None


def page_data(text: str) -> dict:
    """The JSON data block of a map page."""
    parts = PageParts(text)
    blocks = [body for attrs, body in parts.scripts if attrs.get("id") == "shadowfleet-data"]
    assert len(blocks) == 1, "one data block"
    return json.loads(blocks[0])


def layer(data: dict, layer_id: str) -> dict:
    return next(x for x in data["layers"] if x["id"] == layer_id)


def features(data: dict, layer_id: str) -> list[dict]:
    return layer(data, layer_id)["features"]["features"]


def csp_hash(script_text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script_text.encode()).digest()).decode() + "'"
