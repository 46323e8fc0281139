// Photos open full size in a dialog over the conversation (Escape or Close returns), instead of leaving the page.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("a.photo-link");
    const viewer = document.getElementById("photo-viewer");
    if (!link || !viewer || typeof viewer.showModal !== "function") return;
    event.preventDefault();
    const name = link.dataset.name || "Photo";
    document.getElementById("photo-viewer-img").src = link.href;
    document.getElementById("photo-viewer-img").alt = name;
    document.getElementById("photo-viewer-name").textContent = name;
    document.getElementById("photo-viewer-open").href = link.href;
    viewer.showModal();
  });
})();
