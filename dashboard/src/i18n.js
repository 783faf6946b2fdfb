// The dashboard's language: English or Chinese, chosen from the browser's languages, switchable,
// and remembered in localStorage. t(key, values) looks a message up in messages/.

import { en } from "./messages/en.js";
import { zh } from "./messages/zh.js";

const MESSAGES = { en, zh };

const STORAGE_KEY = "dashboard.lang";
export const LANGUAGES = { en: "English", zh: "中文" };

let current = initialLanguage();

function initialLanguage() {
  const stored = safeStorage()?.getItem(STORAGE_KEY);
  if (stored && stored in LANGUAGES) return stored;
  const preferred = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const tag of preferred) {
    const base = String(tag || "")
      .toLowerCase()
      .split("-")[0];
    if (base in LANGUAGES) return base;
  }
  return "en";
}

function safeStorage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: the choice lasts for this page only
  }
}

/** The current language code ("en" or "zh"). */
export function language() {
  return current;
}

/** The BCP 47 locale numbers and dates are formatted in. */
export function locale() {
  return current === "zh" ? "zh-CN" : "en-GB";
}

/** Switch language, remember it, and tell listeners (the app re-renders). */
export function setLanguage(code) {
  if (!(code in LANGUAGES) || code === current) return;
  current = code;
  safeStorage()?.setItem(STORAGE_KEY, code);
  document.documentElement.lang = locale();
  window.dispatchEvent(new CustomEvent("languagechange-dashboard"));
}

/** The message for key in the current language, with {name} placeholders filled from values. */
export function t(key, values) {
  const text = MESSAGES[current][key] ?? MESSAGES.en[key] ?? key;
  if (!values) return text;
  return text.replace(/\{(\w+)\}/g, (match, name) =>
    name in values ? String(values[name]) : match,
  );
}

/** A run status in words ("finished" → "完成"), the code itself when unknown. */
export function statusText(status) {
  const key = `status.${status}`;
  const text = t(key);
  return text === key ? String(status ?? "—") : text;
}
