// Where a picked selector goes in a rule's YAML (src/editor/insert.js; node --test, run by
// tests/dashboard/test_units.py).
import assert from "node:assert/strict";
import { test } from "node:test";
import { InsertError, selectorChange } from "../src/editor/insert.js";

const RULE = `name: r
pages:
  list:
    links:
      - css: h3 a
        to: book
  book:
    match: /book/
    fields:
      title: {css: "h1::text"}  # the title

      price: {css: p.price}
other: 1
`;

const apply = (text, change) => text.slice(0, change.from) + change.insert + text.slice(change.to);
const pick = (options) => apply(RULE, selectorChange(RULE, { kind: "css", ...options }));

test("a field goes at the end of the page type's fields", () => {
  const out = pick({ page: "book", as: "field", name: "name", expression: "div.main > h1" });
  assert.match(
    out,
    /      price: \{css: p.price\}\n      name: \{css: "div.main > h1", text: true, clean: \[collapse_whitespace\]\}\nother: 1/,
  );
});

test("a field of the same name has its selector replaced", () => {
  const out = pick({ page: "book", as: "field", name: "title", expression: "h1" });
  assert.match(
    out,
    /\n      title: \{css: "h1", text: true, clean: \[collapse_whitespace\]\}\n\n      price/,
  );
  assert.doesNotMatch(out, /h1::text/);
});

test("a page type without fields gets them; links and next go in their sections", () => {
  let out = pick({ page: "list", as: "field", name: "count", expression: "p.n" });
  assert.match(out, /        to: book\n    fields:\n      count: \{css: "p.n"/);
  out = pick({ page: "list", as: "link", name: "book", expression: "a.more" });
  assert.match(out, /        to: book\n      - css: "a.more"\n        to: book\n  book:/);
  out = pick({ page: "list", as: "next", expression: "li.next a" });
  assert.match(out, /        to: book\n    pagination:\n      next: \{css: "li.next a"\}\n  book:/);
  out = apply(
    out,
    selectorChange(out, { page: "list", as: "next", kind: "xpath", expression: "//a" }),
  );
  assert.match(out, /    pagination:\n      next: \{xpath: "\/\/a"\}\n  book:/);
});

test("no such page type, no pages, a bad name: an error with its message key", () => {
  assert.throws(() => pick({ page: "nope", as: "field", name: "x", expression: "p" }), InsertError);
  assert.throws(
    () => selectorChange("name: r\n", { page: "a", as: "next", kind: "css", expression: "p" }),
    (e) => e.code === "pick.noPages",
  );
  assert.throws(
    () => pick({ page: "book", as: "field", name: "a b", expression: "p" }),
    (e) => e.code === "pick.badName",
  );
});

test("a file without its last newline", () => {
  const text = "pages:\n  book:\n    fields:\n      a: {css: p}";
  const out = apply(
    text,
    selectorChange(text, { page: "book", as: "field", name: "b", kind: "css", expression: "h1" }),
  );
  assert.equal(
    out.split("\n").at(-1),
    '      b: {css: "h1", text: true, clean: [collapse_whitespace]}',
  );
});
