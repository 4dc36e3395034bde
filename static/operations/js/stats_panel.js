// The admin's WebSocket stats panel: polls /api/admin/websocket-stats/ every 5 s and renders
// the numbers, the hour-long charts (server-side history, one point a minute) and the tables.
// Hand-written SVG polylines: four small charts do not justify a charting library and a build.

const root = document.getElementById("ws-stats");

function pick(data, path) {
  return path.split(".").reduce((value, key) => (value == null ? undefined : value[key]), data);
}

function formatStat(value, unit) {
  if (value === null || value === undefined) return "–";
  if (unit === "%") return `${(value * 100).toFixed(2)} %`;
  if (unit === "ms") return `${Number(value).toFixed(1)}`;
  if (unit === "/min") return Number(value).toFixed(2);
  return Number(value).toLocaleString("en-US");
}

function setRows(table, rows) {
  const body = table.tBodies[0];
  body.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement("tr");
      cells.forEach((cell, index) => {
        const td = document.createElement(index === 0 && cells.length === 2 ? "th" : "td");
        td.textContent = cell === null || cell === undefined ? "–" : String(cell);
        tr.append(td);
      });
      return tr;
    }),
  );
  if (!rows.length) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.textContent = "none";
    tr.append(td);
    body.append(tr);
  }
}

function drawChart(svg, points, key) {
  const values = points.map((p) => (p[key] === null || p[key] === undefined ? null : Number(p[key])));
  const known = values.filter((v) => v !== null);
  const max = Math.max(1, ...known);
  const width = 300;
  const height = 80;
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const coords = [];
  values.forEach((v, i) => {
    // The top 16 px are the label's.
    if (v !== null) coords.push(`${(i * step).toFixed(1)},${(height - 4 - (v / max) * (height - 20)).toFixed(1)}`);
  });
  const ns = "http://www.w3.org/2000/svg";
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", coords.join(" "));
  // The newest point as a dot: with a single sample there is no line to draw yet.
  const dot = document.createElementNS(ns, "circle");
  if (coords.length) {
    const [x, y] = coords[coords.length - 1].split(",");
    dot.setAttribute("cx", x);
    dot.setAttribute("cy", y);
    dot.setAttribute("r", "2.5");
  }
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", "2");
  label.setAttribute("y", "10");
  const last = known.length ? known[known.length - 1] : null;
  label.textContent = known.length
    ? `max ${max.toLocaleString("en-US")} · now ${last.toLocaleString("en-US")} · ${values.length} min`
    : "no samples yet (one a minute)";
  svg.replaceChildren(line, dot, label);
  svg.dataset.points = String(known.length);
}

function render(data) {
  for (const output of root.querySelectorAll("[data-stat]")) {
    output.textContent = formatStat(pick(data, output.dataset.stat), output.dataset.unit);
  }
  for (const svg of root.querySelectorAll("[data-chart]")) drawChart(svg, data.history || [], svg.dataset.chart);
  const rollout = data.rollout || {};
  setRows(root.querySelector('[data-table="rollout"]'), [
    ["flag", rollout.flag],
    ["mode", rollout.mode],
    ["percent", rollout.percent === null ? "–" : `${rollout.percent} %`],
    ["users", (rollout.users || []).join(", ") || "–"],
    ["groups", (rollout.groups || []).join(", ") || "–"],
    ["cohort", `${rollout.cohortSize} of ${rollout.totalUsers} users`],
  ]);
  setRows(root.querySelector('[data-table="channels"]'), Object.entries(data.channels || {}));
  const closes = data.closes || { window: {}, total: {} };
  const codes = [...new Set([...Object.keys(closes.total), ...Object.keys(closes.window)])].sort();
  setRows(root.querySelector('[data-table="closes"]'), codes.map((code) => [code, `${closes.window[code] || 0} / ${closes.total[code] || 0}`]));
  setRows(root.querySelector('[data-table="errors"]'), Object.entries(data.errorsByCode || {}));
  const queue = data.orderQueue || {};
  setRows(root.querySelector('[data-table="orderQueue"]'), [
    ["queued", queue.queued],
    ["running", queue.running],
    ["failed", queue.failed],
    ["oldest queued", queue.oldestQueuedAgeSeconds === null ? "–" : `${queue.oldestQueuedAgeSeconds} s`],
  ]);
  const streams = data.brokerStreams || { connected: {}, reconnects: {} };
  const names = [...new Set([...Object.keys(streams.connected), ...Object.keys(streams.reconnects)])].sort();
  setRows(
    root.querySelector('[data-table="brokerStreams"]'),
    names.map((name) => [name, `${streams.connected[name] || 0} connected, ${streams.reconnects[name] || 0} reconnects (5 min)`]),
  );
  const processes = root.querySelector('[data-table="processes"]');
  setRows(
    processes,
    (data.processes || []).map((p) => [p.id, p.role, p.pid, p.startedAt, `${p.lastReportAgeSeconds} s ago`, p.activeConnections, p.totalMessages]),
  );
  processes.dataset.count = String((data.processes || []).length);
}

async function refresh() {
  const updated = root.querySelector("[data-stats-updated]");
  const error = root.querySelector("[data-stats-error]");
  try {
    const response = await fetch(root.dataset.statsUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(`the stats endpoint answered ${response.status}`);
    const data = await response.json();
    render(data);
    root.dataset.stale = "false";
    root.dataset.loaded = "true";
    error.hidden = true;
    updated.textContent = `Updated ${new Date().toLocaleTimeString()} (${data.mode} mode, ${(data.processes || []).length} process(es))`;
  } catch (failure) {
    root.dataset.stale = "true";
    error.hidden = false;
    error.textContent = `Could not refresh: ${failure.message}. Showing the last numbers.`;
  }
}

if (root) {
  refresh();
  window.setInterval(refresh, Number(root.dataset.refreshMs) || 5000);
}
