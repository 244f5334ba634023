// The agent workspace: keyboard shortcuts, queue selection, saved replies in the composer.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  // --- shortcuts overlay -----------------------------------------------------------------
  var overlay = document.getElementById("shortcuts");
  function toggleHelp(show) {
    if (!overlay) return;
    overlay.hidden = show === undefined ? !overlay.hidden : !show;
    if (!overlay.hidden) overlay.querySelector("button").focus();
  }
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-open-shortcuts]")) toggleHelp(true);
    if (e.target.closest("[data-close-shortcuts]") || e.target === overlay) toggleHelp(false);
  });

  // --- the queue -------------------------------------------------------------------------
  var queue = document.querySelector("[data-queue]");
  var rows = queue ? Array.prototype.slice.call(queue.querySelectorAll("tr.row")) : [];
  var current = -1;
  function select(index) {
    if (!rows.length) return;
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (current >= 0 && rows[current]) rows[current].classList.remove("current");
    current = index;
    rows[current].classList.add("current");
    rows[current].scrollIntoView({ block: "nearest" });
  }
  function open(row) { if (row) window.location.href = row.getAttribute("data-href"); }
  rows.forEach(function (row, index) {
    row.addEventListener("click", function (e) {
      if (e.target.closest("a, input, button, label, select")) return;
      select(index);
      open(row);
    });
  });
  var selectAll = document.querySelector("[data-select-all]");
  var countEl = document.querySelector("[data-selected-count]");
  function updateCount() {
    if (countEl) countEl.textContent = document.querySelectorAll("input[name=ids]:checked").length;
  }
  if (selectAll) {
    selectAll.addEventListener("change", function () {
      document.querySelectorAll("input[name=ids]").forEach(function (box) { box.checked = selectAll.checked; });
      updateCount();
    });
  }
  document.addEventListener("change", function (e) { if (e.target.name === "ids") updateCount(); });

  // --- the checks of a reply (the composer, the new-ticket form) ---------------------------
  // The reason to send despite problems is asked for only when the checks say it may be given.
  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.target.id !== "reply-check") return;
    var form = e.target.closest("form");
    var overrideBox = form ? form.querySelector("[data-override]") : null;
    if (overrideBox) overrideBox.hidden = !e.target.querySelector("[data-may-override]");
  });

  // --- the composer ----------------------------------------------------------------------
  var composer = document.getElementById("composer");
  var body = composer ? composer.querySelector("textarea[name=body]") : null;
  function setKind(kind) {
    if (!composer) return false;
    var radio = composer.querySelector("input[data-kind=" + kind + "]");
    if (!radio) return false;
    radio.checked = true;
    composer.classList.toggle("note-mode", kind === "note");
    body.placeholder = kind === "note" ? "Internal note: only the team sees it" : body.getAttribute("data-reply-placeholder");
    body.focus();
    return true;
  }
  if (composer) {
    body.setAttribute("data-reply-placeholder", body.placeholder);
    composer.addEventListener("change", function (e) {
      if (e.target.name === "kind") setKind(e.target.value);
    });
    var checked = composer.querySelector("input[name=kind]:checked");
    if (checked) composer.classList.toggle("note-mode", checked.value === "note");
    composer.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) composer.requestSubmit();
    });
    // A refused send: the problems are at the composer, so bring it into view with the text kept.
    if (composer.querySelector("[data-refused], .problems[role=alert]")) {
      composer.scrollIntoView({ block: "center" });
      body.focus();
    }
    // One click sends once (the idempotency key makes a resubmission harmless as well).
    composer.addEventListener("submit", function () {
      var send = composer.querySelector("[data-send]");
      if (send) setTimeout(function () { send.disabled = true; }, 0);
    });
    var picker = composer.querySelector("select[data-macro-url]");
    var warning = composer.querySelector("[data-macro-warning]");
    if (picker) {
      picker.addEventListener("change", function () {
        if (!picker.value) return;
        fetch(picker.getAttribute("data-macro-url") + picker.value + "/", { headers: { Accept: "application/json" } })
          .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
          .then(function (data) {
            var start = body.selectionStart, end = body.selectionEnd, text = body.value;
            body.value = text.slice(0, start) + data.text + text.slice(end);
            body.focus();
            body.selectionStart = body.selectionEnd = start + data.text.length;
            if (data.next_status) {
              var next = composer.querySelector("select[name=next_status]");
              if (next && next.querySelector("option[value=" + data.next_status + "]")) next.value = data.next_status;
            }
            warning.innerHTML = "";
            if (data.unknown.length) {
              var li = document.createElement("li");
              li.className = "warning";
              li.textContent = "Unknown placeholders left as written, replace them before sending: " + data.unknown.join(", ");
              warning.appendChild(li);
            }
            warning.hidden = !data.unknown.length;
            // A saved reply is checked once its placeholders are filled, as if typed.
            if (window.htmx) htmx.trigger("#reply-check", "reply-check");
          })
          .catch(function () { warning.hidden = false; warning.textContent = "Could not load the saved reply."; })
          .finally(function () { picker.value = ""; });
      });
    }
  }

  // (Forms with data-confirm ask first: confirm.js, on every page.)

  // --- keys ------------------------------------------------------------------------------
  function click(selector) {
    var el = document.querySelector(selector);
    if (el) { el.click(); return true; }
    return false;
  }
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      if (overlay && !overlay.hidden) { toggleHelp(false); return; }
      if (typing(e.target)) e.target.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    var handled = true;
    switch (e.key) {
      case "?": toggleHelp(); break;
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "o": case "Enter": if (current >= 0) open(rows[current]); else handled = false; break;
      case "x":
        if (current >= 0) { var box = rows[current].querySelector("input[name=ids]"); if (box) { box.checked = !box.checked; updateCount(); } }
        break;
      case "/": var q = document.getElementById("q"); if (q) q.focus(); else handled = false; break;
      case "r": handled = setKind("reply"); break;
      case "n": handled = setKind("note"); break;
      case "s": handled = click("[data-shortcut=s]"); break;
      case "p": handled = click("[data-shortcut=p]"); break;
      case "u": handled = click("[data-shortcut-back]"); break;
      default: handled = false;
    }
    if (handled) e.preventDefault();
  });
})();
