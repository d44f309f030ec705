/* The grid map page. Data arrives only as JSON batches through the web channel (bridge.batch);
 * every DOM node that shows data is built with textContent, never innerHTML. */
"use strict";

(function () {
  const S = {
    map: null,
    bridge: null,
    loads: 0,
    labels: {},
    palette: null,
    markers: new Map(),   // incident id -> {layer, data}
    units: new Map(),     // unit id -> {layer, data}
    places: null,         // the depots' and shelters' layer group (supplies room)
    placeCount: { depots: 0, shelters: 0, low: 0 },
    warningAreas: null,   // the official warnings' layer group (warnings room)
    warningCount: { warnings: 0, shapes: 0, colours: [] },
    grids: new Map(),     // grid id -> {layer, props}
    communityLayer: null,
    gridLayer: null,
    tileLayer: null,
    attribution: null,
    legend: null,
    legendToggled: false,
    legendCollapsed: false,
    selected: 0,
    ring: null,
    selectedGrid: 0,
    selectedUnit: 0,
    batches: 0,
    errors: [],
  };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function label(key, fallback) {
    const v = S.labels[key];
    return v === undefined ? (fallback === undefined ? key : fallback) : v;
  }

  // -- colours -------------------------------------------------------------------------------
  function severityColour(sev) {
    return (S.palette && S.palette.severity[String(sev)]) || "#9e9e9e";
  }

  function bucket(count) {
    const limits = (S.palette && S.palette.grid_limits) || [0, 1, 2, 3, 5];
    let i = 0;
    for (let k = 0; k < limits.length; k++) if (count >= limits[k]) i = k;
    return i;
  }

  function gridStyle(props) {
    if (CG.on) return caseGridStyle(props);  // the case mode paints grids by open cases
    const p = S.palette;
    const selected = props.id === S.selectedGrid;
    return {
      color: selected ? p.highlight : p.grid_outline,
      weight: selected ? 3 : 1,
      opacity: 0.9,
      fillColor: p.grid_scale[bucket(props.open_count || 0)],
      fillOpacity: p.grid_fill_opacity,
    };
  }

  function communityStyle() {
    const p = S.palette;
    return { color: p.community_outline, weight: 2.5, opacity: 0.95, fill: false, interactive: false };
  }

  function radius(sev) { return { 1: 10, 2: 9, 3: 8, 4: 7 }[sev] || 7; }

  function markerStyle(d) {
    const p = S.palette;
    return {
      radius: radius(d.severity),
      fillColor: severityColour(d.severity),
      fillOpacity: 0.95,
      color: d.is_drill ? p.drill : p.marker_outline,
      weight: d.is_drill ? 3 : 2,
      dashArray: d.is_drill ? "4 3" : null,
    };
  }

  // -- popups and tooltips (DOM only) --------------------------------------------------------
  function incidentCard(d) {
    const box = el("div", "dc-card");
    const title = el("div", "dc-card-title");
    if (d.is_drill) {
      const drill = el("span", "dc-badge", label("drill", "DRILL"));
      drill.style.background = S.palette.drill;
      drill.style.color = "#ffffff";
      title.appendChild(drill);
    }
    const sev = el("span", "dc-badge", d.severity_label);
    sev.style.background = severityColour(d.severity);
    sev.style.color = (S.palette.severity_text || {})[String(d.severity)] || "#ffffff";
    title.appendChild(sev);
    title.appendChild(document.createTextNode(d.number));
    box.appendChild(title);
    box.appendChild(el("div", "dc-card-meta", d.category_label + " · " + d.status_label));
    if (d.address) box.appendChild(el("div", "dc-card-meta", d.address));
    box.appendChild(el("div", "dc-card-text", d.excerpt));
    return box;
  }

  function incidentTip(d) {
    return el("div", "dc-tip", d.number + " · " + d.category_label + " · " + d.severity_label);
  }

  function gridTip(props) {
    const box = el("div", "dc-tip");
    box.appendChild(el("div", "dc-card-title", props.name));
    box.appendChild(el("div", "dc-card-meta",
      label("open_incidents", "Open incidents") + ": " + String(props.open_count || 0)));
    if (CG.on) box.appendChild(caseGridTip(props.id));
    return box;
  }

  function unitTip(d) {
    const box = el("div", "dc-tip");
    box.appendChild(el("div", "dc-card-title", d.name));
    box.appendChild(el("div", "dc-card-meta", d.status_label));
    return box;
  }

  // -- layers --------------------------------------------------------------------------------
  function setAreas(op) {
    if (S.communityLayer) S.map.removeLayer(S.communityLayer);
    if (S.gridLayer) S.map.removeLayer(S.gridLayer);
    S.grids.clear();
    S.gridLayer = L.geoJSON(op.grids, {
      style: (f) => gridStyle(f.properties),
      onEachFeature: (f, layer) => {
        const id = Number(f.properties.id);
        S.grids.set(id, { layer: layer, props: f.properties });
        layer.bindTooltip(() => gridTip(S.grids.get(id).props), { sticky: true });
        layer.on("click", () => { selectGrid(id); if (S.bridge) S.bridge.gridClicked(id); });
      },
    }).addTo(S.map);
    S.communityLayer = L.geoJSON(op.communities, {
      style: communityStyle,
      interactive: false,
      onEachFeature: (f, layer) => {
        const name = el("span", null, f.properties.name);
        layer.bindTooltip(name, { permanent: true, direction: "center", className: "dc-community-label" });
      },
    }).addTo(S.map);
    // incidents stay above the areas in the shared canvas
    S.markers.forEach((m) => m.layer.bringToFront());
    if (S.ring) S.ring.bringToFront();
  }

  function setGridCounts(counts, reset) {
    S.grids.forEach((g, id) => {
      const key = String(id);
      if (Object.prototype.hasOwnProperty.call(counts, key)) g.props.open_count = counts[key];
      else if (reset) g.props.open_count = 0;
      else return;
      g.layer.setStyle(gridStyle(g.props));
    });
  }

  function upsertIncident(d) {
    const known = S.markers.get(d.id);
    const latlng = [d.lat, d.lon];
    if (known) {
      known.data = d;
      known.layer.setLatLng(latlng);
      known.layer.setStyle(markerStyle(d));
      known.layer.setRadius(radius(d.severity));
      if (S.selected === d.id) placeRing();
      return;
    }
    const entry = { data: d, layer: null };
    const layer = L.circleMarker(latlng, markerStyle(d));
    layer.bindTooltip(() => incidentTip(entry.data), { direction: "top", offset: [0, -8] });
    layer.bindPopup(() => incidentCard(entry.data), { maxWidth: 320 });
    layer.on("click", () => {
      select(d.id, false);
      if (S.bridge) S.bridge.markerClicked(d.id);
    });
    entry.layer = layer;
    S.markers.set(d.id, entry);
    layer.addTo(S.map);
  }

  function removeIncident(id) {
    const known = S.markers.get(id);
    if (!known) return;
    S.map.removeLayer(known.layer);
    S.markers.delete(id);
    if (S.selected === id) placeRing();
  }

  function setIncidents(op) {
    if (op.reset) {
      S.markers.forEach((m) => S.map.removeLayer(m.layer));
      S.markers.clear();
    }
    (op.remove || []).forEach(removeIncident);
    (op.upsert || []).forEach(upsertIncident);
    if (S.selected) placeRing();
  }

  function unitIcon(d) {
    const span = el("span");
    span.style.background = S.palette.unit;
    return L.divIcon({ className: "dc-unit", html: span, iconSize: [16, 16], iconAnchor: [8, 8] });
  }

  // the unit whose card is open wears a ring (a class on its icon; setIcon makes a new element)
  function markUnit(entry) {
    const node = entry.layer.getElement();
    if (node) node.classList.toggle("dc-unit-selected", entry.data.id === S.selectedUnit);
  }

  function selectUnit(id) {
    S.selectedUnit = Number(id) || 0;
    S.units.forEach(markUnit);
    const u = S.units.get(S.selectedUnit);
    if (u) u.layer.setZIndexOffset(1000);
    S.units.forEach((other) => { if (other !== u) other.layer.setZIndexOffset(0); });
  }

  function upsertUnit(d) {
    const known = S.units.get(d.id);
    if (known) {
      known.data = d;
      known.layer.setLatLng([d.lat, d.lon]);
      return;
    }
    const entry = { data: d, layer: null };
    entry.layer = L.marker([d.lat, d.lon], { icon: unitIcon(d), keyboard: false });
    entry.layer.bindTooltip(() => unitTip(entry.data), { direction: "top", offset: [0, -8] });
    entry.layer.on("click", () => { selectUnit(d.id); if (S.bridge) S.bridge.unitClicked(d.id); });
    S.units.set(d.id, entry);
    entry.layer.addTo(S.map);
    if (d.id === S.selectedUnit) selectUnit(d.id);
  }

  function setUnits(op) {
    if (op.reset) {
      S.units.forEach((u) => S.map.removeLayer(u.layer));
      S.units.clear();
    }
    (op.remove || []).forEach((id) => {
      const u = S.units.get(id);
      if (u) { S.map.removeLayer(u.layer); S.units.delete(id); }
    });
    (op.upsert || []).forEach(upsertUnit);
  }

  // -- depots and shelters (their own layer; cards as tooltips) -----------------------------
  function placeIcon(cls, text) {  // a letter inside, so a shelter is never taken for an incident
    return L.divIcon({ className: cls, html: el("span", null, text), iconSize: [18, 18], iconAnchor: [9, 9] });
  }

  function depotTip(d) {
    const box = el("div", "dc-tip");
    box.appendChild(el("div", "dc-card-title", d.name));
    if (d.contact) box.appendChild(el("div", "dc-card-meta", d.contact));
    if (d.low.length) {
      box.appendChild(el("div", "dc-card-meta dc-low", label("below_minimum", "below minimum")));
      d.low.forEach((line) => box.appendChild(el("div", "dc-low", line)));
    } else {
      box.appendChild(el("div", "dc-card-meta", label("stock_ok", "stock above minimum")));
    }
    return box;
  }

  function shelterTip(d) {
    const box = el("div", "dc-tip");
    box.appendChild(el("div", "dc-card-title", d.name));
    box.appendChild(el("div", "dc-card-meta", d.status_label + " · " + d.occupancy + "/" + d.capacity
      + " · " + label("free_places", "free") + " " + d.free));
    if (d.contact) box.appendChild(el("div", "dc-card-meta", d.contact));
    return box;
  }

  function setPlaces(op) {
    if (S.places) S.map.removeLayer(S.places);
    S.places = L.layerGroup();
    let low = 0;
    (op.depots || []).forEach((d) => {
      if (d.low.length) low += 1;
      L.marker([d.lat, d.lon], { icon: placeIcon(d.low.length ? "dc-depot dc-depot-low" : "dc-depot", label("depot_mark", "S")),
                                 keyboard: false })
        .bindTooltip(() => depotTip(d), { direction: "top", offset: [0, -8] }).addTo(S.places);
    });
    (op.shelters || []).forEach((d) => {
      L.marker([d.lat, d.lon], { icon: placeIcon("dc-shelter dc-shelter-" + d.status, label("shelter_mark", "H")),
                                 keyboard: false })
        .bindTooltip(() => shelterTip(d), { direction: "top", offset: [0, -8] }).addTo(S.places);
    });
    S.places.addTo(S.map);
    S.placeCount = { depots: (op.depots || []).length, shelters: (op.shelters || []).length, low: low };
  }

  // -- official warnings in force (the warnings room's layer; CAP areas in their colour) -------
  const WARNING_COLOURS = { blue: "#1976d2", yellow: "#fbc02d", orange: "#f57c00", red: "#d32f2f", grey: "#757575" };

  function warningTip(d) {
    const box = el("div", "dc-tip");
    box.appendChild(el("div", "dc-card-title", d.headline));
    box.appendChild(el("div", "dc-card-meta", d.sender + (d.description ? " · " + d.description : "")));
    return box;
  }

  function setWarningAreas(op) {
    if (S.warningAreas) S.map.removeLayer(S.warningAreas);
    S.warningAreas = L.layerGroup();
    let shapes = 0;
    (op.areas || []).forEach((d) => {
      const colour = WARNING_COLOURS[d.colour] || WARNING_COLOURS.grey;
      const style = { color: colour, weight: 2, dashArray: "6 4", fillColor: colour, fillOpacity: 0.12,
                      interactive: true, bubblingMouseEvents: false };
      (d.polygons || []).forEach((ring) => {
        L.polygon(ring, style).bindTooltip(() => warningTip(d), { sticky: true }).addTo(S.warningAreas);
        shapes += 1;
      });
      (d.circles || []).forEach((c) => {
        L.circle([c[0], c[1]], Object.assign({ radius: c[2] }, style))
          .bindTooltip(() => warningTip(d), { sticky: true }).addTo(S.warningAreas);
        shapes += 1;
      });
    });
    S.warningAreas.addTo(S.map);
    S.warningAreas.eachLayer((layer) => layer.bringToBack());  // under the grids, incidents and units
    S.warningCount = { warnings: (op.areas || []).length, shapes: shapes,
                       colours: (op.areas || []).map((d) => d.colour) };
  }

  // -- the case mode (the cases room's layer): grids coloured by open cases --------------------
  // Python sends {op: "case_grids", on, grids: {id: {open, high, escalate}}, total, unplaced};
  // the layer control's box only asks Python to switch (bridge.layerToggled), the op decides.
  const CG = { on: false, grids: {}, total: 0, unplaced: 0, control: null, box: null };

  function caseCounts(id) {
    return CG.grids[String(id)] || { open: 0, high: 0, escalate: 0 };
  }

  function caseGridStyle(props) {
    const p = S.palette;
    const d = caseCounts(props.id);
    const selected = props.id === S.selectedGrid;
    const emphasised = d.high > 0 || d.escalate > 0;
    return {
      color: selected ? p.highlight : emphasised ? p.case_emphasis : p.grid_outline,
      weight: selected ? 3 : emphasised ? 3.5 : 1,
      dashArray: d.escalate > 0 && !selected ? "7 4" : null,
      opacity: 0.95,
      fillColor: p.case_scale[bucket(d.open)],
      fillOpacity: p.case_fill_opacity,
    };
  }

  function caseGridTip(id) {
    const d = caseCounts(id);
    let text = label("open_cases", "Open cases") + ": " + String(d.open);
    if (d.high) text += " · " + label("high_risk_cases", "high risk") + " " + String(d.high);
    if (d.escalate) text += " · " + label("may_escalate_cases", "may escalate") + " " + String(d.escalate);
    return el("div", "dc-card-meta" + (d.high || d.escalate ? " dc-low" : ""), text);
  }

  function restyleGrids() {
    S.grids.forEach((g) => g.layer.setStyle(gridStyle(g.props)));
    S.markers.forEach((m) => m.layer.bringToFront());
    if (S.ring) S.ring.bringToFront();
  }

  function setCaseGrids(op) {
    const was = CG.on;
    CG.on = !!op.on;
    CG.grids = CG.on ? (op.grids || {}) : {};
    CG.total = CG.on ? Number(op.total || 0) : 0;
    CG.unplaced = CG.on ? Number(op.unplaced || 0) : 0;
    if (CG.box) {
      CG.box.checked = CG.on;
      CG.box.closest(".dc-layers").classList.toggle("open", CG.on);  // what is on stays in sight
    }
    restyleGrids();
    if (was !== CG.on || CG.on) refreshLegend();  // the legend's case rows show while the mode is on
  }

  function caseLegend(box) {
    if (!CG.on) return;
    const p = S.palette;
    box.appendChild(el("h4", null, label("case_scale", "Open cases per grid")));
    const scale = el("div", "dc-scale");
    const names = S.labels.grid_scale_steps || ["0", "1", "2", "3–4", "5+"];
    p.case_scale.forEach((colour, i) => {
      const cell = el("div", "dc-scale-cell");
      const sw = el("span");
      sw.style.background = colour;
      cell.appendChild(sw);
      cell.appendChild(el("span", null, names[i]));
      scale.appendChild(cell);
    });
    box.appendChild(scale);
    const row = el("div", "dc-legend-row dc-case-emphasis");
    const sw = el("span", "dc-swatch dc-square");
    sw.style.background = "transparent";
    sw.style.border = "2px dashed " + p.case_emphasis;
    row.appendChild(sw);
    row.appendChild(el("span", null, label("case_emphasis", "High risk or may escalate")));
    box.appendChild(row);
    if (CG.unplaced) {
      box.appendChild(el("div", "dc-legend-row",
        label("cases_unplaced", "{n} open cases have no grid").replace("{n}", String(CG.unplaced))));
    }
  }

  function buildLayerControl() {
    const box = el("div", "dc-layers");
    if (CG.on) box.classList.add("open");  // folded to its title otherwise: a small map keeps its room
    L.DomEvent.disableClickPropagation(box);
    box.appendChild(el("h4", null, label("layers", "Layers")));
    const row = el("label", "dc-legend-row");
    const check = el("input");
    check.type = "checkbox";
    check.checked = CG.on;
    check.title = label("case_grids_key", "");
    L.DomEvent.on(check, "change", () => {
      const wanted = check.checked;
      check.checked = CG.on;  // Python switches the mode and answers with the op
      if (S.bridge) S.bridge.layerToggled("case_grids", wanted);
    });
    row.appendChild(check);
    row.appendChild(el("span", null, label("case_grids", "Grids by open cases") + " (" + label("case_grids_key", "") + ")"));
    box.appendChild(row);
    CG.box = check;
    return box;
  }

  function addLayerControl() {
    if (CG.control) S.map.removeControl(CG.control);
    const Layers = L.Control.extend({ options: { position: "topright" }, onAdd: buildLayerControl });
    CG.control = new Layers();
    CG.control.addTo(S.map);
  }

  // -- selection -----------------------------------------------------------------------------
  function placeRing() {
    if (S.ring) { S.map.removeLayer(S.ring); S.ring = null; }
    const m = S.markers.get(S.selected);
    if (!m) return;
    S.ring = L.circleMarker(m.layer.getLatLng(), {
      radius: radius(m.data.severity) + 6, color: S.palette.highlight, weight: 3, fill: false,
      interactive: false,
    }).addTo(S.map);
    m.layer.bringToFront();
  }

  function select(id, pan) {
    S.selected = Number(id) || 0;
    placeRing();
    const m = S.markers.get(S.selected);
    // one label at a time: the incident arrowed past loses its label when the next is selected
    if (S.labelled && S.labelled !== m) S.labelled.layer.closeTooltip();
    S.labelled = null;
    if (m && pan) {
      // bring it into view only when it is not already comfortably inside; keep the zoom
      const latlng = m.layer.getLatLng();
      const inner = S.map.getBounds().pad(-0.1);
      if (!inner.contains(latlng)) {
        S.autoFit = false;
        S.map.setView(latlng, Math.max(S.map.getZoom(), 14), { animate: false });
      }
      m.layer.openTooltip();
      S.labelled = m;
    }
  }

  function selectGrid(id) {
    const previous = S.grids.get(S.selectedGrid);
    S.selectedGrid = id;
    if (previous) previous.layer.setStyle(gridStyle(previous.props));
    const g = S.grids.get(id);
    if (g) { g.layer.setStyle(gridStyle(g.props)); g.layer.bringToFront(); }
    S.markers.forEach((m) => m.layer.bringToFront());
    if (S.ring) S.ring.bringToFront();
  }

  // -- legend, tiles, theme ------------------------------------------------------------------
  function compactMap() {
    const size = S.map.getSize();
    return size.x < 640 || size.y < 420;
  }

  function setLegendCollapsed(box, collapsed) {
    box.classList.toggle("dc-collapsed", collapsed);
    box.firstChild.textContent = label("legend", "Legend") + (collapsed ? " ▸" : " ▾");
  }

  function buildLegend() {
    const box = el("div", "dc-legend");
    const head = el("div", "dc-legend-head");
    head.title = label("legend_toggle", "Show or hide the legend");
    box.appendChild(head);
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.on(head, "click", () => {
      S.legendToggled = true;
      setLegendCollapsed(box, !box.classList.contains("dc-collapsed"));
    });
    box.appendChild(el("h4", null, label("severity", "Severity")));
    [1, 2, 3, 4].forEach((sev) => {
      const row = el("div", "dc-legend-row");
      const sw = el("span", "dc-swatch");
      sw.style.background = severityColour(sev);
      row.appendChild(sw);
      row.appendChild(el("span", null, label("severity_" + sev, String(sev))));
      box.appendChild(row);
    });
    const drill = el("div", "dc-legend-row");
    const dsw = el("span", "dc-swatch dc-drill");
    dsw.style.background = severityColour(4);
    dsw.style.borderColor = S.palette.drill;
    drill.appendChild(dsw);
    drill.appendChild(el("span", null, label("drill", "Drill")));
    box.appendChild(drill);
    const unit = el("div", "dc-legend-row");
    const usw = el("span", "dc-swatch dc-square");
    usw.style.background = S.palette.unit;
    usw.style.transform = "rotate(45deg) scale(0.8)";
    usw.style.width = "12px";
    unit.appendChild(usw);
    unit.appendChild(el("span", null, label("unit", "Unit")));
    box.appendChild(unit);
    // depots and shelters (the supplies room's layer), drawn as their icons are
    [["dc-depot", "depot_mark", "depot", "Supplies depot"],
     ["dc-depot dc-depot-low", "depot_mark", "depot_low", "Depot below minimum"],
     ["dc-shelter dc-shelter-open", "shelter_mark", "shelter_open", "Shelter open"],
     ["dc-shelter dc-shelter-full", "shelter_mark", "shelter_full", "Shelter full"],
     ["dc-shelter dc-shelter-closed", "shelter_mark", "shelter_closed", "Shelter closed"]].forEach((r) => {
      const row = el("div", "dc-legend-row");
      const icon = el("span", r[0] + " dc-legend-icon");
      icon.appendChild(el("span", null, label(r[1], "")));
      row.appendChild(icon);
      row.appendChild(el("span", null, label(r[2], r[3])));
      box.appendChild(row);
    });
    // official warnings in force (the warnings room's layer): one row, the four colours
    const warn = el("div", "dc-legend-row");
    ["blue", "yellow", "orange", "red"].forEach((c) => {
      const sw = el("span", "dc-swatch dc-square");
      sw.style.background = WARNING_COLOURS[c];
      sw.style.opacity = "0.6";
      sw.title = label("warning_" + c, c);
      warn.appendChild(sw);
    });
    warn.appendChild(el("span", null, label("warning_areas", "Official warning in force")));
    box.appendChild(warn);
    box.appendChild(el("h4", null, label("grid_scale", "Open incidents per grid")));
    const scale = el("div", "dc-scale");
    const names = S.labels.grid_scale_steps || ["0", "1", "2", "3–4", "5+"];
    S.palette.grid_scale.forEach((colour, i) => {
      const cell = el("div", "dc-scale-cell");
      const sw = el("span");
      sw.style.background = colour;
      cell.appendChild(sw);
      cell.appendChild(el("span", null, names[i]));
      scale.appendChild(cell);
    });
    box.appendChild(scale);
    caseLegend(box);
    setLegendCollapsed(box, S.legendToggled ? !!S.legendCollapsed : compactMap());
    return box;
  }

  function refreshLegend() {
    if (S.legend) {
      S.legendCollapsed = S.legend.getContainer().classList.contains("dc-collapsed");
      S.map.removeControl(S.legend);
    }
    const Legend = L.Control.extend({ options: { position: "bottomright" }, onAdd: buildLegend });
    S.legend = new Legend();
    S.legend.addTo(S.map);
  }

  function setTiles(t) {
    if (S.tileLayer) { S.map.removeLayer(S.tileLayer); S.tileLayer = null; }
    if (S.attribution) { S.map.removeControl(S.attribution); S.attribution = null; }
    if (!t || t.kind === "none" || !t.url) return;
    S.tileLayer = L.tileLayer(t.url, { minZoom: t.min_zoom, maxZoom: t.max_zoom }).addTo(S.map);
    S.tileLayer.bringToBack();
    if (t.attribution) {
      const Attr = L.Control.extend({
        options: { position: "bottomleft" },
        onAdd: () => el("div", "dc-attribution", t.attribution),
      });
      S.attribution = new Attr();
      S.attribution.addTo(S.map);
    }
  }

  function setTheme(op) {
    S.palette = op.palette;
    document.body.classList.toggle("dark", op.name === "dark");
    S.grids.forEach((g) => g.layer.setStyle(gridStyle(g.props)));
    if (S.communityLayer) S.communityLayer.setStyle(communityStyle());
    S.markers.forEach((m) => m.layer.setStyle(markerStyle(m.data)));
    S.units.forEach((u) => { u.layer.setIcon(unitIcon(u.data)); markUnit(u); });
    placeRing();
    refreshLegend();
  }

  // "fit" keeps the jurisdiction in view while the map's size changes (its own window maximising,
  // docked back) until the officer drags or zooms it
  function fit() {
    S.autoFit = true;
    S.map.invalidateSize({ animate: false });
    fitNow();
  }

  function fitNow() {
    let bounds = null;
    if (S.gridLayer && S.grids.size) bounds = S.gridLayer.getBounds();
    if (S.communityLayer && S.communityLayer.getLayers().length) {
      const b = S.communityLayer.getBounds();
      bounds = bounds ? bounds.extend(b) : b;
    }
    S.markers.forEach((m) => {
      const ll = m.layer.getLatLng();
      bounds = bounds ? bounds.extend(ll) : L.latLngBounds(ll, ll);
    });
    if (bounds && bounds.isValid()) S.map.fitBounds(bounds, { padding: [20, 20], animate: false, maxZoom: 16 });
  }

  // -- batches -------------------------------------------------------------------------------
  const OPS = {
    config: (op) => {
      S.labels = op.labels || {};
      setTheme({ name: op.theme, palette: op.palette });
      addLayerControl();
      setTiles(op.tiles);
      if (op.view) S.map.setView([op.view.lat, op.view.lon], op.view.zoom, { animate: false });
    },
    theme: setTheme,
    tiles: setTiles,
    areas: setAreas,
    grid_counts: (op) => setGridCounts(op.counts || {}, !!op.reset),
    incidents: setIncidents,
    units: setUnits,
    places: setPlaces,
    warning_areas: setWarningAreas,
    case_grids: setCaseGrids,
    select: (op) => select(op.id, op.pan !== false),
    select_grid: (op) => selectGrid(op.id),
    select_unit: (op) => selectUnit(op.id),
    fit: fit,
  };

  function onBatch(text) {
    let seq = 0;
    try {
      const batch = JSON.parse(text);
      seq = batch.seq;
      batch.ops.forEach((op) => {
        try {
          OPS[op.op](op);
        } catch (err) {
          S.errors.push(String(err));
          if (S.bridge) S.bridge.report(op.op + ": " + String(err && err.stack ? err.stack : err));
        }
      });
    } catch (err) {
      S.errors.push(String(err));
      if (S.bridge) S.bridge.report("batch: " + String(err));
    }
    S.batches += 1;
    // acknowledge after the browser has had a chance to paint the batch
    requestAnimationFrame(() => { if (S.bridge) S.bridge.ack(seq); });
  }

  function countLoad() {
    try {
      const n = Number(window.sessionStorage.getItem("dc-loads") || "0") + 1;
      window.sessionStorage.setItem("dc-loads", String(n));
      return n;
    } catch (err) {
      return 1;
    }
  }

  function start() {
    S.map = L.map("map", {
      preferCanvas: true,
      attributionControl: false,
      zoomControl: true,
      minZoom: 3,
      maxZoom: 19,
      zoomSnap: 0.25,
    }).setView([22.585, 113.995], 13);
    S.map.on("resize", () => {
      if (S.legend && !S.legendToggled) setLegendCollapsed(S.legend.getContainer(), compactMap());
      if (S.autoFit) fitNow();
    });
    // the officer takes over the view: later resizes keep what they chose
    S.map.on("dragstart", () => { S.autoFit = false; });
    S.map.getContainer().addEventListener("wheel", () => { S.autoFit = false; }, { passive: true });
    S.map.getContainer().addEventListener("keydown", () => { S.autoFit = false; });
    S.map.zoomControl.getContainer().addEventListener("click", () => { S.autoFit = false; });
    S.loads = countLoad();
    new QWebChannel(qt.webChannelTransport, (channel) => {
      S.bridge = channel.objects.bridge;
      S.bridge.batch.connect(onBatch);
      S.bridge.pageReady(S.loads);
    });
  }

  // What tests and diagnostics may read or poke (never data paths).
  window.dc = {
    loads: () => S.loads,
    batches: () => S.batches,
    errors: () => S.errors.slice(),
    markerIds: () => Array.from(S.markers.keys()),
    unitIds: () => Array.from(S.units.keys()),
    places: () => Object.assign({}, S.placeCount),
    warningAreas: () => Object.assign({}, S.warningCount),
    caseGrids: () => ({ on: CG.on, total: CG.total, unplaced: CG.unplaced, grids: Object.assign({}, CG.grids),
                        control: CG.box ? CG.box.checked : null }),
    toggleCaseControl: () => { if (!CG.box) return false; CG.box.click(); return true; },
    unit: (id) => { const u = S.units.get(id); return u ? u.data : null; },
    marker: (id) => { const m = S.markers.get(id); return m ? m.data : null; },
    markerStyle: (id) => { const m = S.markers.get(id); return m ? Object.assign({}, m.layer.options) : null; },
    gridCount: (id) => { const g = S.grids.get(id); return g ? g.props.open_count : null; },
    gridFill: (id) => { const g = S.grids.get(id); return g ? g.layer.options.fillColor : null; },
    gridStyle: (id) => { const g = S.grids.get(id); return g ? Object.assign({}, g.layer.options) : null; },
    selected: () => S.selected,
    tooltipsOpen: () => Array.from(S.markers.values()).filter((m) => m.layer.isTooltipOpen()).map((m) => m.data.id),
    bounds: () => { const b = S.map.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; },
    autoFit: () => !!S.autoFit,
    centre: () => { const c = S.map.getCenter(); return [c.lng, c.lat]; },
    inView: (id) => { const m = S.markers.get(id); return !!m && S.map.getBounds().contains(m.layer.getLatLng()); },
    setView: (lon, lat, zoom) => { S.map.setView([lat, lon], zoom, { animate: false }); return true; },
    clickMarker: (id) => {
      const m = S.markers.get(id);
      if (!m) return false;
      m.layer.fire("click", { latlng: m.layer.getLatLng() });
      return true;
    },
    selectedUnit: () => S.selectedUnit,
    selectedGrid: () => S.selectedGrid,
    clickUnit: (id) => {
      const u = S.units.get(id);
      if (!u) return false;
      u.layer.fire("click", { latlng: u.layer.getLatLng() });
      return true;
    },
    clickGrid: (id) => {
      const g = S.grids.get(id);
      if (!g) return false;
      g.layer.fire("click", { latlng: g.layer.getBounds().getCenter() });
      return true;
    },
    popupText: () => {
      const node = document.querySelector(".leaflet-popup-content");
      return node ? node.textContent : null;
    },
  };

  start();
})();
