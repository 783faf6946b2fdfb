// What the Freshness and Alerts pages say of a source, a channel and a route (GET /api/freshness,
// GET /api/alerts; crawler/service/alerts_api.py), and the request bodies their forms send
// (pure: no DOM, no I/O).

export const STATUSES = ["failing", "ok", "unchecked"];
export const MATCH_KEYS = ["rule", "tag", "table"]; // crawler/monitors/channels.py MATCH_KEYS
const MAX_COUNT = 1000; // crawler/monitors/freshness.py: new items are counted up to this
const UNITS = [
  ["d", 86400],
  ["h", 3600],
  ["min", 60],
];

/**
 * A period in its largest whole unit: {n, unit} with unit "d", "h", "min" or "s" (3.9 days is
 * "3 d"); null when unknown.
 */
export function span(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return null;
  const total = Math.max(0, seconds);
  for (const [unit, size] of UNITS) {
    if (total >= size) return { n: Math.floor(total / size), unit };
  }
  return { n: Math.floor(total), unit: "s" };
}

/** Seconds from an ISO time to `nowMs` (never negative); null when absent or unreadable. */
export function secondsSince(iso, nowMs) {
  if (!iso) return null;
  const at = new Date(iso).getTime();
  if (Number.isNaN(at)) return null;
  return Math.max(0, (nowMs - at) / 1000);
}

/**
 * New items within the window as the board shows them: the service counts up to the count the
 * rule asks for (at most 1000), so reaching it reads "N+". null when the rule does not count.
 */
export function newItems(row) {
  const found = row?.new_items;
  if (typeof found !== "number") return null;
  const asked = Number(row.checks?.min_new_items?.count);
  const cap = Math.min(Number.isFinite(asked) && asked > 0 ? asked : MAX_COUNT, MAX_COUNT);
  return found > 0 && found >= cap ? `${found}+` : String(found);
}

/** The failing results of a row's checks. */
export function failures(row) {
  return (row?.results || []).filter((result) => !result.ok);
}

/** Every tag of the rows with how many rules have it, by name: [[tag, n], ...]. */
export function tagCounts(rows) {
  const counts = new Map();
  for (const row of rows || []) {
    for (const tag of row.tags || []) counts.set(tag, (counts.get(tag) || 0) + 1);
  }
  return [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The rows having `tag` (every row when tag is empty), in the service's order. */
export function withTag(rows, tag) {
  return tag ? (rows || []).filter((row) => (row.tags || []).includes(tag)) : [...(rows || [])];
}

/** How many rows have each status. */
export function statusCounts(rows) {
  const counts = Object.fromEntries(STATUSES.map((status) => [status, 0]));
  for (const row of rows || []) if (row.status in counts) counts[row.status] += 1;
  return counts;
}

/** A route's match as [key, value] pairs in the order rule, tag, table. */
export function matchEntries(match) {
  return MATCH_KEYS.filter((key) => match?.[key]).map((key) => [key, match[key]]);
}

/** The admin's routes (source "admin") as PUT /api/alerts/routes takes them. */
export function adminRoutes(routes) {
  return (routes || [])
    .filter((route) => route.source === "admin")
    .map((route) => ({ match: { ...route.match }, to: [...route.to] }));
}

/**
 * A route from the form: {match, to}. Throws RangeError("match") when no rule pattern, tag or
 * table is given, RangeError("to") when no channel is chosen.
 */
export function routeRequest({ rule, tag, table, to }) {
  const values = { rule, tag, table };
  const match = {};
  for (const key of MATCH_KEYS) {
    const value = String(values[key] ?? "").trim();
    if (value) match[key] = value;
  }
  if (!Object.keys(match).length) throw new RangeError("match");
  const channels = (to || []).filter(Boolean);
  if (!channels.length) throw new RangeError("to");
  return { match, to: channels };
}

/** Email recipients typed one per line or separated by commas, semicolons or spaces. */
export function recipients(text) {
  return String(text ?? "")
    .split(/[\s,;]+/)
    .filter(Boolean);
}

/**
 * The channel the form describes: {name, body} for PUT /api/alerts/channels/{name}. quietMode
 * is "default" (ALERT_QUIET_HOURS: quiet_hours null), "never" ("") or "hours" (`quiet`, e.g.
 * "22:00-08:00"). Throws RangeError("name"), RangeError("type") or RangeError("quiet").
 */
export function channelRequest({ name, type, urlEnv, secretEnv, to, quietMode, quiet }) {
  const chosen = String(name ?? "").trim();
  if (!chosen) throw new RangeError("name");
  if (!type) throw new RangeError("type");
  let quietHours = null;
  if (quietMode === "never") quietHours = "";
  else if (quietMode === "hours") {
    quietHours = String(quiet ?? "").trim();
    if (!quietHours) throw new RangeError("quiet");
  }
  return {
    name: chosen,
    body: {
      type,
      url_env: String(urlEnv ?? "").trim(),
      secret_env: String(secretEnv ?? "").trim(),
      to: recipients(to),
      quiet_hours: quietHours,
    },
  };
}

/** The form's values for a channel being edited (the reverse of channelRequest). */
export function channelForm(channel) {
  const quiet = channel?.quiet_hours;
  return {
    name: channel?.name || "",
    type: channel?.type || "",
    urlEnv: channel?.url_env || "",
    secretEnv: channel?.secret_env || "",
    to: (channel?.to || []).join(", "),
    quietMode: quiet === undefined || quiet === null ? "default" : quiet === "" ? "never" : "hours",
    quiet: quiet || "",
  };
}

/** What a test message on `channel` did (POST /api/alerts/test): "sent", "held" or "failed". */
export function testOutcome(answer, channel) {
  if (answer?.sent?.includes(channel)) return "sent";
  if (answer?.held?.includes(channel)) return "held";
  return "failed";
}
