document.querySelectorAll("table.sortable th button").forEach(function (button) {
  button.addEventListener("click", function () {
    var table = button.closest("table"), body = table.tBodies[0];
    var col = Number(button.dataset.col), numeric = button.hasAttribute("data-num");
    var asc = button.dataset.dir !== "asc";
    button.dataset.dir = asc ? "asc" : "desc";
    var key = function (row) {
      var cell = row.cells[col], raw = cell.dataset.value || cell.textContent.trim();
      return numeric ? (parseFloat(raw) || 0) : raw;
    };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    }).forEach(function (row) { body.appendChild(row); });
  });
});

// Findings filter: shown only when JavaScript runs; the page reads fine without it.
(function () {
  var control = document.getElementById("severity-filter");
  if (!control) { return; }
  control.closest("[hidden]").hidden = false;
  control.addEventListener("change", function () {
    var minimum = Number(control.value);
    document.querySelectorAll("li[data-rank]").forEach(function (item) {
      item.hidden = Number(item.dataset.rank) < minimum;
    });
  });
})();
