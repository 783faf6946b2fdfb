// The sign-in page (#/signin): a button per sign-in provider the service is configured with
// (WeChat's QR-code login outside WeChat, WeChat's own authorization inside its browser, and the
// OAuth 2.0 / OpenID Connect providers), and, when a sign-in failed, why, in the person's
// language. Each button is a plain link: the service sends the browser on to the provider. A
// WeChat provider configured `embedded` shows its QR code in this page itself (see wxlogin.js).

import { get } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { inWeChat, session, usable } from "../session.js";
import { wxLoginFrame } from "../wxlogin.js";

const KINDS = ["wechat_qr", "wechat_browser", "oauth"];

function safeNext(value) {
  return value && value.startsWith("/") && !value.startsWith("//") ? value : "/";
}

function problem(query) {
  const reason = query.get("reason");
  if (!reason) return null;
  const values = {
    provider: query.get("provider") || "",
    errcode: query.get("errcode") || "",
    id: query.get("id") || "",
    name: query.get("name") || "",
  };
  const key = `signin.error.${reason}`;
  const text = t(key, values);
  return h(
    "div.error#signin-error",
    { role: "alert", dataset: { reason } },
    h("p", text === key ? t("signin.error.other", values) : text),
    reason === "no_role" && values.id
      ? h("p", h("code#signin-command", `scrapy auth people add ${values.id} --role viewer`))
      : null,
  );
}

function button(p, next) {
  return h(
    `a.button.signin.signin-${KINDS.includes(p.kind) ? p.kind : "oauth"}`,
    {
      href: `api/auth/${encodeURIComponent(p.name)}/login?next=${encodeURIComponent(next)}`,
      dataset: { provider: p.name },
    },
    t(`signin.with.${KINDS.includes(p.kind) ? p.kind : "oauth"}`, { label: p.label }),
  );
}

/** WeChat's QR code in the page (its frame), or the plain button when it cannot be had. */
async function embedded(p, next) {
  try {
    const params = await get(`/auth/${encodeURIComponent(p.name)}/embed`, { next });
    return h(
      "div.signin-qr",
      { id: `signin-qr-${p.name}`, dataset: { provider: p.name } },
      h("p", t("signin.scan", { label: p.label })),
      wxLoginFrame(params),
    );
  } catch {
    return button(p, next);
  }
}

export async function render(main, args, query) {
  const { signin, providers, person } = session();
  const next = safeNext(query.get("next"));
  const shown = usable(providers, inWeChat());
  const buttons = await Promise.all(
    shown.map((p) => (p.embed && !person ? embedded(p, next) : button(p, next))),
  );
  replace(
    main,
    h("h1", t("signin.title")),
    problem(query),
    person
      ? h("p.notice#signin-already", t("signin.already", { name: person.name }))
      : h("p", t("signin.intro")),
    !signin
      ? h("p.muted#signin-off", t("signin.notConfigured"))
      : buttons.length
        ? h("div.signin-buttons#signin-buttons", buttons)
        : h("p.muted", inWeChat() ? t("signin.noneInWeChat") : t("signin.noneHere")),
    signin && inWeChat() ? h("p.small.muted", t("signin.inWeChatNote")) : null,
  );
}
