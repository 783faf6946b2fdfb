// Alerts: where the platform's alerts go (GET /api/alerts; crawler/monitors/channels.py, desk.py).
// The channels (the environment variables they name, never values; ready or why not; quiet
// hours; where each is declared) with a test message each; the routes; the defaults; the checks
// failing now and the alerts held for a digest. An admin adds, changes and removes the channels
// and routes kept in ALERTS_FILE; the settings' own are shown read-only.

import { del, errorText, get, post } from "../api.js";
import { adminRoutes, matchEntries, span, testOutcome } from "../alertrows.js";
import { h, num, replace, when } from "../dom.js";
import { t } from "../i18n.js";
import { can } from "../session.js";
import { channelEditor, routeEditor } from "./alertforms.js";

const CHANNEL_COLUMNS = ["name", "type", "variables", "state", "quiet", "source"];
const OUTCOME_KIND = { sent: "ok", held: "warn", failed: "bad" };

export async function render(main) {
  const admin = can("admin");
  let answer = null;
  let confirming = null; // the channel whose removal waits for a second click
  const outcomes = new Map(); // channel → the last test's outcome

  const notice = h("p.notice#alerts-notice", { role: "status", "aria-live": "polite" });
  const defaultsBox = h("div#alerts-defaults");
  const channelsBox = h("div#channels-box.table-wrap");
  const routesBox = h("div#routes-box.table-wrap");
  const failingBox = h("div#failing-box.table-wrap");
  const heldBox = h("div#held-box");
  const channelEdit = admin ? channelEditor(channelSaved) : null;
  const routeEdit = admin ? routeEditor({ changed: draw, saved: routesSaved, reload }) : null;

  async function load() {
    answer = await get("/alerts");
    routeEdit?.setRoutes(answer.routes || []);
    draw();
  }

  async function channelSaved(name) {
    notice.textContent = t("alerts.channelSaved", { name });
    await load();
  }

  async function routesSaved(n) {
    notice.textContent = t("alerts.routes.saved", { n });
    await load();
  }

  function reload() {
    return load().catch((error) => (notice.textContent = errorText(error)));
  }

  function draw() {
    drawDefaults();
    replace(channelsBox, channelsTable(answer.channels || []));
    replace(routesBox, routesTable());
    channelEdit?.setTypes(answer.types || []);
    routeEdit?.setChannels((answer.channels || []).map((c) => c.name));
    drawFailing(answer.failing || []);
    drawHeld(answer.held || {});
  }

  function drawDefaults() {
    const dedup = span(answer.dedup_window);
    const fact = (key, value) =>
      h("div", { dataset: { fact: key } }, h("dt", t(`alerts.default.${key}`)), h("dd", value));
    replace(
      defaultsBox,
      h(
        "dl.facts",
        fact(
          "channels",
          answer.default?.length ? answer.default.join(", ") : t("alerts.noDefault"),
        ),
        fact("dedup", dedup ? `${num(dedup.n)} ${t(`fresh.unit.${dedup.unit}`)}` : "—"),
        fact("quiet", answer.quiet_hours || t("alerts.neverQuiet")),
        fact("timezone", answer.timezone || t("alerts.machineZone")),
      ),
    );
  }

  function channelsTable(channels) {
    const columns = admin ? [...CHANNEL_COLUMNS, "actions"] : CHANNEL_COLUMNS;
    return h(
      "table.data#channels-table",
      h(
        "thead",
        h(
          "tr",
          columns.map((key) => h("th", { scope: "col" }, t(`alerts.col.${key}`))),
        ),
      ),
      h("tbody", channels.map(channelRow)),
    );
  }

  function channelRow(channel) {
    const outcome = outcomes.get(channel.name);
    return h(
      "tr",
      { dataset: { channel: channel.name, source: channel.source, ready: String(channel.ready) } },
      h("th", { scope: "row" }, channel.name),
      h("td", channel.type),
      h(
        "td.channel-vars",
        channel.url_env
          ? h("div", t("alerts.urlEnv"), " ", h("code.url-env", `$${channel.url_env}`))
          : null,
        channel.secret_env
          ? h("div", t("alerts.secretEnv"), " ", h("code.secret-env", `$${channel.secret_env}`))
          : null,
        channel.to?.length ? h("div", t("alerts.to"), " ", channel.to.join(", ")) : null,
        channel.url_env || channel.secret_env || channel.to?.length
          ? null
          : h("span.muted", t("alerts.typeVars")),
      ),
      h(
        "td.channel-state",
        channel.ready
          ? h("span.badge.badge-ok", t("alerts.ready"))
          : [
              h("span.badge.badge-bad", t("alerts.notReady")),
              h("div.small.error.channel-problem", channel.problem),
            ],
      ),
      h("td.channel-quiet", quietText(channel.quiet_hours)),
      h("td.channel-source", t(`alerts.source.${channel.source}`)),
      admin
        ? h(
            "td.channel-actions",
            h(
              "button.test-channel",
              { type: "button", onclick: (event) => sendTest(channel.name, event.target) },
              t("alerts.test"),
            ),
            channel.source === "admin"
              ? [
                  " ",
                  h(
                    "button.edit-channel",
                    { type: "button", onclick: () => channelEdit.edit(channel) },
                    t("alerts.edit"),
                  ),
                ]
              : null,
            channel.source === "admin" ? [" ", removeControl(channel.name)] : null,
            outcome
              ? h(
                  `div.small.test-outcome`,
                  { dataset: { outcome: outcome.kind } },
                  h(
                    `span.badge.badge-${OUTCOME_KIND[outcome.kind]}`,
                    t(`alerts.outcome.${outcome.kind}`),
                  ),
                  outcome.text ? ` ${outcome.text}` : "",
                )
              : null,
          )
        : null,
    );
  }

  function quietText(quiet) {
    if (quiet === undefined || quiet === null) {
      const fallback = answer.quiet_hours ? ` (${answer.quiet_hours})` : "";
      return h("span.muted", t("alerts.quietDefault") + fallback);
    }
    return quiet === "" ? t("alerts.neverQuiet") : quiet;
  }

  async function sendTest(name, button) {
    button.disabled = true;
    try {
      const result = await post("/alerts/test", { channel: name });
      const kind = testOutcome(result, name);
      const problem = answer.channels.find((c) => c.name === name)?.problem;
      outcomes.set(name, { kind, text: kind === "failed" ? problem || t("alerts.seeLog") : "" });
    } catch (error) {
      outcomes.set(name, { kind: "failed", text: errorText(error) });
    }
    draw();
  }

  function removeControl(name) {
    if (confirming !== name) {
      return h(
        "button.remove-channel",
        { type: "button", onclick: () => ((confirming = name), draw()) },
        t("alerts.remove"),
      );
    }
    return h(
      "span.confirm",
      h("span.small", t("alerts.removeAsk", { name })),
      h(
        "button.danger.confirm-remove",
        { type: "button", onclick: (event) => removeChannel(name, event.target) },
        t("alerts.removeYes"),
      ),
      h(
        "button.cancel-remove",
        { type: "button", onclick: () => ((confirming = null), draw()) },
        t("alerts.cancel"),
      ),
    );
  }

  async function removeChannel(name, button) {
    button.disabled = true;
    try {
      await del(`/alerts/channels/${encodeURIComponent(name)}`);
      confirming = null;
      outcomes.delete(name);
      notice.textContent = t("alerts.removed", { name });
      await load();
    } catch (error) {
      button.disabled = false;
      notice.textContent = errorText(error);
    }
  }

  function routesTable() {
    const fixed = (answer.routes || []).filter((route) => route.source !== "admin");
    const rows = [
      ...fixed.map((route, i) => routeRow(route, "settings", i)),
      ...(routeEdit ? routeEdit.routes() : adminRoutes(answer.routes)).map((route, i) =>
        routeRow(route, "admin", i),
      ),
    ];
    if (!rows.length) return h("p.muted#routes-none", t("alerts.noRoutes"));
    const columns = ["match", "to", "source", ...(admin ? ["actions"] : [])];
    return h(
      "table.data#routes-table",
      h(
        "thead",
        h(
          "tr",
          columns.map((key) => h("th", { scope: "col" }, t(`alerts.route.${key}`))),
        ),
      ),
      h("tbody", rows),
    );
  }

  function routeRow(route, source, index) {
    return h(
      "tr",
      { dataset: { source, index: String(index) } },
      h(
        "td.route-match",
        matchEntries(route.match).map(([key, value]) =>
          h("span.pill", { dataset: { key } }, `${t(`alerts.match.${key}`)} `, h("code", value)),
        ),
      ),
      h("td.route-to", route.to.join(", ")),
      h("td", t(`alerts.source.${source}`)),
      admin
        ? h(
            "td",
            source === "admin"
              ? h(
                  "button.remove-route",
                  {
                    type: "button",
                    onclick: () => routeEdit.remove(index),
                  },
                  t("alerts.remove"),
                )
              : h("span.muted.small", t("alerts.fromSettings")),
          )
        : null,
    );
  }

  function drawFailing(failing) {
    if (!failing.length)
      return replace(failingBox, h("p.muted#failing-none", t("alerts.noFailing")));
    const columns = ["subject", "check", "since", "lastSent", "repeats", "channels", "message"];
    const at = (seconds) =>
      typeof seconds === "number" ? when(new Date(seconds * 1000).toISOString()) : "—";
    replace(
      failingBox,
      h(
        "table.data#failing-table",
        h(
          "thead",
          h(
            "tr",
            columns.map((key) => h("th", { scope: "col" }, t(`alerts.failing.${key}`))),
          ),
        ),
        h(
          "tbody",
          failing.map((row) =>
            h(
              "tr",
              { dataset: { subject: row.subject, check: row.check } },
              h("th", { scope: "row" }, row.subject),
              h("td", h("code", row.check)),
              h("td", at(row.failing_since)),
              h("td", at(row.last_sent)),
              h("td.num", num(row.repeats)),
              h("td", (row.channels || []).join(", ") || "—"),
              h("td.error", row.message || "—"),
            ),
          ),
        ),
      ),
    );
  }

  function drawHeld(held) {
    const entries = Object.entries(held);
    if (!entries.length) return replace(heldBox, h("p.muted#held-none", t("alerts.noHeld")));
    replace(
      heldBox,
      h(
        "ul#held-list",
        entries.map(([channel, n]) =>
          h("li", { dataset: { channel } }, t("alerts.heldFor", { channel, n: num(n) })),
        ),
      ),
    );
  }

  /** The admin's form to add or change a channel. */
  replace(
    main,
    h("h1", t("nav.alerts")),
    notice,
    admin ? null : h("p.muted#alerts-readonly", t("alerts.readOnly")),
    h(
      "section",
      { "aria-labelledby": "defaults-h" },
      h("h2#defaults-h", t("alerts.defaults")),
      defaultsBox,
    ),
    h(
      "section",
      { "aria-labelledby": "channels-h" },
      h("h2#channels-h", t("alerts.channels")),
      channelsBox,
      channelEdit?.element,
    ),
    h(
      "section",
      { "aria-labelledby": "routes-h" },
      h("h2#routes-h", t("alerts.routesTitle")),
      h("p.muted.small", t("alerts.routesHint")),
      routesBox,
      routeEdit?.element,
    ),
    h(
      "section",
      { "aria-labelledby": "failing-h" },
      h("h2#failing-h", t("alerts.failingNow")),
      failingBox,
    ),
    h("section", { "aria-labelledby": "held-h" }, h("h2#held-h", t("alerts.held")), heldBox),
  );
  await load();
}
