// Small behaviours htmx attributes cannot express without eval (the dashboard's CSP forbids it).
(function () {
  "use strict";
  // Clear the admin's message box once the server accepted the message.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.classList && form.classList.contains("reset-on-success") && event.detail.successful) {
      form.reset();
    }
  });
  // Keep the newest message in view while the conversation streams.
  document.addEventListener("htmx:sseMessage", function (event) {
    var box = document.getElementById("conversation");
    if (box && box.contains(event.target)) {
      box.scrollTop = box.scrollHeight;
    }
  });
  // Enter sends, Shift+Enter makes a new line.
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key === "Enter" && !event.shiftKey && target.form && target.form.id === "composer") {
      event.preventDefault();
      htmx.trigger(target.form, "submit");
    }
  });
})();
