// Every message key used in the sources exists in English and Chinese, and both languages have
// the same keys with the same {placeholders} (node --test; run by tests/dashboard/test_units.py).
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { en } from "../src/messages/en.js";
import { zh } from "../src/messages/zh.js";

const SRC = new URL("../src/", import.meta.url).pathname;

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith(".js")
        ? [readFileSync(join(dir, entry.name), "utf8")]
        : [],
  );
}

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test("English and Chinese have the same keys and placeholders", () => {
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  for (const key of Object.keys(en)) {
    assert.deepEqual(placeholders(zh[key]), placeholders(en[key]), key);
  }
});

test("every literal key passed to t() exists", () => {
  const used = new Set();
  for (const text of sources(SRC)) {
    for (const match of text.matchAll(/\bt\(\s*"([\w.]+)"/g)) used.add(match[1]);
  }
  assert.ok(used.size > 100, `found only ${used.size} keys: the scan is broken`);
  const missing = [...used].filter((key) => !(key in en));
  assert.deepEqual(missing, []);
});

test("every key built from a prefix (t(`prefix.${x}`)) has its known values", () => {
  const families = {
    counter: [
      "pages",
      "items",
      "new",
      "updated",
      "unchanged",
      "dead",
      "spilled",
      "errors",
      "bans",
      "rate",
      "queue",
    ],
    "overview.col": ["rule", "schedule", "lastRun", "items", "errorRate", "banRate", "actions"],
    "runs.col": ["run", "rule", "status", "started", "pages", "items", "errors", "bans"],
    item: ["field", "before", "after", "added", "removed", "changed"],
    dead: ["reason", "url", "when", "item"],
    nav: [
      "overview",
      "items",
      "rules",
      "proxies",
      "hosts",
      "nodes",
      "freshness",
      "alerts",
      "captchas",
      "accounts",
    ],
    "captchas.kind": ["text", "click", "slider"],
    // every state crawler/accounts/state.py view() gives an account, and a pool not shared
    "accounts.state": ["retired", "cooling", "exhausted", "leased", "free", "unknown"],
    "accounts.col": [
      "account",
      "state",
      "lastUsed",
      "today",
      "bans",
      "loginFailures",
      "cookies",
      "holders",
      "actions",
    ],
    "accounts.cookies": ["yes", "no"],
    "captchas.how": ["text", "click", "slider"],
    "fresh.col": ["rule", "tags", "status", "lastNew", "newItems", "newest", "problems", "lastRun"],
    "fresh.count": ["failing", "ok", "unchecked"],
    "fresh.status": ["failing", "ok", "unchecked"],
    "fresh.unit": ["d", "h", "min", "s"],
    "alerts.col": ["name", "type", "variables", "state", "quiet", "source", "actions"],
    "alerts.default": ["channels", "dedup", "quiet", "timezone"],
    "alerts.failing": ["subject", "check", "since", "lastSent", "repeats", "channels", "message"],
    "alerts.match": ["rule", "tag", "table"],
    "alerts.needs": ["name", "type", "quiet"],
    "alerts.outcome": ["sent", "held", "failed"],
    "alerts.quietMode": ["default", "never", "hours"],
    "alerts.route": ["match", "to", "source", "actions"],
    "alerts.routes.needs": ["match", "to"],
    // every source crawler/service/alerts_api.py gives a channel
    "alerts.source": ["builtin", "settings", "admin"],
    "pick.as": ["field", "link", "next"],
    role: ["viewer", "editor", "admin", "none"],
    "signin.with": ["wechat_qr", "wechat_browser", "oauth"],
    // every reason the service gives (crawler/service/signin/errors.py REASONS)
    "signin.error": [
      "state",
      "access_denied",
      "provider_error",
      "code_rejected",
      "client_rejected",
      "id_token",
      "no_identity",
      "unreachable",
      "no_role",
      "unknown_provider",
      "wechat_40029",
      "wechat_40163",
      "wechat_40030",
      "wechat_40003",
      "wechat_42001",
      "wechat_40001",
      "wechat_other",
      "other",
    ],
    "proxies.col": ["source", "domain", "total", "alive", "requests", "success_rate"],
    "nodes.col": ["name", "status", "jobs", "version", "crawls", "actions"],
    "nodes.status": ["online", "offline", "unauthorized"],
    "nodes.version": ["current", "outdated", "none"],
    "nodes.source": ["file", "settings"],
    "nodes.crawl": ["rule", "run", "pages", "items", "rate", "memory"],
    "nodes.runNeeds": ["rule", "node", "workers"],
    "run.worker": ["worker", "node", "state", "pid", "pages", "items", "rate", "memory"],
    // every state crawler/nodes/fleet_runs.py gives a distributed run's worker
    "run.workerState": ["pending", "running", "finished", "lost", "away", "not_started"],
    status: [
      "finished",
      "failed",
      "usage_error",
      "rule_error",
      "start_error",
      "blocked",
      "data_not_stored",
      "monitor_failed",
      "interrupted",
      "running",
    ],
  };
  for (const [prefix, names] of Object.entries(families)) {
    for (const name of names) assert.ok(`${prefix}.${name}` in en, `${prefix}.${name}`);
  }
});
