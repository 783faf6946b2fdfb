// Proxies: the pool's health over time (alive and dead proxies), counts by state, success per
// source and per domain, and the latency distribution.

import { ApiError, get } from "../api.js";
import { COLORS, chart, timeAxis } from "../charts.js";
import { h, num, pct, replace } from "../dom.js";
import { t } from "../i18n.js";

const HOURS = [1, 6, 24, 72, 168];

export async function render(main, _args, query) {
  const hours = HOURS.includes(Number(query.get("hours"))) ? Number(query.get("hours")) : 24;
  let summary;
  try {
    summary = await get("/proxies/summary");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      replace(main, h("h1", t("nav.proxies")), h("p.notice", t("proxies.none")));
      return;
    }
    throw error;
  }
  const history = await get("/proxies/history", { hours });
  const points = Array.isArray(history) ? history : history.items || history.points || [];
  const healthBox = h("div.chart#health-chart");
  const latencyBox = h("div.chart.short#latency-chart");
  const range = h(
    "select#hours",
    { onchange: (event) => (location.hash = `#/proxies?hours=${event.target.value}`) },
    HOURS.map((n) => h("option", { value: n, selected: n === hours }, t("proxies.hours", { n }))),
  );
  replace(
    main,
    h("h1", t("nav.proxies")),
    h(
      "dl.counters",
      ["total", "alive", "dead"].map((key) =>
        h("div", h("dt", t(`proxies.${key}`)), h("dd", num(summary[key]))),
      ),
    ),
    Object.keys(summary.by_state || {}).length
      ? h(
          "p#proxy-states",
          t("proxies.byState"),
          Object.entries(summary.by_state).map(([state, n]) =>
            h("span.pill", `${stateText(state)}: ${num(n)}`),
          ),
        )
      : null,
    h(
      "section",
      { "aria-labelledby": "health-h" },
      h(
        "div.row",
        h("h2#health-h", t("proxies.health")),
        h("label", { for: "hours" }, t("proxies.range")),
        range,
      ),
      points.length ? healthBox : h("p.muted", t("proxies.noHistory")),
    ),
    h(
      "section",
      { "aria-labelledby": "latency-h" },
      h("h2#latency-h", t("proxies.latency")),
      latencyText(summary.latency),
      latencyBox,
    ),
    h(
      "div.columns",
      h(
        "section",
        { "aria-labelledby": "sources-h" },
        h("h2#sources-h", t("proxies.bySource")),
        table(summary.by_source, ["source", "total", "alive", "success_rate"]),
      ),
      h(
        "section",
        { "aria-labelledby": "domains-h" },
        h("h2#domains-h", t("proxies.byDomain")),
        table(summary.by_domain, ["domain", "requests", "success_rate"]),
      ),
    ),
  );
  if (points.length) {
    chart(
      healthBox,
      {
        ...timeAxis(),
        legend: { top: 0 },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          {
            name: t("proxies.alive"),
            type: "line",
            stack: "pool",
            showSymbol: false,
            areaStyle: {},
            color: COLORS.alive,
            data: points.map((p) => [instant(p.t), p.alive]),
          },
          {
            name: t("proxies.dead"),
            type: "line",
            stack: "pool",
            showSymbol: false,
            areaStyle: {},
            color: COLORS.errors,
            data: points.map((p) => [instant(p.t), p.dead]),
          },
        ],
      },
      t("proxies.healthLabel", { n: points.length, hours }),
    );
  }
  const histogram = summary.latency?.histogram || [];
  if (histogram.length) {
    chart(
      latencyBox,
      {
        xAxis: {
          type: "category",
          name: "ms",
          // the last bucket has no upper bound: it holds what is slower than the one before
          data: histogram.map(([upper], i) =>
            upper === null || upper === undefined
              ? `> ${histogram[i - 1]?.[0] ?? 0}`
              : `≤ ${upper}`,
          ),
        },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          {
            name: t("proxies.count"),
            type: "bar",
            color: COLORS.items,
            data: histogram.map(([, count]) => count),
          },
        ],
      },
      t("proxies.latencyLabel"),
    );
  } else latencyBox.remove();
}

function stateText(state) {
  const key = `proxies.state.${state}`;
  return t(key) === key ? state : t(key);
}

/** A sample's time: epoch seconds (as the service writes them), milliseconds, or ISO text. */
function instant(value) {
  return typeof value === "number" && value < 1e11 ? value * 1000 : value;
}

function latencyText(latency) {
  if (!latency) return h("p.muted", "—");
  return h(
    "p",
    ["p50", "p90", "p99"].map((key) =>
      h(
        "span.pill",
        `${key}: ${latency[key] === null || latency[key] === undefined ? "—" : `${num(Math.round(latency[key]))} ms`}`,
      ),
    ),
  );
}

function table(rows, columns) {
  if (!rows?.length) return h("p.muted", "—");
  return h(
    "table.data",
    h(
      "thead",
      h(
        "tr",
        columns.map((c) => h("th", { scope: "col" }, t(`proxies.col.${c}`))),
      ),
    ),
    h(
      "tbody",
      rows.map((row) =>
        h(
          "tr",
          columns.map((c, i) => {
            const value =
              c === "success_rate"
                ? pct(row[c])
                : typeof row[c] === "number"
                  ? num(row[c])
                  : row[c];
            return i === 0 ? h("th", { scope: "row" }, value) : h("td.num", value);
          }),
        ),
      ),
    ),
  );
}
