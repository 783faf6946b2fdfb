// What the Captchas page sends and shows (pure: no DOM; node --test): a click on an image shown
// at another size turned into the image's own pixels, the points of a click answer, a slider's
// x, the answers written as the service takes them (crawler/service/captcha_api.py: text; click
// "x1,y1;x2,y2"; slider "x"), what is wrong with one before it is sent, and which captchas a
// new listing adds or takes away from the page.

export const KINDS = ["text", "click", "slider"];
export const TEXT_MAX = 100;
export const POINTS_MAX = 10;

/** The kind the page shows a captcha as: one it knows, else a text captcha. */
export function kindOf(captcha) {
  return KINDS.includes(captcha?.kind) ? captcha.kind : "text";
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

/**
 * The pixel of the image (natural size `natural`: {width, height}) under a point (`x`, `y`
 * from the shown image's top left corner) of the image shown at `shown` ({width, height}: CSS
 * pixels, as getBoundingClientRect gives): scaled, whole, within the image.
 */
export function imagePoint(x, y, shown, natural) {
  if (!shown?.width || !shown?.height || !natural?.width || !natural?.height) return null;
  const scaleX = natural.width / shown.width;
  const scaleY = natural.height / shown.height;
  return {
    x: clamp(Math.floor(x * scaleX), 0, natural.width - 1),
    y: clamp(Math.floor(y * scaleY), 0, natural.height - 1),
  };
}

/** Where a point of the image (its own pixels) is on the image shown, in percent of its size. */
export function markerPlace(point, natural) {
  return {
    left: ((point.x + 0.5) / natural.width) * 100,
    top: ((point.y + 0.5) / natural.height) * 100,
  };
}

/** The points with one more (at most POINTS_MAX: a point past them is not added). */
export function addPoint(points, point) {
  return points.length >= POINTS_MAX || !point ? points : [...points, point];
}

/** A click answer: "x1,y1;x2,y2". */
export function clickAnswer(points) {
  return points.map((p) => `${p.x},${p.y}`).join(";");
}

/** A slider's x as the image's pixels, from the slider's value, within 0..width - 1. */
export function sliderX(value, width) {
  const x = Math.round(Number(value));
  if (!Number.isFinite(x)) return 0;
  return clamp(x, 0, Math.max(0, (width || 1) - 1));
}

/** The largest x a slider offers: the piece's left edge still over the image. */
export function sliderMax(width, pieceWidth) {
  if (!width) return 0;
  const room = width - (pieceWidth && pieceWidth < width ? pieceWidth : 1);
  return Math.max(0, room);
}

/**
 * Where a slider's piece goes over the image, in percent of the image shown (so it follows the
 * image however it is scaled): its left edge at the image's x, its width the piece's own.
 */
export function piecePlace(x, pieceWidth, width) {
  if (!width) return { left: 0, width: 0 };
  return { left: (x / width) * 100, width: ((pieceWidth || 0) / width) * 100 };
}

/** The answer the page sends for what the person gave: text, points or an x. */
export function answerOf(kind, given) {
  if (kind === "click") return clickAnswer(given || []);
  if (kind === "slider") return String(given ?? "");
  return String(given ?? "").trim();
}

/**
 * What is wrong with an answer before it is sent (the message key, or null): the service
 * checks again (a 422 names what it finds).
 */
export function answerProblem(kind, answer, size) {
  if (kind === "click") {
    const points = answer ? answer.split(";") : [];
    if (!points.length) return "captchas.needPoint";
    if (points.length > POINTS_MAX) return "captchas.tooManyPoints";
    for (const part of points) {
      const match = /^(\d+),(\d+)$/.exec(part);
      if (!match) return "captchas.badPoint";
      if (size?.width && (Number(match[1]) >= size.width || Number(match[2]) >= size.height)) {
        return "captchas.badPoint";
      }
    }
    return null;
  }
  if (kind === "slider") {
    if (!/^\d+$/.test(answer)) return "captchas.needX";
    if (size?.width && Number(answer) >= size.width) return "captchas.needX";
    return null;
  }
  if (!answer) return "captchas.needText";
  if (answer.length > TEXT_MAX) return "captchas.textTooLong";
  return null;
}

/**
 * What a new listing changes on the page: the ids to add (in the listing's order, newest
 * first) and those shown that it no longer holds (answered, given up).
 */
export function queueChanges(shownIds, items) {
  const listed = new Set(items.map((c) => c.id));
  const shown = new Set(shownIds);
  return {
    add: items.filter((c) => !shown.has(c.id)).map((c) => c.id),
    remove: [...shown].filter((id) => !listed.has(id)),
  };
}

/** Seconds a captcha has waited by now: its age when listed plus the time since. */
export function waited(captcha, listedAtMs, nowMs) {
  const age = Number(captcha?.age) || 0;
  return Math.max(0, age + Math.max(0, (nowMs - listedAtMs) / 1000));
}

/** The next wait before reading the queue again: the interval, doubled after each failure. */
export function nextDelay(base, failures, most) {
  return Math.min(most, base * 2 ** Math.min(failures, 10));
}
