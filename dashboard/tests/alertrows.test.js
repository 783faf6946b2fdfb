// What the Freshness and Alerts pages say of a source, a channel and a route, and what their
// forms send (src/alertrows.js; node --test, run by tests/dashboard/test_units.py).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  adminRoutes,
  channelForm,
  channelRequest,
  failures,
  matchEntries,
  newItems,
  recipients,
  routeRequest,
  secondsSince,
  span,
  statusCounts,
  tagCounts,
  testOutcome,
  withTag,
} from "../src/alertrows.js";

const ROWS = [
  { rule: "a", tags: ["gov", "news"], status: "failing" },
  { rule: "b", tags: ["news"], status: "ok" },
  { rule: "c", tags: [], status: "unchecked" },
  { rule: "d", status: "ok" },
];

test("a period in its largest whole unit", () => {
  assert.deepEqual(span(3.9 * 86400), { n: 3, unit: "d" });
  assert.deepEqual(span(86400), { n: 1, unit: "d" });
  assert.deepEqual(span(7200), { n: 2, unit: "h" });
  assert.deepEqual(span(90), { n: 1, unit: "min" });
  assert.deepEqual(span(12.7), { n: 12, unit: "s" });
  assert.deepEqual(span(-5), { n: 0, unit: "s" }); // a clock a little ahead
  assert.equal(span(null), null);
  assert.equal(span(Number.NaN), null);
  assert.equal(span(undefined), null);
});

test("seconds since a time, never negative; unknown stays unknown", () => {
  const now = Date.parse("2026-12-06T12:00:00Z");
  assert.equal(secondsSince("2026-12-06T11:59:00+00:00", now), 60);
  assert.equal(secondsSince("2026-12-06T12:00:05Z", now), 0);
  assert.equal(secondsSince(null, now), null);
  assert.equal(secondsSince("soon", now), null);
});

test("new items are counted up to the count asked for (or 1000)", () => {
  const row = (found, count) => ({ new_items: found, checks: { min_new_items: { count } } });
  assert.equal(newItems(row(0, 1)), "0");
  assert.equal(newItems(row(1, 1)), "1+");
  assert.equal(newItems(row(3, 5)), "3");
  assert.equal(newItems(row(5, 5)), "5+");
  assert.equal(newItems(row(1000, 5000)), "1000+");
  assert.equal(newItems({ new_items: null }), null); // the rule does not count new items
  assert.equal(newItems({}), null);
});

test("tags with their counts, the rows of a tag, counts per status", () => {
  assert.deepEqual(tagCounts(ROWS), [
    ["gov", 1],
    ["news", 2],
  ]);
  assert.deepEqual(
    withTag(ROWS, "news").map((r) => r.rule),
    ["a", "b"],
  );
  assert.equal(withTag(ROWS, "").length, 4);
  assert.deepEqual(withTag(ROWS, "none"), []);
  assert.deepEqual(statusCounts(ROWS), { failing: 1, ok: 2, unchecked: 1 });
  assert.deepEqual(statusCounts([]), { failing: 0, ok: 0, unchecked: 0 });
});

test("a row's failing checks", () => {
  const row = {
    results: [
      { name: "min_new_items", ok: false, message: "0 new" },
      { name: "max_newest_age", ok: true, message: "" },
    ],
  };
  assert.deepEqual(
    failures(row).map((r) => r.name),
    ["min_new_items"],
  );
  assert.deepEqual(failures({}), []);
});

test("a route's match in the order rule, tag, table", () => {
  assert.deepEqual(matchEntries({ table: "sites", rule: "gov_*" }), [
    ["rule", "gov_*"],
    ["table", "sites"],
  ]);
  assert.deepEqual(matchEntries(undefined), []);
});

test("only the admin's routes are saved, as the service takes them", () => {
  const routes = [
    { match: { tag: "x" }, to: ["ops"], source: "settings" },
    { match: { tag: "gov" }, to: ["ops", "mail"], source: "admin" },
  ];
  assert.deepEqual(adminRoutes(routes), [{ match: { tag: "gov" }, to: ["ops", "mail"] }]);
  assert.deepEqual(adminRoutes(undefined), []);
});

test("a route from the form: empty keys left out, a match and a channel needed", () => {
  assert.deepEqual(routeRequest({ rule: " ", tag: " gov ", table: "", to: ["ops"] }), {
    match: { tag: "gov" },
    to: ["ops"],
  });
  assert.throws(() => routeRequest({ rule: "", tag: "", table: "", to: ["ops"] }), /match/);
  assert.throws(() => routeRequest({ rule: "gov_*", to: [] }), /to/);
});

test("a channel from the form, and back", () => {
  const form = {
    name: " ops ",
    type: "webhook",
    urlEnv: " OPS_URL ",
    secretEnv: "",
    to: "",
    quietMode: "default",
    quiet: "22:00-08:00",
  };
  assert.deepEqual(channelRequest(form), {
    name: "ops",
    body: { type: "webhook", url_env: "OPS_URL", secret_env: "", to: [], quiet_hours: null },
  });
  assert.equal(channelRequest({ ...form, quietMode: "never" }).body.quiet_hours, "");
  assert.equal(channelRequest({ ...form, quietMode: "hours" }).body.quiet_hours, "22:00-08:00");
  assert.throws(() => channelRequest({ ...form, quietMode: "hours", quiet: " " }), /quiet/);
  assert.throws(() => channelRequest({ ...form, name: "" }), /name/);
  assert.throws(() => channelRequest({ ...form, type: "" }), /type/);
  assert.deepEqual(recipients("a@x.org, b@x.org;c@x.org\nd@x.org "), [
    "a@x.org",
    "b@x.org",
    "c@x.org",
    "d@x.org",
  ]);

  const channel = { name: "mail", type: "email", to: ["a@x.org", "b@x.org"], quiet_hours: "" };
  assert.deepEqual(channelForm(channel), {
    name: "mail",
    type: "email",
    urlEnv: "",
    secretEnv: "",
    to: "a@x.org, b@x.org",
    quietMode: "never",
    quiet: "",
  });
  assert.equal(channelForm({ name: "x", type: "wecom" }).quietMode, "default");
  assert.equal(channelForm({ name: "x", quiet_hours: "01:00-02:00" }).quietMode, "hours");
  assert.equal(channelForm(null).name, "");
  // the form's values give the channel back
  assert.deepEqual(channelRequest(channelForm(channel)).body.to, channel.to);
});

test("what a test message did", () => {
  assert.equal(testOutcome({ sent: ["ops"], failed: [], held: [] }, "ops"), "sent");
  assert.equal(testOutcome({ sent: [], failed: [], held: ["ops"] }, "ops"), "held");
  assert.equal(testOutcome({ sent: [], failed: ["ops"], held: [] }, "ops"), "failed");
  assert.equal(testOutcome(null, "ops"), "failed");
});
