// The WebSocket connection: connect with the session and the last seq seen, reconnect with exponential backoff and
// jitter (fast after a server restart, 1012/1013), and report the state in plain words.
(function () {
  "use strict";
  const CB = (window.CB = window.CB || {});
  const MAX_DELAY = 30000;

  /**
   * hooks: position() -> {sid, lastSeq}; onOpen(); onFrame(frame, isFirst); onState(state, text) where state is
   * "connecting" | "connected" | "reconnecting" | "offline".
   */
  function ChatSocket(hooks) {
    this.hooks = hooks;
    this.ws = null;
    this.attempt = 0;
    this.timer = 0;
    this.stopped = false;
    const self = this;
    window.addEventListener("offline", function () {
      self.state("offline", "Offline — waiting for the network");
      if (self.ws) self.ws.close(4000, "offline");
    });
    window.addEventListener("online", function () { self.reconnectNow(); });
  }

  ChatSocket.prototype.state = function (state, text, why) {
    this.current = state;
    this.hooks.onState(state, text, why || "");
  };

  ChatSocket.prototype.url = function () {
    const position = this.hooks.position();
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let url = scheme + location.host + CB.prefix + "/ws?token=" + encodeURIComponent(CB.token());
    if (position.sid) url += "&session_id=" + encodeURIComponent(position.sid);
    return url + "&last_seq=" + (position.lastSeq || 0);
  };

  ChatSocket.prototype.connect = function () {
    clearTimeout(this.timer);
    this.stopped = false;
    if (!navigator.onLine) { this.state("offline", "Offline — waiting for the network"); return; }
    if (this.attempt === 0) this.state("connecting", "Connecting…");
    const ws = new WebSocket(this.url());
    const self = this;
    let opened = false, first = true;
    this.ws = ws;
    ws.onopen = function () {
      opened = true;
      self.attempt = 0;
      self.state("connected", "Connected");
      self.hooks.onOpen();
    };
    ws.onmessage = function (event) {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      self.hooks.onFrame(frame, first);
      first = false;
    };
    ws.onclose = function (event) {
      if (self.ws !== ws) return;
      self.ws = null;
      if (self.stopped) return;
      if (!opened) { self.refused(); return; }
      self.retry(event.code === 1012 || event.code === 1013);
    };
  };

  ChatSocket.prototype.retry = function (soon, reason) {
    if (!navigator.onLine) { this.state("offline", "Offline — waiting for the network"); return; }
    const base = soon && this.attempt === 0 ? 500 : Math.min(1000 * Math.pow(2, this.attempt), MAX_DELAY);
    const delay = Math.round(base / 2 + Math.random() * base / 2);
    this.attempt += 1;
    const seconds = Math.max(Math.ceil(delay / 1000), 1);
    this.state("reconnecting", (reason ? reason + " · " : "") + "Reconnecting in " + seconds + "s…");
    const self = this;
    this.timer = setTimeout(function () { self.connect(); }, delay);
  };

  // The browser hides the handshake status (401, 429, 503); ask the server why, and say it in plain words.
  ChatSocket.prototype.refused = function () {
    const self = this;
    if (CB.tokenProblem()) { this.signInProblem(); return; }
    CB.api("/ws/admission").then(function () {
      self.retry(false);
    }, function (error) {
      if (error.status === 401) self.signInProblem();
      else self.retry(false, error.status === 429 || error.status === 503 ? error.message : "");
    });
  };

  // Say what is wrong with the sign-in; the page disables input until a new token arrives (state "signin").
  ChatSocket.prototype.signInProblem = function () {
    const problem = CB.tokenProblem();
    const text = problem === "expired" ? "Offline — your sign-in has expired"
      : problem === "malformed" ? "Offline — the sign-in link is damaged (its token cannot be read)"
      : "Offline — this sign-in was not accepted by the server";
    this.state("offline", text, "signin");
    if (CB.askParent("refresh_token")) return;  // the new token triggers reconnectNow
  };

  ChatSocket.prototype.reconnectNow = function () {
    if (this.stopped) return;
    if (this.ws && this.ws.readyState <= 1) return;
    this.attempt = 0;
    this.connect();
  };

  /** Close and connect again at once (a new chat, or the session id changed under us). */
  ChatSocket.prototype.restart = function () {
    this.stop();
    this.attempt = 0;
    this.connect();
  };

  ChatSocket.prototype.stop = function () {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, "");
    }
  };

  ChatSocket.prototype.open = function () { return !!this.ws && this.ws.readyState === 1; };

  ChatSocket.prototype.send = function (frame) {
    if (!this.open()) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  };

  CB.ChatSocket = ChatSocket;
})();
