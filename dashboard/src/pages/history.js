// A rule's history in the editor: every saved version (when, who, why, its rule version), a
// diff of any two (or of one against the file now), and restoring one as a new version.

import { errorText, get, post } from "../api.js";
import { h, replace, when } from "../dom.js";
import { t } from "../i18n.js";

export function historyPanel(name, { editable, onRestored }) {
  const list = h("div#history-list");
  const diffBox = h("pre#history-diff.diff", { "aria-live": "polite" });
  const status = h("p.small#history-status", { role: "status", "aria-live": "polite" });
  const from = h("select#diff-a", { "aria-label": t("history.from") });
  const to = h("select#diff-b", { "aria-label": t("history.to") });
  const compare = h(
    "button#diff-show",
    { type: "button", onclick: showDiff },
    t("history.compare"),
  );

  async function load() {
    let versions = [];
    try {
      versions = (await get(`/rules/${encodeURIComponent(name)}/history`)).versions || [];
    } catch (error) {
      status.textContent = errorText(error);
    }
    const options = (withNow) => [
      withNow ? h("option", { value: "" }, t("history.now")) : null,
      versions.map((v) => h("option", { value: v.id }, `${v.id} · ${v.author}`)),
    ];
    replace(from, options(false));
    replace(to, options(true));
    if (versions.length > 1) from.value = String(versions[1].id);
    compare.disabled = !versions.length;
    replace(
      list,
      versions.length
        ? h(
            "table.data#history-table",
            h(
              "thead",
              h(
                "tr",
                ["version", "when", "author", "message", ""].map((key) =>
                  h("th", { scope: "col" }, key ? t(`history.col.${key}`) : ""),
                ),
              ),
            ),
            h(
              "tbody",
              versions.map((v) =>
                h(
                  "tr",
                  { dataset: { version: v.id } },
                  h("th", { scope: "row" }, String(v.id), " ", h("code.small", v.version || "—")),
                  h("td", when(v.at)),
                  h("td", v.author),
                  h("td", v.message || "—"),
                  h(
                    "td",
                    editable && v.id !== versions[0].id
                      ? h(
                          "button.restore",
                          { type: "button", onclick: () => restore(v.id) },
                          t("history.restore"),
                        )
                      : null,
                  ),
                ),
              ),
            ),
          )
        : h("p.muted#history-none", t("history.none")),
    );
  }

  async function showDiff() {
    try {
      const params = { a: from.value };
      if (to.value) params.b = to.value;
      const answer = await get(`/rules/${encodeURIComponent(name)}/diff`, params);
      replace(
        diffBox,
        answer.diff
          ? answer.diff
              .split("\n")
              .map((line) =>
                h(
                  `span.${line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "same"}`,
                  `${line}\n`,
                ),
              )
          : t("history.same"),
      );
    } catch (error) {
      diffBox.textContent = errorText(error);
    }
  }

  async function restore(version) {
    try {
      const answer = await post(`/rules/${encodeURIComponent(name)}/restore`, { version });
      await onRestored();
      await load();
      status.textContent = t("history.restored", { version, id: answer.version.id });
    } catch (error) {
      status.textContent = errorText(error);
    }
  }

  const panel = h(
    "section#history",
    { "aria-labelledby": "history-h" },
    h("h2#history-h", t("history.title")),
    status,
    list,
    h(
      "div.row",
      h("label", { for: "diff-a" }, t("history.from")),
      from,
      h("label", { for: "diff-b" }, t("history.to")),
      to,
      compare,
    ),
    diffBox,
  );
  return { panel, load };
}
