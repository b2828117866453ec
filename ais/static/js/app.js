/* Small progressive enhancements for every page (the pages work without them). */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // Show controls that only make sense with JavaScript; hide the no-JS fallbacks.
  document.querySelectorAll("[data-js-only]").forEach(function (el) {
    el.classList.remove("d-none");
  });
  // (hidden for everyone: a link inside must not stay reachable by keyboard)
  document.querySelectorAll("[data-no-js-only]").forEach(function (el) {
    el.classList.add("d-none");
  });

  // Forms with data-confirm ask before doing something that cannot be undone.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    // Stop a double click from sending the same form twice.
    if (form.dataset.submitted === "yes") {
      event.preventDefault();
      return;
    }
    if ((form.getAttribute("method") || "get").toLowerCase() === "post") {
      form.dataset.submitted = "yes";
      window.setTimeout(function () { form.dataset.submitted = ""; }, 4000);
    }
  });

  // "Copy" buttons: data-copy-target names the input whose value is copied.
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    if (!navigator.clipboard) return;
    button.classList.remove("d-none");
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy-target"));
      if (!input) return;
      navigator.clipboard.writeText(input.value).then(function () {
        var original = button.textContent;
        button.textContent = "Copied";
        window.setTimeout(function () { button.textContent = original; }, 2000);
      }, function () {
        input.select();
      });
    });
  });

  // "Go back" buttons (error pages).
  document.querySelectorAll("[data-history-back]").forEach(function (button) {
    if (window.history.length < 2) return;
    button.classList.remove("d-none");
    button.addEventListener("click", function () { window.history.back(); });
  });
})();
