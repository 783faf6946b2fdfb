// Freshness: is each source still publishing? (GET /api/freshness; crawler/monitors/
// freshness.py) Every rule by staleness, failing first: its tags (a filter kept in the address,
// #/freshness?tag=gov), the verdict of its freshness checks, when its last new item was first
// seen, new items within the window, the newest date of the declared field, each failing
// check's message and its last run.

import { errorText, get } from "../api.js";
import {
  STATUSES,
  failures,
  newItems,
  secondsSince,
  span,
  statusCounts,
  tagCounts,
  withTag,
} from "../alertrows.js";
import { badge, h, num, replace, when } from "../dom.js";
import { statusText, t } from "../i18n.js";

const STATUS_KIND = { failing: "bad", ok: "ok", unchecked: "warn" };
const COLUMNS = ["rule", "tags", "status", "lastNew", "newItems", "newest", "problems", "lastRun"];

export async function render(main, args, query) {
  const tag = query?.get("tag") || "";
  const notice = h("p.notice#fresh-notice", { role: "status", "aria-live": "polite" });
  const box = h("div#fresh-box.table-wrap");
  const tools = h("div.row#fresh-tools");

  async function load() {
    const answer = await get("/freshness");
    draw(answer.items || [], Date.parse(answer.now) || Date.now());
  }

  function draw(all, nowMs) {
    const rows = withTag(all, tag);
    const counts = statusCounts(rows);
    replace(
      tools,
      h(
        "label",
        { for: "fresh-tag" },
        t("fresh.tag"),
        " ",
        h(
          "select#fresh-tag",
          { onchange: (event) => filterBy(event.target.value) },
          h("option", { value: "" }, t("fresh.anyTag")),
          tagCounts(all).map(([name, n]) =>
            h("option", { value: name, selected: name === tag }, `${name} (${num(n)})`),
          ),
        ),
      ),
      h(
        "span#fresh-counts",
        STATUSES.map((status) =>
          h(
            `span.badge.badge-${STATUS_KIND[status]}`,
            { dataset: { status, count: String(counts[status]) } },
            t(`fresh.count.${status}`, { n: num(counts[status]) }),
          ),
        ),
      ),
      h(
        "button#fresh-refresh",
        {
          type: "button",
          onclick: () => load().catch((error) => (notice.textContent = errorText(error))),
        },
        t("fresh.refresh"),
      ),
    );
    replace(box, rows.length ? table(rows, nowMs) : h("p.muted#fresh-none", t("fresh.none")));
  }

  function table(rows, nowMs) {
    return h(
      "table.data#fresh-table",
      h(
        "thead",
        h(
          "tr",
          COLUMNS.map((key) => h("th", { scope: "col" }, t(`fresh.col.${key}`))),
        ),
      ),
      h(
        "tbody",
        rows.map((row) => sourceRow(row, nowMs)),
      ),
    );
  }

  function sourceRow(row, nowMs) {
    const kind = STATUS_KIND[row.status] || "warn";
    return h(
      "tr",
      { dataset: { rule: row.rule, status: row.status } },
      h(
        "th",
        { scope: "row" },
        h("a", { href: `#/rules/${encodeURIComponent(row.rule)}` }, row.rule),
      ),
      h(
        "td.fresh-tags",
        (row.tags || []).map((name) =>
          h(
            "a.pill",
            {
              href: tagHref(name),
              dataset: { tag: name },
              title: t("fresh.onlyTag", { tag: name }),
            },
            name,
          ),
        ),
      ),
      h(
        "td.fresh-status",
        h(
          `span.badge.badge-${kind}`,
          t(`fresh.status.${STATUS_KIND[row.status] ? row.status : "unchecked"}`),
        ),
      ),
      h("td.fresh-last", moment(row.last_new_at, nowMs, t("fresh.nothing"))),
      h("td.fresh-new.num", windowCell(row)),
      h(
        "td.fresh-newest",
        row.field ? [h("code", row.field), " ", newest(row.newest, nowMs)] : h("span.muted", "—"),
      ),
      h(
        "td.fresh-problems",
        failures(row).length
          ? h(
              "ul.fresh-failures",
              failures(row).map((result) =>
                h(
                  "li.error",
                  { dataset: { check: result.name } },
                  h("code", result.name),
                  " ",
                  result.message,
                ),
              ),
            )
          : h("span.muted", row.status === "unchecked" ? t("fresh.noChecks") : "—"),
      ),
      h("td.fresh-run", lastRun(row.last_run)),
    );
  }

  /** "3 d ago" with the time itself in a title; `none` when there is no time. */
  function moment(iso, nowMs, none) {
    const age = span(secondsSince(iso, nowMs));
    if (!age) return h("span.muted", none);
    return h(
      "time",
      { datetime: iso, title: iso },
      t("fresh.ago", { n: num(age.n), unit: t(`fresh.unit.${age.unit}`) }),
    );
  }

  /** The newest date of the declared field, and how old it is. */
  function newest(iso, nowMs) {
    if (!iso) return h("span.muted", t("fresh.noDate"));
    return [
      h("time", { datetime: iso, title: iso }, iso.slice(0, 10)),
      h("div.muted.small", moment(iso, nowMs, "")),
    ];
  }

  function windowCell(row) {
    const count = newItems(row);
    if (count === null) return h("span.muted", "—");
    const within = span(row.checks?.min_new_items?.within);
    return h(
      "span",
      { dataset: { newItems: String(row.new_items) } },
      within
        ? t("fresh.newWithin", {
            n: count,
            window: `${num(within.n)} ${t(`fresh.unit.${within.unit}`)}`,
          })
        : count,
    );
  }

  function lastRun(run) {
    if (!run) return h("span.muted", t("fresh.neverRun"));
    return [
      h(
        "a",
        { href: `#/runs/${encodeURIComponent(run.run_id)}` },
        badge(run.status, statusText(run.status)),
      ),
      h("div.muted.small", when(run.finished_at || run.started_at)),
    ];
  }

  replace(
    main,
    h("h1", t("nav.freshness")),
    h("p.muted", t("fresh.intro")),
    notice,
    tag
      ? h(
          "p#fresh-filter",
          t("fresh.filtered", { tag }),
          " ",
          h("a", { href: "#/freshness" }, t("fresh.allTags")),
        )
      : null,
    tools,
    box,
  );
  await load();
}

function tagHref(tag) {
  return `#/freshness?tag=${encodeURIComponent(tag)}`;
}

function filterBy(tag) {
  location.hash = tag ? tagHref(tag) : "#/freshness";
}
