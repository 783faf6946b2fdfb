// The rule editor's preview panel: run the edited rule on one URL (POST /api/rules/preview, the
// engine of `scrapy preview`) and show the fields it extracts and the links it would follow.

import { errorText, post } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { pickPanel } from "./pick.js";

/** The panel; text() gives the YAML being edited; with pick ({name, change}), point-and-click
 * selectors (pick.js) on the previewed URL. */
export function previewPanel(text, pick) {
  const result = h("div#preview-result", { "aria-live": "polite" });
  const url = h("input#preview-url", {
    type: "url",
    required: true,
    placeholder: "https://…",
    size: 30,
  });
  const page = h("input#preview-page", { placeholder: t("preview.pageAuto") });
  const args = h("textarea#preview-args", { rows: 2, placeholder: "site=http://127.0.0.1:8000" });
  const button = h("button", { type: "submit" }, t("preview.run"));

  async function run(event) {
    event.preventDefault();
    button.disabled = true;
    replace(result, h("p.muted", { role: "status" }, t("preview.running")));
    try {
      const answer = await post("/rules/preview", {
        yaml: text(),
        url: url.value,
        page: page.value || undefined,
        args: parseArgs(args.value),
      });
      replace(result, ...showResult(answer));
    } catch (error) {
      const problems = error.body?.problems || [];
      replace(
        result,
        h("p.error", { role: "alert" }, errorText(error)),
        problems.length
          ? h(
              "ul.problems",
              problems.map((p) =>
                h("li.error", t("editor.at", p), " ", p.path ? `${p.path}: ` : "", p.message),
              ),
            )
          : null,
      );
    } finally {
      button.disabled = false;
    }
  }

  return h(
    "section.preview",
    { "aria-labelledby": "preview-h" },
    h("h2#preview-h", t("preview.title")),
    h(
      "form",
      { onsubmit: run },
      h("label", { for: "preview-url" }, t("preview.url")),
      url,
      h("label", { for: "preview-page" }, t("preview.page")),
      page,
      h("label", { for: "preview-args" }, t("preview.args")),
      args,
      h("div", button),
    ),
    pick
      ? pickPanel({
          ...pick,
          text,
          request: () => ({
            url: url.value,
            page: page.value || undefined,
            args: parseArgs(args.value),
          }),
        })
      : null,
    result,
  );
}

/** "a=1\nb=2" → {a: "1", b: "2"} (blank lines and lines without "=" are left out). */
export function parseArgs(text) {
  const args = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) args[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return args;
}

function showResult(answer) {
  const items = answer.items || [];
  const links = answer.links || [];
  const problems = answer.problems || [];
  const empty = answer.empty_fields || [];
  const warnings = answer.warnings || [];
  return [
    h(
      "p.small",
      t("preview.summary", {
        page: answer.page ?? "—",
        status: answer.status ?? "—",
        items: items.length,
        links: links.length,
      }),
    ),
    problems.length
      ? h(
          "ul.problems",
          problems.map((p) =>
            h(
              "li.error",
              typeof p === "string"
                ? p
                : `${p.reason ? `${p.reason}: ` : ""}${p.message ?? JSON.stringify(p)}`,
            ),
          ),
        )
      : null,
    answer.page_choice ? h("p.small", t("preview.choice", { why: answer.page_choice })) : null,
    answer.stored_in ? h("p.small", t("preview.storedIn", { where: answer.stored_in })) : null,
    warnings.length
      ? h(
          "ul.problems#preview-warnings",
          warnings.map((w) => h("li.warning", w)),
        )
      : null,
    empty.length ? h("p.warning", t("preview.empty", { fields: empty.join(", ") })) : null,
    h("h3", t("preview.fields")),
    items.length
      ? items.slice(0, 20).map((item, i) =>
          h(
            "table.data.fields",
            h("caption", t("preview.item", { n: i + 1 })),
            h(
              "tbody",
              Object.entries(item).map(([field, value]) =>
                h(
                  "tr",
                  h("th", { scope: "row" }, h("code", field)),
                  h("td", typeof value === "string" ? value : JSON.stringify(value)),
                ),
              ),
            ),
          ),
        )
      : h("p.muted", t("preview.noItems")),
    h("h3", t("preview.links")),
    links.length
      ? h(
          "ul.links#preview-links",
          links.slice(0, 100).map((link) => h("li", h("code", link.page ?? "?"), " ", link.url)),
        )
      : h("p.muted", t("preview.noLinks")),
  ];
}
