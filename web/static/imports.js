// The import progress page: poll progress.json while the job runs, then reload to show the report.
(function () {
  "use strict";
  var box = document.getElementById("import-status");
  if (!box || (box.dataset.status !== "pending" && box.dataset.status !== "running")) { return; }
  var bar = document.getElementById("import-progress");
  var rows = document.getElementById("import-rows");
  function poll() {
    fetch(box.dataset.progress, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        bar.max = Math.max(p.total_rows, 1);
        bar.value = p.processed_rows;
        rows.textContent = p.processed_rows + " / " + p.total_rows;
        if (p.status === "pending" || p.status === "running") { setTimeout(poll, 1000); } else { location.reload(); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
