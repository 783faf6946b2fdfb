// Captchas: the captchas no solver could read, waiting for a person (GET /api/captchas; the
// manual solver's store, CAPTCHA_MANUAL_DIR), newest first, read again every few seconds while
// the page is open (one read at a time, less often after failures). Each shows its image, rule,
// page and how long it has waited, and an editor answers it as its kind asks: a text typed; a
// click captcha's points clicked on the image (numbered markers, undo, clear), sent in the
// image's own pixels however the image is scaled on the page; a slider's x, chosen with a range
// or by dragging over the image, its piece shown there. An answered captcha leaves the page;
// the crawl waiting for it goes on. Viewers see the queue without the answer controls.

import { ApiError, apiUrl, errorText, get, post } from "../api.js";
import { span } from "../alertrows.js";
import {
  addPoint,
  answerOf,
  answerProblem,
  imagePoint,
  kindOf,
  markerPlace,
  nextDelay,
  piecePlace,
  queueChanges,
  sliderMax,
  sliderX,
  TEXT_MAX,
  waited,
} from "../captchaanswers.js";
import { h, num, replace } from "../dom.js";
import { t } from "../i18n.js";
import { can } from "../session.js";

const REFRESH_MS = 3000;
const REFRESH_MAX_MS = 60000; // after failures in a row
const TICK_MS = 1000; // "waiting N s"

