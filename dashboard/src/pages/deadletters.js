// Dead letters of a collection: items that failed their item type, grouped by reason (the
// largest group first, each opening to its letters), with the fields that failed, each linked to
// its line in the rule (the service finds it: crawler/service/dead_fields.py), and replaying them
// (selected ones, a whole group, or all) once the rule or the type is fixed.

import { errorText, get, post } from "../api.js";
import { h, num, replace, when } from "../dom.js";
import { t } from "../i18n.js";
import { decodeText, failuresOf, groupDeadLetters, isUrl } from "../itemviews.js";
import { can } from "../session.js";

const PAGE = 200;

export async function renderDeadLetters(body, collection, cursor = null) {
  const answer = await get(`/collections/${encodeURIComponent(collection)}/dead`, {
    limit: PAGE,
    cursor,
  });
  const rows = answer.items || [];
  const groups = groupDeadLetters(rows);
  const status = h("p.notice", { role: "status", "aria-live": "polite" });
  const json = h("pre.json#dead-json", { tabindex: "0", hidden: true });

  async function replay(body_) {
    try {
      const result = await post(
        `/collections/${encodeURIComponent(collection)}/dead/replay`,
        body_,
      );
      await renderDeadLetters(body, collection);
      body.querySelector(".notice").textContent = t("dead.replayed", {
        replayed: result.replayed,
        still: result.still_dead,
      });
    } catch (error) {
      status.textContent = errorText(error);
    }
  }

  const editor = can("editor");
  const selected = () =>
    [...body.querySelectorAll("input[name=dead]:checked")].map((box) => box.value);
  replace(
    body,
    status,
    rows.length
      ? [
          editor
            ? h(
                "div.row",
                h(
                  "button",
                  {
                    type: "button",
                    onclick: () => selected().length && replay({ ids: selected() }),
                  },
                  t("dead.replaySelected"),
                ),
                h(
                  "button",
                  { type: "button", onclick: () => replay({ all: true }) },
                  t("dead.replayAll"),
                ),
              )
            : null,
          h(
            "p.muted#dead-summary",
            t("dead.groups", { n: num(rows.length), groups: num(groups.length) }),
            answer.next ? ` ${t("dead.morePages")}` : "",
          ),
          h(
            "div#dead-groups",
            groups.map((group, i) => groupBlock(group, i, { editor, json, replay })),
          ),
          json,
          answer.next
            ? h(
                "nav.pager",
                h(
                  "button",
                  {
                    type: "button",
                    onclick: () => renderDeadLetters(body, collection, answer.next),
                  },
                  t("items.next"),
                ),
              )
            : null,
        ]
      : h("p.muted", t("dead.none")),
  );
}

/** One reason: its count and failing fields in the summary; its letters in a table. */
function groupBlock(group, index, { editor, json, replay }) {
  const rule = group.rows.find((row) => typeof row._rule === "string")?._rule;
  const lines = new Map();
  for (const row of group.rows)
    for (const f of failuresOf(row)) if (f.field && f.line) lines.set(f.field, f.line);
  return h(
    "details.dead-group",
    { open: index === 0 ? true : null, dataset: { reason: group.reason } },
    h(
      "summary",
      h("span.badge.badge-bad.dead-count", num(group.count)),
      " ",
      h("span.dead-reason.wrap", group.reason || t("dead.noReason")),
    ),
    group.fields.length
      ? h(
          "p.small.dead-fields",
          t("dead.failedFields"),
          " ",
          group.fields.map((field, i) => [i ? ", " : "", fieldLink(rule, field, lines.get(field))]),
        )
      : null,
    editor
      ? h(
          "button.link",
          {
            type: "button",
            onclick: () => replay({ ids: group.rows.map((row) => row._dead_id) }),
          },
          t("dead.replayGroup", { n: group.count }),
        )
      : null,
    h(
      "div.table-wrap",
      h(
        "table.data.dead-table",
        h(
          "thead",
          h(
            "tr",
            h("th", { scope: "col" }, h("span.sr-only", t("dead.select"))),
            ["url", "field", "when", "item"].map((k) => h("th", { scope: "col" }, t(`dead.${k}`))),
          ),
        ),
        h(
          "tbody",
          group.rows.map((row) =>
            h(
              "tr",
              h(
                "td",
                h("input", {
                  type: "checkbox",
                  name: "dead",
                  value: row._dead_id,
                  "aria-label": t("dead.selectOne", { id: row._dead_id }),
                }),
              ),
              h("td.small.url", urlCell(row._url)),
              h(
                "td.small.dead-failures",
                failuresOf(row).map((f) =>
                  h("div", f.field ? h("code", f.field) : null, f.field ? ": " : "", f.message),
                ),
              ),
              h("td.small", when(row._dead_at || row._crawled_at)),
              h(
                "td",
                h(
                  "button.link",
                  { type: "button", onclick: () => toggleJson(json, row) },
                  t("dead.show"),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

/** A failing field: a link to its line in the rule editor (or to the rule, the field named). */
function fieldLink(rule, field, line) {
  if (!rule) return h("code", field);
  const query = new URLSearchParams(line ? { line: String(line) } : { field });
  return h(
    "a.dead-field",
    {
      href: `#/rules/${encodeURIComponent(rule)}?${query}`,
      title: line ? t("dead.fieldAt", { rule, line }) : t("dead.fieldIn", { rule }),
    },
    h("code", field),
    line ? ` (${t("dead.line", { line })})` : "",
  );
}

function urlCell(url) {
  if (typeof url !== "string" || !url) return "";
  const label = decodeText(url);
  if (!isUrl(url)) return h("span", { title: label }, label); // only http(s) is linked
  return h("a", { href: url, title: label, rel: "noreferrer noopener", target: "_blank" }, label);
}

function toggleJson(box, row) {
  const text = JSON.stringify(row, null, 2);
  box.hidden = !box.hidden && box.textContent === text;
  box.textContent = text;
  if (!box.hidden) box.focus();
}
