// Small multiples of one model output: one uPlot chart per device, downsampled by the server
// to the chart's pixel width (min/max per column, outliers kept), outliers filled in the
// device's colour, times on a 24-hour axis in the viewer's zone, cursors in step. The legend is
// a row of buttons (keyboard-operable) that show or hide each device and the outlier marks.
(function () {
  "use strict";

  // Okabe-Ito: distinguishable with the common colour-vision deficiencies. Kept in step with
  // .swatch.cN in console.css.
  var COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B", "#555555"];
  var HEIGHT = 170;

  function stamp(zone, seconds, pattern) {
    return uPlot.fmtDate(pattern)(uPlot.tzDate(new Date(seconds * 1000), zone));
  }

  // 24-hour labels in the viewer's zone, as every other time of the console; the figure keeps
  // the labels drawn (data-x-ticks), since the canvas does not show them to anything else.
  function axisValues(zone, figure) {
    return function (u, splits, axisIdx, space, incr) {
      var pattern = incr >= 86400 ? "{YYYY}-{MM}-{DD}" : incr >= 60 ? "{HH}:{mm}" : "{HH}:{mm}:{ss}";
      var labels = splits.map(function (s) { return stamp(zone, s, pattern); });
      figure.setAttribute("data-x-ticks", labels.join("|"));
      return labels;
    };
  }

  function shortZone(zone, seconds) {
    try {
      var parts = new Intl.DateTimeFormat("en-GB", { timeZone: zone, timeZoneName: "short" })
        .formatToParts(new Date(seconds * 1000));
      var found = parts.filter(function (p) { return p.type === "timeZoneName"; })[0];
      return found ? found.value : zone;
    } catch (e) {
      return zone;
    }
  }

  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  function range(devices) {
    var low = Infinity, high = -Infinity;
    devices.forEach(function (d) {
      d.v.forEach(function (v) { if (v < low) { low = v; } if (v > high) { high = v; } });
    });
    if (low === Infinity) { return [0, 1]; }
    var pad = (high - low) * 0.05 || Math.abs(high) * 0.05 || 1;
    return [low - pad, high + pad];
  }

  function panel(box, doc, device, index, zone, sync, yRange) {
    var color = COLORS[index % COLORS.length];
    var figure = document.createElement("figure");
    figure.className = "chart";
    figure.id = "chart-device-" + device.id;
    var caption = document.createElement("figcaption");
    var swatch = document.createElement("span");
    swatch.className = "swatch c" + (index % COLORS.length);
    swatch.setAttribute("aria-hidden", "true");
    caption.appendChild(swatch);
    caption.appendChild(document.createTextNode(device.name + " (#" + device.id + ")"));
    figure.appendChild(caption);
    var holder = document.createElement("div");
    holder.setAttribute("role", "img");
    holder.setAttribute("aria-label", doc.output + " of " + device.name + " over time, " + device.records +
      " records drawn as " + device.t.length + " points" + (doc.flag ? "; " + plural(device.outliers, "outlier") : "") +
      ". The inference table below has every record.");
    figure.appendChild(holder);
    var readout = document.createElement("p");
    readout.className = "readout hint";
    readout.textContent = "\u00a0";
    figure.appendChild(readout);
    box.appendChild(figure);
    var marks = device.v.map(function (v, j) { return device.o[j] ? v : null; });
    var series = [
      {},
      { label: doc.output, stroke: color, width: 1.25, points: { show: false } },
      {
        label: "outliers", stroke: "#1f2328", width: 0, paths: function () { return null; },
        points: { show: true, size: 8, width: 1.5, stroke: "#1f2328", fill: color },
      },
    ];
    var plot = new uPlot({
      width: Math.max(240, Math.floor(box.getBoundingClientRect().width) - 4),
      height: HEIGHT,
      legend: { show: false },
      cursor: { sync: { key: sync.key }, drag: { x: false, y: false } },
      scales: { x: { time: true, range: [doc.start, doc.end] }, y: { range: yRange } },
      series: series,
      axes: [
        { values: axisValues(zone, figure), space: 70 },
        { size: 64, label: doc.output, labelSize: 18 },
      ],
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), zone); },
      hooks: {
        setCursor: [function (u) {
          var i = u.cursor.idx;
          if (i === null || i === undefined) { readout.textContent = "\u00a0"; return; }
          var t = u.data[0][i];
          readout.textContent = stamp(zone, t, "{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}") + " " + shortZone(zone, t) +
            " · " + doc.output + " " + Number(u.data[1][i]).toPrecision(6) + (device.o[i] ? " · outlier" : "");
        }],
      },
    }, [device.t, device.v, marks], holder);
    sync.sub(plot);
    figure.uplot = plot;  // for scripts and tests that read the chart
    return { figure: figure, plot: plot };
  }

  function toggle(label, pressed, onChange) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "legend-item";
    button.setAttribute("aria-pressed", pressed ? "true" : "false");
    button.appendChild(label);
    button.addEventListener("click", function () {
      var now = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", now ? "true" : "false");
      onChange(now);
    });
    return button;
  }

  function build(box, doc) {
    var zone = box.getAttribute("data-zone") || "UTC";
    var legend = box.querySelector(".chart-legend");
    var holder = box.querySelector(".panels");
    var sync = uPlot.sync("execution-" + Math.random().toString(36).slice(2));
    var yRange = range(doc.devices);
    var shown = doc.devices.map(function (device, i) {
      return panel(holder, doc, device, i, zone, sync, yRange);
    });
    doc.devices.forEach(function (device, i) {
      var label = document.createElement("span");
      var swatch = document.createElement("span");
      swatch.className = "swatch c" + (i % COLORS.length);
      swatch.setAttribute("aria-hidden", "true");
      label.appendChild(swatch);
      label.appendChild(document.createTextNode(device.name + (doc.flag ? " · " + plural(device.outliers, "outlier") : "")));
      legend.appendChild(toggle(label, true, function (on) { shown[i].figure.hidden = !on; }));
    });
    if (doc.flag) {
      var marks = document.createElement("span");
      marks.textContent = "Outlier marks";
      legend.appendChild(toggle(marks, true, function (on) {
        shown.forEach(function (s) { s.plot.setSeries(2, { show: on }); });
      }));
    }
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        var width = Math.max(240, Math.floor(holder.getBoundingClientRect().width));
        shown.forEach(function (s) { s.plot.setSize({ width: width, height: HEIGHT }); });
      }, 150);
    });
    box.setAttribute("data-ready", "true");
  }

  function init(root) {
    if (typeof uPlot === "undefined") { return; }
    var box = root.querySelector ? root.querySelector("#charts:not([data-loading])") : null;
    if (!box && root.id === "charts") { box = root; }
    if (!box || box.hasAttribute("data-loading")) { return; }
    box.setAttribute("data-loading", "true");
    var width = Math.floor(box.querySelector(".panels").getBoundingClientRect().width) || 800;
    fetch(box.getAttribute("data-src") + "&width=" + width, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("chart data: HTTP " + r.status); } return r.json(); })
      .then(function (doc) { build(box, doc); })
      .catch(function (e) {
        var note = document.createElement("p");
        note.className = "error";
        note.textContent = "The chart could not be drawn (" + e.message + "); the table below has the records.";
        box.appendChild(note);
      });
  }

  document.addEventListener("htmx:load", function (event) { init(event.target); });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
