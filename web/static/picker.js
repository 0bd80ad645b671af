// Reference pickers (templates/_form.html): a combobox that asks the server for matching records as the user
// types and keeps the chosen record's number in a hidden input. ARIA 1.2 combobox with a listbox popup.
(function () {
  "use strict";
  if (window.flowcrmPicker) { return; }  // the script may be included by several forms on one page
  window.flowcrmPicker = true;

  function setup(root) {
    var hidden = root.querySelector(".picker-value");
    var input = root.querySelector(".picker-input");
    var list = root.querySelector(".picker-list");
    var chosenTitle = input.value;
    var active = -1;
    var timer = null;
    var asked = 0;

    function options() { return Array.prototype.slice.call(list.querySelectorAll("[role=option]")); }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function mark(index) {
      var all = options();
      if (!all.length) { return; }
      active = (index + all.length) % all.length;
      all.forEach(function (o, i) { o.setAttribute("aria-selected", i === active ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({block: "nearest"});
    }

    function choose(option) {
      hidden.value = option.getAttribute("data-id");
      input.value = chosenTitle = option.getAttribute("data-title");
      input.setCustomValidity("");
      close();
    }

    function show(items) {
      list.textContent = "";
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = input.id + "-opt-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.setAttribute("data-id", String(item.id));
        li.setAttribute("data-title", item.title);
        li.textContent = item.title;
        var number = document.createElement("small");
        number.className = "muted";
        number.textContent = " " + (item.entity ? item.entity + " " : "") + "#" + item.id;  // a picker over every entity names it
        li.appendChild(number);
        li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(li); });
        list.appendChild(li);
      });
      if (!items.length) {
        var none = document.createElement("li");
        none.className = "muted picker-none";
        none.textContent = root.getAttribute("data-none");
        list.appendChild(none);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }

    function search() {
      var mine = ++asked;
      var url = root.getAttribute("data-source") + "?q=" + encodeURIComponent(input.value.trim());
      fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (response) { return response.ok ? response.json() : {items: []}; })
        .then(function (body) { if (mine === asked && document.activeElement === input) { show(body.items || []); } })
        .catch(function () { close(); });
    }

    input.addEventListener("input", function () {
      if (input.value !== chosenTitle) {
        hidden.value = "";
        input.setCustomValidity(input.value.trim() ? root.getAttribute("data-choose") : "");
      }
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    input.addEventListener("focus", function () { if (!input.value) { search(); } });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) { search(); return; }
        mark(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" && !list.hidden && active >= 0) {
        event.preventDefault();
        choose(options()[active]);
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", close);
  }

  function start() { Array.prototype.forEach.call(document.querySelectorAll(".picker"), setup); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
