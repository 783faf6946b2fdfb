// File records in items (src/filerecords.js; node --test, run by tests/dashboard/test_units.py).
import assert from "node:assert/strict";
import { test } from "node:test";
import { filePath, fileSize, isFileList } from "../src/filerecords.js";

const SHA = "ab".repeat(32);

test("a list of file records is told from other values", () => {
  const kept = { url: "http://x/a.pdf", name: "a.pdf", sha256: SHA, size: 10, type: "pdf" };
  const refused = { url: "http://x/b.pdf", name: "b.pdf", error: "type_mismatch" };
  assert.equal(isFileList([kept, refused]), true);
  assert.equal(isFileList([]), false);
  assert.equal(isFileList(["http://x/a.pdf"]), false);
  assert.equal(isFileList([{ url: "u", sha256: "../etc" }]), false);
  assert.equal(isFileList({ url: "u", sha256: SHA }), false);
});

test("a kept file links to the files API with its name; a refused one to nothing", () => {
  assert.equal(
    filePath({ sha256: SHA, name: "公告 1.pdf" }),
    `/files/${SHA}?name=%E5%85%AC%E5%91%8A%201.pdf`,
  );
  assert.equal(filePath({ sha256: SHA }), `/files/${SHA}`);
  assert.equal(filePath({ error: "bomb", name: "x.xlsx" }), null);
});

test("sizes read as people read them", () => {
  assert.equal(fileSize(597), "597 B");
  assert.equal(fileSize(36634), "36.6 KB");
  assert.equal(fileSize(5_000_000), "5.0 MB");
  assert.equal(fileSize(undefined), "");
});
