// What the Nodes page says of a node and its crawls (src/noderows.js; node --test, run by
// tests/dashboard/test_units.py).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  mebibytes,
  newestFirst,
  runOf,
  runRequest,
  secondsAgo,
  shortId,
  versionMark,
  versionTime,
  workerNumber,
} from "../src/noderows.js";

const DIGEST = "0123456789ab";

test("a node's newest version is current, outdated, or nothing is deployed", () => {
  assert.equal(versionMark(`1767000000_${DIGEST}`, DIGEST), "current");
  assert.equal(versionMark("1767000000_ffffffffffff", DIGEST), "outdated");
  // the digest must be the whole tail, not a part of it
  assert.equal(versionMark(`1767000000_x${DIGEST}`, DIGEST), "outdated");
  assert.equal(versionMark(null, DIGEST), "none");
  assert.equal(versionMark("", DIGEST), "none");
  assert.equal(versionMark(`1767000000_${DIGEST}`, null), "outdated");
});

test("a version says when it was built", () => {
  assert.equal(versionTime(`1767000000_${DIGEST}`).toISOString(), "2025-12-29T09:20:00.000Z");
  assert.equal(versionTime("r42"), null);
  assert.equal(versionTime(null), null);
});

test("memory in MiB with one decimal; unknown stays unknown", () => {
  assert.equal(mebibytes(104857600), 100);
  assert.equal(mebibytes(1572864), 1.5);
  assert.equal(mebibytes(1234567), 1.2);
  assert.equal(mebibytes(0), 0);
  assert.equal(mebibytes(null), null);
  assert.equal(mebibytes(undefined), null);
  assert.equal(mebibytes(-1), null);
  assert.equal(mebibytes(Number.NaN), null);
});

test("seconds since the last check, never negative", () => {
  assert.equal(secondsAgo(1000, 1_004_900), 4);
  assert.equal(secondsAgo(1000, 999_000), 0); // the browser's clock a little behind
  assert.equal(secondsAgo(null, 1_000_000), null);
});

test("a crawl's run page is its distributed run's, else its own", () => {
  assert.equal(runOf({ run_id: "abc.2", part_of: "abc" }), "abc");
  assert.equal(runOf({ run_id: "one", part_of: null }), "one");
  assert.equal(runOf({}), null);
});

test("the run request: least loaded, one node, or N workers", () => {
  const base = { rule: "books", args: { site: "http://x" } };
  assert.deepEqual(runRequest({ ...base, target: "least", node: "n2", workers: "3" }), {
    ...base,
    node: null,
    workers: null,
  });
  assert.deepEqual(runRequest({ ...base, target: "node", node: "n2" }), {
    ...base,
    node: "n2",
    workers: null,
  });
  assert.deepEqual(runRequest({ ...base, target: "distributed", workers: "3" }), {
    ...base,
    node: null,
    workers: 3,
  });
  assert.deepEqual(runRequest({ rule: "books", target: "least" }).args, {});
  assert.throws(() => runRequest({ ...base, target: "node", node: "" }), /node/);
  for (const workers of ["0", "1.5", "", "abc", "1001"]) {
    assert.throws(() => runRequest({ ...base, target: "distributed", workers }), /workers/);
  }
  assert.throws(() => runRequest({ rule: "", target: "least" }), /rule/);
});

test("alerts newest first, the service's list left as it is", () => {
  const alerts = [
    { node: "n1", at: 10 },
    { node: "n2", at: 30 },
    { node: "n3", at: 20 },
  ];
  assert.deepEqual(
    newestFirst(alerts).map((a) => a.node),
    ["n2", "n3", "n1"],
  );
  assert.equal(alerts[0].node, "n1");
  assert.deepEqual(newestFirst(undefined), []);
});

test("a distributed run's worker says which one it is; long ids are cut", () => {
  assert.equal(workerNumber({ run_id: "abc.2", part_of: "abc" }), "2");
  assert.equal(workerNumber({ run_id: "other", part_of: "abc" }), "other");
  assert.equal(workerNumber({ run_id: "abc", part_of: null }), null);
  assert.equal(shortId("7b45a1fa1f6144218313dadf"), "7b45a1fa1f61…");
  assert.equal(shortId("0123456789abc"), "0123456789abc"); // one more character: kept whole
  assert.equal(shortId(null), "");
});
