// Overview: every rule with its schedule, last run, items, error and ban rates (as the service
// gives them); a chart of items and errors per run over time; the latest runs. Refreshes itself
// while a crawl is running.

import { errorText, get, post } from "../api.js";
import { COLORS, chart, disposeCharts, timeAxis } from "../charts.js";
import { badge, h, num, pct, replace, when } from "../dom.js";
import { statusText, t } from "../i18n.js";
import { can } from "../session.js";

const RUN_PAGES = 2; // runs read for the chart: up to 2 pages of 500, newest first
const REFRESH_MS = 5000;

export async function render(main) {
  const editor = can("editor"); // viewers see no run, pause or resume buttons
  let timer = null;
  let chosenRule = "";
  const notice = h("p.notice", { role: "status", "aria-live": "polite" });

  async function load() {
    const [rules, runs] = await Promise.all([get("/rules"), loadRuns()]);
    draw(rules.items || [], runs);
    clearTimeout(timer);
    if (runs.some((r) => r.live)) timer = setTimeout(refresh, REFRESH_MS);
  }

  async function refresh() {
    try {
      await load();
    } catch (error) {
      notice.textContent = t("error.load", { error: errorText(error) });
    }
  }

  function draw(rules, runs) {
    disposeCharts();
    const latest = new Map();
    for (const runRecord of runs)
      if (!latest.has(runRecord.rule)) latest.set(runRecord.rule, runRecord);
    const chartBox = h("div.chart", { id: "runs-chart" });
    const ruleSelect = h(
      "select#chart-rule",
      {
        onchange: (event) => {
          chosenRule = event.target.value;
          drawChart(chartBox, runs, chosenRule);
        },
      },
      h("option", { value: "" }, t("overview.allRules")),
      rules.map((rule) =>
        h("option", { value: rule.name, selected: rule.name === chosenRule }, rule.name),
      ),
    );
    replace(
      main,
      h("h1", t("nav.overview")),
      notice,
      h(
        "section",
        { "aria-labelledby": "rules-h" },
        h("h2#rules-h", t("overview.rules")),
        rulesTable(rules, latest),
      ),
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
      h(
        "section",
        { "aria-labelledby": "runs-h" },
        h("h2#runs-h", t("overview.runs")),
        runsTable(runs.slice(0, 20)),
      ),
    );
    drawChart(chartBox, runs, chosenRule);
  }

  function rulesTable(rules, latest) {
    if (!rules.length) return h("p.muted", t("overview.noRules"));
    return h(
      "table.data#rules-table",
      h(
        "thead",
        h(
          "tr",
          ["rule", "schedule", "lastRun", "items", "errorRate", "banRate", "actions"]
            .filter((key) => editor || key !== "actions")
            .map((key) => h("th", { scope: "col" }, t(`overview.col.${key}`))),
        ),
      ),
      h(
        "tbody",
        rules.map((rule) => ruleRow(rule, latest.get(rule.name))),
      ),
    );
  }

  function ruleRow(rule, lastRun) {
    const last = lastRun || rule.last_run;
    return h(
      "tr",
      { dataset: { rule: rule.name } },
      h(
        "th",
        { scope: "row" },
        h("a", { href: `#/rules/${encodeURIComponent(rule.name)}` }, rule.name),
        rule.valid === false ? " " : null,
        rule.valid === false
          ? h("span.badge.badge-bad", t("overview.invalid", { n: rule.problems }))
          : null,
        rule.description ? h("div.muted.small", rule.description) : null,
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
    if (!schedule) return h("span.muted", t("overview.manual"));
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
    ];
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
      await load();
      notice.textContent = paused
        ? t("overview.resumed", { rule: name })
        : t("overview.pausedNow", { rule: name });
    } catch (error) {
      notice.textContent = errorText(error);
    }
  }

  await load();
  return () => clearTimeout(timer);
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
