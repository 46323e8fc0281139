// The chat page: frames in, bubbles out; the composer, model selector, help, takeover banner, share and new chat.
(function () {
  "use strict";
  const CB = window.CB;
  const $ = function (id) { return document.getElementById(id); };
  const params = new URLSearchParams(location.search);
  const state = { sid: "", lastSeq: 0, models: [], modelId: "", admin: "", name: "", readOnly: false, queue: [],
    unconfirmed: new Map() };  // client_msg_id -> frame sent but not yet echoed back as stored
  const view = new CB.Messages($("messages-container"), $("announcer"));
  const input = $("message-input");
  const socket = new CB.ChatSocket({
    position: function () { return { sid: state.sid, lastSeq: state.lastSeq }; },
    onOpen: onOpen, onFrame: onFrame, onState: showConnection,
  });

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(16) + Math.random().toString(16).slice(2);
  }

  function remember(sid, modelId) {
    try { if (sid) localStorage.setItem("chatbox.model." + sid, modelId); } catch (e) { /* storage blocked */ }
  }

  function remembered(sid) {
    try { return sid ? localStorage.getItem("chatbox.model." + sid) : null; } catch (e) { return null; }
  }

  // --- what the page shows ------------------------------------------------------------------------------------
  function showConnection(kind, text, why) {
    $("status-indicator").className = "indicator " + kind;
    $("status-text").textContent = text;
    document.body.dataset.connection = kind;
    if (why === "signin") setInputEnabled(false, text.replace(/^Offline — /, ""));
    else if (kind === "connected") setInputEnabled(true, "");
    if (kind !== "connected") setStreaming(false);
  }

  // Without a valid sign-in nothing typed could be sent: say so in the box and disable it until a new token.
  function setInputEnabled(on, reason) {
    ["message-input", "send-btn", "file-upload-btn", "camera-btn", "voice-btn", "help-btn"].forEach(function (id) {
      $(id).disabled = !on || (id === "help-btn" && (!!state.admin || state.helpPending));
    });
    input.placeholder = on ? "Type a message…" : "You cannot write: " + reason;
  }

  function setTitle(name) {
    state.name = name || "";
    $("session-title").textContent = state.name || "New chat";
    document.title = (state.name || "New chat") + " · Chat";
  }

  function setTyping(show) { $("typing-indicator").hidden = !show; }

  // While a reply streams, Send becomes Stop (Enter in the box still sends text).
  function setStreaming(on) {
    state.streaming = on;
    const button = $("send-btn");
    button.textContent = on ? "Stop" : "Send";
    button.classList.toggle("stop", on);
    button.setAttribute("aria-label", on ? "Stop the reply" : "Send");
  }

  function setHelp(pending) {
    state.helpPending = pending;
    $("help-status").hidden = !pending;
    $("help-btn").disabled = pending;
    $("help-btn").textContent = pending ? "Help requested" : "Need help?";
  }

  // While a person assists, asking for one makes no sense: the button goes away until they hand back.
  function setAdmin(name) {
    state.admin = name;
    $("admin-name").textContent = name;
    $("admin-name-display").hidden = !name;
    $("help-btn").hidden = !!name || state.readOnly;
    if (name) setHelp(false);
    renderModels();
  }

  function renderModels() {
    const box = $("model-selector-container"), select = $("model-selector");
    box.hidden = state.models.length < 2 || !!state.admin || state.readOnly;
    const ids = state.models.map(function (m) { return m.id; }).join("\n");
    if (select.dataset.ids !== ids) {
      select.textContent = "";
      state.models.forEach(function (m) { select.appendChild(CB.el("option", { value: m.id, text: m.name || m.id })); });
      select.dataset.ids = ids;
    }
    if (state.modelId) select.value = state.modelId;
  }

  // One request per session for its name, and one more only if it had none yet when a new message arrived.
  function loadName() {
    const sid = state.sid;
    if (!sid || state.nameLoading === sid || (state.nameOf === sid && state.name)) return;
    state.nameLoading = sid;
    CB.api("/sessions/" + encodeURIComponent(sid)).then(function (body) {
      if (state.nameLoading === sid) state.nameLoading = "";
      state.nameOf = sid;
      if (state.sid === sid && body.name) setTitle(body.name);
    }, function () { if (state.nameLoading === sid) state.nameLoading = ""; });
  }

  function adopt(sid) {
    if (state.sid && state.sid !== sid) { view.forgetSeqs(); state.lastSeq = 0; }
    state.sid = sid;
    if (state.pendingModel) { remember(sid, state.pendingModel); state.pendingModel = ""; }
    loadName();
  }

  function sessionEnded() {
    view.system("This conversation has ended. Your next message starts a new one.");
    view.forgetSeqs();
    state.sid = "";
    state.lastSeq = 0;
    setTitle("");
  }

  // --- frames from the server ---------------------------------------------------------------------------------
  function bump(seq) { if (typeof seq === "number" && seq > state.lastSeq) state.lastSeq = seq; }

  function onStatus(frame, first) {
    const meta = frame.metadata || {};
    if (frame.models && frame.models.length) state.models = frame.models;
    if (frame.model_id) state.modelId = frame.model_id;
    if (frame.session_id && frame.session_id !== state.sid) adopt(frame.session_id);
    else if (!frame.session_id && first && state.sid) sessionEnded();
    if (first) {
      setAdmin(meta.admin_name || "");
      setHelp(meta.help_requested === "true" && !meta.admin_name);
      const stored = remembered(state.sid);
      if (stored && stored !== state.modelId && state.models.some(function (m) { return m.id === stored; })) {
        state.modelId = stored;
        socket.send({ type: "model_select", model_id: stored, sender: "user" });
      }
    } else if (meta.help_requested === "true") {
      setHelp(true);
    }
    // The help acknowledgement is the banner; the same words as a line in the conversation would say it twice.
    if (frame.content && !(meta.help_requested === "true" && !first)) view.system(frame.content);
    renderModels();
  }

  function onReply(frame) {
    const meta = frame.metadata || {};
    if (frame.sender === "admin" || meta.streaming !== "true") {
      setTyping(false);
      view.complete(frame);
      bump(frame.seq);
      return;
    }
    if (frame.content || meta.done === "true") setTyping(false);
    setStreaming(meta.done !== "true");
    view.streamFrame(frame);
    if (meta.done === "true") bump(frame.seq);
  }

  function errorLine(error) {
    const text = CB.errorText(error && error.code, error && error.message);
    const wait = error && error.retry_after ? " (try again in " + Math.ceil(error.retry_after / 1000) + " s)" : "";
    return text + wait;
  }

  function onFrame(frame, first) {
    if (frame.session_id && frame.session_id !== state.sid && frame.type !== "connection_status") adopt(frame.session_id);
    switch (frame.type) {
      case "connection_status": onStatus(frame, first); break;
      case "loading": if (!state.admin) { setTyping(true); setStreaming(true); } break;
      case "ai_response": onReply(frame); break;
      case "user_message": case "file_upload": case "voice_message":
        state.unconfirmed.delete((frame.metadata || {}).client_msg_id);
        view.complete(frame);
        bump(frame.seq);
        if (!state.name) loadName();
        break;
      case "admin_join":
        setAdmin((frame.metadata || {}).admin_name || "an administrator");
        setTyping(false);
        setStreaming(false);
        view.system(frame.content || "An administrator has joined the conversation");
        break;
      case "admin_leave":
        setAdmin("");
        view.system(frame.content || "The administrator has left the conversation");
        break;
      case "error": setTyping(false); setStreaming(false); view.system(errorLine(frame.error), "error"); break;
      case "notification": view.system(frame.content, "notice"); break;
      default: break;
    }
  }

  function onOpen() {
    view.resuming();
    const waiting = state.queue;
    state.queue = [];
    waiting.forEach(deliver);
    // Sent before a drop but never confirmed: send again; the server stores a client_msg_id only once.
    state.unconfirmed.forEach(function (frame) { if (waiting.indexOf(frame) < 0) deliver(frame); });
  }

  // --- what the user does -------------------------------------------------------------------------------------
  function deliver(frame) {
    if (!socket.send(frame)) state.queue.push(frame);
  }

  function sendText() {
    const text = input.value.trim();
    if (!text || state.readOnly) return;
    input.value = "";
    const id = newId();
    view.pending({ sender: "user", content: text }, id);
    const frame = { type: "user_message", sender: "user", content: text, metadata: { client_msg_id: id } };
    state.unconfirmed.set(id, frame);
    deliver(frame);
  }

  function showProgress(percent) {
    $("upload-progress").hidden = false;
    $("progress-fill").style.width = percent + "%";
    document.querySelector("#upload-progress .progress-bar").setAttribute("aria-valuenow", String(percent));
    $("progress-text").textContent = "Uploading… " + percent + "%";
  }

  function sendFile(file, kind) {
    if (!file || state.readOnly) return;
    showProgress(0);
    CB.upload(file, state.sid, showProgress).then(function (stored) {
      $("upload-progress").hidden = true;
      const id = newId();
      const meta = { filename: stored.name || file.name, size: String(stored.size || file.size),
        type: stored.mime || file.type || "", client_msg_id: id };
      const frame = { type: kind === "voice" ? "voice_message" : "file_upload", sender: "user", content: "",
        file_id: stored.file_id, file_url: stored.file_url, metadata: meta };
      view.pending(Object.assign({ localUrl: URL.createObjectURL(file) }, frame), id);
      state.unconfirmed.set(id, frame);
      deliver(frame);
    }, function (error) {
      $("upload-progress").hidden = true;
      view.system(error.message, "error");
    });
  }

  const recorder = new CB.VoiceRecorder({
    onTick: function (seconds) {
      const whole = Math.floor(seconds);
      $("recording-time").textContent = Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
    },
    onLevel: function (level) { $("voice-level").value = level; },
  });

  function setRecording(on) {
    $("voice-recording").hidden = !on;
    $("voice-btn").classList.toggle("recording", on);
    $("voice-btn").setAttribute("aria-pressed", on ? "true" : "false");
    if (on) $("recording-time").textContent = "0:00";
  }

  function toggleVoice() {
    if (recorder.recording()) { stopVoice(); return; }
    recorder.start().then(function () { setRecording(true); }, function (error) { view.system(error.message, "error"); });
  }

  function stopVoice() {
    setRecording(false);
    recorder.stop().then(function (file) { sendFile(file, "voice"); });
  }

  function askHelp() {
    if (state.admin) { view.system("An administrator is already with you."); return; }
    $("help-dialog").showModal();
  }

  function helpAnswered() {
    if ($("help-dialog").returnValue !== "confirm") return;
    if (!state.sid) { view.system("Start a conversation first, then ask for help.", "error"); return; }
    setHelp(true);
    deliver({ type: "help_request", sender: "user" });
  }

  function share() {
    if (!state.sid || !view.count()) { view.system("Start a conversation first — there's nothing to share yet"); return; }
    CB.api("/sessions/" + encodeURIComponent(state.sid) + "/share", { method: "POST" }).then(function (body) {
      $("share-url").value = location.origin + CB.prefix + "/s/" + encodeURIComponent(body.share_token);
      $("share-copied").textContent = "";
      $("share-expiry").textContent = body.expires_at
        ? "Anyone with the link can read this conversation until " + new Date(body.expires_at).toLocaleString() + "."
        : "";
      $("share-dialog").showModal();
      $("share-url").select();
    }, function (error) { view.system("Failed to share the conversation: " + error.message, "error"); });
  }

  /** Withdraw the link: it then answers like one that never existed, and so do the files it showed. */
  function revokeLink() {
    CB.api("/sessions/" + encodeURIComponent(state.sid) + "/share", { method: "DELETE" }).then(function () {
      $("share-url").value = "";
      $("share-expiry").textContent = "";
      $("share-copied").textContent = "Link withdrawn";
    }, function (error) { $("share-copied").textContent = "Could not withdraw the link: " + error.message; });
  }

  function copyLink() {
    const url = $("share-url");
    const copied = function () { $("share-copied").textContent = "Copied!"; };
    const fallback = function () { url.select(); document.execCommand("copy"); copied(); };
    if (navigator.clipboard) navigator.clipboard.writeText(url.value).then(copied, fallback);
    else fallback();
  }

  function newChat() {
    const sid = state.sid, wasReadOnly = state.readOnly;
    const fresh = function () {
      view.clear();
      state.sid = "";
      state.lastSeq = 0;
      state.queue = [];
      setTitle("");
      setAdmin("");
      setHelp(false);
      readOnly(false);
      socket.restart();
      input.focus();
    };
    socket.stop();
    if (sid && !wasReadOnly) CB.api("/sessions/" + encodeURIComponent(sid) + "/end", { method: "POST" }).then(fresh, fresh);
    else fresh();
  }

  function readOnly(on) {
    state.readOnly = on;
    document.body.classList.toggle("readonly", on);
    $("input-area").hidden = on;
    $("readonly-bar").hidden = !on;
    $("help-btn").hidden = on;
    renderModels();
  }

  function openEnded(sid) {
    readOnly(true);
    state.sid = sid;
    showConnection("offline", "Ended conversation (read-only)");
    CB.api("/sessions/" + encodeURIComponent(sid)).then(function (body) {
      setTitle(body.name);
      body.messages.forEach(function (m) { view.complete(CB.Messages.fromStored(m)); });
    }, function (error) { view.system(error.message, "error"); });
  }

  function wire() {
    $("input-area").addEventListener("submit", function (event) {
      event.preventDefault();
      if (state.streaming && event.submitter === $("send-btn")) deliver({ type: "stop_reply", sender: "user" });
      else sendText();
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); sendText(); }
    });
    $("file-upload-btn").addEventListener("click", function () { $("file-input").click(); });
    $("camera-btn").addEventListener("click", function () { $("camera-input").click(); });
    ["file-input", "camera-input"].forEach(function (id) {
      $(id).addEventListener("change", function () { sendFile(this.files[0], "file"); this.value = ""; });
    });
    $("voice-btn").addEventListener("click", toggleVoice);
    $("stop-recording-btn").addEventListener("click", stopVoice);
    $("cancel-recording-btn").addEventListener("click", function () { recorder.cancel(); setRecording(false); });
    $("help-btn").addEventListener("click", askHelp);
    $("help-dialog").addEventListener("close", helpAnswered);
    $("share-btn").addEventListener("click", share);
    $("share-copy-btn").addEventListener("click", copyLink);
    $("share-revoke-btn").addEventListener("click", revokeLink);
    $("new-chat-btn").addEventListener("click", newChat);
    $("readonly-new-btn").addEventListener("click", newChat);
    $("model-selector").addEventListener("change", function () {
      state.modelId = this.value;
      if (state.sid) remember(state.sid, this.value);
      else state.pendingModel = this.value;
      deliver({ type: "model_select", model_id: this.value, sender: "user" });
    });
  }

  wire();
  CB.start(function (token) {
    if (!token) {
      showConnection("offline", "No authentication token");
      $("input-area").hidden = true;
      return;
    }
    const sid = params.get("session_id") || "";
    if (sid && params.get("view") === "read") { openEnded(sid); return; }
    state.sid = sid;
    socket.connect();
    // A fresh token from the parent (before expiry, or after a refused connection) is used at once if offline.
    CB.onToken(function () { if (!state.readOnly && !socket.open()) socket.reconnectNow(); });
  });
})();
