// Deleting a collection, for admins only (others never see the button; the service refuses them
// anyway): the button opens a form that asks for the collection's name typed again, which the
// service checks too (DELETE /api/collections/{name}?confirm={name}). Its items go with their
// history and dead letters; run records stay. The items page then shows the collections left.

import { del, errorText } from "../api.js";
import { h, num, replace } from "../dom.js";
import { t } from "../i18n.js";
import { can } from "../session.js";

export function dropControl(collection) {
  if (!can("admin")) return null;
  const box = h("div.drop-collection");
  const closed = () =>
    replace(
      box,
      h("button.danger#drop-collection", { type: "button", onclick: open }, t("items.drop")),
    );

  function open() {
    const input = h("input#drop-confirm", { autocomplete: "off", spellcheck: "false" });
    const yes = h("button.danger#drop-yes", { type: "submit", disabled: true }, t("items.dropYes"));
    const error = h("p#drop-error.error", { role: "alert" });
    input.addEventListener("input", () => (yes.disabled = input.value !== collection));
    const submit = async (event) => {
      event.preventDefault();
      if (input.value !== collection) return;
      yes.disabled = true;
      try {
        const name = encodeURIComponent(collection);
        const answer = await del(`/collections/${name}?confirm=${name}`);
        sessionStorage.setItem(
          "dashboard.dropped",
          t("items.dropped", { name: collection, n: num(answer.record.items) }),
        );
        location.hash = "#/items";
      } catch (failure) {
        replace(error, errorText(failure));
        yes.disabled = false;
      }
    };
    replace(
      box,
      h(
        "form.confirm#drop-form",
        { onsubmit: submit },
        h("label", { for: "drop-confirm" }, t("items.dropAsk", { name: collection })),
        " ",
        input,
        " ",
        yes,
        " ",
        h("button", { type: "button", onclick: closed }, t("items.dropCancel")),
        error,
      ),
    );
    input.focus();
  }

  closed();
  return box;
}

/** What the last deletion said (shown once, on the page the deletion led to), or null. */
export function droppedNotice() {
  const text = sessionStorage.getItem("dashboard.dropped");
  if (!text) return null;
  sessionStorage.removeItem("dashboard.dropped");
  return h("p.notice#drop-notice", { role: "status" }, text);
}
