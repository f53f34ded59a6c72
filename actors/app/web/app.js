// The orderbook page of jm-multidir (docs/watcher.md). No build step, no dependency.
//
// It polls /api/orderbook and /api/directories and redraws the offer table, the two SVG
// pictures and the directories table. Every string in that JSON came from the network
// (nicks, features, bond fields), so the DOM is built with createElement and
// textContent only: nothing here parses data as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const SAT = 1e8;
const state = {
  book: null, dirs: null, received: 0, pollError: null,
  sort: { key: "fee", dir: 1 }, unit: "sat", amount: 0.1 * SAT,
};

// -- helpers -------------------------------------------------------------------------------

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

const satFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

function amountText(sat) {
  return state.unit === "btc" ? (sat / SAT).toFixed(8) : satFmt.format(sat);
}

function ago(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return `${(seconds / 3600).toFixed(1)} h ago`;
}

// "abcdefgh…:5222" for a 56-character onion name; the full name goes in a tooltip.
function shortDirectory(name) {
  const match = /^([a-z2-7]{8})[a-z2-7]{48}\.onion(:\d+)$/.exec(name);
  return match ? `${match[1]}…${match[2]}` : name;
}

function isoTime(unix) {
  return unix ? new Date(unix * 1000).toISOString().replace(".000", "") : "";
}

// The fee an offer charges for a CoinJoin of `size` sat, in sat.
function feeSat(offer, size) {
  const fee = Number(offer.cjfee);
  return offer.cjfee_kind === "relative" ? fee * size : fee;
}

// That fee in the chosen unit: a number for sorting and charts.
function feeInUnit(offer, size) {
  const sat = feeSat(offer, size);
  if (state.unit === "pct") return size > 0 ? (100 * sat) / size : 0;
  return state.unit === "btc" ? sat / SAT : sat;
}

function feeText(value) {
  if (state.unit === "pct") return `${value.toPrecision(3)} %`;
  if (state.unit === "btc") return `${value.toFixed(8)} BTC`;
  return `${satFmt.format(value)} sat`;
}

function offeredText(offer) {
  if (offer.cjfee_kind === "relative") return `rel ${(Number(offer.cjfee) * 100).toPrecision(3)} %`;
  return `abs ${satFmt.format(Number(offer.cjfee))} sat`;
}

function bondText(bond) {
  if (!bond) return "none";
  const unlock = new Date(bond.locktime * 1000).toISOString().slice(0, 10);
  return `${bond.proof_verified ? "verified" : "unverified"}, until ${unlock}`;
}

// -- offers ----------------------------------------------------------------------------------

const SORT_VALUES = {
  maker: (o) => o.maker, oid: (o) => o.oid, ordertype: (o) => o.ordertype,
  minsize: (o) => o.minsize, maxsize: (o) => o.maxsize, txfee: (o) => o.txfee,
  fee: (o) => feeInUnit(o, state.amount), bond: (o) => (o.bond ? o.bond.locktime : -1),
  directories: (o) => o.directories.length, direct: (o) => o.direct,
};

function visibleOffers() {
  if (!state.book) return [];
  const type = document.getElementById("type").value;
  const directory = document.getElementById("directory").value;
  const text = document.getElementById("search").value.trim().toLowerCase();
  const rows = state.book.offers.filter((o) => {
    if (type && o.ordertype !== type) return false;
    if (directory && !o.directories.includes(directory)) return false;
    if (!text) return true;
    const haystack = [o.maker, String(o.oid), o.ordertype, o.direct, ...o.features,
      ...o.directories, o.bond ? o.bond.utxo_txid : ""].join(" ").toLowerCase();
    return haystack.includes(text);
  });
  const value = SORT_VALUES[state.sort.key];
  rows.sort((a, b) => {
    const x = value(a), y = value(b);
    const order = x < y ? -1 : x > y ? 1 : 0;
    return order * state.sort.dir || (a.maker < b.maker ? -1 : a.maker > b.maker ? 1 : a.oid - b.oid);
  });
  return rows;
}

