// The log viewer's filters and highlighting (src/logrecords.js; node --test, run by
// tests/dashboard/test_units.py).
import assert from "node:assert/strict";
import { test } from "node:test";
import { keepLast, needleOf, passes, pieces, QUERY_MAX, workerLabel } from "../src/logrecords.js";

const RECORDS = [
  { level: "INFO", logger: "scrapy.core.engine", message: "Spider opened" },
  { level: "WARNING", logger: "books", message: "request failed (HTTP 404)" },
  { level: "ERROR", logger: "scrapy.core.scraper", message: "Spider error\nValueError: N/A" },
  { level: "CRITICAL", logger: "x", message: "done" },
  { level: null, logger: null, message: "Traceback (most recent call last):" },
];

const shown = (minimum, query) =>
  RECORDS.filter((r) => passes(r, minimum, needleOf(query))).map((r) => r.level);

test("a minimum level keeps that level and above; a record without one only with no minimum", () => {
  assert.deepEqual(shown("", ""), ["INFO", "WARNING", "ERROR", "CRITICAL", null]);
  assert.deepEqual(shown("INFO", ""), ["INFO", "WARNING", "ERROR", "CRITICAL"]);
  assert.deepEqual(shown("WARNING", ""), ["WARNING", "ERROR", "CRITICAL"]);
  assert.deepEqual(shown("ERROR", ""), ["ERROR", "CRITICAL"]);
});

test("a search is plain text, in the message or the logger's name, whatever the case", () => {
  assert.deepEqual(shown("", "SPIDER"), ["INFO", "ERROR"]);
  assert.deepEqual(shown("", "valueerror: n/a"), ["ERROR"]);
  assert.deepEqual(shown("", "Scrapy.Core"), ["INFO", "ERROR"]);
  assert.deepEqual(shown("", ".*"), []);
  assert.deepEqual(shown("", "(http 404)"), ["WARNING"]);
  assert.deepEqual(shown("WARNING", "spider"), ["ERROR"]);
  assert.equal(needleOf("  Spider  "), "spider");
  assert.equal(needleOf("x".repeat(500)).length, QUERY_MAX);
  assert.equal(needleOf(null), "");
});

test("the matches of a search, for highlighting, keep the text's own case", () => {
  assert.deepEqual(pieces("Spider opened; spider closed", "spider"), [
    { text: "Spider", match: true },
    { text: " opened; ", match: false },
    { text: "spider", match: true },
    { text: " closed", match: false },
  ]);
  assert.deepEqual(pieces("no match here", "xyz"), [{ text: "no match here", match: false }]);
  assert.deepEqual(pieces("abc", ""), [{ text: "abc", match: false }]);
  assert.deepEqual(pieces("", "a"), [{ text: "", match: false }]);
  assert.deepEqual(pieces("aaa", "a").length, 3);
  // "İ" lower-cases to two characters: no highlight rather than a wrong one
  assert.deepEqual(pieces("İstanbul spider", "spider"), [
    { text: "İstanbul spider", match: false },
  ]);
});

test("the records kept are the newest ones", () => {
  const { kept, dropped } = keepLast([1, 2, 3], [4, 5], 4);
  assert.deepEqual(kept, [2, 3, 4, 5]);
  assert.deepEqual(dropped, [1]);
  assert.deepEqual(keepLast([], [1], 4), { kept: [1], dropped: [] });
  assert.equal(workerLabel({ worker: "w1", node: "node-a" }), "node-a · w1");
  assert.equal(workerLabel({ worker: "w1" }), "w1");
});

test("a search finds a merged log's records by their worker", () => {
  const merged = [
    { level: "INFO", logger: "scrapy.core.engine", message: "Spider opened", source: "n1 run.1" },
    { level: "INFO", logger: "scrapy.core.engine", message: "Spider opened", source: "n2 run.2" },
  ];
  const found = merged.filter((r) => passes(r, "", needleOf("N2 RUN")));
  assert.deepEqual(
    found.map((r) => r.source),
    ["n2 run.2"],
  );
});
