// Files and voice notes: upload with a progress bar (XMLHttpRequest progress events), and a voice recorder with
// elapsed time and a level meter (MediaRecorder + AnalyserNode).
(function () {
  "use strict";
  const CB = (window.CB = window.CB || {});

  /**
   * Upload one file to {P}/upload. progress(percent) is called as bytes go out. Resolves with the server's
   * {file_id, file_url, name, size, mime}; rejects with an Error whose message is the server's plain words.
   */
  CB.upload = function (file, sessionId, progress) {
    return new Promise(function (resolve, reject) {
      const form = new FormData();
      form.append("file", file, file.name);
      if (sessionId) form.append("session_id", sessionId);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", CB.prefix + "/upload");
      xhr.setRequestHeader("Authorization", "Bearer " + CB.token());
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) progress(Math.round((event.loaded / event.total) * 100));
      };
      xhr.onload = function () {
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: use the status below */ }
        if (xhr.status >= 200 && xhr.status < 300 && body.file_id) { progress(100); resolve(body); return; }
        reject(new Error(body.error || "Upload failed (" + (xhr.status || "network error") + ")"));
      };
      xhr.onerror = function () { reject(new Error("Upload failed: the connection was lost")); };
      xhr.send(form);
    });
  };

  function preferredType() {
    const types = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];
    for (let i = 0; i < types.length; i++) {
      if (window.MediaRecorder && MediaRecorder.isTypeSupported(types[i])) return types[i];
    }
    return "";
  }

  /** hooks: onTick(seconds), onLevel(0..1). start() rejects with a plain-words Error; stop() resolves a File. */
  function VoiceRecorder(hooks) {
    this.hooks = hooks;
    this.recorder = null;
  }

  VoiceRecorder.prototype.start = function () {
    const self = this;
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      return Promise.reject(new Error("Voice notes are not supported by this browser"));
    }
    return navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      self.stream = stream;
      const type = preferredType();
      self.recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      self.parts = [];
      self.recorder.ondataavailable = function (event) { if (event.data.size) self.parts.push(event.data); };
      self.recorder.start(250);
      self.started = Date.now();
      self.meter(stream);
      self.ticker = setInterval(function () { self.hooks.onTick((Date.now() - self.started) / 1000); }, 250);
    }, function () {
      throw new Error("Microphone access denied");
    });
  };

  VoiceRecorder.prototype.meter = function (stream) {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    const self = this;
    this.audio = new Context();
    const analyser = this.audio.createAnalyser();
    analyser.fftSize = 512;
    this.audio.createMediaStreamSource(stream).connect(analyser);
    const samples = new Uint8Array(analyser.fftSize);
    const step = function () {
      if (!self.recorder) return;
      analyser.getByteTimeDomainData(samples);
      let peak = 0;
      for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i] - 128) / 128);
      self.hooks.onLevel(peak);
      self.frame = requestAnimationFrame(step);
    };
    step();
  };

  VoiceRecorder.prototype.release = function () {
    clearInterval(this.ticker);
    cancelAnimationFrame(this.frame);
    if (this.stream) this.stream.getTracks().forEach(function (track) { track.stop(); });
    if (this.audio) this.audio.close();
    this.recorder = null;
    this.stream = null;
    this.audio = null;
  };

  VoiceRecorder.prototype.stop = function () {
    const self = this, recorder = this.recorder;
    if (!recorder) return Promise.reject(new Error("Not recording"));
    return new Promise(function (resolve) {
      recorder.onstop = function () {
        const type = (recorder.mimeType || "audio/webm").split(";")[0];
        const extension = type === "audio/mp4" ? "m4a" : type.split("/")[1];
        const blob = new Blob(self.parts, { type: type });
        self.release();
        resolve(new File([blob], "voice_" + Date.now() + "." + extension, { type: type }));
      };
      recorder.stop();
    });
  };

  VoiceRecorder.prototype.cancel = function () {
    if (!this.recorder) return;
    this.recorder.onstop = null;
    try { this.recorder.stop(); } catch (e) { /* already stopped */ }
    this.release();
  };

  VoiceRecorder.prototype.recording = function () { return !!this.recorder; };

  CB.VoiceRecorder = VoiceRecorder;
})();
