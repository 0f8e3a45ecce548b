// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // After a failed submission, move focus to the error summary so screen readers announce it.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
  // Show the browser's own verdict on a field once the visitor has left it, not while typing.
  document.querySelectorAll(".input").forEach(function (input) {
    input.addEventListener("blur", function () {
      if (input.value !== "") {
        input.classList.add("was-touched");
      }
    });
  });
})();
