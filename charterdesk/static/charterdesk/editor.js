// The protocol editor: line numbers, problem markers at their lines, and "go to line" links.
(function () {
  const source = document.getElementById("source");
  const gutter = document.getElementById("gutter");
  const problems = document.getElementById("problems");
  if (!source || !gutter) return;

  function marks() {
    const byLine = {};
    problems.querySelectorAll("[data-line]").forEach(function (item) {
      const line = item.dataset.line;
      if (byLine[line] !== "error") byLine[line] = item.dataset.severity;
    });
    return byLine;
  }

  function drawGutter() {
    const count = source.value.split("\n").length;
    const byLine = marks();
    const parts = [];
    for (let n = 1; n <= count; n++) {
      const cls = byLine[n] === "error" ? "bad" : byLine[n] === "warning" ? "warn" : "";
      parts.push('<span class="' + cls + '" data-gutter-line="' + n + '">' + n + "</span>");
    }
    gutter.innerHTML = parts.join("");
    gutter.scrollTop = source.scrollTop;
  }

  function goTo(line, column) {
    const lines = source.value.split("\n");
    let offset = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
    offset += Math.max(0, column - 1);
    source.focus();
    source.setSelectionRange(offset, offset + Math.max(1, (lines[line - 1] || "").length - column + 1));
    const lineHeight = parseFloat(getComputedStyle(source).lineHeight) || 20;
    source.scrollTop = Math.max(0, (line - 5) * lineHeight);
  }

  source.addEventListener("scroll", function () { gutter.scrollTop = source.scrollTop; });
  source.addEventListener("input", drawGutter);
  source.addEventListener("keydown", function (event) {
    if (event.key === "Tab") { // YAML wants spaces, never tabs
      event.preventDefault();
      source.setRangeText("  ", source.selectionStart, source.selectionEnd, "end");
      drawGutter();
    }
  });
  problems.addEventListener("click", function (event) {
    const link = event.target.closest("[data-goto]");
    if (!link) return;
    event.preventDefault();
    const [line, column] = link.dataset.goto.split(":").map(Number);
    goTo(line, column);
  });
  document.body.addEventListener("htmx:afterSwap", drawGutter);
  drawGutter();
})();
