// Overview: every rule with its schedule, last run, items, error and ban rates (as the service
// gives them), searched, filtered and a page at a time (a thousand rules and more); bulk run,
// pause and resume; a cron editor that checks the expression and shows its next five times; a
// chart of items and errors per run over time; the latest runs. Refreshes itself while a crawl
// is running.

import { errorText, get, post, put } from "../api.js";
import { COLORS, chart, disposeCharts, timeAxis } from "../charts.js";
import { badge, h, num, pct, replace, when } from "../dom.js";
import { statusText, t } from "../i18n.js";
import { can } from "../session.js";

const RUN_PAGES = 2; // runs read for the chart: up to 2 pages of 500, newest first
const REFRESH_MS = 5000;
const PAGE = 50;
const STATUSES = [
  "never",
  "running",
  "invalid",
  "finished",
  "failed",
  "start_error",
  "blocked",
  "data_not_stored",
  "monitor_failed",
  "interrupted",
  "stalled",
];
const STALE = [24, 168];

export async function render(main) {
  const editor = can("editor"); // viewers see no run, pause or resume buttons
  let timer = null;
  let searchTimer = null;
  let pendingSearch = null; // typed, not yet applied (searchTimer)
  let listRequests = 0; // the newest list request's number: older answers are dropped
  let chosenRule = "";
  let runs = [];
  const filters = { q: "", tag: "", status: "", stale_hours: "", failing: false, offset: 0 };
  const picked = new Set();
  const notice = h("p.notice", { role: "status", "aria-live": "polite" });
  const listBox = h("div#rules-list");
  const chartBox = h("div.chart", { id: "runs-chart" });
  const runsBox = h("div#runs-box");
  const ruleSelect = h("select#chart-rule", {
    onchange: (event) => {
      chosenRule = event.target.value;
      drawChart(chartBox, runs, chosenRule);
    },
  });
  const dialog = cronDialog();

  async function load() {
    const [rules, latestRuns] = await Promise.all([get("/rules", query()), loadRuns()]);
    runs = latestRuns;
    drawList(rules);
    drawRuns(rules.items || []);
    clearTimeout(timer);
    if (runs.some((r) => r.live)) timer = setTimeout(refresh, REFRESH_MS);
  }

  async function loadList() {
    const mine = ++listRequests;
    const answer = await get("/rules", query());
    if (mine === listRequests) drawList(answer); // a later filter's answer may have come first
  }

  function query() {
    const params = { limit: PAGE, offset: filters.offset };
    for (const key of ["q", "tag", "status", "stale_hours"])
      if (filters[key]) params[key] = filters[key];
    if (filters.failing) params.failing = "true";
    return params;
  }

  async function refresh() {
    try {
      await load();
    } catch (error) {
      notice.textContent = t("error.load", { error: errorText(error) });
    }
  }

  function drawRuns(rules) {
    disposeCharts();
    replace(
      ruleSelect,
      h("option", { value: "" }, t("overview.allRules")),
      rules.map((rule) =>
        h("option", { value: rule.name, selected: rule.name === chosenRule }, rule.name),
      ),
    );
    replace(runsBox, runsTable(runs.slice(0, 20)));
    drawChart(chartBox, runs, chosenRule);
  }

  function drawList(answer) {
    const rules = answer.items || [];
    const latest = new Map();
    for (const runRecord of runs)
      if (!latest.has(runRecord.rule)) latest.set(runRecord.rule, runRecord);
    const from = answer.total ? answer.offset + 1 : 0;
    const to = answer.offset + rules.length;
    replace(
      listBox,
      filterForm(answer.tags || {}),
      h(
        "div.row#rules-pager",
        h(
          "span#rules-count",
          t("overview.count", { from, to, total: num(answer.total), all: num(answer.all) }),
        ),
        h(
          "button#rules-prev",
          { type: "button", disabled: answer.offset <= 0, onclick: () => page(-PAGE) },
          t("overview.prev"),
        ),
        h(
          "button#rules-next",
          { type: "button", disabled: to >= answer.total, onclick: () => page(PAGE) },
          t("overview.next_page"),
        ),
      ),
      editor ? bulkBar() : null,
      rulesTable(rules, latest),
    );
  }

  function page(step) {
    filters.offset = Math.max(0, filters.offset + step);
    loadList().catch((error) => (notice.textContent = errorText(error)));
  }

  function setFilter(key, value) {
    clearTimeout(searchTimer); // what was typed counts with this change, not after it
    if (pendingSearch !== null) filters.q = pendingSearch;
    pendingSearch = null;
    filters[key] = value;
    filters.offset = 0;
    picked.clear();
    loadList().catch((error) => (notice.textContent = errorText(error)));
  }

  function filterForm(tags) {
    const search = h("input#rule-search", {
      type: "search",
      value: filters.q,
      placeholder: t("overview.searchHint"),
      "aria-label": t("overview.search"),
      oninput: (event) => {
        clearTimeout(searchTimer);
        pendingSearch = event.target.value;
        searchTimer = setTimeout(() => setFilter("q", pendingSearch), 250);
      },
    });
    const choice = (id, key, label, options) =>
      h(
        "label",
        label,
        " ",
        h(
          `select#${id}`,
          { onchange: (event) => setFilter(key, event.target.value) },
          options.map(([value, text]) =>
            h("option", { value, selected: String(filters[key]) === String(value) }, text),
          ),
        ),
      );
    return h(
      "form.filters#rule-filters",
      { role: "search", onsubmit: (event) => event.preventDefault() },
      search,
      choice("rule-tag", "tag", t("overview.tag"), [
        ["", t("overview.anyTag")],
        ...Object.entries(tags).map(([tag, n]) => [tag, `${tag} (${num(n)})`]),
      ]),
      choice("rule-status", "status", t("overview.status"), [
        ["", t("overview.anyStatus")],
        ...STATUSES.map((status) => [status, statusText(status)]),
      ]),
      choice("rule-stale", "stale_hours", t("overview.stale"), [
        ["", t("overview.anyAge")],
        ...STALE.map((hours) => [hours, t("overview.olderThan", { hours })]),
      ]),
      h(
        "label",
        h("input#rule-failing", {
          type: "checkbox",
          checked: filters.failing,
          onchange: (event) => setFilter("failing", event.target.checked),
        }),
        " ",
        t("overview.failing"),
      ),
    );
  }

  function bulkBar() {
    const action = (id, name, label) =>
      h(`button#${id}`, { type: "button", onclick: () => bulk(name) }, label);
    return h(
      "div.row#bulk",
      h("span#bulk-count", t("overview.picked", { n: picked.size })),
      action("bulk-run", "run", t("action.runNow")),
      action("bulk-pause", "pause", t("action.pause")),
      action("bulk-resume", "resume", t("action.resume")),
    );
  }

  async function bulk(action) {
    if (!picked.size) {
      notice.textContent = t("overview.pickFirst");
      return;
    }
    try {
      const answer = await post("/rules/bulk", { action, rules: [...picked] });
      const failures = Object.entries(answer.results)
        .filter(([, result]) => !result.ok)
        .map(([rule, result]) => `${rule}: ${result.error}`);
      picked.clear();
      await loadList();
      notice.textContent =
        t("overview.bulkDone", {
          action: t(`action.${action === "run" ? "runNow" : action}`),
          done: answer.done,
          failed: answer.failed,
        }) + (failures.length ? ` ${failures.join("; ")}` : "");
    } catch (error) {
      notice.textContent = errorText(error);
    }
  }

  function rulesTable(rules, latest) {
    if (!rules.length) return h("p.muted#rules-none", t("overview.noRules"));
    const all = h("input#pick-page", {
      type: "checkbox",
      "aria-label": t("overview.pickPage"),
      checked: rules.every((rule) => picked.has(rule.name)),
      onchange: (event) => {
        for (const rule of rules)
          event.target.checked ? picked.add(rule.name) : picked.delete(rule.name);
        for (const box of listBox.querySelectorAll("input.pick"))
          box.checked = event.target.checked;
        updateCount();
      },
    });
    return h(
      "table.data#rules-table",
      h(
        "thead",
        h(
          "tr",
          ["rule", "schedule", "lastRun", "items", "errorRate", "banRate", "actions"]
            .filter((key) => editor || key !== "actions")
            .map((key) =>
              h(
                "th",
                { scope: "col" },
                key === "rule" && editor ? [all, " "] : null,
                t(`overview.col.${key}`),
              ),
            ),
        ),
      ),
      h(
        "tbody",
        rules.map((rule) => ruleRow(rule, latest.get(rule.name))),
      ),
    );
  }

  function updateCount() {
    const count = listBox.querySelector("#bulk-count");
    if (count) count.textContent = t("overview.picked", { n: picked.size });
  }

  function ruleRow(rule, lastRun) {
    const last = lastRun || rule.last_run;
    return h(
      "tr",
      { dataset: { rule: rule.name } },
      h(
        "th",
        { scope: "row" },
        editor
          ? [
              h("input.pick", {
                type: "checkbox",
                "aria-label": t("overview.pick", { rule: rule.name }),
                checked: picked.has(rule.name),
                onchange: (event) => {
                  event.target.checked ? picked.add(rule.name) : picked.delete(rule.name);
                  updateCount();
                },
              }),
              " ",
            ]
          : null,
        rule.row
          ? h("span", rule.name)
          : h("a", { href: `#/rules/${encodeURIComponent(rule.name)}` }, rule.name),
        rule.valid === false ? " " : null,
        rule.valid === false
          ? h("span.badge.badge-bad", t("overview.invalid", { n: rule.problems }))
          : null,
        (rule.tags || []).length
          ? h(
              "div.small",
              rule.tags.map((tag) => h("span.pill", tag)),
            )
          : null,
        rule.description ? h("div.muted.small", rule.description) : null,
        rule.row
          ? h("div.muted.small", t("overview.row", { file: rule.file, line: rule.row }))
          : null,
      ),
      h("td", scheduleCell(rule)),
      h(
        "td",
        last
          ? [
              h(
                "a",
                { href: `#/runs/${encodeURIComponent(last.run_id)}` },
                badge(
                  last.live ? "running" : last.status,
                  statusText(last.live ? "running" : last.status),
                ),
              ),
              h("div.muted.small", when(last.finished_at || last.started_at)),
            ]
          : h("span.muted", t("overview.never")),
      ),
      h("td.num", num(last?.items)),
      // the rates the service computed (crawler/runs/figures.py), as the CLI and monitors do
      h("td.num", pct(last?.error_rate)),
      h("td.num", pct(last?.ban_rate)),
      editor
        ? h(
            "td",
            h("button", { type: "button", onclick: () => runNow(rule.name) }, t("action.runNow")),
          )
        : null,
    );
  }

  function scheduleCell(rule) {
    const schedule = rule.schedule;
    const edit =
      editor && rule.valid !== false && !rule.row
        ? h(
            "button.link.edit-schedule",
            { type: "button", onclick: () => dialog.open(rule) },
            schedule ? t("cron.edit") : t("cron.add"),
          )
        : null;
    if (!schedule) return [h("span.muted", t("overview.manual")), " ", edit];
    const paused = schedule.paused || schedule.enabled === false;
    return [
      h("code", schedule.cron),
      schedule.timezone ? h("span.muted.small", ` ${schedule.timezone}`) : null,
      h(
        "div.small",
        paused ? t("overview.paused") : t("overview.next", { when: when(schedule.next_run) }),
      ),
      editor
        ? h(
            "button.link",
            { type: "button", onclick: () => pauseResume(rule.name, paused) },
            paused ? t("action.resume") : t("action.pause"),
          )
        : null,
      " ",
      edit,
    ];
  }

  /** The cron editor: the expression and its time zone, checked as they are typed, with the
   * next five times; saving writes the rule's schedule (a new version of the rule). */
  function cronDialog() {
    let rule = null;
    let checkTimer = null;
    const expr = h("input#cron-expr", { type: "text", spellcheck: "false", oninput: check });
    const zone = h("input#cron-tz", { type: "text", spellcheck: "false", oninput: check });
    const verdict = h("p#cron-check", { role: "status", "aria-live": "polite" });
    const next = h("ol#cron-next");
    const save = h(
      "button#cron-save",
      { type: "button", onclick: () => write(expr.value) },
      t("cron.save"),
    );
    const remove = h(
      "button#cron-remove",
      { type: "button", onclick: () => write(null) },
      t("cron.remove"),
    );
    const title = h("h2#cron-title");
    const box = h(
      "dialog#cron-dialog",
      { "aria-labelledby": "cron-title" },
      title,
      h("label", { for: "cron-expr" }, t("cron.expression")),
      expr,
      h("p.muted.small", t("cron.hint")),
      h("label", { for: "cron-tz" }, t("cron.timezone")),
      zone,
      verdict,
      h("h3", t("cron.nextFive")),
      next,
      h(
        "div.row",
        save,
        remove,
        h("button#cron-cancel", { type: "button", onclick: () => box.close() }, t("cron.cancel")),
      ),
    );
    document.body.append(box);

    function check() {
      clearTimeout(checkTimer);
      checkTimer = setTimeout(async () => {
        try {
          const answer = await get("/schedules/next", {
            cron: expr.value,
            timezone: zone.value || "UTC",
          });
          verdict.textContent = answer.valid ? t("cron.valid") : answer.error;
          verdict.className = answer.valid ? "ok" : "bad";
          save.disabled = !answer.valid;
          replace(
            next,
            answer.next.map((time) => h("li", h("time", { datetime: time }, when(time)))),
          );
        } catch (error) {
          verdict.textContent = errorText(error);
        }
      }, 200);
    }

    async function write(cron) {
      try {
        await put(`/schedules/${encodeURIComponent(rule.name)}`, {
          cron,
          timezone: zone.value || "UTC",
        });
        box.close();
        await loadList();
        notice.textContent = cron
          ? t("cron.saved", { rule: rule.name, cron })
          : t("cron.removed", { rule: rule.name });
      } catch (error) {
        verdict.textContent = errorText(error);
        verdict.className = "bad";
      }
    }

    return {
      open(chosen) {
        rule = chosen;
        title.textContent = t("cron.title", { rule: chosen.name });
        expr.value = chosen.schedule?.cron || "0 6 * * *";
        zone.value = chosen.schedule?.timezone || "UTC";
        remove.disabled = !chosen.schedule;
        box.showModal();
        check();
      },
      close: () => box.remove(),
    };
  }

  async function runNow(name) {
    notice.textContent = t("action.starting", { rule: name });
    try {
      const answer = await post(`/rules/${encodeURIComponent(name)}/run`, { args: {} });
      location.hash = `#/runs/${encodeURIComponent(answer.run_id)}`;
    } catch (error) {
      notice.textContent = errorText(error);
    }
  }

  async function pauseResume(name, paused) {
    try {
      await post(`/schedules/${encodeURIComponent(name)}/${paused ? "resume" : "pause"}`);
      await loadList();
      notice.textContent = paused
        ? t("overview.resumed", { rule: name })
        : t("overview.pausedNow", { rule: name });
    } catch (error) {
      notice.textContent = errorText(error);
    }
  }

  replace(
    main,
    h("h1", t("nav.overview")),
    notice,
    h("section", { "aria-labelledby": "rules-h" }, h("h2#rules-h", t("overview.rules")), listBox),
    h(
      "section",
      { "aria-labelledby": "chart-h" },
      h(
        "div.row",
        h("h2#chart-h", t("overview.chart")),
        h("label", { for: "chart-rule" }, t("overview.rule")),
        ruleSelect,
      ),
      chartBox,
    ),
    h("section", { "aria-labelledby": "runs-h" }, h("h2#runs-h", t("overview.runs")), runsBox),
  );
  await load();
  return () => {
    clearTimeout(timer);
    clearTimeout(searchTimer);
    dialog.close();
  };
}

