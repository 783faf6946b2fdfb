// Unit tests of the version diff (node --test; run by tests/dashboard/test_units.py).
import assert from "node:assert/strict";
import { test } from "node:test";
import { diffItems, stable } from "../src/diff.js";

test("fields added, removed and changed; equal ones and store fields left out", () => {
  const before = { title: "A", price: 10, stock: 3, tags: ["x"], _hash: "1", _updated_at: "t1" };
  const after = { title: "A", price: 12, tags: ["x"], isbn: "9", _hash: "2", _updated_at: "t2" };
  assert.deepEqual(diffItems(before, after), [
    { field: "isbn", kind: "added", after: "9" },
    { field: "price", kind: "changed", before: 10, after: 12 },
    { field: "stock", kind: "removed", before: 3 },
  ]);
});

test("nested values compare by content, whatever their key order", () => {
  const a = { meta: { b: 1, a: [1, { d: 2, c: 3 }] } };
  const b = { meta: { a: [1, { c: 3, d: 2 }], b: 1 } };
  assert.deepEqual(diffItems(a, b), []);
  assert.equal(stable(a.meta), stable(b.meta));
  assert.equal(diffItems(a, { meta: { a: [1, { c: 3, d: 4 }], b: 1 } })[0].kind, "changed");
});

test("a field set to null differs from a field that is absent", () => {
  assert.deepEqual(diffItems({ x: null }, {}), [{ field: "x", kind: "removed", before: null }]);
});
