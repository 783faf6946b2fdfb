// Hosts: each host's politeness budget (requests per second, at once) and its use by every crawl
// sharing it: requests granted, waits, in flight now, slow-downs and how long it is paused.

import { get } from "../api.js";
import { h, num, replace } from "../dom.js";
import { t } from "../i18n.js";

const COLUMNS = [
  "host",
  "rate",
  "concurrency",
  "in_flight",
  "granted",
  "waited",
  "slowed",
  "paused_for",
];

export async function render(main) {
  const answer = await get("/hosts", { limit: 1000 });
  if (!answer.shared) {
    replace(main, h("h1", t("nav.hosts")), h("p.notice#hosts-local", t("hosts.local")));
    return;
  }
  replace(
    main,
    h("h1", t("nav.hosts")),
    h("p.muted", t("hosts.intro")),
    answer.hosts.length ? table(answer.hosts) : h("p.muted#hosts-none", t("hosts.none")),
  );
}

function cell(column, value) {
  if (column === "rate") return value ? t("hosts.perSecond", { n: num(value) }) : "—";
  if (column === "concurrency") return value ? num(value) : "—";
  if (column === "paused_for")
    return value > 0 ? t("hosts.seconds", { n: num(Math.ceil(value)) }) : "—";
  return num(value);
}

function table(hosts) {
  return h(
    "table.data#hosts-table",
    h(
      "thead",
      h(
        "tr",
        COLUMNS.map((c) => h("th", { scope: "col" }, t(`hosts.col.${c}`))),
      ),
    ),
    h(
      "tbody",
      hosts.map((row) =>
        h(
          "tr",
          COLUMNS.map((c) =>
            c === "host" ? h("th", { scope: "row" }, row.host) : h("td.num", cell(c, row[c])),
          ),
        ),
      ),
    ),
  );
}
