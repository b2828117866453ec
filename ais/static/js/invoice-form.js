/* The invoice form: "Add line" / remove line, the installment fields, and a live preview of the
   total and schedule.  The figures come from the server (GET /invoices/preview), which computes
   them with the same rules that issue the invoice; this file only displays them. */
(function () {
  "use strict";

  var form = document.getElementById("invoice-form");
  if (!form) return;

  var rows = form.querySelector("[data-line-rows]");
  var template = document.getElementById("line-template");
  var addButton = form.querySelector("[data-add-line]");
  var previewUrl = form.getAttribute("data-preview-url");
  var MAX_LINES = 100;

  function lineRows() {
    return Array.prototype.slice.call(rows.querySelectorAll("[data-line-row]"));
  }

  function renumber() {
    lineRows().forEach(function (row, position) {
      row.querySelectorAll("[data-line-number]").forEach(function (el) {
        el.textContent = "Line " + (position + 1) + " ";
      });
      var remove = row.querySelector("[data-remove-line] .visually-hidden");
      if (remove) remove.textContent = "Remove line " + (position + 1);
    });
    if (addButton) addButton.disabled = lineRows().length >= MAX_LINES;
  }

  function nextIndex() {
    var highest = -1;
    lineRows().forEach(function (row) {
      var index = parseInt(row.getAttribute("data-index"), 10);
      if (!isNaN(index) && index > highest) highest = index;
    });
    return highest + 1;
  }

  function addLine() {
    if (!template || lineRows().length >= MAX_LINES) return;
    var index = String(nextIndex());
    var fragment = template.content.cloneNode(true);
    fragment.querySelectorAll("[id], [for], [name], [data-index]").forEach(function (el) {
      ["id", "for", "name", "data-index"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value && value.indexOf("__index__") !== -1) el.setAttribute(attr, value.split("__index__").join(index));
      });
    });
    fragment.querySelectorAll("[data-js-only]").forEach(function (el) { el.classList.remove("d-none"); });
    rows.appendChild(fragment);
    renumber();
    var added = lineRows();
    var input = added[added.length - 1].querySelector("input");
    if (input) input.focus();
  }

  function removeLine(row) {
    if (lineRows().length <= 1) {
      row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    } else {
      var rowsNow = lineRows();
      var position = rowsNow.indexOf(row);
      row.parentNode.removeChild(row);
      var remaining = lineRows();
      var focusRow = remaining[Math.min(position, remaining.length - 1)];
      var focusInput = focusRow && focusRow.querySelector("input");
      if (focusInput) focusInput.focus();
    }
    renumber();
    schedulePreview();
  }

  if (addButton) addButton.addEventListener("click", addLine);
  rows.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-line]");
    if (button) removeLine(button.closest("[data-line-row]"));
  });

  // Installment fields only matter for an installment plan.
  var dueInput = form.querySelector("[data-due-date]");
  var dueLabel = dueInput ? form.querySelector('label[for="' + dueInput.id + '"]') : null;
  function paymentType() {
    var checked = form.querySelector('input[name="payment_type"]:checked');
    return checked ? checked.value : "full";
  }
  function updateTerms() {
    var installment = paymentType() === "installment";
    form.querySelectorAll("[data-installment-only]").forEach(function (el) { el.hidden = !installment; });
    if (dueLabel && dueLabel.firstChild && dueLabel.firstChild.nodeType === Node.TEXT_NODE) {
      dueLabel.firstChild.textContent = (installment ? "First installment date" : "Due date") + " ";
    }
  }
  form.querySelectorAll('input[name="payment_type"]').forEach(function (radio) {
    radio.addEventListener("change", updateTerms);
  });
  updateTerms();

  // Enter in a text field must not issue the invoice.
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target instanceof HTMLInputElement && event.target.type !== "submit") {
      event.preventDefault();
    }
  });

  // Live preview.
  var preview = document.querySelector("[data-preview]");
  var timer = null;
  var sequence = 0;

  function setText(selector, text) {
    var el = preview.querySelector(selector);
    if (el) el.textContent = text;
  }

  function render(data) {
    setText("[data-preview-net]", data.net);
    setText("[data-preview-tax]", data.tax);
    setText("[data-preview-total]", data.total);
    var message = preview.querySelector("[data-preview-message]");
    message.textContent = data.message || "";
    message.classList.toggle("d-none", !data.message);
    var body = preview.querySelector("[data-preview-schedule]");
    while (body.firstChild) body.removeChild(body.firstChild);
    (data.schedule || []).forEach(function (item) {
      var tr = document.createElement("tr");
      [String(item.number), item.due_date, item.amount].forEach(function (text, column) {
        var td = document.createElement("td");
        td.textContent = text;
        if (column === 2) td.className = "text-end money";
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    preview.querySelector("[data-preview-table]").classList.toggle("d-none", !(data.schedule || []).length);
    var lines = data.lines || [];
    lineRows().forEach(function (row, position) {
      var out = row.querySelector("[data-line-amount]");
      var line = lines[position] || {};
      if (out) out.textContent = line.total || (line.error ? "—" : "");
      if (out) out.title = line.error || "";
    });
  }

  function refresh() {
    if (!previewUrl || !window.fetch) return;
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (key !== "csrf_token" && key !== "action" && typeof value === "string") params.append(key, value);
    });
    var mine = ++sequence;
    var busy = preview.querySelector("[data-preview-busy]");
    if (busy) busy.classList.remove("d-none");
    fetch(previewUrl + "?" + params.toString(), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) throw new Error("preview " + response.status);
      return response.json();
    }).then(function (data) {
      if (mine === sequence) render(data);
    }).catch(function () {
      /* Keep the last preview; the server checks everything again on saving. */
    }).then(function () {
      if (mine === sequence && busy) busy.classList.add("d-none");
    });
  }

  function schedulePreview() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 250);
  }

  form.addEventListener("input", schedulePreview);
  form.addEventListener("change", schedulePreview);
  renumber();
})();
