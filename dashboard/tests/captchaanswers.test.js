// What the Captchas page sends (src/captchaanswers.js; node --test, run by
// tests/dashboard/test_units.py): clicks on a scaled image in the image's own pixels, the
// answers as crawler/service/captcha_api.py takes them, and the queue's changes.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  POINTS_MAX,
  addPoint,
  answerOf,
  answerProblem,
  clickAnswer,
  imagePoint,
  kindOf,
  markerPlace,
  nextDelay,
  piecePlace,
  queueChanges,
  sliderMax,
  sliderX,
  waited,
} from "../src/captchaanswers.js";

const IMAGE = { width: 100, height: 40 };

test("a click on an image shown larger or smaller is in the image's own pixels", () => {
  // shown 4 times larger (400 × 160 CSS pixels): (200, 80) is the image's (50, 20)
  assert.deepEqual(imagePoint(200, 80, { width: 400, height: 160 }, IMAGE), { x: 50, y: 20 });
  assert.deepEqual(imagePoint(203.9, 83.9, { width: 400, height: 160 }, IMAGE), { x: 50, y: 20 });
  // shown at half its size
  assert.deepEqual(imagePoint(10, 5, { width: 50, height: 20 }, IMAGE), { x: 20, y: 10 });
  // the edges stay in the image
  assert.deepEqual(imagePoint(400, 160, { width: 400, height: 160 }, IMAGE), { x: 99, y: 39 });
  assert.deepEqual(imagePoint(-3, -1, { width: 400, height: 160 }, IMAGE), { x: 0, y: 0 });
  // nothing known yet (image not loaded): no point
  assert.equal(imagePoint(1, 1, { width: 0, height: 0 }, IMAGE), null);
  assert.equal(imagePoint(1, 1, { width: 10, height: 10 }, { width: 0, height: 0 }), null);
});

test("a marker sits on the middle of its pixel, in percent of the image", () => {
  assert.deepEqual(markerPlace({ x: 49.5, y: 19.5 }, IMAGE), { left: 50, top: 50 });
  const { left } = markerPlace({ x: 0, y: 0 }, IMAGE);
  assert.equal(left, 0.5);
});

test("click answers: points in order, at most ten", () => {
  let points = [];
  for (let i = 0; i < POINTS_MAX + 2; i += 1) points = addPoint(points, { x: i, y: i * 2 });
  assert.equal(points.length, POINTS_MAX);
  assert.equal(addPoint([], null).length, 0);
  assert.equal(
    clickAnswer([
      { x: 10, y: 20 },
      { x: 30, y: 5 },
    ]),
    "10,20;30,5",
  );
  assert.equal(answerOf("click", [{ x: 1, y: 2 }]), "1,2");
  assert.equal(answerOf("click", []), "");
});

test("a slider's x: whole pixels within the image, its piece in percent", () => {
  assert.equal(sliderX("41.6", 100), 42);
  assert.equal(sliderX("250", 100), 99);
  assert.equal(sliderX("-4", 100), 0);
  assert.equal(sliderX("x", 100), 0);
  assert.equal(sliderMax(100, 12), 88);
  assert.equal(sliderMax(100, 0), 99);
  assert.equal(sliderMax(0, 12), 0);
  assert.deepEqual(piecePlace(25, 10, 100), { left: 25, width: 10 });
  assert.deepEqual(piecePlace(5, 10, 0), { left: 0, width: 0 });
  assert.equal(answerOf("slider", 42), "42");
});

test("answers are checked as the service checks them", () => {
  assert.equal(answerOf("text", "  K7PX "), "K7PX");
  assert.equal(answerProblem("text", "K7PX", IMAGE), null);
  assert.equal(answerProblem("text", "", IMAGE), "captchas.needText");
  assert.equal(answerProblem("text", "x".repeat(101), IMAGE), "captchas.textTooLong");
  assert.equal(answerProblem("click", "", IMAGE), "captchas.needPoint");
  assert.equal(answerProblem("click", "10,20;99,39", IMAGE), null);
  assert.equal(answerProblem("click", "100,20", IMAGE), "captchas.badPoint");
  assert.equal(answerProblem("click", "1,2,3", IMAGE), "captchas.badPoint");
  assert.equal(
    answerProblem("click", Array(11).fill("1,1").join(";"), IMAGE),
    "captchas.tooManyPoints",
  );
  assert.equal(answerProblem("slider", "42", IMAGE), null);
  assert.equal(answerProblem("slider", "100", IMAGE), "captchas.needX");
  assert.equal(answerProblem("slider", "", IMAGE), "captchas.needX");
  assert.equal(answerProblem("slider", "7", { width: 0, height: 0 }), null); // size unknown
});

test("an unknown kind is shown as a text captcha", () => {
  assert.equal(kindOf({ kind: "click" }), "click");
  assert.equal(kindOf({ kind: "rotate" }), "text");
  assert.equal(kindOf({}), "text");
});

test("a new listing adds the new captchas newest first and takes the answered away", () => {
  const items = [{ id: "c" }, { id: "b" }, { id: "a" }];
  assert.deepEqual(queueChanges(["b", "z"], items), { add: ["c", "a"], remove: ["z"] });
  assert.deepEqual(queueChanges([], []), { add: [], remove: [] });
});

test("how long a captcha has waited, and how long until the next read", () => {
  assert.equal(waited({ age: 10 }, 1000, 4000), 13);
  assert.equal(waited({}, 1000, 500), 0);
  assert.equal(nextDelay(3000, 0, 60000), 3000);
  assert.equal(nextDelay(3000, 2, 60000), 12000);
  assert.equal(nextDelay(3000, 50, 60000), 60000);
});
