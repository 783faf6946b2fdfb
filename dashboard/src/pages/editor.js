// Rule editor page: pick or start a rule, edit it (editor/ruleeditor.js), see the compiler's
// problems at their lines, preview it on a URL (preview.js), save it and run it now.
// Unsaved text survives a language switch (drafts are kept per rule for the page's lifetime).
// What the page says of the rule always describes the text in the editor: an edit marks the
// verdict as checking and clears a save message, and an answer for an older text is dropped
// (each check has a number; only the latest one's answer is shown). #/rules/<name>?line=N opens
// the rule at line N; ?field=NAME at the first line defining that field.

import { ApiError, errorText, get, post, put } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { createRuleEditor } from "../editor/ruleeditor.js";
import { historyPanel } from "./history.js";
import { previewPanel } from "./preview.js";
import { can } from "../session.js";

const drafts = new Map(); // rule name → unsaved text

export async function render(main, [name], query = new URLSearchParams()) {
  const rules = (await get("/rules")).items || [];
  if (!name) {
    replace(main, h("h1", t("nav.rules")), picker(rules, ""), h("p.muted", t("editor.pick")));
    return;
  }
  // viewers read rules: no save, run or preview (the service refuses them anyway)
  const editable = can("editor");
  let saved = "";
  let isNew = false;
  let loadProblems = [];
  try {
    const rule = await get(`/rules/${encodeURIComponent(name)}`);
    saved = rule.yaml;
    loadProblems = [...(rule.problems || []), ...(rule.warnings || [])];
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    isNew = true;
    saved = template(name);
  }

  const status = h("p.notice#editor-status", { role: "status", "aria-live": "polite" });
  const problemsBox = h("div#problems", { "aria-live": "polite" });
  const verdict = h("p#verdict");
  const note = h("p.small.muted#validate-note");
  const saveButton = h("button#save", { type: "button", onclick: save }, t("action.save"));
  const message = h("input#save-message", {
    type: "text",
    maxlength: 500,
    placeholder: t("editor.messageHint"),
    "aria-label": t("editor.message"),
  });
  const history = historyPanel(name, {
    editable,
    onRestored: async () => {
      const rule = await get(`/rules/${encodeURIComponent(name)}`);
      saved = rule.yaml;
      drafts.delete(name);
      editor.setText(saved);
      refreshButtons();
    },
  });
  const runButton = h("button#run-now", { type: "button", onclick: runNow }, t("action.runNow"));
  const host = h("div.editor-host#editor");
  let editor = null;
  let checks = 0; // the number of the latest check asked for
  let checkedText = null; // the text the problems shown describe

  function dirty() {
    return editor ? editor.text() !== saved : drafts.has(name);
  }

  /** An edit: what was said of the earlier text no longer holds. */
  function edited(text) {
    if (text === checkedText) return;
    status.textContent = "";
    note.textContent = "";
    verdict.className = "verdict pending";
    verdict.textContent = t("editor.checking");
  }

  function refreshButtons() {
    runButton.disabled = dirty() || isNew;
    runButton.title = dirty() ? t("editor.saveFirst") : "";
    if (dirty()) drafts.set(name, editor.text());
    else drafts.delete(name);
  }

  async function validate(text) {
    if (!editable) {
      showProblems(loadProblems, !loadProblems.some((p) => p.severity !== "warning"));
      return loadProblems;
    }
    const check = ++checks;
    // an answer for a text that is no longer the latest asked for, or no longer the editor's
    const stale = () => check !== checks || (editor && editor.text() !== text);
    try {
      const answer = await post("/rules/validate", { yaml: text, name });
      if (stale()) return null;
      checkedText = text;
      note.textContent = "";
      showProblems(answer.problems || [], answer.ok);
      return answer.problems || [];
    } catch (error) {
      if (stale()) return null;
      checkedText = text;
      if (error instanceof ApiError && error.status === 401 && !isNew) {
        // The service checks posted YAML for token holders only: without a token, the problems
        // of the file as saved (from GET /api/rules/{name}) are what is known.
        if (text === saved) {
          showProblems(loadProblems, !loadProblems.some((p) => p.severity !== "warning"));
          note.textContent = t("editor.tokenToCheck");
          return loadProblems;
        }
        note.textContent = t("editor.tokenToCheckEdits");
        return null;
      }
      verdict.textContent = t("editor.validateFailed", { error: errorText(error) });
      return null;
    }
  }

  function showProblems(problems, ok) {
    const errors = problems.filter((p) => p.severity !== "warning").length;
    const warnings = problems.length - errors;
    verdict.className = ok === false || errors ? "verdict bad" : "verdict ok";
    verdict.textContent =
      errors || warnings ? t("editor.problemCount", { errors, warnings }) : t("editor.valid");
    replace(
      problemsBox,
      problems.length
        ? h(
            "ol.problems",
            problems.map((p) =>
              h(
                `li.${p.severity === "warning" ? "warning" : "error"}`,
                { dataset: { line: p.line, column: p.column } },
                h(
                  "button.link",
                  { type: "button", onclick: () => editor.goto(p.line, p.column) },
                  t("editor.at", { line: p.line, column: p.column }),
                ),
                " ",
                p.path ? h("code", p.path) : null,
                p.path ? ": " : "",
                p.severity === "warning" ? h("em", `${t("editor.warning")}: `) : null,
                p.message,
              ),
            ),
          )
        : null,
    );
  }

  async function save() {
    status.textContent = t("editor.saving");
    try {
      const answer = await put(`/rules/${encodeURIComponent(name)}`, {
        yaml: editor.text(),
        message: message.value,
      });
      saved = editor.text();
      loadProblems = [];
      isNew = false;
      message.value = "";
      refreshButtons();
      status.textContent = t("editor.savedVersion", { id: answer.version.id });
      await history.load();
    } catch (error) {
      const problems =
        error.body?.problems ||
        error.body?.detail?.problems ||
        (Array.isArray(error.detail) && error.detail[0]?.line ? error.detail : null);
      if (error instanceof ApiError && error.status === 422 && problems) {
        showProblems(problems, false);
        status.textContent = t("editor.notSaved");
      } else {
        status.textContent = t("editor.saveFailed", { error: errorText(error) });
      }
    }
  }

  async function runNow() {
    status.textContent = t("action.starting", { rule: name });
    try {
      const answer = await post(`/rules/${encodeURIComponent(name)}/run`, { args: {} });
      location.hash = `#/runs/${encodeURIComponent(answer.run_id)}`;
    } catch (error) {
      status.textContent = errorText(error);
    }
  }

  replace(
    main,
    h("h1", t("editor.title", { name })),
    picker(rules, name),
    isNew && editable ? h("p.notice", t("editor.newRule")) : null,
    editable ? null : h("p.notice#read-only", t("editor.readOnly")),
    h(
      "div.editor-layout",
      h(
        "section.editor-main",
        { "aria-labelledby": "editor-h" },
        h("h2#editor-h.sr-only", t("editor.yaml")),
        host,
        h("p.small.muted", t("editor.keys")),
        editable ? h("div.row", message, saveButton, runButton, status) : null,
        h(
          "section",
          { "aria-labelledby": "problems-h" },
          h("h2#problems-h", t("editor.problems")),
          verdict,
          note,
          problemsBox,
        ),
        isNew ? null : history.panel,
      ),
      editable
        ? previewPanel(() => editor.text(), { name, change: (c) => editor.change(c) })
        : null,
    ),
  );
  editor = createRuleEditor(host, {
    doc: drafts.get(name) ?? saved,
    label: t("editor.yamlOf", { name }),
    validate,
    onChange: (text) => {
      edited(text);
      refreshButtons();
    },
    readOnly: !editable,
  });
  if (loadProblems.length) {
    showProblems(loadProblems, !loadProblems.some((p) => p.severity !== "warning"));
  }
  refreshButtons();
  openAt(editor, query);
  if (!isNew) history.load();
  const relint = () => editor.relint();
  window.addEventListener("tokenchange-dashboard", relint);
  return () => {
    window.removeEventListener("tokenchange-dashboard", relint);
    editor.destroy();
  };
}

