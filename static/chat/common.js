// Shared by the chat, history and shared pages: configuration, the JWT (memory only), JSON calls, small DOM helpers.
(function () {
  "use strict";
  const CB = (window.CB = window.CB || {});
  const config = JSON.parse(document.getElementById("chatbox-config").textContent);
  CB.config = config;
  CB.prefix = config.prefix;
  CB.embedded = window.parent !== window;

  /** The plain-words text of an error code (the server's table), or the given fallback. */
  CB.errorText = function (code, fallback) {
    return (code && config.errors[code]) || fallback || "Something went wrong";
  };

  // --- the token: from ?token= or #token= (then removed from the address bar), or from the embedding parent ----
  let token = "";
  const tokenListeners = [];
  // Messages are accepted from our own origin (a mobile webview posting into the page) and the embed origins.
  const trusted = new Set([location.origin].concat(config.embedOrigins || []));

  CB.token = function () { return token; };
  CB.onToken = function (listener) { tokenListeners.push(listener); };

  function setToken(value) {
    if (typeof value !== "string" || !value || value === token) return;
    token = value;
    scheduleRefresh();
    tokenListeners.forEach(function (listener) { listener(value); });
  }

  function takeTokenFromAddress() {
    const query = new URLSearchParams(location.search);
    const hash = new URLSearchParams(location.hash.slice(1));
    const found = query.get("token") || hash.get("token") || "";
    if (query.has("token") || hash.has("token")) {
      query.delete("token");
      hash.delete("token");
      const q = query.toString(), h = hash.toString();
      history.replaceState(null, "", location.pathname + (q ? "?" + q : "") + (h ? "#" + h : ""));
    }
    return found;
  }

  /** Ask the embedding page for a token ("request_token") or a fresh one ("refresh_token"). */
  CB.askParent = function (kind) {
    if (!CB.embedded) return false;
    trusted.forEach(function (origin) {
      try { window.parent.postMessage({ type: kind }, origin); } catch (e) { /* malformed origin: skip */ }
    });
    return true;
  };

  window.addEventListener("message", function (event) {
    if (!trusted.has(event.origin)) return;
    if (event.source !== window.parent && event.source !== window) return;
    const data = event.data;
    if (data && data.type === "token") setToken(data.token);
  });

  function expiryOf(value) {
    try {
      const part = value.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const claims = JSON.parse(atob(part));
      return typeof claims.exp === "number" ? claims.exp * 1000 : 0;
    } catch (e) {
      return 0;
    }
  }
  /** What is wrong with the token as far as the page can tell: "malformed", "expired" or "" (looks fine). */
  CB.tokenProblem = function () {
    const parts = String(token || "").split(".");
    if (parts.length !== 3) return "malformed";
    try {
      JSON.parse(atob(parts[1].replace(/-/g, "+").replace(/_/g, "/")));
    } catch (e) {
      return "malformed";
    }
    return CB.tokenExpired() ? "expired" : "";
  };

  CB.tokenExpired = function () {
    const exp = expiryOf(token);
    return exp > 0 && exp <= Date.now();
  };

  let refreshTimer = 0;
  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    const exp = expiryOf(token);
    if (!exp || !CB.embedded) return;
    const wait = Math.max(exp - Date.now() - 60000, 5000);
    refreshTimer = setTimeout(function () { CB.askParent("refresh_token"); scheduleRefresh(); }, wait);
  }

  /** Call ready(token) once a token is known; with none after a few seconds, ready("") so the page can say so. */
  CB.start = function (ready) {
    const found = takeTokenFromAddress();
    if (found) {
      setToken(found);
      ready(found);
      return;
    }
    let done = false;
    const finish = function (value) { if (!done) { done = true; ready(value); } };
    CB.onToken(finish);
    if (CB.askParent("request_token")) setTimeout(function () { finish(""); }, 5000);
    else finish("");
  };

  // --- HTTP -------------------------------------------------------------------------------------------------
  /** Call a JSON route under the prefix with the Bearer token; rejects with Error(message, status). */
  CB.api = function (path, options) {
    const opts = Object.assign({ method: "GET" }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers || {});
    if (token) opts.headers.Authorization = "Bearer " + token;
    return fetch(CB.prefix + path, opts).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.ok) return body;
        const error = new Error(body.error || body.message || "Request failed (" + response.status + ")");
        error.status = response.status;
        throw error;
      });
    });
  };

  /** Go to another page of ours, carrying the token in the fragment (never sent to a server, stripped on load). */
  CB.navigate = function (path) {
    location.href = CB.prefix + path + (token ? "#token=" + encodeURIComponent(token) : "");
  };

  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("a[data-nav]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    const url = new URL(link.href);
    CB.navigate(url.pathname.slice(CB.prefix.length) + url.search);
  });

  // --- DOM and time helpers -----------------------------------------------------------------------------------
  CB.el = function (tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  };

  CB.clock = function (iso) {
    const moment = iso ? new Date(iso) : new Date();
    if (isNaN(moment.getTime()) || moment.getFullYear() < 1000) return "";
    return moment.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  };

  CB.relative = function (iso) {
    const moment = new Date(iso);
    const minutes = Math.floor((Date.now() - moment.getTime()) / 60000);
    if (isNaN(minutes)) return "";
    if (minutes < 1) return "Just now";
    if (minutes < 60) return minutes + (minutes === 1 ? " min ago" : " mins ago");
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return hours + (hours === 1 ? " hour ago" : " hours ago");
    const days = Math.floor(hours / 24);
    if (days < 7) return days + (days === 1 ? " day ago" : " days ago");
    return moment.toLocaleDateString([], { month: "short", day: "numeric", year: "numeric" });
  };

  /** Is this one of our own file URLs that still needs a signed link (no signature yet)? */
  CB.needsLink = function (url) {
    return !!url && url.indexOf(CB.prefix + "/files/") === 0 && !/[?&]sig=/.test(url);
  };

  /** A usable src for a stored file right away: a signed link of ours or another https URL; else none (our
   *  unsigned URLs go through CB.fileLink: the token never goes into a URL). */
  CB.fileSrc = function (url) {
    if (!url || CB.needsLink(url)) return "";
    if (url.indexOf(CB.prefix + "/files/") === 0) return url;
    return /^https:\/\//i.test(url) ? url : "";
  };

  /** Resolve one of our file URLs to a short-lived signed link (asked with the Bearer header). */
  CB.fileLink = function (url) {
    const id = url.slice((CB.prefix + "/files/").length).split(/[?#]/)[0];
    return CB.api("/files/" + encodeURIComponent(id) + "/link").then(function (body) { return body.url; });
  };
})();
