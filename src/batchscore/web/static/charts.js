// Draws one uPlot chart per numeric model output: a line per device, outliers ringed in red.
(function () {
  "use strict";

  var COLORS = ["#1f6feb", "#2da44e", "#bf8700", "#8250df", "#cf222e", "#1b7c83", "#e16f24", "#6e7781"];
  var FLAG_COLOR = "#d1242f";

  function chartWidth(box) {
    return Math.max(280, Math.floor(box.getBoundingClientRect().width) - 8);
  }

  function buildChart(output, flagName, box) {
    var tables = [];
    var series = [{ label: "time (UTC)" }];
    output.devices.forEach(function (device, i) {
      tables.push([device.t, device.v]);
      series.push({
        label: device.name, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true,
        points: { show: false },
      });
    });
    if (flagName) {
      // One extra table per device holding only its flagged values, merged below into a single
      // "outlier" series so the legend stays short.
      output.devices.forEach(function (device) {
        tables.push([device.t, device.v.map(function (v, j) { return device.flag[j] ? v : null; })]);
      });
    }
    var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    if (flagName) {
      var n = output.devices.length;
      var marks = data[0].map(function (_, k) {
        for (var d = 0; d < n; d++) {
          var v = data[1 + n + d][k];
          if (v !== null && v !== undefined) { return v; }
        }
        return null;
      });
      data = data.slice(0, 1 + n).concat([marks]);
      series.push({
        label: flagName + " = true",
        stroke: FLAG_COLOR,
        width: 0,
        paths: function () { return null; },
        points: { show: true, size: 10, width: 2, stroke: FLAG_COLOR, fill: "rgba(209,36,47,0.15)" },
      });
    }
    var figure = document.createElement("figure");
    figure.className = "chart";
    var caption = document.createElement("figcaption");
    caption.textContent = output.name + " over time, per device";
    figure.appendChild(caption);
    var holder = document.createElement("div");
    holder.setAttribute("role", "img");
    var points = output.devices.reduce(function (n, d) { return n + d.t.length; }, 0);
    holder.setAttribute("aria-label", "Line chart of " + output.name + " for " + output.devices.length +
      " devices, " + points + " points; the inference table below has the values.");
    figure.appendChild(holder);
    box.appendChild(figure);
    var plot = new uPlot({
      width: chartWidth(box),
      height: 260,
      scales: { x: { time: true } },
      series: series,
      axes: [{}, { label: output.name, size: 70 }],
      legend: { live: true },
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
    }, data, holder);
    return plot;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("chart-data");
    var box = document.getElementById("charts");
    if (!source || !box || typeof uPlot === "undefined") {
      return;
    }
    var doc = JSON.parse(source.textContent);
    var plots = doc.outputs.map(function (output) { return buildChart(output, doc.flag, box); });
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        plots.forEach(function (p) { p.setSize({ width: chartWidth(box), height: 260 }); });
      }, 150);
    });
  });
})();