function offerRow(o) {
  const tr = el("tr");
  tr.dataset.maker = o.maker;
  tr.dataset.oid = String(o.oid);
  if (state.amount < o.minsize || state.amount > o.maxsize) tr.classList.add("out-of-range");
  const maker = el("td", o.maker, "maker");
  if (o.features.length) maker.title = `features: ${o.features.join(", ")}`;
  if (!o.signed) maker.append(el("div", "unsigned announcement", "sub"));
  const fee = el("td", feeText(feeInUnit(o, state.amount)), "num");
  fee.append(el("div", offeredText(o), "sub"));
  const bond = el("td", bondText(o.bond), o.bond ? "bond" : "bond none");
  if (o.bond) bond.title = `utxo ${o.bond.utxo_txid}:${o.bond.utxo_vout}\ncert expiry ${o.bond.cert_expiry}`;
  const dirs = el("td", o.directories.map(shortDirectory).join(", ") || "none", "dirs");
  dirs.title = o.directories.join("\n");
  tr.append(maker, el("td", o.oid, "num"), el("td", o.ordertype), el("td", amountText(o.minsize), "num"),
    el("td", amountText(o.maxsize), "num"), el("td", amountText(o.txfee), "num"), fee, bond,
    dirs, el("td", o.direct, `direct ${o.direct}`));
  return tr;
}

function fillSelect(id, values) {
  const select = document.getElementById(id);
  const current = select.value;
  const have = Array.from(select.options).slice(1).map((opt) => opt.value);
  if (have.join("\n") === values.join("\n")) return;
  while (select.options.length > 1) select.remove(1);
  for (const value of values) {
    const option = el("option", shortDirectory(value));
    option.value = value;
    select.append(option);
  }
  select.value = values.includes(current) ? current : "";
}

function renderOffers() {
  const body = document.querySelector("#offers tbody");
  clear(body);
  const rows = visibleOffers();
  for (const offer of rows) body.append(offerRow(offer));
  const total = state.book ? state.book.offers.length : 0;
  const makers = new Set(rows.map((o) => o.maker)).size;
  document.getElementById("count").textContent = `${rows.length} of ${total} offers, ${makers} makers`;
  for (const th of document.querySelectorAll("#offers th[data-key]")) {
    const sorted = th.dataset.key === state.sort.key;
    th.setAttribute("aria-sort", sorted ? (state.sort.dir > 0 ? "ascending" : "descending") : "none");
  }
  drawFeeChart(rows);
  drawSizeChart(rows);
}

// -- pictures --------------------------------------------------------------------------------

const PLOT = { left: 72, right: 28, top: 12, bottom: 40, width: 520, height: 300 };

function axes(chart, xTicks, yTicks, xLabel, yLabel) {
  const { left, right, top, bottom, width, height } = PLOT;
  chart.append(svg("line", { x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, class: "axis" }));
  chart.append(svg("line", { x1: left, y1: top, x2: left, y2: height - bottom, class: "axis" }));
  for (const [x, text] of xTicks) {
    chart.append(svg("line", { x1: x, y1: height - bottom, x2: x, y2: height - bottom + 4, class: "axis" }));
    chart.append(svg("text", { x, y: height - bottom + 16, "text-anchor": "middle", class: "tick" }, text));
  }
  for (const [y, text] of yTicks) {
    chart.append(svg("line", { x1: left - 4, y1: y, x2: width - right, y2: y, class: "grid" }));
    chart.append(svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "tick" }, text));
  }
  chart.append(svg("text", { x: (left + width - right) / 2, y: height - 4, "text-anchor": "middle", class: "label" }, xLabel));
  const middle = (top + height - bottom) / 2;
  chart.append(svg("text", { x: 12, y: middle, "text-anchor": "middle", class: "label", transform: `rotate(-90 12 ${middle})` }, yLabel));
}

function logTicks(lo, hi, scale) {
  const ticks = [];
  for (let p = Math.ceil(lo); p <= Math.floor(hi); p += 1) {
    const sat = 10 ** p;
    ticks.push([scale(p), sat >= 1e6 ? `${sat / SAT} BTC` : `${satFmt.format(sat)} sat`]);
  }
  return ticks;
}

