// Casebridge: small progressive enhancements. Every page works without this file.
"use strict";

// Search as you type: a GET form marked data-live-search="ID" refreshes element #ID
// from the server's own rendering of the results page.
document.querySelectorAll("form[data-live-search]").forEach((form) => {
  const target = document.getElementById(form.dataset.liveSearch);
  const input = form.querySelector("input[type=search]");
  if (!target || !input) return;
  let timer = 0;
  let latest = 0;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const term = input.value.trim();
      if (term.length > 0 && term.length < 2) return;
      const url = new URL(form.action, location.href);
      url.search = new URLSearchParams(new FormData(form)).toString();
      const request = ++latest;
      try {
        const response = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
        if (!response.ok || request !== latest) return;
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById(form.dataset.liveSearch);
        if (fresh) target.replaceChildren(...fresh.childNodes);
        history.replaceState(null, "", url);
      } catch (_) {
        // Offline or refused: the form still submits normally.
      }
    }, 250);
  });
});

// A preview or an error summary that the server just rendered takes the focus, so
// keyboard and screen reader users land on it.
const focusTarget = document.querySelector(".problems[tabindex], .preview[tabindex]");
if (focusTarget) focusTarget.focus();

// Buttons that ask before acting: <button data-confirm="Question?">.
document.querySelectorAll("button[data-confirm]").forEach((button) => {
  button.addEventListener("click", (event) => {
    if (!window.confirm(button.dataset.confirm)) event.preventDefault();
  });
});
