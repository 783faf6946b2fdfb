// Items browser: pick a collection, filter by field values and crawl time, sort, page through
// with keyset cursors, export; open an item (itemdetail.js) or the dead letters (deadletters.js).
// Filters, sort and cursor live in the URL hash, so a view can be bookmarked and Back works;
// so does the item shown (?item=KEY): an item's near-duplicates link to each other that way.

import { apiUrl, get } from "../api.js";
import { h, keyLabel, num, replace, when } from "../dom.js";
import { filePath, fileSize, isFileList } from "../filerecords.js";
import { t } from "../i18n.js";
import { renderDeadLetters } from "./deadletters.js";
import { dropControl, droppedNotice } from "./dropcollection.js";
import { showItem } from "./itemdetail.js";
import { highlight, searchBox } from "./itemsearch.js";

const MAX_COLUMNS = 8;
const STORE_SORTS = ["_updated_at", "_crawled_at", "_first_seen", "_key"];
// near-duplicates of earlier items (_duplicate_of): all, only them, or none of them
const DUPLICATES = ["", "only", "hide"];

export async function render(main, [collection], query) {
  const collections = (await get("/collections")).items || [];
  if (!collection && collections.length) {
    location.replace(`#/items/${encodeURIComponent(collections[0].name)}`);
    return;
  }
  const info = collections.find((c) => c.name === collection);
  const view = query.get("view") === "dead" ? "dead" : "items";
  const picker = h(
    "select#collection",
    { onchange: (event) => (location.hash = `#/items/${encodeURIComponent(event.target.value)}`) },
    collections.map((c) => h("option", { value: c.name, selected: c.name === collection }, c.name)),
  );
  const tabs = h(
    "nav.tabs",
    { "aria-label": t("items.views") },
    tab(collection, "items", view, t("items.items", { n: num(info?.count) })),
    tab(collection, "dead", view, t("items.dead", { n: num(info?.dead) })),
  );
  const body = h("div");
  replace(
    main,
    h("h1", t("nav.items")),
    droppedNotice(),
    collections.length
      ? h(
          "div.row",
          h("label", { for: "collection" }, t("items.collection")),
          picker,
          tabs,
          info ? dropControl(collection) : null,
        )
      : h("p.muted", t("items.noCollections")),
    body,
  );
  if (!collection) return;
  if (view === "dead") return renderDeadLetters(body, collection);
  return renderItems(body, collection, query, info);
}

function tab(collection, name, view, label) {
  const href = `#/items/${encodeURIComponent(collection)}${name === "dead" ? "?view=dead" : ""}`;
  return h("a", { href, "aria-current": name === view ? "page" : null }, label);
}

async function renderItems(body, collection, query, info) {
  const params = { limit: 50, count: "true" };
  for (const [key, value] of query) {
    if (
      key.startsWith("f.") ||
      ["q", "sort", "since", "until", "cursor", "duplicates"].includes(key)
    )
      params[key] = value;
  }
  const page = Number(query.get("page") || 1);
  const answer = await get(`/collections/${encodeURIComponent(collection)}/items`, params);
  const rows = answer.items || [];
  const fields = fieldNames(rows);
  const detail = h("aside.detail#item-detail", { "aria-live": "polite" });
  const filterParams = Object.fromEntries(
    Object.entries(params).filter(
      ([k]) => k.startsWith("f.") || ["q", "since", "until", "duplicates"].includes(k),
    ),
  );

  replace(
    body,
    searchBox(collection, query),
    filterForm(collection, query, fields),
    h(
      "div.row",
      h(
        "p#item-count",
        { role: "status" },
        answer.count === undefined ? "" : t("items.count", { n: num(answer.count) }),
        page > 1 ? ` · ${t("items.page", { n: page })}` : "",
      ),
      h(
        "span.exports",
        t("items.export"),
        ["jsonl", "csv", "json", "xlsx"].map((format) =>
          h(
            "a",
            {
              href: apiUrl(`/collections/${encodeURIComponent(collection)}/export`, {
                ...filterParams,
                format,
              }),
              download: `${collection}.${format}`,
            },
            format === "xlsx" ? t("items.excel") : format.toUpperCase(),
          ),
        ),
      ),
    ),
    h(
      "div.split",
      h("div.table-wrap", itemsTable(rows, fields, collection, detail, info, query.get("q"))),
      detail,
    ),
    pager(collection, query, answer.next, page),
  );
  if (query.get("item")) showItem(detail, collection, query.get("item"), info);
}

/** The item's own fields seen on this page (store fields left out), at most MAX_COLUMNS. */
function fieldNames(rows) {
  const seen = new Set();
  for (const row of rows)
    for (const key of Object.keys(row)) if (!key.startsWith("_")) seen.add(key);
  return [...seen].slice(0, MAX_COLUMNS);
}

function itemsTable(rows, fields, collection, detail, info, q) {
  if (!rows.length) return h("p.muted", t("items.none"));
  return h(
    "table.data#items-table",
    h(
      "thead",
      h(
        "tr",
        h("th", { scope: "col" }, t("items.key")),
        fields.map((f) => h("th", { scope: "col" }, f)),
        h("th", { scope: "col" }, t("items.updated")),
      ),
    ),
    h(
      "tbody",
      rows.map((row) =>
        h(
          "tr",
          h(
            "th",
            { scope: "row" },
            h(
              "button.link",
              { type: "button", onclick: () => showItem(detail, collection, row._key, info) },
              short(row._key),
            ),
          ),
          fields.map((f) =>
            h("td", isFileList(row[f]) ? fileLinks(row[f]) : highlight(cell(row[f]), q)),
          ),
          h("td", when(row._updated_at)),
        ),
      ),
    ),
  );
}

