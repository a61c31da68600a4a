// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Live character count for the Text field (the limit is TTS_MAX_TEXT_CHARS). Counts
  // code points, as the server does.
  function updateCounter(counter) {
    var field = document.getElementById(counter.dataset.counterFor);
    if (!field) return;
    var count = Array.from(field.value).length;
    var limit = parseInt(counter.dataset.limit, 10);
    counter.querySelector("[data-count]").textContent = count;
    counter.classList.toggle("over", count > limit);
  }

  function initCounters(root) {
    root.querySelectorAll("[data-counter-for]").forEach(updateCounter);
  }

  document.addEventListener("input", function (event) {
    var id = event.target.id;
    if (!id) return;
    document
      .querySelectorAll('[data-counter-for="' + id + '"]')
      .forEach(updateCounter);
  });

  // Copy-to-clipboard buttons: <button data-copy="#selector">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copy);
    if (!source) return;
    source.select();
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done, function () {
        document.execCommand("copy");
        done();
      });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  document.addEventListener("DOMContentLoaded", function () { initCounters(document); });
  document.addEventListener("htmx:load", function (event) { initCounters(event.target); });
})();
