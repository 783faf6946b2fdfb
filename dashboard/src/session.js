// Who uses the dashboard: the service's sign-in state (GET /api/auth/session: whether sign-in is
// configured, its providers, the person signed in and their role), what that role allows, and
// signing out. Without sign-in configured, the API token decides as before: nothing is hidden.

import { get, post } from "./api.js";

const RANK = { viewer: 1, editor: 2, admin: 3 };
let state = { signin: false, providers: [], person: null };

/** Ask the service again; the state. */
export async function loadSession() {
  state = await get("/auth/session");
  return state;
}

export function session() {
  return state;
}

/** Whether the page must send the person to the sign-in page first. */
export function needsSignIn() {
  return state.signin && !state.person;
}

/**
 * Whether the person may do what `role` may (viewer: read; editor: rules, runs; admin: tokens,
 * people). The service refuses anyway; this only keeps buttons that would fail off the page.
 */
export function can(role) {
  if (!state.signin) return true;
  return (RANK[state.person?.role] || 0) >= RANK[role];
}

/** Whether this page runs inside WeChat's own browser. */
export function inWeChat() {
  return /MicroMessenger/i.test(navigator.userAgent || "");
}

/**
 * The providers this browser can use: no QR code to scan inside WeChat (the person is already in
 * it), no WeChat authorization page outside it (WeChat shows it only in its own browser).
 */
export function usable(providers, insideWeChat) {
  return providers.filter((p) =>
    insideWeChat ? p.kind !== "wechat_qr" : p.kind !== "wechat_browser",
  );
}

export async function signOut() {
  await post("/auth/signout");
  state = { ...state, person: null };
}
