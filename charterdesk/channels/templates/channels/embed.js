(function () {
  "use strict";
  var config = {{ config|safe }};
  var script = document.currentScript;
  var host = script && script.dataset.target ? document.querySelector(script.dataset.target) : null;
  if (!host) { host = document.createElement("div"); script.parentNode.insertBefore(host, script.nextSibling); }
  var form = document.createElement("form");
  form.className = "charterdesk-form";
  function field(name, label, type, required) {
    var wrap = document.createElement("p");
    var l = document.createElement("label"); l.textContent = label; wrap.appendChild(l);
    var input = document.createElement(type === "textarea" ? "textarea" : "input");
    if (type !== "textarea") input.type = type;
    input.name = name; input.required = !!required; input.style.display = "block"; input.style.width = "100%";
    l.appendChild(input);
    var error = document.createElement("span"); error.className = "charterdesk-error"; error.style.color = "#b42318";
    error.dataset.field = name; wrap.appendChild(error);
    form.appendChild(wrap);
  }
  var title = document.createElement("h3"); title.textContent = config.title; form.appendChild(title);
  field("name", "Your name", "text", false);
  field("email", "Your email", "email", true);
  field("subject", "Subject", "text", false);
  field("message", "Message", "textarea", true);
  // The honeypot: people never see it, robots fill it in.
  var trap = document.createElement("input");
  trap.name = "website"; trap.tabIndex = -1; trap.autocomplete = "off";
  trap.setAttribute("aria-hidden", "true"); trap.style.position = "absolute"; trap.style.left = "-9999px";
  form.appendChild(trap);
  var token = document.createElement("input"); token.type = "hidden"; token.name = "token"; token.value = config.token;
  form.appendChild(token);
  var button = document.createElement("button"); button.type = "submit"; button.textContent = "Send"; form.appendChild(button);
  var status = document.createElement("p"); status.setAttribute("role", "status"); form.appendChild(status);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true; status.textContent = "Sending…";
    form.querySelectorAll(".charterdesk-error").forEach(function (e) { e.textContent = ""; });
    fetch(config.submit, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "omit" })
      .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
      .then(function (res) {
        button.disabled = false;
        if (res.ok) { form.reset(); status.textContent = res.data.message; return; }
        var errors = res.data.errors || {};
        Object.keys(errors).forEach(function (name) {
          var el = form.querySelector('.charterdesk-error[data-field="' + name + '"]'); if (el) el.textContent = errors[name];
        });
        status.textContent = res.data.error || "Please check the fields above.";
      })
      .catch(function () { button.disabled = false; status.textContent = "The message could not be sent; please try again."; });
  });
  host.appendChild(form);
})();
