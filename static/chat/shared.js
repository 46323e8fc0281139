// The read-only view of a shared conversation: no socket, no token; the share token is the only key.
(function () {
  "use strict";
  const CB = window.CB;
  const view = new CB.Messages(document.getElementById("messages-container"), null);
  const status = document.getElementById("status-text");

  fetch(CB.prefix + "/shared/" + encodeURIComponent(CB.config.shareToken), { headers: { Accept: "application/json" } })
    .then(function (response) {
      if (response.status === 404) throw new Error("Shared session not found");
      if (!response.ok) throw new Error("Failed to load shared session");
      return response.json();
    })
    .then(function (body) {
      const name = body.name || "Shared conversation";
      document.getElementById("session-title").textContent = name;
      document.title = name + " · Shared conversation";
      const first = body.messages.length ? new Date(body.messages[0].timestamp) : null;
      if (first && !isNaN(first.getTime())) {
        const when = CB.el("time", { datetime: first.toISOString(),
          text: new Intl.DateTimeFormat(undefined, { dateStyle: "long", timeStyle: "short" }).format(first) });
        status.textContent = "Shared conversation (read-only) · ";
        status.appendChild(when);
      }
      view.hint(false);
      body.messages.forEach(function (stored) {
        const frame = CB.Messages.fromStored(stored);
        // Files the share grants come with a short-lived signed link; the others with no URL (name only).
        view.complete(frame);
      });
      if (!body.messages.length) view.system("This conversation has no messages.");
    })
    .catch(function (error) {
      status.textContent = error.message;
      view.hint(false);
      view.system(error.message, "error");
    });
})();
