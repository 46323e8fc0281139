// Chatbox embed: one <script src=".../embed.js" data-mode="button|inline"> on a host page opens the chat in an
// iframe and hands it the user's JWT over postMessage (never in the URL), checking origins both ways.
//   data-token="<jwt>"               a token known when the page is rendered, or
//   data-token-callback="fnName"     window[fnName]() returning a token or a Promise of one (called again for
//                                    refreshes before expiry)
//   data-mode="button" | "inline"    floating button that opens a panel (default), or inline in data-target
//   data-target="#css-selector"      where the inline iframe goes (default: right after the script)
//   data-title="Chat with us"        button label and iframe title
// window.ChatboxEmbed.setToken(jwt) pushes a new token at any time; .open() / .close() drive the panel.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var src = new URL(script.src, location.href);
  var chatOrigin = src.origin;
  var base = src.pathname.replace(/\/embed\.js$/, "");
  var mode = script.getAttribute("data-mode") === "inline" ? "inline" : "button";
  var title = script.getAttribute("data-title") || "Chat";
  var token = script.getAttribute("data-token") || "";
  var callbackName = script.getAttribute("data-token-callback") || "";

  var frame = document.createElement("iframe");
  frame.src = chatOrigin + base + "/";
  frame.title = title;
  frame.className = "chatbox-embed-frame";
  frame.setAttribute("allow", "microphone; camera; clipboard-write");
  frame.style.border = "0";

  function fetchToken() {
    var callback = callbackName && window[callbackName];
    if (typeof callback !== "function") return Promise.resolve(token);
    return Promise.resolve(callback()).then(function (fresh) { if (fresh) token = fresh; return token; });
  }

  function post(value) {
    if (value && frame.contentWindow) frame.contentWindow.postMessage({ type: "token", token: value }, chatOrigin);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== chatOrigin || event.source !== frame.contentWindow) return;
    var kind = event.data && event.data.type;
    if (kind === "request_token" || kind === "refresh_token") fetchToken().then(post);
  });

  var panel = null, button = null;
  function open() { if (panel) { panel.hidden = false; button.setAttribute("aria-expanded", "true"); } }
  function close() { if (panel) { panel.hidden = true; button.setAttribute("aria-expanded", "false"); } }

  function mountButton() {
    panel = document.createElement("div");
    panel.className = "chatbox-embed-panel";
    panel.hidden = true;
    panel.style.cssText = "position:fixed;right:16px;bottom:80px;width:min(400px,calc(100vw - 32px));" +
      "height:min(600px,calc(100vh - 100px));box-shadow:0 8px 30px rgba(0,0,0,.25);border-radius:12px;" +
      "overflow:hidden;background:#fff;z-index:2147483000";
    frame.style.width = "100%";
    frame.style.height = "100%";
    panel.appendChild(frame);
    button = document.createElement("button");
    button.type = "button";
    button.className = "chatbox-embed-button";
    button.textContent = title;
    button.setAttribute("aria-expanded", "false");
    button.style.cssText = "position:fixed;right:16px;bottom:16px;padding:12px 18px;border-radius:24px;border:0;" +
      "background:#2454d6;color:#fff;font:600 15px system-ui,sans-serif;cursor:pointer;z-index:2147483001";
    button.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
    document.body.appendChild(panel);
    document.body.appendChild(button);
  }

  function mountInline() {
    var selector = script.getAttribute("data-target");
    var target = selector ? document.querySelector(selector) : null;
    frame.style.width = "100%";
    frame.style.height = script.getAttribute("data-height") || "600px";
    if (target) target.appendChild(frame);
    else script.parentNode.insertBefore(frame, script.nextSibling);
  }

  function mount() { if (mode === "inline") mountInline(); else mountButton(); }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.ChatboxEmbed = {
    setToken: function (value) { token = value; post(value); },
    open: open,
    close: close,
    frame: frame,
  };
})();
