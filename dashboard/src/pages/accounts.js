// Accounts: the deployment's account pools (GET /api/accounts; crawler/accounts) as every crawl
// sharing them sees them, read again every 5 s while the page is open (one read at a time, less
// often after failures). Per pool a table of its accounts, retired and cooling down first: state
// (free, leased by host:pid, cooling down until, retired and why, over its daily quota), last
// use, requests today against the quota (a bar), bans, failed logins, whether logged-in cookies
// are stored, the processes holding it; filters by pool and state kept in the address
// (#/accounts?pool=shop&state=retired). Never a username, password or cookie: the service gives
// none. Admins reinstate a retired or cooling account (POST /api/accounts/{pool}/{name}/
// reinstate). A pool that is not shared (no Redis) is listed without state, with a note.

import { errorText, get, post } from "../api.js";
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
  stateCounts,
  stateOf,
} from "../accountrows.js";
import { span } from "../alertrows.js";
import { nextDelay } from "../captchaanswers.js";
import { h, num, replace, when } from "../dom.js";
import { t } from "../i18n.js";
import { can } from "../session.js";

const REFRESH_MS = 5000;
const REFRESH_MAX_MS = 60000; // after failures in a row
const COLUMNS = [
  "account",
  "state",
  "lastUsed",
  "today",
  "bans",
  "loginFailures",
  "cookies",
  "holders",
];
const KIND = {
  free: "ok",
  leased: "live",
  cooling: "warn",
  exhausted: "warn",
  retired: "bad",
  unknown: "warn",
};

