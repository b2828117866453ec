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

  // A field the server refused loses its error once it is changed: the message described the old
  // value, and leaving it would say the corrected one is still wrong.  The server checks again on
  // submit.
  function clearFieldError(event) {
    var field = event.target;
    if (!field || !field.classList || !field.classList.contains("is-invalid")) return;
    var group = field.type === "radio" && field.form
      ? field.form.querySelectorAll('input[type="radio"][name="' + field.name + '"]')
      : [field];
    Array.prototype.forEach.call(group, function (input) {
      input.classList.remove("is-invalid");
      input.removeAttribute("aria-invalid");
      // (a radio group's message is named after the group)
      var message = document.getElementById(input.id + "-error") || document.getElementById(input.name + "-error");
      if (message) message.remove();
      var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
        return id && id !== input.id + "-error";
      });
      if (described.length) input.setAttribute("aria-describedby", described.join(" "));
      else input.removeAttribute("aria-describedby");
    });
  }
  document.addEventListener("input", clearFieldError);
  document.addEventListener("change", clearFieldError);

  // "Go back" buttons (error pages).
  document.querySelectorAll("[data-history-back]").forEach(function (button) {
    if (window.history.length < 2) return;
    button.classList.remove("d-none");
    button.addEventListener("click", function () { window.history.back(); });
  });
})();
