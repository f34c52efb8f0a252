// The dashboard's script: draws each chart from the table of figures beside it (the table is
// the chart's text alternative, so both always show the same numbers), and polls a running
// backtest's progress. Everything works without it but the drawing and the live progress.
"use strict";

(function () {
  const PALETTE = ["#0b4fa8", "#d1495b", "#2a9d8f", "#e9a03b", "#6c4ab6", "#5c677d", "#8ab17d", "#b5838d"];

  function readTable(table) {
    const heads = Array.from(table.querySelectorAll("thead th")).slice(1).map((th) => th.textContent.trim());
    const rows = Array.from(table.querySelectorAll("tbody tr"));
    const labels = rows.map((tr) => tr.querySelector("th").textContent.trim());
    const series = heads.map((name, i) => ({
      name,
      values: rows.map((tr) => {
        const value = tr.querySelectorAll("td")[i].dataset.value;
        return value === undefined ? null : Number(value);
      }),
    }));
    return { labels, series };
  }

  function config(kind, data) {
    const doughnut = kind === "doughnut";
    const datasets = data.series.map((s, i) => ({
      label: s.name,
      data: s.values,
      backgroundColor: doughnut ? data.labels.map((_, j) => PALETTE[j % PALETTE.length]) : PALETTE[i % PALETTE.length],
      borderColor: doughnut ? "#fff" : PALETTE[i % PALETTE.length],
      borderWidth: doughnut ? 1 : 2,
      pointRadius: data.labels.length > 40 ? 0 : 2,
      tension: 0.2,
    }));
    const stacked = kind === "stacked";
    return {
      type: doughnut ? "doughnut" : stacked ? "bar" : kind,
      data: { labels: data.labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: doughnut || datasets.length > 1, position: doughnut ? "right" : "top" } },
        scales: doughnut ? {} : { x: { stacked }, y: { stacked, beginAtZero: true } },
      },
    };
  }

  function drawCharts() {
    if (typeof Chart === "undefined") return;
    document.querySelectorAll("figure.chart").forEach((figure) => {
      const canvas = figure.querySelector("canvas");
      const table = figure.querySelector("table[data-chart]");
      if (!canvas || !table) return;
      new Chart(canvas, config(table.dataset.chart, readTable(table)));
      figure.dataset.drawn = "true";
      if (!performance.getEntriesByName("first-chart").length) performance.mark("first-chart");
    });
    document.body.dataset.charts = "drawn";
    performance.mark("charts-drawn");  // what bench/dashboard_bench.py times
  }

  function pollBacktest() {
    const box = document.getElementById("backtest-progress");
    if (!box) return;
    const bar = document.getElementById("bt-bar");
    const text = document.getElementById("bt-text");
    const tick = () => {
      fetch(box.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
        .then((p) => {
          if (p.status !== "running") { window.location.reload(); return; }
          bar.max = Math.max(p.events_total, 1);
          bar.value = p.events_done;
          const left = p.seconds_left == null ? "" : `, about ${Math.ceil(p.seconds_left)} s left`;
          text.textContent = `${p.events_done.toLocaleString()} of ${p.events_total.toLocaleString()} events${left}`;
          setTimeout(tick, 500);
        })
        .catch(() => setTimeout(() => window.location.reload(), 2000));
    };
    setTimeout(tick, 300);
  }

  document.addEventListener("DOMContentLoaded", () => { drawCharts(); pollBacktest(); });
})();
