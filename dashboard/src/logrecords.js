// The log viewer's filters over the records the service parsed (GET /api/runs/{id}/log with
// format=records; crawler/runs/logview.py): a minimum level and a plain, case-insensitive text
// search, the same as the service's own; where a search matches, for highlighting; and the
// bounded list of records a page keeps (pure: no DOM, no I/O).

export const LEVEL_RANK = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 };
export const MINIMUM_LEVELS = ["", "INFO", "WARNING", "ERROR"]; // "" is every record
export const QUERY_MAX = 200; // characters of a search, as the service allows

/** What a search looks for: the query trimmed, lower-cased, at most QUERY_MAX characters. */
export function needleOf(query) {
  return String(query ?? "")
    .slice(0, QUERY_MAX)
    .trim()
    .toLowerCase();
}

/**
 * Whether a record is at the minimum level or above (a record without a level only when there
 * is no minimum) and holds the needle (from needleOf) in its source (a merged log's worker),
 * its logger's name or its message.
 */
export function passes(record, minimum, needle) {
  if (minimum) {
    const rank = LEVEL_RANK[record.level] ?? 0;
    if (rank < (LEVEL_RANK[minimum] ?? 0)) return false;
  }
  if (needle) {
    const haystack =
      `${record.source ?? ""} ${record.logger ?? ""} ${record.message ?? ""}`.toLowerCase();
    if (!haystack.includes(needle)) return false;
  }
  return true;
}

/**
 * text cut into [{text, match}] pieces where the needle occurs, whatever the case. A text whose
 * lower-case form has another length (a few Unicode letters) is one unmatched piece.
 */
export function pieces(text, needle) {
  const value = String(text ?? "");
  if (!needle) return [{ text: value, match: false }];
  const lower = value.toLowerCase();
  if (lower.length !== value.length) return [{ text: value, match: false }];
  const out = [];
  let from = 0;
  for (let at = lower.indexOf(needle); at >= 0; at = lower.indexOf(needle, from)) {
    if (at > from) out.push({ text: value.slice(from, at), match: false });
    out.push({ text: value.slice(at, at + needle.length), match: true });
    from = at + needle.length;
  }
  if (from < value.length || !out.length) out.push({ text: value.slice(from), match: false });
  return out;
}

/** The records kept once more arrive: the last `max`; those dropped come back separately. */
export function keepLast(records, more, max) {
  const all = records.concat(more);
  const cut = Math.max(0, all.length - max);
  return { kept: all.slice(cut), dropped: all.slice(0, cut) };
}

/** The label of a worker of a run spread over several nodes: "node · worker". */
export function workerLabel(entry) {
  return entry.node ? `${entry.node} · ${entry.worker}` : String(entry.worker);
}
