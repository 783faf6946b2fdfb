// Unit tests of what the items browser shows (node --test; run by tests/dashboard/test_units.py):
// decoded URLs and keys, the columns chosen per collection, dead letters grouped by reason.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  chosenColumns,
  columnsFromQuery,
  decodeText,
  defaultColumns,
  failuresOf,
  fieldsOf,
  groupDeadLetters,
  isUrl,
  keyFieldsOf,
  keyText,
  loadColumns,
  queryWithColumns,
  saveColumns,
} from "../src/itemviews.js";

test("percent-encoded Chinese is decoded; malformed sequences and reserved characters stay", () => {
  const url = "https://例子.cn/%E6%96%B0%E9%97%BB/%E4%B8%80";
  assert.equal(decodeText(url), "https://例子.cn/新闻/一");
  assert.equal(decodeText("https://x.cn/%E6%96"), "https://x.cn/%E6%96");
  assert.equal(decodeText("100%"), "100%");
  assert.equal(decodeText("a%ZZb"), "a%ZZb");
  assert.equal(decodeText("https://x.cn/a%2Fb?q=%E4%B8%80%26x"), "https://x.cn/a%2Fb?q=一%26x");
  assert.equal(decodeText(null), "");
  assert.equal(decodeText("<b>%E4%B8%80</b>"), "<b>一</b>"); // text, never markup
});

test("keys: the SQLite store's JSON text, lists and plain strings, each part decoded", () => {
  assert.equal(keyText('["https://x.cn/%E4%B8%80", 2]'), "https://x.cn/一 · 2");
  assert.equal(keyText(["a", "%E4%B8%80"]), "a · 一");
  assert.equal(keyText("[not json"), "[not json");
  assert.equal(keyText("%E4%B8%80"), "一");
  assert.equal(keyText(undefined), "");
});

test("only http(s) URLs are links", () => {
  assert.ok(isUrl("https://x.cn/a"));
  assert.ok(!isUrl("javascript:alert(1)"));
  assert.ok(!isUrl("see https://x.cn/a"));
  assert.ok(!isUrl(3));
});

test("columns: the address, else what was remembered, else the default", () => {
  const available = ["title", "price", "url", "stock", "tags", "isbn", "body"];
  assert.deepEqual(defaultColumns(available), ["title", "price", "url", "stock", "tags"]);
  assert.deepEqual(defaultColumns(available, ["url", "nope"]).slice(0, 2), ["url", "title"]);
  const query = new URLSearchParams("cols=price,title");
  assert.deepEqual(columnsFromQuery(query), ["price", "title"]);
  assert.deepEqual(columnsFromQuery(new URLSearchParams("cols=")), []);
  assert.equal(columnsFromQuery(new URLSearchParams("q=x")), null);
  assert.deepEqual(chosenColumns({ query, stored: ["isbn"], available }), ["price", "title"]);
  const none = new URLSearchParams();
  assert.deepEqual(chosenColumns({ query: none, stored: ["isbn", "gone"], available }), ["isbn"]);
  assert.deepEqual(chosenColumns({ query: none, stored: ["gone"], available }), [
    "title",
    "price",
    "url",
    "stock",
    "tags",
  ]);
  assert.deepEqual(chosenColumns({ query: none, stored: null, available }).length, 5);
  assert.deepEqual(fieldsOf([{ a: 1, _key: "k" }, { b: 2 }], ["c", "_x", "a"]), ["a", "b", "c"]);
});

test("columns are remembered per collection; the address keeps them, paging dropped", () => {
  const data = new Map();
  const storage = { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => data.set(k, v) };
  saveColumns(storage, "books", ["title", "price"]);
  assert.deepEqual(loadColumns(storage, "books"), ["title", "price"]);
  assert.equal(loadColumns(storage, "other"), null);
  data.set("dashboard.columns.bad", "{not json");
  assert.equal(loadColumns(storage, "bad"), null);
  assert.equal(loadColumns(null, "books"), null);
  const next = queryWithColumns(new URLSearchParams("q=x&cursor=c&page=2&item=k"), ["a", "b"]);
  assert.equal(next.toString(), "q=x&cols=a%2Cb");
});

test("dead letters grouped by reason, largest first, with the fields that failed", () => {
  const rows = [
    { _dead_id: "1", _reason: "price: not a number", _errors: ["price: not a number"] },
    {
      _dead_id: "2",
      _reason: "title: required; price: not a number",
      _fields: [
        { field: "title", message: "required", line: 41 },
        { field: "price", message: "not a number", line: 42 },
      ],
    },
    { _dead_id: "3", _reason: "price: not a number", _errors: ["price: not a number"] },
    { _dead_id: "4" },
  ];
  const groups = groupDeadLetters(rows);
  assert.deepEqual(
    groups.map((g) => [g.reason, g.count, g.fields]),
    [
      ["price: not a number", 2, ["price"]],
      ["", 1, []],
      ["title: required; price: not a number", 1, ["title", "price"]],
    ],
  );
  assert.deepEqual(
    groups[0].rows.map((r) => r._dead_id),
    ["1", "3"],
  );
  assert.deepEqual(failuresOf({ _errors: ["odd line"] }), [
    { field: "", message: "odd line", line: null },
  ]);
  assert.deepEqual(groupDeadLetters(undefined), []);
});

test("the key fields, guessed from the first row's key, lead the default columns", () => {
  const rows = [{ title: "A", url: "u/1", site: "x", _key: '["x", "u/1"]' }];
  assert.deepEqual(keyFieldsOf(rows), ["site", "url"]);
  assert.deepEqual(keyFieldsOf([{ id: 7, _key: 7 }]), ["id"]);
  assert.deepEqual(keyFieldsOf([{ a: 1 }]), []);
  assert.deepEqual(keyFieldsOf([]), []);
  assert.deepEqual(defaultColumns(["title", "url", "site"], keyFieldsOf(rows)), [
    "site",
    "url",
    "title",
  ]);
});
