// The dashboard's shell: header (navigation, language, and who is signed in with their role and
// a sign-out button, or the API token field when the service has no sign-in), the hash router,
// and the page in <main>. Each page module exports render(main, params) → an optional cleanup
// function. With sign-in configured, a visitor who is not signed in sees the sign-in page.

import "./style.css";
import { errorText, setToken, token } from "./api.js";
import { disposeCharts } from "./charts.js";
import { h, replace } from "./dom.js";
import { LANGUAGES, language, locale, setLanguage, t } from "./i18n.js";
import * as accounts from "./pages/accounts.js";
import * as alerts from "./pages/alerts.js";
import * as captchas from "./pages/captchas.js";
import * as freshness from "./pages/freshness.js";
import * as hosts from "./pages/hosts.js";
import * as items from "./pages/items.js";
import * as nodes from "./pages/nodes.js";
import * as overview from "./pages/overview.js";
import * as proxies from "./pages/proxies.js";
import * as run from "./pages/run.js";
import * as runchanges from "./pages/runchanges.js";
import * as signin from "./pages/signin.js";
import { loadSession, needsSignIn, session, signOut } from "./session.js";

// The rule editor (CodeMirror and its schema support) loads when first opened.
const editor = { render: (...args) => import("./pages/editor.js").then((m) => m.render(...args)) };

const ROUTES = [
  { pattern: /^\/?$/, page: overview, nav: "overview" },
  { pattern: /^\/runs\/([^/]+)$/, page: run, nav: "overview" },
  { pattern: /^\/runs\/([^/]+)\/changes$/, page: runchanges, nav: "overview" },
  { pattern: /^\/items(?:\/([^/]+))?$/, page: items, nav: "items" },
  { pattern: /^\/rules(?:\/([^/]+))?$/, page: editor, nav: "rules" },
  { pattern: /^\/proxies$/, page: proxies, nav: "proxies" },
  { pattern: /^\/hosts$/, page: hosts, nav: "hosts" },
  { pattern: /^\/nodes$/, page: nodes, nav: "nodes" },
  { pattern: /^\/freshness$/, page: freshness, nav: "freshness" },
  { pattern: /^\/alerts$/, page: alerts, nav: "alerts" },
  { pattern: /^\/captchas$/, page: captchas, nav: "captchas" },
  { pattern: /^\/accounts$/, page: accounts, nav: "accounts" },
  { pattern: /^\/signin$/, page: signin, nav: null, open: true },
];

const NAV = [
  ["overview", "#/"],
  ["items", "#/items"],
  ["rules", "#/rules"],
  ["proxies", "#/proxies"],
  ["hosts", "#/hosts"],
  ["nodes", "#/nodes"],
  ["freshness", "#/freshness"],
  ["alerts", "#/alerts"],
  ["captchas", "#/captchas"],
  ["accounts", "#/accounts"],
];

const header = h("header.top");
const main = h("main#main", { tabindex: "-1" });
let cleanup = null;
let renderSerial = 0;

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  for (const route of ROUTES) {
    const match = path.match(route.pattern);
    if (!match) continue;
    const args = match.slice(1).map((arg) => (arg === undefined ? arg : decodeURIComponent(arg)));
    return { route, args, query: new URLSearchParams(query) };
  }
  return null;
}

function personBlock() {
  const { person } = session();
  if (!person) return h("a#signin-link", { href: "#/signin" }, t("signin.link"));
  const role = person.role || "none";
  return h(
    "div.person#person",
    h("span#person-name", person.name),
    " ",
    h(`span.badge.role-${role}#person-role`, { dataset: { role } }, t(`role.${role}`)),
    h(
      "button#signout",
      {
        type: "button",
        onclick: async (event) => {
          event.target.disabled = true;
          try {
            await signOut();
            if (location.hash.startsWith("#/signin")) renderRoute();
            else location.hash = "#/signin";
          } catch (error) {
            event.target.disabled = false;
            event.target.title = errorText(error);
          }
        },
      },
      t("signin.signOut"),
    ),
  );
}

