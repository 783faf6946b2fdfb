// Nodes: the Scrapyd nodes the platform runs crawls on (GET /api/nodes; crawler/nodes): each
// node's health, its jobs, whether the project deployed there is this one, and the crawls
// running there (their heartbeats), read again every 5 s while the page is open; deploying the
// project to every node; starting a run on one node, the least loaded one, or spread over the
// nodes as a distributed run; an admin adds and removes nodes; the latest offline / back online
// alerts.

import { del, errorText, get, post } from "../api.js";
import { h, num, replace, when } from "../dom.js";
import { t } from "../i18n.js";
import {
  mebibytes,
  newestFirst,
  runOf,
  runRequest,
  secondsAgo,
  shortId,
  versionMark,
  versionTime,
  workerNumber,
} from "../noderows.js";
import { can } from "../session.js";
import { parseArgs } from "./preview.js";

const REFRESH_MS = 5000;
const TICK_MS = 1000; // "checked N s ago"
const RULE_PAGES = 10; // rules listed in the run form: up to 10 pages of 500
const STATUS_KIND = { online: "ok", offline: "bad", unauthorized: "warn" };
const MARK_KIND = { current: "ok", outdated: "warn", none: "bad" };
const COLUMNS = ["name", "status", "jobs", "version", "crawls"];

