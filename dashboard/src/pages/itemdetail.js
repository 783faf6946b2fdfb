// One item in the items browser: its JSON, its versions, the diff between two of them, and its
// near-duplicates (the earliest item it repeats, the others repeating that one), linked.

import { errorText, get } from "../api.js";
import { diffItems } from "../diff.js";
import { h, replace, when } from "../dom.js";
import { t } from "../i18n.js";
import { decodeText, isUrl, keyText } from "../itemviews.js";

/** Show the item with key of collection in the panel `detail`. */
export async function showItem(detail, collection, key) {
  replace(detail, h("p.muted", { role: "status" }, t("loading")));
  let answer;
  try {
    answer = await get(
      `/collections/${encodeURIComponent(collection)}/items/${encodeURIComponent(key)}`,
    );
  } catch (error) {
    replace(detail, h("p.error", { role: "alert" }, errorText(error)));
    return;
  }
  // versions[0] is the current one; older ones follow, newest first
  const versions = [answer.item, ...(answer.history || [])];
  const label = (i) =>
    i === 0
      ? t("item.current", { when: when(versions[0]._updated_at) })
      : t("item.version", {
          n: versions.length - i,
          when: when(versions[i]._replaced_at || versions[i]._updated_at),
        });
  const jsonBox = h("pre.json#item-json", { tabindex: "0" });
  const diffBox = h("div#item-diff");
  const shown = h(
    "select#item-shown",
    { onchange: () => (jsonBox.textContent = JSON.stringify(versions[shown.value], null, 2)) },
    versions.map((_, i) => h("option", { value: i }, label(i))),
  );
  const older = h(
    "select#diff-older",
    { onchange: drawDiff },
    versions.map((_, i) => h("option", { value: i, selected: i === 1 }, label(i))),
  );
  const newer = h(
    "select#diff-newer",
    { onchange: drawDiff },
    versions.map((_, i) => h("option", { value: i, selected: i === 0 }, label(i))),
  );

  function drawDiff() {
    const changes = diffItems(versions[older.value], versions[newer.value]);
    if (!changes.length) return replace(diffBox, h("p.muted", t("item.same")));
    replace(
      diffBox,
      h(
        "table.data.diff",
        h(
          "thead",
          h(
            "tr",
            ["field", "before", "after"].map((k) => h("th", { scope: "col" }, t(`item.${k}`))),
          ),
        ),
        h(
          "tbody",
          changes.map((c) =>
            h(
              `tr.${c.kind}`,
              h(
                "th",
                { scope: "row" },
                h("code", c.field),
                h("span.sr-only", ` (${t(`item.${c.kind}`)})`),
              ),
              h("td.before", c.kind === "added" ? "" : h("del", show(c.before))),
              h("td.after", c.kind === "removed" ? "" : h("ins", show(c.after))),
            ),
          ),
        ),
      ),
    );
  }

  jsonBox.textContent = JSON.stringify(answer.item, null, 2);
  replace(
    detail,
    h(
      "div.row",
      h("h2", t("item.title")),
      h(
        "button.link",
        { type: "button", onclick: () => detail.replaceChildren() },
        t("action.close"),
      ),
    ),
    h("p.small.wrap", h("code#item-key", keyText(key))),
    isUrl(answer.item._url)
      ? h(
          "p.small.wrap",
          h(
            "a#item-url",
            { href: answer.item._url, rel: "noreferrer noopener", target: "_blank" },
            decodeText(answer.item._url),
          ),
        )
      : null,
    answer.cluster ? cluster(answer.cluster) : null,
    h("h3", t("item.history", { n: versions.length })),
    versions.length > 1
      ? [
          h(
            "div.row",
            h("label", { for: "diff-older" }, t("item.from")),
            older,
            h("label", { for: "diff-newer" }, t("item.to")),
            newer,
          ),
          diffBox,
        ]
      : h("p.muted", t("item.noHistory")),
    h("h3", "JSON"),
    h("div.row", h("label", { for: "item-shown" }, t("item.show")), shown),
    jsonBox,
  );
  if (versions.length > 1) drawDiff();
  detail.querySelector("h2").setAttribute("tabindex", "-1");
  detail.querySelector("h2").focus();
}

/** The near-duplicates of an item (API: its cluster), each a link that opens it. */
function cluster({ original, duplicates, more }) {
  const link = (ref) =>
    h(
      "a",
      { href: `#/items/${encodeURIComponent(ref.collection)}?item=${encodeURIComponent(ref.key)}` },
      `${ref.collection}: ${ref.label || keyText(ref.key)}`,
    );
  return h(
    "section#item-cluster",
    { "aria-labelledby": "item-cluster-title" },
    h("h3#item-cluster-title", t("item.cluster")),
    original
      ? h("p#item-original", t("item.duplicateOf"), " ", link(original))
      : duplicates.length
        ? null
        : h("p.muted", t("item.noDuplicates")),
    duplicates.length
      ? [
          h("p", t(original ? "item.alsoRepeat" : "item.repeatedBy", { n: duplicates.length })),
          h(
            "ul#item-duplicates",
            duplicates.map((ref) => h("li", link(ref))),
          ),
        ]
      : null,
    more ? h("p.muted", t("item.moreDuplicates")) : null,
  );
}

function show(value) {
  if (value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}
