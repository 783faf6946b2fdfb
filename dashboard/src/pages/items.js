// Items browser: pick a collection, filter by field values and crawl time, sort, page through
// with keyset cursors, export; open an item (itemdetail.js) or the dead letters (deadletters.js).
// Filters, sort and cursor live in the URL hash, so a view can be bookmarked and Back works;
// so does the item shown (?item=KEY): an item's near-duplicates link to each other that way.
// The columns are chosen per collection (?cols=a,b, remembered in localStorage); URLs and keys
// are shown decoded (itemviews.js), links still going to the URL itself.

import { apiUrl, get } from "../api.js";
import { h, num, replace, when } from "../dom.js";
import { filePath, fileSize, isFileList } from "../filerecords.js";
import { t } from "../i18n.js";
import {
  chosenColumns,
  decodeText,
  fieldsOf,
  isUrl,
  keyFieldsOf,
  keyText,
  loadColumns,
  queryWithColumns,
  saveColumns,
} from "../itemviews.js";
import { renderDeadLetters } from "./deadletters.js";
import { dropControl, droppedNotice } from "./dropcollection.js";
import { showItem } from "./itemdetail.js";
import { highlight, searchBox } from "./itemsearch.js";

const STORE_SORTS = ["_updated_at", "_crawled_at", "_first_seen", "_key"];
// near-duplicates of earlier items (_duplicate_of): all, only them, or none of them
const DUPLICATES = ["", "only", "hide"];
// the column chooser stays open across the page's render after a box is ticked
let chooserOpen = false;

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
  const available = fieldsOf(rows, info?.fields);
  const fields = chosenColumns({
    query,
    stored: loadColumns(storage(), collection),
    available,
    keyFields: keyFieldsOf(rows),
  });
  const detail = h("aside.detail#item-detail", { "aria-live": "polite" });
  const filterParams = Object.fromEntries(
    Object.entries(params).filter(
      ([k]) => k.startsWith("f.") || ["q", "since", "until", "duplicates"].includes(k),
    ),
  );

  replace(
    body,
    searchBox(collection, query),
    filterForm(collection, query, available),
    h(
      "div.row",
      h(
        "p#item-count",
        { role: "status" },
        answer.count === undefined ? "" : t("items.count", { n: num(answer.count) }),
        page > 1 ? ` · ${t("items.page", { n: page })}` : "",
      ),
      columnChooser(collection, query, available, fields),
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

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: the address alone keeps the columns
  }
}

/** Checkboxes of the collection's fields: the columns shown, remembered for the collection and
 * kept in the address (cols=), so a view can be linked. */
function columnChooser(collection, query, available, shown) {
  const choose = () => {
    const boxes = [...chooser.querySelectorAll("input[name=column]")];
    const columns = boxes.filter((box) => box.checked).map((box) => box.value);
    saveColumns(storage(), collection, columns);
    chooserOpen = true;
    const next = queryWithColumns(query, columns);
    location.hash = `#/items/${encodeURIComponent(collection)}?${next}`;
  };
  const chooser = h(
    "details.columns#column-chooser",
    { open: chooserOpen || null },
    h("summary", t("items.columns", { n: shown.length, of: available.length })),
    h(
      "fieldset",
      h("legend.sr-only", t("items.columnsLegend")),
      available.map((name) =>
        h(
          "label.column",
          h("input", {
            type: "checkbox",
            name: "column",
            value: name,
            checked: shown.includes(name),
            onchange: choose,
          }),
          " ",
          name,
        ),
      ),
    ),
  );
  chooserOpen = false;
  return chooser;
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
              {
                type: "button",
                title: keyText(row._key),
                onclick: () => showItem(detail, collection, row._key, info),
              },
              short(row._key),
            ),
          ),
          fields.map((f) => valueCell(row[f], q)),
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

/** A table cell: a files field as its links, a URL as a link showing it decoded, any other
 * value as text cut at 80 characters; the whole value in the cell's title. */
function valueCell(value, q) {
  if (isFileList(value)) return h("td", fileLinks(value));
  if (value === undefined || value === null) return h("td");
  if (isUrl(value)) {
    const label = decodeText(value);
    return h(
      "td.url",
      { title: label },
      h("a", { href: value, rel: "noreferrer noopener", target: "_blank" }, cut(label)),
    );
  }
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  return h("td", { title: text.length > 80 ? text : null }, highlight(cut(text), q));
}

function cut(text) {
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function short(key) {
  const text = keyText(key);
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
  const columns = new URLSearchParams(location.hash.split("?")[1] || "").get("cols");
  if (columns !== null) query.set("cols", columns);
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
