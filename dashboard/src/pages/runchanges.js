// What one run changed (#/runs/<id>/changes): the items it stored new or updated in a
// collection its rule writes (GET /api/runs/{id}/changes), keyset-paged, each updated one with
// the fields that changed against the version it replaced (diff.js), when history is kept.
// The collection and the page live in the address (?collection=, ?cursor=).

import { get } from "../api.js";
import { diffItems } from "../diff.js";
import { h, num, replace, when } from "../dom.js";
import { t } from "../i18n.js";
import { decodeText, isUrl, keyText } from "../itemviews.js";

export async function render(main, [runId], query) {
  const params = { limit: 50 };
  for (const name of ["collection", "cursor"]) if (query.get(name)) params[name] = query.get(name);
  const answer = await get(`/runs/${encodeURIComponent(runId)}/changes`, params);
  const rows = answer.items || [];
  const collection = answer.collection;
  const base = `#/runs/${encodeURIComponent(runId)}/changes`;
  const counts = { new: 0, updated: 0 };
  for (const row of rows) counts[row.change] = (counts[row.change] || 0) + 1;
  replace(
    main,
    h("h1", t("changes.title", { run: runId })),
    h(
      "p",
      h("a", { href: `#/runs/${encodeURIComponent(runId)}` }, t("changes.back")),
      answer.run?.rule ? ` · ${t("changes.rule", { rule: answer.run.rule })}` : "",
      ` · ${when(answer.run?.started_at)} – ${when(answer.run?.finished_at)}`,
    ),
    answer.collections?.length > 1
      ? h(
          "div.row",
          h("label", { for: "changes-collection" }, t("items.collection")),
          h(
            "select#changes-collection",
            {
              onchange: (event) =>
                (location.hash = `${base}?collection=${encodeURIComponent(event.target.value)}`),
            },
            answer.collections.map((name) =>
              h("option", { value: name, selected: name === collection }, name),
            ),
          ),
        )
      : null,
    collection
      ? h(
          "p#changes-count",
          { role: "status" },
          t("changes.count", { new: num(counts.new), updated: num(counts.updated) }),
          query.get("cursor") ? ` · ${t("changes.laterPage")}` : "",
          " · ",
          h("a", { href: `#/items/${encodeURIComponent(collection)}` }, collection),
        )
      : h("p.muted", t("changes.noCollection")),
    rows.length
      ? h("div.table-wrap", changesTable(rows, collection))
      : collection
        ? h("p.muted#changes-none", t("changes.none"))
        : null,
    h(
      "nav.pager",
      { "aria-label": t("items.pages") },
      query.get("cursor")
        ? h("a", { href: `${base}?${pageQuery(collection)}` }, t("items.first"))
        : null,
      answer.next
        ? h(
            "a#changes-next",
            { href: `${base}?${pageQuery(collection, answer.next)}` },
            t("items.next"),
          )
        : null,
    ),
  );
}

function pageQuery(collection, cursor) {
  const query = new URLSearchParams();
  if (collection) query.set("collection", collection);
  if (cursor) query.set("cursor", cursor);
  return query;
}

function changesTable(rows, collection) {
  return h(
    "table.data#changes-table",
    h(
      "thead",
      h(
        "tr",
        ["change", "key", "url", "what"].map((k) => h("th", { scope: "col" }, t(`changes.${k}`))),
      ),
    ),
    h(
      "tbody",
      rows.map((row) => {
        const item = row.item || {};
        const key = keyText(item._key);
        return h(
          `tr.change-${row.change}`,
          h(
            "td",
            h(
              `span.badge.${row.change === "new" ? "badge-ok" : "badge-live"}`,
              t(`changes.${row.change}`),
            ),
          ),
          h(
            "th.wrap",
            { scope: "row" },
            h(
              "a.change-key",
              {
                href: `#/items/${encodeURIComponent(collection)}?item=${encodeURIComponent(item._key)}`,
                title: key,
              },
              key.length > 60 ? `…${key.slice(-59)}` : key,
            ),
          ),
          h(
            "td.url.small",
            isUrl(item._url)
              ? h(
                  "a",
                  {
                    href: item._url,
                    title: decodeText(item._url),
                    rel: "noreferrer noopener",
                    target: "_blank",
                  },
                  decodeText(item._url),
                )
              : "",
          ),
          h("td.small", what(row)),
        );
      }),
    ),
  );
}

/** For an updated item, the fields that changed (a table in a <details>); for a new one, when
 * it was first seen. */
function what(row) {
  if (row.change === "new") return t("changes.firstSeen", { when: when(row.item?._first_seen) });
  if (!row.previous) return t("changes.noPrevious");
  const changes = diffItems(row.previous, row.item);
  if (!changes.length) return t("item.same");
  return h(
    "details.change-diff",
    h("summary", changes.map((c) => c.field).join(", ")),
    h(
      "table.data.diff",
      h(
        "tbody",
        changes.map((c) =>
          h(
            `tr.${c.kind}`,
            h("th", { scope: "row" }, h("code", c.field)),
            h("td.before.wrap", c.kind === "added" ? "" : h("del", show(c.before))),
            h("td.after.wrap", c.kind === "removed" ? "" : h("ins", show(c.after))),
          ),
        ),
      ),
    ),
  );
}

function show(value) {
  if (value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}
