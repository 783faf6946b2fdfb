// What the Accounts page says of the account pools (GET /api/accounts; crawler/service/
// accounts_api.py, the rows of crawler/accounts/state.py view()): an account's state and what
// it waits on, the order accounts are listed in (retired and cooling down first), the share of
// its daily quota used today, the filters by pool and state. Pure: no DOM, no I/O. Times are
// seconds since the epoch, as the service gives them.

/** The states of a shared pool's account, in the order the page lists them. */
export const STATES = ["retired", "cooling", "exhausted", "leased", "free"];
/** The state of an account of a pool that is not shared (no Redis): not known here. */
export const UNKNOWN = "unknown";

/** The state the page shows an account in: one it knows, else UNKNOWN. */
export function stateOf(row) {
  return STATES.includes(row?.state) ? row.state : UNKNOWN;
}

/** The processes holding an account: "host:pid, host:pid" ("" when none). */
export function holderText(holders) {
  return (holders || []).map((holder) => `${holder?.host ?? "?"}:${holder?.pid ?? "?"}`).join(", ");
}

/** Seconds from `at` to `now` (never below 0); null when `at` is unknown. */
export function secondsAgo(at, now) {
  if (typeof at !== "number" || !Number.isFinite(at) || !at) return null;
  return Math.max(0, now - at);
}

/** Seconds left until `until` (never below 0); null when unknown. */
export function secondsLeft(until, now) {
  if (typeof until !== "number" || !Number.isFinite(until) || !until) return null;
  return Math.max(0, until - now);
}

/**
 * Requests today against the daily quota: {used, quota, share (0..1), over} where `over`
 * means the quota is used up; `quota` and `share` are null without a quota.
 */
export function quotaShare(row) {
  const used = Math.max(0, Number(row?.requests_today) || 0);
  const quota = Number(row?.daily_quota) || 0;
  if (quota <= 0) return { used, quota: null, share: null, over: false };
  return { used, quota, share: Math.min(1, used / quota), over: used >= quota };
}

/** The accounts in the page's order: by state (STATES, unknown last), then by name. */
export function sortAccounts(rows) {
  const rank = (row) => {
    const at = STATES.indexOf(stateOf(row));
    return at < 0 ? STATES.length : at;
  };
  return [...(rows || [])].sort(
    (a, b) => rank(a) - rank(b) || String(a.account).localeCompare(String(b.account)),
  );
}

/** How many accounts are in each state: {retired: n, ..., unknown: n}. */
export function stateCounts(rows) {
  const counts = Object.fromEntries([...STATES, UNKNOWN].map((s) => [s, 0]));
  for (const row of rows || []) counts[stateOf(row)] += 1;
  return counts;
}

/** Every account of every pool, each with its pool: [{pool, ...row}]. */
export function allAccounts(pools) {
  return Object.entries(pools || {}).flatMap(([pool, rows]) =>
    (rows || []).map((row) => ({ ...row, pool })),
  );
}

/**
 * The pools the filters leave, by name, each with its accounts sorted: [[pool, rows]]. `pool`
 * and `state` are "" for any; a pool with no account left is left out when a state is chosen.
 */
export function filterPools(pools, { pool = "", state = "" } = {}) {
  return Object.keys(pools || {})
    .sort()
    .filter((name) => !pool || name === pool)
    .map((name) => [
      name,
      sortAccounts((pools[name] || []).filter((row) => !state || stateOf(row) === state)),
    ])
    .filter(([, rows]) => !state || rows.length > 0);
}

/** Whether an admin may reinstate the account: retired, or resting after a ban. */
export function reinstatable(row) {
  return ["retired", "cooling"].includes(stateOf(row));
}

/** The filters of the address (#/accounts?pool=shop&state=retired), unknown states dropped. */
export function filtersOf(query) {
  const state = query?.get?.("state") || "";
  return {
    pool: query?.get?.("pool") || "",
    state: [...STATES, UNKNOWN].includes(state) ? state : "",
  };
}

/** The page's address for the filters. */
export function filterHash({ pool = "", state = "" } = {}) {
  const query = new URLSearchParams();
  if (pool) query.set("pool", pool);
  if (state) query.set("state", state);
  const text = query.toString();
  return `#/accounts${text ? `?${text}` : ""}`;
}
