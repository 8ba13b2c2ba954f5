// The console's own script: no inline script anywhere (strict CSP), so behaviour is wired here from data-*.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";

  // htmx requests carry the session's CSRF token as a header.
  document.addEventListener("htmx:configRequest", function (evt) {
    evt.detail.headers["X-CSRF-Token"] = token;
  });

  // <button data-confirm="…">: ask before submitting.
  document.addEventListener("click", function (evt) {
    var el = evt.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      evt.preventDefault();
    }
  });

  window.hazardConsole = window.hazardConsole || { onReady: [] };
  function ready() {
    window.hazardConsole.onReady.forEach(function (fn) { fn(document); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
