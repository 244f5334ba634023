// Every page: a form whose text is over the desk's limit (body data-post-limit, in bytes) is not
// sent; the text stays in its box and the form says what the limit is. The server would refuse it
// anyway (DATA_UPLOAD_MAX_MEMORY_SIZE), and by then the typed text would be gone.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const limit = Number(document.body.dataset.postLimit || 0);
  if (!limit || !form.method || form.method.toLowerCase() !== "post" || event.defaultPrevented) return;
  let size = 0;
  for (const [name, value] of new FormData(form)) {
    if (typeof value !== "string") continue; // files have their own limits
    size += encodeURIComponent(name).length + encodeURIComponent(value).length + 2;
  }
  let note = form.querySelector(".too-large");
  if (size <= limit) {
    if (note) note.remove();
    return;
  }
  event.preventDefault();
  if (!note) {
    note = document.createElement("p");
    note.className = "error too-large";
    note.setAttribute("role", "alert");
    form.prepend(note);
  }
  const words = document.body.dataset.postLimitWords || `${limit} bytes`;
  note.textContent =
    `Not sent: this is about ${Math.ceil(size / 1024).toLocaleString()} KB of text, and the desk takes at most ${words} at once. ` +
    "Your text is still here: shorten it, or attach the long part as a file.";
});
