// The page's script, as text: served as /app.js by the live dashboard and inlined into the static report.
// It builds every element with createElement + textContent, never innerHTML: an S3 key or an error message
// is data, and a key like `<img onerror=...>` must show as those characters. Live, it takes a fresh
// Overview from server-sent events and updates the charts in place (uPlot setData), no reload; static, it
// reads the Overview embedded in the page once. Plain ES2017 without template literals, so it can sit
// inside this TypeScript string.
export const DASHBOARD_JS = String.raw`
(function () {
  'use strict';
  var COLORS = ['#1a73e8', '#e8710a', '#188038', '#a142f4', '#d01884', '#12b5cb'];
  var charts = {};
  var modeColor = {};
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function int(n) { return Number(n || 0).toLocaleString('en-US'); }
  function bytes(b) {
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'], i = 0, v = Number(b || 0);
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return i === 0 ? v + ' B' : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2) + ' ' + u[i];
  }
  function dur(s) {
    if (s === null || s === undefined) return 'unknown';
    if (s < 90) return s + ' s';
    if (s < 5400) return Math.round(s / 60) + ' min';
    if (s < 172800) return (s / 3600).toFixed(1) + ' h';
    return (s / 86400).toFixed(1) + ' days';
  }
  function when(d) { return d ? String(d).replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-'; }
  function colorOf(mode) {
    if (!modeColor[mode]) modeColor[mode] = COLORS[Object.keys(modeColor).length % COLORS.length];
    return modeColor[mode];
  }
  /** cells: [text, cls] pairs or plain texts; numeric columns get cls 'num'. */
  function table(head, rows) {
    var t = el('table'), tr = el('tr');
    head.forEach(function (h) { tr.appendChild(el('th', h[1] || '', h[0])); });
    t.appendChild(el('thead')).appendChild(tr);
    var body = t.appendChild(el('tbody'));
    rows.forEach(function (r) {
      var row = body.appendChild(el('tr'));
      r.forEach(function (c) {
        if (c instanceof Node) { row.appendChild(el('td')).appendChild(c); return; }
        var pair = Array.isArray(c) ? c : [c, ''];
        row.appendChild(el('td', pair[1], pair[0]));
      });
    });
    return t;
  }
  function card(title, note, body, id) {
    var c = el('section', 'card'), h = el('h2', '', title);
    if (id) c.id = id;
    if (note) h.appendChild(el('span', 'note', note));
    c.appendChild(h);
    if (body) c.appendChild(body);
    return c;
  }
  function empty(text) { return el('div', 'empty', text); }
  function tag(text, cls) { return el('span', 'tag ' + (cls || ''), text); }
  function kpi(label, value, sub, cls, pct) {
    var k = el('div', 'kpi ' + (cls || ''));
    k.appendChild(el('div', 'label', label));
    k.appendChild(el('div', 'value', value));
    if (sub) k.appendChild(el('div', 'sub', sub));
    if (pct !== undefined) { var b = k.appendChild(el('div', 'bar')).appendChild(el('div')); b.style.width = Math.min(100, pct) + '%'; }
    return k;
  }
  function sum(o) { return Object.keys(o || {}).reduce(function (a, k) { return a + o[k]; }, 0); }

  function kpis(o) {
    var s = o.status, t = s.total, th = s.throughput;
    var cdn = th.byMode.filter(function (r) { return r.mode === 'cdnTransfer'; })[0];
    var failed = sum(s.failedObjects);
    var live = s.claims.syncCheck.live + s.claims.rsync.live, stale = s.claims.syncCheck.stale + s.claims.rsync.stale;
    var ex = s.excluded.archived.objects + s.excluded.unmigratable.objects;
    var workers = s.pace.workers.reduce(function (a, w) { return a + w.live; }, 0);
    var box = el('div', 'kpis');
    box.id = 'kpis';
    [
      kpi('Done (bytes)', t.bytesPercentDone + '%', bytes(s.phases['checked equal'].s3Bytes) + ' verified of ' + bytes(t.s3Bytes), t.bytesPercentDone >= 100 ? 'ok' : '', t.bytesPercentDone),
      kpi('Done (objects)', t.objectsPercentDone + '%', int(s.phases['checked equal'].s3Objects) + ' verified of ' + int(t.s3Objects), t.objectsPercentDone >= 100 ? 'ok' : '', t.objectsPercentDone),
      kpi('Bytes in GCS', bytes(t.gcsBytes), 'S3: ' + bytes(t.s3Bytes)),
      kpi('Objects in GCS', int(t.gcsObjects), 'S3: ' + int(t.s3Objects) + ' in ' + int(t.subfolders) + ' subfolders'),
      kpi('Copy rate', cdn ? cdn.objectsPerSecond + ' obj/s' : '-', cdn ? cdn.mibPerSecond + ' MiB/s, last ' + Math.round(th.windowSeconds / 60) + ' min' : 'no copies in the last hour'),
      kpi('ETA', dur(th.etaSeconds), bytes(th.remainingBytes) + ' left to copy'),
      kpi('Failed objects', int(failed), int(s.phases.failed.subfolders) + ' subfolder(s) failed', failed + s.phases.failed.subfolders > 0 ? 'bad' : 'ok'),
      kpi('Claims', int(live) + ' live', int(stale) + ' stale', stale > 0 ? 'warn' : ''),
      kpi('Archived / excluded', int(ex), int(s.excluded.archived.objects) + ' archived, ' + int(s.excluded.unmigratable.objects) + ' unmigratable', ex > 0 ? 'warn' : ''),
      kpi('Workers live', int(workers), s.pace.workers.map(function (w) { return w.live + ' ' + w.mode; }).join(', ') || 'none'),
    ].forEach(function (k) { box.appendChild(k); });
    return box;
  }

  /** One uPlot per chart, kept across updates: setData moves the lines without a reload. */
  function chart(id, series, field, unit) {
    var holder = $(id);
    var modes = Object.keys(series.modes).sort();
    var data = [series.t].concat(modes.map(function (m) { return series.modes[m][field]; }));
    var sig = modes.join(',');
    // For tests and curious operators: how many points, and their sum, the chart holds now.
    holder.setAttribute('data-points', String(series.t.length));
    holder.setAttribute('data-sum', String(data.slice(1).reduce(function (a, v) { return a + v.reduce(function (x, y) { return x + y; }, 0); }, 0)));
    var c = charts[id];
    if (c && c.sig === sig && series.t.length) { c.t = series.t; c.plot.setData(data); return; }
    if (c) { c.plot.destroy(); delete charts[id]; }
    holder.replaceChildren();
    if (!series.t.length) { holder.appendChild(empty('no worker activity recorded in this window')); return; }
    var opts = {
      width: Math.max(300, holder.clientWidth || 600), height: 220,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'); },
      // At least ten buckets wide: one point alone would otherwise stretch the axis over years.
      scales: { x: { time: true, range: function () {
        var t = charts[id] ? charts[id].t : series.t, last = t[t.length - 1];
        return [Math.min(t[0], last - 10 * series.spanSeconds), last + series.spanSeconds / 2];
      } } },
      axes: [{ stroke: '#5f6b7a', grid: { stroke: '#eef1f5' } }, { label: unit, stroke: '#5f6b7a', grid: { stroke: '#eef1f5' }, size: 60 }],
      series: [{ label: 'UTC' }].concat(modes.map(function (m) {
        return { label: m, stroke: colorOf(m), width: 2, fill: colorOf(m) + '1f', points: { show: series.t.length < 40 } };
      })),
    };
    charts[id] = { sig: sig, t: series.t, plot: new uPlot(opts, data, holder) };
  }

  function tables(o) {
    var s = o.status, f = o.failures, out = el('div', 'grid');
    out.id = 'tables';
    var phaseRows = Object.keys(s.phases).map(function (p) {
      var x = s.phases[p];
      return [p, [int(x.subfolders), 'num'], [bytes(x.s3Bytes), 'num'], [bytes(x.gcsBytes), 'num'], [int(x.s3Objects), 'num'], [int(x.gcsObjects), 'num']];
    });
    phaseRows.push([['total', ''], [int(s.total.subfolders), 'num'], [bytes(s.total.s3Bytes), 'num'], [bytes(s.total.gcsBytes), 'num'], [int(s.total.s3Objects), 'num'], [int(s.total.gcsObjects), 'num']]);
    out.appendChild(card('Subfolders by phase', 'S3 vs GCS', table([['phase'], ['subfolders', 'num'], ['S3 bytes', 'num'], ['GCS bytes', 'num'], ['S3 objects', 'num'], ['GCS objects', 'num']], phaseRows), 'phases'));

    var byReason = Object.keys(s.failedObjects);
    out.appendChild(card('Failed objects, newest', int(sum(s.failedObjects)) + ' open: ' + (byReason.map(function (r) { return r + ' ' + int(s.failedObjects[r]); }).join(', ') || 'none'),
      f.newest.length ? table([['last failed'], ['reason'], ['key'], ['message'], ['tries', 'num']], f.newest.map(function (e) {
        return [when(e.lastFailedAt), tag(e.reasonClass, 'bad'), [e.key, 'key'], [e.message, 'msg'], [int(e.attempts), 'num']];
      })) : empty('no open entries in the failed-object ledger'), 'failed'));

    out.appendChild(card('Top failing subfolders', f.topDirsExact ? 'open ledger entries' : 'sampled from the first open entries',
      f.topDirs.length ? table([['subfolder'], ['open', 'num']], f.topDirs.map(function (d) { return [[d.dirKey, 'key'], [int(d.open), 'num']]; })) : empty('none'), 'topdirs'));

    out.appendChild(card('Recent subfolder errors', 'phase failed, newest first',
      s.recentErrors.length ? table([['at'], ['mode'], ['subfolder'], ['error']], s.recentErrors.map(function (e) {
        return [when(e.at), e.mode, [e.dirKey, 'key'], [e.error, 'msg']];
      })) : empty('none'), 'errors'));

    var workers = s.throughput.byWorker;
    out.appendChild(card('Per-worker rates', 'last ' + Math.round(s.throughput.windowSeconds / 60) + ' min',
      workers.length ? table([['mode'], ['worker'], ['host'], ['obj/s', 'num'], ['MiB/s', 'num'], ['copied', 'num'], ['skipped', 'num'], ['failed', 'num']], workers.map(function (w) {
        return [w.mode, [w.workerId, 'key'], w.host, [w.objectsPerSecond, 'num'], [w.mibPerSecond, 'num'], [int(w.copiedObjects), 'num'], [int(w.skippedObjects), 'num'], [int(w.failedObjects), 'num']];
      })) : empty('no worker activity in that time'), 'workers'));

    var claimRows = [];
    ['syncCheck', 'rsync'].forEach(function (m) {
      s.claims[m].sample.forEach(function (c) { claimRows.push([m, tag(c.stale ? 'stale' : 'live', c.stale ? 'warn' : ''), [c.dirKey, 'key'], [c.owner || '-', 'key'], when(c.leaseUntil)]); });
    });
    var claims = el('div');
    claims.appendChild(table([['mode'], ['live', 'num'], ['stale', 'num']], ['syncCheck', 'rsync'].map(function (m) { return [m, [int(s.claims[m].live), 'num'], [int(s.claims[m].stale), 'num']]; })));
    if (claimRows.length) claims.appendChild(table([['mode'], ['state'], ['subfolder'], ['owner'], ['lease until']], claimRows));
    out.appendChild(card('Claims', 'stale ones are taken over by the next worker', claims, 'claims'));

    var exRows = [];
    ['archived', 'unmigratable'].forEach(function (k) {
      s.excluded[k].sample.forEach(function (d) { d.keys.slice(0, 3).forEach(function (x) { exRows.push([k, [x.key, 'key'], [x.why, 'msg']]); }); });
    });
    var ex = el('div');
    ex.appendChild(table([['kind'], ['objects', 'num'], ['bytes', 'num'], ['subfolders', 'num']], ['archived', 'unmigratable'].map(function (k) {
      var e = s.excluded[k]; return [k, [int(e.objects), 'num'], [bytes(e.bytes), 'num'], [int(e.subfolders), 'num']];
    })));
    if (exRows.length) ex.appendChild(table([['kind'], ['key'], ['why']], exRows));
    out.appendChild(card('Archived and excluded objects', 'in scope, not in GCS', ex, 'excluded'));
    return out;
  }

  function skeleton(app) {
    app.replaceChildren(el('div', 'kpis'));
    app.firstChild.id = 'kpis';
    var grid = app.appendChild(el('div', 'grid'));
    [['chart-objects', 'Objects copied per second', 'per minute, last hours, by mode'],
     ['chart-mib', 'MiB copied per second', 'per minute, last hours, by mode'],
     ['chart-hours', 'Objects copied per second, hourly', 'last 30 days, by mode'],
     ['chart-failed', 'Objects failed per minute', 'last hours, by mode']].forEach(function (c) {
      var body = el('div', 'chart'); body.id = c[0];
      grid.appendChild(card(c[1], c[2], body));
    });
    app.appendChild(el('div', 'grid')).id = 'tables';
  }

  var updates = 0;
  function render(o) {
    var app = $('app');
    if (!$('kpis')) skeleton(app);
    $('kpis').replaceWith(kpis(o));
    chart('chart-objects', o.history.minutes, 'objectsPerSecond', 'objects/s');
    chart('chart-mib', o.history.minutes, 'mibPerSecond', 'MiB/s');
    chart('chart-hours', o.history.hours, 'objectsPerSecond', 'objects/s');
    chart('chart-failed', o.history.minutes, 'failedObjects', 'objects');
    $('tables').replaceWith(tables(o));
    $('table-name').textContent = o.table;
    $('generated').textContent = 'as of ' + when(o.generatedAt) + ' (' + o.queryMs + ' ms)';
    app.setAttribute('data-updates', String(++updates));
  }
  function live(on, text) { var l = $('live'); l.className = 'live ' + (on ? 'on' : 'off'); l.textContent = text; }
  function problem(text) { var b = $('banner'); b.textContent = text || ''; b.className = 'banner' + (text ? ' show' : ''); }

  var embedded = $('ott-data');
  if (embedded) { render(JSON.parse(embedded.textContent)); live(true, 'report'); return; }
  var es = new EventSource('api/events');
  es.addEventListener('overview', function (e) { problem(''); live(true, 'live'); render(JSON.parse(e.data)); });
  es.addEventListener('problem', function (e) { problem(JSON.parse(e.data).message); });
  es.onerror = function () { live(false, 'reconnecting'); };
  window.addEventListener('resize', function () {
    Object.keys(charts).forEach(function (id) { charts[id].plot.setSize({ width: Math.max(300, $(id).clientWidth), height: 220 }); });
  });
})();
`;
