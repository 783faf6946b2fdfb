// Dead letters of a collection: items that failed their item type, with the reason, and
// replaying them (selected ones or all) once the rule or the type is fixed.

import { errorText, get, post } from "../api.js";
import { h, replace, when } from "../dom.js";
import { t } from "../i18n.js";
import { can } from "../session.js";

export async function renderDeadLetters(body, collection, cursor = null) {
  const answer = await get(`/collections/${encodeURIComponent(collection)}/dead`, {
    limit: 50,
    cursor,
  });
  const rows = answer.items || [];
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

  const selected = () =>
    [...body.querySelectorAll("input[name=dead]:checked")].map((box) => box.value);
  replace(
    body,
    status,
    rows.length
      ? [
          can("editor")
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
            "table.data#dead-table",
            h(
              "thead",
              h(
                "tr",
                h("th", { scope: "col" }, h("span.sr-only", t("dead.select"))),
                ["reason", "url", "when", "item"].map((k) =>
                  h("th", { scope: "col" }, t(`dead.${k}`)),
                ),
              ),
            ),
            h(
              "tbody",
              rows.map((row) =>
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
                  h("td.reason", row._reason),
                  h("td.small", row._url || ""),
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

function toggleJson(box, row) {
  const text = JSON.stringify(row, null, 2);
  box.hidden = !box.hidden && box.textContent === text;
  box.textContent = text;
  if (!box.hidden) box.focus();
}
