/* shadowfleet map.html: builds every layer from the JSON data block with Leaflet.
 *
 * All text that comes from the data (vessel names, port names, claim and alert text) is
 * put on the page with textContent, never as HTML. When the layers are built the root
 * element gets data-map-ready="<number of features>"; an error gets data-map-error and a
 * visible message instead. */
(function () {
  "use strict";
  var root = document.documentElement;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"}[c];
    });
  }

  function count(n) { return Number(n).toLocaleString("en-US"); }

  function show(value) {
    if (Array.isArray(value)) { return value.join("\n"); }
    return String(value);
  }

  /* A quadratic Bezier from a to b ([lon, lat]); bend > 0 bows to the left of a->b. */
  function arc(a, b, bend, n) {
    var mx = (a[0] + b[0]) / 2, my = (a[1] + b[1]) / 2;
    var cx = mx - (b[1] - a[1]) * bend, cy = my + (b[0] - a[0]) * bend, out = [];
    for (var i = 0; i < n; i += 1) {
      var f = i / (n - 1), g = 1 - f;
      out.push([g * g * a[0] + 2 * g * f * cx + f * f * b[0],
                g * g * a[1] + 2 * g * f * cy + f * f * b[1]]);
    }
    return out;
  }

  /* Round trips and legs come as straight lines between two ports' centres: drawn as a
   * loop out and back (a round trip) or an arc (a leg; inferred ones on the other side),
   * the k-th between the same ports bowing further out, so each stays clickable. */
  function schematic(layer) {
    var seen = {};
    layer.features.features.forEach(function (f) {
      var c = f.geometry && f.geometry.coordinates;
      if (!c || c.length !== 2) { return; }
      var a = c[0], b = c[1], p = f.properties || {};
      var key = [a.join(","), b.join(",")].sort().join("|") +
        (layer.schematic === "arc" ? "|" + p.status : "");
      var k = Math.min(seen[key] = (seen[key] || 0) + 1, 24) - 1;
      if (layer.schematic === "loop") {
        var bend = 0.04 + 0.008 * k;
        f.geometry.coordinates = arc(a, b, bend, 12).concat(arc(b, a, bend, 12).slice(1));
      } else {
        var sign = p.status === "inferred" ? -1 : 1;
        f.geometry.coordinates = arc(a, b, sign * (0.08 + 0.008 * k), 12);
      }
    });
  }

  function build(data) {
    var map = L.map("map", {zoomControl: true, worldCopyJump: false, zoomSnap: 0.5});
    var bases = {};
    data.baseLayers.forEach(function (b, i) {
      var tiles = L.tileLayer(b.url, {subdomains: b.subdomains || "abc", maxZoom: b.maxZoom,
                                      attribution: b.attribution, crossOrigin: false});
      bases[escapeHtml(b.name)] = tiles;
      if (i === 0) { tiles.addTo(map); }
    });

    var vesselColour = {}, vesselLabel = {};
    data.vessels.forEach(function (v) {
      vesselColour[v.mmsi] = v.colour;
      vesselLabel[v.mmsi] = v.label;
    });

    function styleFor(layer, feature, point) {
      var s = Object.assign({}, layer.style, point ? layer.pointStyle : {});
      var p = feature.properties || {};
      var colour = layer.colourBy === "vessel" ? vesselColour[p.mmsi]
                 : layer.colourBy === "feature" ? p.colour : undefined;
      if (colour) {
        s.fillColor = colour;
        if (!point || layer.colourBy === "feature") { s.color = colour; }
      }
      Object.keys(layer.variants || {}).forEach(function (field) {
        var v = layer.variants[field][p[field]];
        if (v) { Object.assign(s, v); }
      });
      return s;
    }

    function heading(layer, p) {
      var id = p[layer.idField];
      return layer.label + (id !== undefined ? " " + id : "");
    }

    function popupFor(layer, feature) {
      var p = feature.properties || {}, box = el("div", "sf-popup");
      box.appendChild(el("h2", null, heading(layer, p)));
      var rows = el("table");
      layer.fields.forEach(function (field) {
        var value = p[field];
        if (value === undefined || value === null || value === "" || field === layer.idField) {
          return;
        }
        var tr = el("tr");
        tr.appendChild(el("th", null, field));
        tr.appendChild(el("td", null, show(value)));
        rows.appendChild(tr);
      });
      box.appendChild(rows);
      return box;
    }

    function tooltipFor(layer, feature) {
      var p = feature.properties || {};
      var who = p.name || p.port || vesselLabel[p.mmsi] || p.mmsi;
      return el("span", null, heading(layer, p) + (who !== undefined && who !== "" &&
        who !== p[layer.idField] ? " \u00b7 " + who : ""));
    }

    var overlays = {}, tracks = {}, nFeatures = 0, drawn = [];
    data.layers.forEach(function (layer) {
      if (layer.schematic) { schematic(layer); }
      var group = L.geoJSON(layer.features, {
        style: function (f) { return styleFor(layer, f, false); },
        pointToLayer: function (f, latlng) { return L.circleMarker(latlng, styleFor(layer, f, true)); },
        onEachFeature: function (f, l) {
          nFeatures += 1;
          l.bindPopup(function () { return popupFor(layer, f); }, {minWidth: 280, maxWidth: 440});
          l.bindTooltip(function () { return tooltipFor(layer, f); }, {sticky: true});
          if (layer.id === "tracks") { tracks[f.properties.mmsi] = l; }
        }
      });
      var name = layer.title + " (" + count(layer.shown) +
        (layer.total !== undefined && layer.total !== layer.shown ? " of " + count(layer.total) : "") + ")";
      overlays[escapeHtml(name)] = group;
      if (layer.show) { group.addTo(map); }
      drawn.push(group);
    });

    var control = L.control.layers(bases, overlays, {collapsed: false, position: "topright"}).addTo(map);
    L.control.scale({position: "bottomright"}).addTo(map);

    var info = L.control({position: "bottomleft"});
    info.onAdd = function () {
      var box = el("div", "sf-info"), meta = data.meta;
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      box.appendChild(el("h1", null, meta.title));
      if (meta.simulated) { box.appendChild(el("p", "sf-sim", meta.simulated)); }
      var v = meta.vessels;
      box.appendChild(el("p", null, "Showing " + count(v.shown) + " of " + count(v.total) +
        " vessels (--map-vessels " + v.asked + "): " + v.groups.map(function (g) {
          return count(g[1]) + " " + g[0];
        }).join(", ") + (v.groups.length ? "." : "no vessel of interest.")));
      if (v.note) { box.appendChild(el("p", null, v.note)); }
      var more = el("details"), list = el("ul");
      more.open = data.vessels.length <= 8;
      more.appendChild(el("summary", null, "Vessels shown (" + count(data.vessels.length) +
        "): click one to zoom to it; click any line or point for its id and details"));
      data.vessels.forEach(function (vessel) {
        var li = el("li");
        li.title = vessel.reasons.join("\n");
        var sw = el("span", "sf-swatch");
        sw.style.background = vessel.colour;
        li.appendChild(sw);
        li.appendChild(document.createTextNode(vessel.label));
        li.addEventListener("click", function () {
          var t = tracks[vessel.mmsi];
          if (t) { map.fitBounds(t.getBounds(), {padding: [30, 30], maxZoom: 12}); t.openPopup(); }
        });
        list.appendChild(li);
      });
      more.appendChild(list);
      box.appendChild(more);
      return box;
    };
    info.addTo(map);

    if (data.bounds) {
      // keep the data clear of the layer list (right) and the legend (bottom left)
      var right = control.getContainer().offsetWidth || 0;
      var below = info.getContainer().offsetHeight || 0;
      map.fitBounds(data.bounds, {paddingTopLeft: [20, 50], maxZoom: 11,
                                  paddingBottomRight: [right + 20, below + 20]});
    } else {
      map.setView([20, 0], 2);
    }
    window.shadowfleetMap = {map: map, layers: drawn, tracks: tracks};
    return nFeatures;
  }

  try {
    var data = JSON.parse(document.getElementById("shadowfleet-data").textContent);
    var n = build(data);
    root.setAttribute("data-map-ready", String(n));
  } catch (err) {
    var message = String((err && err.message) || err);
    root.setAttribute("data-map-error", message);
    document.body.appendChild(el("div", "sf-error", "The map could not be drawn: " + message));
  }
}());
