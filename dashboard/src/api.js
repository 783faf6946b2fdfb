// Talking to the data service: JSON requests under /api/, and server-sent event streams. A person
// signed in is known by the session cookie (HttpOnly: never seen here); every change sends the
// session's CSRF token, read from its cookie, in a header. Without sign-in, the API token (kept
// in sessionStorage) goes along as a Bearer header on every change.

const TOKEN_KEY = "dashboard.token";
const BASE = "api";
const CSRF_COOKIE = "crawler_csrf";
const CSRF_HEADER = "X-CSRF-Token";

/** An answer other than 2xx: status, the service's detail, and the parsed body. */
export class ApiError extends Error {
  constructor(status, detail, body) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
    this.body = body;
  }
}

export function token() {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(value) {
  try {
    if (value) window.sessionStorage.setItem(TOKEN_KEY, value);
    else window.sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: nothing to remember the token in
  }
  window.dispatchEvent(new CustomEvent("tokenchange-dashboard"));
}

/** The session's CSRF token (the cookie the service sets when a person signs in), or "". */
export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(value.join("="));
  }
  return "";
}

/** A URL under /api/ with query parameters (empty values left out). */
export function apiUrl(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === "") continue;
    query.append(key, String(value));
  }
  const text = query.toString();
  return `${BASE}${path}${text ? `?${text}` : ""}`;
}

/** GET path (with params) → parsed JSON; throws ApiError. */
export function get(path, params, options) {
  return request("GET", apiUrl(path, params), undefined, options);
}

/** POST / PUT a JSON body → parsed JSON; the API token goes along. */
export function post(path, body, options) {
  return request("POST", apiUrl(path), body, options);
}

export function put(path, body, options) {
  return request("PUT", apiUrl(path), body, options);
}

/** DELETE path → parsed JSON; the API token and CSRF token go along as for any change. */
export function del(path, options) {
  return request("DELETE", apiUrl(path), undefined, options);
}

async function request(method, url, body, options = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const bearer = token();
  if (method !== "GET" && bearer) headers.Authorization = `Bearer ${bearer}`;
  const csrf = csrfToken();
  if (method !== "GET" && csrf) headers[CSRF_HEADER] = csrf;
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: options.signal,
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    // the session ended (expired, signed out elsewhere): the shell offers to sign in again
    if (response.status === 401) window.dispatchEvent(new CustomEvent("unauthorized-dashboard"));
    const detail = parsed?.detail ?? (text.slice(0, 300) || response.statusText);
    throw new ApiError(response.status, detail, parsed);
  }
  return parsed;
}

/** A readable one-line message for an error thrown by request(). */
export function errorText(error) {
  if (!(error instanceof ApiError)) return String(error?.message || error);
  const detail = error.detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => (d && typeof d === "object" ? d.message || d.msg || JSON.stringify(d) : d))
      .join("; ");
  }
  if (detail && typeof detail === "object") return detail.message || JSON.stringify(detail);
  return `${error.status}: ${detail}`;
}

/**
 * Follow a server-sent event stream: handlers maps event names to functions of the parsed data.
 * Returns a function that closes the stream. onerror is told when the connection drops.
 */
export function events(path, handlers, onerror) {
  const source = new EventSource(apiUrl(path));
  for (const [name, handler] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => {
      let data = event.data;
      try {
        data = JSON.parse(event.data);
      } catch {
        // a plain-text event: hand it over as it is
      }
      handler(data);
    });
  }
  source.onerror = (event) => onerror?.(event, source);
  return () => source.close();
}