function message(chart, text) {
  chart.append(svg("text", { x: PLOT.width / 2, y: PLOT.height / 2, "text-anchor": "middle", class: "label" }, text));
}

function drawFeeChart(offers) {
  const chart = document.getElementById("fee-chart");
  clear(chart);
  if (!offers.length) return message(chart, "no offers");
  const { left, right, top, bottom, width, height } = PLOT;
  const lo = Math.log10(Math.max(1, Math.min(...offers.map((o) => o.minsize))));
  const hi = Math.max(lo + 1, Math.log10(Math.max(...offers.map((o) => o.maxsize))));
  const x = (p) => left + ((p - lo) / (hi - lo)) * (width - left - right);
  const lines = offers.map((o) => {
    const a = Math.log10(Math.max(1, o.minsize)), b = Math.log10(Math.max(1, o.maxsize));
    const points = [];
    for (let i = 0; i <= 24; i += 1) {
      const p = a + ((b - a) * i) / 24;
      points.push([p, feeInUnit(o, 10 ** p)]);
    }
    return { offer: o, points };
  });
  const values = lines.flatMap((line) => line.points.map((pt) => pt[1])).sort((m, n) => m - n);
  // with many offers one outlier must not flatten the rest: clip the top 2 %
  const ymax = values[lines.length >= 20 ? Math.floor(0.98 * (values.length - 1)) : values.length - 1] || 1;
  const y = (v) => height - bottom - (Math.min(v, ymax) / ymax) * (height - top - bottom);
  const yTicks = [0, 0.5, 1].map((f) => [y(f * ymax), feeText(f * ymax)]);
  axes(chart, logTicks(lo, hi, x), yTicks, "CoinJoin size (log)", "cj fee");
  for (const { offer, points } of lines) {
    const line = svg("polyline", {
      points: points.map(([p, v]) => `${x(p).toFixed(1)},${y(v).toFixed(1)}`).join(" "),
      class: `series ${offer.cjfee_kind}`,
    });
    line.append(svg("title", {}, `${offer.maker} #${offer.oid} ${offeredText(offer)}`));
    chart.append(line);
  }
  const at = Math.log10(Math.max(1, state.amount));
  if (at >= lo && at <= hi) {
    chart.append(svg("line", { x1: x(at), y1: top, x2: x(at), y2: height - bottom, class: "marker" }));
  }
}

function drawSizeChart(offers) {
  const chart = document.getElementById("size-chart");
  clear(chart);
  if (!offers.length) return message(chart, "no offers");
  const { left, right, top, bottom, width, height } = PLOT;
  const step = 0.25;  // four bins per decade
  const logs = offers.map((o) => Math.log10(Math.max(1, o.maxsize)));
  const lo = Math.floor(Math.min(...logs)), hi = Math.max(lo + 1, Math.ceil(Math.max(...logs) + 1e-9));
  const bins = new Array(Math.round((hi - lo) / step)).fill(0);
  for (const l of logs) bins[Math.min(bins.length - 1, Math.floor((l - lo) / step))] += 1;
  const most = Math.max(...bins);
  const x = (p) => left + ((p - lo) / (hi - lo)) * (width - left - right);
  const y = (n) => height - bottom - (n / most) * (height - top - bottom);
  const yTicks = [0, Math.ceil(most / 2), most].map((n) => [y(n), String(n)]);
  axes(chart, logTicks(lo, hi, x), yTicks, "maximum size (log)", "offers");
  bins.forEach((count, i) => {
    if (!count) return;
    const x0 = x(lo + i * step), x1 = x(lo + (i + 1) * step);
    const bar = svg("rect", { x: x0 + 1, y: y(count), width: Math.max(1, x1 - x0 - 2), height: y(0) - y(count), class: "bar" });
    bar.append(svg("title", {}, `${count} offers`));
    chart.append(bar);
  });
}

// -- directories -----------------------------------------------------------------------------

