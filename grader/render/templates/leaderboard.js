// Status filter: shown only when JavaScript runs; the table reads fine without it.
(function () {
  var control = document.getElementById("status-filter");
  if (!control) { return; }
  control.closest("[hidden]").hidden = false;
  control.addEventListener("change", function () {
    var wanted = control.value;
    document.querySelectorAll("#leaderboard tbody tr").forEach(function (row) {
      row.hidden = !(wanted === "all" || row.dataset.status === wanted || row.dataset.group === wanted);
    });
  });
})();
