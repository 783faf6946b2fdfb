// The embedded WeChat QR code's frame URL carries WxLogin's parameters, as wxLogin.js builds it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { wxLoginUrl } from "../src/wxlogin.js";

test("the frame URL is WeChat's qrconnect with WxLogin's parameters", () => {
  const url = wxLoginUrl("https://open.weixin.qq.com", {
    appid: "wx0123456789abcdef",
    scope: "snsapi_login",
    redirect_uri: "https://crawler.example.com/api/auth/wechat/callback",
    state: "0123456789abcdef0123456789abcdef",
    style: "white",
    href: "https://crawler.example.com/wxqr.css",
  });
  assert.equal(
    url,
    "https://open.weixin.qq.com/connect/qrconnect?appid=wx0123456789abcdef&scope=snsapi_login" +
      "&redirect_uri=https%3A%2F%2Fcrawler.example.com%2Fapi%2Fauth%2Fwechat%2Fcallback" +
      "&state=0123456789abcdef0123456789abcdef&login_type=jssdk&self_redirect=default" +
      "&style=white&href=https%3A%2F%2Fcrawler.example.com%2Fwxqr.css",
  );
});

test("style and href are left out when not set", () => {
  const url = wxLoginUrl("http://127.0.0.1:9", {
    appid: "wx1",
    scope: "snsapi_login",
    redirect_uri: "http://127.0.0.1:8/cb",
    state: "s",
  });
  assert.ok(url.endsWith("&state=s&login_type=jssdk&self_redirect=default"), url);
});
