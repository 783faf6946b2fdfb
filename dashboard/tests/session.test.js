// What the sign-in page offers in which browser, and what a role may do (node --test; run by
// tests/dashboard/test_units.py).
import assert from "node:assert/strict";
import { test } from "node:test";
import { usable } from "../src/session.js";

const PROVIDERS = [
  { name: "wx", kind: "wechat_qr" },
  { name: "wxmp", kind: "wechat_browser" },
  { name: "sso", kind: "oauth" },
];

test("outside WeChat: the QR code and OAuth; inside: WeChat's own page and OAuth", () => {
  assert.deepEqual(
    usable(PROVIDERS, false).map((p) => p.name),
    ["wx", "sso"],
  );
  assert.deepEqual(
    usable(PROVIDERS, true).map((p) => p.name),
    ["wxmp", "sso"],
  );
});
