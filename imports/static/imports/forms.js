/*
 * The import screens' forms: ask before a destructive action
 * (data-confirm="question"), and show that a long request is under way
 * (data-busy-text="Checking the file…"): the button is disabled, so a second
 * click cannot send the form twice (the server also refuses a second import
 * of the same check).
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    var busy = form.getAttribute("data-busy-text");
    if (!busy) return;
    window.setTimeout(function () {
      form.querySelectorAll('input[type="submit"], button[type="submit"]').forEach(function (button) {
        if (button.tagName === "INPUT") button.value = busy; else button.textContent = busy;
        button.disabled = true;
      });
    }, 0);
  });
})();
