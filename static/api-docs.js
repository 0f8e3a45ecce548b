// Starts Swagger UI on /api/v1/docs (a file, not an inline script: the CSP allows no inline code).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("api-docs");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-document-url"),
    domNode: root,
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
  });
});
