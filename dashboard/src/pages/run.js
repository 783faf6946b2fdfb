// Run page: one crawl's counters, coverage per page type (and item type), monitor results and
// log; while the crawl runs, progress and log lines arrive as server-sent events and the page
// follows them live: counters, rate, ETA, a progress bar when a total is known, and a duration
// that ticks every second. Every figure is the service's (crawler/runs/figures.py).

import { ApiError, errorText, events, get, post } from "../api.js";
import { badge, duration, h, num, pct, replace, seconds, when } from "../dom.js";
import { statusText, t } from "../i18n.js";
import { logView } from "../logview.js";
import { mebibytes } from "../noderows.js";
import { can } from "../session.js";
import { drawChain } from "./chain.js";

const COUNTERS = [
  "pages",
  "items",
  "new",
  "updated",
  "unchanged",
  "dead",
  "spilled",
  "errors",
  "bans",
];
const LIVE_COUNTERS = ["rate", "queue", "eta"];
const TICK_MS = 1000; // the live duration's tick
const START_WAIT_MS = 15000; // how long a just-started run may take to have a record
const WORKERS_MS = 3000; // a run on nodes: its workers read again this often while it runs
const WORKER_COLUMNS = ["worker", "node", "state", "pid", "pages", "items", "rate", "memory"];