export async function render(main, args, query) {
  const admin = can("admin");
  const filters = filtersOf(query);
  let answer = null;
  let failures = 0;
  let reads = 0;
  let timer = null;
  let stopped = false;

  const notice = h("p.notice#accounts-notice", { role: "status", "aria-live": "polite" });
  const note = h("p.notice#accounts-not-shared", { hidden: true }, t("accounts.notShared"));
  const tools = h("div.row#accounts-tools");
  const box = h("div#accounts-box");

  async function load() {
    const mine = ++reads;
    const got = await get("/accounts");
    if (mine !== reads) return; // a newer read (after a reinstate) was asked for: it draws
    answer = got;
    draw();
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      await load();
      if (failures) notice.textContent = ""; // the error said is over
      failures = 0;
    } catch (error) {
      failures += 1;
      notice.textContent = t("error.load", { error: errorText(error) });
    }
    clearTimeout(timer); // one chain of reads, however many refreshes ran at once
    if (!stopped) timer = setTimeout(refresh, nextDelay(REFRESH_MS, failures, REFRESH_MAX_MS));
  }

  function setFilter(change) {
    Object.assign(filters, change);
    history.replaceState(null, "", filterHash(filters)); // no hashchange: the page stays
    draw();
  }

  function draw() {
    if (!answer) return;
    const pools = answer.pools || {};
    const now = Number(answer.now) || Date.now() / 1000;
    note.hidden = answer.shared !== false || !Object.keys(pools).length;
    const counts = stateCounts(allAccounts(pools));
    replace(
      tools,
      h(
        "label",
        { for: "accounts-pool" },
        t("accounts.pool"),
        " ",
        h(
          "select#accounts-pool",
          { onchange: (event) => setFilter({ pool: event.target.value }) },
          h("option", { value: "" }, t("accounts.anyPool")),
          Object.keys(pools)
            .sort()
            .map((name) =>
              h(
                "option",
                { value: name, selected: name === filters.pool },
                `${name} (${num(pools[name].length)})`,
              ),
            ),
        ),
      ),
      h(
        "label",
        { for: "accounts-state" },
        t("accounts.stateFilter"),
        " ",
        h(
          "select#accounts-state",
          { onchange: (event) => setFilter({ state: event.target.value }) },
          h("option", { value: "" }, t("accounts.anyState")),
          [...STATES, UNKNOWN]
            .filter((state) => counts[state] || state === filters.state)
            .map((state) =>
              h(
                "option",
                { value: state, selected: state === filters.state },
                `${t(`accounts.state.${state}`)} (${num(counts[state])})`,
              ),
            ),
        ),
      ),
    );
    const shown = filterPools(pools, filters);
    if (!Object.keys(pools).length) replace(box, h("p.muted#accounts-none", t("accounts.none")));
    else if (!shown.length) replace(box, h("p.muted#accounts-none", t("accounts.noneMatch")));
    else
      replace(
        box,
        shown.map(([name, rows]) => poolSection(name, rows, now)),
      );
  }

  function poolSection(name, rows, now) {
    const withActions = admin && answer.shared !== false;
    return h(
      "section.accounts-pool",
      { dataset: { pool: name } },
      h(
        "h2",
        name,
        " ",
        h("span.muted.small.pool-count", t("accounts.poolCount", { n: num(rows.length) })),
      ),
      h(
        "div.table-wrap",
        h(
          "table.data.accounts-table",
          h(
            "thead",
            h(
              "tr",
              COLUMNS.map((key) => h("th", { scope: "col" }, t(`accounts.col.${key}`))),
              withActions ? h("th", { scope: "col" }, t("accounts.col.actions")) : null,
            ),
          ),
          h(
            "tbody",
            rows.length
              ? rows.map((row) => accountRow(name, row, now, withActions))
              : h(
                  "tr",
                  h("td.muted", { colspan: String(COLUMNS.length + 1) }, t("accounts.noneMatch")),
                ),
          ),
        ),
      ),
    );
  }

  function accountRow(pool, row, now, withActions) {
    const state = stateOf(row);
    const known = state !== UNKNOWN;
    const dash = () => h("span.muted", "—");
    return h(
      "tr",
      { dataset: { account: row.account, state } },
      h("th.account-name", { scope: "row" }, row.account),
      h("td.account-state", stateCell(row, state, now)),
      h("td.account-last", known ? moment(row.last_used, now) : dash()),
      h("td.account-today", known ? quotaCell(row) : dash()),
      h("td.account-bans.num", known ? num(row.bans) : dash()),
      h("td.account-logins.num", known ? num(row.login_failures) : dash()),
      h(
        "td.account-cookies",
        known
          ? h(
              `span.badge.badge-${row.cookies ? "ok" : "warn"}`,
              { dataset: { cookies: String(Boolean(row.cookies)) } },
              t(row.cookies ? "accounts.cookies.yes" : "accounts.cookies.no"),
            )
          : dash(),
      ),
      h("td.account-holders", known ? holdersCell(row.holders, now) : dash()),
      withActions ? h("td.account-actions", actionCell(pool, row)) : null,
    );
  }

  function stateCell(row, state, now) {
    const label = h(`span.badge.badge-${KIND[state]}`, t(`accounts.state.${state}`));
    let detail = null;
    if (state === "leased") {
      detail = t("accounts.leasedBy", { holders: holderText(row.holders) });
    } else if (state === "cooling") {
      const left = span(secondsLeft(row.cooling_until, now));
      const until = new Date(row.cooling_until * 1000).toISOString();
      detail = h(
        "time",
        { datetime: until, title: until },
        t("accounts.coolingUntil", { time: when(until), left: spanText(left) }),
      );
    } else if (state === "retired") {
      detail = [row.retired || "", row.retired_at ? [" · ", moment(row.retired_at, now)] : null];
    } else if (state === "exhausted") {
      detail = t("accounts.exhaustedUntil");
    }
    return [label, detail ? h("div.small.account-detail", detail) : null];
  }

  function quotaCell(row) {
    const quota = quotaShare(row);
    if (quota.quota === null) {
      return h("span", t("accounts.noQuota", { n: num(quota.used) }));
    }
    return h(
      "div.account-quota",
      { title: t("accounts.quotaTitle", { used: num(quota.used), quota: num(quota.quota) }) },
      h("meter.quota-bar", {
        min: "0",
        max: String(quota.quota),
        value: String(Math.min(quota.used, quota.quota)),
        low: String(quota.quota * 0.75),
        high: String(quota.quota * 0.9),
        optimum: "0",
        "aria-hidden": "true",
      }),
      h(`span.quota-text${quota.over ? ".error" : ""}`, `${num(quota.used)} / ${num(quota.quota)}`),
    );
  }

  function holdersCell(holders, now) {
    if (!holders?.length) return h("span.muted", t("accounts.noHolder"));
    return h(
      "ul.account-holder-list",
      holders.map((holder) =>
        h(
          "li",
          h("code", holderText([holder])),
          " ",
          h("span.muted.small", moment(holder.since, now)),
        ),
      ),
    );
  }

  function actionCell(pool, row) {
    if (!reinstatable(row)) return null;
    const result = h("span.small.account-result", { role: "status" });
    const button = h(
      "button.account-reinstate",
      {
        type: "button",
        onclick: async () => {
          button.disabled = true;
          try {
            await post(
              `/accounts/${encodeURIComponent(pool)}/${encodeURIComponent(row.account)}/reinstate`,
            );
            notice.textContent = t("accounts.reinstated", { pool, account: row.account });
            await refresh();
          } catch (error) {
            button.disabled = false;
            result.className = "small account-result error";
            result.textContent = t("accounts.refused", { error: errorText(error) });
          }
        },
      },
      t("accounts.reinstate"),
    );
    return [button, result];
  }

  /** "3 min ago" with the time itself in a title; "never" when there is no time. */
  function moment(at, now) {
    const ago = span(secondsAgo(at, now));
    if (!ago) return h("span.muted", t("accounts.never"));
    const iso = new Date(at * 1000).toISOString();
    return h("time", { datetime: iso, title: iso }, t("accounts.ago", { ago: spanText(ago) }));
  }

  replace(
    main,
    h("h1", t("nav.accounts")),
    h("p.muted", t("accounts.intro")),
    notice,
    note,
    tools,
    box,
  );
  await refresh(); // a first read refused (Redis away, a bad accounts file) is said and retried
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function spanText(period) {
  return period ? `${num(period.n)} ${t(`fresh.unit.${period.unit}`)}` : "—";
}
