// Point-and-click selectors in the rule editor's preview panel: a sanitized snapshot of the
// previewed page (POST /api/rules/{name}/snapshot: no script, style, frame, form action or URL
// left) in an iframe sandboxed without allow-scripts; in pick mode a click in it is caught by
// this page's script (the frame is same-origin through allow-same-origin, but runs nothing of
// its own), the element's data-pick path goes to POST /api/rules/{name}/pick, and each proposed
// selector, with what it gives on every sample page, can be inserted into the rule's YAML as a
// field, a link or the pagination's next (editor/insert.js).

import { errorText, post } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { InsertError, selectorChange } from "../editor/insert.js";

const HIGHLIGHT = "3px solid #f59e0b";

/**
 * The pick section. name: the rule; text(): its YAML; request(): {url, page, args} of the
 * preview form; change({from, to, insert}): applies a change to the editor's text.
 */
export function pickPanel({ name, text, request, change }) {
  const toggle = h("button#pick-toggle", { type: "button", "aria-pressed": "false" }, t("pick.on"));
  const status = h("p.small#pick-status", { role: "status", "aria-live": "polite" });
  const frameHost = h("div.pick-frame-host");
  const samples = h("textarea#pick-samples", { rows: 2, placeholder: "https://…" });
  const result = h("div#pick-result", { "aria-live": "polite" });
  let frame = null;
  let picked = null; // the highlighted element in the frame
  let pageTypes = [];
  let pageType = null;
  let busy = false;

  function stop() {
    frame?.remove();
    frame = null;
    picked = null;
    toggle.setAttribute("aria-pressed", "false");
    toggle.textContent = t("pick.on");
    replace(status);
  }

  async function start() {
    const { url, page, args } = request();
    if (!url) {
      status.textContent = t("pick.needUrl");
      return;
    }
    toggle.disabled = true;
    status.textContent = t("pick.loading");
    try {
      const answer = await post(`/rules/${encodeURIComponent(name)}/snapshot`, {
        yaml: text(),
        url,
        page,
        args,
      });
      pageTypes = answer.pages || [];
      pageType = answer.page;
      frame = h("iframe#pick-frame", {
        // no allow-scripts: nothing of the page runs; allow-same-origin: this page reads clicks
        sandbox: "allow-same-origin",
        title: t("pick.frame"),
        srcdoc: answer.html,
      });
      // shown once its clicks are caught (the srcdoc document exists from its load on)
      frame.style.visibility = "hidden";
      frame.addEventListener("load", (event) => {
        watch(event.currentTarget);
        event.currentTarget.style.visibility = "visible";
      });
      replace(frameHost, frame);
      toggle.setAttribute("aria-pressed", "true");
      toggle.textContent = t("pick.off");
      status.textContent = t("pick.hint");
    } catch (error) {
      status.textContent = errorText(error);
    } finally {
      toggle.disabled = false;
    }
  }

  function watch(target) {
    const doc = target.contentDocument;
    if (!doc) return;
    // nothing in the snapshot navigates or submits: links and forms are inert here
    doc.addEventListener("submit", (event) => event.preventDefault(), true);
    doc.addEventListener(
      "click",
      (event) => {
        event.preventDefault();
        event.stopPropagation();
        const element = event.target.closest?.("[data-pick]");
        if (element) choose(element);
      },
      true,
    );
  }

  async function choose(element) {
    if (busy) return;
    if (picked) picked.style.outline = "";
    picked = element;
    element.style.outline = HIGHLIGHT;
    const path = element.dataset.pick.split(".").map(Number);
    const { url, page, args } = request();
    const others = samples.value
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean);
    busy = true;
    replace(result, h("p.muted", { role: "status" }, t("pick.proposing")));
    try {
      const answer = await post(`/rules/${encodeURIComponent(name)}/pick`, {
        yaml: text(),
        url,
        page,
        args,
        path,
        samples: others,
      });
      pageTypes = answer.pages || pageTypes;
      pageType = answer.page ?? pageType;
      replace(result, ...showProposals(answer));
    } catch (error) {
      replace(result, h("p.error", { role: "alert" }, errorText(error)));
    } finally {
      busy = false;
    }
  }

  function showProposals(answer) {
    const into = h(
      "select#pick-page",
      { "aria-label": t("pick.pageType") },
      pageTypes.map((p) => h("option", { value: p, selected: p === pageType }, p)),
    );
    const as = h(
      "select#pick-as",
      { "aria-label": t("pick.as") },
      ["field", "link", "next"].map((kind) => h("option", { value: kind }, t(`pick.as.${kind}`))),
    );
    const fieldName = h("input#pick-name", {
      placeholder: t("pick.fieldName"),
      "aria-label": t("pick.fieldName"),
      pattern: "[A-Za-z_][A-Za-z0-9_]*",
    });
    const target = h(
      "select#pick-target",
      { "aria-label": t("pick.target"), hidden: true },
      pageTypes.map((p) => h("option", { value: p }, p)),
    );
    as.addEventListener("change", () => {
      fieldName.hidden = as.value !== "field";
      target.hidden = as.value !== "link";
    });
    const note = h("p.small#pick-inserted", { role: "status", "aria-live": "polite" });

    function insert(proposal) {
      try {
        change(
          selectorChange(text(), {
            page: into.value,
            as: as.value,
            name: as.value === "link" ? target.value : fieldName.value.trim(),
            kind: proposal.kind,
            expression: proposal.expression,
          }),
        );
        note.textContent = t("pick.inserted", { expression: proposal.expression });
      } catch (error) {
        note.textContent =
          error instanceof InsertError ? t(error.code, error.values) : String(error);
      }
    }

    const proposals = answer.proposals || [];
    return [
      h("p.small", t("pick.element", { tag: answer.tag, text: answer.text || "—" })),
      h(
        "div.row.pick-into",
        h("label", { for: "pick-page" }, t("pick.into")),
        into,
        as,
        fieldName,
        target,
      ),
      note,
      proposals.length
        ? h(
            "ol#pick-proposals",
            proposals.map((proposal) =>
              h(
                "li.pick-proposal",
                { dataset: { expression: proposal.expression } },
                h("code", `${proposal.kind}: ${proposal.expression}`),
                " ",
                h(
                  "button.pick-insert",
                  { type: "button", onclick: () => insert(proposal) },
                  t("pick.insert"),
                ),
                h(
                  "table.data.fields.pick-values",
                  h(
                    "tbody",
                    Object.entries(proposal.values || {}).map(([url, values]) =>
                      h(
                        "tr",
                        h("th", { scope: "row" }, url),
                        h("td", values.length ? values.join(" | ") : t("pick.nothing")),
                      ),
                    ),
                  ),
                ),
              ),
            ),
          )
        : h("p.muted", t("pick.none")),
    ];
  }

  toggle.addEventListener("click", () => (frame ? stop() : start()));

  return h(
    "section.pick",
    { "aria-labelledby": "pick-h" },
    h("h3#pick-h", t("pick.title")),
    h("div.row", toggle),
    status,
    h("label", { for: "pick-samples" }, t("pick.samples")),
    samples,
    frameHost,
    result,
  );
}
