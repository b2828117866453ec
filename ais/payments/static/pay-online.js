// Online payment box (payments/_pay_online.html): typing an amount picks "Other amount", and
// while a payment is processing the page reloads itself every few seconds (for two minutes).
(function () {
  "use strict";
  var amount = document.getElementById("pay-amount");
  var custom = document.getElementById("pay-choice-custom");
  if (amount && custom) {
    amount.addEventListener("input", function () { custom.checked = true; });
    amount.addEventListener("focus", function () { custom.checked = true; });
  }
  var waiting = document.querySelector("[data-payment-refresh]");
  if (!waiting) { return; }
  var seconds = parseInt(waiting.getAttribute("data-payment-refresh"), 10) || 5;
  var key = "ais-payment-refresh:" + location.pathname;
  var count = parseInt(sessionStorage.getItem(key) || "0", 10);
  if (count >= 24) { return; }
  window.setTimeout(function () {
    sessionStorage.setItem(key, String(count + 1));
    location.reload();
  }, seconds * 1000);
})();
