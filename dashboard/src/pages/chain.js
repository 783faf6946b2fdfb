// A run's place in the chained runs (a rule's `after:`, crawler/schedule/chains.py): the runs
// that started it (links to their run pages) and its rule's predecessors and successors (links
// to their rule pages), from the run's record (GET /api/runs/{id}: triggered_by_runs, chain).
// Hidden for a run of a rule outside every chain.

import { h, replace } from "../dom.js";
import { statusText, t } from "../i18n.js";

const ruleLink = (name) => h("a", { href: `#/rules/${encodeURIComponent(name)}` }, name);

function runLink(run) {
  const label = run.rule ? `${run.rule} · ${String(run.run_id).slice(0, 8)}` : run.run_id;
  return h(
    "span",
    h("a", { href: `#/runs/${encodeURIComponent(run.run_id)}` }, label),
    run.status ? ` (${statusText(run.status)})` : "",
  );
}

/** ``items`` drawn one by one, separated by commas. */
function commas(items, draw) {
  return items.flatMap((item, i) => (i ? [", ", draw(item)] : [draw(item)]));
}

/** Draw the chain of ``record`` into ``section`` (hidden when there is none). */
export function drawChain(section, record) {
  const chain = record.chain || {};
  const runs =
    record.triggered_by_runs || (record.triggered_by || []).map((id) => ({ run_id: id }));
  const before = chain.predecessors || [];
  const then = chain.successors || [];
  const when = chain.after?.when || [];
  section.hidden = !runs.length && !before.length && !then.length;
  if (section.hidden) {
    replace(section);
    return;
  }
  replace(
    section,
    h("h2#chain-h", t("chain.title")),
    h(
      "dl.facts",
      runs.length
        ? [h("dt", t("chain.triggeredBy")), h("dd#chain-triggered-by", commas(runs, runLink))]
        : null,
      before.length
        ? [
            h("dt", t("chain.after")),
            h(
              "dd#chain-after",
              commas(before, ruleLink),
              " ",
              h("span.muted", t("chain.when", { statuses: when.map(statusText).join(", ") })),
            ),
          ]
        : null,
      then.length ? [h("dt", t("chain.then")), h("dd#chain-then", commas(then, ruleLink))] : null,
    ),
  );
}
