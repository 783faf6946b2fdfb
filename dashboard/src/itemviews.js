// What the items browser shows of items (pure: no DOM, no I/O): URLs and keys decoded for
// reading (percent-encoded Chinese as Chinese, a malformed sequence left as it is), the columns
// chosen per collection (address, then what was remembered, then a default), and dead letters
// grouped by their reason.

/** `text` with its percent-encoded UTF-8 sequences decoded; the text as it is if malformed.
 * Reserved characters (`%2F`, `%3F`, `%23`, ...) stay encoded (decodeURI), so the decoded text
 * still reads as the same URL. */
export function decodeText(text) {
  const value = String(text ?? "");
  if (!value.includes("%")) return value;
  try {
    return decodeURI(value);
  } catch {
    return value; // a malformed sequence (%E6%96 cut short, %ZZ): shown raw
  }
}

/** Whether `value` looks like an absolute http(s) URL worth linking. */
export function isUrl(value) {
  return typeof value === "string" && /^https?:\/\/[^\s]+$/i.test(value);
}

/** An item's key as people read it: the SQLite store keeps it as JSON text (["http://…"]);
 * parts joined with " · ", each decoded. */
export function keyText(key) {
  return keyParts(key)
    .map((part) => decodeText(String(part ?? "")))
    .join(" · ");
}

const STORAGE_PREFIX = "dashboard.columns.";
export const DEFAULT_COLUMNS = 5;

/** The item fields (store fields `_...` left out) of rows, in first-seen order. */
export function fieldsOf(rows, extra = []) {
  const seen = new Set();
  for (const row of rows || [])
    for (const key of Object.keys(row || {})) if (!key.startsWith("_")) seen.add(key);
  for (const key of extra || []) if (key && !key.startsWith("_")) seen.add(key);
  return [...seen];
}

/** The parts of a key: the SQLite store's JSON text, a list, or one value. */
function keyParts(key) {
  if (Array.isArray(key)) return key;
  if (typeof key === "string" && key.startsWith("[")) {
    try {
      const parsed = JSON.parse(key);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // not JSON after all: one value
    }
  }
  return [key];
}

/** The fields the rows are keyed by, guessed from the first row: each key part's field, in key
 * order (a part no field holds is skipped). */
export function keyFieldsOf(rows) {
  const row = (rows || [])[0];
  if (!row || row._key === undefined) return [];
  const fields = [];
  for (const part of keyParts(row._key)) {
    const found = Object.keys(row).find(
      (name) => !name.startsWith("_") && !fields.includes(name) && row[name] === part,
    );
    if (found) fields.push(found);
  }
  return fields;
}

/** `cols=a,b` of the address as a list (null when absent; [] for `cols=` chosen empty). */
export function columnsFromQuery(query) {
  if (!query || !query.has("cols")) return null;
  return query
    .get("cols")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
}

/** The default columns: the key fields first (as the collection lists them), then the first
 * other fields, `count` in all. */
export function defaultColumns(available, keyFields = [], count = DEFAULT_COLUMNS) {
  const keys = (keyFields || []).filter((f) => available.includes(f));
  const rest = available.filter((f) => !keys.includes(f));
  return [...keys, ...rest].slice(0, Math.max(count, keys.length));
}

/** The columns shown: the address's (`cols=`), else the remembered ones, else the default;
 * names the collection does not have are kept only when asked for by the address. */
export function chosenColumns({ query, stored, available, keyFields }) {
  const asked = columnsFromQuery(query);
  if (asked) return asked;
  if (Array.isArray(stored)) {
    const known = stored.filter((f) => available.includes(f));
    if (known.length || !stored.length) return known;
  }
  return defaultColumns(available, keyFields);
}

/** Read the columns remembered for `collection` (null when none or unreadable). */
export function loadColumns(storage, collection) {
  try {
    const value = JSON.parse(storage?.getItem(STORAGE_PREFIX + collection) ?? "null");
    return Array.isArray(value) ? value.map(String) : null;
  } catch {
    return null;
  }
}

/** Remember the columns of `collection`. */
export function saveColumns(storage, collection, columns) {
  try {
    storage?.setItem(STORAGE_PREFIX + collection, JSON.stringify(columns));
  } catch {
    // storage full or disabled: the address still holds the choice
  }
}

/** The address's query with `cols=` set to `columns` (paging and the item shown dropped). */
export function queryWithColumns(query, columns) {
  const next = new URLSearchParams(query);
  for (const name of ["cursor", "page", "item"]) next.delete(name);
  next.set("cols", columns.join(","));
  return next;
}

/**
 * Dead letters grouped by reason, the largest group first: [{reason, count, rows, fields}],
 * `fields` the names of the fields that failed in the group (from the service's `_fields`, else
 * the `field: message` lines of `_errors`).
 */
export function groupDeadLetters(rows) {
  const groups = new Map();
  for (const row of rows || []) {
    const reason = String(row?._reason ?? "");
    if (!groups.has(reason)) groups.set(reason, { reason, count: 0, rows: [], fields: [] });
    const group = groups.get(reason);
    group.count += 1;
    group.rows.push(row);
    for (const failure of failuresOf(row))
      if (failure.field && !group.fields.includes(failure.field)) group.fields.push(failure.field);
  }
  return [...groups.values()].sort(
    (a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0),
  );
}

/** A dead letter's failures: [{field, message, line}] (line null when unknown). */
export function failuresOf(row) {
  if (Array.isArray(row?._fields)) return row._fields;
  const lines = Array.isArray(row?._errors) ? row._errors.map(String) : [];
  return lines.map((line) => {
    const found = /^\s*([A-Za-z_][\w-]*)[^:]*:\s?(.*)$/s.exec(line);
    return found
      ? { field: found[1], message: found[2], line: null }
      : { field: "", message: line, line: null };
  });
}