export async function render(main) {
  const editor = can("editor");
  const cards = new Map(); // id → {node, captcha, age, focus}
  const answered = new Set(); // answered here: a listing read before the answer still has them
  let listedAt = Date.now();
  let failures = 0;
  let timer = null;
  let ticker = null;
  let stopped = false;

  const notice = h("p.notice#captchas-notice", { role: "status", "aria-live": "polite" });
  const count = h("p#captchas-count.muted");
  const none = h("p.muted#captchas-none", { hidden: true }, t("captchas.none"));
  const list = h("ul#captchas-list.captcha-list");

  async function load() {
    const answer = await get("/captchas");
    listedAt = Date.now();
    draw(answer);
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      await load();
      failures = 0;
    } catch (error) {
      failures += 1;
      notice.textContent = t("error.load", { error: errorText(error) });
    }
    clearTimeout(timer); // one chain of reads, however many refreshes ran at once
    if (!stopped) timer = setTimeout(refresh, nextDelay(REFRESH_MS, failures, REFRESH_MAX_MS));
  }

  function draw(answer) {
    const items = (answer.items || []).filter((c) => !answered.has(c.id));
    const byId = new Map(items.map((c) => [c.id, c]));
    const { add, remove } = queueChanges([...cards.keys()], items);
    for (const id of remove) drop(id);
    const first = list.firstChild; // newest first: the new ones go above those shown
    for (const id of add) {
      const card = captchaCard(byId.get(id));
      cards.set(id, card);
      list.insertBefore(card.node, first);
    }
    for (const [id, card] of cards) card.captcha = byId.get(id) || card.captcha;
    const total = answer.total ?? items.length;
    count.textContent = answer.more
      ? t("captchas.countMore", { n: num(items.length), total: num(total) })
      : t("captchas.count", { n: num(total) });
    count.dataset.count = String(total);
    none.hidden = items.length > 0;
    tick();
  }

  function drop(id) {
    const card = cards.get(id);
    if (!card) return;
    const next = card.node.nextElementSibling || card.node.previousElementSibling;
    const hadFocus = card.node.contains(document.activeElement);
    card.node.remove();
    cards.delete(id);
    if (hadFocus && next) cards.get(next.dataset.id)?.focus();
  }

  function tick() {
    const now = Date.now();
    for (const card of cards.values()) {
      const age = span(waited(card.captcha, listedAt, now));
      card.age.textContent = t("captchas.waiting", {
        n: num(age.n),
        unit: t(`fresh.unit.${age.unit}`),
      });
    }
  }

  function captchaCard(captcha) {
    const kind = kindOf(captcha);
    const id = captcha.id;
    const img = h("img.captcha-image", {
      src: apiUrl(`/captchas/${encodeURIComponent(id)}/image`),
      alt: t("captchas.imageAlt", { rule: captcha.rule }),
      draggable: "false",
    });
    const natural = () => ({
      width: img.naturalWidth || captcha.width || 0,
      height: img.naturalHeight || captcha.height || 0,
    });
    const age = h("span.captcha-age.muted");
    const result = h("p.captcha-result", { role: "status", "aria-live": "polite" });
    const card = { captcha, age, focus: () => null, node: null };

    async function send(given, controls) {
      const answer = answerOf(kind, given);
      const problem = answerProblem(kind, answer, natural());
      if (problem) {
        result.className = "captcha-result error";
        result.textContent = t(problem);
        return;
      }
      controls.forEach((c) => (c.disabled = true));
      result.className = "captcha-result muted";
      result.textContent = t("captchas.sending");
      try {
        await post(`/captchas/${encodeURIComponent(id)}/answer`, { answer });
        notice.textContent = t("captchas.sent", { rule: captcha.rule });
        answered.add(id);
        drop(id);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          notice.textContent = t("captchas.gone", { rule: captcha.rule });
          answered.add(id);
          drop(id);
          return;
        }
        controls.forEach((c) => (c.disabled = false));
        result.className = "captcha-result error";
        result.textContent = t("captchas.refused", { error: errorText(error) });
      }
    }

    let body;
    if (!editor) body = h("div.captcha-stage", img);
    else if (kind === "click") body = clickWidget(img, natural, send, card);
    else if (kind === "slider") body = sliderWidget(captcha, img, natural, send, card);
    else body = textWidget(img, send, card);
    card.node = h(
      "li.captcha-card",
      { dataset: { id, kind } },
      h(
        "div.captcha-head",
        h("span.badge.badge-live.captcha-kind", t(`captchas.kind.${kind}`)),
        " ",
        h("a.captcha-rule", { href: `#/rules/${encodeURIComponent(captcha.rule)}` }, captcha.rule),
        " ",
        age,
      ),
      h(
        "div.captcha-page.small",
        t("captchas.page"),
        " ",
        h("code", { title: captcha.url }, captcha.url),
      ),
      captcha.prompt ? h("p.captcha-prompt", captcha.prompt) : null,
      editor ? h("p.muted.small", t(`captchas.how.${kind}`)) : null,
      body,
      result,
    );
    return card;
  }

  function textWidget(img, send, card) {
    const input = h("input.captcha-text", {
      type: "text",
      maxlength: String(TEXT_MAX),
      autocomplete: "off",
      autocapitalize: "off",
      spellcheck: "false",
      "aria-label": t("captchas.answer"),
    });
    const button = h("button.captcha-send", { type: "submit" }, t("captchas.send"));
    card.focus = () => input.focus();
    return [
      h("div.captcha-stage", img),
      h(
        "form.row.captcha-form",
        {
          onsubmit: (event) => {
            event.preventDefault();
            send(input.value, [input, button]);
          },
        },
        input,
        button,
      ),
    ];
  }

  function clickWidget(img, natural, send, card) {
    let points = [];
    const layer = h("div.captcha-markers", { "aria-hidden": "true" });
    const chosen = h("code.captcha-points");
    const undo = h(
      "button.captcha-undo",
      { type: "button", onclick: () => set(points.slice(0, -1)) },
      t("captchas.undo"),
    );
    const clear = h(
      "button.captcha-clear",
      { type: "button", onclick: () => set([]) },
      t("captchas.clear"),
    );
    const button = h("button.captcha-send", { type: "button" }, t("captchas.send"));
    button.addEventListener("click", () => send(points, [undo, clear, button]));
    card.focus = () => button.focus();

    function set(next) {
      points = next;
      const size = natural();
      replace(
        layer,
        points.map((point, i) => {
          const place = markerPlace(point, size);
          const marker = h("span.captcha-marker", String(i + 1));
          marker.style.left = `${place.left}%`;
          marker.style.top = `${place.top}%`;
          return marker;
        }),
      );
      chosen.textContent = points.length ? answerOf("click", points) : t("captchas.noPoints");
      undo.disabled = clear.disabled = button.disabled = !points.length;
    }

    img.addEventListener("click", (event) => {
      const rect = img.getBoundingClientRect();
      const point = imagePoint(
        event.clientX - rect.left,
        event.clientY - rect.top,
        rect,
        natural(),
      );
      set(addPoint(points, point));
    });
    set([]);
    return [
      h("div.captcha-stage.captcha-clickable", img, layer),
      h("div.row.captcha-controls", chosen, undo, clear, button),
    ];
  }

  function sliderWidget(captcha, img, natural, send, card) {
    const names = captcha.images || [];
    const name = names.includes("piece") ? "piece" : names[0];
    const piece = name
      ? h("img.captcha-piece", {
          src: apiUrl(
            `/captchas/${encodeURIComponent(captcha.id)}/image/${encodeURIComponent(name)}`,
          ),
          alt: "",
          draggable: "false",
        })
      : h("span.captcha-line");
    const range = h("input.captcha-slider", {
      type: "range",
      min: "0",
      step: "1",
      value: "0",
      "aria-label": t("captchas.sliderLabel"),
    });
    const readout = h("code.captcha-x");
    const button = h("button.captcha-send", { type: "button" }, t("captchas.send"));
    button.addEventListener("click", () =>
      send(sliderX(range.value, natural().width), [range, button]),
    );
    card.focus = () => range.focus();

    function place() {
      const width = natural().width;
      range.max = String(sliderMax(width, piece.naturalWidth));
      const x = sliderX(range.value, width);
      const at = piecePlace(x, piece.naturalWidth, width);
      piece.style.left = `${at.left}%`;
      if (piece.naturalWidth) piece.style.width = `${at.width}%`;
      readout.textContent = `x = ${x}`;
    }

    let dragging = false;
    const stage = h("div.captcha-stage.captcha-sliding", img, piece);
    function follow(event) {
      const rect = img.getBoundingClientRect();
      const point = imagePoint(
        event.clientX - rect.left,
        event.clientY - rect.top,
        rect,
        natural(),
      );
      if (!point) return;
      range.value = String(point.x);
      place();
    }
    stage.addEventListener("pointerdown", (event) => {
      event.preventDefault(); // no text selection, no image drag
      dragging = true;
      stage.setPointerCapture?.(event.pointerId);
      follow(event);
    });
    stage.addEventListener("pointermove", (event) => dragging && follow(event));
    stage.addEventListener("pointerup", () => (dragging = false));
    stage.addEventListener("pointercancel", () => (dragging = false));
    range.addEventListener("input", place);
    img.addEventListener("load", place);
    piece.addEventListener("load", place);
    place();
    return [stage, h("div.row.captcha-controls", range, readout, button)];
  }

  replace(
    main,
    h("h1", t("nav.captchas")),
    h("p.muted", t("captchas.intro")),
    editor ? null : h("p.notice#captchas-readonly", t("captchas.readOnly")),
    notice,
    count,
    none,
    list,
  );
  await load();
  timer = setTimeout(refresh, REFRESH_MS);
  ticker = setInterval(tick, TICK_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(ticker);
  };
}
