// The session list: the user's conversations by most recent activity; open one to continue (active) or read it.
(function () {
  "use strict";
  const CB = window.CB;
  const $ = function (id) { return document.getElementById(id); };
  let active = null;

  function fail(text) {
    $("loading").hidden = true;
    $("status-text").textContent = text;
    $("status-text").hidden = false;
  }

  function item(session) {
    const when = session.last_activity || session.start_time;
    const count = session.message_count || 0;
    const badges = [];
    if (session.is_active) badges.push(CB.el("span", { className: "badge active-badge", text: "Active" }));
    if (session.admin_assisted) badges.push(CB.el("span", { className: "badge admin-badge", text: "Admin assisted" }));
    const link = CB.el("a", { className: "session-link", href: CB.prefix + "/" }, [
      CB.el("span", { className: "session-name", text: session.name || "Untitled chat" }),
      CB.el("span", { className: "session-badges" }, badges),
      CB.el("span", { className: "session-details" }, [
        CB.el("time", { className: "session-timestamp", datetime: when || "", text: CB.relative(when) }),
        CB.el("span", { className: "session-messages", text: count + (count === 1 ? " message" : " messages") }),
      ]),
    ]);
    link.addEventListener("click", function (event) {
      event.preventDefault();
      const id = encodeURIComponent(session.id);
      CB.navigate(session.is_active ? "/?session_id=" + id : "/?session_id=" + id + "&view=read");
    });
    return CB.el("li", { className: "session-item", "data-session-id": session.id }, [link]);
  }

  function show(body) {
    $("loading").hidden = true;
    const sessions = (body.sessions || []).slice().sort(function (a, b) {
      return String(b.last_activity || b.start_time).localeCompare(String(a.last_activity || a.start_time));
    });
    active = sessions.find(function (s) { return s.is_active; }) || null;
    $("new-session-btn").hidden = false;
    $("empty-state").hidden = sessions.length > 0;
    const list = $("sessions-list");
    list.textContent = "";
    sessions.forEach(function (session) { list.appendChild(item(session)); });
    if (body.truncated) list.appendChild(CB.el("li", { className: "hint", text: "Only the latest " + body.limit + " conversations are shown." }));
  }

  function newChat() {
    const go = function () { CB.navigate("/"); };
    if (!active) { go(); return; }
    CB.api("/sessions/" + encodeURIComponent(active.id) + "/end", { method: "POST" }).then(go, go);
  }

  $("new-session-btn").addEventListener("click", newChat);
  CB.start(function (token) {
    if (!token) { fail("No authentication token"); return; }
    CB.api("/sessions").then(show, function (error) { fail("Failed to load sessions: " + error.message); });
  });
})();
