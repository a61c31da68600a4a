// The Synthesize form: a visible warning when the text is over the limit (nothing is
// cut), and Ctrl+Enter (Cmd+Enter on a Mac) to synthesize from any field.
(function () {
  "use strict";

  function checkLimit(field) {
    document
      .querySelectorAll('[data-over-limit-for="' + field.id + '"]')
      .forEach(function (warning) {
        var counter = document.querySelector('[data-counter-for="' + field.id + '"]');
        var limit = counter ? parseInt(counter.dataset.limit, 10) : Infinity;
        var over = Array.from(field.value).length - limit;
        warning.hidden = !(over > 0);
        if (over > 0) warning.querySelector("[data-over-by]").textContent = over;
      });
  }

  function checkAll(root) {
    root.querySelectorAll("[data-over-limit-for]").forEach(function (warning) {
      var field = document.getElementById(warning.dataset.overLimitFor);
      if (field) checkLimit(field);
    });
  }

  document.addEventListener("input", function (event) {
    if (event.target.id) checkLimit(event.target);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    var form = event.target.closest && event.target.closest("form.synth-form");
    if (!form) return;
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button && button.disabled) return;
    form.requestSubmit(button || undefined);
  });

  document.addEventListener("DOMContentLoaded", function () { checkAll(document); });
  document.addEventListener("htmx:load", function (event) { checkAll(event.target); });
})();
