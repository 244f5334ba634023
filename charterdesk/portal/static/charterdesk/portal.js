// Customer portal: preselect the visitor's own time zone on the new-ticket form.
(function () {
  const select = document.querySelector("select[data-prefill]");
  if (!select) return;
  let zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
  if (zone === "Etc/UTC") zone = "UTC";
  if ([...select.options].some((o) => o.value === zone)) select.value = zone;
})();
