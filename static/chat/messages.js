// The conversation view: one bubble per stored message, keyed by seq so nothing is shown twice, plus the streaming
// bubble of a reply in progress (its chunks numbered, so a resumed stream neither loses nor repeats text).
(function () {
  "use strict";
  const CB = (window.CB = window.CB || {});
  const IMAGE = /\.(png|jpe?g|gif|webp|heic|bmp)$/i;
  const AUDIO = /\.(webm|ogg|mp3|m4a|wav|aac|opus)$/i;

  function Messages(container, announcer) {
    this.container = container;
    this.announcer = announcer;
    this.bySeq = new Map();
    this.byClientId = new Map();
    this.streams = new Map();
  }

  Messages.prototype.clear = function () {
    this.bySeq.clear();
    this.byClientId.clear();
    this.streams.clear();
    Array.from(this.container.querySelectorAll(".message")).forEach(function (node) { node.remove(); });
    this.hint(true);
  };

  /** Forget seq bookkeeping (a different session starts) but keep what is on screen. */
  Messages.prototype.forgetSeqs = function () {
    this.bySeq.clear();
    this.streams.clear();
  };

  Messages.prototype.hint = function (show) {
    const hint = this.container.querySelector("#empty-hint");
    if (hint) hint.hidden = !show;
  };

  Messages.prototype.count = function () { return this.container.querySelectorAll(".message").length; };

  Messages.prototype.announce = function (text) {
    if (this.announcer) this.announcer.textContent = text.length > 300 ? text.slice(0, 300) + "…" : text;
  };

  Messages.prototype.scroll = function () {
    const box = this.container;
    box.scrollTop = box.scrollHeight;
  };

  Messages.prototype.bubble = function (sender, label, timestamp) {
    const time = CB.el("time", { datetime: timestamp || new Date().toISOString(), text: CB.clock(timestamp) });
    const meta = CB.el("div", { className: "message-meta" }, [CB.el("span", { className: "who", text: label }), time]);
    const content = CB.el("div", { className: "message-content" });
    const node = CB.el("article", { className: "message " + sender }, [meta, content]);
    this.hint(false);
    this.container.appendChild(node);
    this.scroll();
    return node;
  };

  function labelOf(frame) {
    const meta = frame.metadata || {};
    if (frame.sender === "admin") return (meta.admin_name || "Support") + " (support)";
    if (frame.sender === "ai") return "Assistant";
    if (frame.sender === "system") return "Notice";
    return "You";
  }

  Messages.prototype.fill = function (node, frame) {
    const content = node.querySelector(".message-content");
    const meta = frame.metadata || {};
    // Every side gets the same safe subset (escaped first), so "**bold**" reads the same in every bubble.
    content.innerHTML = CB.markdown(frame.content);
    if (frame.file_url || frame.file_id) content.insertBefore(attachment(frame), content.firstChild);
    if (meta.transcript) content.appendChild(CB.el("p", { className: "transcript", text: "“" + meta.transcript + "”" }));
    if (meta.interrupted === "true") node.classList.add("interrupted");
  };

  /** A repeat of a shown message (same seq) may bring its voice transcript: show it under the audio, once. */
  Messages.prototype.amend = function (node, frame) {
    const transcript = (frame.metadata || {}).transcript;
    if (!transcript || node.querySelector(".transcript")) return;
    node.querySelector(".message-content").appendChild(CB.el("p", { className: "transcript", text: "“" + transcript + "”" }));
    this.announce("Transcript: " + transcript);
  };

  function attachment(frame) {
    const meta = frame.metadata || {};
    const name = meta.filename || "attachment";
    const type = meta.type || meta.mime_type || "";
    const pending = !frame.localUrl && CB.needsLink(frame.file_url || "");
    const src = frame.localUrl || CB.fileSrc(frame.file_url || "");
    const voice = frame.type === "voice_message" || meta.kind === "voice";
    const node = element(src, pending, name, type, voice);
    if (pending) {
      CB.fileLink(frame.file_url).then(function (signed) { point(node, signed); }, function () {
        node.replaceWith(CB.el("span", { className: "message-file", text: "📎 " + name }));  // gone, or not ours
      });
    }
    return node;
  }

  /** Point an attachment (audio, linked image or plain link) at its URL. */
  function point(node, url) {
    if (node.tagName === "AUDIO") { node.src = url; return; }
    const link = node.tagName === "A" ? node : node.querySelector("a");
    if (link) link.href = url;
    const image = node.querySelector("img");
    if (image) image.src = url;
  }

  /** The attachment element; when ``pending`` it has no src or href yet (point() sets them). */
  function element(src, pending, name, type, voice) {
    if (!src && !pending) return CB.el("span", { className: "message-file", text: "📎 " + name });
    let node;
    if (voice || type.indexOf("audio/") === 0 || AUDIO.test(name)) {
      node = CB.el("audio", { controls: "", preload: "metadata", "aria-label": voice ? "Voice note" : name });
    } else if (type.indexOf("image/") === 0 || IMAGE.test(name)) {
      // A fixed-size thumbnail (so the view does not jump when it loads) with its name; a click opens it whole.
      const link = CB.el("a", { className: "photo-link", target: "_blank", rel: "noopener noreferrer",
        "aria-label": "Open " + name + " full size", "data-name": name },
      [CB.el("img", { className: "thumb", alt: name, width: "200", height: "150" })]);
      node = CB.el("figure", { className: "photo" }, [link, CB.el("figcaption", { text: name })]);
    } else {
      node = CB.el("a", { className: "message-file", target: "_blank", rel: "noopener", text: "📎 " + name });
    }
    if (src) point(node, src);
    return node;
  }

  /** Show a message the user just sent, before the server confirms it (matched later by client_msg_id). */
  Messages.prototype.pending = function (frame, clientId) {
    const node = this.bubble("user", "You", null);
    node.classList.add("pending");
    node.dataset.clientId = clientId;
    this.fill(node, frame);
    this.scroll();
    this.byClientId.set(clientId, node);
    return node;
  };

  /** A complete message (live or replayed); returns false when it was already shown. */
  Messages.prototype.complete = function (frame) {
    const seq = frame.seq;
    const clientId = (frame.metadata || {}).client_msg_id;
    if (clientId && this.byClientId.has(clientId)) {
      const mine = this.byClientId.get(clientId);
      mine.classList.remove("pending", "failed");
      if (seq) { mine.dataset.seq = seq; this.bySeq.set(seq, mine); }
      this.amend(mine, frame);
      return false;
    }
    const stream = seq ? this.streams.get(seq) : null;
    if (stream) {
      stream.text = frame.content || stream.text;
      return this.finish(seq, frame);
    }
    if (seq && this.bySeq.has(seq)) { this.amend(this.bySeq.get(seq), frame); return false; }
    const sender = frame.sender === "ai" || frame.sender === "admin" ? frame.sender : "user";
    const node = this.bubble(sender, labelOf(frame), frame.timestamp);
    if (seq) { node.dataset.seq = seq; this.bySeq.set(seq, node); }
    if (clientId) this.byClientId.set(clientId, node);
    this.fill(node, frame);
    this.scroll();  // again, now that the bubble has its content (it was empty when first scrolled to)
    if (sender !== "user") this.announce(labelOf(frame) + ": " + (frame.content || "sent a file"));
    return true;
  };

  /** One frame of a streamed reply; the first frame after (re)connecting carries the whole text so far. */
  Messages.prototype.streamFrame = function (frame) {
    const seq = frame.seq, meta = frame.metadata || {};
    let stream = this.streams.get(seq);
    if (!stream) {
      if (this.bySeq.has(seq)) return;
      stream = { node: null, text: "", lastChunk: 0, fresh: true, frame: frame };
      this.streams.set(seq, stream);
    }
    if (frame.content) {
      const chunk = typeof frame.chunk === "number" ? frame.chunk : null;
      if (stream.fresh) stream.text = frame.content;
      else if (chunk === null || chunk > stream.lastChunk) stream.text += frame.content;
      else return;
      stream.fresh = false;
      if (chunk !== null) stream.lastChunk = chunk;
      if (!stream.node) {
        stream.node = this.bubble("ai", "Assistant", frame.timestamp);
        stream.node.classList.add("streaming");
        stream.node.dataset.seq = seq;
      }
      this.render(stream);
    }
    if (meta.done === "true") this.finish(seq, frame);
  };

  Messages.prototype.render = function (stream) {
    if (stream.queued) return;
    stream.queued = true;
    const self = this;
    requestAnimationFrame(function () {
      stream.queued = false;
      if (!stream.node) return;
      stream.node.querySelector(".message-content").innerHTML = CB.markdown(stream.text);
      self.scroll();
    });
  };

  Messages.prototype.finish = function (seq, frame) {
    const stream = this.streams.get(seq);
    this.streams.delete(seq);
    if (!stream) return false;
    const meta = frame.metadata || {};
    if (!stream.node && stream.text) stream.node = this.bubble("ai", "Assistant", frame.timestamp);
    if (!stream.node) return false;
    stream.node.classList.remove("streaming");
    stream.node.dataset.seq = seq;
    this.bySeq.set(seq, stream.node);
    this.fill(stream.node, { sender: "ai", content: stream.text, metadata: meta });
    this.announce("Assistant: " + stream.text);
    this.scroll();
    return true;
  };

  /** After a reconnect every reply in progress restarts from the server's "text so far". */
  Messages.prototype.resuming = function () {
    this.streams.forEach(function (stream) { stream.fresh = true; });
  };

  Messages.prototype.streaming = function () { return this.streams.size > 0; };

  Messages.prototype.system = function (text, level) {
    const node = CB.el("div", { className: "message system" + (level ? " " + level : ""), role: "note" },
      [CB.el("div", { className: "message-content", text: text })]);
    this.hint(false);
    this.container.appendChild(node);
    this.announce(text);
    this.scroll();
    return node;
  };

  /** Turn a stored message of the REST API into the frame shape the view renders. */
  Messages.fromStored = function (stored) {
    const meta = stored.metadata || {};
    let type = stored.sender === "user" ? "user_message" : "ai_response";
    if (stored.file_id || stored.file_url) type = meta.kind === "voice" ? "voice_message" : "file_upload";
    return Object.assign({}, stored, { type: type, metadata: meta });
  };

  CB.Messages = Messages;
})();
