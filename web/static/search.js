// Keyboard navigation of search results: ↓ from the search box to the first hit, ↑/↓ between hits, Esc back.
(function () {
  "use strict";
  var hits = function () { return Array.prototype.slice.call(document.querySelectorAll(".search-hit")); };
  document.addEventListener("keydown", function (event) {
    var list = hits();
    if (!list.length || (event.key !== "ArrowDown" && event.key !== "ArrowUp" && event.key !== "Escape")) { return; }
    var active = document.activeElement;
    var at = list.indexOf(active);
    var input = document.querySelector("[data-search-input]");
    if (event.key === "Escape" && at >= 0 && input) { input.focus(); event.preventDefault(); return; }
    if (at < 0 && !(active && active.matches && active.matches("input[type=search]"))) { return; }
    event.preventDefault();
    if (event.key === "ArrowDown") { list[Math.min(at + 1, list.length - 1)].focus(); }
    else if (at > 0) { list[at - 1].focus(); }
    else if (input) { input.focus(); }
  });
}());