/** A files field (docs/files.md): a download link per kept file, its name and size; a refused
 * or failed file as its name and reason. */
export function fileLinks(records) {
  return h(
    "ul.files",
    records.map((record) => {
      const path = filePath(record);
      const name = String(record.name || record.url);
      if (!path)
        return h("li.muted", t("items.fileNotKept", { name, reason: String(record.error) }));
      const size = fileSize(record.size);
      return h(
        "li",
        h("a.file-link", { href: apiUrl(path), download: name, title: record.url }, name),
        size ? ` (${size})` : "",
      );
    }),
  );
}

function cell(value) {
  if (value === undefined || value === null) return "";
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function short(key) {
  const text = keyLabel(key);
  return text.length > 40 ? `…${text.slice(-39)}` : text;
}

function filterForm(collection, query, fields) {
  const rows = h("div.filters");
  const addRow = (field = "", value = "") => {
    const id = `filter-${rows.children.length}`;
    rows.append(
      h(
        "div.filter",
        h("label.sr-only", { for: `${id}-field` }, t("items.filterField")),
        h("input", {
          id: `${id}-field`,
          name: "field",
          list: "item-fields",
          value: field,
          placeholder: t("items.filterField"),
        }),
        h("label.sr-only", { for: `${id}-value` }, t("items.filterValue")),
        h("input", {
          id: `${id}-value`,
          name: "value",
          value,
          placeholder: t("items.filterValue"),
        }),
      ),
    );
  };
  for (const [key, value] of query) if (key.startsWith("f.")) addRow(key.slice(2), value);
  if (!rows.children.length) addRow();
  const sort = query.get("sort") || "";
  const sortable = [...fields, ...STORE_SORTS];
  const form = h(
    "form.filter-form",
    { "aria-label": t("items.filters"), onsubmit: (event) => apply(event, collection) },
    h(
      "datalist#item-fields",
      sortable.map((f) => h("option", { value: f })),
    ),
    h(
      "fieldset",
      h("legend", t("items.filters")),
      rows,
      h("button.link", { type: "button", onclick: () => addRow() }, t("items.addFilter")),
    ),
    h(
      "div.row",
      h("label", { for: "since" }, t("items.since")),
      h("input#since", {
        type: "datetime-local",
        step: 1,
        name: "since",
        value: localInput(query.get("since")),
      }),
      h("label", { for: "until" }, t("items.until")),
      h("input#until", {
        type: "datetime-local",
        step: 1,
        name: "until",
        value: localInput(query.get("until")),
      }),
      h("label", { for: "duplicates" }, t("items.duplicates")),
      h(
        "select#duplicates",
        { name: "duplicates" },
        DUPLICATES.map((value) =>
          h(
            "option",
            { value, selected: (query.get("duplicates") || "") === value },
            t(`items.duplicates.${value || "all"}`),
          ),
        ),
      ),
      h("label", { for: "sort" }, t("items.sort")),
      h(
        "select#sort",
        { name: "sort" },
        h("option", { value: "" }, t("items.sortDefault")),
        sortable.flatMap((f) => [
          h("option", { value: f, selected: sort === f }, `${f} ↑`),
          h("option", { value: `-${f}`, selected: sort === `-${f}` }, `${f} ↓`),
        ]),
      ),
      h("button", { type: "submit" }, t("items.apply")),
      h("a", { href: `#/items/${encodeURIComponent(collection)}` }, t("items.clear")),
    ),
  );
  return form;
}

function apply(event, collection) {
  event.preventDefault();
  const form = event.target;
  const query = new URLSearchParams();
  for (const row of form.querySelectorAll(".filter")) {
    const field = row.querySelector("[name=field]").value.trim();
    const value = row.querySelector("[name=value]").value;
    if (field && value !== "") query.append(`f.${field}`, value);
  }
  for (const name of ["since", "until"]) {
    const value = form.elements[name].value;
    if (value) query.set(name, new Date(value).toISOString());
  }
  if (form.elements.duplicates.value) query.set("duplicates", form.elements.duplicates.value);
  if (form.elements.sort.value) query.set("sort", form.elements.sort.value);
  const text = document.getElementById("item-search")?.value.trim();
  if (text) query.set("q", text);
  location.hash = `#/items/${encodeURIComponent(collection)}${query.size ? `?${query}` : ""}`;
}

/** An ISO time as the value of a datetime-local input (local time, seconds). */
function localInput(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 19);
}

function pager(collection, query, next, page) {
  const base = new URLSearchParams(query);
  base.delete("cursor");
  base.delete("page");
  base.delete("item");
  const first = `#/items/${encodeURIComponent(collection)}${base.size ? `?${base}` : ""}`;
  const nextQuery = new URLSearchParams(base);
  if (next) {
    nextQuery.set("cursor", next);
    nextQuery.set("page", String(page + 1));
  }
  return h(
    "nav.pager",
    { "aria-label": t("items.pages") },
    page > 1 ? h("a", { href: first }, t("items.first")) : null,
    next
      ? h(
          "a#next-page",
          { href: `#/items/${encodeURIComponent(collection)}?${nextQuery}` },
          t("items.next"),
        )
      : null,
  );
}
