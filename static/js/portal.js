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

  // The reply box's article search lists its results as you type: Enter must not post the
  // reply form (without JavaScript, Enter there runs the search through the compose route).
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.name === "kb_q" && event.target.closest(".compose-tools")) {
      event.preventDefault();
    }
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

  // Agents' queue: j/k move through the rows, Enter opens, x selects, ? lists the keys;
  // r starts a reply on a ticket page. The current row survives the live refresh, and the
  // pages the queue's links load with htmx (the queue is boosted: the script stays loaded).
  var currentRef = null;
  function queueRows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-rows tr.queue-row"));
  }
  function setCurrent(row) {
    queueRows().forEach(function (r) { r.classList.remove("is-current"); });
    if (!row) return;
    row.classList.add("is-current");
    row.tabIndex = -1;
    row.focus();
    currentRef = row.dataset.ref;
  }
  function toggleKeysHelp() {
    var help = document.getElementById("keys-help");
    if (!help) return false;
    if (help.open) help.close(); else help.showModal();
    return true;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable], dialog[open]")) return;
    var rows = queueRows();
    var index = rows.findIndex(function (r) { return r.classList.contains("is-current"); });
    if (rows.length && (event.key === "j" || event.key === "k")) {
      event.preventDefault();
      setCurrent(rows[event.key === "j" ? Math.min(index + 1, rows.length - 1) : Math.max(index - 1, 0)]);
    } else if (event.key === "Enter" && index >= 0 && target === rows[index]) {
      event.preventDefault();
      var link = rows[index].querySelector("a");
      // Just after a swap htmx may not have boosted the new rows' links yet (it does so as the
      // swap settles): boost this one now, so opening it never loads a whole page.
      if (window.htmx) window.htmx.process(link);
      link.click();
    } else if (event.key === "x" && index >= 0) {
      event.preventDefault();
      var box = rows[index].querySelector("input[name=ticket]");
      box.checked = !box.checked;
    } else if (event.key === "r") {
      var reply = document.querySelector("form[action$='/reply'] textarea");
      if (reply) { event.preventDefault(); reply.focus(); }
    } else if (event.key === "?" && toggleKeysHelp()) {
      event.preventDefault();
    }
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-keys-help]")) toggleKeysHelp();
  });
  var queueHadFocus = false;
  document.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    queueHadFocus = !!(active && active.closest && active.closest("#queue-rows"));
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (!currentRef) return;
    var row = document.querySelector("#queue-rows tr[data-ref='" + currentRef + "']");
    if (!row) return;
    row.classList.add("is-current");
    row.tabIndex = -1;
    // The swap took the focused row (or the button pressed in it) away: a refresh, or the
    // queue again after an action. Give the focus back without scrolling the agent's view.
    var lost = !document.activeElement || document.activeElement === document.body;
    if (queueHadFocus && lost) row.focus({ preventScroll: true });
  });

  // A page loaded by a boosted link or form: move the focus to its content, as a full page
  // load would reset it, so screen readers start reading the new page (the queue's own row
  // focus, set above, wins).
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.detail.boosted) return;
    if (document.activeElement && document.activeElement !== document.body) return;
    var main = document.getElementById("main");
    if (main) main.focus({ preventScroll: true });
  });

  // Selects marked auto-submit (the language switch) submit on change.
  document.addEventListener("change", function (event) {
    if (event.target.matches("select.auto-submit")) event.target.form.requestSubmit();
  });
})();
