// The ticket page's layout: sidebar cards that fold, and a composer that stays in reach.
(() => {
  // Every sidebar card with a heading folds: the desk's own cards and the families' panels
  // (ticket_panels) alike, since they are all cards with an h2. What is folded is remembered in
  // this browser, by the card's id (else its heading), for every ticket.
  const KEY = "charterdesk.folded-panels";
  const folded = new Set(JSON.parse(localStorage.getItem(KEY) || "[]"));
  const save = () => localStorage.setItem(KEY, JSON.stringify([...folded]));
  document.querySelectorAll(".ticket-side .card").forEach((card) => {
    const heading = card.querySelector(":scope > h2");
    if (!heading) return;
    const name = card.id || heading.textContent.trim();
    card.dataset.panel = name;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "panel-toggle";
    button.textContent = heading.textContent;
    heading.textContent = "";
    heading.append(button);
    const show = (open) => {
      card.classList.toggle("folded", !open);
      button.setAttribute("aria-expanded", String(open));
    };
    show(!folded.has(name));
    button.addEventListener("click", () => {
      const open = card.classList.contains("folded");
      show(open);
      if (open) folded.delete(name); else folded.add(name);
      save();
    });
  });

  // The composer docks at the bottom of the window when the conversation is longer than the
  // window: folded to its first line until it is clicked or focused (or `r`), unfolded at once
  // when it holds text or errors, so a long thread never hides it.
  const dock = document.querySelector(".composer-dock");
  if (!dock) return;
  const composer = dock.querySelector("form");
  const long = dock.getBoundingClientRect().top + window.scrollY > window.innerHeight * 1.2;
  const busy = () => {
    const body = composer && composer.querySelector("textarea");
    // Errors the page was drawn with (the macro warning is an empty list until it warns).
    const errors = [...dock.querySelectorAll(".problems, .errorlist")].some((el) => el.children.length);
    return (body && body.value.trim()) || errors;
  };
  if (!long) return;
  dock.classList.add("docked");
  const fold = (yes) => {
    dock.classList.toggle("folded", yes);
    handle.setAttribute("aria-expanded", String(!yes));
    handle.textContent = yes ? "Write a reply ▴" : "Fold ▾";
  };
  const handle = document.createElement("button");
  handle.type = "button";
  handle.className = "dock-handle";
  handle.addEventListener("click", () => {
    const opening = dock.classList.contains("folded");
    fold(!opening);
    if (opening) composer.querySelector("textarea")?.focus();
  });
  dock.prepend(handle);
  fold(!busy());
  dock.addEventListener("focusin", () => fold(false));
})();

// Presence: the page says "viewing" as it opens and every few seconds (htmx, #presence-ping:
// hx-trigger "load", since htmx only listens on the form once it has set up the page, on
// DOMContentLoaded, after this deferred script has run); while the person has text in the
// composer and is in it, it says "typing" (at once when that starts or stops).
(() => {
  const ping = document.getElementById("presence-ping");
  const state = ping && ping.querySelector("[data-presence-state]");
  const body = document.querySelector("#composer textarea");
  if (!ping || !state || !body || !window.htmx) return;
  const update = () => {
    const now = document.activeElement === body && body.value.trim() ? "typing" : "viewing";
    if (now !== state.value) {
      state.value = now;
      htmx.trigger(ping, "presence-now");
    }
  };
  ["input", "focus", "blur"].forEach((name) => body.addEventListener(name, update));
})();

// Working time (the handle_time KPI, docs/reports.md): each sign of life the page sends says how
// many of the seconds since the previous one the page was worked on: visible, with a key press,
// click, scroll or touch within the last minute (data-active-within). Opening the page and coming
// back to its tab count as using it. The desk caps what one sign of life credits
// (tickets/worktime.py), so a tab left open counts a minute at most.
(() => {
  const ping = document.getElementById("presence-ping");
  if (!ping) return;
  const within = Number(ping.dataset.activeWithin || 60) * 1000;
  let visible = document.visibilityState === "visible";
  let usedAt = Date.now();
  let countedTo = usedAt; // worked time is added up to this instant
  let worked = 0; // milliseconds worked since the previous sign of life
  const addUp = () => {
    const now = Date.now();
    if (visible) worked += Math.max(0, Math.min(now, usedAt + within) - Math.max(countedTo, usedAt));
    countedTo = now;
    return now;
  };
  const used = () => {
    usedAt = addUp();
  };
  const options = { capture: true, passive: true };
  ["keydown", "pointerdown", "wheel", "touchstart", "scroll"].forEach((name) =>
    document.addEventListener(name, used, options)
  );
  document.addEventListener("visibilitychange", () => {
    addUp();
    visible = document.visibilityState === "visible";
    if (visible) used();
  });
  ping.addEventListener("htmx:configRequest", (event) => {
    addUp();
    const seconds = Math.floor(worked / 1000);
    worked -= seconds * 1000;
    event.detail.parameters.active = String(seconds);
  });
})();
