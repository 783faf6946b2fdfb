// Run page: one crawl's counters, coverage per page type (and item type), monitor results and
// log; while the crawl runs, progress and log lines arrive as server-sent events and the page
// follows them live: counters, rate, ETA, a progress bar when a total is known, and a duration
// that ticks every second. Every figure is the service's (crawler/runs/figures.py).

import { ApiError, errorText, events, get, post } from "../api.js";
import { badge, duration, h, num, pct, replace, seconds, when } from "../dom.js";
import { statusText, t } from "../i18n.js";
import { can } from "../session.js";

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
const LOG_CHUNKS = 20; // log chunks read at once before offering "load more"
const LOG_LINES_KEPT = 5000; // lines kept on the page; older ones are dropped from view
const START_WAIT_MS = 15000; // how long a just-started run may take to have a record

export async function render(main, [runId]) {
  let closeStream = null;
  let logOffset = 0;
  let record = await waitForRecord(runId, main);

  const status = h("p.notice", { role: "status", "aria-live": "polite" });
  const head = h("div.run-head");
  const bar = h("div#run-progress");
  const counters = h("dl.counters#counters");
  let ticker = null;
  let clock = null; // {elapsed, at}: the service's elapsed seconds, and when they arrived
  const coverage = h("div#coverage");
  const monitors = h("div#monitors");
  const logBox = h("pre.log#log", { tabindex: "0", "aria-label": t("run.log") });
  const more = h(
    "button",
    { type: "button", hidden: true, onclick: () => readLog() },
    t("run.loadMore"),
  );

  replace(
    main,
    h("h1", t("run.title"), " ", h("code", runId)),
    head,
    status,
    h(
      "section",
      { "aria-labelledby": "counters-h" },
      h("h2#counters-h", t("run.counters")),
      bar,
      counters,
    ),
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
    h("section", { "aria-labelledby": "log-h" }, h("h2#log-h", t("run.log")), logBox, more),
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

  function drawAll() {
    drawHead();
    drawCounters(record);
    drawCoverage();
    drawMonitors();
  }

  async function readLog(chunks = LOG_CHUNKS) {
    more.hidden = true;
    for (let i = 0; i < chunks; i++) {
      let answer;
      try {
        answer = await get(`/runs/${encodeURIComponent(runId)}/log`, { offset: logOffset });
      } catch (error) {
        // a crawl run outside the service without LOG_FILE has no log the service can read
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
        replace(logBox, h("span.muted", t("run.noLog", { detail: errorText(error) })));
        return false;
      }
      if (!answer.text) return false;
      appendLog(answer.text);
      if (answer.offset === logOffset) return false;
      logOffset = answer.offset;
    }
    more.hidden = false;
    return true;
  }

  function appendLog(text) {
    const follow = logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 4;
    logBox.append(document.createTextNode(text));
    if (logBox.childNodes.length > LOG_LINES_KEPT) {
      while (logBox.childNodes.length > LOG_LINES_KEPT) logBox.firstChild.remove();
      logBox.dataset.trimmed = "true";
    }
    if (follow) logBox.scrollTop = logBox.scrollHeight;
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
        },
        log: (data) => {
          // A line the log file read already returned carries an offset at or below ours.
          if (typeof data?.offset === "number" && data.offset <= logOffset) return;
          if (typeof data?.offset === "number") logOffset = data.offset;
          appendLog(`${data?.line ?? data}\n`);
        },
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
      if (!record.live) {
        // the file is authoritative once the crawl is over: read it again from the start
        logBox.replaceChildren();
        logOffset = 0;
        await readLog();
      }
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
      status.textContent = t("run.stopping");
    } catch (error) {
      status.textContent = errorText(error);
    }
  }

  drawAll();
  if (record.live) {
    // The stream starts with the log's tail; the whole file is read again when the crawl ends.
    status.textContent = t("run.following");
    follow();
  } else {
    await readLog();
  }
  return () => {
    closeStream?.();
    stopTicking();
  };
}

function fact(term, value) {
  return h("div", h("dt", term), h("dd", value));
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
