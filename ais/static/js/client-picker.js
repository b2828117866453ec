/* Client search with suggestions (an ARIA combobox), so that no page lists every client.

   [data-client-picker="filter"]: the invoice and payment list filters.  The text field is sent as
   client_q (name or email contains) and works without this file; picking a suggestion adds the
   client's id (client=) so that the list shows exactly that client.
   [data-client-picker="select"]: the new-invoice form.  Its <select> lists recent clients only;
   picking a suggestion adds that client to the select and chooses it.

   Suggestions come from GET /clients/lookup?q= (at most 10, owner only).  Keyboard: Down/Up move
   through them, Enter picks, Escape closes. */
(function () {
  "use strict";

  var DELAY = 200; // ms after the last keystroke
  var counter = 0;

  function setUp(box) {
    var input = box.querySelector("[data-client-search]");
    if (!input) return;
    var mode = box.getAttribute("data-client-picker");
    var url = box.getAttribute("data-lookup-url");
    var form = input.form;
    var select = mode === "select" ? document.getElementById(box.getAttribute("data-select")) : null;
    var id = "client-options-" + (++counter);

    var list = document.createElement("ul");
    list.id = id;
    list.className = "list-group position-absolute w-100 shadow-sm z-3 client-options";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Matching clients");
    list.hidden = true;
    box.appendChild(list);

    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    box.appendChild(status);

    var hidden = null; // the filter's client id, added when a suggestion is picked
    if (mode === "filter") {
      hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.disabled = true; // not sent until a client is picked
      hidden.name = "client";
      box.appendChild(hidden);
    }

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", id);
    input.setAttribute("aria-expanded", "false");

    var timer = null;
    var sequence = 0;
    var options = [];
    var active = -1;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      options.forEach(function (li, i) {
        var on = i === index;
        li.classList.toggle("active", on);
        li.setAttribute("aria-selected", on ? "true" : "false");
      });
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function show(clients) {
      list.textContent = "";
      options = clients.map(function (client, i) {
        var li = document.createElement("li");
        li.id = id + "-" + i;
        li.className = "list-group-item list-group-item-action";
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = client.label;
        li.dataset.clientId = String(client.id);
        li.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the field
          pick(i);
        });
        list.appendChild(li);
        return li;
      });
      active = -1;
      var open = options.length > 0;
      list.hidden = !open;
      input.setAttribute("aria-expanded", open ? "true" : "false");
      status.textContent = open ? options.length + (options.length === 1 ? " client found" : " clients found")
                                : "No client matches";
    }

    function pick(index) {
      var li = options[index];
      if (!li) return;
      var clientId = li.dataset.clientId;
      var label = li.textContent;
      close();
      if (mode === "filter") {
        hidden.value = clientId;
        hidden.disabled = false;
        input.value = label;
        status.textContent = label + " chosen. Apply the filter to see their records.";
      } else if (select) {
        var option = Array.prototype.find.call(select.options, function (o) { return o.value === clientId; });
        if (!option) {
          option = new Option(label, clientId);
          select.add(option);
        }
        select.value = clientId;
        select.dispatchEvent(new Event("change", { bubbles: true }));
        input.value = "";
        status.textContent = label + " chosen.";
        select.focus();
      }
    }

    function lookup() {
      var q = input.value.trim();
      var mine = ++sequence;
      if (!q) { show([]); status.textContent = ""; return; }
      var target = url + (url.indexOf("?") === -1 ? "?" : "&") + "q=" + encodeURIComponent(q);
      fetch(target, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { clients: [] }; })
        .then(function (data) { if (mine === sequence) show(data.clients || []); })
        .catch(function () { if (mine === sequence) close(); });
    }

    input.addEventListener("input", function () {
      if (hidden) { hidden.disabled = true; hidden.value = ""; } // the text changed: no client chosen
      clearTimeout(timer);
      timer = setTimeout(lookup, DELAY);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && options.length > 0;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) { lookup(); return; }
        highlight(active + 1 < options.length ? active + 1 : 0);
      } else if (event.key === "ArrowUp") {
        if (!open) return;
        event.preventDefault();
        highlight(active > 0 ? active - 1 : options.length - 1);
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault();
          event.stopPropagation();
          pick(active);
        } else if (mode === "select") {
          event.preventDefault(); // never sends the invoice form
        }
      } else if (event.key === "Escape") {
        if (open) { event.preventDefault(); close(); }
      }
    });

    input.addEventListener("blur", function () { setTimeout(close, 100); });
    if (form) form.addEventListener("submit", close);
  }

  document.querySelectorAll("[data-client-picker]").forEach(setUp);
})();