function renderHeader(active) {
  const tokenInput = h("input#token", {
    type: "password",
    autocomplete: "off",
    placeholder: token() ? t("token.set") : t("token.placeholder"),
    "aria-describedby": "token-state",
  });
  const form = h(
    "form.token",
    {
      onsubmit: (event) => {
        event.preventDefault();
        setToken(tokenInput.value.trim());
        tokenInput.value = "";
      },
    },
    h("label", { for: "token" }, t("token.label")),
    tokenInput,
    h("button", { type: "submit" }, t("token.save")),
    token()
      ? h("button", { type: "button", onclick: () => setToken("") }, t("token.forget"))
      : null,
    h("span#token-state.muted", { "aria-live": "polite" }, token() ? t("token.kept") : ""),
  );
  const languageSelect = h(
    "select#language",
    { onchange: (event) => setLanguage(event.target.value) },
    Object.entries(LANGUAGES).map(([code, name]) =>
      h("option", { value: code, selected: code === language() }, name),
    ),
  );
  replace(
    header,
    h("a.skip", { href: "#main", onclick: skipToMain }, t("nav.skip")),
    h("a.brand", { href: "#/" }, t("app.title")),
    h(
      "nav",
      { "aria-label": t("nav.label") },
      h(
        "ul",
        NAV.map(([key, href]) =>
          h(
            "li",
            h("a", { href, "aria-current": key === active ? "page" : null }, t(`nav.${key}`)),
          ),
        ),
      ),
    ),
    h(
      "div.settings",
      h("label", { for: "language" }, t("nav.language")),
      languageSelect,
      session().signin ? personBlock() : form,
    ),
  );
}

function skipToMain(event) {
  event.preventDefault();
  main.focus();
}

async function renderRoute() {
  const serial = ++renderSerial;
  cleanup?.();
  cleanup = null;
  disposeCharts();
  const found = parseHash();
  if (found && !found.route.open && needsSignIn()) {
    // the page asked for comes back after signing in
    const next = `/${location.hash || "#/"}`;
    location.replace(`#/signin?next=${encodeURIComponent(next)}`);
    return;
  }
  renderHeader(found?.route.nav);
  document.title = t("app.title");
  if (!found) {
    replace(main, h("h1", t("page.notFound")), h("p", h("a", { href: "#/" }, t("nav.overview"))));
    return;
  }
  replace(main, h("p.muted", { role: "status" }, t("loading")));
  try {
    const done = await found.route.page.render(main, found.args, found.query);
    if (serial !== renderSerial) done?.();
    else cleanup = done || null;
  } catch (error) {
    if (serial !== renderSerial) return;
    replace(main, h("p.error", { role: "alert" }, t("error.load", { error: error.message })));
  }
}

document.documentElement.lang = locale();
document.body.append(header, main);
// Until the sign-in state is known, start() renders whatever the hash is by then: a hash
// changed earlier must not render a second page over it while that one is still loading.
let started = false;
window.addEventListener("hashchange", () => {
  if (!started) return;
  renderRoute();
  main.focus({ preventScroll: true });
});
window.addEventListener("languagechange-dashboard", renderRoute);
window.addEventListener("tokenchange-dashboard", () => renderHeader(parseHash()?.route.nav));
window.addEventListener("unauthorized-dashboard", async () => {
  // a session that ended while the page was open: ask again, and to the sign-in page if so
  if (!session().signin) return;
  await loadSession().catch(() => null);
  if (needsSignIn()) renderRoute();
});

async function start() {
  try {
    await loadSession();
  } catch (error) {
    // an older service without /api/auth/session: no sign-in, as before
    console.warn("sign-in state unknown:", error);
  }
  started = true;
  renderRoute();
}

start();
