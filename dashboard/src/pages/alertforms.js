// The Alerts page's forms for admins (pages/alerts.js): a channel added or changed, and the
// admin's routes edited, then saved at once.

import { errorText, put } from "../api.js";
import { adminRoutes, channelForm, channelRequest, routeRequest } from "../alertrows.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";

/**
 * The admin's form to add or change a channel (PUT /api/alerts/channels/{name}); `saved(name)`
 * is told when one was saved.
 */
export function channelEditor(saved) {
  const error = h("p#channel-error.error", { role: "alert" });
  const type = h("select#channel-type", { required: true });
  const quietMode = h(
    "select#channel-quiet-mode",
    { onchange: sync },
    ["default", "never", "hours"].map((mode) =>
      h("option", { value: mode }, t(`alerts.quietMode.${mode}`)),
    ),
  );
  const field = (id, label, attrs) =>
    h(
      "div.field",
      h("label", { for: id }, label),
      h(`input#${id}`, { spellcheck: "false", autocomplete: "off", ...attrs }),
    );
  const form = h(
    "form#channel-form.node-form",
    { onsubmit: submit, novalidate: true },
    field("channel-name", t("alerts.form.name"), { maxlength: 64 }),
    h("div.field", h("label", { for: "channel-type" }, t("alerts.form.type")), type),
    field("channel-url-env", t("alerts.form.urlEnv"), {
      maxlength: 128,
      placeholder: "OPS_WEBHOOK_URL",
    }),
    field("channel-secret-env", t("alerts.form.secretEnv"), { maxlength: 128 }),
    field("channel-to", t("alerts.form.to"), {
      placeholder: "ops@example.com, oncall@example.com",
    }),
    h("div.field", h("label", { for: "channel-quiet-mode" }, t("alerts.form.quiet")), quietMode),
    field("channel-quiet", t("alerts.form.quietHours"), {
      maxlength: 11,
      placeholder: "22:00-08:00",
    }),
    h("p.muted.small", t("alerts.form.hint")),
    h(
      "div",
      h("button#channel-save", { type: "submit" }, t("alerts.form.save")),
      " ",
      h(
        "button#channel-clear",
        { type: "button", onclick: () => fill(channelForm(null)) },
        t("alerts.form.clear"),
      ),
    ),
    error,
  );
  const input = (id) => form.querySelector(`#${id}`);

  function sync() {
    input("channel-quiet").disabled = quietMode.value !== "hours";
  }

  function fill(values) {
    input("channel-name").value = values.name;
    if (values.type) type.value = values.type;
    input("channel-url-env").value = values.urlEnv;
    input("channel-secret-env").value = values.secretEnv;
    input("channel-to").value = values.to;
    quietMode.value = values.quietMode;
    input("channel-quiet").value = values.quiet;
    error.textContent = "";
    sync();
  }

  async function submit(event) {
    event.preventDefault();
    error.textContent = "";
    let request;
    try {
      request = channelRequest({
        name: input("channel-name").value,
        type: type.value,
        urlEnv: input("channel-url-env").value,
        secretEnv: input("channel-secret-env").value,
        to: input("channel-to").value,
        quietMode: quietMode.value,
        quiet: input("channel-quiet").value,
      });
    } catch (problem) {
      error.textContent = t(`alerts.needs.${problem.message}`);
      return;
    }
    const button = input("channel-save");
    button.disabled = true;
    try {
      await put(`/alerts/channels/${encodeURIComponent(request.name)}`, request.body);
      fill(channelForm(null));
      await saved(request.name);
    } catch (problem) {
      error.textContent = errorText(problem);
    } finally {
      button.disabled = false;
    }
  }

  sync();
  return {
    element: h(
      "section",
      { "aria-labelledby": "channel-form-h" },
      h("h3#channel-form-h", t("alerts.form.title")),
      form,
    ),
    setTypes(types) {
      if ([...type.options].map((o) => o.value).join() === types.join()) return;
      const chosen = type.value;
      replace(
        type,
        types.map((name) => h("option", { value: name, selected: name === chosen }, name)),
      );
    },
    edit(channel) {
      fill(channelForm(channel));
      input("channel-name").focus();
    },
  };
}

/**
 * The admin's routes as they will be saved, the form to add one, and saving them (PUT
 * /api/alerts/routes). `changed()` is told when the routes shown changed, `saved(n)` when they
 * were saved, `reload()` reads the page's answer again.
 */
export function routeEditor({ changed, saved, reload }) {
  let draft = []; // the admin's routes as they will be saved
  let dirty = false;
  const error = h("p#route-error.error", { role: "alert" });
  const state = h("span#routes-state.small", { "aria-live": "polite" });
  const to = h("select#route-to", { multiple: true, size: 4 });
  const field = (id, label, placeholder) =>
    h(
      "div.field",
      h("label", { for: id }, label),
      h(`input#${id}`, { spellcheck: "false", autocomplete: "off", maxlength: 100, placeholder }),
    );
  const save = h(
    "button#routes-save",
    { type: "button", onclick: saveRoutes },
    t("alerts.routes.save"),
  );
  const discard = h(
    "button#routes-discard",
    { type: "button", onclick: () => ((dirty = false), reload().then(sync)) },
    t("alerts.routes.discard"),
  );
  const form = h(
    "form#route-form.node-form",
    { onsubmit: add, novalidate: true },
    field("route-rule", t("alerts.match.rule"), "gov_*"),
    field("route-tag", t("alerts.match.tag"), "gov"),
    field("route-table", t("alerts.match.table"), "gov_sites"),
    h("div.field", h("label", { for: "route-to" }, t("alerts.route.to")), to),
    h("p.muted.small", t("alerts.routes.hint")),
    h("div", h("button#route-add", { type: "submit" }, t("alerts.routes.add"))),
    error,
  );
  const value = (id) => form.querySelector(`#${id}`).value;

  function add(event) {
    event.preventDefault();
    error.textContent = "";
    try {
      draft = [
        ...draft,
        routeRequest({
          rule: value("route-rule"),
          tag: value("route-tag"),
          table: value("route-table"),
          to: [...to.selectedOptions].map((o) => o.value),
        }),
      ];
    } catch (problem) {
      error.textContent = t(`alerts.routes.needs.${problem.message}`);
      return;
    }
    dirty = true;
    form.reset();
    sync();
    changed();
  }

  async function saveRoutes() {
    save.disabled = true;
    error.textContent = "";
    try {
      await put("/alerts/routes", { routes: draft });
      dirty = false;
      await saved(draft.length);
    } catch (problem) {
      error.textContent = errorText(problem);
    } finally {
      sync();
    }
  }

  function sync() {
    state.textContent = dirty ? t("alerts.routes.unsaved") : "";
    save.disabled = !dirty;
    discard.disabled = !dirty;
  }

  sync();
  return {
    element: h(
      "section",
      { "aria-labelledby": "route-form-h" },
      h("h3#route-form-h", t("alerts.routes.title")),
      form,
      h("div.row", save, discard, state),
    ),
    /** The admin's routes as the service has them, unless some are not saved yet. */
    setRoutes(routes) {
      if (!dirty) draft = adminRoutes(routes);
      sync();
    },
    routes: () => draft,
    remove(index) {
      draft = draft.filter((_, i) => i !== index);
      dirty = true;
      sync();
      changed();
    },
    setChannels(names) {
      const chosen = new Set([...to.selectedOptions].map((o) => o.value));
      replace(
        to,
        names.map((name) => h("option", { value: name, selected: chosen.has(name) }, name)),
      );
    },
  };
}
