// Items page search: a text box whose query (q=, every word in an item, Chinese included) goes
// into the address after a pause in typing, so a search can be linked and Back works; the
// words found are marked in the table. The page renders again on each search: the box takes
// the focus back.

import { h } from "../dom.js";
import { t } from "../i18n.js";

const PAUSE_MS = 400;
const MAX_LENGTH = 200; // as the API (crawler/store/browse.py TEXT_MAX)
let refocus = false;

export function searchBox(collection, query) {
  let timer;
  const input = h("input#item-search", {
    type: "search",
    name: "q",
    value: query.get("q") || "",
    maxlength: MAX_LENGTH,
    placeholder: t("items.searchHint"),
    oninput: (event) => {
      clearTimeout(timer);
      timer = setTimeout(() => search(collection, query, event.target.value), PAUSE_MS);
    },
  });
  if (refocus) {
    refocus = false;
    setTimeout(() => {
      input.focus();
      input.setSelectionRange(input.value.length, input.value.length);
    });
  }
  return h("div.row.search", h("label", { for: "item-search" }, t("items.search")), input);
}

function search(collection, query, text) {
  const next = new URLSearchParams(query);
  for (const name of ["cursor", "page", "item"]) next.delete(name);
  if (text.trim()) next.set("q", text.trim());
  else next.delete("q");
  refocus = true;
  location.hash = `#/items/${encodeURIComponent(collection)}${next.size ? `?${next}` : ""}`;
}

/** ``text`` with the words of search ``q`` in <mark> (any case): strings and nodes. */
export function highlight(text, q) {
  const words = (q || "").split(/\s+/).filter(Boolean);
  if (!words.length || !text) return text;
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const parts = text.split(new RegExp(`(${escaped.join("|")})`, "i"));
  return parts.map((part, i) => (i % 2 ? h("mark", part) : part));
}
