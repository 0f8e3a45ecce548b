// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // After a failed submission, move focus to the error summary so screen readers announce it.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
  // Status messages (the flashes) announced after a page change: copied into the empty live
  // region a moment after load, when a screen reader listens to it.
  var announcer = document.querySelector("[data-announcer]");
  var notices = document.querySelectorAll("[data-announce][role=status]");
  if (announcer && notices.length && !summary) {
    window.setTimeout(function () {
      announcer.textContent = Array.prototype.map.call(notices, function (notice) {
        return notice.textContent.trim();
      }).join(" ");
    }, 250);
  }
  // The sticky header's real height (it wraps on some widths), so that what is focused or
  // linked to scrolls into view below it (app.css: scroll-padding-top). The stylesheet's
  // value holds without this file.
  var header = document.querySelector(".site-header");
  if (header) {
    var measure = function () {
      document.documentElement.style.setProperty("--header-height", header.offsetHeight + "px");
    };
    measure();
    window.addEventListener("resize", measure);
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
