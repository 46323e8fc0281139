// Small behaviours htmx attributes cannot express without eval (the dashboard's CSP forbids it): live rows placed
// by id, times in the viewer's zone, the composer's state, keyboard moves, and the one-pane view on phones.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };

  // --- times: <time datetime> in the viewer's timezone, relative, the exact time on hover ---------------------
  var exact = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
  var relative = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;
  var UNITS = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]];

  function ago(date) {
    var seconds = (date.getTime() - Date.now()) / 1000;
    if (!relative || Math.abs(seconds) < 45) return "just now";
    for (var i = 0; i < UNITS.length; i++) {
      if (Math.abs(seconds) >= UNITS[i][1] * 0.75 || UNITS[i][0] === "minute") {
        return relative.format(Math.round(seconds / UNITS[i][1]), UNITS[i][0]);
      }
    }
    return exact.format(date);
  }

  function showTimes(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (node) {
      var date = new Date(node.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      node.title = exact.format(date);
      node.textContent = node.dataset.format === "exact" ? exact.format(date) : ago(date);
    });
  }

  // --- live rows: each SSE "row" event carries <tr>s; replace by id, move between groups, insert, remove -------
  function placeRow(row) {
    var old = $(row.id), table = $("sessions");
    if (!table) return;
    if (row.dataset.remove) { if (old) old.remove(); return; }
    var group = row.dataset.group === "help" ? $("help-rows") : $("rows");
    var moveUp = group.id === "help-rows" || (table.dataset.sort === "last_activity" && table.dataset.order === "desc");
    if (old && old.classList.contains("selected")) row.classList.add("selected");
    if (old && old.parentNode === group && !moveUp) { old.replaceWith(row); return; }
    if (!old && group.id === "rows" && table.dataset.insert !== "top") return;  // not on this page
    if (old) old.remove();
    if (group.id === "help-rows") group.appendChild(row);  // oldest request first
    else group.insertBefore(row, group.firstChild);
  }

  document.addEventListener("htmx:sseBeforeMessage", function (event) {
    if (!event.target.classList.contains("sse-sink")) return;
    event.preventDefault();
    var holder = document.createElement("template");
    holder.innerHTML = "<table><tbody>" + event.detail.data + "</tbody></table>";
    holder.content.querySelectorAll("tr[id^='row-']").forEach(function (row) {
      placeRow(document.importNode(row, true));
    });
    var table = $("sessions");
    if (table) {
      htmx.process(table);
      showTimes(table);
      markSelected();
      $("list-empty").hidden = !!table.querySelector("tr.session-row");
    }
  });

  // --- the selected conversation ------------------------------------------------------------------------------
  function selectedSid() {
    var inner = document.querySelector("#pane .pane-inner");
    return inner ? inner.dataset.sid : "";
  }

  function markSelected() {
    var sid = selectedSid();
    document.querySelectorAll("tr.session-row").forEach(function (row) {
      var on = row.dataset.sessionId === sid;
      row.classList.toggle("selected", on);
      var link = row.querySelector("a.open");
      if (link) { if (on) link.setAttribute("aria-current", "true"); else link.removeAttribute("aria-current"); }
    });
    var inbox = $("inbox");
    if (inbox) inbox.classList.toggle("has-pane", !!sid);
  }

  // The composer follows the controls: enabled only while this admin holds the session, with the reason why not.
  function syncComposer() {
    var controls = $("controls"), form = $("composer");
    if (!controls || !form) return;
    var mine = controls.dataset.state === "mine";
    var box = form.querySelector("textarea"), button = form.querySelector("button[type=submit]");
    var next = $("composer-reason-next");
    box.disabled = !mine;
    button.disabled = !mine;
    box.placeholder = mine ? "Write to the user (Enter sends, Shift+Enter new line)" : "Take the conversation over to write";
    if (next) $("composer-reason").textContent = next.content.textContent.trim();
    form.hidden = controls.dataset.state === "ended";
    syncSuggestions(mine);
  }

  // --- reply drafts (admin copilot): asked for only while this admin holds the session --------------------------
  var draftsFor = "";  // "<sid>:mine" once drafts were asked for this holding
  function syncSuggestions(mine) {
    var box = $("suggestions"), key = selectedSid() + ":mine";
    if (!box) return;
    if (!mine) { box.innerHTML = ""; draftsFor = ""; return; }
    if (draftsFor !== key) { draftsFor = key; htmx.trigger(box, "copilot-refresh"); }
  }

  document.addEventListener("htmx:confirm", function (event) {
    var controls = $("controls");
    if (event.target.id === "suggestions" && !(controls && controls.dataset.state === "mine")) event.preventDefault();
  });

  // A click puts the draft in the composer to edit; only Send sends it (the token lets the audit say so).
  document.addEventListener("click", function (event) {
    var pick = event.target.closest && event.target.closest("button.suggestion");
    var box = $("composer-text"), token = $("composer-suggestion");
    if (!pick || !box || box.disabled) return;
    box.value = pick.textContent;
    if (token) token.value = pick.dataset.suggestion;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  });
  document.addEventListener("input", function (event) {
    var token = $("composer-suggestion");
    if (event.target.id === "composer-text" && token && !event.target.value.trim()) token.value = "";
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    showTimes(event.target);
    markSelected();
    syncComposer();
    moveFocus();
  });

  // After a takeover the admin will write: focus the box. After hand-back, focus Take over again.
  // (Noted before the request: the button is swapped out by the answer, and events on it no longer bubble.)
  var focusNext = "";
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt.classList.contains("takeover")) focusNext = "#composer-text";
    else if (elt.classList.contains("release")) focusNext = "#controls .takeover";
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (elt.classList.contains("reset-on-success") && event.detail.successful) {
      elt.reset();
      var token = $("composer-suggestion");
      if (token) token.value = "";  // reset() leaves hidden inputs as they are
    }
  });

  function moveFocus() {
    var target = focusNext && document.querySelector(focusNext);
    if (target && !target.disabled) { target.focus(); focusNext = ""; }
  }

  // Keep the newest message in view while the conversation streams.
  document.addEventListener("htmx:sseMessage", function (event) {
    var box = $("conversation");
    if (box && box.contains(event.target)) {
      box.scrollTop = box.scrollHeight;
      showTimes(box);
    }
  });

  // --- keyboard -----------------------------------------------------------------------------------------------
  function rowLinks() { return Array.prototype.slice.call(document.querySelectorAll("#sessions a.open")); }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Enter" && !event.shiftKey && target.form && target.form.id === "composer") {
      event.preventDefault();
      if (!target.disabled) htmx.trigger(target.form, "submit");
      return;
    }
    if (typing(target) || event.ctrlKey || event.metaKey || event.altKey) return;
    var links = rowLinks(), at = links.indexOf(document.activeElement);
    if (event.key === "j" || event.key === "ArrowDown" || event.key === "k" || event.key === "ArrowUp") {
      if (!links.length) return;
      if (at < 0 && target.closest && !target.closest("#sessions") && event.key.indexOf("Arrow") === 0) return;
      var step = event.key === "j" || event.key === "ArrowDown" ? 1 : -1;
      var current = at < 0 ? links.findIndex(function (a) { return a.closest("tr").classList.contains("selected"); }) : at;
      var next = current < 0 ? 0 : Math.min(Math.max(current + step, 0), links.length - 1);
      event.preventDefault();
      links[next].focus();
    } else if (event.key === "/") {
      var search = $("list-search");
      if (search) { event.preventDefault(); search.focus(); }
    } else if (event.key === "r") {
      var box = $("composer-text");
      if (box && !box.disabled) { event.preventDefault(); box.focus(); }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    showTimes(document);
    markSelected();
    syncComposer();
    setInterval(function () { showTimes(document); }, 30000);
  });
})();
