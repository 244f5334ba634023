// Every page: the small behaviours that would otherwise be inline handlers, which the desk's
// Content-Security-Policy does not run (charterdesk/core/security.py).

// <a data-back href="..."> goes back in the browser's history when there is one, else follows href.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-back]");
  if (link && history.length > 1) {
    event.preventDefault();
    history.back();
  }
});

// <input data-select-on-click> selects its whole text when clicked (a link to copy by hand).
document.addEventListener("click", (event) => {
  const field = event.target.closest("input[data-select-on-click]");
  if (field) field.select();
});

// <form data-guess-timezone>: its time zone menu, still at UTC, takes the browser's zone if offered.
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-guess-timezone]")) {
    const menu = form.querySelector("select[name=timezone]");
    if (!menu || menu.value !== "UTC") continue;
    try {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone && [...menu.options].some((option) => option.value === zone)) menu.value = zone;
    } catch (error) {
      // An old browser without time zone names: UTC stays, and the person picks.
    }
  }
});
