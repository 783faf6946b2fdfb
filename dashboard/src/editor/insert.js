// Where a picked selector goes in a rule's YAML: as a field of a page type, a link of it to a
// page type, or its pagination's `next`. Works on the text, line by line (block style, as rules
// are written), so the rest of the file (comments, order, quoting) is left exactly as it was.
// Pure: the editor applies the change it returns ({from, to, insert}) as one CodeMirror change.

const blank = (line) => /^\s*(#.*)?$/.test(line);
const indentOf = (line) => line.match(/^ */)[0].length;
const key = (name) => new RegExp(`^( *)${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\s*(#.*)?$`);

/** The index after the last line of the block that starts below line `start` (deeper than `indent`). */
function blockEnd(lines, start, indent) {
  let end = start + 1;
  for (let i = start + 1; i < lines.length; i++) {
    if (blank(lines[i])) continue;
    if (indentOf(lines[i]) <= indent) break;
    end = i + 1;
  }
  return end;
}

/** The indent of the first line of a block (fallback when it is empty). */
function childIndent(lines, start, end, fallback) {
  for (let i = start + 1; i < end; i++) if (!blank(lines[i])) return indentOf(lines[i]);
  return fallback;
}

/** The line of `name:` at exactly `indent` between start and end, or -1. */
function findKey(lines, start, end, indent, name) {
  const pattern = key(name);
  for (let i = start; i < end; i++) {
    const match = lines[i].match(pattern);
    if (match && match[1].length === indent) return i;
  }
  return -1;
}

/** The line of `name: {...}` (a field written inline) at `indent`, or -1. */
function sameInline(lines, start, end, indent, name) {
  for (let i = start; i < end; i++) {
    if (indentOf(lines[i]) === indent && lines[i].slice(indent).startsWith(`${name}:`)) return i;
  }
  return -1;
}

/** The selector as YAML flow: {css: "..."}. */
export function selectorYaml(kind, expression) {
  return `${kind}: ${JSON.stringify(expression)}`;
}

export class InsertError extends Error {
  constructor(code, values = {}) {
    super(code);
    this.code = code; // a message key: pick.noPages, pick.noPage, pick.badName
    this.values = values;
  }
}

/**
 * The change putting the selector {kind, expression} into `text`:
 * as "field" (named `name`), "link" (to page type `name`) or "next" of page type `page`.
 */
export function selectorChange(text, { page, as, name, kind, expression }) {
  const lines = text.split("\n");
  const offset = (index) => lines.slice(0, index).reduce((sum, line) => sum + line.length + 1, 0);
  const pages = findKey(lines, 0, lines.length, 0, "pages");
  if (pages < 0) throw new InsertError("pick.noPages");
  const pagesEnd = blockEnd(lines, pages, 0);
  const pageIndent = childIndent(lines, pages, pagesEnd, 2);
  const at = findKey(lines, pages + 1, pagesEnd, pageIndent, page);
  if (at < 0) throw new InsertError("pick.noPage", { page });
  if ((as === "field" || as === "link") && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name || "")) {
    throw new InsertError("pick.badName", { name: name || "" });
  }
  const pageEnd = blockEnd(lines, at, pageIndent);
  const inner = childIndent(lines, at, pageEnd, pageIndent + 2);
  const pad = (n) => " ".repeat(n);
  const selector = selectorYaml(kind, expression);
  let where; // [line index, lines to insert] or a replaced line
  if (as === "next") {
    const pagination = findKey(lines, at + 1, pageEnd, inner, "pagination");
    if (pagination < 0) {
      where = [pageEnd, [`${pad(inner)}pagination:`, `${pad(inner + 2)}next: {${selector}}`]];
    } else {
      const end = blockEnd(lines, pagination, inner);
      const nextIndent = childIndent(lines, pagination, end, inner + 2);
      const next = lines.findIndex(
        (line, i) =>
          i > pagination && i < end && indentOf(line) === nextIndent && /^ *next:/.test(line),
      );
      if (next >= 0) {
        const nextEnd = blockEnd(lines, next, nextIndent);
        const from = offset(next);
        const to = offset(nextEnd) - 1; // the last line's newline stays
        return { from, to, insert: `${pad(nextIndent)}next: {${selector}}` };
      }
      where = [end, [`${pad(nextIndent)}next: {${selector}}`]];
    }
  } else {
    const section = as === "link" ? "links" : "fields";
    const entry =
      as === "link"
        ? (indent) => [`${pad(indent)}- ${selector}`, `${pad(indent + 2)}to: ${name}`]
        : (indent) => [
            `${pad(indent)}${name}: {${selector}, text: true, clean: [collapse_whitespace]}`,
          ];
    const found = findKey(lines, at + 1, pageEnd, inner, section);
    if (found < 0) {
      where = [pageEnd, [`${pad(inner)}${section}:`, ...entry(inner + 2)]];
    } else {
      const end = blockEnd(lines, found, inner);
      const indent = childIndent(lines, found, end, inner + 2);
      const same = as === "field" ? findKey(lines, found + 1, end, indent, name) : -1;
      const inline =
        as === "field" && same < 0 ? sameInline(lines, found + 1, end, indent, name) : -1;
      const replaced = same >= 0 ? same : inline;
      if (replaced >= 0) {
        // a field of that name already: its selector is replaced, the field as a whole
        const from = offset(replaced);
        const to = offset(blockEnd(lines, replaced, indent)) - 1;
        return { from, to, insert: entry(indent)[0] };
      }
      where = [end, entry(indent)];
    }
  }
  const [line, added] = where;
  let insert = added.join("\n") + "\n";
  let from = offset(line);
  if (from > text.length) {
    // the block ends on the last line, which has no newline
    from = text.length;
    insert = "\n" + insert.slice(0, -1);
  }
  return { from, to: from, insert };
}
