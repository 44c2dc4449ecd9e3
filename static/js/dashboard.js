/* Dashboard charts: each [data-chart] element fetches its JSON endpoint (the same one the API
   documents) with the page's filters and draws it with the vendored ECharts. No data in the page. */
(function () {
  "use strict";

  var COLOURS = ["#1f5fa8", "#1c7c4a", "#d08a00", "#b42318", "#6b4fbb"];

  function pct(v) { return v === null || v === undefined ? "—" : v.toFixed(2) + "%"; }

  var draw = {
    volume: function (chart, d) {
      chart.setOption({
        color: COLOURS, tooltip: { trigger: "axis" }, grid: { left: 48, right: 16, top: 24, bottom: 32 },
        xAxis: { type: "category", data: d.labels }, yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", name: "件数", data: d.values }]
      });
    },
    rates: function (chart, d) {
      var line = function (name, key) { return { type: "line", name: name, data: d[key], connectNulls: false }; };
      chart.setOption({
        color: COLOURS, tooltip: { trigger: "axis", valueFormatter: pct }, legend: { top: 0 },
        grid: { left: 48, right: 16, top: 36, bottom: 32 },
        xAxis: { type: "category", data: d.labels }, yAxis: { type: "value", min: 0, max: 100 },
        series: [line("响应率", "response_rate"), line("解决率", "resolution_rate"),
                 line("满意率", "satisfaction_rate"), line("综合得分", "composite")]
      });
    },
    categories: function (chart, d) {
      var rows = d.slice().reverse();
      chart.setOption({
        color: COLOURS, tooltip: { trigger: "axis" }, grid: { left: 150, right: 24, top: 8, bottom: 24 },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: rows.map(function (r) { return r.category; }) },
        series: [{ type: "bar", name: "件数", data: rows.map(function (r) { return r.count; }) }]
      });
    },
    heatmap: function (chart, d) {
      chart.setOption({
        tooltip: { position: "top" }, grid: { left: 48, right: 16, top: 8, bottom: 64 },
        xAxis: { type: "category", data: d.hours, splitArea: { show: true } },
        yAxis: { type: "category", data: d.weekdays, splitArea: { show: true } },
        visualMap: { min: 0, max: Math.max(d.max, 1), calculable: true, orient: "horizontal", left: "center", bottom: 0,
                     inRange: { color: ["#f3f7fc", "#1f5fa8"] } },
        series: [{ type: "heatmap", name: "来电", data: d.cells }]
      });
    },
    overdue: function (chart, d) {
      var rows = d.slice().reverse();
      chart.setOption({
        color: ["#b42318"], tooltip: { trigger: "axis" }, grid: { left: 150, right: 24, top: 8, bottom: 24 },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: rows.map(function (r) { return r.name; }) },
        series: [{ type: "bar", name: "超期件数", data: rows.map(function (r) { return r.overdue; }) }]
      });
    }
  };

  function load(el, query) {
    var kind = el.getAttribute("data-chart");
    fetch(el.getAttribute("data-api") + (query ? "?" + query : ""), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (body) {
        var empty = Array.isArray(body.data) ? body.data.length === 0 : false;
        if (empty) { el.innerHTML = '<p class="muted">本期暂无数据。</p>'; el.style.height = "auto"; return; }
        var chart = window.echarts.init(el);
        draw[kind](chart, body.data);
        window.addEventListener("resize", function () { chart.resize(); });
        el.setAttribute("data-loaded", "1");
      })
      .catch(function () { el.innerHTML = '<p class="error">图表加载失败，请刷新重试。</p>'; el.style.height = "auto"; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".charts").forEach(function (box) {
      var query = box.getAttribute("data-query") || "";
      box.querySelectorAll("[data-chart]").forEach(function (el) { load(el, query); });
    });
  });
})();
