// What the Accounts page says of the account pools (src/accountrows.js; node --test, run by
// tests/dashboard/test_units.py): states, the order accounts are listed in, the share of the
// daily quota, the filters and the address that keeps them.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  STATES,
  UNKNOWN,
  allAccounts,
  filterHash,
  filterPools,
  filtersOf,
  holderText,
  quotaShare,
  reinstatable,
  secondsAgo,
  secondsLeft,
  sortAccounts,
  stateCounts,
  stateOf,
} from "../src/accountrows.js";

const row = (account, state, extra = {}) => ({ account, state, ...extra });

test("every state the service gives is known; anything else is not shared", () => {
  for (const state of STATES) assert.equal(stateOf(row("a", state)), state);
  assert.equal(stateOf({ account: "a" }), UNKNOWN); // a pool without Redis: no state
  assert.equal(stateOf(row("a", "haunted")), UNKNOWN);
  assert.equal(stateOf(null), UNKNOWN);
});

test("holders read host:pid", () => {
  const holders = [
    { host: "node-1", pid: 41, since: 10 },
    { host: "node-2", pid: 7 },
  ];
  assert.equal(holderText(holders), "node-1:41, node-2:7");
  assert.equal(holderText([]), "");
  assert.equal(holderText(undefined), "");
  assert.equal(holderText([{}]), "?:?");
});

test("times are seconds ago or left, never negative, null when unknown", () => {
  assert.equal(secondsAgo(100, 160), 60);
  assert.equal(secondsAgo(200, 160), 0); // a clock a little ahead of the service's
  assert.equal(secondsAgo(null, 160), null);
  assert.equal(secondsAgo(0, 160), null);
  assert.equal(secondsLeft(460, 160), 300);
  assert.equal(secondsLeft(100, 160), 0);
  assert.equal(secondsLeft(undefined, 160), null);
});

test("the quota share is clamped, over when used up, none without a quota", () => {
  assert.deepEqual(quotaShare({ requests_today: 2, daily_quota: 50 }), {
    used: 2,
    quota: 50,
    share: 0.04,
    over: false,
  });
  assert.deepEqual(quotaShare({ requests_today: 50, daily_quota: 50 }), {
    used: 50,
    quota: 50,
    share: 1,
    over: true,
  });
  // more than the quota (a quota lowered during the day): the bar is full, not beyond
  assert.equal(quotaShare({ requests_today: 80, daily_quota: 50 }).share, 1);
  assert.deepEqual(quotaShare({ requests_today: 7, daily_quota: null }), {
    used: 7,
    quota: null,
    share: null,
    over: false,
  });
  assert.deepEqual(quotaShare({}), { used: 0, quota: null, share: null, over: false });
});

test("retired accounts come first, then cooling down, over quota, leased, free; then by name", () => {
  const rows = [
    row("fay", "free"),
    row("bob", "leased"),
    row("eve", "cooling"),
    row("amy", "free"),
    row("dan", "exhausted"),
    row("cid", "retired"),
    row("abe", "cooling"),
    { account: "zed" },
  ];
  assert.deepEqual(
    sortAccounts(rows).map((r) => r.account),
    ["cid", "abe", "eve", "dan", "bob", "amy", "fay", "zed"],
  );
  assert.equal(rows[0].account, "fay"); // the rows given are left as they were
  assert.deepEqual(sortAccounts(undefined), []);
});

test("counts per state, over every pool", () => {
  const pools = {
    shop: [row("ann", "leased"), row("bob", "cooling")],
    news: [row("cid", "retired"), row("dee", "free"), row("eli", "free")],
  };
  const all = allAccounts(pools);
  assert.deepEqual(
    all.map((r) => `${r.pool}/${r.account}`),
    ["shop/ann", "shop/bob", "news/cid", "news/dee", "news/eli"],
  );
  assert.deepEqual(stateCounts(all), {
    retired: 1,
    cooling: 1,
    exhausted: 0,
    leased: 1,
    free: 2,
    unknown: 0,
  });
});

test("the filters narrow by pool and state; pools by name, their accounts sorted", () => {
  const pools = {
    shop: [row("ann", "leased"), row("bob", "cooling")],
    news: [row("dee", "free"), row("cid", "retired")],
  };
  const names = (shown) => shown.map(([pool, rows]) => [pool, rows.map((r) => r.account)]);
  assert.deepEqual(names(filterPools(pools)), [
    ["news", ["cid", "dee"]],
    ["shop", ["bob", "ann"]],
  ]);
  assert.deepEqual(names(filterPools(pools, { pool: "shop" })), [["shop", ["bob", "ann"]]]);
  assert.deepEqual(names(filterPools(pools, { state: "cooling" })), [["shop", ["bob"]]]);
  assert.deepEqual(names(filterPools(pools, { pool: "news", state: "cooling" })), []);
  assert.deepEqual(names(filterPools(pools, { pool: "gone" })), []);
  assert.deepEqual(names(filterPools({ empty: [] })), [["empty", []]]); // shown, with no account
  assert.deepEqual(filterPools(undefined), []);
});

test("an admin may reinstate a retired or cooling account only", () => {
  assert.ok(reinstatable(row("a", "retired")));
  assert.ok(reinstatable(row("a", "cooling")));
  for (const state of ["free", "leased", "exhausted"]) assert.ok(!reinstatable(row("a", state)));
  assert.ok(!reinstatable({ account: "a" }));
});

test("the filters live in the address", () => {
  const query = (text) => new URLSearchParams(text);
  assert.deepEqual(filtersOf(query("pool=shop&state=retired")), { pool: "shop", state: "retired" });
  assert.deepEqual(filtersOf(query("state=haunted")), { pool: "", state: "" });
  assert.deepEqual(filtersOf(undefined), { pool: "", state: "" });
  assert.equal(
    filterHash({ pool: "shop", state: "cooling" }),
    "#/accounts?pool=shop&state=cooling",
  );
  assert.equal(filterHash({ pool: "新 闻" }), "#/accounts?pool=%E6%96%B0+%E9%97%BB");
  assert.equal(filterHash({}), "#/accounts");
  assert.deepEqual(filtersOf(query(filterHash({ pool: "新 闻" }).split("?")[1])), {
    pool: "新 闻",
    state: "",
  });
});
