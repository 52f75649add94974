/* KPI charts (ECharts, vendored in static/vendor/echarts.min.js).
 *
 * Draws every <div class="kpi-chart" data-chart="{json}"> (or data-chart-url="...": the JSON is
 * fetched) and re-draws charts that htmx swaps in. The JSON says what to draw, nothing else:
 *   {"type": "line", "unit": "share|seconds|count|...", "x": [labels],
 *    "series": [{"name": "...", "data": [values|null]}], "target": value|null, "target_name": "..."}
 *   {"type": "heatmap", "unit": "...", "x": [labels], "y": [labels], "data": [[xi, yi, value]]}
 *   {"type": "bar", ... as line}
 * Anything else (no "x") is taken as a ready ECharts option (kpi/views/region.py builds one);
 * its tooltip, if any, is switched to rich text for the same CSP reason.
 * No inline script or style (CSP): this file and ECharts' own DOM styling only. Tooltips are
 * drawn as rich text on the canvas, not as HTML with style attributes.
 */
(function () {
  "use strict";

  function format(value, unit) {
    if (value === null || value === undefined || isNaN(value)) { return "—"; }
    switch (unit) {
      case "share": return Math.round(value * 100) + "%";
      case "seconds": {
        var total = Math.round(value);
        var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
        var mm = (m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
        return h ? h + ":" + mm + ":" + ss : mm + ":" + ss;
      }
      case "count": return Math.round(value).toLocaleString();
      default: return (Math.round(value * 10) / 10).toString();
    }
  }

  function lineOption(spec) {
    var series = (spec.series || []).map(function (s) {
      return { name: s.name, type: spec.type === "bar" ? "bar" : "line", data: s.data,
               connectNulls: false, showSymbol: spec.x.length < 60 };
    });
    if (spec.target !== null && spec.target !== undefined && series.length) {
      series[0].markLine = {
        symbol: "none", silent: true,
        label: { position: "insideEndTop",
                 formatter: (spec.target_name || "") + " " + format(spec.target, spec.unit) },
        lineStyle: { type: "dashed", color: "#dc2626" },
        data: [{ yAxis: spec.target }]
      };
    }
    return {
      animation: false,
      grid: { left: 56, right: 24, top: 32, bottom: 40 },
      tooltip: { trigger: "axis", renderMode: "richText",
                 valueFormatter: function (v) { return format(v, spec.unit); } },
      legend: { show: series.length > 1 },
      xAxis: { type: "category", data: spec.x },
      yAxis: { type: "value", axisLabel: { formatter: function (v) { return format(v, spec.unit); } },
               max: spec.unit === "share" ? 1 : null, min: 0 },
      series: series
    };
  }

  function heatmapOption(spec) {
    var values = (spec.data || []).map(function (d) { return d[2]; });
    var max = values.length ? Math.max.apply(null, values) : 1;
    return {
      animation: false,
      grid: { left: 48, right: 16, top: 16, bottom: 72 },
      tooltip: { renderMode: "richText",
                 formatter: function (p) {
                   return spec.y[p.value[1]] + " " + spec.x[p.value[0]] + ":00  " + format(p.value[2], spec.unit);
                 } },
      xAxis: { type: "category", data: spec.x, splitArea: { show: true } },
      yAxis: { type: "category", data: spec.y, inverse: true, splitArea: { show: true } },
      visualMap: { min: 0, max: max || 1, calculable: true, orient: "horizontal", left: "center",
                   bottom: 0, formatter: function (v) { return format(v, spec.unit); },
                   inRange: { color: ["#eff6ff", "#60a5fa", "#1e3a8a"] } },
      series: [{ type: "heatmap", data: spec.data,
                 label: { show: spec.x.length <= 14,
                          formatter: function (p) { return format(p.value[2], spec.unit); } } }]
    };
  }

  function rawOption(option) {
    if (option.tooltip && !option.tooltip.renderMode) { option.tooltip.renderMode = "richText"; }
    if (option.animation === undefined) { option.animation = false; }
    return option;
  }

  function optionFor(spec) {
    if (!Array.isArray(spec.x)) { return rawOption(spec); }
    return spec.type === "heatmap" ? heatmapOption(spec) : lineOption(spec);
  }

  function draw(el, spec) {
    if (!window.echarts) { return; }
    var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(optionFor(spec), true);
    el.dataset.chartDrawn = "1";
  }

  function drawAll(root) {
    var nodes = (root || document).querySelectorAll(".kpi-chart[data-chart], .kpi-chart[data-chart-url]");
    Array.prototype.forEach.call(nodes, function (el) {
      if (el.dataset.chart) {
        try { draw(el, JSON.parse(el.dataset.chart)); }
        catch (err) { console.warn("kpi-charts: bad chart data", err); }
      } else {
        fetch(el.dataset.chartUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { return r.json(); })
          .then(function (spec) { draw(el, spec); })
          .catch(function (err) { console.warn("kpi-charts: could not load", err); });
      }
    });
  }

  window.addEventListener("resize", function () {
    if (!window.echarts) { return; }
    Array.prototype.forEach.call(document.querySelectorAll(".kpi-chart[data-chart-drawn]"), function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) { chart.resize(); }
    });
  });
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawAll(event.target); });
  window.BranchFlowCharts = { drawAll: drawAll, format: format };
})();
