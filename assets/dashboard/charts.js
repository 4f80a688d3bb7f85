// The Overview's charts: fetches the per-minute series from /api/series (the URL is the
// section's data-series) and draws them with uPlot (loaded before this script), with the
// per-class table below; refreshes every 30 s and when the window or scope changes. Each chart
// says it is loading until its series are in, and that the window had no job when it had none.
// Times are 24-hour, in the dashboard's timezone (the section's data-timezone), as on every page.
/* global document, window, fetch, URLSearchParams, ResizeObserver, uPlot */
(function () {
  'use strict';
  var root = document.getElementById('rakit-charts');
  if (!root || typeof uPlot === 'undefined') return;

  var REFRESH_MS = 30000;
  var hoursSelect = root.querySelector('select[name=hours]');
  var scopeSelect = root.querySelector('select[name=scope]');
  var status = root.querySelector('.rakit-charts-status');
  var tbody = root.querySelector('.rakit-classes tbody');
  var charts = {};
  var known = {};
  var scope = { queue: root.dataset.queue || '', name: root.dataset.name || '' };
  var zone = root.dataset.timezone || 'UTC';
  var clock = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });
  var day = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });

  // 14:05 on the axis; 2026-12-07 14:05 in the legend.
  function hhmm(seconds) { return clock.format(seconds * 1000); }
  function dated(seconds) { return seconds === null || seconds === undefined ? '—' : day.format(seconds * 1000) + ' ' + hhmm(seconds); }

  var SPECS = {
    throughput: [
      { label: 'Done', stroke: '#2e7d32', fill: 'rgba(46,125,50,0.08)', key: 'done' },
      { label: 'Failed', stroke: '#c62828', key: 'failed' },
      { label: 'Retried', stroke: '#ef6c00', key: 'retried' },
    ],
    // Means have no value in a minute without jobs: points, so a minute between such minutes shows.
    wait: [{ label: 'Mean wait (ms)', stroke: '#1565c0', key: 'waitMs', points: true }],
    runtime: [{ label: 'Mean runtime (ms)', stroke: '#6a1b9a', key: 'runtimeMs', points: true }],
  };

  function widthOf(el) {
    return Math.max(300, el.clientWidth || root.clientWidth || 600);
  }

  function dataFor(name, data) {
    var xs = data.minutes.map(function (ms) { return ms / 1000; });
    return [xs].concat(SPECS[name].map(function (s) { return data[s.key]; }));
  }

  // Whether a chart has anything to show: a job done, failed or retried, or a mean, in the window.
  function hasData(name, data) {
    return SPECS[name].some(function (s) {
      return (data[s.key] || []).some(function (v) { return v !== null && v !== 0; });
    });
  }

  function note(el, text) {
    var p = el.querySelector('.rakit-chart-note');
    if (!p) return;
    p.textContent = text;
    p.hidden = text === '';
    // Loading holds the chart's place; once drawn, a line above the (flat) chart says it is empty.
    p.classList.toggle('drawn', Boolean(charts[el.dataset.chart]) || text === 'No job in this window.');
  }

  function draw(name, data) {
    var el = root.querySelector('[data-chart="' + name + '"]');
    if (!el) return;
    note(el, hasData(name, data) ? '' : 'No job in this window.');
    if (charts[name]) {
      charts[name].setData(dataFor(name, data));
      return;
    }
    var series = [{ value: function (u, v) { return dated(v); } }].concat(SPECS[name].map(function (s) {
      return { label: s.label, stroke: s.stroke, fill: s.fill, width: 1.5, spanGaps: false, points: { show: Boolean(s.points), size: 4 } };
    }));
    // Axes in the page's text colour, so the charts read in a dark theme too.
    var text = window.getComputedStyle(root).color;
    var faint = 'rgba(128,128,128,0.25)';
    var axis = { stroke: text, grid: { stroke: faint, width: 1 }, ticks: { stroke: faint, width: 1 } };
    var x = Object.assign({}, axis, { values: function (u, splits) { return splits.map(hhmm); } });
    // The y axis is wide enough for labels such as 10,000. Ticks fall on the zone's whole hours.
    charts[name] = new uPlot({
      width: widthOf(el), height: 180, series: series, axes: [x, Object.assign({}, axis, { size: 64 })], scales: { x: { time: true } },
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), zone); },
    }, dataFor(name, data), el);
  }

  function cell(row, text) {
    var td = document.createElement('td');
    td.textContent = text;
    row.appendChild(td);
  }

  function ms(value) {
    return value === null || value === undefined ? '—' : value < 10 ? value.toFixed(1) : String(Math.round(value));
  }

  function table(classes) {
    tbody.textContent = '';
    if (classes.length === 0) {
      var empty = document.createElement('tr');
      cell(empty, 'Nothing finished in this window.');
      empty.firstChild.colSpan = 9;
      tbody.appendChild(empty);
    }
    classes.forEach(function (c) {
      var row = document.createElement('tr');
      [c.queue, c.name, c.done, c.failed, c.retried, ms(c.meanRuntimeMs), ms(c.p50Ms), ms(c.p95Ms), ms(c.meanWaitMs)]
        .forEach(function (text) { cell(row, String(text)); });
      tbody.appendChild(row);
    });
  }

  function option(value, text) {
    if (known[value]) return;
    known[value] = true;
    var el = document.createElement('option');
    el.value = value;
    el.textContent = text;
    scopeSelect.appendChild(el);
  }

  // The scopes seen so far: each queue, and each job name (of any queue).
  function scopes(classes) {
    classes.forEach(function (c) {
      option(JSON.stringify({ queue: c.queue, name: '' }), 'queue ' + c.queue);
    });
    classes.forEach(function (c) {
      option(JSON.stringify({ queue: '', name: c.name }), 'job ' + c.name);
    });
    scopeSelect.value = scope.queue || scope.name ? JSON.stringify(scope) : '';
  }

  var timer = null;
  function load() {
    window.clearTimeout(timer);
    var params = new URLSearchParams({ hours: hoursSelect.value });
    if (scope.queue) params.set('queue', scope.queue);
    if (scope.name) params.set('name', scope.name);
    return fetch(root.dataset.series + '?' + params.toString(), { headers: { accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (data) {
        Object.keys(SPECS).forEach(function (name) { draw(name, data); });
        table(data.classes);
        scopes(data.classes);
        status.textContent = data.metrics ? '' : 'Metrics are off (metrics: false in the config).';
        root.dataset.loaded = String(data.minutes.length);
      })
      .catch(function (error) {
        status.textContent = 'Could not load the charts: ' + error.message;
        Object.keys(SPECS).forEach(function (name) {
          var el = root.querySelector('[data-chart="' + name + '"]');
          if (el && !charts[name]) note(el, 'Not loaded.');
        });
        if (!root.dataset.loaded) tbody.querySelector('td').textContent = 'Not loaded.';
      })
      .then(function () {
        timer = window.setTimeout(load, REFRESH_MS);
      });
  }

  if (scope.queue || scope.name) option(JSON.stringify(scope), scope.name ? 'job ' + scope.name : 'queue ' + scope.queue);
  hoursSelect.addEventListener('change', load);
  scopeSelect.addEventListener('change', function () {
    scope = scopeSelect.value ? JSON.parse(scopeSelect.value) : { queue: '', name: '' };
    load();
  });
  if (typeof ResizeObserver !== 'undefined') {
    new ResizeObserver(function () {
      Object.keys(charts).forEach(function (name) {
        var el = root.querySelector('[data-chart="' + name + '"]');
        charts[name].setSize({ width: widthOf(el), height: 180 });
      });
    }).observe(root);
  }
  load();
})();
