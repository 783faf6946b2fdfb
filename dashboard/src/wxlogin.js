// WeChat's QR-code login shown in the sign-in page itself, as WeChat's WxLogin (wxLogin.js) does
// it, without loading WeChat's script: a frame of WeChat's qrconnect page with the same URL
// parameters (appid, scope, redirect_uri, state, login_type=jssdk, self_redirect, style, href).
// The frame's content comes from WeChat; when the person confirms on the phone, WeChat sends this
// window (the top one: self_redirect=default) to the service's callback, as in the redirect flow.

/**
 * The frame's URL: `origin` is WeChat's (https://open.weixin.qq.com), `params` what
 * GET /api/auth/{provider}/embed answered (appid, scope, redirect_uri, state, style, href).
 */
export function wxLoginUrl(origin, params) {
  const enc = encodeURIComponent;
  let url =
    `${origin}/connect/qrconnect?appid=${enc(params.appid)}&scope=${enc(params.scope)}` +
    `&redirect_uri=${enc(params.redirect_uri)}&state=${enc(params.state)}` +
    "&login_type=jssdk&self_redirect=default";
  if (params.style) url += `&style=${enc(params.style)}`;
  if (params.href) url += `&href=${enc(params.href)}`;
  return url;
}

/** The frame element (300 × 400, as WxLogin makes it). */
export function wxLoginFrame(params) {
  const frame = document.createElement("iframe");
  frame.src = wxLoginUrl(params.origin, params);
  frame.title = "WeChat";
  frame.width = "300";
  frame.height = "400";
  frame.setAttribute("frameborder", "0");
  frame.setAttribute("scrolling", "no");
  frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-top-navigation");
  return frame;
}
