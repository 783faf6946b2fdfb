// What the Nodes page and the run page's workers say of a Scrapyd node and the crawls on it
// (GET /api/nodes; crawler/nodes/fleet.py): whether the project deployed there is this one,
// when a version was built, memory in MiB, how long ago the nodes were checked, and which run a
// crawl's page is (pure: no DOM, no I/O).

/**
 * "current" when the node's newest version ("<unix>_<digest>") is the project as it is here
 * (its digest is `current`), "outdated" when it is another, "none" when nothing is deployed.
 */
export function versionMark(version, current) {
  if (!version) return "none";
  return current && String(version).endsWith(`_${current}`) ? "current" : "outdated";
}

/** When a version ("<unix>_<digest>") was built, as a Date; null when it does not say. */
export function versionTime(version) {
  const match = /^(\d{9,11})_/.exec(String(version ?? ""));
  return match ? new Date(Number(match[1]) * 1000) : null;
}

/** Bytes as MiB with one decimal (null when unknown). */
export function mebibytes(bytes) {
  if (typeof bytes !== "number" || !Number.isFinite(bytes) || bytes < 0) return null;
  return Math.round((bytes / 1048576) * 10) / 10;
}

/** Whole seconds from `checkedAt` (unix seconds) to `nowMs` (ms); null when never checked. */
export function secondsAgo(checkedAt, nowMs) {
  if (typeof checkedAt !== "number") return null;
  return Math.max(0, Math.floor(nowMs / 1000 - checkedAt));
}

/** The run page a crawl on a node belongs to: its distributed run's, else its own. */
export function runOf(worker) {
  return worker?.part_of || worker?.run_id || null;
}

/** Which of its run's workers a crawl is ("abc.2" of run "abc" → "2"); null when not one. */
export function workerNumber(worker) {
  const run = worker?.run_id;
  const part = worker?.part_of;
  if (!run || !part || run === part) return null;
  return run.startsWith(`${part}.`) ? run.slice(part.length + 1) : run;
}

/** A long id cut to `keep` characters and an ellipsis (the whole id goes in a title). */
export function shortId(id, keep = 12) {
  const text = String(id ?? "");
  return text.length > keep + 1 ? `${text.slice(0, keep)}…` : text;
}

/**
 * The request body of a run on the nodes (POST /api/nodes/runs). target is "least" (the least
 * loaded node), "node" (only `node`) or "distributed" (`workers` crawls, over every node, or
 * only `node` when one is given). Throws RangeError naming what is wrong.
 */
export function runRequest({ rule, args, target, node, workers }) {
  if (!rule) throw new RangeError("rule");
  const body = { rule, args: args || {}, node: null, workers: null };
  if (target === "node") {
    if (!node) throw new RangeError("node");
    body.node = node;
  } else if (target === "distributed") {
    const n = Number(workers);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw new RangeError("workers");
    body.workers = n;
    body.node = node || null;
  }
  return body;
}

/** Alerts newest first (the service keeps them oldest first). */
export function newestFirst(alerts) {
  return [...(alerts || [])].sort((a, b) => (b.at ?? 0) - (a.at ?? 0));
}