export async function render(main, [runId]) {
  let closeStream = null;
  let record = await waitForRecord(runId, main);

  const status = h("p.notice", { role: "status", "aria-live": "polite" });
  const head = h("div.run-head");
  // chained runs: what started this one, its rule's predecessors and successors (chain.js)
  const chain = h("section#chain", { "aria-labelledby": "chain-h", hidden: true });
  const bar = h("div#run-progress");
  const counters = h("dl.counters#counters");
  let ticker = null;
  let clock = null; // {elapsed, at}: the service's elapsed seconds, and when they arrived
  const coverage = h("div#coverage");
  const monitors = h("div#monitors");
  // a run on nodes: the node it ran on, or a distributed run's workers (crawler/nodes)
  const workers = h("section#workers", { "aria-labelledby": "workers-h", hidden: true });
  let workersTimer = null;
  // the log as records (levels, the start-up dump folded), read from where it was left
  const log = logView({ runId, workers: record.workers, live: () => record.live });

  replace(
    main,
    h("h1", t("run.title"), " ", h("code", runId)),
    head,
    status,
    chain,
    h(
      "section",
      { "aria-labelledby": "counters-h" },
      h("h2#counters-h", t("run.counters")),
      bar,
      counters,
    ),
    workers,
    h(
      "div.columns",
      h(
        "section",
        { "aria-labelledby": "coverage-h" },
        h("h2#coverage-h", t("run.coverage")),
        coverage,
      ),
      h(
        "section",
        { "aria-labelledby": "monitors-h" },
        h("h2#monitors-h", t("run.monitors")),
        monitors,
      ),
    ),
    h("section", { "aria-labelledby": "log-h" }, h("h2#log-h", t("run.log")), log.element),
  );

  function drawHead() {
    const live = record.live;
    replace(
      head,
      h(
        "dl.facts",
        fact(
          t("run.rule"),
          h("a", { href: `#/rules/${encodeURIComponent(record.rule)}` }, record.rule),
        ),
        // what this run stored, new and updated (runchanges.js)
        fact(
          t("changes.link"),
          h("a#run-changes", { href: `#/runs/${encodeURIComponent(runId)}/changes` }, "→"),
        ),
        fact(
          t("run.status"),
          h(
            "span#run-status",
            badge(live ? "running" : record.status, statusText(live ? "running" : record.status)),
          ),
        ),
        fact(t("run.exitCode"), record.exit_code ?? "—"),
        fact(t("run.started"), when(record.started_at)),
        fact(t("run.finished"), when(record.finished_at)),
        fact(
          t("run.duration"),
          h("span#run-duration", duration(record.started_at, record.finished_at)),
        ),
        fact(t("run.finishReason"), record.finish_reason || "—"),
      ),
      live && can("editor")
        ? h("button.danger", { type: "button", onclick: stop }, t("action.stop"))
        : null,
    );
  }

  function drawCounters(values) {
    const names = record.live
      ? [...COUNTERS, "errorRate", ...LIVE_COUNTERS]
      : [...COUNTERS, "errorRate"];
    replace(
      counters,
      names.map((name) =>
        h(
          "div",
          { dataset: { counter: name } },
          h("dt", t(`counter.${name}`)),
          h("dd", counterText(name, values)),
        ),
      ),
    );
    drawProgress(values);
  }

  function drawProgress(values) {
    // the total the service measures this crawl against: a CLOSESPIDER_* limit, the last run
    const total = values.total ?? record.expected?.total;
    const unit = (values.unit ?? record.expected?.unit) === "items" ? "items" : "pages";
    if (!record.live || !total) return replace(bar);
    const done = Math.min(values[unit] || 0, total);
    replace(
      bar,
      h("progress", { max: total, value: done, "aria-label": t("run.progress") }),
      " ",
      h(
        "span.small",
        t("run.progressOf", {
          done: num(done),
          total: num(total),
          unit: t(`unit.${unit}`),
        }),
      ),
    );
  }

  function tick() {
    const since = head.querySelector("#run-duration");
    if (!since) return;
    if (clock && record.live) {
      since.textContent = seconds(clock.elapsed + (Date.now() - clock.at) / 1000);
    } else {
      since.textContent = duration(record.started_at, record.finished_at);
    }
  }

  function drawCoverage() {
    const pages = Object.entries(record.coverage || {});
    const types = Object.entries(record.coverage_item_types || {});
    if (!pages.length) return replace(coverage, h("p.muted", t("run.noCoverage")));
    replace(
      coverage,
      pages.map(([page, entry]) =>
        coverageTable(
          { pageType: page },
          page === "*"
            ? t("run.allPages")
            : t("run.pageType", { page, items: num(entry.items) }) +
                (entry.item_type ? ` · ${t("run.itemType", { type: entry.item_type })}` : ""),
          entry.fields,
        ),
      ),
      types.length ? h("h3", t("run.byItemType")) : null,
      types.map(([type, entry]) =>
        coverageTable(
          { itemType: type },
          t("run.itemTypeOf", {
            type,
            items: num(entry.items),
            pages: (entry.page_types || []).join(", "),
          }),
          entry.fields,
        ),
      ),
    );
  }

  function coverageTable(dataset, caption, fields) {
    const entries = Object.entries(fields || {}).sort((a, b) => a[1] - b[1]);
    return h(
      "table.data.coverage",
      { dataset },
      h("caption", caption),
      h(
        "thead",
        h(
          "tr",
          h("th", { scope: "col" }, t("run.field")),
          h("th", { scope: "col" }, t("run.share")),
        ),
      ),
      h(
        "tbody",
        entries.map(([field, share]) =>
          h(
            "tr",
            { dataset: { field } },
            h("th", { scope: "row" }, h("code", field)),
            h(
              "td",
              h("meter", {
                min: 0,
                max: 1,
                low: 0.5,
                high: 0.9,
                optimum: 1,
                value: share,
                "aria-label": field,
              }),
              " ",
              pct(share),
            ),
          ),
        ),
      ),
    );
  }

  function drawMonitors() {
    const results = record.monitors || [];
    if (!results.length) return replace(monitors, h("p.muted", t("run.noMonitors")));
    replace(
      monitors,
      h(
        "ul.monitors",
        results.map((m) =>
          h(
            "li",
            badge(m.ok, m.ok ? t("run.passed") : t("run.failed")),
            " ",
            h("strong", m.name),
            m.message ? h("div.small", m.message) : null,
          ),
        ),
      ),
    );
  }

  function drawWorkers() {
    const list = record.workers || [];
    workers.hidden = !list.length && !record.node && !record.distributed;
    if (workers.hidden) return replace(workers);
    replace(
      workers,
      h("h2#workers-h", t(list.length || record.distributed ? "run.workers" : "run.node")),
      record.node && !record.distributed
        ? h(
            "p#run-node",
            t(record.live ? "run.runningOnNode" : "run.onNode", { node: record.node }),
          )
        : null,
      record.lost_workers ? h("p.warning", t("run.lostWorkers", { n: record.lost_workers })) : null,
      list.length ? workersTable(list) : null,
    );
  }

  /** A run on nodes, while it runs: its workers (states, counters) read again now and then. */
  function followWorkers() {
    clearTimeout(workersTimer);
    if (!record.live || !(record.workers?.length || record.node || record.distributed)) return;
    workersTimer = setTimeout(async () => {
      try {
        const fresh = await get(`/runs/${encodeURIComponent(runId)}`);
        if (!record.live) return; // the stream's end came first and read it all
        if (!fresh.live && !closeStream) return await reload(); // no stream to say it ended
        const names = (list) => (list || []).map((w) => w.worker).join(" ");
        if (names(fresh.workers) !== names(record.workers)) log.setWorkers(fresh.workers);
        for (const key of ["workers", "node", "lost_workers"]) record[key] = fresh[key];
        drawWorkers();
      } catch {
        // the next read may answer; the stream still says when the run ends
      }
      followWorkers();
    }, WORKERS_MS);
  }

  function drawAll() {
    drawHead();
    drawChain(chain, record);
    drawCounters(record);
    drawWorkers();
    drawCoverage();
    drawMonitors();
  }

  function follow() {
    const values = { ...record };
    ticker = setInterval(tick, TICK_MS);
    closeStream = events(
      `/runs/${encodeURIComponent(runId)}/events`,
      {
        progress: (data) => {
          Object.assign(values, data);
          // A repeat of the same elapsed (the crawl has not said more yet) keeps the clock
          // running from when that figure first arrived: resetting it froze the duration.
          if (typeof data?.elapsed === "number" && data.elapsed !== clock?.elapsed) {
            clock = { elapsed: data.elapsed, at: Date.now() };
          }
          drawCounters(values);
          tick();
          log.tick(); // a worker's log on another node is read again every second
        },
        // the log grew: read its new records (parsed by the service) from where it was left
        log: () => log.pull(),
        end: async (data) => {
          closeStream?.();
          closeStream = null;
          stopTicking();
          status.textContent = t("run.ended", { status: statusText(data?.status) });
          await reload();
        },
      },
      async (_event, source) => {
        if (source.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
        closeStream = null;
        stopTicking();
        await reload();
      },
    );
  }

  async function reload() {
    try {
      record = await get(`/runs/${encodeURIComponent(runId)}`);
      drawAll();
      log.setWorkers(record.workers);
      if (!record.live) await log.pull(); // the rest of the file, once the crawl is over
    } catch (error) {
      status.textContent = t("error.load", { error: errorText(error) });
    }
  }

  function stopTicking() {
    clearInterval(ticker);
    ticker = null;
    clock = null;
  }

  async function stop() {
    try {
      await post(`/runs/${encodeURIComponent(runId)}/stop`);
      status.textContent = t(record.workers?.length ? "run.stoppingAll" : "run.stopping");
    } catch (error) {
      status.textContent = errorText(error);
    }
  }

  drawAll();
  if (record.live) {
    // The log's start, then (a long one) its latest lines; the stream says when it grows.
    status.textContent = t("run.following");
    follow();
    followWorkers();
    log.pull();
  } else {
    await log.read();
  }
  return () => {
    closeStream?.();
    stopTicking();
    clearTimeout(workersTimer);
  };
}

function fact(term, value) {
  return h("div", h("dt", term), h("dd", value));
}

function workersTable(list) {
  return h(
    "table.data#workers-table",
    h(
      "thead",
      h(
        "tr",
        WORKER_COLUMNS.map((key) => h("th", { scope: "col" }, t(`run.worker.${key}`))),
      ),
    ),
    h(
      "tbody",
      list.map((w) => {
        const memory = mebibytes(w.rss);
        return h(
          "tr",
          { dataset: { worker: w.worker, node: w.node ?? "", state: w.state ?? "" } },
          h("th", { scope: "row" }, h("code", w.worker)),
          h("td", w.node ?? "—"),
          h("td", badge(WORKER_BADGE[w.state] ?? null, workerState(w.state))),
          h("td.num", w.pid ?? "—"),
          h("td.num", num(w.pages)),
          h("td.num", num(w.items)),
          h("td.num", typeof w.rate === "number" ? num(Math.round(w.rate)) : "—"),
          h("td.num", memory === null ? "—" : t("nodes.mib", { n: num(memory) })),
        );
      }),
    ),
  );
}

// the badge colour of a worker's state (badge() in dom.js knows run statuses)
const WORKER_BADGE = {
  finished: "finished",
  running: "running",
  pending: "starting",
  away: "interrupted",
  lost: "failed",
  not_started: "failed",
};

function workerState(state) {
  const key = `run.workerState.${state}`;
  const text = t(key);
  return text === key ? String(state ?? "—") : text;
}

function counterText(name, values) {
  const value = name === "errorRate" ? values.error_rate : values[name];
  if (value === undefined || value === null) return "—";
  if (name === "rate") return num(Math.round(value));
  if (name === "errorRate") return pct(value);
  if (name === "eta") return seconds(value);
  return num(value);
}

async function waitForRecord(runId, main) {
  const until = Date.now() + START_WAIT_MS;
  for (;;) {
    try {
      return await get(`/runs/${encodeURIComponent(runId)}`);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404 || Date.now() > until) throw error;
      replace(main, h("p.muted", { role: "status" }, t("run.waiting", { run: runId })));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
