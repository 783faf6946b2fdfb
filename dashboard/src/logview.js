// The run page's log viewer: a crawl's log as the records the service parsed (GET
// /api/runs/{id}/log?format=records: time, logger, level, message, whether it is part of
// Scrapy's start-up dump), read in chunks. Lines are coloured by level; a minimum level and a
// search (matches highlighted) filter what is loaded, in the browser; the start-up dump is folded
// away; "Follow" keeps the newest line in view as lines arrive. A run spread over several nodes
// offers each worker's own log beside the merged one.

import { ApiError, errorText, get } from "./api.js";
import { h, num, replace } from "./dom.js";
import { t } from "./i18n.js";
import {
  keepLast,
  MINIMUM_LEVELS,
  needleOf,
  passes,
  pieces,
  QUERY_MAX,
  workerLabel,
} from "./logrecords.js";

const LOG_CHUNKS = 20; // log chunks read at once before offering "load more"
const LOG_LINES_KEPT = 5000; // records kept on the page; older ones are dropped from view
const SEARCH_WAIT_MS = 150; // typing pauses this long before the lines are filtered again
const AT_BOTTOM_PX = 4;

/**
 * A log viewer for run runId: {element, read(), pull(), tick(), setWorkers(workers)}. live()
 * tells whether the crawl still runs (a live log opened late starts near its end).
 */
