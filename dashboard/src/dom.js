// Building DOM nodes: h() for elements, plus the few formatters every page shows values with.
// Text always goes in as text nodes (never innerHTML), so data from the API cannot inject markup.

import { locale } from "./i18n.js";

/**
 * h("a#id.btn.big", {href: "#/"}, "text", child, ...): an element with an id, classes,
 * attributes and children (strings become text nodes; null, undefined and false are left out).
 */
export function h(tag, attrs, ...children) {
  const [name, ...parts] = tag.split(/(?=[.#])/);
  const node = document.createElement(name.startsWith(".") || name.startsWith("#") ? "div" : name);
  if (name.startsWith(".") || name.startsWith("#")) parts.unshift(name);
  const classes = parts.filter((p) => p.startsWith(".")).map((p) => p.slice(1));
  const id = parts.find((p) => p.startsWith("#"));
  if (id) node.id = id.slice(1);
  if (classes.length) node.className = classes.join(" ");
  const plain =
    attrs && typeof attrs === "object" && !(attrs instanceof Node) && !Array.isArray(attrs);
  if (!plain) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key === "value" || key === "checked") {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace every child of node with children. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A number in the current locale ("—" when absent). */
export function num(value) {
  if (value === undefined || value === null || value === "") return "—";
  if (typeof value !== "number") return String(value);
  return new Intl.NumberFormat(locale()).format(value);
}

/** A share 0..1 as a percentage ("—" when absent). */
export function pct(value) {
  if (value === undefined || value === null || Number.isNaN(value)) return "—";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(
    value,
  );
}

/** An ISO timestamp as a short local date and time ("—" when absent). */
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "medium" }).format(
    date,
  );
}

/** Seconds between two ISO timestamps, as "1 min 5 s" ("—" when unknown). */
export function duration(start, end) {
  if (!start) return "—";
  return seconds(((end ? new Date(end) : new Date()) - new Date(start)) / 1000);
}

/** A number of seconds as "4.2 s", "1 min 5 s" or "2 h 3 min" ("—" when unknown). */
export function seconds(value) {
  if (value === undefined || value === null || Number.isNaN(value)) return "—";
  const total = Math.max(0, value);
  if (total < 60) return `${total.toFixed(1)} s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes} min ${Math.floor(total % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A key as people read it: the SQLite store keeps a key as JSON text (["http://…"]). */
export function keyLabel(key) {
  if (typeof key === "string" && key.startsWith("[")) {
    try {
      const parts = JSON.parse(key);
      if (Array.isArray(parts)) return parts.map(String).join(" · ");
    } catch {
      // not JSON after all: shown as it is
    }
  }
  return Array.isArray(key) ? key.map(String).join(" · ") : String(key ?? "");
}

/** A status badge coloured by kind (ok, live, warn, bad), with its text. */
export function badge(status, text) {
  const kinds = {
    finished: "ok",
    ok: "ok",
    true: "ok",
    running: "live",
    starting: "live",
    interrupted: "warn",
  };
  const kind = kinds[String(status)] || (status === undefined || status === null ? "warn" : "bad");
  return h(`span.badge.badge-${kind}`, text ?? String(status ?? "—"));
}