/** Put the cursor at ?line=N, or at the first line defining ?field=NAME (`NAME:`). */
function openAt(editor, query) {
  const line = Number(query.get("line"));
  if (Number.isInteger(line) && line > 0) return editor.goto(line, 1);
  const field = query.get("field");
  if (!field) return;
  const lines = editor.text().split("\n");
  const found = lines.findIndex((text) => text.trimStart().startsWith(`${field}:`));
  if (found >= 0) editor.goto(found + 1, lines[found].length - lines[found].trimStart().length + 1);
}

function picker(rules, current) {
  const select = h(
    "select#rule-picker",
    { onchange: (event) => (location.hash = `#/rules/${encodeURIComponent(event.target.value)}`) },
    h("option", { value: "", disabled: true, selected: !current }, t("editor.choose")),
    rules.map((r) =>
      h(
        "option",
        { value: r.name, selected: r.name === current },
        r.valid === false ? `${r.name} ⚠` : r.name,
      ),
    ),
  );
  const newName = h("input#new-rule", {
    pattern: "[A-Za-z0-9][A-Za-z0-9_-]*",
    required: true,
    placeholder: "my_site",
  });
  return h(
    "div.row.picker",
    h("label", { for: "rule-picker" }, t("editor.rule")),
    select,
    h(
      "form.row",
      {
        onsubmit: (event) => {
          event.preventDefault();
          if (newName.checkValidity())
            location.hash = `#/rules/${encodeURIComponent(newName.value)}`;
        },
      },
      h("label", { for: "new-rule" }, t("editor.newName")),
      newName,
      h("button", { type: "submit" }, t("editor.create")),
    ),
  );
}

function template(name) {
  return `# yaml-language-server: $schema=./rule.schema.json
name: ${name}
description: ""
args:
  site: https://example.com
start:
  - url: "{site}/"
    page: index
pages:
  index:
    fields:
      title: {css: "h1::text", required: true}
`;
}
