// Start Swagger UI on the API reference page with the settings the page carries.
"use strict";

window.addEventListener("load", function () {
  var container = document.getElementById("swagger-ui-container");
  var config = { url: container.dataset.specUrl, dom_id: "#swagger-ui-container" };
  var overrides = JSON.parse(container.dataset.config || "{}");
  Object.keys(overrides).forEach(function (key) {
    config[key] = overrides[key];
  });
  window.ui = SwaggerUIBundle(config);
});
