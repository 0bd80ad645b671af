// Drag a card to another column: the move is posted as JSON; a refused move puts the card back where it was and
// shows why. Every card also has a move menu (a plain form) for keyboards and screen readers.
(function () {
  "use strict";
  var board = document.querySelector(".board");
  if (!board || board.dataset.canMove !== "yes") { return; }
  var message = document.getElementById("board-message");
  var dragged = null;
  var origin = null;

  function say(text, ok) {
    message.textContent = text;
    message.classList.toggle("ok", !!ok);
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".board-card");
    if (!card) { return; }
    dragged = card;
    origin = { parent: card.parentNode, next: card.nextSibling, column: card.closest(".board-column").dataset.column };
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.recordId);
  });
  board.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    board.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });
  board.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!column || !dragged) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("drop-target");
  });
  board.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("drop-target"); }
  });
  board.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!column || !dragged) { return; }
    event.preventDefault();
    column.classList.remove("drop-target");
    var card = dragged, from = origin;
    dragged = null;
    if (column.dataset.column === from.column) { return; }
    column.querySelector(".board-cards").prepend(card);
    card.setAttribute("aria-busy", "true");
    fetch(board.dataset.moveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": board.dataset.csrf, "Accept": "application/json" },
      body: JSON.stringify({ record_id: Number(card.dataset.recordId), to: column.dataset.column,
                             revision: Number(card.dataset.revision) })
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      card.removeAttribute("aria-busy");
      if (result.ok) {
        say(result.data.message, true);
        window.location.reload();
      } else {
        from.parent.insertBefore(card, from.next);  // snap back
        say(result.data.message, false);
      }
    }).catch(function () {
      card.removeAttribute("aria-busy");
      from.parent.insertBefore(card, from.next);
      say(board.dataset.failed || "The move failed; reload the page.", false);
    });
  });
}());
