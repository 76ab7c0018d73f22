// Small behaviours on top of plain HTML; every page also works without them.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function toast(message) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.hidden = true; }, 6000);
  }

  // htmx 2 does not swap 4xx/5xx answers: say so instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    toast(status === 400 ? document.body.dataset.msgExpired || "Your session expired. Reload the page and try again."
      : document.body.dataset.msgError || "Something went wrong. Please try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    toast(document.body.dataset.msgOffline || "The portal cannot be reached. Check your connection.");
  });

  // The header search dropdown: close on Escape or a click elsewhere.
  function closeDropdown() {
    var results = document.getElementById("header-results");
    if (results) results.innerHTML = "";
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target.closest && target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      var box = document.getElementById("header-q") || document.getElementById("q");
      if (box) { event.preventDefault(); box.focus(); box.select(); }
    } else if (event.key === "Escape" && target.closest && target.closest(".header-search")) {
      closeDropdown();
    }
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest(".header-search")) closeDropdown();
  });

  // The new-ticket form asks for steps and the affected account only for technical issues.
  function showTechnicalFields() {
    var category = document.querySelector("#ticket-form select[name=category]");
    var fields = document.querySelector("#ticket-form .technical-only");
    if (category && fields) fields.hidden = category.value !== "technical_issue";
  }
  document.addEventListener("DOMContentLoaded", showTechnicalFields);
  document.addEventListener("change", function (event) {
    if (event.target.matches("#ticket-form select[name=category]")) showTechnicalFields();
  });

  // One click files one ticket: the button waits for the answer (the server is idempotent too).
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("[data-disable-on-submit]");
    if (button) setTimeout(function () { button.disabled = true; }, 0);
  });

  // Selects marked auto-submit (the language switch) submit on change.
  document.addEventListener("change", function (event) {
    if (event.target.matches("select.auto-submit")) event.target.form.requestSubmit();
  });
})();
