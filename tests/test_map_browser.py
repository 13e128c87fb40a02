"""map.html in a real browser (headless Chromium, offline): Leaflet runs from the inlined
copy, every layer is drawn, every popup opens, hostile text stays text, and the page's
Content Security Policy stops any script but its own."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from map_browser import dump_dom, needs_chromium
from map_page_parse import csp_hash, page_data
from shadowfleet.outputs.map import write_map
from test_map import HOSTILE, HOSTILE_PORT, hand_made_result

pytestmark = needs_chromium

# opens the popup and the tooltip of every feature of every layer (shown or not) and
# copies their content into <div id="popup-dump">
OPEN_ALL = """(function () {
  var sf = window.shadowfleetMap, dump = document.createElement("div"), n = 0;
  dump.id = "popup-dump";
  sf.layers.forEach(function (group) {
    if (!sf.map.hasLayer(group)) { group.addTo(sf.map); }
    group.eachLayer(function (l) {
      l.openPopup();
      dump.appendChild(l.getPopup().getElement().querySelector(".leaflet-popup-content").cloneNode(true));
      l.closePopup();
      l.openTooltip();
      dump.appendChild(l.getTooltip().getElement().cloneNode(true));
      l.closeTooltip();
      n += 1;
    });
  });
  document.body.appendChild(dump);
  document.documentElement.setAttribute("data-popups", String(n));
}());"""


class _Elements(HTMLParser):
    def __init__(self, text):
        super().__init__()
        self.tags = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _with_script(text: str, script: str, *, allow: bool) -> str:
    """The page with ``script`` added before </body>; ``allow``: its hash added to the
    page's Content Security Policy (as the page's own scripts are)."""
    if allow:
        text = text.replace("script-src ", f"script-src {csp_hash(script)} ", 1)
    return text.replace("</body>", f"<script>{script}</script>\n</body>")


def _attr(dom: str, name: str) -> str | None:
    m = re.search(rf'<html[^>]*\s{name}="([^"]*)"', dom)
    return m.group(1) if m else None


@pytest.fixture()
def page(tmp_path):
    result = hand_made_result()
    registry = result.registry
    registry._ports = dict(registry._ports)
    spare = next(p for p in registry.names if p not in ("Najin", "Dunay", "Vladivostok", "Nakhodka"))
    registry._ports[HOSTILE_PORT] = registry._ports.pop(spare)
    registry.names = tuple(registry._ports)
    return write_map(result, tmp_path / "map.html")


def test_leaflet_draws_every_layer_offline(page, tmp_path):
    data = page_data(page.read_text(encoding="utf-8"))
    dom = dump_dom(page, tmp_path / "profile")
    assert _attr(dom, "data-map-error") is None
    total = sum(layer["shown"] for layer in data["layers"])
    assert _attr(dom, "data-map-ready") == str(total)
    assert "leaflet-container" in dom
    shown = sum(layer["shown"] for layer in data["layers"] if layer["show"])
    # one SVG path per feature of the layers shown at first (points are circle markers)
    paths = re.findall(r'<path[^>]*class="[^"]*leaflet-interactive', dom)
    assert len(paths) == shown
    assert "leaflet-control-layers" in dom and "sf-info" in dom
    assert "Showing 2 of 2 vessels (--map-vessels 50)" in dom
    assert "<title>shadowfleet map</title>" in dom


def test_every_popup_opens_and_hostile_text_stays_text(page, tmp_path):
    text = page.read_text(encoding="utf-8")
    data = page_data(text)
    probe = tmp_path / "probe.html"
    probe.write_text(_with_script(text, OPEN_ALL, allow=True), encoding="utf-8")
    dom = dump_dom(probe, tmp_path / "profile")
    assert _attr(dom, "data-map-error") is None
    assert _attr(dom, "data-popups") == str(sum(layer["shown"] for layer in data["layers"]))
    dumped = dom.split('<div id="popup-dump">', 1)[1]
    # ids and fields of each kind are in the popups
    for event_id in ("G-1", "G-2", "V-1", "P-1", "L-1", "L-2", "T-1", "A-1"):
        assert event_id in dumped
    assert "shown_because" in dumped and "highest alert score 0.70" in dumped
    # the hostile name and port are shown as text, escaped by the browser's serialiser
    assert "&lt;/script&gt;&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dumped
    assert "&lt;img src=x onerror=" in dumped
    # and made nothing: no element from them, the title untouched
    tags = _Elements(dom).tags
    assert not [a for t, a in tags if t == "img" and a.get("src") == "x"]
    assert sum(1 for t, _ in tags if t == "script") == 4
    assert "<title>shadowfleet map</title>" in dom and "PWNED</title>" not in dom


def test_content_security_policy_blocks_a_foreign_script(page, tmp_path):
    text = page.read_text(encoding="utf-8")
    probe = tmp_path / "injected.html"
    probe.write_text(_with_script(text, "document.title = 'INJECTED';", allow=False),
                     encoding="utf-8")
    dom = dump_dom(probe, tmp_path / "profile")
    assert "<title>shadowfleet map</title>" in dom
    assert _attr(dom, "data-map-ready") is not None