export async function render(main) {
  const editor = can("editor"); // deploy and run
  const admin = can("admin"); // add and remove nodes
  let answer = null;
  let timer = null;
  let ticker = null;
  let stopped = false;
  let confirming = null; // the node whose removal waits for a second click
  // Nodes removed here that the service's last look (its watch's, taken every
  // NODES_CHECK_INTERVAL) may still list: left out until an answer without them comes.
  const gone = new Set();

  const notice = h("p.notice#nodes-notice", { role: "status", "aria-live": "polite" });
  const checked = h("span#nodes-checked.muted.small");
  const dispatch = h("p#nodes-dispatch.muted.small");
  const tableBox = h("div#nodes-box.table-wrap");
  const alertsBox = h("div#node-alerts");
  const deploy = editor ? deploySection() : null;
  const runForm = editor ? runSection(await loadRules()) : null;
  const addForm = admin ? addSection() : null;

  async function load() {
    answer = await get("/nodes");
    const listed = new Set((answer.nodes || []).map((n) => n.name));
    for (const name of gone) if (!listed.has(name)) gone.delete(name);
    answer.nodes = (answer.nodes || []).filter((n) => !gone.has(n.name));
    draw();
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      await load();
    } catch (error) {
      notice.textContent = t("error.load", { error: errorText(error) });
    }
    clearTimeout(timer); // one chain of reads, however many refreshes ran at once
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }

  function tick() {
    const ago = secondsAgo(answer?.checked_at, Date.now());
    checked.textContent = ago === null ? t("nodes.notChecked") : t("nodes.checked", { n: ago });
  }

  function draw() {
    const nodes = answer.nodes || [];
    tick();
    dispatch.textContent = t("nodes.dispatch", {
      where: t(answer.dispatch === "local" ? "nodes.dispatchLocal" : "nodes.dispatchLeast"),
    });
    replace(tableBox, nodes.length ? nodesTable(nodes) : h("p.muted#nodes-none", t("nodes.none")));
    runForm?.setNodes(nodes);
    drawAlerts(newestFirst(answer.alerts));
  }

  function nodesTable(nodes) {
    const columns = admin ? [...COLUMNS, "actions"] : COLUMNS;
    return h(
      "table.data#nodes-table",
      h(
        "thead",
        h(
          "tr",
          columns.map((key) => h("th", { scope: "col" }, t(`nodes.col.${key}`))),
        ),
      ),
      h(
        "tbody",
        nodes.map((node) => nodeRow(node)),
      ),
    );
  }

  function nodeRow(node) {
    const mark = versionMark(node.version, answer.current);
    const built = versionTime(node.version);
    return h(
      "tr",
      { dataset: { node: node.name, status: node.status } },
      h(
        "th",
        { scope: "row" },
        h("strong", node.name),
        h("div.small", h("code.node-url", node.url)),
        h(
          "div.muted.small",
          t(`nodes.source.${node.source === "file" ? "file" : "settings"}`),
          node.username ? ` · ${t("nodes.user", { user: node.username })}` : "",
          node.slots ? ` · ${t("nodes.slots", { n: num(node.slots) })}` : "",
        ),
      ),
      h(
        "td.node-status",
        h(
          `span.badge.badge-${STATUS_KIND[node.status] || "bad"}`,
          { dataset: { status: node.status } },
          t(`nodes.status.${STATUS_KIND[node.status] ? node.status : "offline"}`),
        ),
        node.error ? h("div.small.error.node-error", node.error) : null,
      ),
      h(
        "td.node-jobs",
        node.status === "online"
          ? t("nodes.jobs", {
              running: num(node.running),
              pending: num(node.pending),
              finished: num(node.finished),
            })
          : "—",
      ),
      h(
        "td.node-version",
        { dataset: { mark } },
        h(`span.badge.badge-${MARK_KIND[mark]}`, t(`nodes.version.${mark}`)),
        node.version ? h("div.small", h("code", node.version)) : null,
        built ? h("div.muted.small", t("nodes.built", { when: when(built.toISOString()) })) : null,
      ),
      h("td.node-crawls", crawls(node.workers || [])),
      admin ? h("td", removeControl(node)) : null,
    );
  }

  function crawls(workers) {
    if (!workers.length) return h("span.muted", t("nodes.noCrawls"));
    const cols = ["rule", "run", "pages", "items", "rate", "memory"];
    return h(
      "table.data.node-workers",
      h(
        "thead",
        h(
          "tr",
          cols.map((key) => h("th", { scope: "col" }, t(`nodes.crawl.${key}`))),
        ),
      ),
      h(
        "tbody",
        workers.map((w) => {
          const run = runOf(w);
          const memory = mebibytes(w.rss);
          return h(
            "tr",
            { dataset: { worker: w.worker || "", run: run || "" } },
            h("th", { scope: "row" }, w.rule || "—"),
            h(
              "td",
              run
                ? h(
                    "a",
                    { href: `#/runs/${encodeURIComponent(run)}`, title: run },
                    h("code", shortId(run)),
                  )
                : "—",
              workerNumber(w)
                ? h("div.muted.small", t("nodes.workerOf", { n: workerNumber(w) }))
                : null,
            ),
            h("td.num", num(w.pages)),
            h("td.num", num(w.items)),
            h(
              "td.num",
              typeof w.rate === "number" ? t("nodes.perMinute", { n: num(w.rate) }) : "—",
            ),
            h("td.num", memory === null ? "—" : t("nodes.mib", { n: num(memory) })),
          );
        }),
      ),
    );
  }

  function removeControl(node) {
    if (node.source !== "file") return h("span.muted.small", t("nodes.fromSettings"));
    if (confirming !== node.name) {
      return h(
        "button.remove-node",
        {
          type: "button",
          onclick: () => {
            confirming = node.name;
            draw();
            tableBox
              .querySelector(`tr[data-node="${CSS.escape(node.name)}"] .confirm-remove`)
              ?.focus();
          },
        },
        t("nodes.remove"),
      );
    }
    return h(
      "div.confirm",
      { role: "group", "aria-label": t("nodes.removeAsk", { name: node.name }) },
      h("span.small", t("nodes.removeAsk", { name: node.name })),
      " ",
      h(
        "button.danger.confirm-remove",
        { type: "button", onclick: (event) => remove(node.name, event.target) },
        t("nodes.removeYes"),
      ),
      " ",
      h(
        "button.cancel-remove",
        {
          type: "button",
          onclick: () => {
            confirming = null;
            draw();
          },
        },
        t("nodes.cancel"),
      ),
    );
  }

  async function remove(name, button) {
    button.disabled = true;
    try {
      await del(`/nodes/${encodeURIComponent(name)}`);
      confirming = null;
      gone.add(name);
      notice.textContent = t("nodes.removed", { name });
      await refresh();
    } catch (error) {
      button.disabled = false;
      notice.textContent = errorText(error);
    }
  }

  function drawAlerts(alerts) {
    if (!alerts.length)
      return replace(alertsBox, h("p.muted#node-alerts-none", t("nodes.noAlerts")));
    replace(
      alertsBox,
      h(
        "ul.node-alerts",
        alerts.slice(0, 50).map((alert) =>
          h(
            "li",
            { dataset: { event: alert.event, node: alert.node } },
            h(
              "time.muted.small",
              { datetime: new Date(alert.at * 1000).toISOString() },
              when(new Date(alert.at * 1000).toISOString()),
            ),
            " ",
            h(
              `span.badge.badge-${alert.event === "node_online" ? "ok" : "bad"}`,
              t(alert.event === "node_online" ? "nodes.alertOnline" : "nodes.alertOffline", {
                node: alert.node,
              }),
            ),
            alert.error ? h("span.small", ` ${alert.error}`) : null,
            h(
              "div.muted.small",
              alert.sent?.length
                ? t("nodes.alertSent", { channels: alert.sent.join(", ") })
                : t("nodes.alertNotSent"),
            ),
          ),
        ),
      ),
    );
  }

  /** "Deploy to all nodes" and each node's answer. */
  function deploySection() {
    const results = h("ul#deploy-results.deploy-results", { "aria-live": "polite" });
    const summary = h("p#deploy-summary.small");
    const button = h(
      "button#deploy-all",
      {
        type: "button",
        onclick: async () => {
          button.disabled = true;
          summary.textContent = t("nodes.deploying");
          replace(results);
          try {
            const done = await post("/nodes/deploy", {});
            const ok = done.results.filter((r) => r.ok).length;
            summary.textContent = t("nodes.deployDone", {
              version: done.version,
              ok,
              total: done.results.length,
            });
            replace(results, done.results.map(deployLine));
            await refresh();
          } catch (error) {
            summary.textContent = errorText(error);
          } finally {
            button.disabled = false;
          }
        },
      },
      t("nodes.deployAll"),
    );
    return h(
      "section",
      { "aria-labelledby": "deploy-h" },
      h("h2#deploy-h", t("nodes.deployTitle")),
      h("p.muted.small", t("nodes.deployHint")),
      button,
      summary,
      results,
    );
  }

  function deployLine(result) {
    const text = !result.ok
      ? t("nodes.deployFailed", { node: result.node, error: result.error })
      : result.unchanged
        ? t("nodes.deployUnchanged", { node: result.node, version: result.version })
        : t("nodes.deployed", { node: result.node, version: result.version });
    return h(
      `li.${result.ok ? "ok" : "error"}`,
      { dataset: { node: result.node, ok: String(Boolean(result.ok)) } },
      text,
      result.ok && Array.isArray(result.spiders)
        ? h("span.muted.small", ` ${t("nodes.spiders", { n: num(result.spiders.length) })}`)
        : result.ok && typeof result.spiders === "number"
          ? h("span.muted.small", ` ${t("nodes.spiders", { n: num(result.spiders) })}`)
          : null,
    );
  }

  /** The form of a run on the nodes: rule, arguments, where; Start opens the run's page. */
  function runSection(rules) {
    const error = h("p#run-error.error", { role: "alert" });
    const rule = h(
      "select#run-rule",
      { required: true },
      rules.map((name) => h("option", { value: name }, name)),
    );
    const args = h("textarea#run-args", {
      rows: 3,
      spellcheck: "false",
      placeholder: "site=http://127.0.0.1:8000",
    });
    const nodeSelect = h("select#run-node", { "aria-label": t("nodes.runNode") });
    const workers = h("input#run-workers", {
      type: "number",
      min: 1,
      max: 1000,
      step: 1,
      value: "3",
      "aria-label": t("nodes.runWorkers"),
    });
    const choice = (value, label, ...extra) =>
      h(
        "div.target",
        h("input", {
          type: "radio",
          name: "run-target",
          id: `target-${value}`,
          value,
          checked: value === "least",
          onchange: sync,
        }),
        " ",
        h("label", { for: `target-${value}` }, label),
        " ",
        ...extra,
      );
    const start = h("button#run-start", { type: "submit" }, t("nodes.runStart"));
    const form = h(
      "form#node-run-form.node-form",
      { onsubmit: submit, novalidate: true }, // checked by runRequest, in the page's language
      h("label", { for: "run-rule" }, t("nodes.runRule")),
      rules.length ? rule : h("p.muted", t("nodes.noRules")),
      h("label", { for: "run-args" }, t("nodes.runArgs")),
      args,
      h(
        "fieldset",
        h("legend", t("nodes.runTarget")),
        choice("least", t("nodes.runLeast")),
        choice("node", t("nodes.runOnNode"), nodeSelect),
        choice("distributed", t("nodes.runDistributed"), workers, " ", t("nodes.runWorkers")),
      ),
      h("div", start),
      error,
    );

    function target() {
      return form.querySelector('input[name="run-target"]:checked')?.value || "least";
    }

    function sync() {
      nodeSelect.disabled = target() !== "node";
      workers.disabled = target() !== "distributed";
    }

    async function submit(event) {
      event.preventDefault();
      error.textContent = "";
      let body;
      try {
        body = runRequest({
          rule: rule.value,
          args: parseArgs(args.value),
          target: target(),
          node: target() === "node" ? nodeSelect.value : null,
          workers: workers.value,
        });
      } catch (problem) {
        error.textContent = t(`nodes.runNeeds.${problem.message}`);
        return;
      }
      start.disabled = true;
      notice.textContent = t("action.starting", { rule: body.rule });
      try {
        const started = await post("/nodes/runs", body);
        location.hash = `#/runs/${encodeURIComponent(started.run_id)}`;
      } catch (problem) {
        notice.textContent = "";
        error.textContent = errorText(problem);
      } finally {
        start.disabled = false;
      }
    }

    sync();
    return {
      element: h(
        "section",
        { "aria-labelledby": "run-h" },
        h("h2#run-h", t("nodes.runTitle")),
        form,
      ),
      /** The node choices follow the nodes (the one chosen stays chosen). */
      setNodes(nodes) {
        const names = nodes.map((n) => n.name);
        const have = [...nodeSelect.options].map((o) => o.value);
        if (names.join("\n") === have.join("\n")) return;
        const chosen = nodeSelect.value;
        replace(
          nodeSelect,
          nodes.map((n) => h("option", { value: n.name, selected: n.name === chosen }, n.name)),
        );
      },
    };
  }

  /** An admin's form to register a node (kept in the nodes file on the service's machine). */
  function addSection() {
    const error = h("p#node-add-error.error", { role: "alert" });
    const field = (id, label, attrs) =>
      h("div.field", h("label", { for: id }, label), h(`input#${id}`, attrs));
    const form = h(
      "form#node-add-form.node-form",
      { onsubmit: submit, autocomplete: "off" },
      field("node-name", t("nodes.addName"), {
        required: true,
        maxlength: 63,
        spellcheck: "false",
      }),
      field("node-url", t("nodes.addUrl"), {
        type: "url",
        required: true,
        placeholder: "http://10.0.0.7:6800",
        spellcheck: "false",
      }),
      field("node-username", t("nodes.addUsername"), {
        autocomplete: "off",
        spellcheck: "false",
      }),
      field("node-password", t("nodes.addPassword"), {
        type: "password",
        autocomplete: "new-password",
      }),
      field("node-slots", t("nodes.addSlots"), { type: "number", min: 0, step: 1 }),
      h("p.muted.small", t("nodes.addHint")),
      h("div", h("button#node-add", { type: "submit" }, t("nodes.addSubmit"))),
      error,
    );

    async function submit(event) {
      event.preventDefault();
      error.textContent = "";
      const value = (id) => form.querySelector(`#${id}`).value.trim();
      const body = { name: value("node-name"), url: value("node-url") };
      if (value("node-username")) body.username = value("node-username");
      const password = form.querySelector("#node-password").value;
      if (password) body.password = password;
      if (value("node-slots")) body.slots = Number(value("node-slots"));
      const button = form.querySelector("#node-add");
      button.disabled = true;
      try {
        const added = await post("/nodes", body);
        gone.delete(body.name);
        form.reset(); // the password is not kept on the page either
        notice.textContent = t("nodes.added", { name: added?.node?.name || body.name });
        await refresh();
      } catch (problem) {
        form.querySelector("#node-password").value = "";
        error.textContent = errorText(problem);
      } finally {
        button.disabled = false;
      }
    }

    return h("section", { "aria-labelledby": "add-h" }, h("h2#add-h", t("nodes.addTitle")), form);
  }

  replace(
    main,
    h("h1", t("nav.nodes")),
    notice,
    h(
      "section",
      { "aria-labelledby": "nodes-h" },
      h("div.row", h("h2#nodes-h", t("nodes.title")), checked),
      dispatch,
      tableBox,
    ),
    editor ? h("div.columns", runForm.element, deploy) : null,
    addForm,
    h("section", { "aria-labelledby": "alerts-h" }, h("h2#alerts-h", t("nodes.alerts")), alertsBox),
  );
  await load();
  timer = setTimeout(refresh, REFRESH_MS);
  ticker = setInterval(tick, TICK_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(ticker);
  };
}

/** The names of the rules that may run (the overview's list, a page of 500 at a time). */
async function loadRules() {
  const names = [];
  let offset = 0;
  for (let page = 0; page < RULE_PAGES; page++) {
    const answer = await get("/rules", { limit: 500, offset });
    for (const rule of answer.items || []) if (rule.valid !== false) names.push(rule.name);
    offset += (answer.items || []).length;
    if (!answer.items?.length || offset >= (answer.total ?? 0)) break;
  }
  return names;
}
