// The rule editor's CodeMirror 6 set-up: YAML with completion, hover docs and lint from the
// rule JSON Schema (rules/rule.schema.json, bundled at build time, through codemirror-json-schema),
// plus the compiler's own problems (POST /api/rules/validate) shown inline at their line.

import { indentWithTab } from "@codemirror/commands";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { forceLinting, lintGutter, linter } from "@codemirror/lint";
import { basicSetup } from "codemirror";
import { yamlSchema } from "codemirror-json-schema/yaml";
import schema from "../../../rules/rule.schema.json";

const COMPILER_DELAY_MS = 500;

/**
 * The nonce the service gave this page (a meta tag it writes into index.html): its
 * Content-Security-Policy lets in only the <style> elements that carry it, and CodeMirror puts
 * its styles in one.
 */
function styleNonce() {
  return document.querySelector('meta[name="csp-nonce"]')?.getAttribute("content") || null;
}

/**
 * An editor in parent holding doc. validate(text) → [{line, column, message, severity, path}]
 * (1-based positions) is the compiler; onChange(text) is told of every edit. readOnly: for a
 * person whose role may read rules but not change them.
 */
export function createRuleEditor(parent, { doc, label, validate, onChange, readOnly = false }) {
  const compilerLint = linter(
    async (view) => {
      const text = view.state.doc.toString();
      const problems = await validate(text);
      // a stale answer for text that changed meanwhile is dropped; the next lint run follows
      if (problems === null || view.state.doc.toString() !== text) return [];
      return problems.map((problem) => diagnostic(view.state, problem));
    },
    { delay: COMPILER_DELAY_MS },
  );
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        styleNonce() ? EditorView.cspNonce.of(styleNonce()) : [],
        basicSetup,
        // Tab indents; Escape then Tab leaves the editor (CodeMirror's tab focus mode)
        keymap.of([indentWithTab]),
        yamlSchema(schema),
        compilerLint,
        lintGutter(),
        EditorView.contentAttributes.of({ "aria-label": label }),
        readOnly ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : [],
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange?.(update.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    /** Put the cursor at line:column (1-based) and focus the editor. */
    goto(line, column = 1) {
      const target = view.state.doc.line(clamp(line, 1, view.state.doc.lines));
      const pos = Math.min(target.from + Math.max(0, column - 1), target.to);
      view.dispatch({ selection: { anchor: pos }, scrollIntoView: true });
      view.focus();
    },
    /** Replace the whole text (a version restored from the history). */
    setText(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    /** Apply one change ({from, to, insert}: a picked selector), select it and show it. */
    change({ from, to, insert }) {
      view.dispatch({
        changes: { from, to, insert },
        selection: { anchor: from, head: from + insert.length },
        scrollIntoView: true,
      });
    },
    /** Run the linters now (after a save answered with problems, say). */
    relint: () => forceLinting(view),
    destroy: () => view.destroy(),
  };
}

/**
 * A compiler problem as a CodeMirror diagnostic: the word at its line and column (up to a space
 * or YAML punctuation), or the rest of the line when no word starts there.
 */
export function diagnostic(state, problem) {
  const line = state.doc.line(clamp(problem.line || 1, 1, state.doc.lines));
  const from = Math.min(line.from + Math.max(0, (problem.column || 1) - 1), line.to);
  const word = /^[^\s,[\]{}:#]+/.exec(line.text.slice(from - line.from));
  const to = word
    ? from + word[0].length
    : from < line.to
      ? line.to
      : Math.min(from + 1, state.doc.length);
  const where = problem.path ? `${problem.path}: ` : "";
  return {
    from,
    to,
    severity: problem.severity === "warning" ? "warning" : "error",
    source: "scrapy validate",
    message: `${where}${problem.message}`,
  };
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}