export function logView({ runId, workers, live }) {
  let records = []; // the records loaded, oldest first, at most LOG_LINES_KEPT
  let offset = 0; // where the next read goes on from
  let generation = 0; // bumped when the source changes: answers of an older one are dropped
  let worker = "";
  let chain = Promise.resolve();
  let queued = false;
  let searchTimer = null;

  const level = h(
    "select#log-level",
    { onchange: draw },
    MINIMUM_LEVELS.map((name) =>
      h("option", { value: name }, name ? t("log.levelMin", { level: name }) : t("log.levelAll")),
    ),
  );
  const search = h("input#log-search", {
    type: "search",
    maxlength: QUERY_MAX,
    placeholder: t("log.searchHint"),
    autocomplete: "off",
    oninput: () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(draw, SEARCH_WAIT_MS);
    },
  });
  const follow = h("input#log-follow", {
    type: "checkbox",
    checked: true,
    onchange: () => follow.checked && toBottom(),
  });
  const workerPicker = h("select#log-worker", { onchange: () => switchTo(workerPicker.value) });
  // hidden as a whole: a .filter's own display would win over its hidden attribute
  const workerField = h(
    "span",
    { hidden: true },
    h("span.filter", h("label", { for: "log-worker" }, t("log.worker")), workerPicker),
  );
  const count = h("span.small.muted#log-count");
  const startupLines = h("div.log-lines");
  const startupTitle = h("summary");
  const startup = h(
    "details.log-startup#log-startup",
    { hidden: true },
    startupTitle,
    startupLines,
  );
  const lines = h("div.log-lines#log-lines");
  const note = h("div.log-note");
  const gap = h("div.log-skipped", { hidden: true }); // where a long live log was jumped over
  const box = h(
    "div.log#log",
    { tabindex: "0", role: "log", "aria-label": t("run.log") },
    note,
    startup,
    gap,
    lines,
  );
  const more = h(
    "button",
    { type: "button", hidden: true, onclick: () => pull() },
    t("run.loadMore"),
  );
  const element = h(
    "div.log-view",
    h(
      "div.filters.log-tools",
      h("span.filter", h("label", { for: "log-level" }, t("log.level")), level),
      h("span.filter", h("label", { for: "log-search" }, t("log.search")), search),
      workerField,
      h("span.filter", follow, h("label", { for: "log-follow" }, t("log.follow"))),
      count,
    ),
    box,
    more,
  );
  setWorkers(workers);

  function filters() {
    return { minimum: level.value, needle: needleOf(search.value) };
  }

  function row(record, needle) {
    const kind = (record.level || "none").toLowerCase();
    return h(
      `div.log-line.log-${kind}`,
      { dataset: { level: record.level || "", offset: record.offset } },
      record.source ? h("span.log-source", "[", marked(record.source, needle), "] ") : null,
      record.time ? h("span.log-time", record.time, " ") : null,
      record.logger ? h("span.log-logger", "[", marked(record.logger, needle), "] ") : null,
      record.level ? h("span.log-level", record.level, ": ") : null,
      h("span.log-message", marked(record.message, needle)),
    );
  }

  function marked(text, needle) {
    return pieces(text, needle).map((piece) => (piece.match ? h("mark", piece.text) : piece.text));
  }

  /** Every loaded record again, through the filters (a filter changed, the source changed). */
  function draw() {
    const { minimum, needle } = filters();
    const wasAtBottom = atBottom();
    startupLines.replaceChildren();
    lines.replaceChildren();
    for (const record of records) record.node = null;
    place(records, minimum, needle);
    counts();
    if (follow.checked || wasAtBottom) toBottom();
  }

  function place(added, minimum, needle) {
    for (const record of added) {
      if (!passes(record, minimum, needle)) continue;
      record.node = row(record, needle);
      (record.startup ? startupLines : lines).append(record.node);
    }
  }

  function counts() {
    const { minimum, needle } = filters();
    let shown = 0;
    let folded = 0;
    for (const record of records) {
      if (!passes(record, minimum, needle)) continue;
      shown += 1;
      if (record.startup) folded += 1;
    }
    startup.hidden = folded === 0;
    startupTitle.textContent = t("log.startup", { n: num(folded) });
    count.textContent = t("log.count", { shown: num(shown), total: num(records.length) });
  }

  function add(added) {
    if (!added.length) return;
    const { minimum, needle } = filters();
    const { kept, dropped } = keepLast(records, added, LOG_LINES_KEPT);
    for (const record of dropped) record.node?.remove();
    if (dropped.length) box.dataset.trimmed = "true";
    records = kept;
    place(added, minimum, needle);
    counts();
    if (follow.checked) toBottom();
  }

  function atBottom() {
    return box.scrollTop + box.clientHeight >= box.scrollHeight - AT_BOTTOM_PX;
  }

  function toBottom() {
    box.scrollTop = box.scrollHeight;
  }

  async function page(at) {
    const params = { format: "records", offset: at };
    if (worker) params.worker = worker;
    return get(`/runs/${encodeURIComponent(runId)}/log`, params);
  }

  /** Read on from where the log was left, LOG_CHUNKS chunks at most; true if more is left. */
  async function read(chunks = LOG_CHUNKS) {
    const mine = generation;
    more.hidden = true;
    for (let i = 0; i < chunks; i++) {
      let answer;
      try {
        answer = await page(offset);
      } catch (error) {
        if (mine !== generation) return false;
        // a crawl run outside the service without LOG_FILE has no log the service can read
        if (!(error instanceof ApiError) || error.status !== 404) throw error;
        replace(note, h("span.muted", t("run.noLog", { detail: errorText(error) })));
        return false;
      }
      if (mine !== generation) return false;
      const first = offset === 0;
      add(answer.records || []);
      const moved = answer.offset !== offset;
      offset = answer.offset;
      if (first && live?.() && answer.size - offset > LOG_CHUNKS * Math.max(offset, 1024)) {
        // a long log of a crawl that still runs: its start-up, then its latest lines
        const skip = answer.size - LOG_CHUNKS * Math.max(offset, 1024);
        gap.textContent = t("log.skipped", { bytes: num(skip - offset) });
        gap.hidden = false;
        offset = skip;
        continue;
      }
      if (!moved || offset >= answer.size) return false;
    }
    more.hidden = false;
    return true;
  }

  /** Read what the log has gained since (one read at a time; a read asked for meanwhile
   * happens once, after it). */
  function pull(chunks = LOG_CHUNKS) {
    if (queued) return chain;
    queued = true;
    const mine = generation;
    chain = chain
      .then(() => {
        if (mine !== generation) return false; // asked of a source the viewer left since
        queued = false;
        return read(chunks);
      })
      .catch((error) => {
        if (mine !== generation) return;
        replace(note, h("span.muted", t("error.load", { error: errorText(error) })));
      });
    return chain;
  }

  /** A second passed in a live crawl: a worker's log on another node has no events of its own. */
  function tick() {
    if (worker) pull();
  }

  function switchTo(name) {
    worker = name;
    generation += 1;
    records = [];
    offset = 0;
    queued = false;
    delete box.dataset.trimmed;
    replace(note);
    gap.hidden = true;
    draw();
    pull();
  }

  /** The run's workers ({worker, node}), when it is spread over several nodes. */
  function setWorkers(list) {
    const entries = Array.isArray(list) ? list.filter((entry) => entry?.worker) : [];
    workerField.hidden = !entries.length;
    replace(
      workerPicker,
      h("option", { value: "" }, t("log.allWorkers")),
      entries.map((entry) =>
        h("option", { value: entry.worker, selected: entry.worker === worker }, workerLabel(entry)),
      ),
    );
  }

  counts();
  return { element, read: () => pull(), pull, tick, setWorkers };
}