function renderDirectories() {
  const body = document.querySelector("#directories tbody");
  clear(body);
  if (!state.dirs) return;
  const now = state.dirs.now;
  for (const d of state.dirs.directories) {
    const tr = el("tr", null, d.up ? "up" : "down");
    tr.dataset.name = d.name;
    tr.dataset.state = d.state;
    // "retrying in 4 s": the next attempt, counted from the process's clock
    const wait = d.next_retry === null ? null : Math.max(0, Math.round(d.next_retry - now));
    const stateCell = el("td", wait === null ? d.state : `${d.state} in ${wait} s`, "state");
    stateCell.title = d.detail;
    const since = el("td", d.since ? ago(now - d.since) : "");
    since.title = isoTime(d.since);
    const attempts = d.failures ? ` (${d.failures} failed attempt${d.failures === 1 ? "" : "s"})` : "";
    const error = el("td", d.last_error ? `${d.last_error}${attempts}` : "none", "error");
    const name = el("td", shortDirectory(d.name), "name");
    name.title = d.name;
    tr.append(name, stateCell, since, error,
      el("td", d.nicks, "num"), el("td", d.makers, "num"), el("td", d.offers, "num"));
    body.append(tr);
  }
  document.getElementById("peers").textContent =
    `${state.dirs.direct_peers} direct maker connections, ${state.dirs.tracked_nicks} nicks tracked`;
  fillSelect("directory", state.dirs.directories.map((d) => d.name));
}

// -- status line -----------------------------------------------------------------------------

function renderAge() {
  const age = document.getElementById("age");
  const problem = document.getElementById("problem");
  const book = state.book;
  if (!book) {
    age.textContent = state.pollError ? "no data yet" : "loading…";
  } else {
    const since = (Date.now() - state.received) / 1000;
    const parts = [];
    if (!book.watching) parts.push("not watching: start the process with 'jm-multidir watch' to fetch the orderbook");
    else if (book.fetched_at === null) parts.push(`no orderbook yet (${book.state})`);
    else {
      parts.push(`orderbook fetched ${ago(book.age_seconds + since)} in ${book.fetch_seconds.toFixed(1)} s`);
      parts.push(`refreshed every ${book.interval} s`, book.state);
    }
    parts.push(`page updated ${ago(since)}`);
    age.textContent = parts.join(" · ");
  }
  const trouble = state.pollError || (book && book.last_error);
  problem.hidden = !trouble;
  problem.textContent = trouble ? `problem: ${trouble}` : "";
}

// -- polling ---------------------------------------------------------------------------------

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

async function poll() {
  let delay = 2000;
  try {
    const [book, dirs] = await Promise.all([getJson("/api/orderbook"), getJson("/api/directories")]);
    state.book = book;
    state.dirs = dirs;
    state.received = Date.now();
    state.pollError = null;
    delay = 1000 * (book.poll_seconds || 2);
    fillSelect("type", Array.from(new Set(book.offers.map((o) => o.ordertype))).sort());
    renderDirectories();
    renderOffers();
  } catch (error) {
    state.pollError = `cannot reach the process (${error.message}); showing older data`;
  }
  renderAge();
  document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
  setTimeout(poll, delay);
}

function start() {
  for (const th of document.querySelectorAll("#offers th[data-key]")) {
    const sortBy = () => {
      const key = th.dataset.key;
      state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
      renderOffers();
    };
    th.tabIndex = 0;  // sortable from the keyboard too
    th.addEventListener("click", sortBy);
    th.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        sortBy();
      }
    });
  }
  for (const id of ["type", "directory", "search"]) {
    document.getElementById(id).addEventListener("input", renderOffers);
  }
  document.getElementById("unit").addEventListener("change", (event) => {
    state.unit = event.target.value;
    renderOffers();
  });
  const amount = document.getElementById("amount");
  amount.addEventListener("input", () => {
    const btc = Number(amount.value);
    const ok = amount.value.trim() !== "" && Number.isFinite(btc) && btc > 0;
    amount.classList.toggle("invalid", !ok);
    if (ok) {
      state.amount = Math.round(btc * SAT);
      renderOffers();
    }
  });
  document.getElementById("controls").addEventListener("submit", (event) => event.preventDefault());
  setInterval(renderAge, 1000);
  poll();
}

document.addEventListener("DOMContentLoaded", start);