async function loadRuns() {
  const runs = [];
  let cursor = null;
  for (let page = 0; page < RUN_PAGES; page++) {
    const answer = await get("/runs", { limit: 500, cursor });
    runs.push(...(answer.items || []));
    cursor = answer.next;
    if (!cursor) break;
  }
  return runs;
}

function drawChart(box, runs, rule) {
  disposeCharts();
  const chosen = runs.filter((r) => !rule || r.rule === rule).reverse();
  const at = (r) => r.started_at || r.finished_at;
  const point = (r, value) => ({ value: [at(r), value], runId: r.run_id, rule: r.rule });
  const instance = chart(
    box,
    {
      ...timeAxis(),
      legend: { top: 0 },
      yAxis: [
        { type: "value", name: t("chart.items"), minInterval: 1 },
        { type: "value", name: t("chart.errors"), minInterval: 1, splitLine: { show: false } },
      ],
      series: [
        {
          name: t("chart.items"),
          type: "bar",
          color: COLORS.items,
          data: chosen.map((r) => point(r, r.items || 0)),
          barMaxWidth: 24,
        },
        {
          name: t("chart.errors"),
          type: "line",
          yAxisIndex: 1,
          color: COLORS.errors,
          data: chosen.map((r) => point(r, r.errors || 0)),
        },
      ],
    },
    t("chart.runsLabel", { n: chosen.length }),
  );
  box.dataset.points = String(chosen.length);
  instance.on("click", (params) => {
    if (params.data?.runId) location.hash = `#/runs/${encodeURIComponent(params.data.runId)}`;
  });
}

/** The latest runs as a table with links to their run pages. */
export function runsTable(runs) {
  if (!runs.length) return h("p.muted", t("overview.noRuns"));
  const cols = ["run", "rule", "status", "started", "pages", "items", "errors", "bans"];
  return h(
    "table.data#runs-table",
    h(
      "thead",
      h(
        "tr",
        cols.map((key) => h("th", { scope: "col" }, t(`runs.col.${key}`))),
      ),
    ),
    h(
      "tbody",
      runs.map((r) =>
        h(
          "tr",
          { dataset: { run: r.run_id } },
          h(
            "th",
            { scope: "row" },
            h("a", { href: `#/runs/${encodeURIComponent(r.run_id)}` }, h("code", r.run_id)),
          ),
          h("td", r.rule),
          h("td", badge(r.live ? "running" : r.status, statusText(r.live ? "running" : r.status))),
          h("td", when(r.started_at)),
          h("td.num", num(r.pages)),
          h("td.num", num(r.items)),
          h("td.num", num(r.errors)),
          h("td.num", num(r.bans)),
        ),
      ),
    ),
  );
}
